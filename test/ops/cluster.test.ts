/**
 * The Redis Cluster the integration suites run on, and the tagging discipline that makes our Lua
 * scripts cluster-safe: every key a script touches carries one merchant's `{m.<id>}` hash tag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type Cluster } from 'ioredis';
import { keys } from '../../src/store/keys.js';
import { startRedisCluster, type RedisClusterProcess } from '../helpers/cluster.js';

// Debits a float, appends to the journal and records a pending receipt: the shape of a payment
// script, touching three keys of one merchant.
const DEBIT = `
local float = redis.call('HINCRBY', KEYS[1], 'floatFen', -tonumber(ARGV[1]))
redis.call('XADD', KEYS[2], '*', 'kind', 'pay', 'txn', ARGV[2], 'amountFen', ARGV[1], 'floatFen', float)
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return float
`;

describe('Redis Cluster helper', () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;
  /** CLUSTER SLOTS, one entry per slot range with the port of the master that owns it. */
  let ranges: Array<{ from: number; to: number; port: number }>;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = cluster.client();
    ranges = (await client.cluster('SLOTS')).map(([from, to, master]) => {
      if (!master) throw new Error('slot range without a master');
      return { from, to, port: master[1] };
    });
  });

  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  it('runs three masters that share all 16384 slots', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.url).toBe(`redis+cluster://${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`);
    const owners = new Set(ranges.map((r) => r.port));
    expect([...owners].sort()).toEqual(cluster.nodes.map((n) => n.port).sort());
    const covered = ranges.reduce((sum, r) => sum + (r.to - r.from + 1), 0);
    expect(covered).toBe(16384);
  });

  it('puts every key of one merchant in one slot, and spreads merchants over the masters', async () => {
    const merchantKeys = [
      keys.merchant('M1'),
      keys.terminals('M1'),
      keys.terminal('M1', 'T0000001'),
      keys.session('M1', 'T0000001'),
      keys.request('M1', 'T0000001', 7),
      keys.transaction('M1', 'T00000010000000007'),
      keys.pending('M1'),
      keys.journal('M1'),
      keys.day('M1', 20261127),
    ];
    const slots = await Promise.all(merchantKeys.map((k) => client.cluster('KEYSLOT', k)));
    expect(new Set(slots).size).toBe(1);

    const merchantSlots = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.cluster('KEYSLOT', keys.merchant(`M${i}`))),
    );
    const masters = new Set(merchantSlots.map((slot) => ownerOf(slot)));
    expect(masters.size).toBe(3);

    function ownerOf(slot: number): number {
      const range = ranges.find((r) => slot >= r.from && slot <= r.to);
      if (!range) throw new Error(`slot ${slot} unowned`);
      return range.port;
    }
  });

  it('runs a script over several keys of one merchant, on whichever master owns the merchant', async () => {
    for (const merchant of ['M1', 'M2', 'M3', 'M4', 'M5']) {
      await client.hset(keys.merchant(merchant), 'floatFen', 10_000);
      const float = await client.eval(DEBIT, 3,
        keys.merchant(merchant), keys.journal(merchant), keys.pending(merchant), 2_500, `R-${merchant}`);
      expect(float).toBe(7_500);
      expect(await client.xlen(keys.journal(merchant))).toBe(1);
      expect(await client.zscore(keys.pending(merchant), `R-${merchant}`)).toBe('0');
    }
  });

  it('runs a script loaded once and called by SHA on every master', async () => {
    client.defineCommand('debit', { numberOfKeys: 3, lua: DEBIT });
    const scripted = client as Cluster & { debit(...args: Array<string | number>): Promise<number> };
    for (const merchant of ['S1', 'S2', 'S3', 'S4', 'S5']) {
      await client.hset(keys.merchant(merchant), 'floatFen', 500);
      expect(await scripted.debit(keys.merchant(merchant), keys.journal(merchant), keys.pending(merchant), 200, 'R')).toBe(300);
      expect(await scripted.debit(keys.merchant(merchant), keys.journal(merchant), keys.pending(merchant), 200, 'R')).toBe(100);
    }
  });

  it('refuses a script whose keys carry two different tags (CROSSSLOT), touching nothing', async () => {
    // X1 and X2 hash to different slots (checked, so the refusal below is not luck).
    expect(await client.cluster('KEYSLOT', keys.merchant('X1'))).not.toBe(
      await client.cluster('KEYSLOT', keys.merchant('X2')),
    );
    await client.hset(keys.merchant('X1'), 'floatFen', 1_000);
    await expect(
      client.eval(DEBIT, 3, keys.merchant('X1'), keys.journal('X2'), keys.pending('X1'), 100, 'R-X'),
    ).rejects.toThrow(/CROSSSLOT/);
    expect(await client.hget(keys.merchant('X1'), 'floatFen')).toBe('1000');
    expect(await client.exists(keys.journal('X2'))).toBe(0);
    expect(await client.exists(keys.pending('X1'))).toBe(0);
  });
});

describe('Redis Cluster with replicas', () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 1000 });
    client = cluster.client();
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  /** The port of the master serving `key`'s slot, as a live node reports it. */
  async function masterPort(key: string, via: Redis): Promise<number> {
    const slot = await via.cluster('KEYSLOT', key);
    for (const [from, to, master] of await via.cluster('SLOTS')) {
      if (slot >= from && slot <= to && master) return master[1];
    }
    throw new Error(`slot ${slot} unowned`);
  }

  it('promotes a replica when a master dies, and the same client carries on with the same data', async () => {
    const key = keys.merchant('F1');
    await client.hset(key, 'floatFen', 4_200);
    const firstNode = cluster.nodes[0]!;
    const probe = new Redis({ ...firstNode, maxRetriesPerRequest: 1 });
    const oldMaster = await masterPort(key, probe);

    // Replication is asynchronous: wait until the replica has the write before killing the master.
    // CLUSTER NODES lines: <id> <host:port@bus> <flags> <master id or -> ...
    const nodeLines = ((await probe.cluster('NODES')) as string).split('\n').map((line) => line.split(' '));
    const masterId = nodeLines.find((f) => f[1]?.includes(`:${oldMaster}@`))?.[0];
    const replicaLine = nodeLines.find((f) => f[2]?.includes('slave') && f[3] === masterId);
    const replicaPort = Number(/:(\d+)@/.exec(replicaLine?.[1] ?? '')?.[1]);
    probe.disconnect();
    const replica = new Redis({ host: '127.0.0.1', port: replicaPort, maxRetriesPerRequest: 1 });
    await replica.readonly();
    while ((await replica.hget(key, 'floatFen')) !== '4200') await sleep(20);

    const victim = cluster.processes.find((p) => p.port === oldMaster)!;
    victim.process.kill('SIGKILL');

    // Until the failover, that slot is unavailable; the client retries until the replica serves it.
    for (;;) {
      try {
        if ((await masterPort(key, replica)) === replicaPort && (await client.hincrby(key, 'floatFen', -200)) === 4_000) break;
      } catch {
        // CLUSTERDOWN or connection refused while the cluster elects the replica
      }
      await sleep(100);
    }
    replica.disconnect();
    expect(await client.hget(key, 'floatFen')).toBe('4000');
    // Merchants on the other masters were never affected.
    await client.hset(keys.merchant('F2'), 'floatFen', 1);
    expect(await client.hget(keys.merchant('F2'), 'floatFen')).toBe('1');
  });
});
