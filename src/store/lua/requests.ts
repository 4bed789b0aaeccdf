/** The requests that move no money: each is the guard plus, at most, a read in the same slot. */
import { MessageType, ResultCode } from '../../../protocol/constants.js';
import { Script } from '../script.js';
import { GUARD } from './guard.js';

/** HEARTBEAT (when the gateway does not answer it itself): the guard alone. → guard reply | {'ok'} */
export const GUARD_ONLY = new Script(`${GUARD}
local refused = guard()
if refused then return refused end
return {'ok'}
`);

/**
 * INQUIRY (the account itself is the biller's): the guard, with the terminal's inquiry quota
 * against enumeration (PROTOCOL.md §6.4), counted in the terminal hash (no key per request).
 * ARGV[8] inquiries allowed per window (0: no quota), ARGV[9] the current window's number
 * → guard reply | {'ok'}
 */
export const INQUIRY_GUARD = new Script(`${GUARD}
local function admit()
  local quota = tonumber(ARGV[8])
  if quota <= 0 then return true end
  if redis.call('HGET', KEYS[2], 'inqWindow') ~= ARGV[9] then
    redis.call('HSET', KEYS[2], 'inqWindow', ARGV[9], 'inqUsed', 0)
  end
  return redis.call('HINCRBY', KEYS[2], 'inqUsed', 1) <= quota
end
local refused = guard(nil, admit)
if refused then return refused end
return {'ok'}
`);

/**
 * STATUS: what became of the terminal's request querySeq: its request record says whether it was a
 * PAY or CORRECT and holds the answer of one declined before its transaction started; the
 * transaction record (kept for good) answers the others, also after the replay retention.
 * KEYS[1..4] guard, KEYS[5] request record asked about, KEYS[6] its transaction (by receipt)
 * → guard reply | {'none'} | {'pending', type} | {'answered', type, response}
 */
export const STATUS = new Script(`${GUARD}
local refused = guard()
if refused then return refused end
local state, _, askedType, value = parseRequest(redis.call('GET', KEYS[5]))
local transaction = askedType == '${MessageType.PAY}' or askedType == '${MessageType.CORRECT}'
if state and not transaction then return {'none'} end
-- Declined before a transaction was started: the record holds the answer.
if state == 'done' then return {'answered', askedType, value} end
-- Otherwise the transaction record answers, also once the request record has expired.
local txn = hmgetTxn(KEYS[6], 'kind')
if not txn[1] then
  if transaction then return {'pending', askedType} end
  return {'none'}
end
local kind = txn[11] == 'pay' and '${MessageType.PAY}' or '${MessageType.CORRECT}'
if txn[1] == 'pending' then return {'pending', kind} end
return {'answered', kind, responseOf(txn)}
`);

/**
 * SETTLE: the terminal's counters for one business day.
 * KEYS[1..4] guard, KEYS[5] day counters; ARGV[8] terminal id
 * → guard reply | {'ok', payCount, payFen, correctCount, correctFen}
 */
export const SETTLE = new Script(`${GUARD}
local refused = guard()
if refused then return refused end
local t = ARGV[8]
local figures = redis.call('HMGET', KEYS[5], t .. ':payCount', t .. ':payFen', t .. ':correctCount', t .. ':correctFen')
return {'ok', tonumber(figures[1]) or 0, tonumber(figures[2]) or 0, tonumber(figures[3]) or 0, tonumber(figures[4]) or 0}
`);

/** SIGN_OUT: the guard, then the session goes (the guard has just checked it is this connection's). */
export const SIGN_OUT = new Script(`${GUARD}
local refused = guard()
if refused then return refused end
redis.call('DEL', KEYS[1])
recordRequest('done', '${ResultCode.APPROVED}')
return {'ok'}
`);
