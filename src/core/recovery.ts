/**
 * Recovery: every transaction pending for longer than the bound is finished by repeating its
 * idempotent biller step and its completion step — rolled forward when the biller has (or now)
 * booked it, rolled back when the biller declines. Safe to run beside the live path and on several
 * instances at once: only a pending transaction completes, once.
 */
import { ResultCode } from '../../protocol/constants.js';
import { readJournalHead } from '../store/journal.js';
import { keys } from '../store/keys.js';
import type { CoreDeps, PendingTransaction } from './deps.js';
import { settle } from './in-doubt.js';
import type { Completion } from './pay.js';

export interface RecoveryResult {
  completed: number;
  rolledBack: number;
  /** Still pending: the biller could not say what it holds under the receipt; asked again next pass. */
  inDoubt: number;
}

export async function recover(deps: CoreDeps, now: number): Promise<RecoveryResult> {
  const totals: RecoveryResult = { completed: 0, rolledBack: 0, inDoubt: 0 };
  const merchants = await deps.storeCall(deps.redis.smembers(keys.merchants()));
  for (const merchantId of merchants) {
    const receipts = await deps.storeCall(
      deps.redis.zrangebyscore(keys.pending(merchantId), '-inf', now - deps.recoveryAfterMs),
    );
    for (const receipt of receipts) {
      const txn = await readPending(deps, merchantId, receipt);
      if (txn === null) continue;
      const finished = await finish(deps, txn);
      if (finished === null) {
        totals.inDoubt += 1;
        continue;
      }
      if (!finished.applied) continue;
      if (finished.response.result === ResultCode.APPROVED) totals.completed += 1;
      else totals.rolledBack += 1;
      deps.logger?.warn(
        { merchant: merchantId, terminal: txn.terminalId, seq: txn.seq, txn: receipt, kind: txn.kind, result: finished.response.result },
        'recovered a pending transaction',
      );
    }
  }
  return totals;
}

/**
 * Settles a transaction that may have been posted already: the biller is asked what it holds under
 * the receipt, then the same transitions as the live path (in-doubt.ts). Null while still in doubt.
 * The query is the biller's own retried read (bounded attempts with jittered backoff): the budget of
 * one pass; the next pass, `--recovery-interval` later, asks again.
 */
export async function finish(deps: CoreDeps, txn: PendingTransaction): Promise<Completion | null> {
  return (await settle(deps, txn, 'in_doubt')).completion;
}

async function readPending(deps: CoreDeps, merchantId: string, receipt: string): Promise<PendingTransaction | null> {
  const hash = await deps.storeCall(deps.redis.hgetall(keys.transaction(merchantId, receipt)));
  if (hash.state !== 'pending') {
    // Completed since the set was read, or a set entry without its record: nothing left to finish.
    if (hash.state === undefined) await deps.storeCall(deps.redis.zrem(keys.pending(merchantId), receipt));
    return null;
  }
  return {
    kind: hash.kind === 'correct' ? 'correct' : 'pay',
    merchantId,
    terminalId: hash.terminal ?? '',
    seq: Number(hash.seq),
    receipt,
    account: hash.account ?? '',
    amountFen: Number(hash.amountFen),
    businessDay: Number(hash.businessDay),
    ...(hash.original === undefined ? {} : { original: hash.original }),
    // An operator's re-entry that died half-way keeps saying so in its journal entry.
    ...(hash.origin === undefined ? {} : { origin: hash.origin }),
    // Any head read before the completion is one its journal entry may vouch for.
    seen: await deps.storeCall(readJournalHead(deps.redis, merchantId)),
  };
}
