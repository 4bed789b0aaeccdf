/**
 * The biller queue as the operator sees it (`aircharge biller queue`, `aircharge biller failed`):
 * payments approved while the billing system was unreachable (`--biller-down accept`) whose
 * postings are still waiting, or failed for good (src/core/biller-queue.ts forwards them); verify
 * and the daily report list them too (billerQueueLines).
 */
import { keys } from '../store/keys.js';
import { Script } from '../store/script.js';
import { requireOperator } from './audit.js';
import { int, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { merchantOfTerminal } from './terminals.js';

export interface QueuedPosting {
  merchantId: string;
  receipt: string;
  terminalId: string;
  account: string;
  amountFen: number;
  businessDay: number;
  /** When the payment was approved, epoch ms. */
  approvedAt: number;
  /** When it was queued last: approved, or sent back to the queue by an operator (biller retry). */
  queuedAt: number;
  /** Sends that got no answer. */
  tries: number;
  /** Failed ones: EXPIRED, NO_ANSWER, RECEIPT_CONFLICT or the biller's decline (OVERPAYMENT, ...). */
  failure: string | null;
  failedAt: number | null;
}

export async function listBillerPostings(context: AdminContext, which: 'queue' | 'failed'): Promise<QueuedPosting[]> {
  const merchants = (await context.redis.smembers(keys.merchants())).sort();
  const out: QueuedPosting[] = [];
  for (const merchantId of merchants) {
    const set = which === 'queue' ? keys.billerQueue(merchantId) : keys.billerFailed(merchantId);
    for (const receipt of await context.redis.zrange(set, 0, -1)) {
      const t = await context.redis.hgetall(keys.transaction(merchantId, receipt));
      out.push({
        merchantId,
        receipt,
        terminalId: t.terminal ?? '',
        account: t.account ?? '',
        amountFen: int(t, 'amountFen'),
        businessDay: int(t, 'businessDay'),
        approvedAt: int(t, 'completedAt'),
        queuedAt: t.requeuedAt === undefined ? int(t, 'completedAt') : int(t, 'requeuedAt'),
        tries: int(t, 'billerTries'),
        failure: t.billerFailure ?? null,
        failedAt: t.failedAt === undefined ? null : int(t, 'failedAt'),
      });
    }
  }
  return out;
}

/** A queued or failed posting as verify and the daily report list it. */
export interface QueueLine {
  receipt: string;
  merchantId: string;
  account: string;
  amountFen: number;
  businessDay: number;
  /** Since it was queued (approved, or sent back by `biller retry`), ms: what the expiry counts. */
  ageMs: number;
  /** Failed ones: why (EXPIRED, NO_ANSWER, RECEIPT_CONFLICT, or the biller's decline). */
  failure: string | null;
}

/** The queued and failed postings, oldest first, with their age now. */
export async function billerQueueLines(context: AdminContext, now: number): Promise<{ queued: QueueLine[]; failed: QueueLine[] }> {
  const line = (p: QueuedPosting): QueueLine => ({
    receipt: p.receipt,
    merchantId: p.merchantId,
    account: p.account,
    amountFen: p.amountFen,
    businessDay: p.businessDay,
    ageMs: Math.max(0, now - p.queuedAt),
    failure: p.failure,
  });
  const oldest = (x: QueueLine, y: QueueLine) => y.ageMs - x.ageMs || (x.receipt < y.receipt ? -1 : 1);
  const [queued, failed] = await Promise.all([listBillerPostings(context, 'queue'), listBillerPostings(context, 'failed')]);
  return { queued: queued.map(line).sort(oldest), failed: failed.map(line).sort(oldest) };
}

/**
 * A failed posting back in its merchant's queue, in one step, and only a failed one (two operators
 * at once: one does it). KEYS[1] failed set, KEYS[2] queue, KEYS[3] transaction; ARGV[1] receipt,
 * ARGV[2] now → the state it was in ('failed' when done).
 */
const REQUEUE = new Script(`
local state = redis.call('HGET', KEYS[3], 'billerQueue')
if state ~= 'failed' or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return state or 'none' end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[3], 'completedAt') or ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], 'billerQueue', 'queued', 'billerTries', 0, 'requeuedAt', ARGV[2])
redis.call('HDEL', KEYS[3], 'billerFailure', 'failedAt')
return 'failed'
`);

/**
 * `aircharge biller retry RECEIPT`: a failed posting sent again (the same receipt, account and
 * amount; idempotent at the biller), once the billing department has fixed what made it fail (back
 * from a long outage, a bill issued for an overpayment). It goes back into its merchant's queue,
 * with its tries and expiry counted afresh; no money moves.
 */
export async function retryFailedPosting(context: AdminContext, receipt: string): Promise<QueuedPosting> {
  requireOperator(context);
  const merchantId = await merchantOfTerminal(context, receipt.slice(0, 8)).catch(() => {
    throw new AdminError(AdminErrorCode.NOT_FOUND, `no posting ${receipt}`);
  });
  const was = (await REQUEUE.run(
    context.redis,
    [keys.billerFailed(merchantId), keys.billerQueue(merchantId), keys.transaction(merchantId, receipt)],
    [receipt, context.now()],
  )) as string;
  if (was === 'none') throw new AdminError(AdminErrorCode.NOT_FOUND, `no queued posting ${receipt}`);
  if (was !== 'failed') throw new AdminError(AdminErrorCode.REFUSED, `posting ${receipt} is ${was}, not failed: only a failed posting is sent again`);
  const queued = (await listBillerPostings(context, 'queue')).find((p) => p.receipt === receipt);
  if (queued === undefined) throw new AdminError(AdminErrorCode.REFUSED, `posting ${receipt} left the queue at once (forwarded already?)`);
  return queued;
}
