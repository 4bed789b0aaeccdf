/** The merchant's float: money it pre-stored, which payments debit and corrections credit back. */
import { MAX_FEN } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { JOURNAL_APPEND, journalEntryArgs, readJournalHead } from '../store/journal.js';
import { requireJournalKey, type AdminContext } from './context.js';
import { businessDayOf } from '../core/business-day.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { checkMerchantId } from './merchants.js';
import { formatYuan } from './money.js';
import { Script } from '../store/script.js';

export interface TopUpResult {
  merchantId: string;
  amountFen: number;
  floatFen: number;
  /** The journal entry's stream id. */
  entry: string;
}

/**
 * Credits the float and appends the `topup` journal entry in one step, so the journal always
 * explains the float. KEYS[1] merchant, KEYS[2] journal, KEYS[3] journal head; ARGV[1] amount,
 * ARGV[2] float limit, ARGV[3..] the journal entry (journalEntryArgs).
 * Returns {1, float, entry id}, {0} for an unknown merchant, or {-1, float} when the float would
 * pass the u32 fen the wire can carry.
 */
const TOP_UP = new Script(`${JOURNAL_APPEND}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local amount = tonumber(ARGV[1])
local before = tonumber(redis.call('HGET', KEYS[1], 'floatFen') or '0')
if before + amount > tonumber(ARGV[2]) then return {-1, before} end
local after = redis.call('HINCRBY', KEYS[1], 'floatFen', amount)
local entry = journalAppend(KEYS[2], KEYS[3], 3, {'floatFen', after})
return {1, after, entry}
`);

export async function topUp(context: AdminContext, merchantId: string, amountFen: number): Promise<TopUpResult> {
  checkMerchantId(merchantId);
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > MAX_FEN) {
    throw new AdminError(AdminErrorCode.AMOUNT, `a top-up is more than zero and at most ${formatYuan(MAX_FEN)} yuan`);
  }
  const key = requireJournalKey(context, 'writes a journal entry');
  const now = context.now();
  const seen = await readJournalHead(context.redis, merchantId);
  const entryArgs = journalEntryArgs(key, merchantId, seen, [
    ['kind', 'topup'],
    ['txn', ''],
    ['terminal', ''],
    ['amountFen', amountFen],
    ['day', businessDayOf(now, context.businessDay)],
    ['ts', now],
  ]);
  const reply = (await TOP_UP.run(
    context.redis,
    [keys.merchant(merchantId), keys.journal(merchantId), keys.journalHead(merchantId)],
    [amountFen, MAX_FEN, ...entryArgs],
  )) as [number, number?, string?];
  const [status, floatFen = 0, entry = ''] = reply;
  if (status === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown merchant ${merchantId}`);
  if (status === -1) {
    throw new AdminError(
      AdminErrorCode.FLOAT_LIMIT,
      `merchant ${merchantId}: float ${formatYuan(floatFen)} + ${formatYuan(amountFen)} would pass the limit of ${formatYuan(MAX_FEN)} yuan`,
    );
  }
  // For aircharge_topups_total: top-ups happen here, in whichever process runs the admin API.
  await context.redis.pipeline().hincrby(keys.topUpStats(), 'count', 1).hincrby(keys.topUpStats(), 'fen', amountFen).exec();
  return { merchantId, amountFen, floatFen, entry };
}
