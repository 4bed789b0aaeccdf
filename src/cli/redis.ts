/**
 * The Redis client every `aircharge` command builds from `--redis URL` (or REDIS_URL):
 *   redis://[:password@]host:port[/db]          a single Redis (rediss:// for TLS)
 *   redis+cluster://host:port,host:port,...     a Redis Cluster, from any of its nodes
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const CLUSTER_SCHEME = 'redis+cluster://';

/** `--redis` first, then REDIS_URL, then the local default. */
export function redisUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.REDIS_URL || DEFAULT_REDIS_URL);
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
  if (!url.startsWith(CLUSTER_SCHEME)) return new Redis(url, settings);
  const nodes = url
    .slice(CLUSTER_SCHEME.length)
    .split(',')
    .map((node) => {
      const [host = '', port = ''] = node.split(':');
      if (host === '' || !/^\d+$/.test(port)) throw new Error(`bad cluster node ${JSON.stringify(node)} in ${url}`);
      return { host, port: Number(port) };
    });
  return new Cluster(nodes, {
    redisOptions: settings,
    ...(options.failFast ? { clusterRetryStrategy: () => null } : {}),
  });
}
