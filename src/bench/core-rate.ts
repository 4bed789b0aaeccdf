/**
 * Payments through the transaction core alone (no TCP, no frames): the core-only rate that
 * bench:core reports and that the end-to-end load test divides its own rate by, measured in the
 * same run against the same Redis.
 *
 *   const { perSec, p99Ms } = await measureCoreRate({ redisUrl, concurrency: 200, seconds: 3 });
 *
 * Each of `concurrency` terminals keeps one payment in flight, as firmware does. The network it
 * pays through is its own: a merchant `core-rate-<tag>` with its terminals and accounts under a
 * random tag that collides with nothing already in that Redis. It is left in place afterwards
 * (its books balance like any other merchant's, so `aircharge verify` passes when the network's
 * master key is given: the journal entries are MACed under it; a random one otherwise).
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { MessageType, ResultCode } from '../../protocol/constants.js';
import { encodePayload, requestFingerprint } from '../../protocol/index.js';
import type { PayRequest } from '../../protocol/messages.js';
import { createAdmin, type Admin } from '../admin/index.js';
import { connectRedis } from '../cli/redis.js';
import { createCore, type RedisTransactionCore, type RequestContext } from '../core/index.js';
import { keys } from '../store/keys.js';

/** Every payment is ¥1.00: accounts and float hold enough for hours of them. */
export const BENCH_AMOUNT_FEN = 100;
const ARREARS_YUAN = '40000000.00';
const FLOAT_FEN = 4_000_000_000;
const MAX_TERMINALS = 10_000;

export interface BenchTerminal {
  terminalId: string;
  merchantId: string;
  connectionId: string;
  seq: number;
  req: PayRequest;
  /** The request's fingerprint: the same payload every time, so computed once. */
  fingerprint: string;
}

export interface BenchNetwork {
  admin: Admin;
  core: RedisTransactionCore;
  merchantId: string;
  terminals: BenchTerminal[];
}

/**
 * A merchant with a float, `count` signed-in terminals and one account per terminal, under a tag
 * none of whose terminal ids or accounts exist yet (an import would overwrite an account).
 */
export async function seedBenchNetwork(redis: Redis | Cluster, count: number, masterKey: Buffer = randomBytes(32)): Promise<BenchNetwork> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_TERMINALS) {
    throw new RangeError(`between 1 and ${MAX_TERMINALS} terminals, not ${count}`);
  }
  const admin = createAdmin({ redis, masterKey, operator: 'bench' });
  const { sessions, core } = await createCore({ redis, masterKey });
  const ids = await freeIds(redis, count);
  const merchantId = `core-rate-${ids.tag}`;
  await admin.addMerchant(merchantId, 'Benchmark shop');
  await admin.topUp(merchantId, FLOAT_FEN);
  const terminals: BenchTerminal[] = [];
  const rows = ['account,name,bill_id,period,amount,issue_date,status'];
  for (let i = 0; i < count; i += 1) {
    const terminalId = ids.terminal(i);
    const account = ids.account(i);
    rows.push(`${account},Holder ${i},B1,202609,${ARREARS_YUAN},2026-09-05,open`);
    await admin.addTerminal(terminalId, merchantId);
    const connectionId = `bench-${ids.tag}-${i}`;
    await sessions.openSession({
      terminalId, merchantId, seq: 1, connectionId, instanceId: 'bench',
      peer: 'bench', now: Date.now(), ttlSec: 3600, firmware: 'BENCH',
    });
    const req = { account, amountFen: BENCH_AMOUNT_FEN };
    const fingerprint = requestFingerprint(MessageType.PAY, encodePayload(MessageType.PAY, req));
    terminals.push({ terminalId, merchantId, connectionId, seq: 1, req, fingerprint });
  }
  await admin.importAccounts(rows.join('\n') + '\n');
  return { admin, core, merchantId, terminals };
}

/** Terminal ids `K<tag><index>` and accounts `8<tag digits><index>`, none of them taken. */
async function freeIds(redis: Redis | Cluster, count: number) {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const n = randomBytes(4).readUInt32BE() % 46_656; // three base-36 digits
    const tag = n.toString(36).toUpperCase().padStart(3, '0');
    const digits = String(n).padStart(5, '0');
    const ids = {
      tag,
      terminal: (i: number) => `K${tag}${String(i).padStart(4, '0')}`,
      account: (i: number) => `8${digits}${String(i).padStart(4, '0')}`,
    };
    const taken = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        Promise.all([redis.exists(keys.terminalMerchant(ids.terminal(i))), redis.exists(keys.account(ids.account(i)))]),
      ),
    );
    if (taken.every(([t, a]) => t === 0 && a === 0)) return ids;
  }
  throw new Error('no free benchmark tag after 20 tries');
}

/** The next request's context: a new sequence number, stamped now. */
export function nextContext(terminal: BenchTerminal): RequestContext {
  terminal.seq += 1;
  return {
    terminalId: terminal.terminalId,
    merchantId: terminal.merchantId,
    connectionId: terminal.connectionId,
    seq: terminal.seq,
    fingerprint: terminal.fingerprint,
    now: Date.now(),
  };
}

/** One approved payment, or an error. */
export async function benchPay(core: RedisTransactionCore, terminal: BenchTerminal): Promise<void> {
  const { response } = await core.pay(nextContext(terminal), terminal.req);
  if (response.result !== ResultCode.APPROVED) throw new Error(`payment not approved: ${JSON.stringify(response)}`);
}

export interface LoopFigures {
  ops: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `concurrency` loops of `op`, each waiting for its last call, until `seconds` are up. */
export async function runLoops(concurrency: number, seconds: number, op: (worker: number) => Promise<void>): Promise<LoopFigures> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await op(worker);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((x, y) => x - y);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0, 3);
  return { ops: latencies.length, perSec: round(latencies.length / elapsed, 0), p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The core-only rate against the Redis at `redisUrl` (redis:// or redis+cluster://, as `aircharge
 * serve --redis` takes it), on a client of its own configured as `serve` configures its own:
 * approved payments per second with `concurrency` in flight, after one warm-up payment each.
 */
export async function measureCoreRate(options: {
  redisUrl: string;
  concurrency: number;
  seconds: number;
  /** The network's master key, so that verify accepts the journal entries; default a random one. */
  masterKey?: Buffer;
}): Promise<{ perSec: number; p50Ms: number; p99Ms: number; payments: number }> {
  const redis = connectRedis(options.redisUrl);
  try {
    const { core, terminals } = await seedBenchNetwork(redis, options.concurrency, options.masterKey);
    await Promise.all(terminals.map((t) => benchPay(core, t)));
    const figures = await runLoops(options.concurrency, options.seconds, (worker) => benchPay(core, terminals[worker]!));
    return { perSec: figures.perSec, p50Ms: figures.p50Ms, p99Ms: figures.p99Ms, payments: figures.ops };
  } finally {
    redis.disconnect();
  }
}
