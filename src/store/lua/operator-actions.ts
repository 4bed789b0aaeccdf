/**
 * The operator's money actions in the merchant's slot (src/admin/operator-actions.ts): a float
 * adjustment, the reversal of a completed payment after its day closed, and the re-entry of a
 * payment lost in a Redis restore. Each writes its journal entry in the same step as the float.
 */
import { ResultCode as R } from '../../../protocol/constants.js';
import { JOURNAL_APPEND } from '../journal.js';
import { Script } from '../script.js';
import { LOOKUP_INDEX } from './lookup-index.js';
import { REQUEST_RECORD } from './request-record.js';

/**
 * KEYS[1] merchant (and the journal's head), KEYS[2] journal, KEYS[3] the merchant's reference book
 * ARGV[1] signed amount, ARGV[2] largest float, ARGV[3] reference ('' for none: applied once per
 * reference otherwise, as top-ups are; an approval's adjustment carries the approval id),
 * ARGV[4..] the journal entry (journalEntryArgs)
 * → {1, float after, entry id, float before} | {0} unknown merchant | {-1, float} below zero |
 *   {-2, float} past the limit | {-3, entry} the reference was applied already
 */
export const ADJUST_FLOAT = new Script(`${JOURNAL_APPEND}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if ARGV[3] ~= '' then
  local applied = redis.call('HGET', KEYS[3], ARGV[3])
  if applied then return {-3, applied} end
end
local amount = tonumber(ARGV[1])
local before = tonumber(redis.call('HGET', KEYS[1], 'floatFen') or '0')
if before + amount < 0 then return {-1, before} end
if before + amount > tonumber(ARGV[2]) then return {-2, before} end
local after = redis.call('HINCRBY', KEYS[1], 'floatFen', amount)
local entry = journalAppend(KEYS[2], KEYS[1], 4, {'floatFen', after})
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], entry) end
return {1, after, entry, before}
`);

/**
 * Step 1 of a reversal: the payment must be a completed, uncorrected payment of a closed day; it
 * is marked reversedBy (so it is reversed once) and the reversal recorded `pending`. A pending
 * reversal of this payment (an earlier run that died) is resumed.
 * KEYS[1] payment, KEYS[2] reversal, KEYS[3] terminal's index, KEYS[4] account's index
 * ARGV[1] payment receipt, ARGV[2] reversal id, ARGV[3] today's business day, ARGV[4] now,
 * ARGV[5] operator, ARGV[6] reason, ARGV[7] ticket
 * → {'reserved'|'resume', account, amount} | {'not_found'} | {'not_completed', state} |
 *   {'corrected', receipt} | {'reversed', id} | {'same_day'}
 */
export const RESERVE_REVERSAL = new Script(`${LOOKUP_INDEX}
local p = redis.call('HMGET', KEYS[1], 'kind', 'state', 'businessDay', 'correctedBy', 'reversedBy', 'account',
  'amountFen', 'terminal')
if p[1] ~= 'pay' then return {'not_found'} end
if p[2] ~= 'complete' then return {'not_completed', p[2]} end
if p[4] then return {'corrected', p[4]} end
if p[5] then
  if p[5] == ARGV[2] and redis.call('HGET', KEYS[2], 'state') == 'pending' then return {'resume', p[6], p[7]} end
  return {'reversed', p[5]}
end
if tonumber(p[3]) >= tonumber(ARGV[3]) then return {'same_day'} end
redis.call('HSET', KEYS[1], 'reversedBy', ARGV[2])
redis.call('HSET', KEYS[2], 'receipt', ARGV[2], 'kind', 'reverse', 'terminal', p[8], 'seq', 0, 'account', p[6],
  'amountFen', p[7], 'state', 'pending', 'businessDay', ARGV[3], 'createdAt', ARGV[4], 'original', ARGV[1],
  'origin', 'operator', 'operator', ARGV[5], 'reason', ARGV[6], 'ticket', ARGV[7])
indexTxn(KEYS[3], KEYS[4], ARGV[4], ARGV[2])
return {'reserved', p[6], p[7]}
`);

/**
 * Step 3: the biller's answer. Approved: the float credited, a `reverse` journal entry. Declined:
 * the payment is free to be reversed again. Only a pending reversal changes.
 * KEYS[1] reversal, KEYS[2] payment, KEYS[3] merchant (and the journal's head), KEYS[4] journal,
 * KEYS[5] declined index
 * ARGV[1] reversal id, ARGV[2] biller result, ARGV[3] arrears after, ARGV[4] now, ARGV[5..] the
 * journal entry (journalEntryArgs; only when approved)
 * → {applied 0|1, state, float after}
 */
export const COMPLETE_REVERSAL = new Script(`${JOURNAL_APPEND}
local r = redis.call('HMGET', KEYS[1], 'state', 'amountFen', 'createdAt')
if r[1] ~= 'pending' then return {0, r[1] or '', 0} end
if tonumber(ARGV[2]) == ${R.APPROVED} then
  local floatFen = redis.call('HINCRBY', KEYS[3], 'floatFen', r[2])
  journalAppend(KEYS[4], KEYS[3], 5, {'floatFen', floatFen})
  redis.call('HSET', KEYS[1], 'state', 'complete', 'result', ARGV[2], 'arrearsAfter', ARGV[3], 'floatAfter', floatFen,
    'completedAt', ARGV[4])
  return {1, 'complete', floatFen}
end
if redis.call('HGET', KEYS[2], 'reversedBy') == ARGV[1] then redis.call('HDEL', KEYS[2], 'reversedBy') end
redis.call('HSET', KEYS[1], 'state', 'declined', 'result', ARGV[2], 'completedAt', ARGV[4])
redis.call('ZADD', KEYS[5], r[3], ARGV[1])
return {1, 'declined', 0}
`);

/**
 * Step 1 of a re-entry: the payment the terminal's receipt shows (terminal, seq) becomes a pending
 * `pay` with origin `reentry`, exactly as the terminal's PAY would have: float debited, in the
 * pending set (so recovery finishes it if this process dies), and the terminal's sequence guard
 * told: the high-water mark moves up to seq, and the request record holds the PAY's fingerprint
 * and receipt, so a retransmission of that PAY is answered from this transaction, never applied.
 * KEYS[1] terminal, KEYS[2] merchant, KEYS[3] transaction, KEYS[4] pending set, KEYS[5] request
 * record, KEYS[6] terminal's index, KEYS[7] account's index, KEYS[8] decline record
 * ARGV[1] receipt, ARGV[2] terminal, ARGV[3] seq, ARGV[4] account, ARGV[5] amount, ARGV[6] business
 * day, ARGV[7] time on the receipt, ARGV[8] PAY fingerprint, ARGV[9] PAY type, ARGV[10] retention
 * (s), ARGV[11] now, ARGV[12] operator, ARGV[13] reason, ARGV[14] ticket
 * → {'reserved', float} | {'resume'} | {'no_terminal'} | {'exists', state, origin} |
 *   {'request_exists', record} | {'float_short', float}
 */
export const RESERVE_REENTRY = new Script(`${REQUEST_RECORD}${LOOKUP_INDEX}
local terminal = redis.call('HMGET', KEYS[1], 'id', 'hwm')
if not terminal[1] then return {'no_terminal'} end
local existing = redis.call('HMGET', KEYS[3], 'state', 'origin')
if existing[1] then
  if existing[2] == 'reentry' and existing[1] == 'pending' then return {'resume'} end
  return {'exists', existing[1], existing[2] or 'terminal'}
end
-- The store still knows this request (a decline, or a record the restore kept): not lost.
local record = redis.call('GET', KEYS[5])
if record then return {'request_exists', record} end
if redis.call('EXISTS', KEYS[8]) == 1 then return {'request_exists', 'declined'} end
local amount = tonumber(ARGV[5])
local floatFen = tonumber(redis.call('HGET', KEYS[2], 'floatFen') or '0')
if floatFen < amount then return {'float_short', floatFen} end
floatFen = redis.call('HINCRBY', KEYS[2], 'floatFen', -amount)
redis.call('HSET', KEYS[3], 'receipt', ARGV[1], 'kind', 'pay', 'terminal', ARGV[2], 'seq', ARGV[3], 'account', ARGV[4],
  'amountFen', amount, 'state', 'pending', 'businessDay', ARGV[6], 'createdAt', ARGV[7], 'floatAfter', floatFen,
  'origin', 'reentry', 'operator', ARGV[12], 'reason', ARGV[13], 'ticket', ARGV[14], 'enteredAt', ARGV[11])
redis.call('ZADD', KEYS[4], ARGV[11], ARGV[1])
if tonumber(ARGV[3]) > (tonumber(terminal[2]) or 0) then redis.call('HSET', KEYS[1], 'hwm', ARGV[3]) end
redis.call('SET', KEYS[5], requestRecord('pending', ARGV[8], ARGV[9], ARGV[1]), 'EX', ARGV[10])
indexTxn(KEYS[6], KEYS[7], ARGV[7], ARGV[1])
return {'reserved', floatFen}
`);
