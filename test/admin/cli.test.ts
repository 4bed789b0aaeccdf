/**
 * The admin CLI as an operator runs it: `node dist/src/cli/main.js ...` as a process against a
 * real redis-server (the suite builds dist first). Payments are made through the transaction core
 * on the same Redis, so report, journal export and verify read books the core wrote.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { keys } from '../../src/store/keys.js';
import { terminalKeyAad, unseal } from '../../src/store/secrets.js';
import { MASTER_KEY, startNetwork, TerminalSession, type Network } from '../core/network.js';



let net: Network;
let dir: string;

const aircharge = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => runAircharge(args, { REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: '', AIRCHARGE_OPERATOR: 'alice', ...env });
const withKey = { AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex') };
const json = (run: CliRun): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;

beforeAll(async () => {
  net = await startNetwork();
  dir = mkdtempSync(join(tmpdir(), 'aircharge-admin-'));
});
afterAll(async () => {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('merchant', () => {
  it('adds, shows with floatFen, lists and disables', async () => {
    expect(await aircharge(['merchant', 'add', 'shop-a', '--name', 'Village Store A'])).toMatchObject({ code: 0, stdout: expect.stringContaining('merchant shop-a added') });
    const shown = await aircharge(['merchant', 'show', 'shop-a', '--json']);
    expect(shown.code).toBe(0);
    expect(json(shown)).toMatchObject({ id: 'shop-a', name: 'Village Store A', status: 'active', floatFen: 0 });
    expect(shown.stdout.trim().split('\n')).toHaveLength(1);
    await aircharge(['merchant', 'add', 'shop-x', '--name', 'To be disabled']);
    expect((await aircharge(['merchant', 'disable', 'shop-x'])).code).toBe(0);
    const listed = json(await aircharge(['merchant', 'list', '--json'])) as { merchants: Array<{ id: string; status: string }> };
    expect(listed.merchants.map((m) => [m.id, m.status])).toEqual([
      ['shop-a', 'active'],
      ['shop-x', 'disabled'],
    ]);
  });

  it('fails clearly on an unknown merchant, a duplicate, a bad id and a missing name', async () => {
    const [unknown, unknownJson, duplicate, badId, noName] = await Promise.all([
      aircharge(['merchant', 'show', 'nobody']),
      aircharge(['merchant', 'disable', 'nobody', '--json']),
      aircharge(['merchant', 'add', 'shop-a', '--name', 'Again']),
      aircharge(['merchant', 'add', 'bad:id', '--name', 'x']),
      aircharge(['merchant', 'add', 'shop-b']),
    ]);
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: 'aircharge: unknown merchant nobody\n' });
    expect(unknownJson.code).toBe(1);
    expect(json(unknownJson)).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'unknown merchant nobody', details: [] } });
    expect(duplicate).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    expect(badId).toMatchObject({ code: 1, stderr: expect.stringContaining('bad merchant id') });
    expect(noName).toMatchObject({ code: 1, stderr: expect.stringContaining('--name') });
    expect(await net.redis.hget(keys.merchant('shop-a'), 'name')).toBe('Village Store A');
  });
});

describe('terminal', () => {
  it('refuses to store a key without the master key', async () => {
    const refused = await aircharge(['terminal', 'add', 'TA000001', '--merchant', 'shop-a']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('AIRCHARGE_MASTER_KEY is not set');
    expect(await net.redis.exists(keys.terminalMerchant('TA000001'))).toBe(0);
  });

  it('adds a terminal, printing its key once; lists without keys; rotates and disables', async () => {
    const added = await aircharge(['terminal', 'add', 'TA000001', '--merchant', 'shop-a'], withKey);
    expect(added.code).toBe(0);
    const key = /^key ([0-9a-f]{64})$/m.exec(added.stdout)?.[1];
    expect(key).toBeDefined();
    const sealed = await net.redis.hget(keys.terminal('shop-a', 'TA000001'), 'keyEnc');
    expect(unseal(MASTER_KEY, sealed!, terminalKeyAad('shop-a', 'TA000001', 1)).toString('hex')).toBe(key);

    // This Redis now holds keys sealed under a real master key: demo mode is refused here.
    const demo = await aircharge(['terminal', 'add', 'TD000001', '--merchant', 'shop-x', '--demo']);
    expect(demo).toMatchObject({ code: 1, stderr: expect.stringContaining('not the one this Redis') });
    expect(await net.redis.exists(keys.terminalMerchant('TD000001'))).toBe(0);

    const given = 'ab'.repeat(32);
    const second = await aircharge(['terminal', 'add', 'TA000002', '--merchant', 'shop-a', '--key', given, '--json'], withKey);
    expect(json(second)).toEqual({ terminalId: 'TA000002', merchantId: 'shop-a', key: given, keyVersion: 1 });

    const listed = await aircharge(['terminal', 'list', '--json']);
    expect((json(listed).terminals as Array<{ terminalId: string }>).map((t) => t.terminalId)).toEqual(['TA000001', 'TA000002']);
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain(given);

    const rotated = json(await aircharge(['terminal', 'rotate-key', 'TA000002', '--json'], withKey));
    expect(rotated).toMatchObject({ terminalId: 'TA000002', keyVersion: 2 });
    expect(rotated.key).not.toBe(given);
    const resealed = await net.redis.hget(keys.terminal('shop-a', 'TA000002'), 'keyEnc');
    expect(unseal(MASTER_KEY, resealed!, terminalKeyAad('shop-a', 'TA000002', 2)).toString('hex')).toBe(rotated.key);
    expect(unseal(MASTER_KEY, (await net.redis.hget(keys.terminal('shop-a', 'TA000001'), 'keyEnc'))!, terminalKeyAad('shop-a', 'TA000001', 1)).toString('hex')).toBe(key);

    expect(await aircharge(['terminal', 'disable', 'TA000001'])).toMatchObject({ code: 0, stdout: 'terminal TA000001 disabled\n' });
    expect(await net.redis.hget(keys.terminal('shop-a', 'TA000001'), 'status')).toBe('disabled');
    const [enabled, noMerchant] = await Promise.all([
      aircharge(['terminal', 'enable', 'TA000001']),
      aircharge(['merchant', 'enable', 'nobody']),
    ]);
    expect(enabled).toMatchObject({ code: 0, stdout: 'terminal TA000001 enabled\n' });
    expect(json(await aircharge(['terminal', 'show', 'TA000001', '--json']))).toMatchObject({ merchantId: 'shop-a', status: 'active', keyVersion: 1 });
    expect(noMerchant).toMatchObject({ code: 1, stderr: 'aircharge: unknown merchant nobody\n' });
  });

  it('fails clearly on an unknown merchant or terminal, a taken id and a bad key', async () => {
    const [noMerchant, taken, badKey, noTerminal, badMaster] = await Promise.all([
      aircharge(['terminal', 'add', 'TA000009', '--merchant', 'nobody'], withKey),
      aircharge(['terminal', 'add', 'TA000001', '--merchant', 'shop-x'], withKey),
      aircharge(['terminal', 'add', 'TA000009', '--merchant', 'shop-a', '--key', 'abc'], withKey),
      aircharge(['terminal', 'rotate-key', 'ZZZZZZZZ'], withKey),
      aircharge(['terminal', 'add', 'TA000009', '--merchant', 'shop-a'], { AIRCHARGE_MASTER_KEY: 'short' }),
    ]);
    expect(noMerchant).toMatchObject({ code: 1, stderr: 'aircharge: unknown merchant nobody\n' });
    expect(taken).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    expect(badKey).toMatchObject({ code: 1, stderr: expect.stringContaining('64 hex digits') });
    expect(noTerminal).toMatchObject({ code: 1, stderr: 'aircharge: unknown terminal ZZZZZZZZ\n' });
    expect(badMaster).toMatchObject({ code: 1, stderr: expect.stringContaining('AIRCHARGE_MASTER_KEY must be 64 hex digits') });
    expect(await net.redis.get(keys.terminalMerchant('TA000001'))).toBe('shop-a');
    expect(await net.redis.exists(keys.terminalMerchant('TA000009'))).toBe(0);
  });
});

describe('float topup', () => {
  it('credits the float in exact fen', async () => {
    expect(await aircharge(['float', 'topup', 'shop-a', '1000.10'], withKey)).toMatchObject({ code: 0, stdout: expect.stringContaining('now 1,000.10 yuan') });
    const second = json(await aircharge(['float', 'topup', 'shop-a', '0.29', '--json'], withKey));
    expect(second).toMatchObject({ merchantId: 'shop-a', amountFen: 29, floatFen: 100_039 });
  });

  it('rejects bad amounts (every rejection of parseYuan is unit-tested) and unknown merchants, leaving floats alone', async () => {
    const entriesBefore = await net.redis.xlen(keys.journal('shop-a'));
    const runs = await Promise.all([
      aircharge(['float', 'topup', 'shop-a', '1.234'], withKey),
      aircharge(['float', 'topup', 'shop-a', '1e3'], withKey),
      aircharge(['float', 'topup', 'shop-a', '0'], withKey),
      aircharge(['float', 'topup', 'nobody', '10'], withKey),
    ]);
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 1]);
    expect(runs[0]!.stderr).toBe('aircharge: not an amount in yuan: "1.234" (digits with at most two decimals, like 120 or 35.50)\n');
    expect(runs[1]!.stderr).toContain('not an amount in yuan: "1e3"');
    expect(runs[2]!.stderr).toContain('a top-up is more than zero');
    expect(runs[3]!.stderr).toBe('aircharge: unknown merchant nobody\n');
    expect(await net.redis.hget(keys.merchant('shop-a'), 'floatFen')).toBe('100039');
    // Its two top-ups (and the rotate-key above, journaled as a key entry), nothing more.
    expect(entriesBefore).toBe(3);
    expect(await net.redis.xlen(keys.journal('shop-a'))).toBe(entriesBefore);
  });
});

describe('accounts import', () => {
  const HEADER = 'account,name,bill_id,period,amount,issue_date,status';

  it('imports a good file and shows an account with its bills', async () => {
    const file = join(dir, 'good.csv');
    writeFileSync(
      file,
      `${HEADER}\r\n6000000001,"Wang, Wu",W-1,202609,100.00,2026-09-05,open\r\n6000000001,"Wang, Wu",W-2,202610,200,2026-10-05,open\r\n` +
        '6000000002,Zhao Liu,Z-1,202609,80,2026-09-05,open\r\n',
    );
    expect(await aircharge(['accounts', 'import', file], withKey)).toMatchObject({ code: 0, stdout: 'imported 2 accounts (2 new): 3 bills added, 0 changed, 0 unchanged\n' });
    expect(json(await aircharge(['accounts', 'show', '6000000001', '--json']))).toMatchObject({
      name: 'Wang, Wu',
      arrearsFen: 30_000,
      bills: [
        { billId: 'W-1', period: 202609, amountFen: 10_000, issueDate: '2026-09-05', status: 'open', paidFen: 0 },
        { billId: 'W-2', period: 202610, amountFen: 20_000, issueDate: '2026-10-05', status: 'open', paidFen: 0 },
      ],
      postings: [],
    });
    expect((await aircharge(['accounts', 'show', '6000000001'])).stdout).toMatch(/^W-2 +2026-10 2026-10-05 open +200\.00 +0\.00$/m);
  });

  it('reports every bad row with its line number and imports nothing', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, `${HEADER}\n7000000001,Good,G1,202609,10,2026-09-05,open\n70000,Short,G1,202609,10,2026-09-05,open\n7000000003,Cheap,G1,202609,1.001,2026-09-05,open\n`);
    const run = await aircharge(['accounts', 'import', file, '--json'], withKey);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('nothing imported');
    expect(run.stderr).toMatch(/^line 3: account "70000" is not 10 digits$/m);
    expect(run.stderr).toMatch(/^line 4: amount: not an amount in yuan: "1.001"/m);
    expect((json(run).error as { details: string[] }).details).toHaveLength(2);
    expect(await net.redis.exists(keys.account('7000000001'))).toBe(0);
    expect(await net.redis.sismember(keys.accounts(), '7000000001')).toBe(0);
  });

  it('fails on a missing file', async () => {
    expect(await aircharge(['accounts', 'import', join(dir, 'none.csv')], withKey)).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') });
  });
});

describe('report, journal and verify', () => {
  it('reports zeros for a day without payments', async () => {
    const run = await aircharge(['report', 'daily', '--date', '2020-02-29', '--json']);
    expect(run.code).toBe(0);
    const report = json(run) as { date: string; outlets: Array<{ netFen: number }>; total: object };
    expect(report.date).toBe('2020-02-29');
    expect(report.outlets.every((o) => o.netFen === 0)).toBe(true);
    expect(report.total).toEqual({ outlets: 0, collectors: 0, payments: { count: 0, amountFen: 0 }, corrections: { count: 0, amountFen: 0 }, netFen: 0 });
    const [badDate, badFormat] = await Promise.all([
      aircharge(['report', 'daily', '--date', '2021-02-29']),
      aircharge(['report', 'daily', '--format', 'xml']),
    ]);
    expect(badDate).toMatchObject({ code: 1, stderr: expect.stringContaining('not a date') });
    expect(badFormat).toMatchObject({ code: 1, stderr: expect.stringContaining('--format') });
  });

  it("reports, exports and verifies the core's payments and corrections", async () => {
    const terminal = new TerminalSession(net, 'TA000001', 'shop-a');
    await terminal.signIn();
    const first = await terminal.pay('6000000001', 15_000);
    const second = await terminal.pay('6000000002', 2_550);
    expect([first.response.result, second.response.result]).toEqual([ResultCode.APPROVED, ResultCode.APPROVED]);
    expect((await terminal.correct(second.response.receipt, '6000000002', 2_550)).response.result).toBe(ResultCode.APPROVED);

    const [csv, text, journal, future, journalCsv, verified] = await Promise.all([
      aircharge(['report', 'daily', '--format', 'csv']),
      aircharge(['report', 'daily']),
      aircharge(['journal', 'export']),
      aircharge(['journal', 'export', '--from', '2099-01-01']),
      aircharge(['journal', 'export', '--format', 'csv']),
      aircharge(['verify'], withKey),
    ]);
    expect(csv.code).toBe(0);
    // The first seven columns as before collectors; then kind, name, the day's balances and movements, and fen for machines.
    expect(csv.stdout).toMatch(/^\d{4}-\d{2}-\d{2},shop-a,2,175\.50,1,25\.50,150\.00,outlet,/m);
    expect(csv.stdout).toMatch(/^\d{4}-\d{2}-\d{2},TOTAL,2,175\.50,1,25\.50,150\.00,,,,0,0\.00,0,0\.00,,17550,2550,15000,,0,0,$/m);
    expect(text.stdout).toContain('1 outlet, 2 payments, ¥150.00 collected');
    const kinds = journal.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { kind: string }).kind);
    expect(kinds).toEqual(['topup', 'topup', 'pay', 'pay', 'correct']);
    expect(future).toMatchObject({ code: 0, stdout: '' });
    const csvRows = journalCsv.stdout.trim().split('\n');
    expect(csvRows[0]).toBe('merchant,id,kind,txn,original,terminal,amountFen,floatFen,day,ts,merchant_name,account,account_name,local_time,amount_yuan,float_yuan,cashFen,ref,reason');
    // The names, the account and local time beside the receipt; fen kept, yuan added.
    const payRow = csvRows.find((row) => row.includes(`,pay,${first.response.receipt},`));
    expect(payRow).toMatch(/,15000,\d+,\d{8},\d+,Village Store A,6000000001,"Wang, Wu",\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00,150\.00,\d+\.\d{2},,,$/);
    const firstLine = JSON.parse(journal.stdout.trim().split('\n')[2]!) as Record<string, unknown>;
    expect(firstLine).toMatchObject({ kind: 'pay', account: '6000000001', merchantName: 'Village Store A', localTime: expect.stringMatching(/\+08:00$/) });
    expect(verified).toMatchObject({ code: 0, stdout: expect.stringMatching(/^verify: OK \(2 merchants, 5 journal entries, 3 transactions/) });
  });

  it('shows the postings of an account with their receipts, and refuses an extract that would undo a payment (exit 1)', async () => {
    const shown = json(await aircharge(['accounts', 'show', '6000000002', '--json'])) as { postings: Array<{ receipt: string; kind: string }> };
    expect(shown.postings.map((p) => p.kind)).toEqual(['payment', 'reversal']);
    const text = (await aircharge(['accounts', 'show', '6000000001'])).stdout;
    expect(text).toMatch(/^TA000001\d+ +payment +150\.00 .* W-1:100\.00 W-2:50\.00$/m);
    const file = join(dir, 'changed.csv');
    writeFileSync(file, 'account,name,bill_id,period,amount,issue_date,status\n6000000001,"Wang, Wu",W-2,202610,180.00,2026-10-05,open\n');
    const run = await aircharge(['accounts', 'import', file], withKey);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^account 6000000001 bill W-2: 50\.00 yuan paid against it here, and the file changes its amount/m);
    expect(json(await aircharge(['accounts', 'show', '6000000001', '--json']))).toMatchObject({ arrearsFen: 15_000 });
  });

  it('fails verify, listing the discrepancy, once a float is changed behind the journal', async () => {
    await net.redis.hincrby(keys.merchant('shop-a'), 'floatFen', -100);
    const [run, asJson] = await Promise.all([aircharge(['verify'], withKey), aircharge(['verify', '--json'], withKey)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('verify: 1 discrepancy');
    expect(run.stdout).toMatch(/merchant shop-a: float is 849\.39 but .* = 850\.39$/m);
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toMatchObject({ ok: false, discrepancies: [expect.stringContaining('merchant shop-a: float is 849.39')] });
    await net.redis.hincrby(keys.merchant('shop-a'), 'floatFen', 100);
    expect((await aircharge(['verify'], withKey)).code).toBe(0);
  });

  it('takes --redis over REDIS_URL and names an unreachable Redis', async () => {
    const run = await aircharge(['merchant', 'list', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^aircharge: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});
