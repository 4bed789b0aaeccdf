/**
 * Postings queued while the biller is down (--biller-down accept) in `aircharge verify` and
 * `aircharge report daily`, as processes: the core on a real redis-server posting over HTTP to the
 * reference biller process. verify lists each queued posting (receipt, account, amount, age) and
 * passes while it is younger than the queue's expiry; it fails on one queued past it, on a failed
 * posting, and on a queued transaction missing from its merchant's queue (it would never be sent).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import type { DailyReport, VerifyResult } from '../../src/admin/index.js';
import { billerPool, HttpBiller } from '../../src/biller/http-biller.js';
import { QUEUED_ARREARS } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { MASTER_KEY, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';
import { SECRET, signed, startBillerFixture, type BillerFixture } from './fixture.js';

const COOLDOWN_MS = 1_000;

let fx: BillerFixture;
let net: Network;
let biller: HttpBiller;
let pool: ReturnType<typeof billerPool>;

const aircharge = (args: string[]): Promise<CliRun> =>
  runAircharge(args, {
    REDIS_URL: net.redisProcess.url,
    AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex'),
    AIRCHARGE_BILLER_URL: fx.biller.url,
    AIRCHARGE_BILLER_SECRET: SECRET,
  });
async function verify(extra: string[] = []): Promise<{ code: number; result: VerifyResult; text: string }> {
  const json = await aircharge(['verify', '--json', ...extra]);
  const text = await aircharge(['verify', ...extra]);
  return { code: json.code, result: JSON.parse(json.stdout) as VerifyResult, text: text.stdout };
}

async function openBreaker() {
  await signed(fx.biller.url, 'PUT', '/v1/admin/faults', JSON.stringify({ errorRate: 1 }));
  for (let i = 0; i < 3 && biller.available(); i++) await biller.lookup('1000000001').catch(() => null);
  await signed(fx.biller.url, 'PUT', '/v1/admin/faults', JSON.stringify({ errorRate: 0 }));
  expect(biller.available()).toBe(false);
}

beforeAll(async () => {
  fx = await startBillerFixture();
  pool = billerPool(fx.biller.url);
  biller = new HttpBiller({ url: fx.biller.url, pool, secret: Buffer.from(SECRET), timeoutMs: 1_000, breakerThreshold: 3, breakerCooldownMs: COOLDOWN_MS });
  net = await startNetwork({ biller, billerDown: 'accept' });
  await seedMerchant(net.admin, 'QV1', 1_000_000, ['QVER0001']);
});
afterAll(async () => {
  await net?.stop();
  await pool?.close();
  await fx?.close();
});

describe('queued and failed postings in verify and the daily report', { timeout: 120_000 }, () => {
  let receipt = '';

  it('a posting queued within its expiry is listed with its age and verify passes; past the expiry verify fails', async () => {
    const t = new TerminalSession(net, 'QVER0001', 'QV1');
    await t.signIn();
    await openBreaker();
    const paid = await t.pay('1000000002', 700);
    expect(paid.response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: QUEUED_ARREARS });
    receipt = paid.response.receipt;

    const fresh = await verify();
    expect(fresh.result.discrepancies).toEqual([]);
    expect(fresh.code).toBe(0);
    expect(fresh.result.billerQueue.queued).toEqual([
      { receipt, merchantId: 'QV1', account: '1000000002', amountFen: 700, businessDay: net.admin.businessDay(), ageMs: expect.any(Number), failure: null },
    ]);
    expect(fresh.result.billerQueue.failed).toEqual([]);
    expect(fresh.text).toMatch(new RegExp(`biller queue: 1 queued, 0 failed[^\\n]*\\n  queued  ${receipt}  QV1  1000000002 +7\\.00  age \\d+ s`));

    await sleep(1_200);
    const stale = await verify(['--biller-queue-expiry', '1']);
    expect(stale.code).toBe(1);
    expect(stale.result.discrepancies).toEqual([expect.stringContaining(`payment ${receipt} of 7.00 on account 1000000002 has been queued for the biller`)]);

    const report = JSON.parse((await aircharge(['report', 'daily', '--format', 'json'])).stdout) as DailyReport;
    expect(report.billerQueue.queued.map((p) => [p.receipt, p.amountFen])).toEqual([[receipt, 700]]);
  });

  it('a queued transaction missing from its merchant queue is named: it would never be forwarded', async () => {
    const score = await net.redis.zscore(keys.billerQueue('QV1'), receipt);
    await net.redis.zrem(keys.billerQueue('QV1'), receipt);
    try {
      const { code, result } = await verify();
      expect(code).toBe(1);
      expect(result.discrepancies).toEqual([expect.stringContaining(`pay ${receipt} is queued for the biller but missing from merchant QV1's queued list`)]);
    } finally {
      await net.redis.zadd(keys.billerQueue('QV1'), score!, receipt);
    }
  });

  it('a failed posting fails verify and is listed in the daily report', async () => {
    await expect.poll(() => biller.available(), { timeout: COOLDOWN_MS * 4 }).toBe(true);
    expect(await net.core.forwardBillerQueue({ expiryMs: 1, maxTries: 3 }, Date.now())).toMatchObject({ failed: 1 });
    const { code, result, text } = await verify();
    expect(code).toBe(1);
    expect(result.billerQueue.failed).toEqual([expect.objectContaining({ receipt, amountFen: 700, failure: 'EXPIRED' })]);
    expect(result.discrepancies).toEqual([expect.stringContaining(`payment ${receipt} of 7.00 on account 1000000002 was approved but its posting failed (EXPIRED)`)]);
    expect(text).toMatch(new RegExp(`  failed  ${receipt}  QV1  1000000002 +7\\.00  age \\d+ s  EXPIRED`));
    const report = await aircharge(['report', 'daily']);
    expect(report.stdout).toMatch(/BILLER: 0 postings queued \(0\.00\), 1 failed \(7\.00\)/);
    expect(report.stdout).toContain(`failed  ${receipt}`);
  });

  it('biller retry puts a failed posting back in the queue, once; forwarded, it is booked and verify passes again', async () => {
    const floatBefore = (await net.admin.showMerchant('QV1')).floatFen;
    expect((await aircharge(['biller', 'retry', receipt, '--reason', 'billing back'])).code).toBe(1); // no operator
    const retried = await aircharge(['biller', 'retry', receipt, '--reason', 'billing department back, ticket 7', '--operator', 'ops', '--json']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ receipt, amountFen: 700, tries: 0, failure: null });
    const again = await aircharge(['biller', 'retry', receipt, '--reason', 'twice', '--operator', 'ops']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is queued, not failed/);
    // Queued afresh: within the expiry again, so verify passes while it waits.
    expect((await verify()).code).toBe(0);
    expect(await net.core.forwardBillerQueue({ expiryMs: 60_000, maxTries: 3 }, Date.now())).toMatchObject({ posted: 1, failed: 0 });
    expect((await signed(fx.biller.url, 'GET', `/v1/postings/${receipt}`)).json).toMatchObject({ status: 'booked', amountFen: 700 });
    const after = await verify();
    expect(after.result.discrepancies).toEqual([]);
    expect(after.code).toBe(0);
    expect((await net.admin.showMerchant('QV1')).floatFen).toBe(floatBefore);
    expect((await net.admin.listAudit({ action: 'biller.retry' })).map((e) => [e.target, e.operator])).toEqual([[receipt, 'ops']]);
  });
});
