/**
 * The biller queue as the operator sees it (`aircharge biller queue`, `aircharge biller failed`):
 * payments approved while the billing system was unreachable (`--biller-down accept`) whose
 * postings are still waiting, or failed for good (src/core/biller-queue.ts forwards them); verify
 * and the daily report list them too (billerQueueLines).
 */
import { keys } from '../store/keys.js';
import { int, type AdminContext } from './context.js';

export interface QueuedPosting {
  merchantId: string;
  receipt: string;
  terminalId: string;
  account: string;
  amountFen: number;
  businessDay: number;
  /** When the payment was approved, epoch ms. */
  approvedAt: number;
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
  /** Since the payment was approved, ms. */
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
    ageMs: Math.max(0, now - p.approvedAt),
    failure: p.failure,
  });
  const oldest = (x: QueueLine, y: QueueLine) => y.ageMs - x.ageMs || (x.receipt < y.receipt ? -1 : 1);
  const [queued, failed] = await Promise.all([listBillerPostings(context, 'queue'), listBillerPostings(context, 'failed')]);
  return { queued: queued.map(line).sort(oldest), failed: failed.map(line).sort(oldest) };
}
