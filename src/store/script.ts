/**
 * A Lua script called by SHA (EVALSHA). Nothing has to be loaded up front: after a Redis restart,
 * or on a cluster node that has not seen the script yet, NOSCRIPT falls back to EVAL once, which
 * caches it, so the next call is an EVALSHA again. Every script receives all its keys in KEYS and
 * they share one hash tag, so Redis Cluster routes the call by its first key.
 */
import { createHash } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';

export class Script {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  run(redis: Redis | Cluster, keys: string[], args: Array<string | number>): Promise<unknown> {
    coalesceWrites(redis);
    return redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    });
  }
}

const corked = new WeakSet<object>();

/**
 * Calls made in the same turn of the event loop (the next steps of every payment whose
 * replies arrived together, the requests of every terminal heard in one poll) leave in one socket
 * write instead of one system call each: on loopback a write costs the sender the receiver's TCP
 * work too, and was the biggest single cost of a payment on the Node side. The socket is corked at
 * the first call and uncorked in the check phase of the same loop iteration, which never waits for
 * I/O, so no call is held back longer than the callbacks already queued ahead of it. A cluster's
 * node connections are left alone (each call goes to the node of its slot).
 */
export function coalesceWrites(redis: Redis | Cluster): void {
  if (!(redis instanceof Redis)) return;
  const stream = redis.stream;
  if (stream === undefined || corked.has(stream)) return;
  corked.add(stream);
  stream.cork();
  setImmediate(() => {
    corked.delete(stream);
    stream.uncork();
  });
}

/** Loads scripts ahead of their first call (start-up), on every master of a cluster. */
export async function preloadScripts(redis: Redis | Cluster, scripts: Script[]): Promise<void> {
  const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis as Redis];
  await Promise.all(nodes.flatMap((node) => scripts.map((script) => node.script('LOAD', script.lua))));
}
