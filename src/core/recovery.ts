/**
 * Recovery: every transaction pending for longer than the bound is finished by repeating its
 * idempotent biller step and its completion step — rolled forward when the biller has (or now)
 * booked it, rolled back when the biller declines. Safe to run beside the live path and on several
 * instances at once: only a pending transaction completes, once.
 */
import { ResultCode } from '../../protocol/constants.js';
import { readJournalHead } from '../store/journal.js';
import { keys } from '../store/keys.js';
import { completeCorrect, reverseCorrect } from './correct.js';
import type { CoreDeps, PendingTransaction } from './deps.js';
import { completePay, postPay, type Completion } from './pay.js';

export interface RecoveryResult {
  completed: number;
  rolledBack: number;
}

export async function recover(deps: CoreDeps, now: number): Promise<RecoveryResult> {
  const totals: RecoveryResult = { completed: 0, rolledBack: 0 };
  const merchants = await deps.storeCall(deps.redis.smembers(keys.merchants()));
  for (const merchantId of merchants) {
    const receipts = await deps.storeCall(
      deps.redis.zrangebyscore(keys.pending(merchantId), '-inf', now - deps.recoveryAfterMs),
    );
    for (const receipt of receipts) {
      const txn = await readPending(deps, merchantId, receipt);
      if (txn === null) continue;
      const finished = await finish(deps, txn);
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

/** Steps 2 and 3 of a pending transaction, both idempotent. */
export function finish(deps: CoreDeps, txn: PendingTransaction): Promise<Completion> {
  return txn.kind === 'pay'
    ? postPay(deps, txn).then((posted) => completePay(deps, txn, posted))
    : reverseCorrect(deps, txn).then((reversed) => completeCorrect(deps, txn, reversed));
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
    // Any head read before the completion is one its journal entry may vouch for.
    seen: await deps.storeCall(readJournalHead(deps.redis, merchantId)),
  };
}
