/**
 * The Redis client every `aircharge` command builds from `--redis URL` (or REDIS_URL); the URL
 * forms are in src/redis-url.ts.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from '../redis-url.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * `--redis` first, then REDIS_URL, then the local default, which is said on stderr: a forgotten
 * REDIS_URL must not silently point a command at whatever Redis runs on this host.
 */
export function redisUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, program = 'aircharge'): string {
  const given = flag ?? (env.REDIS_URL || undefined);
  if (given !== undefined) return given;
  warnDefaultRedis(program);
  return DEFAULT_REDIS_URL;
}

export function warnDefaultRedis(program: string): void {
  process.stderr.write(`${program}: no --redis and no REDIS_URL: using the default ${DEFAULT_REDIS_URL}\n`);
}

/**
 * `failFast`: a one-shot command (the admin CLI) gives up at the first connection failure instead
 * of retrying forever as a long-running gateway should.
 */
export function connectRedis(url: string, options: { failFast?: boolean } = {}): Redis | Cluster {
  const settings: RedisOptions = options.failFast
    ? // disconnectTimeout: a socket that never connected must not hold the process open for 2 s.
      { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000, disconnectTimeout: 100 }
    : {};
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis(target.url, settings);
  return new Cluster(target.nodes, {
    redisOptions: { ...settings, ...target.auth },
    ...(options.failFast ? { clusterRetryStrategy: () => null } : {}),
  });
}
