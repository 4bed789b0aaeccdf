/**
 * The replay guard, one Lua fragment shared by every script that answers a terminal request in the
 * merchant's slot, so the guard's decision and the request's effect are one atomic step (issue 3
 * item 4: two connections racing with the same sequence number apply it once).
 *
 * KEYS[1] session, KEYS[2] terminal, KEYS[3] merchant, KEYS[4] request record (terminal, seq)
 * ARGV[1] connection id, ARGV[2] seq, ARGV[3] request fingerprint, ARGV[4] request type,
 * ARGV[5] now (epoch ms), ARGV[6] replay retention (s), ARGV[7] '1' when the request is read-only
 *
 * guard(txnKey, admit, merchantFields, terminalFields) returns nil, merchant, terminal when the
 * request is to be answered now (a new sequence number, or a repeat of a read-only request):
 * merchant is {status, floatFen, ...merchantFields}, terminal {status, hwm, lastRead,
 * ...terminalFields}, read in the guard's own HMGETs so that a script needing more of either hash
 * (PAY: kind, limits, low-float state, the journal's head) reads it in the same command. Else the
 * script's reply:
 *   {'code', result}  refused (session replaced, disabled, REPLAY, IN_PROGRESS, SEQ_OUT_OF_RANGE):
 *                     nothing applied
 *   {'stored', resp}  a repeat of a finished request: its response, sent again
 * txnKey is the transaction this sequence number starts (PAY, CORRECT): a repeat of a request whose
 * transaction has finished is answered from the transaction record, so completing a transaction
 * never has to touch the request record.
 * A read-only request leaves no record of its own (issue 13: one terminal's inquiries filled
 * Redis): the terminal hash keeps the last one's number and fingerprint (`lastRead`), so only
 * that one, sent again, is answered afresh. A new write request advances the high-water mark,
 * and the script must record it with recordRequest() before it returns, in one write with
 * everything it decided.
 * admit(), when given, is asked before a new number is taken; false refuses the request with
 * QUOTA_EXCEEDED and leaves the number unused.
 */
import { MAX_SEQ_STEP, ResultCode as R } from '../../../protocol/constants.js';
import { REQUEST_RECORD } from './request-record.js';
import { TXN_RESPONSE } from './response.js';

/** lastSeen and the session's expiry are refreshed at most this often (a payment burst costs less). */
export const SESSION_REFRESH_MS = 1000;

export const GUARD = `${REQUEST_RECORD}${TXN_RESPONSE}
-- Records this request (KEYS[4]) for the replay retention.
local function recordRequest(state, value)
  redis.call('SET', KEYS[4], requestRecord(state, ARGV[3], ARGV[4], value), 'EX', ARGV[6])
end
local function guard(txnKey, admit, merchantFields, terminalFields)
  -- Disabling a terminal also deletes its session: checked first, so a connection that missed its
  -- kick hears TERMINAL_DISABLED, not SESSION_REPLACED.
  local terminal = redis.call('HMGET', KEYS[2], 'status', 'hwm', 'lastRead', unpack(terminalFields or {}))
  if terminal[1] ~= 'active' then return {'code', ${R.TERMINAL_DISABLED}} end
  local session = redis.call('HMGET', KEYS[1], 'conn', 'ttl', 'lastSeen')
  if session[1] ~= ARGV[1] then return {'code', ${R.SESSION_REPLACED}} end
  local merchant = redis.call('HMGET', KEYS[3], 'status', 'floatFen', unpack(merchantFields or {}))
  if merchant[1] ~= 'active' then return {'code', ${R.MERCHANT_DISABLED}} end
  if tonumber(ARGV[5]) - (tonumber(session[3]) or 0) >= ${SESSION_REFRESH_MS} then
    redis.call('HSET', KEYS[1], 'lastSeen', ARGV[5])
    if session[2] then redis.call('EXPIRE', KEYS[1], session[2]) end
  end
  local readOnly = ARGV[7] == '1'
  local hwm = tonumber(terminal[2]) or 0
  if tonumber(ARGV[2]) > hwm then
    -- One request moves the mark by at most MAX_SEQ_STEP (PROTOCOL.md §6.1).
    if tonumber(ARGV[2]) - hwm > ${MAX_SEQ_STEP} then return {'code', ${R.SEQ_OUT_OF_RANGE}} end
    if admit and not admit() then return {'code', ${R.QUOTA_EXCEEDED}} end
    if readOnly then
      redis.call('HSET', KEYS[2], 'hwm', ARGV[2], 'lastRead', ARGV[2] .. ':' .. ARGV[3])
    else
      redis.call('HSET', KEYS[2], 'hwm', ARGV[2])
    end
    return nil, merchant, terminal
  end
  -- Not new: the last read-only request again is answered afresh; a write, only when it repeats
  -- the stored request (same fingerprint).
  if readOnly then
    if tonumber(ARGV[2]) == hwm and terminal[3] == ARGV[2] .. ':' .. ARGV[3] then return nil, merchant, terminal end
    return {'code', ${R.REPLAY}}
  end
  local state, fp, _, value = parseRequest(redis.call('GET', KEYS[4]))
  if fp ~= ARGV[3] then return {'code', ${R.REPLAY}} end
  if state == 'done' then return {'stored', value} end
  -- A request that started a transaction is answered by the transaction, once it is finished.
  if txnKey then
    local resp = responseOf(hmgetTxn(txnKey))
    if resp then return {'stored', resp} end
  end
  return {'code', ${R.IN_PROGRESS}}
end
`;
