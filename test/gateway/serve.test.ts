/**
 * `aircharge serve` as a process: configuration errors exit 2 with a clear message; a running
 * gateway logs "listening", serves a terminal, counts it in its metrics, logs one line per request
 * without any key or MAC, and drains on SIGTERM (NOTICE SHUTTING_DOWN, exit 0).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, NoticeReason, ResultCode, decodePayload } from '../../protocol/index.js';
import { createAdmin } from '../../src/admin/index.js';
import { createCore } from '../../src/core/index.js';
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
  await admin.addMerchant('serve-shop', 'Shop');
  await admin.topUp('serve-shop', 100_000);
  await admin.importAccounts('account,name,bill_id,period,amount,issue_date,status\n1234567890,Li Si,B1,202609,50.00,2026-09-05,open\n');
  terminalKey = Buffer.from((await admin.addTerminal('SERVE001', 'serve-shop')).key, 'hex');

  // A payment a crashed gateway left half-done a minute ago: reserved, never completed.
  const { sessions, core } = await createCore({ redis: client, masterKey: MASTER_KEY });
  const then = Date.now() - 60_000;
  const crashed = { terminalId: 'SERVE001', merchantId: 'serve-shop', connectionId: 'crashed-1' };
  await sessions.openSession({ ...crashed, seq: 1, instanceId: 'crashed', peer: 'test', now: then, ttlSec: 600, firmware: 'TEST-1' });
  const reserved = await core.steps.reservePay(
    { ...crashed, seq: 2, fingerprint: 'f'.repeat(64), now: then }, { account: '1234567890', amountFen: 500 });
  expect('pending' in reserved).toBe(true);
  client.disconnect();
});
afterAll(async () => {
  await redis?.stop();
});

describe('aircharge serve: configuration', () => {
  it.each([
    [['--port', 'seventy'], /--port: "seventy" is not valid; expected an integer from 0 to 65535/],
    [['--redis', 'http://x'], /--redis: .*redis:\/\//],
    // ioredis read tls:// as plain-text redis://: refused, and the password is not echoed.
    [['--redis', 'tls://u:hunter2@127.0.0.1:6379'], /^(?!.*hunter2)aircharge serve: --redis: .*rediss:\/\//],
    [['--heartbeat-interval', '60', '--idle-timeout', '30'], /--idle-timeout .* must be longer than --heartbeat-interval/],
    [['--log-level', 'loud'], /--log-level: "loud" is not valid; expected one of/],
  ])('exits 2 on %j', (args, message) => {
    const run = spawnSync(process.execPath, [MAIN, 'serve', ...args], { env, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('exits 2 on a bad environment value, naming the variable', () => {
    const run = spawnSync(process.execPath, [MAIN, 'serve'], { env: { ...env, AIRCHARGE_PORT: '70000' }, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/AIRCHARGE_PORT: "70000" is not valid/);
  });

  it('exits 2 without a master key unless --demo', () => {
    const { AIRCHARGE_MASTER_KEY: _unset, ...bare } = env;
    const run = spawnSync(process.execPath, [MAIN, 'serve', '--redis', redis.url], { env: bare, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/AIRCHARGE_MASTER_KEY is not set/);
  });
});

describe('aircharge serve: running', () => {
  it('recovers what a crash left pending, serves terminals, logs requests without secrets, and drains on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--allow-unauthenticated-redis', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url,
      '--instance-id', 'serve-test', '--log-level', 'debug', '--drain-timeout', '5', '--metrics-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Array<Record<string, unknown>> = [];
    const raw: string[] = [];
    const listening = new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        raw.push(line);
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'listening') resolve(entry.port as number);
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await listening;
      // Recovery ran before the gateway took terminals: the crashed payment is complete.
      const recovered = lines.findIndex((entry) => entry.msg === 'recovered pending transactions' && entry.completed === 1);
      expect(recovered).toBeGreaterThanOrEqual(0);
      expect(recovered).toBeLessThan(lines.findIndex((entry) => entry.msg === 'listening'));
      const t = await TestTerminal.connect(port, 'SERVE001', terminalKey, { seq: 2 });
      expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
      const paid = await t.request(MessageType.PAY, { account: '1234567890', amountFen: 1_000 });
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      expect(paid.response.floatFen).toBe(100_000 - 500 - 1_000);

      const metricsPort = lines.find((entry) => entry.msg === 'metrics listening')?.port as number;
      const ready = await fetch(`http://127.0.0.1:${metricsPort}/ready`);
      expect(ready.status).toBe(200);
      const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(scraped).toMatch(/aircharge_frames_total\{type="PAY",result="APPROVED"\} 1\b/);
      expect(scraped).toMatch(/aircharge_connections 1\b/);

      child.kill('SIGTERM');
      const frame = await t.read();
      expect(frame.type).toBe(MessageType.NOTICE);
      expect(decodePayload(MessageType.NOTICE, frame.payload).reason).toBe(NoticeReason.SHUTTING_DOWN);
      await t.closed;
      expect(await exited).toBe(0);

      const requestLine = lines.find((entry) => entry.msg === 'request' && entry.type === 'PAY');
      expect(requestLine).toMatchObject({ instance: 'serve-test', conn: expect.stringMatching(/^serve-test-/), peer: expect.stringMatching(/^127\.0\.0\.1:/),
        terminal: 'SERVE001', seq: paid.frame.seq, result: 'APPROVED', replayed: false });
      // Each line names the instance once, though the gateway, the core and the CLI all log.
      for (const line of raw) expect(line.split('"instance":').length, line).toBeLessThanOrEqual(2);
      expect(typeof requestLine?.ms).toBe('number');
      expect(lines.some((entry) => entry.msg === 'frame in' && String(entry.frame).includes('*'.repeat(16)))).toBe(true);
      // No key and no MAC, in any encoding a log could hold them.
      const log = raw.join('\n');
      for (const secret of [terminalKey, t.sessionKey!, paid.frame.mac]) {
        expect(log).not.toContain(secret.toString('hex'));
        expect(log).not.toContain(secret.toString('base64'));
      }
    } finally {
      stop(child);
    }
  });
});

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
