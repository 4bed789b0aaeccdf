/**
 * The low-float warning state's side effects outside the merchant's slot: one structured log
 * event when a merchant enters or leaves the state, and the fleet-wide set `ac:low-float` of
 * merchant ids (a gauge is one SCARD). The state itself is decided atomically in Lua with the
 * float change (src/store/lua/balance.ts); the merchant hash's `lowFloat` field is the truth and
 * `syncLowFloatSet` heals the set from it (a crash between the script and the SADD).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keys } from '../store/keys.js';

/** ¥500 threshold, ¥100 margin: a shop is warned with a day or two of typical takings left. */
export const DEFAULT_LOW_FLOAT = { thresholdFen: 50_000, marginFen: 10_000 } as const;

/** A script's transition: '' (none), 'enter' or 'leave'. */
export type LowFloatTransition = '' | 'enter' | 'leave';

export async function noteLowFloat(
  redis: Redis | Cluster,
  logger: Logger | undefined,
  merchantId: string,
  transition: unknown,
  floatFen: number,
): Promise<void> {
  if (transition !== 'enter' && transition !== 'leave') return;
  logger?.info({ event: transition === 'enter' ? 'low_float_enter' : 'low_float_leave', merchant: merchantId, floatFen }, `merchant ${transition === 'enter' ? 'entered' : 'left'} the low-float state`);
  try {
    if (transition === 'enter') await redis.sadd(keys.lowFloat(), merchantId);
    else await redis.srem(keys.lowFloat(), merchantId);
  } catch (error) {
    // The money movement is done; the set is healed by syncLowFloatSet (recovery runs it).
    logger?.warn({ merchant: merchantId, err: error instanceof Error ? error.message : String(error) }, 'could not update the low-float set');
  }
}

/** Makes `ac:low-float` hold exactly the merchants whose hash says `lowFloat`; returns how many are low. */
export async function syncLowFloatSet(redis: Redis | Cluster, merchantIds: readonly string[]): Promise<number> {
  const flags = await Promise.all(merchantIds.map((id) => redis.hget(keys.merchant(id), 'lowFloat')));
  const low = merchantIds.filter((_, i) => flags[i] === '1');
  const listed = new Set(await redis.smembers(keys.lowFloat()));
  const add = low.filter((id) => !listed.has(id));
  const lowSet = new Set(low);
  const remove = [...listed].filter((id) => !lowSet.has(id));
  if (add.length > 0) await redis.sadd(keys.lowFloat(), ...add);
  if (remove.length > 0) await redis.srem(keys.lowFloat(), ...remove);
  return low.length;
}
