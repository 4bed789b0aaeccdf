/**
 * aircharge-sim as a process against `aircharge serve --demo` as a process, on a real
 * redis-server: what a tester types, with the JSON it prints and the exit codes it returns.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { freePort, startGateway, type GatewayService } from '../../simulator/processes.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');
const TERMINAL = 'SIMT0001';
const ACCOUNT = '5500000001';
const POOR = '5500000002';

let redis: RedisProcess;
let client: Redis;
let admin: Admin;
let gateway: GatewayService;
let work: string;
let key: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, any>;
}

function sim(args: string[], options: { common?: boolean } = {}): Promise<Run> {
  const common = options.common === false ? [] : ['--port', String(gateway.port), '--terminal', TERMINAL, '--key', key, '--state', join(work, 'state')];
  return new Promise((resolve) => {
    execFile(process.execPath, [SIM, ...args, ...common], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      let json: Record<string, any> = {};
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
      } catch {
        // human output
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'test' });
  await admin.addMerchant('SIMSHOP', 'Simulator test shop');
  key = (await admin.addTerminal(TERMINAL, 'SIMSHOP')).key;
  await admin.topUp('SIMSHOP', 100_000);
  await admin.importAccounts(`account,name,bill_id,period,amount,issue_date,status\n${ACCOUNT},Zhang San,B1,202609,300.00,2026-09-05,open\n${POOR},Li Si,B1,202609,1.00,2026-09-05,open\n`);
  work = mkdtempSync(join(tmpdir(), 'aircharge-sim-test-'));
  gateway = await startGateway({ redisUrl: redis.url, logFile: join(work, 'gateway.log'), args: ['--connection-rate', '0', '--max-connections-per-address', '0'] });
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  client?.disconnect();
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('aircharge-sim single-shot commands', () => {
  it('signs in', async () => {
    const r = await sim(['signin', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, code: 'APPROVED', seq: 1, terminal: TERMINAL, heartbeatSec: 60 });
    expect(r.json.businessDay).toBe(admin.businessDay());
  });

  it('asks what an account owes', async () => {
    const r = await sim(['inquiry', ACCOUNT, '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, code: 'APPROVED', arrearsFen: 30000, holderName: 'Z*******n' });
    // The sign-in of this run took seq 2; the inquiry comes after it.
    expect(r.json.seq).toBe(3);
  });

  it('takes a payment: receipt, arrears left, float left', async () => {
    const r = await sim(['pay', ACCOUNT, '35.50', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, code: 'APPROVED', arrearsFen: 30000 - 3550, floatFen: 100_000 - 3550, attempts: 1 });
    expect(r.json.receipt).toBe(`${TERMINAL}${String(r.json.seq).padStart(10, '0')}`);
    const human = await sim(['pay', ACCOUNT, '1']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^APPROVED {2}seq \d+ {2}receipt SIMT0001\d{10} {2}arrears ¥263\.50 {2}float ¥963\.50/);
    // The thermal receipt (PROTOCOL.md §7.7): printed after the answer, and in --json as printedReceipt.
    expect(human.stdout).toContain('PAYMENT RECEIPT');
    expect(human.stdout).toMatch(/^Holder +Z\*{7}n$/m);
    const printed = r.json.printedReceipt as string[];
    expect(printed).toContainEqual(`Receipt${' '.repeat(7)}${r.json.receipt as string}`);
    expect(printed).toContainEqual(expect.stringMatching(/^AMOUNT PAID +¥35\.50$/));
    expect(printed).toContainEqual(expect.stringMatching(/^Arrears left +¥264\.50$/));
  });

  it('--seq repeats a payment under its number: the stored answer for the same request, REPLAY for another', async () => {
    const first = await sim(['pay', ACCOUNT, '0.50', '--json']);
    expect(first.code).toBe(0);
    const floatAfterFirst = (await admin.showMerchant('SIMSHOP')).floatFen;
    const again = await sim(['pay', ACCOUNT, '0.50', '--json', '--seq', String(first.json.seq)]);
    expect(again.json).toMatchObject({ ok: true, code: 'APPROVED', seq: first.json.seq, receipt: first.json.receipt, floatFen: first.json.floatFen });
    const other = await sim(['pay', ACCOUNT, '0.60', '--json', '--seq', String(first.json.seq)]);
    expect(other.code).toBe(1);
    expect(other.json).toMatchObject({ ok: false, code: 'REPLAY', seq: first.json.seq });
    expect((await admin.showMerchant('SIMSHOP')).floatFen).toBe(floatAfterFirst);
  });

  it('retransmits under the same seq after the link is cut before the response: same receipt, one effect', async () => {
    const before = await admin.showMerchant('SIMSHOP');
    const r = await sim(['pay', ACCOUNT, '10', '--json', '--cut', 'after-request-before-response', '--timeout', '3000']);
    expect(r.code).toBe(0);
    expect(r.json.link).toEqual([{ connection: 1, event: 'cut', at: 'after-request-before-response', type: 4 }]);
    expect(r.json.attempts).toBe(2);
    expect(r.json.receipt).toBe(`${TERMINAL}${String(r.json.seq).padStart(10, '0')}`);
    const after = await admin.showMerchant('SIMSHOP');
    expect(before.floatFen - after.floatFen).toBe(1000);
    expect(r.json.floatFen).toBe(after.floatFen);
    const entries = (await admin.exportJournal()).filter((e) => e.txn === r.json.receipt);
    expect(entries).toHaveLength(1);
  });

  it('sends the payment again under a new seq when the cut came before the gateway saw it', async () => {
    const before = await admin.showMerchant('SIMSHOP');
    const r = await sim(['pay', ACCOUNT, '2', '--json', '--cut', 'before-request', '--timeout', '3000']);
    expect(r.code).toBe(0);
    expect(r.json.code).toBe('APPROVED');
    expect(before.floatFen - (await admin.showMerchant('SIMSHOP')).floatFen).toBe(200);
    expect((await admin.exportJournal()).filter((e) => e.txn === r.json.receipt)).toHaveLength(1);
  });

  it('keeps an unanswered payment in flash and finishes it on the next run, once', async () => {
    const before = await admin.showMerchant('SIMSHOP');
    // The link goes silent after the payment reached the gateway; the clerk gives up after 1.5 s.
    const lost = await sim(['pay', ACCOUNT, '3', '--json', '--half-open', 'after-request-before-response', '--deadline', '1500']);
    expect(lost.code).toBe(2);
    expect(lost.json.code).toBe('UNREACHABLE');
    const flash = JSON.parse(readFileSync(join(work, 'state', `${TERMINAL}.json`), 'utf8')) as { pending: Array<{ seq: number; amountFen: number }> };
    expect(flash.pending).toHaveLength(1);
    const { seq } = flash.pending[0]!;

    const next = await sim(['signin', '--json']);
    expect(next.code).toBe(0);
    expect(next.json.resumed).toEqual([{ seq, code: 'APPROVED', receipt: `${TERMINAL}${String(seq).padStart(10, '0')}` }]);
    expect(before.floatFen - (await admin.showMerchant('SIMSHOP')).floatFen).toBe(300);
    expect((await admin.exportJournal()).filter((e) => e.txn === next.json.resumed[0].receipt)).toHaveLength(1);
  });

  it('declines with exit 1 and the code name', async () => {
    const r = await sim(['pay', POOR, '5', '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, code: 'OVERPAYMENT', arrearsFen: 100 });
  });

  it('corrects a payment it finds in its state dir, and tells STATUS of the original', async () => {
    const state = JSON.parse(readFileSync(join(work, 'state', `${TERMINAL}.json`), 'utf8')) as { receipts: Array<{ receipt: string; seq: number; amountFen: number }> };
    const paid = state.receipts.find((p) => p.amountFen === 3550)!;
    const before = await admin.showMerchant('SIMSHOP');
    const r = await sim(['correct', paid.receipt, '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, code: 'APPROVED', floatFen: before.floatFen + 3550 });
    expect(r.json.receipt).not.toBe(paid.receipt);

    const again = await sim(['correct', paid.receipt, '--json']);
    expect(again.code).toBe(1);
    expect(again.json.code).toBe('ALREADY_CORRECTED');

    const status = await sim(['status', String(paid.seq), '--json']);
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({ state: 2, original: { code: 'APPROVED', receipt: paid.receipt } });
  });

  it("settles today's counts from its state dir", async () => {
    const r = await sim(['settle', '--json']);
    expect(r.code).toBe(0);
    // 35.50 + 1 + 0.50 + 10 + 2 + 3 paid, 35.50 corrected.
    expect(r.json).toMatchObject({ ok: true, code: 'APPROVED', payCount: 6, payFen: 5200, correctCount: 1, correctFen: 3550 });
  });

  it('exits 2 on a usage mistake or when the gateway cannot be reached', async () => {
    const badAmount = await sim(['pay', ACCOUNT, '12.345', '--json']);
    expect(badAmount.code).toBe(2);
    expect(badAmount.stderr).toMatch(/not an amount in yuan/);
    const badAccount = await sim(['inquiry', '12345']);
    expect(badAccount.code).toBe(2);
    const port = await freePort();
    const down = await sim(['inquiry', ACCOUNT, '--port', String(port), '--terminal', TERMINAL, '--key', key, '--state', join(work, 'other'), '--deadline', '1500', '--json'], { common: false });
    expect(down.code).toBe(2);
    expect(down.json).toMatchObject({ ok: false, code: 'UNREACHABLE' });
  });

  it('is refused at sign-in with a wrong key (exit 1)', async () => {
    const r = await sim(['signin', '--port', String(gateway.port), '--terminal', TERMINAL, '--key', 'ab'.repeat(32), '--state', join(work, 'wrong'), '--json'], { common: false });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, stage: 'sign-in' });
    // a wrong key is told nothing more than an unknown terminal is (PROTOCOL.md §5.4)
    expect(r.json.code).toMatch(/UNKNOWN_TERMINAL/);
  });
});

describe('aircharge-sim terminal keys off the command line (--key -, --key-file)', () => {
  /** The simulator as a process with `input` on its stdin; never the key in argv. */
  function simWithStdin(args: string[], input: string): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [SIM, ...args, '--port', String(gateway.port), '--terminal', TERMINAL], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => {
        let json: Record<string, any> = {};
        try {
          json = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
        } catch {
          // human output
        }
        resolve({ code: code ?? -1, stdout, stderr, json });
      });
      child.stdin.end(input);
    });
  }

  it('signs in and pays with the key from stdin and from a file; the key is in no output and no gateway log line', async () => {
    const fromStdin = await simWithStdin(['pay', ACCOUNT, '0.10', '--key', '-', '--state', join(work, 'stdin'), '--json'], `${key}\n`);
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.json).toMatchObject({ ok: true, code: 'APPROVED' });

    const keyFile = join(work, 'terminal.key');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const fromFile = await simWithStdin(['pay', ACCOUNT, '0.10', '--key-file', keyFile, '--state', join(work, 'file'), '--json'], '');
    expect(fromFile.json).toMatchObject({ ok: true, code: 'APPROVED' });
    // A keys file of `terminal import --keys-out`: the key found by terminal id among others.
    const keysFile = join(work, 'keys.csv');
    writeFileSync(keysFile, `terminal_id,merchant_id,key\nOTHER001,SIMSHOP,${'cd'.repeat(32)}\n${TERMINAL},SIMSHOP,${key}\n`, { mode: 0o600 });
    const fromKeysFile = await simWithStdin(['inquiry', ACCOUNT, '--key-file', keysFile, '--state', join(work, 'file'), '--json'], '');
    expect(fromKeysFile.json).toMatchObject({ ok: true, code: 'APPROVED' });

    // A wrong key on stdin is refused like a wrong key on the command line, and not echoed.
    const wrong = 'ab'.repeat(32);
    const refused = await simWithStdin(['signin', '--key', '-', '--state', join(work, 'stdin-wrong'), '--json'], wrong);
    expect(refused.code).toBe(1);
    expect(refused.json.code).toMatch(/UNKNOWN_TERMINAL/);
    const garbage = await simWithStdin(['signin', '--key', '-', '--state', join(work, 'stdin-garbage')], 'not a key at all');
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain('stdin: not a terminal key');
    expect(garbage.stderr).not.toContain('not a key at all');

    const everything = [fromStdin, fromFile, fromKeysFile, refused, garbage].map((r) => r.stdout + r.stderr).join('\n') + readFileSync(join(work, 'gateway.log'), 'utf8');
    for (const secret of [key, key.toUpperCase(), wrong, Buffer.from(key, 'hex').toString('base64')]) expect(everything).not.toContain(secret);
  });
});
