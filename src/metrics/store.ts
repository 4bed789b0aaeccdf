/**
 * The walk behind the fleet-wide gauges (fleet.ts): pending transactions (recovery's backlog)
 * and active merchants whose float is below a threshold (they will soon decline payments with
 * FLOAT_SHORT). Run by the fleet lease holder only, once per interval.
 */
import type { Cluster, Redis } from 'ioredis';
import { keys } from '../store/keys.js';

export interface StoreSample {
  pendingTransactions: number;
  /** Age of the oldest pending transaction in seconds, 0 when none is pending. */
  oldestPendingSec: number;
  merchantsBelowFloat: number;
}

/** Merchants read at once: bounds the commands in flight on a large merchant set. */
const BATCH = 200;

/**
 * Walks every merchant: its status and float, and its pending set. Each merchant's keys share one
 * hash tag, but different merchants live in different slots, so there is no cross-merchant
 * pipeline on a Cluster: commands go out concurrently, in batches.
 */
export async function sampleStore(
  redis: Redis | Cluster,
  options: { floatThresholdFen: number; now: number },
): Promise<StoreSample> {
  const merchantIds = await redis.smembers(keys.merchants());
  const sample: StoreSample = { pendingTransactions: 0, oldestPendingSec: 0, merchantsBelowFloat: 0 };
  for (let i = 0; i < merchantIds.length; i += BATCH) {
    await Promise.all(
      merchantIds.slice(i, i + BATCH).map(async (merchantId) => {
        const [[status, floatFen], pending, oldest] = await Promise.all([
          redis.hmget(keys.merchant(merchantId), 'status', 'floatFen'),
          redis.zcard(keys.pending(merchantId)),
          redis.zrange(keys.pending(merchantId), 0, 0, 'WITHSCORES'),
        ]);
        // A merchant record without a float has none: 0 fen.
        if (status === 'active' && Number(floatFen ?? 0) < options.floatThresholdFen) sample.merchantsBelowFloat++;
        sample.pendingTransactions += pending;
        const createdAt = oldest[1];
        if (createdAt !== undefined) {
          sample.oldestPendingSec = Math.max(sample.oldestPendingSec, (options.now - Number(createdAt)) / 1000);
        }
      }),
    );
  }
  return sample;
}
