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

/**
 * True when the Redis at `url` answers a client that has not authenticated: then anyone who can
 * reach its port can rewrite floats and journals. Probed on a connection of its own without the
 * URL's credentials (for a cluster, its first node). False when it refuses (NOAUTH) or cannot be
 * reached (the caller's own connection reports that).
 */
export async function acceptsAnonymous(url: string): Promise<boolean> {
  const target = parseRedisUrl(url);
  const node =
    target.kind === 'single'
      ? (() => {
          const u = new URL(target.url);
          return { host: u.hostname, port: Number(u.port || 6379), ...(u.protocol === 'rediss:' ? { tls: {} } : {}) };
        })()
      : { ...target.nodes[0]!, ...(target.auth.tls === undefined ? {} : { tls: target.auth.tls }) };
  const probe = new Redis({ ...node, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
