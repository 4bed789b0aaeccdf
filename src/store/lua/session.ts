/** Sign-in and connection close, in the merchant's slot. */
import { MAX_SEQ_STEP, ResultCode as R } from '../../../protocol/constants.js';
import { Script } from '../script.js';

/**
 * Opens a session: the last sign-in wins. Its sequence number must be new (it advances the
 * high-water mark like any frame), and at most MAX_SEQ_STEP above the mark; the replaced session's owner is returned so that the gateway
 * can close that connection wherever it is.
 * KEYS[1] terminal, KEYS[2] merchant, KEYS[3] session
 * ARGV[1] seq, ARGV[2] connection id, ARGV[3] instance id, ARGV[4] now, ARGV[5] session ttl (s),
 * ARGV[6] peer address, ARGV[7] firmware (kept on the terminal with the sign-in's time, for the
 * fleet view). The session key is not stored: only the connection that signed in holds
 * it (a request on any other connection is SESSION_REPLACED or NOT_SIGNED_IN), so no other
 * instance ever needs it.
 * → {result, lastSeq, replaced instance, replaced connection}
 */
export const OPEN_SESSION = new Script(`
local terminal = redis.call('HMGET', KEYS[1], 'status', 'hwm')
if not terminal[1] then return {${R.UNKNOWN_TERMINAL}, 0, '', ''} end
local hwm = tonumber(terminal[2]) or 0
if terminal[1] ~= 'active' then return {${R.TERMINAL_DISABLED}, hwm, '', ''} end
if redis.call('HGET', KEYS[2], 'status') ~= 'active' then return {${R.MERCHANT_DISABLED}, hwm, '', ''} end
if tonumber(ARGV[1]) <= hwm then return {${R.REPLAY}, hwm, '', ''} end
if tonumber(ARGV[1]) - hwm > ${MAX_SEQ_STEP} then return {${R.SEQ_OUT_OF_RANGE}, hwm, '', ''} end
redis.call('HSET', KEYS[1], 'hwm', ARGV[1], 'firmware', ARGV[7], 'signedInAt', ARGV[4], 'lastSeen', ARGV[4])
local old = redis.call('HMGET', KEYS[3], 'instance', 'conn')
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'conn', ARGV[2], 'instance', ARGV[3], 'signedInAt', ARGV[4],
  'lastSeen', ARGV[4], 'peer', ARGV[6], 'ttl', ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {${R.APPROVED}, tonumber(ARGV[1]), old[1] or '', old[2] or ''}
`);

/**
 * Compare-and-delete: a stale connection never removes a newer session. The session's lastSeen
 * (its last request the guard saw) moves to the terminal, which keeps it for the fleet view once
 * the session is gone, unless the terminal holds a later one (a heartbeat's).
 * KEYS[1] session, KEYS[2] terminal, ARGV[1] conn.
 */
export const CLOSE_SESSION = new Script(`
local session = redis.call('HMGET', KEYS[1], 'conn', 'lastSeen')
if session[1] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local seen = tonumber(session[2])
local known = redis.call('HMGET', KEYS[2], 'id', 'lastSeen')
if seen and known[1] and seen > (tonumber(known[2]) or 0) then redis.call('HSET', KEYS[2], 'lastSeen', session[2]) end
return 1
`);

/**
 * What heartbeats showed of a terminal, in one write (never on a terminal that is gone):
 * - the high-water mark raised to a number a heartbeat answered by the gateway itself used (never
 *   lowered, never past MAX_SEQ_STEP), so a sign-in on another connection hears a lastSeq at or
 *   above it (PROTOCOL.md §6.1); ARGV[1] 0 leaves it;
 * - the health the last heartbeat reported (src/store/health.ts) and when, which is also the
 *   terminal's last contact (the fleet view); ARGV[3] '' leaves them.
 * KEYS[1] terminal; ARGV[1] seq, ARGV[2] when the health came (epoch ms), ARGV[3] health → 1, or 0 when gone
 */
export const HEARTBEAT_SEEN = new Script(`
local hwm = tonumber(redis.call('HGET', KEYS[1], 'hwm'))
if not hwm then return 0 end
local seq = tonumber(ARGV[1])
if seq > hwm and seq - hwm <= ${MAX_SEQ_STEP} then redis.call('HSET', KEYS[1], 'hwm', ARGV[1]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[2], 'health', ARGV[3], 'healthAt', ARGV[2]) end
return 1
`);
