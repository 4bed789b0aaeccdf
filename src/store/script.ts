/**
 * A Lua script called by SHA (EVALSHA). Nothing has to be loaded up front: after a Redis restart,
 * or on a cluster node that has not seen the script yet, NOSCRIPT falls back to EVAL once, which
 * caches it, so the next call is an EVALSHA again. Every script receives all its keys in KEYS and
 * they share one hash tag, so Redis Cluster routes the call by its first key.
 */
import { createHash } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { coalesceWrites } from '../coalesce-writes.js';

export class Script {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  run(redis: Redis | Cluster, keys: string[], args: Array<string | number>): Promise<unknown> {
    coalesceRedisWrites(redis);
    return redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    });
  }
}

/**
 * Holds the Redis connection's writes to the end of this event-loop turn (src/coalesce-writes.ts):
 * the next steps of every payment whose replies arrived together, the requests of every terminal
 * heard in one poll, leave in one socket write. A cluster's node connections are left alone
 * (each call goes to the node of its slot).
 */
export function coalesceRedisWrites(redis: Redis | Cluster): void {
  if (redis instanceof Redis && redis.stream !== undefined) coalesceWrites(redis.stream);
}

/** Loads scripts ahead of their first call (start-up), on every master of a cluster. */
export async function preloadScripts(redis: Redis | Cluster, scripts: Script[]): Promise<void> {
  const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis as Redis];
  await Promise.all(nodes.flatMap((node) => scripts.map((script) => node.script('LOAD', script.lua))));
}
