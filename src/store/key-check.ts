/**
 * The master key's check value, kept in Redis beside the keys sealed under it: a process started
 * with another master key (a typo, the demo key, last year's key) finds out before it serves
 * anyone, instead of reporting ready and answering UNKNOWN_TERMINAL to every terminal.
 * The value is an HMAC of a fixed label, so it tells nothing about the key itself.
 */
import { createHmac } from 'node:crypto';
import type { Redis, Cluster } from 'ioredis';
import { keys } from './keys.js';
import { MasterKeyError } from './secrets.js';

const LABEL = 'aircharge master key check v1';

export function keyCheckValue(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update(LABEL).digest('hex').slice(0, 16);
}

/**
 * Records this key's check value the first time a Redis is used, and from then on refuses any
 * other key. Throws MasterKeyError naming both check values (never the key).
 */
export async function checkMasterKey(redis: Redis | Cluster, masterKey: Buffer): Promise<void> {
  const mine = keyCheckValue(masterKey);
  await redis.set(keys.masterKeyCheck(), mine, 'NX');
  const stored = await redis.get(keys.masterKeyCheck());
  if (stored !== mine) {
    throw new MasterKeyError(
      `the master key is not the one this Redis's terminal keys are sealed under (key check ${mine}, Redis has ${stored}): ` +
        'check AIRCHARGE_MASTER_KEY, and do not run demo mode against a Redis holding a real network',
    );
  }
}
