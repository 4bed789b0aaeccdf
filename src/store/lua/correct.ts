/**
 * CORRECT in the merchant's slot. Step 1 checks the rules against the original payment and marks
 * it as being corrected (so two corrections cannot both go through); step 3 credits the float
 * back once the biller has restored the arrears, or clears the mark when it refused. A collector
 * hands the customer's cash back: his cash held is lowered at step 1 (never below zero:
 * CASH_LIMIT) and raised again if the biller refuses.
 * An original receipt of another merchant names a key in this merchant's slot that does not
 * exist, so it is ORIGINAL_NOT_FOUND like any unknown receipt: nothing about it leaks.
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
 * KEYS[1..4] guard, KEYS[5] correction transaction, KEYS[6] original transaction, KEYS[7] pending set,
 * KEYS[8] decline record, KEYS[9] terminal's index, KEYS[10] account's index, KEYS[11] declined index
 * ARGV[1..7] guard, ARGV[8] amount, ARGV[9] account, ARGV[10] correction receipt,
 * ARGV[11] original receipt, ARGV[12] business day (now), ARGV[13] terminal id, ARGV[14] near-cash-limit
 * percent, ARGV[15] its margin
 * → guard reply | {'declined', resp} | {'reserved', 0, head id, head chain, near-cash-limit transition, cash held}
 *   (as RESERVE_PAY)
 */
export const RESERVE_CORRECT = new Script(`${GUARD}${LOOKUP_INDEX}${BALANCE}
-- merchant: status, floatFen, then these (read in the guard's HMGET).
local refused, merchant = guard(KEYS[5], nil, {'kind', 'cashFen', 'cashLimitFen', '${HEAD_FIELDS.id}', '${HEAD_FIELDS.chain}', 'cashNear'})
if refused then return refused end
local function decline(result)
  local resp = txnResponse(result, '', 0, 0, 0)
  recordRequest('done', resp)
  recordDecline(KEYS[8], KEYS[9], KEYS[10], KEYS[11], ARGV[5], ARGV[10], {'receipt', ARGV[10], 'kind', 'correct',
    'terminal', ARGV[13], 'seq', ARGV[2], 'account', ARGV[9], 'amountFen', ARGV[8], 'state', 'declined',
    'result', result, 'businessDay', ARGV[12], 'createdAt', ARGV[5], 'original', ARGV[11]})
  return {'declined', resp}
end
local original = redis.call('HMGET', KEYS[6], 'kind', 'terminal', 'businessDay', 'account', 'amountFen', 'state',
  'correctedBy')
if original[1] ~= 'pay' then return decline(${R.ORIGINAL_NOT_FOUND}) end
if original[2] ~= ARGV[13] then return decline(${R.WRONG_TERMINAL}) end
if original[3] ~= ARGV[12] then return decline(${R.CORRECTION_DAY_CLOSED}) end
if original[4] ~= ARGV[9] or original[5] ~= ARGV[8] then return decline(${R.CORRECTION_MISMATCH}) end
if original[6] ~= 'complete' then return decline(${R.ORIGINAL_NOT_COMPLETED}) end
-- Corrected, or being corrected under an earlier sequence number: either way this one is not needed.
if original[7] then return decline(${R.ALREADY_CORRECTED}) end
local cashFen, flags, transition = 0, 0, ''
if merchant[3] == 'collector' then
  cashFen = tonumber(merchant[4]) or 0
  if cashFen < tonumber(ARGV[8]) then return decline(${R.CASH_LIMIT}) end
  cashFen = redis.call('HINCRBY', KEYS[3], 'cashFen', -tonumber(ARGV[8]))
  flags, transition = cashNear(KEYS[3], cashFen, tonumber(merchant[5]) or 0, ARGV[14], ARGV[15], {merchant[8]})
end
redis.call('HSET', KEYS[6], 'correctedBy', ARGV[10])
redis.call('HSET', KEYS[5], 'receipt', ARGV[10], 'kind', 'correct', 'terminal', ARGV[13], 'seq', ARGV[2],
  'account', ARGV[9], 'amountFen', ARGV[8], 'state', 'pending', 'businessDay', ARGV[12], 'createdAt', ARGV[5],
  'original', ARGV[11], 'cashAfter', cashFen, 'flags', flags)
redis.call('ZADD', KEYS[7], ARGV[5], ARGV[10])
indexTxn(KEYS[9], KEYS[10], ARGV[5], ARGV[10])
recordRequest('pending', ARGV[10])
return {'reserved', 0, merchant[6] or '', merchant[7] or '', transition, cashFen}
`);

/**
 * Completes a pending correction with the biller's answer: approved → float credited (an outlet),
 * journal entry, day counters; refused → the original is free to be corrected again and a
 * collector's cash held raised back. Only a pending correction changes (see COMPLETE_PAY).
 * KEYS[1] correction transaction, KEYS[2] pending set, KEYS[3] merchant (and the journal's head),
 * KEYS[4] journal, KEYS[5] day counters, KEYS[6] original transaction, KEYS[7] declined index
 * ARGV[1] correction receipt, ARGV[2] biller result, ARGV[3] arrears after the restore, ARGV[4] now,
 * ARGV[5] default low-float threshold, ARGV[6] low-float margin, ARGV[7] near-cash-limit percent,
 * ARGV[8] its margin, ARGV[9] periods restored (`YYYYMM=fen,...`), ARGV[10] the holder's name,
 * masked, ARGV[11..] the journal entry (journalEntryArgs; only when approved)
 * → {applied 0|1, resp, low-float or near-cash-limit transition, a collector's cash held after}
 */
export const COMPLETE_CORRECT = new Script(`${TXN_RESPONSE}${DAY_COUNTERS}${BALANCE}${JOURNAL_APPEND}
local txn = hmgetTxn(KEYS[1], 'amountFen', 'terminal')
if txn[1] ~= 'pending' then return {0, responseOf(txn), ''} end
local amount, terminal, day, cashFen = txn[11], txn[12], txn[6], txn[8]
local merchant = redis.call('HMGET', KEYS[3], 'kind', '${HEAD_FIELDS.chain}', '${HEAD_FIELDS.count}', 'cashLimitFen')
local collector = merchant[1] == 'collector'
local result = tonumber(ARGV[2])
local resp, transition = nil, ''
if result == ${R.APPROVED} then
  local floatFen, flags, balanceField, balance = 0, tonumber(txn[7]) or 0, 'cashFen', cashFen
  if not collector then
    floatFen = redis.call('HINCRBY', KEYS[3], 'floatFen', amount)
    flags, transition = lowFloat(KEYS[3], floatFen, ARGV[5], ARGV[6])
    balanceField, balance = 'floatFen', floatFen
  end
  -- The holder named by the biller, else the one its payment's receipt printed.
  local holder = ARGV[10]
  if holder == '' then holder = redis.call('HGET', KEYS[6], 'holder') or '' end
  resp = txnResponse(result, ARGV[1], ARGV[3], floatFen, day, flags, cashFen, ARGV[9], holder)
  journalAppend(KEYS[4], KEYS[3], 11, {balanceField, balance}, {merchant[2], merchant[3]})
  countOnDay(KEYS[5], terminal, 'correctCount', 'correctFen', tonumber(amount))
  redis.call('HSET', KEYS[1], 'state', 'complete', 'result', result, 'arrearsAfter', ARGV[3], 'floatAfter', floatFen,
    'flags', flags, 'completedAt', ARGV[4], 'paid', ARGV[9], 'holder', holder)
else
  resp = txnResponse(result, '', 0, 0, 0)
  if collector then
    local _
    cashFen = redis.call('HINCRBY', KEYS[3], 'cashFen', amount)
    _, transition = cashNear(KEYS[3], cashFen, tonumber(merchant[4]) or 0, ARGV[7], ARGV[8])
  end
  if redis.call('HGET', KEYS[6], 'correctedBy') == ARGV[1] then redis.call('HDEL', KEYS[6], 'correctedBy') end
  redis.call('HSET', KEYS[1], 'state', 'declined', 'result', result, 'arrearsAfter', 0, 'completedAt', ARGV[4])
  redis.call('ZADD', KEYS[7], redis.call('HGET', KEYS[1], 'createdAt'), ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, resp, transition, cashFen}
`);
