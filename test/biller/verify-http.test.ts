/**
 * verify and reconcile with the billing system over HTTP, every part a real process: a redis-server,
 * `aircharge serve --biller URL` against the reference biller (`aircharge-sim biller`), payments
 * and a correction from `aircharge-sim` terminals, and the admin CLI. verify checks our side and
 * leaves the biller leg to `reconcile biller --fetch`, which fetches the day's postings file over
 * the API; an operator's reversal (`txn reverse`) is a reversal on our side there. Each break is
 * made on purpose: a posting made at the biller only, a reversal at the biller only, a reversal
 * missing from the biller's file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type Admin, type BillerReconciliation, type VerifyResult } from '../../src/admin/index.js';
import { connectBiller, type ConnectedBiller } from '../../src/biller/connect.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { keys } from '../../src/store/keys.js';
import { SIM_BIN, startGateway, type GatewayService } from '../../simulator/processes.js';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { signed, startBillerFixture, type BillerFixture } from './fixture.js';

const DAY_MS = 86_400_000;

let fx: BillerFixture;
let redisProcess: RedisProcess;
let redis: Redis;
let gateway: GatewayService;
let admin: Admin;
let dir: string;
let key = '';
let day = 0;
const receipts: string[] = [];
let correction = '';

const aircharge = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
  runAircharge(args, { REDIS_URL: redisProcess.url, AIRCHARGE_UTC_OFFSET: '480', ...env });
/** The operator's environment pointing the tools at the gateway's biller. */
const billerEnv = () => ({ AIRCHARGE_BILLER_URL: fx.biller.url, AIRCHARGE_BILLER_SECRET_FILE: fx.secretFile });

function sim(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SIM_BIN, ...args, '--port', String(gateway.port), '--terminal', 'VHTP0001', '--key', key, '--state', join(dir, 'state'), '--json'],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

async function reconcile(args: string[], env: NodeJS.ProcessEnv = billerEnv()): Promise<{ code: number; result: BillerReconciliation }> {
  const run = await aircharge(['reconcile', 'biller', ...args, '--json'], env);
  expect(run.stderr).not.toMatch(/aircharge: /);
  return { code: run.code, result: JSON.parse(run.stdout) as BillerReconciliation };
}
const breaksOf = (r: BillerReconciliation) => r.lines.filter((l) => l.status !== 'matched').map((l) => [l.status, l.receipt]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ac-verify-http-'));
  fx = await startBillerFixture();
  redisProcess = await startRedis();
  redis = redisProcess.client();
  admin = createAdmin({ redis, masterKey: DEMO_MASTER_KEY, operator: 'test' });
  await admin.addMerchant('VH1', 'Shop VH1');
  await admin.topUp('VH1', 1_000_000);
  key = (await admin.addTerminal('VHTP0001', 'VH1')).key;
  gateway = await startGateway({
    redisUrl: redisProcess.url,
    logFile: join(dir, 'gateway.log'),
    args: ['--biller', fx.biller.url, '--biller-secret-file', fx.secretFile, '--log-level', 'warn', '--max-connections-per-address', '0'],
  });
  for (const [account, amount] of [['1000000001', '35.50'], ['1000000002', '10.00'], ['1000000001', '20.00']] as const) {
    const run = await sim(['pay', account, amount]);
    expect(run.code, run.stderr).toBe(0);
    receipts.push(JSON.parse(run.stdout).receipt);
  }
  const corrected = await sim(['correct', receipts[2]!]);
  expect(corrected.code, corrected.stderr).toBe(0);
  correction = JSON.parse(corrected.stdout).receipt;
  day = admin.businessDay();
}, 120_000);
afterAll(async () => {
  await gateway?.stop(5_000);
  redis?.disconnect();
  await redisProcess?.stop();
  await fx?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verify and reconcile with the biller over HTTP', { timeout: 120_000 }, () => {
  it('verify passes with no --biller: the gateway marked the store, our side is checked and the biller leg named, never a false break', async () => {
    expect(await redis.hget(keys.billerHttp(), 'url')).toBe(`${fx.biller.url}/`);
    // The embedded biller holds nothing: every posting is at the reference biller.
    expect(await redis.exists(keys.billerDay(day))).toBe(0);
    const run = await aircharge(['verify', '--demo', '--json']);
    const result = JSON.parse(run.stdout) as VerifyResult;
    expect(result.discrepancies).toEqual([]);
    expect(run.code).toBe(0);
    expect(result.biller).toEqual({ mode: 'http', url: `${fx.biller.url}/`, atBiller: 4, reconcileDays: [day] });
    expect(result.billerQueue).toMatchObject({ queued: [], failed: [] });
    const text = await aircharge(['verify', '--demo']);
    expect(text.stdout).toContain(`aircharge reconcile biller --fetch --day ${day}`);
  });

  it('verify still finds a break on our side with an HTTP biller: a float changed in Redis', async () => {
    await redis.hincrby(keys.merchant('VH1'), 'floatFen', -1);
    try {
      const run = await aircharge(['verify', '--demo', '--json'], billerEnv());
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stdout) as VerifyResult).discrepancies).toEqual([expect.stringMatching(/^merchant VH1: float is/)]);
    } finally {
      await redis.hincrby(keys.merchant('VH1'), 'floatFen', 1);
    }
  });

  it('reconcile --fetch takes the day from the billing system over the API: all matched', async () => {
    const { code, result } = await reconcile(['--day', String(day), '--fetch']);
    expect(breaksOf(result)).toEqual([]);
    expect(code).toBe(0);
    expect(result.matched).toBe(4);
    expect(result.biller.reversals).toEqual({ count: 1, amountFen: 2_000 });
    // Without --biller, --fetch asks the embedded biller, which has none of them: every one missing there.
    const embedded = await reconcile(['--day', String(day), '--fetch'], {});
    expect(embedded.code).toBe(1);
    expect(embedded.result.byKind.missing_at_biller).toBe(3);
  });

  it("an operator's reversal is a reversal here: matched when the biller has it, reversed_one_side when its file does not", async () => {
    // A day later (the payment's day closed), through the same HTTP biller the CLI would use.
    const connected: ConnectedBiller = connectBiller({
      url: fx.biller.url, secretFile: fx.secretFile, auth: 'hmac', caFile: undefined, timeoutMs: 2_000, breakerThreshold: 5, breakerCooldownMs: 1_000,
    });
    try {
      const later = createAdmin({ redis, masterKey: DEMO_MASTER_KEY, operator: 'ops', biller: connected.biller, now: () => Date.now() + DAY_MS });
      const reversed = await later.reverseTxn(receipts[0]!, { reason: 'complaint settled', ticket: 'T-1' });
      expect(reversed.state).toBe('complete');
      const next = later.businessDay();
      const fetched = await reconcile(['--day', String(next), '--fetch']);
      expect(breaksOf(fetched.result)).toEqual([]);
      expect(fetched.result.here.reversals).toEqual({ count: 1, amountFen: 3_550 });
      expect(fetched.code).toBe(0);

      // The biller's file of that day without the reversal: reversed here only.
      const file = (await signed(fx.biller.url, 'GET', `/v1/postings?day=${next}`)).text;
      const path = join(dir, 'no-reversal.csv');
      writeFileSync(path, `${file.split('\n')[0]}\n`);
      const edited = await reconcile(['--day', String(next), '--file', path]);
      expect(breaksOf(edited.result)).toEqual([['reversed_one_side', `${receipts[0]}-R`]]);
      expect(edited.code).toBe(1);
    } finally {
      await connected.pool.close();
    }
  });

  it('finds what was booked at the biller only: a payment (missing_here) and a reversal (reversed_one_side)', async () => {
    const atBiller = (receipt: string, body: object) => signed(fx.biller.url, 'PUT', `/v1/postings/${receipt}`, JSON.stringify({ ...body, at: Date.now(), day }));
    const stray = 'VHTP00010000009001';
    expect((await atBiller(stray, { kind: 'payment', account: '1000000003', amountFen: 700 })).status).toBe(201);
    expect((await atBiller(`${receipts[1]}-X`, { kind: 'reversal', account: '1000000002', amountFen: 1_000, original: receipts[1] })).status).toBe(201);
    const { code, result } = await reconcile(['--day', String(day), '--fetch']);
    expect(breaksOf(result).sort()).toEqual([['missing_here', stray], ['reversed_one_side', `${receipts[1]}-X`]]);
    expect(result.matched).toBe(4);
    expect(code).toBe(1);
    expect(correction).not.toBe('');
  });
});
