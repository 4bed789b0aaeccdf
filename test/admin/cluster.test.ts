/**
 * The operator API and CLI on a 3-master Redis Cluster: merchants whose hash tags land on
 * different masters, accounts import, top-ups, the core's payments, then report, journal and
 * verify (which scans every master for transactions) — the same scripts as on one Redis.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { createCore } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { randomBytes } from 'node:crypto';
import { checkMasterKey } from '../../src/store/key-check.js';
import { startRedisCluster, type RedisClusterProcess } from '../helpers/cluster.js';
import { MASTER_KEY, seedAccounts, seedMerchant, TerminalSession, type Network } from '../core/network.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const MERCHANTS = ['KA', 'KB', 'KC', 'KD'];

let cluster: RedisClusterProcess;
let redis: Cluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = cluster.client();
  admin = createAdmin({ redis, masterKey: MASTER_KEY, operator: 'test' });
  const { sessions, core } = await createCore({ redis, masterKey: MASTER_KEY });
  // TerminalSession drives the core as the gateway does; it needs only these parts of a network.
  const net = { redis, admin, sessions, core } as unknown as Network;
  for (const id of MERCHANTS) await seedMerchant(admin, id, 50_000, [`${id}000001`]);
  await seedAccounts(admin, [{ account: '8000000001', name: 'Cluster Holder', arrearsFen: 100_000 }]);
  for (const id of MERCHANTS) {
    const t = new TerminalSession(net, `${id}000001`, id);
    await t.signIn();
    const paid = await t.pay('8000000001', 3_000);
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    if (id === 'KA') expect((await t.correct(paid.response.receipt, '8000000001', 3_000)).response.result).toBe(ResultCode.APPROVED);
  }
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

function aircharge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex') };
    execFile(process.execPath, [MAIN, ...args, '--redis', cluster.url], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('on Redis Cluster', () => {
  it('keeps the merchants on more than one master', async () => {
    const holders = await Promise.all(
      MERCHANTS.map(async (id) => {
        const slot = Number(await redis.cluster('KEYSLOT', keys.merchant(id)));
        const counts = await Promise.all(redis.nodes('master').map((node) => node.cluster('COUNTKEYSINSLOT', slot)));
        return counts.findIndex((count) => Number(count) > 0);
      }),
    );
    expect(holders.every((h) => h >= 0)).toBe(true);
    expect(new Set(holders).size).toBeGreaterThan(1);
  });

  it('reports, exports and verifies', async () => {
    const report = await admin.dailyReport(admin.businessDay());
    expect(report.total).toMatchObject({ outlets: 4, payments: { count: 4, amountFen: 12_000 }, corrections: { count: 1, amountFen: 3_000 }, netFen: 9_000 });
    expect((await admin.exportJournal()).filter((e) => e.kind === 'pay')).toHaveLength(4);
    const verified = await admin.verify();
    expect(verified.discrepancies).toEqual([]);
    expect(verified).toMatchObject({ ok: true, unchecked: [], checked: { merchants: 4, transactions: 5, postings: 5 } });
  });

  it('catches a corrupted float, and the CLI takes a redis+cluster:// URL', async () => {
    await redis.hincrby(keys.merchant('KC'), 'floatFen', 1);
    const [run, shown] = await Promise.all([aircharge(['verify']), aircharge(['merchant', 'show', 'KC', '--json'])]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^ {2}merchant KC: float is 470\.01 but .* = 470\.00$/m);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: 'KC', floatFen: 47_001 });
    await redis.hincrby(keys.merchant('KC'), 'floatFen', -1);
    expect((await admin.verify()).ok).toBe(true);
  });

  it('rotates the master key: the key check, the re-seals and the journals each in one slot; rotate-key journaled in its merchant slot', async () => {
    expect((await checkMasterKey(redis, MASTER_KEY)).current.version).toBe(1);
    await admin.rotateTerminalKey('KB000001');
    const NEW = randomBytes(32);
    const both = await checkMasterKey(redis, NEW, MASTER_KEY);
    expect(both.current.version).toBe(2);
    expect(await createAdmin({ redis, masterKey: both, operator: 'test' }).rotateMasterKey()).toMatchObject({
      finished: true,
      terminals: { resealed: 4 },
      accounts: { resealed: 1 },
      journals: { marked: 4 },
    });
    await expect(checkMasterKey(redis, MASTER_KEY)).rejects.toThrow(/retired by a rotation to version 2/);
    const newOnly = createAdmin({ redis, masterKey: await checkMasterKey(redis, NEW), operator: 'test' });
    expect((await newOnly.verify()).discrepancies).toEqual([]);
  });
});
