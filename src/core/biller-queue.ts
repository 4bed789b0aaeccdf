/**
 * The biller queue (`--biller-down accept`): payments approved against the float while the
 * billing system was unreachable, their postings kept in each merchant's queue (keys.billerQueue,
 * written in the completion script, so none is lost) and forwarded here, oldest first, once the
 * biller answers again. Per merchant the order holds: a posting that gets no answer stops that
 * merchant's queue until the next pass, and is sent again (the same body, idempotent by receipt).
 * One that expires, runs out of tries, or is declined by the biller moves to the failed set for the
 * operator (`aircharge biller failed`): its money was taken and the customer holds a receipt.
 */
import { RESULT_NAME } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import type { CoreDeps } from './deps.js';
import { eventOf } from './in-doubt.js';

export interface QueueOptions {
  expiryMs: number;
  maxTries: number;
}

export interface ForwardResult {
  posted: number;
  failed: number;
  /** Still queued after this pass. */
  waiting: number;
}

export async function forwardQueued(deps: CoreDeps, options: QueueOptions, now: number): Promise<ForwardResult> {
  const totals: ForwardResult = { posted: 0, failed: 0, waiting: 0 };
  const available = (deps.biller as { available?: () => boolean }).available;
  const merchants = await deps.storeCall(deps.redis.smembers(keys.merchants()));
  for (const merchantId of merchants) {
    const queue = keys.billerQueue(merchantId);
    const receipts = await deps.storeCall(deps.redis.zrange(queue, 0, -1));
    let blocked = false;
    for (const receipt of receipts) {
      if (blocked || (available !== undefined && !available.call(deps.biller))) {
        totals.waiting += 1;
        continue;
      }
      const txnKey = keys.transaction(merchantId, receipt);
      const txn = await deps.storeCall(deps.redis.hgetall(txnKey));
      if (txn.billerQueue !== 'queued') {
        await deps.storeCall(deps.redis.zrem(queue, receipt));
        continue;
      }
      const tries = Number(txn.billerTries ?? 0);
      // Counted from its last queueing: an operator's `biller retry` starts the expiry afresh.
      const age = now - Number(txn.requeuedAt ?? txn.completedAt ?? now);
      if (age > options.expiryMs || tries >= options.maxTries) {
        await fail(deps, merchantId, receipt, age > options.expiryMs ? 'EXPIRED' : 'NO_ANSWER', now);
        totals.failed += 1;
        continue;
      }
      let answer;
      try {
        answer = eventOf({
          result: await deps.storeCall(
            deps.biller.post({ receipt, account: txn.account ?? '', amountFen: Number(txn.amountFen), at: Number(txn.createdAt ?? now), day: Number(txn.businessDay) }),
          ),
        });
      } catch (error) {
        answer = eventOf({ error });
      }
      if (answer.event === 'booked') {
        await deps.storeCall(
          deps.redis.multi().zrem(queue, receipt).hset(txnKey, 'billerQueue', 'posted', 'arrearsAfter', answer.result!.arrearsFen, 'postedAt', now).exec(),
        );
        totals.posted += 1;
      } else if (answer.event === 'declined' || answer.event === 'conflict') {
        const reason = answer.event === 'conflict' ? 'RECEIPT_CONFLICT' : (RESULT_NAME.get(answer.result!.result) ?? String(answer.result!.result));
        await fail(deps, merchantId, receipt, reason, now);
        totals.failed += 1;
      } else {
        // No answer: it may be booked; the same body goes again next pass. Not sent: not a try.
        if (answer.event === 'no_answer') await deps.storeCall(deps.redis.hincrby(txnKey, 'billerTries', 1));
        blocked = true;
        totals.waiting += 1;
      }
    }
  }
  if (totals.posted + totals.failed > 0) deps.logger?.info(totals, 'biller queue forwarded');
  return totals;
}

async function fail(deps: CoreDeps, merchantId: string, receipt: string, reason: string, now: number): Promise<void> {
  await deps.storeCall(
    deps.redis
      .multi()
      .zrem(keys.billerQueue(merchantId), receipt)
      .zadd(keys.billerFailed(merchantId), now, receipt)
      .hset(keys.transaction(merchantId, receipt), 'billerQueue', 'failed', 'billerFailure', reason, 'failedAt', now)
      .exec(),
  );
  deps.logger?.error({ merchant: merchantId, txn: receipt, reason }, 'queued posting failed: listed for the operator (aircharge biller failed)');
}

/** Reasons a queued posting fails besides a biller decline (whose result name is the reason). */
export const QUEUE_FAILURES = ['EXPIRED', 'NO_ANSWER', 'RECEIPT_CONFLICT'] as const;
