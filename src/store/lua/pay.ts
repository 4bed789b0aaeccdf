/**
 * PAY in the merchant's slot: step 1 reserves the float, step 3 completes or rolls back once the
 * biller (step 2) has answered. Between the steps the transaction is `pending` and listed in the
 * merchant's pending set, which recovery walks.
 */
import { ResultCode as R } from '../../../protocol/constants.js';
import { JOURNAL_APPEND } from '../journal.js';
import { Script } from '../script.js';
import { DAY_COUNTERS } from './day.js';
import { GUARD } from './guard.js';
import { LOOKUP_INDEX } from './lookup-index.js';
import { TXN_RESPONSE } from './response.js';

/**
 * KEYS[1..4] guard, KEYS[5] transaction, KEYS[6] pending set, KEYS[7] decline record,
 * KEYS[8] terminal's index, KEYS[9] account's index, KEYS[10] declined index (lookup-index.ts),
 * KEYS[11] journal head
 * ARGV[1..7] guard, ARGV[8] amount, ARGV[9] maximum payment, ARGV[10] receipt, ARGV[11] account,
 * ARGV[12] business day, ARGV[13] terminal id, ARGV[14] 1 when the biller is unavailable (policy decline)
 * → guard reply | {'declined', resp} (decided here, stored) | {'reserved', float left, head id, head chain}
 *   (the journal's head, which the completion's journal entry vouches for: src/store/journal.ts)
 */
export const RESERVE_PAY = new Script(`${GUARD}${LOOKUP_INDEX}
local refused, merchant = guard(KEYS[5])
if refused then return refused end
local function decline(result, floatFen)
  local resp = txnResponse(result, '', 0, floatFen, 0)
  recordRequest('done', resp)
  recordDecline(KEYS[7], KEYS[8], KEYS[9], KEYS[10], ARGV[5], ARGV[10], {'receipt', ARGV[10], 'kind', 'pay',
    'terminal', ARGV[13], 'seq', ARGV[2], 'account', ARGV[11], 'amountFen', ARGV[8], 'state', 'declined',
    'result', result, 'businessDay', ARGV[12], 'createdAt', ARGV[5], 'floatFen', floatFen})
  return {'declined', resp}
end
local amount = tonumber(ARGV[8])
if amount <= 0 then return decline(${R.AMOUNT_INVALID}, 0) end
if amount > tonumber(ARGV[9]) then return decline(${R.AMOUNT_OVER_LIMIT}, 0) end
if ARGV[14] == '1' then return decline(${R.BILLER_UNAVAILABLE}, 0) end
local floatFen = tonumber(merchant[2]) or 0
if floatFen < amount then return decline(${R.FLOAT_SHORT}, floatFen) end
floatFen = redis.call('HINCRBY', KEYS[3], 'floatFen', -amount)
redis.call('HSET', KEYS[5], 'receipt', ARGV[10], 'kind', 'pay', 'terminal', ARGV[13], 'seq', ARGV[2],
  'account', ARGV[11], 'amountFen', amount, 'state', 'pending', 'businessDay', ARGV[12], 'createdAt', ARGV[5],
  'floatAfter', floatFen)
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[10])
indexTxn(KEYS[8], KEYS[9], ARGV[5], ARGV[10])
recordRequest('pending', ARGV[10])
local head = redis.call('HMGET', KEYS[11], 'id', 'chain')
return {'reserved', floatFen, head[1] or '', head[2] or ''}
`);

/**
 * Completes a pending payment with the biller's answer: approved → journal entry and day counters;
 * declined → the float is credited back. Only a pending transaction changes, so the live path and
 * recovery may both call this: the second call gets the response and applied = 0.
 * KEYS[1] transaction, KEYS[2] pending set, KEYS[3] merchant, KEYS[4] journal,
 * KEYS[5] day counters, KEYS[6] declined index, KEYS[7] journal head, KEYS[8] biller queue
 * ARGV[1] receipt, ARGV[2] biller result, ARGV[3] arrears (left, or owed on OVERPAYMENT), ARGV[4] now,
 * ARGV[5] 1 when approved with the posting queued for the biller (policy accept),
 * ARGV[6..] the journal entry (journalEntryArgs; only when approved)
 * → {applied 0|1, resp (false when there is no such transaction)}
 */
export const COMPLETE_PAY = new Script(`${TXN_RESPONSE}${DAY_COUNTERS}${JOURNAL_APPEND}
local txn = hmgetTxn(KEYS[1], 'amountFen', 'terminal')
if txn[1] ~= 'pending' then return {0, responseOf(txn)} end
local amount, terminal, floatFen, day = txn[7], txn[8], txn[5], txn[6]
local result = tonumber(ARGV[2])
local resp
if result == ${R.APPROVED} then
  resp = txnResponse(result, ARGV[1], ARGV[3], floatFen, day)
  journalAppend(KEYS[4], KEYS[7], 6, {'floatFen', floatFen})
  countOnDay(KEYS[5], terminal, 'payCount', 'payFen', tonumber(amount))
  redis.call('HSET', KEYS[1], 'state', 'complete', 'result', result, 'arrearsAfter', ARGV[3], 'completedAt', ARGV[4])
  if ARGV[5] == '1' then
    redis.call('HSET', KEYS[1], 'billerQueue', 'queued')
    redis.call('ZADD', KEYS[8], ARGV[4], ARGV[1])
  end
else
  local owed = 0
  if result == ${R.OVERPAYMENT} then owed = ARGV[3] end
  resp = txnResponse(result, '', owed, 0, 0)
  redis.call('HINCRBY', KEYS[3], 'floatFen', amount)
  redis.call('HSET', KEYS[1], 'state', 'declined', 'result', result, 'arrearsAfter', owed, 'completedAt', ARGV[4])
  redis.call('ZADD', KEYS[6], redis.call('HGET', KEYS[1], 'createdAt'), ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, resp}
`);
