/**
 * The master keys' check values, kept in Redis beside what is sealed under them: a process started
 * with another master key (a typo, the demo key, last year's key) finds out before it serves
 * anyone, instead of reporting ready and answering UNKNOWN_TERMINAL to every terminal.
 * A check value is an HMAC of a fixed label, so it tells nothing about the key itself.
 *
 * Master keys are versioned (keys.masterKeys: version → check value, `current`, and `next` while a
 * rotation to it is under way). A process accepts, as AIRCHARGE_MASTER_KEY:
 * - the current version's key (AIRCHARGE_MASTER_KEY_PREVIOUS, if given, must be an earlier version);
 * - a new key, given with the current one as AIRCHARGE_MASTER_KEY_PREVIOUS: the first process to
 *   do so registers it as version current + 1, `next`, and every later one must bring the same;
 * - the `next` version's key with the current one as previous, until `master-key rotate` finishes
 *   and makes `next` current.
 * A retired version's key is refused, so after a rotation a process holding only the old key does
 * not start.
 */
import { createHmac } from 'node:crypto';
import type { Redis, Cluster } from 'ioredis';
import { keys } from './keys.js';
import { MASTER_KEY_ENV, MasterKeyError, MasterKeys, PREVIOUS_MASTER_KEY_ENV } from './secrets.js';
import { Script } from './script.js';

const LABEL = 'aircharge master key check v1';

export function keyCheckValue(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update(LABEL).digest('hex').slice(0, 16);
}

/**
 * KEYS[1] the versions hash, KEYS[2] the check value of a Redis from before versions (version 1,
 * moved into the hash here). ARGV[1] the key's check value, ARGV[2] the previous key's or ''.
 * → {current, next (0 for none), version of ARGV[1] (0 unknown), of ARGV[2] (0 unknown), current's
 * check, next's check}. Registers ARGV[1] as version 1 on a fresh Redis, or as `next` when it is
 * unknown, ARGV[2] is current and no other key is `next`.
 */
const RESOLVE = new Script(`
local h = KEYS[1]
if redis.call('HEXISTS', h, 'current') == 0 then
  local first = redis.call('GET', KEYS[2]) or ARGV[1]
  redis.call('HSET', h, '1', first, 'current', 1)
end
local current = tonumber(redis.call('HGET', h, 'current'))
local nextv = tonumber(redis.call('HGET', h, 'next') or '0')
local function versionOf(check)
  if check == '' then return 0 end
  local flat = redis.call('HGETALL', h)
  for i = 1, #flat, 2 do
    if flat[i + 1] == check and flat[i] ~= 'current' and flat[i] ~= 'next' then return tonumber(flat[i]) end
  end
  return 0
end
local mine = versionOf(ARGV[1])
local previous = versionOf(ARGV[2])
if mine == 0 and previous == current and nextv == 0 then
  nextv = current + 1
  redis.call('HSET', h, tostring(nextv), ARGV[1], 'next', nextv)
  mine = nextv
end
redis.call('SET', KEYS[2], redis.call('HGET', h, tostring(current)))
return {current, nextv, mine, previous, redis.call('HGET', h, tostring(current)), nextv > 0 and redis.call('HGET', h, tostring(nextv)) or ''}
`);

/**
 * The versions of `masterKey` (AIRCHARGE_MASTER_KEY) and `previous` (AIRCHARGE_MASTER_KEY_PREVIOUS)
 * in this Redis, by the rules above. Throws MasterKeyError naming check values (never a key).
 */
export async function checkMasterKey(redis: Redis | Cluster, masterKey: Buffer, previous: Buffer | null = null): Promise<MasterKeys> {
  const mine = keyCheckValue(masterKey);
  const theirs = previous === null ? '' : keyCheckValue(previous);
  const [current, next, version, previousVersion, currentCheck, nextCheck] = (await RESOLVE.run(
    redis,
    [keys.masterKeys(), keys.masterKeyCheck()],
    [mine, theirs],
  )) as [number, number, number, number, string, string];
  const known = version === current || (version === next && next > 0 && previousVersion === current);
  if (!known) {
    const why =
      version > 0 && version < current
        ? `it is master key version ${version}, retired by a rotation to version ${current} (key check ${currentCheck})`
        : next > 0 && previousVersion === current
          ? `a rotation to another key is under way (version ${next}, key check ${nextCheck}; yours is ${mine})`
          : `it is not the one this Redis's terminal keys are sealed under (key check ${mine}, Redis has ${currentCheck}${next > 0 ? `, and ${nextCheck} being rotated to` : ''})`;
    throw new MasterKeyError(
      `${MASTER_KEY_ENV} is refused: ${why}. Check ${MASTER_KEY_ENV} (and ${PREVIOUS_MASTER_KEY_ENV} during a rotation), ` +
        'and do not run demo mode against a Redis holding a real network',
    );
  }
  if (previous !== null && (previousVersion === 0 || previousVersion >= version)) {
    throw new MasterKeyError(`${PREVIOUS_MASTER_KEY_ENV} (key check ${theirs}) is no earlier master key of this Redis`);
  }
  return new MasterKeys({ version, key: masterKey }, previous === null ? null : { version: previousVersion, key: previous });
}

/** The versions hash as it stands: current, next (0 for none), and each version's check value. */
export async function masterKeyVersions(redis: Redis | Cluster): Promise<{ current: number; next: number; checks: Record<string, string> }> {
  const hash = await redis.hgetall(keys.masterKeys());
  const checks: Record<string, string> = {};
  for (const [field, value] of Object.entries(hash)) if (/^\d+$/.test(field)) checks[field] = value;
  return { current: Number(hash.current ?? 0), next: Number(hash.next ?? 0), checks };
}

/**
 * Ends a rotation: `next` becomes current, once everything is sealed and MACed under it
 * (src/admin/master-key.ts). → 1, or 0 when `version` is not `next` (already finished, or none).
 */
const FINISH = new Script(`
if redis.call('HGET', KEYS[1], 'next') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'current', ARGV[1])
redis.call('HDEL', KEYS[1], 'next')
redis.call('SET', KEYS[2], redis.call('HGET', KEYS[1], ARGV[1]))
return 1
`);

export async function finishRotation(redis: Redis | Cluster, version: number): Promise<boolean> {
  return Number(await FINISH.run(redis, [keys.masterKeys(), keys.masterKeyCheck()], [version])) === 1;
}
