/**
 * Transactions still pending: a payment whose float is reserved, or a correction, that has not
 * completed or been rolled back yet. A young one is in flight; one older than the core's recovery
 * threshold is in doubt (the biller has not answered, or a gateway died mid-way) until recovery
 * settles it. Read from each merchant's pending set, oldest first.
 */
import { keys } from '../store/keys.js';
import { int, type AdminContext } from './context.js';
import { merchantIds } from './merchants.js';

export interface PendingTransaction {
  merchantId: string;
  receipt: string;
  kind: 'pay' | 'correct';
  terminalId: string;
  account: string;
  amountFen: number;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** Every merchant's pending transactions, oldest first; at most `limit` (default 200). */
export async function listPending(context: AdminContext, limit = 200): Promise<PendingTransaction[]> {
  const ids = await merchantIds(context);
  const perMerchant = await Promise.all(
    ids.map(async (merchantId) => {
      const receipts = await context.redis.zrange(keys.pending(merchantId), 0, limit - 1);
      const hashes = await Promise.all(receipts.map((receipt) => context.redis.hgetall(keys.transaction(merchantId, receipt))));
      return receipts.map((receipt, i): PendingTransaction => {
        const t = hashes[i] ?? {};
        return {
          merchantId,
          receipt,
          kind: t.kind === 'correct' ? 'correct' : 'pay',
          terminalId: t.terminal ?? '',
          account: t.account ?? '',
          amountFen: int(t, 'amountFen'),
          createdAt: int(t, 'createdAt'),
        };
      });
    }),
  );
  return perMerchant
    .flat()
    .sort((x, y) => x.createdAt - y.createdAt)
    .slice(0, limit);
}
