/**
 * `txn find --day` on a Redis Cluster: each merchant's terminals are merged by one script
 * (NEWEST_OF_TERMINALS in src/admin/lookup.ts) that names its terminals' index sets from the
 * terminal ids, keys it does not declare but which share the merchant's hash tag, hence its slot.
 * The index entries and records are written as the core's scripts write them.
 */
import { expect, it } from 'vitest';
import { createAdmin } from '../../src/admin/index.js';
import { keys } from '../../src/store/keys.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { startRedisCluster } from '../helpers/cluster.js';

it('finds and pages a day across merchants in different slots of a cluster', async () => {
  const cluster = await startRedisCluster();
  const client = cluster.client();
  try {
    const admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'x' });
    const t0 = Date.UTC(2026, 11, 3, 2, 0, 0);
    for (const m of ['MA', 'MB', 'MC']) {
      await admin.addMerchant(m, m);
      for (const n of [1, 2]) {
        const t = `${m}00000${n}`;
        await admin.addTerminal(t, m);
        const receipt = `${t}0000000001`;
        await client.zadd(keys.terminalTxns(m, t), t0 + n * 1000 + m.charCodeAt(1), receipt);
        await client.hset(keys.transaction(m, receipt), { receipt, kind: 'pay', state: 'complete', terminal: t, seq: 1, account: '1234567890', amountFen: 1, result: 0, businessDay: 20261203, createdAt: t0 });
      }
    }
    const page = await admin.findTxns({ day: 20261203, limit: 4 });
    // Newest first: terminal 2 of each merchant (1 s later), by merchant (its letter in the ms), then the terminals 1.
    expect(page.transactions.map((t) => t.receipt)).toEqual(['MC0000020000000001', 'MB0000020000000001', 'MA0000020000000001', 'MC0000010000000001']);
    const next = await admin.findTxns({ day: 20261203, limit: 4, cursor: page.cursor! });
    expect(next.transactions.map((t) => t.receipt)).toEqual(['MB0000010000000001', 'MA0000010000000001']);
    expect(next.cursor).toBeNull();
  } finally {
    client.disconnect();
    await cluster.stop();
  }
}, 60_000);
