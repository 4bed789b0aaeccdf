/**
 * A Lua script called by SHA (EVALSHA), loaded on first use: after a Redis restart or on a
 * cluster node that has not seen it yet, NOSCRIPT falls back to EVAL once, which caches it.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export class Script {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis | Cluster, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
