/**
 * No secret in any log (DESIGN "Security", issue 6): a full flow with `aircharge serve` as a
 * process at --log-level debug and the admin CLI as processes — sign-in, inquiry, pay, correct,
 * a bad MAC, heartbeat, status, settle, key rotation and a sign-in with the new key — then every
 * line the gateway and the CLI wrote is searched for every secret in use: the master key, every
 * terminal key (before and after rotation), every session key, and the MAC of every frame sent
 * and received, each in hex (both cases), base64 and base64url.
 *
 * The one output excluded is the stdout of `terminal add --json` and `terminal rotate-key
 * --json`: printing the new key once is what those commands are for.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEALTH_UNKNOWN,
  MessageType,
  ResultCode,
  decodePayload,
  deriveSessionKey,
  encodePayload,
  type Frame,
  type MessageMap,
} from '../../protocol/index.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { TestTerminal, type SendOptions } from '../helpers/terminal.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const MASTER_KEY = randomBytes(32);
const ACCOUNT = '7000000001';

let redis: RedisProcess;
let dir: string;
let env: NodeJS.ProcessEnv;
/** Every line any process wrote that must hold no secret, with where it came from. */
const lines: Array<{ source: string; line: string }> = [];
/** Every secret in use during the run. */
const secrets: Array<{ name: string; bytes: Buffer }> = [{ name: 'master key', bytes: MASTER_KEY }];

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'aircharge-secrets-'));
  env = { ...process.env, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex'), REDIS_URL: redis.url, AIRCHARGE_OPERATOR: 'ops' };
});
afterAll(async () => {
  await redis?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Runs one admin command; its output joins the searched lines unless it prints a key by design. */
function cli(args: string[], options: { printsKey?: boolean } = {}): string {
  const run = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  expect(run.status, `aircharge ${args.join(' ')}: ${run.stderr}`).toBe(0);
  const source = `aircharge ${args.join(' ')}`;
  if (options.printsKey !== true) for (const line of run.stdout.split('\n')) lines.push({ source: `${source} (stdout)`, line });
  for (const line of run.stderr.split('\n')) lines.push({ source: `${source} (stderr)`, line });
  return run.stdout;
}

/** A terminal whose every frame's MAC, both ways, is recorded as a secret. */
class RecordedTerminal {
  private constructor(readonly t: TestTerminal) {}

  static async connect(port: number, terminalId: string, key: Buffer, seq: number): Promise<RecordedTerminal> {
    secrets.push({ name: `terminal key of ${terminalId} (${key.toString('hex').slice(0, 6)}…)`, bytes: key });
    return new RecordedTerminal(await TestTerminal.connect(port, terminalId, key, { seq }));
  }

  async exchange<T extends keyof MessageMap>(type: T, value: MessageMap[T], options: SendOptions = {}): Promise<Frame> {
    const bytes = this.t.encode(type, encodePayload(type, value), options);
    secrets.push({ name: `MAC of a sent frame type ${type}`, bytes: bytes.subarray(bytes.length - 10, bytes.length - 2) });
    this.t.sendRaw(bytes);
    const frame = await this.t.read();
    if (!frame.mac.equals(Buffer.alloc(8))) secrets.push({ name: `MAC of a received frame type ${frame.type}`, bytes: Buffer.from(frame.mac) });
    return frame;
  }

  async signIn(key: Buffer = this.t.key): Promise<number> {
    const nonce = randomBytes(16);
    const frame = await this.exchange(MessageType.SIGN_IN, { nonce, firmware: 'TEST-1.0' }, { macKey: key });
    const response = decodePayload(MessageType.SIGN_IN_RESPONSE, frame.payload);
    if (response.result === ResultCode.APPROVED) {
      this.t.sessionKey = deriveSessionKey(key, this.t.terminalId, nonce, response.nonce);
      secrets.push({ name: `session key of ${this.t.terminalId}`, bytes: this.t.sessionKey });
    }
    return response.result;
  }

  async result<T extends keyof MessageMap>(type: T, value: MessageMap[T], options: SendOptions = {}): Promise<number> {
    return (await this.exchange(type, value, options)).payload[0]!;
  }
}

function encodings(bytes: Buffer): Record<string, string> {
  return {
    hex: bytes.toString('hex'),
    HEX: bytes.toString('hex').toUpperCase(),
    base64: bytes.toString('base64'),
    base64url: bytes.toString('base64url'),
  };
}

describe('no secret in any log', () => {
  it('a full flow at debug level: no key, session key or MAC in any line of the gateway or the admin CLI', async () => {
    // Provisioning through the CLI.
    writeFileSync(join(dir, 'accounts.csv'), `account,name,bill_id,period,amount,issue_date,status\n${ACCOUNT},Zhang San,B1,202609,500.00,2026-09-05,open\n`);
    cli(['merchant', 'add', 'shop-s', '--name', 'Secret shop']);
    cli(['float', 'topup', 'shop-s', '1000']);
    cli(['accounts', 'import', join(dir, 'accounts.csv')]);
    const keyA = Buffer.from((JSON.parse(cli(['terminal', 'add', 'SEC00001', '--merchant', 'shop-s', '--json'], { printsKey: true })) as { key: string }).key, 'hex');
    const keyB = Buffer.from((JSON.parse(cli(['terminal', 'add', 'SEC00002', '--merchant', 'shop-s', '--json'], { printsKey: true })) as { key: string }).key, 'hex');

    const serve = spawn(process.execPath, [MAIN, 'serve', '--allow-unauthenticated-redis', '--port', '0', '--host', '127.0.0.1', '--instance-id', 'secrets-test',
      '--log-level', 'debug', '--drain-timeout', '2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
    const gatewayLines: string[] = [];
    createInterface({ input: serve.stderr! }).on('line', (line) => lines.push({ source: 'serve (stderr)', line }));
    const port = await new Promise<number>((resolve, reject) => {
      serve.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      createInterface({ input: serve.stdout! }).on('line', (line) => {
        gatewayLines.push(line);
        lines.push({ source: 'serve (stdout)', line });
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening') resolve(entry.port!);
      });
    });

    try {
      const a = await RecordedTerminal.connect(port, 'SEC00001', keyA, 0);
      expect(await a.signIn()).toBe(ResultCode.APPROVED);
      expect(await a.result(MessageType.INQUIRY, { account: ACCOUNT })).toBe(ResultCode.APPROVED);
      const paid = await a.exchange(MessageType.PAY, { account: ACCOUNT, amountFen: 1_000 });
      const receipt = decodePayload(MessageType.PAY_RESPONSE, paid.payload).receipt;
      expect(await a.result(MessageType.CORRECT, { receipt, account: ACCOUNT, amountFen: 1_000 })).toBe(ResultCode.APPROVED);
      expect(await a.result(MessageType.PAY, { account: ACCOUNT, amountFen: 500 }, { macKey: randomBytes(32) })).toBe(ResultCode.BAD_MAC);
      expect(await a.result(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).toBe(ResultCode.APPROVED);
      expect(await a.result(MessageType.STATUS, { querySeq: paid.seq })).toBe(ResultCode.APPROVED);
      expect(await a.result(MessageType.SETTLE, { businessDay: 0, payCount: 0, payFen: 0, correctCount: 0, correctFen: 0 })).not.toBe(ResultCode.BAD_MAC);

      const b = await RecordedTerminal.connect(port, 'SEC00002', keyB, 0);
      expect(await b.signIn()).toBe(ResultCode.APPROVED);
      expect(await b.result(MessageType.PAY, { account: ACCOUNT, amountFen: 700 })).toBe(ResultCode.APPROVED);
      // A sign-in under a wrong key: UNKNOWN_TERMINAL (as an unknown id), and that MAC too must not be logged.
      const stranger = await RecordedTerminal.connect(port, 'SEC00002', randomBytes(32), b.t.seq);
      expect(await stranger.signIn()).toBe(ResultCode.UNKNOWN_TERMINAL);
      stranger.t.cut();

      // The operator's commands while terminals are connected, rotation included.
      const rotated = Buffer.from((JSON.parse(cli(['terminal', 'rotate-key', 'SEC00001', '--json'], { printsKey: true })) as { key: string }).key, 'hex');
      for (const args of [['terminal', 'list', '--json'], ['terminal', 'show', 'SEC00001', '--json'], ['merchant', 'show', 'shop-s'],
        ['report', 'daily', '--json'], ['journal', 'export'], ['verify', '--json']]) {
        cli(args);
      }
      a.t.cut();
      const again = await RecordedTerminal.connect(port, 'SEC00001', rotated, a.t.seq);
      expect(await again.signIn(keyA)).toBe(ResultCode.UNKNOWN_TERMINAL);
      expect(await again.signIn(rotated)).toBe(ResultCode.APPROVED);
      expect(await again.result(MessageType.PAY, { account: ACCOUNT, amountFen: 300 })).toBe(ResultCode.APPROVED);
      again.t.cut();
      b.t.cut();
    } finally {
      serve.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    // The run was at debug level and logged the traffic: the search had something to search.
    const entries = gatewayLines.map((line) => JSON.parse(line) as { level: number; msg: string; result?: string });
    expect(entries.filter((e) => e.level === 20 && e.msg === 'frame in').length).toBeGreaterThanOrEqual(10);
    expect(entries.some((e) => e.msg === 'request' && e.result === 'BAD_MAC')).toBe(true);
    expect(secrets.length).toBeGreaterThan(30);

    const found: string[] = [];
    for (const { name, bytes } of secrets) {
      for (const [encoding, text] of Object.entries(encodings(bytes))) {
        for (const { source, line } of lines) if (line.includes(text)) found.push(`${name} as ${encoding} in ${source}: ${line.slice(0, 200)}`);
      }
    }
    expect(found).toEqual([]);
  }, 90_000);
});
