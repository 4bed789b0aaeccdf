/**
 * `aircharge serve` options as a process: /ready follows Redis (503 while it does not answer,
 * 200 when it is back), the business-day cut-off and time zone reach the core and the gateway,
 * and a bad value exits 2 naming the flag or variable.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/index.js';
import { createAdmin } from '../../src/admin/index.js';
import { businessDayOf, createCore } from '../../src/core/index.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { TestTerminal } from '../helpers/terminal.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const MASTER_KEY = randomBytes(32);
const env = { ...process.env, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex') };

let redis: RedisProcess;
let terminalKey: Buffer;

beforeAll(async () => {
  redis = await startRedis();
  const client = redis.client();
  const admin = createAdmin({ redis: client, masterKey: MASTER_KEY, operator: 'test' });
  await admin.addMerchant('opt-shop', 'Shop');
  await admin.topUp('opt-shop', 100_000);
  await admin.importAccounts('account,name,bill_id,period,amount,issue_date,status\n1234567890,Li Si,B1,202609,50.00,2026-09-05,open\n');
  terminalKey = Buffer.from((await admin.addTerminal('OPTS0001', 'opt-shop')).key, 'hex');
  await admin.addTerminal('OPTS0002', 'opt-shop');

  // A payment a crashed gateway left half-done 3 s ago: past a 2 s --recovery-after, not the 10 s default.
  const { sessions, core } = await createCore({ redis: client, masterKey: MASTER_KEY });
  const then = Date.now() - 3_000;
  const crashed = { terminalId: 'OPTS0002', merchantId: 'opt-shop', connectionId: 'crashed-1' };
  await sessions.openSession({ ...crashed, seq: 1, instanceId: 'crashed', peer: 'test', now: then, ttlSec: 600, firmware: 'TEST-1' });
  const reserved = await core.steps.reservePay(
    { ...crashed, seq: 2, fingerprint: 'f'.repeat(64), now: then }, { account: '1234567890', amountFen: 500 });
  expect('pending' in reserved).toBe(true);
  client.disconnect();
});
afterAll(async () => {
  await redis?.stop();
});

interface Served {
  child: ChildProcess;
  /** The log line with this message, once logged. */
  logged(msg: string): Promise<Record<string, unknown>>;
}

function serve(args: string[]): Served {
  const child = spawn(process.execPath, [MAIN, 'serve', '--allow-unauthenticated-redis', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url,
    '--log-level', 'info', '--drain-timeout', '1', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiting.splice(0)) wake();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async logged(msg) {
      for (;;) {
        const line = lines.find((entry) => entry.msg === msg);
        if (line !== undefined) return line;
        const next = new Promise<void>((resolve) => waiting.push(resolve));
        await Promise.race([next, exited.then(() => { throw new Error(`serve exited before logging ${msg}`); })]);
      }
    },
  };
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Polls /ready until it answers `status`. */
async function readyBecomes(port: number, status: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await fetch(`http://127.0.0.1:${port}/ready`)).status;
    if (last === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/ready stayed ${last}, expected ${status}`);
}

describe('readiness follows Redis', () => {
  it('answers 503 while Redis is paused or stopped for longer than --unready-after, and 200 once it is back', async () => {
    const served = serve(['--metrics-port', '0', '--unready-after', '0.5', '--instance-id', 'ready-test']);
    try {
      await served.logged('listening');
      const port = (await served.logged('metrics listening')).port as number;
      await readyBecomes(port, 200);

      // Paused: the TCP connection stays open, only the answers stop.
      process.kill(redis.pid, 'SIGSTOP');
      try {
        await readyBecomes(port, 503);
      } finally {
        process.kill(redis.pid, 'SIGCONT');
      }
      await readyBecomes(port, 200);

      // Stopped and started again.
      await redis.stop({ keepData: true });
      await readyBecomes(port, 503);
      redis = await redis.restart();
      await readyBecomes(port, 200);
      expect((await served.logged('redis unreachable: not ready')).level).toBe(40);
    } finally {
      stop(served.child);
    }
  });
});

describe('recovery', () => {
  it('settles at start-up a transaction pending longer than --recovery-after', async () => {
    const served = serve(['--recovery-after', '2', '--instance-id', 'recovery-test']);
    try {
      await served.logged('listening');
      expect(await served.logged('recovered pending transactions')).toMatchObject({ completed: 1, rolledBack: 0 });
    } finally {
      stop(served.child);
    }
  });
});

describe('business day', () => {
  it('answers PAY with the business day of the configured cut-off and time zone', async () => {
    // A time zone in which it is now about noon, and a 06:00 cut-off: now is in the next date's day.
    const now = new Date();
    const utcOffset = 720 - (now.getUTCHours() * 60 + now.getUTCMinutes());
    const expected = businessDayOf(Date.now(), { cutoff: '06:00', utcOffsetMinutes: utcOffset });
    expect(expected).not.toBe(businessDayOf(Date.now(), { cutoff: '00:00', utcOffsetMinutes: utcOffset }));

    const served = serve(['--business-day-cutoff', '06:00', `--utc-offset=${utcOffset}`, '--instance-id', 'day-test']);
    try {
      const port = (await served.logged('listening')).port as number;
      const t = await TestTerminal.connect(port, 'OPTS0001', terminalKey, { seq: 100 });
      const signIn = await t.signIn();
      expect(signIn.response.result).toBe(ResultCode.APPROVED);
      expect(signIn.response.businessDay).toBe(expected);
      const paid = await t.request(MessageType.PAY, { account: '1234567890', amountFen: 100 });
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      expect(paid.response.businessDay).toBe(expected);
      t.cut();
    } finally {
      stop(served.child);
    }
  });

  it.each([
    [['--business-day-cutoff', '24:00'], /--business-day-cutoff: "24:00" is not valid; expected a local time HH:MM/],
    [['--utc-offset', 'east'], /--utc-offset: "east" is not valid; expected a whole number from -720 to 840/],
    [['--recovery-after', '0'], /--recovery-after: "0" is not valid; expected a number of seconds/],
    [['--unready-after', 'soon'], /--unready-after: "soon" is not valid/],
    [['--listen-backlog', '0'], /--listen-backlog: "0" is not valid; expected an integer from 1/],
    [['--max-payment', '0'], /--max-payment: "0" is not valid; expected an amount in yuan/],
    [['--max-payment', '1.234'], /--max-payment: "1.234" is not valid; expected an amount in yuan/],
    [['--replay-retention', '59'], /--replay-retention: "59" is not valid; expected an integer from 60/],
  ])('exits 2 on %j, naming the flag', (args, message) => {
    const run = spawnSync(process.execPath, [MAIN, 'serve', ...args], { env, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('admin report daily defaults to the business day of the configured rule, from flags or environment', () => {
    const now = new Date();
    const utcOffset = 720 - (now.getUTCHours() * 60 + now.getUTCMinutes());
    const day = String(businessDayOf(Date.now(), { cutoff: '06:00', utcOffsetMinutes: utcOffset }));
    const date = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`;
    const byFlag = spawnSync(process.execPath, [MAIN, 'report', 'daily', '--json', '--redis', redis.url,
      '--business-day-cutoff', '06:00', `--utc-offset=${utcOffset}`], { env, encoding: 'utf8', timeout: 10_000 });
    expect(byFlag.status).toBe(0);
    expect((JSON.parse(byFlag.stdout) as { date: string }).date).toBe(date);
    const byEnv = spawnSync(process.execPath, [MAIN, 'report', 'daily', '--json', '--redis', redis.url], {
      env: { ...env, AIRCHARGE_BUSINESS_DAY_CUTOFF: '06:00', AIRCHARGE_UTC_OFFSET: String(utcOffset) }, encoding: 'utf8', timeout: 10_000 });
    expect(byEnv.status).toBe(0);
    expect((JSON.parse(byEnv.stdout) as { date: string }).date).toBe(date);
  });

  it.each(['report daily', 'journal export', 'verify'])('admin %s refuses a bad cut-off, naming the flag', (command) => {
    const run = spawnSync(process.execPath, [MAIN, ...command.split(' '), '--redis', redis.url, '--business-day-cutoff', '6pm'],
      { env, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/--business-day-cutoff: "6pm" is not valid; expected a local time HH:MM/);
  });

  it('exits 2 on a bad AIRCHARGE_BUSINESS_DAY_CUTOFF, naming the variable', () => {
    const run = spawnSync(process.execPath, [MAIN, 'serve'], {
      env: { ...env, AIRCHARGE_BUSINESS_DAY_CUTOFF: '7am' }, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/AIRCHARGE_BUSINESS_DAY_CUTOFF: "7am" is not valid/);
  });
});

describe('payment limit', () => {
  it('declines a payment above --max-payment with AMOUNT_OVER_LIMIT and approves one at it', async () => {
    const served = serve(['--max-payment', '1.50', '--instance-id', 'limit-test']);
    try {
      const port = (await served.logged('listening')).port as number;
      const t = await TestTerminal.connect(port, 'OPTS0001', terminalKey, { seq: 1000 });
      expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
      const over = await t.request(MessageType.PAY, { account: '1234567890', amountFen: 151 });
      expect(over.response.result).toBe(ResultCode.AMOUNT_OVER_LIMIT);
      const at = await t.request(MessageType.PAY, { account: '1234567890', amountFen: 150 });
      expect(at.response.result).toBe(ResultCode.APPROVED);
      t.cut();
    } finally {
      stop(served.child);
    }
  });
});
