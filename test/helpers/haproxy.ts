/**
 * A real HAProxy for the tests (simulator/scale/haproxy.ts runs it): the shipped configuration for
 * the given gateways, with its frontend and stats page on free ports, stopped by `stop()`.
 */
import type { HaproxyOptions } from '../../src/ops/haproxy.js';
import { runHaproxy, type HaproxyProcess } from '../../simulator/scale/haproxy.js';
import { freePort } from './redis.js';

export type { HaproxyProcess };

export type HaproxyTestOptions = Omit<HaproxyOptions, 'bind' | 'stats' | 'adminSocket'>;

export async function startHaproxy(options: HaproxyTestOptions): Promise<HaproxyProcess> {
  return runHaproxy({
    // maxconn sizes HAProxy's file-descriptor limit (two per connection); keep it under the
    // test machine's ulimit unless a test asks for more.
    maxConnections: 1_000,
    ...options,
    bind: { host: '127.0.0.1', port: await freePort() },
    stats: { host: '127.0.0.1', port: await freePort() },
  });
}
