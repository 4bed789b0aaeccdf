/**
 * PAY in the merchant's slot: step 1 reserves the float (or the collector's cash room), step 3 completes or rolls back once the
 * biller (step 2) has answered. Between the steps the transaction is `pending` and listed in the
 * merchant's pending set, which recovery walks.
 */
import { ResultCode as R } from '../../../protocol/constants.js';
import { HEAD_FIELDS, JOURNAL_APPEND } from '../journal.js';
import { Script } from '../script.js';
import { BALANCE } from './balance.js';
import { DAY_COUNTERS } from './day.js';
import { GUARD } from './guard.js';
import { LOOKUP_INDEX } from './lookup-index.js';
import { TXN_RESPONSE } from './response.js';

/**
 * KEYS[1..4] guard, KEYS[5] transaction, KEYS[6] pending set, KEYS[7] decline record,
 * KEYS[8] terminal's index, KEYS[9] account's index, KEYS[10] declined index (lookup-index.ts),
 * KEYS[11] day counters (today)
 * ARGV[1..7] guard, ARGV[8] amount, ARGV[9] maximum payment, ARGV[10] receipt, ARGV[11] account,
 * ARGV[12] business day, ARGV[13] terminal id, ARGV[14] 1 when the biller is unavailable (policy decline),
 * ARGV[15] default low-float threshold, ARGV[16] low-float margin, ARGV[17] near-cash-limit percent,
 * ARGV[18] its margin in points
 * → guard reply | {'declined', resp} (decided here, stored) |
 *   {'reserved', float left, head id, head chain, low-float or near-cash-limit transition, cash held}
 *   (the journal's head, which the completion's journal entry vouches for: src/store/journal.ts)
 * An outlet's float is debited here; a collector's cash held is raised here (up to its limit).
 * Everything the rules need from the merchant and terminal hashes comes with the guard's reads.
 */
export const RESERVE_PAY = new Script(`${GUARD}${LOOKUP_INDEX}${BALANCE}
-- merchant: status, floatFen, then these; terminal: status, hwm, lastRead, then its caps.
local refused, merchant, terminalRow = guard(KEYS[5], nil, {'kind', 'cashFen', 'cashLimitFen', 'dayCountLimit',
  'dayFenLimit', 'lowFloatFen', 'lowFloat', '${HEAD_FIELDS.id}', '${HEAD_FIELDS.chain}', 'cashNear'}, {'dayCountLimit', 'dayFenLimit'})
if refused then return refused end
local function decline(result, floatFen, cashFen)
  local resp = txnResponse(result, '', 0, floatFen, 0, 0, cashFen)
  recordRequest('done', resp)
  recordDecline(KEYS[7], KEYS[8], KEYS[9], KEYS[10], ARGV[5], ARGV[10], {'receipt', ARGV[10], 'kind', 'pay',
    'terminal', ARGV[13], 'seq', ARGV[2], 'account', ARGV[11], 'amountFen', ARGV[8], 'state', 'declined',
    'result', result, 'businessDay', ARGV[12], 'createdAt', ARGV[5], 'floatFen', floatFen})
  return {'declined', resp}
end
local amount, terminal = tonumber(ARGV[8]), ARGV[13]
if amount <= 0 then return decline(${R.AMOUNT_INVALID}, 0, 0) end
if amount > tonumber(ARGV[9]) then return decline(${R.AMOUNT_OVER_LIMIT}, 0, 0) end
if ARGV[14] == '1' then return decline(${R.BILLER_UNAVAILABLE}, 0, 0) end
local terminalLimits = {terminalRow[4], terminalRow[5]}
if terminalLimits[1] or terminalLimits[2] or merchant[6] or merchant[7] then
  local used = redis.call('HMGET', KEYS[11], terminal .. ':capCount', terminal .. ':capFen', 'capCount', 'capFen')
  if overCap(terminalLimits, used[1], used[2], amount) then return decline(${R.TERMINAL_DAY_LIMIT}, 0, 0) end
  if overCap({merchant[6], merchant[7]}, used[3], used[4], amount) then return decline(${R.MERCHANT_DAY_LIMIT}, 0, 0) end
end
local floatFen, cashFen, flags, transition = 0, 0, 0, ''
if merchant[3] == 'collector' then
  cashFen = tonumber(merchant[4]) or 0
  local limit = tonumber(merchant[5]) or 0
  if cashFen + amount > limit then return decline(${R.CASH_LIMIT}, 0, cashFen) end
  cashFen = redis.call('HINCRBY', KEYS[3], 'cashFen', amount)
  flags, transition = cashNear(KEYS[3], cashFen, limit, ARGV[17], ARGV[18], {merchant[12]})
else
  floatFen = tonumber(merchant[2]) or 0
  if floatFen < amount then return decline(${R.FLOAT_SHORT}, floatFen, 0) end
  floatFen = redis.call('HINCRBY', KEYS[3], 'floatFen', -amount)
  flags, transition = lowFloat(KEYS[3], floatFen, ARGV[15], ARGV[16], {merchant[8], merchant[9]})
end
countOnCaps(KEYS[11], terminal, 1, amount)
redis.call('HSET', KEYS[5], 'receipt', ARGV[10], 'kind', 'pay', 'terminal', terminal, 'seq', ARGV[2],
  'account', ARGV[11], 'amountFen', amount, 'state', 'pending', 'businessDay', ARGV[12], 'createdAt', ARGV[5],
  'floatAfter', floatFen, 'cashAfter', cashFen, 'flags', flags)
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[10])
indexTxn(KEYS[8], KEYS[9], ARGV[5], ARGV[10])
recordRequest('pending', ARGV[10])
return {'reserved', floatFen, merchant[10] or '', merchant[11] or '', transition, cashFen}
`);

/**
 * Completes a pending payment with the biller's answer: approved → journal entry and day counters;
 * declined → the float credited back (an outlet) or the cash held lowered again (a collector), and
 * the payment given back to the daily caps. Only a pending transaction changes, so the live path
 * and recovery may both call this: the second call gets the response and applied = 0.
 * KEYS[1] transaction, KEYS[2] pending set, KEYS[3] merchant (and the journal's head),
 * KEYS[4] journal, KEYS[5] day counters, KEYS[6] declined index, KEYS[7] biller queue
 * ARGV[1] receipt, ARGV[2] biller result, ARGV[3] arrears (left, or owed on OVERPAYMENT), ARGV[4] now,
 * ARGV[5] default low-float threshold, ARGV[6] low-float margin, ARGV[7] near-cash-limit percent,
 * ARGV[8] its margin, ARGV[9] periods paid (`YYYYMM=fen,...`), ARGV[10] the holder's name, masked,
 * ARGV[11] 1 when approved with the posting queued for the biller (policy accept), ARGV[12..] the
 * journal entry (journalEntryArgs; only when approved)
 * → {applied 0|1, resp (false when there is no such transaction), low-float or near-cash-limit transition,
 *   a collector's cash held after}
 */
export const COMPLETE_PAY = new Script(`${TXN_RESPONSE}${DAY_COUNTERS}${BALANCE}${JOURNAL_APPEND}
local txn = hmgetTxn(KEYS[1], 'amountFen', 'terminal')
if txn[1] ~= 'pending' then return {0, responseOf(txn), ''} end
local amount, terminal, floatFen, day, cashFen = txn[11], txn[12], txn[5], txn[6], txn[8]
local merchant = redis.call('HMGET', KEYS[3], 'kind', '${HEAD_FIELDS.chain}', '${HEAD_FIELDS.count}', 'cashLimitFen')
local collector = merchant[1] == 'collector'
local result = tonumber(ARGV[2])
local resp, transition = nil, ''
if result == ${R.APPROVED} then
  resp = txnResponse(result, ARGV[1], ARGV[3], floatFen, day, txn[7], cashFen, ARGV[9], ARGV[10])
  -- The balance after it: an outlet's float, a collector's cash held (src/core/README.md "Kinds of account").
  local head = {merchant[2], merchant[3]}
  if collector then journalAppend(KEYS[4], KEYS[3], 12, {'cashFen', cashFen}, head)
  else journalAppend(KEYS[4], KEYS[3], 12, {'floatFen', floatFen}, head) end
  countOnDay(KEYS[5], terminal, 'payCount', 'payFen', tonumber(amount))
  redis.call('HSET', KEYS[1], 'state', 'complete', 'result', result, 'arrearsAfter', ARGV[3], 'completedAt', ARGV[4],
    'paid', ARGV[9], 'holder', ARGV[10])
  if ARGV[11] == '1' then
    redis.call('HSET', KEYS[1], 'billerQueue', 'queued')
    redis.call('ZADD', KEYS[7], ARGV[4], ARGV[1])
  end
else
  local owed = 0
  if result == ${R.OVERPAYMENT} then owed = ARGV[3] end
  resp = txnResponse(result, '', owed, 0, 0)
  local _
  if collector then
    cashFen = redis.call('HINCRBY', KEYS[3], 'cashFen', -amount)
    _, transition = cashNear(KEYS[3], cashFen, tonumber(merchant[4]) or 0, ARGV[7], ARGV[8])
  else
    _, transition = lowFloat(KEYS[3], redis.call('HINCRBY', KEYS[3], 'floatFen', amount), ARGV[5], ARGV[6])
  end
  countOnCaps(KEYS[5], terminal, -1, -amount)
  redis.call('HSET', KEYS[1], 'state', 'declined', 'result', result, 'arrearsAfter', owed, 'completedAt', ARGV[4])
  redis.call('ZADD', KEYS[6], redis.call('HGET', KEYS[1], 'createdAt'), ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, resp, transition, cashFen}
`);
