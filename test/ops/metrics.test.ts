/**
 * The gateway's metrics and its operations endpoint, scraped over HTTP as Prometheus does:
 * counters move, Redis commands are timed and their failures counted (single Redis and Cluster),
 * the store gauges read real Redis, and /ready answers what HAProxy checks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { MessageType, ResultCode } from '../../protocol/constants.js';
import { keys } from '../../src/store/keys.js';
import { createMetrics, instrumentRedis, startOpsServer, type Metrics, type OpsServer } from '../../src/metrics/index.js';
import { REDIS_BACKENDS, type RedisBackend } from '../helpers/cluster.js';

/** One series of a Prometheus text exposition: `name{a="x",b="y"} value`; undefined when absent. */
function valueOf(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v) && found.size === Object.keys(labels).length) {
      return Number(match[3]);
    }
  }
  return undefined;
}

async function get(server: OpsServer, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

describe('ops server', () => {
  let metrics: Metrics;
  let server: OpsServer;
  let ready = false;

  beforeAll(async () => {
    metrics = createMetrics();
    server = await startOpsServer({ port: 0, metrics, ready: () => ready });
  });
  afterAll(() => server?.close());

  it('serves /health while running and /ready as ready() says', async () => {
    expect((await get(server, '/health')).status).toBe(200);
    ready = false;
    expect((await get(server, '/ready')).status).toBe(503);
    ready = true;
    expect((await get(server, '/ready')).status).toBe(200);
    ready = false;
    expect((await get(server, '/ready')).status).toBe(503);
    expect((await get(server, '/health')).status).toBe(200);
    expect((await get(server, '/nothing')).status).toBe(404);
  });

  it('serves the Prometheus text exposition, and the counters move', async () => {
    const before = await get(server, '/metrics');
    expect(before.status).toBe(200);
    expect(before.type).toContain('text/plain');
    expect(valueOf(before.body, 'aircharge_connections')).toBe(0);
    expect(valueOf(before.body, 'aircharge_connections_closed_total', { reason: 'idle_timeout' })).toBe(0);
    expect(valueOf(before.body, 'aircharge_frames_total', { type: 'PAY', result: 'APPROVED' })).toBeUndefined();
    // Process metrics are on by default.
    expect(valueOf(before.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    metrics.connectionOpened();
    metrics.connectionOpened();
    metrics.connectionOpened();
    metrics.connectionClosed('idle_timeout');
    metrics.requestAnswered(MessageType.PAY, ResultCode.APPROVED, 0.012);
    metrics.requestAnswered(MessageType.PAY, ResultCode.APPROVED, 0.3, true);
    metrics.requestAnswered(MessageType.PAY, ResultCode.FLOAT_SHORT, 0.004);
    metrics.requestAnswered(0x42, ResultCode.UNSUPPORTED_TYPE, 0.0005);
    metrics.badFrame('ERR_CRC');
    metrics.recoveryRun({ completed: 2, rolledBack: 1 });

    const after = (await get(server, '/metrics')).body;
    expect(valueOf(after, 'aircharge_connections')).toBe(2);
    expect(valueOf(after, 'aircharge_connections_opened_total')).toBe(3);
    expect(valueOf(after, 'aircharge_connections_closed_total', { reason: 'idle_timeout' })).toBe(1);
    expect(valueOf(after, 'aircharge_connections_closed_total', { reason: 'drain' })).toBe(0);
    expect(valueOf(after, 'aircharge_frames_total', { type: 'PAY', result: 'APPROVED' })).toBe(2);
    expect(valueOf(after, 'aircharge_frames_total', { type: 'PAY', result: 'FLOAT_SHORT' })).toBe(1);
    expect(valueOf(after, 'aircharge_frames_total', { type: 'UNKNOWN', result: 'UNSUPPORTED_TYPE' })).toBe(1);
    expect(valueOf(after, 'aircharge_retransmissions_total', { type: 'PAY' })).toBe(1);
    expect(valueOf(after, 'aircharge_bad_frames_total', { code: 'ERR_CRC' })).toBe(1);
    expect(valueOf(after, 'aircharge_request_duration_seconds_count', { type: 'PAY' })).toBe(3);
    expect(valueOf(after, 'aircharge_request_duration_seconds_bucket', { type: 'PAY', le: '0.005' })).toBe(1);
    expect(valueOf(after, 'aircharge_request_duration_seconds_bucket', { type: 'PAY', le: '0.025' })).toBe(2);
    expect(valueOf(after, 'aircharge_request_duration_seconds_bucket', { type: 'PAY', le: '5' })).toBe(3);
    expect(valueOf(after, 'aircharge_recovery_runs_total')).toBe(1);
    expect(valueOf(after, 'aircharge_recovered_transactions_total', { outcome: 'completed' })).toBe(2);
    expect(valueOf(after, 'aircharge_recovered_transactions_total', { outcome: 'rolled_back' })).toBe(1);
  });

  it('keeps each Metrics in its own registry', async () => {
    const other = createMetrics({ processMetrics: false });
    const text = await other.scrape();
    expect(valueOf(text, 'aircharge_connections_opened_total')).toBe(0);
    expect(valueOf(text, 'process_cpu_user_seconds_total')).toBeUndefined();
  });
});

describe.each(REDIS_BACKENDS)('Redis metrics on $name', (backend) => {
  let redis: RedisBackend;
  const clients: Array<Redis | Cluster> = [];

  beforeAll(async () => {
    redis = await backend.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  });
  afterAll(() => redis?.stop());

  function client(): Redis | Cluster {
    const c = redis.client();
    clients.push(c);
    return c;
  }

  it('times each command once and counts the ones Redis refuses', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const redisClient = client();
    instrumentRedis(redisClient, metrics);
    instrumentRedis(redisClient, metrics); // a second call must not count twice

    await redisClient.set('{m.R1}:plain', 'text');
    for (const merchant of ['R1', 'R2', 'R3', 'R4']) await redisClient.hincrby(keys.merchant(merchant), 'floatFen', 5);
    await expect(redisClient.hincrby('{m.R1}:plain', 'floatFen', 1)).rejects.toThrow(/WRONGTYPE/);
    // A script run by SHA: the first call on each connection goes through NOSCRIPT and EVAL inside.
    redisClient.defineCommand('float', { numberOfKeys: 1, lua: "return redis.call('HGET', KEYS[1], 'floatFen')" });
    const scripted = redisClient as typeof redisClient & { float(key: string): Promise<string> };
    expect(await scripted.float(keys.merchant('R3'))).toBe('5');
    expect(await scripted.float(keys.merchant('R3'))).toBe('5');

    const text = await metrics.scrape();
    expect(valueOf(text, 'aircharge_redis_command_duration_seconds_count', { command: 'set' })).toBe(1);
    expect(valueOf(text, 'aircharge_redis_command_duration_seconds_count', { command: 'hincrby' })).toBe(5);
    expect(valueOf(text, 'aircharge_redis_errors_total', { kind: 'reply' })).toBe(1);
    expect(valueOf(text, 'aircharge_redis_errors_total', { kind: 'unavailable' })).toBe(0);
    const scriptCalls =
      (valueOf(text, 'aircharge_redis_command_duration_seconds_count', { command: 'evalsha' }) ?? 0) +
      (valueOf(text, 'aircharge_redis_command_duration_seconds_count', { command: 'eval' }) ?? 0);
    expect(scriptCalls).toBeGreaterThanOrEqual(2);
  });

  it('counts a command that gets no answer as unavailable', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const redisClient = client();
    instrumentRedis(redisClient, metrics);
    await redisClient.ping();
    redisClient.disconnect();
    await expect(redisClient.get('{m.R1}:plain')).rejects.toThrow();
    expect(valueOf(await metrics.scrape(), 'aircharge_redis_errors_total', { kind: 'unavailable' })).toBe(1);
  });

  it('reads pending transactions, low floats and top-ups from the store at each tick, not at each scrape', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const redisClient = client();
    const now = Date.now();
    // The low-float warning state as the float change leaves it (`lowFloat`, with hysteresis): the
    // gauge counts that, not the floats; G2's float is under any threshold yet it has not entered.
    const merchants = { G1: ['active', 50_000, ''], G2: ['active', 900, ''], G3: ['disabled', 0, '1'], G4: ['active', 40_000, '1'] } as const;
    for (const [id, [status, floatFen, lowFloat]] of Object.entries(merchants)) {
      await redisClient.sadd(keys.merchants(), id);
      await redisClient.hset(keys.merchant(id), { id, status, floatFen, ...(lowFloat ? { lowFloat } : {}) });
    }
    // Collectors: the near-cash-limit state (`cashNear`) is what counts, not the cash against the limit.
    await redisClient.sadd(keys.merchants(), 'K1', 'K2');
    await redisClient.hset(keys.merchant('K1'), { id: 'K1', status: 'active', kind: 'collector', cashFen: 85_000, cashLimitFen: 100_000, cashNear: '1' });
    await redisClient.hset(keys.merchant('K2'), { id: 'K2', status: 'active', kind: 'collector', cashFen: 95_000, cashLimitFen: 100_000 });
    await redisClient.zadd(keys.pending('G1'), now - 30_000, 'T00000010000000001', now - 1_000, 'T00000010000000002');
    await redisClient.zadd(keys.pending('G3'), now - 2_000, 'T00000030000000001');

    await redisClient.hset(keys.topUpStats(), { count: 7, fen: 123_456 });

    const fleet = metrics.watchFleet(redisClient, { instanceId: 'gw-a', intervalMs: 60_000 });
    try {
      await fleet.tick();
      let text = await metrics.scrape();
      expect(valueOf(text, 'aircharge_fleet_lease_held')).toBe(1);
      expect(valueOf(text, 'aircharge_pending_transactions')).toBe(3);
      expect(valueOf(text, 'aircharge_merchants_low_float')).toBe(2); // G3, G4: what `merchant list --low-float` lists
      expect(valueOf(text, 'aircharge_collectors_near_cash_limit')).toBe(1); // K1: what `merchant list --near-cash-limit` lists
      const oldest = valueOf(text, 'aircharge_oldest_pending_transaction_seconds') ?? 0;
      expect(oldest).toBeGreaterThanOrEqual(30);
      expect(oldest).toBeLessThan(300);
      expect(valueOf(text, 'aircharge_topups_total')).toBe(7);
      expect(valueOf(text, 'aircharge_topups_fen_total')).toBe(123_456);

      await redisClient.zrem(keys.pending('G1'), 'T00000010000000001', 'T00000010000000002');
      await redisClient.zrem(keys.pending('G3'), 'T00000030000000001');
      await redisClient.hdel(keys.merchant('G3'), 'lowFloat');
      await redisClient.hset(keys.merchant('K2'), 'cashNear', '1');
      // A scrape reads the last walk: nothing changes until the next tick.
      expect(valueOf(await metrics.scrape(), 'aircharge_pending_transactions')).toBe(3);
      await fleet.tick();
      text = await metrics.scrape();
      expect(valueOf(text, 'aircharge_pending_transactions')).toBe(0);
      expect(valueOf(text, 'aircharge_oldest_pending_transaction_seconds')).toBe(0);
      expect(valueOf(text, 'aircharge_merchants_low_float')).toBe(1);
      expect(valueOf(text, 'aircharge_collectors_near_cash_limit')).toBe(2);
    } finally {
      fleet.stop();
    }
  });

  it('exports the fleet gauges from one instance only, and another takes over when it stops', async () => {
    const redisClient = client();
    // The previous test's merchants and lease are still there: count on top of them, other instance ids.
    await redisClient.del(keys.fleetMetricsLease());
    await redisClient.sadd(keys.merchants(), 'H1');
    await redisClient.hset(keys.merchant('H1'), { id: 'H1', status: 'active', floatFen: 5, lowFloat: '1' });
    const low = 2; // H1, and G4 from the previous test
    const [a, b] = [createMetrics({ processMetrics: false }), createMetrics({ processMetrics: false })];
    // A short interval: the lease (three intervals) lapses quickly once its holder stops renewing.
    const options = { intervalMs: 200 };
    const fleetA = a.watchFleet(redisClient, { ...options, instanceId: 'gw-c' });
    await fleetA.tick();
    const fleetB = b.watchFleet(redisClient, { ...options, instanceId: 'gw-d' });
    try {
      await fleetB.tick();
      const [textA, textB] = [await a.scrape(), await b.scrape()];
      expect(valueOf(textA, 'aircharge_fleet_lease_held')).toBe(1);
      expect(valueOf(textA, 'aircharge_merchants_low_float')).toBe(low);
      expect(valueOf(textB, 'aircharge_fleet_lease_held')).toBe(0);
      expect(valueOf(textB, 'aircharge_merchants_low_float')).toBeUndefined();
      expect(valueOf(textB, 'aircharge_pending_transactions')).toBeUndefined();

      fleetA.stop();
      const deadline = Date.now() + 10_000;
      while (valueOf(await b.scrape(), 'aircharge_fleet_lease_held') !== 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(valueOf(await b.scrape(), 'aircharge_merchants_low_float')).toBe(low);
    } finally {
      fleetA.stop();
      fleetB.stop();
    }
  });

  it('counts the terminals online and offline, and the online ones by the health of their last heartbeat, on the lease holder only', async () => {
    const redisClient = client();
    await redisClient.del(keys.fleetMetricsLease());
    await redisClient.sadd(keys.merchants(), 'F1');
    await redisClient.hset(keys.merchant('F1'), { id: 'F1', status: 'active', floatFen: 500_000 });
    // signal:power:battery:printer as the gateway stores a heartbeat (src/store/health.ts).
    const fleetOf = { FT000001: '6:2:23:3', FT000002: '18:1:100:1', FT000003: '25:1:255:5', FT000004: null, FT000005: '3:2:10:1' } as const;
    for (const [id, health] of Object.entries(fleetOf)) {
      await redisClient.sadd(keys.terminals('F1'), id);
      await redisClient.hset(keys.terminal('F1', id), { id, merchant: 'F1', status: 'active', ...(health === null ? {} : { health }) });
    }
    // Online: every one but FT000005 (its last report does not count: it is not connected).
    for (const id of ['FT000001', 'FT000002', 'FT000003', 'FT000004']) await redisClient.hset(keys.session('F1', id), { conn: `c-${id}`, instance: 'gw-x' });
    const [holder, other] = [createMetrics({ processMetrics: false }), createMetrics({ processMetrics: false })];
    const fleetA = holder.watchFleet(redisClient, { instanceId: 'gw-t1', intervalMs: 60_000 });
    const fleetB = other.watchFleet(redisClient, { instanceId: 'gw-t2', intervalMs: 60_000 });
    try {
      await fleetA.tick();
      await fleetB.tick();
      let text = await holder.scrape();
      expect(valueOf(text, 'aircharge_terminals', { state: 'online' })).toBe(4);
      expect(valueOf(text, 'aircharge_terminals', { state: 'offline' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_by_health', { signal: 'weak' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_by_health', { signal: 'ok' })).toBe(2);
      expect(valueOf(text, 'aircharge_terminals_by_health', { signal: 'unknown' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_by_printer', { printer: 'paper-out' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_by_printer', { printer: 'fault' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_by_printer', { printer: 'ok' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_by_printer', { printer: 'unknown' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_on_battery')).toBe(1);
      // The other instance exports none of it.
      const otherText = await other.scrape();
      expect(valueOf(otherText, 'aircharge_fleet_lease_held')).toBe(0);
      expect(valueOf(otherText, 'aircharge_terminals', { state: 'online' })).toBeUndefined();
      expect(valueOf(otherText, 'aircharge_terminals_by_health', { signal: 'weak' })).toBeUndefined();

      // FT000001 disconnects and FT000002 runs out of paper: seen at the next walk, not at a scrape.
      await redisClient.del(keys.session('F1', 'FT000001'));
      await redisClient.hset(keys.terminal('F1', 'FT000002'), 'health', '18:1:100:3');
      expect(valueOf(await holder.scrape(), 'aircharge_terminals', { state: 'online' })).toBe(4);
      await fleetA.tick();
      text = await holder.scrape();
      expect(valueOf(text, 'aircharge_terminals', { state: 'online' })).toBe(3);
      expect(valueOf(text, 'aircharge_terminals', { state: 'offline' })).toBe(2);
      expect(valueOf(text, 'aircharge_terminals_by_health', { signal: 'weak' })).toBe(0);
      expect(valueOf(text, 'aircharge_terminals_by_printer', { printer: 'paper-out' })).toBe(1);
      expect(valueOf(text, 'aircharge_terminals_on_battery')).toBe(0);
    } finally {
      fleetA.stop();
      fleetB.stop();
    }
  });
});
