/**
 * The lookup index (src/core/README.md "Lookup index"): what `aircharge txn find` reads, written in
 * the same scripts as the transactions it lists, in the merchant's slot. Each index is a sorted set
 * of receipts scored by the request's time (epoch ms):
 *   per terminal   every PAY and CORRECT it made, declined ones included (merchant and day
 *                  searches read the merchant's terminals' sets)
 *   per account    the merchant's PAY and CORRECT for that account (an account search reads it in
 *                  every merchant's slot)
 *   declined       the merchant's declined ones, whichever step declined them
 * A request declined before a transaction existed (amount, float, correction rules) leaves a
 * decline record of its own beside the request record, kept for good like a transaction record,
 * so a decline can be found after the replay retention. It is not a transaction record: STATUS,
 * corrections and verify see exactly what they saw before.
 */
export const LOOKUP_INDEX = `
local function indexTxn(terminalIx, accountIx, at, receipt)
  redis.call('ZADD', terminalIx, at, receipt)
  redis.call('ZADD', accountIx, at, receipt)
end
-- fields: the decline's facts as HSET arguments (receipt, kind, terminal, seq, account, ...).
local function recordDecline(recordKey, terminalIx, accountIx, declinedIx, at, receipt, fields)
  redis.call('HSET', recordKey, unpack(fields))
  indexTxn(terminalIx, accountIx, at, receipt)
  redis.call('ZADD', declinedIx, at, receipt)
end
`;
