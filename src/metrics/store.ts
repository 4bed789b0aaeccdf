/**
 * The walk behind the fleet-wide gauges (fleet.ts): pending transactions (recovery's backlog),
 * outlets in the low-float warning state (the merchant hash's `lowFloat`, set with hysteresis by
 * the float change itself, src/core/README.md "Low float": what `merchant list --low-float` lists),
 * collectors in the near-cash-limit state (`cashNear`, src/core/cash-near.ts: what `merchant list
 * --near-cash-limit` lists), and the terminals: online or not, and the health the online ones last reported.
 * Run by the fleet lease holder only, once per interval.
 */
import type { Cluster, Redis } from 'ioredis';
import { PowerSource } from '../../protocol/constants.js';
import { PRINTER_NAME, parseHealth, signalClass, type SignalClass } from '../store/health.js';
import { keys } from '../store/keys.js';

export interface TerminalSample {
  online: number;
  offline: number;
  /** Online terminals by the signal class of their last heartbeat (no heartbeat yet: unknown). */
  bySignal: Record<SignalClass, number>;
  /** Online terminals by printer state (PRINTER_NAME; no heartbeat yet: unknown). */
  byPrinter: Record<string, number>;
  /** Online terminals running on their battery. */
  onBattery: number;
}

export interface StoreSample {
  pendingTransactions: number;
  /** Age of the oldest pending transaction in seconds, 0 when none is pending. */
  oldestPendingSec: number;
  /** Merchants in the low-float warning state. */
  merchantsLowFloat: number;
  /** Collectors in the near-cash-limit state. */
  collectorsNearCashLimit: number;
  terminals: TerminalSample;
}

function emptyTerminalSample(): TerminalSample {
  return {
    online: 0,
    offline: 0,
    bySignal: { weak: 0, ok: 0, unknown: 0 },
    byPrinter: Object.fromEntries([...PRINTER_NAME.values()].map((name) => [name, 0])),
    onBattery: 0,
  };
}

/** Counts one merchant's terminals: two reads each (the terminal's health, whether a session is open). */
async function sampleTerminals(redis: Redis | Cluster, merchantId: string, into: TerminalSample): Promise<void> {
  const ids = await redis.smembers(keys.terminals(merchantId));
  const records = await Promise.all(
    ids.map((tid) => Promise.all([redis.hget(keys.terminal(merchantId, tid), 'health'), redis.exists(keys.session(merchantId, tid))])),
  );
  for (const [stored, open] of records) {
    if (open === 0) {
      into.offline++;
      continue;
    }
    into.online++;
    const health = parseHealth(stored);
    into.bySignal[health === null ? 'unknown' : signalClass(health.signal)]++;
    const printer = health === null ? 'unknown' : (PRINTER_NAME.get(health.printer) ?? 'unknown');
    into.byPrinter[printer] = (into.byPrinter[printer] ?? 0) + 1;
    if (health?.power === PowerSource.BATTERY) into.onBattery++;
  }
}

/** Merchants read at once: bounds the commands in flight on a large merchant set. */
const BATCH = 200;

/**
 * Walks every merchant: its warning states, and its pending set. Each merchant's keys share one
 * hash tag, but different merchants live in different slots, so there is no cross-merchant
 * pipeline on a Cluster: commands go out concurrently, in batches.
 */
export async function sampleStore(
  redis: Redis | Cluster,
  options: { now: number },
): Promise<StoreSample> {
  const merchantIds = await redis.smembers(keys.merchants());
  const sample: StoreSample = { pendingTransactions: 0, oldestPendingSec: 0, merchantsLowFloat: 0, collectorsNearCashLimit: 0, terminals: emptyTerminalSample() };
  for (let i = 0; i < merchantIds.length; i += BATCH) {
    await Promise.all(
      merchantIds.slice(i, i + BATCH).map(async (merchantId) => {
        const [[lowFloat, cashNear], pending, oldest] = await Promise.all([
          redis.hmget(keys.merchant(merchantId), 'lowFloat', 'cashNear'),
          redis.zcard(keys.pending(merchantId)),
          redis.zrange(keys.pending(merchantId), 0, 0, 'WITHSCORES'),
          sampleTerminals(redis, merchantId, sample.terminals),
        ]);
        if (lowFloat === '1') sample.merchantsLowFloat++;
        if (cashNear === '1') sample.collectorsNearCashLimit++;
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
