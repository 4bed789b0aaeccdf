/**
 * `aircharge reconcile biller` and `aircharge biller postings` as processes against a real
 * redis-server, on books the transaction core wrote: a clean day matches, then each kind of break
 * is made on purpose (the postings file edited, a posting made at the biller with no journal
 * entry, a reversal at the biller only) and found, in text, CSV and JSON, with exit 1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import type { BillerReconciliation } from '../../src/admin/index.js';
import { RedisBiller } from '../../src/biller/index.js';
import { POSTINGS_FILE_HEADER } from '../../src/biller/postings-file.js';
import { seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';



let net: Network;
let dir: string;
let day: number;
let file: string;
const receipts: string[] = [];
let corrected = '';

const aircharge = (args: string[]): Promise<CliRun> => runAircharge(args, { REDIS_URL: net.redisProcess.url });

/** Reconciles `text` as the biller's file; the parsed JSON answer and the exit code. */
async function reconcileFile(text: string): Promise<{ code: number; result: BillerReconciliation }> {
  const path = join(dir, `edited-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(path, text);
  const run = await aircharge(['reconcile', 'biller', '--day', String(day), '--file', path, '--json']);
  return { code: run.code, result: JSON.parse(run.stdout) as BillerReconciliation };
}
const breaksOf = (r: BillerReconciliation) => r.lines.filter((l) => l.status !== 'matched').map((l) => [l.status, l.receipt]);

beforeAll(async () => {
  net = await startNetwork();
  dir = mkdtempSync(join(tmpdir(), 'aircharge-reconcile-'));
  day = net.admin.businessDay();
  await seedMerchant(net.admin, 'RC1', 1_000_000, ['RCON0001']);
  await seedAccounts(net.admin, [
    { account: '8100000001', name: 'Sun Yi', arrearsFen: 50_000 },
    { account: '8100000002', name: 'Zhou Er', arrearsFen: 50_000 },
  ]);
  const t = new TerminalSession(net, 'RCON0001', 'RC1');
  await t.signIn();
  for (const [account, fen] of [['8100000001', 3_550], ['8100000002', 1_000], ['8100000001', 2_000]] as const) {
    const { response } = await t.pay(account, fen);
    expect(response.result).toBe(ResultCode.APPROVED);
    receipts.push(response.receipt);
  }
  const correction = await t.correct(receipts[2]!, '8100000001', 2_000);
  expect(correction.response.result).toBe(ResultCode.APPROVED);
  corrected = correction.response.receipt;
  file = join(dir, 'postings.csv');
});
afterAll(async () => {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Several CLI processes a test: on a shared machine each may take seconds to start.
describe('reconcile biller', { timeout: 120_000 }, () => {
  it('matches a clean day, from the postings file the embedded biller writes and fetched', async () => {
    const postings = await aircharge(['biller', 'postings', '--day', String(day)]);
    expect(postings.code).toBe(0);
    const lines = postings.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(POSTINGS_FILE_HEADER);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^${day},${receipts[0]},8100000001,payment,35\\.50,,\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+08:00$`)),
      expect.stringMatching(new RegExp(`^${day},${receipts[1]},8100000002,payment,10\\.00,,`)),
      expect.stringMatching(new RegExp(`^${day},${receipts[2]},8100000001,payment,20\\.00,,`)),
      expect.stringMatching(new RegExp(`^${day},${corrected},8100000001,reversal,20\\.00,${receipts[2]},`)),
    ]);
    writeFileSync(file, postings.stdout);

    const [text, fetched, csv] = await Promise.all([
      aircharge(['reconcile', 'biller', '--day', String(day), '--file', file]),
      aircharge(['reconcile', 'biller', '--day', String(day), '--fetch', '--json']),
      aircharge(['reconcile', 'biller', '--day', String(day), '--fetch', '--format', 'csv']),
    ]);
    expect(text).toMatchObject({ code: 0, stdout: expect.stringMatching(/^reconcile biller, business day \d{8}: OK, 4 matched$/m) });
    expect(text.stdout).toContain('our journal: 3 payments 65.50, 1 reversals 20.00');
    expect(fetched.code).toBe(0);
    expect(JSON.parse(fetched.stdout)).toMatchObject({ ok: true, matched: 4, breaks: 0, biller: { payments: { count: 3, amountFen: 6_550 } } });
    expect(csv.stdout.split('\n')[0]).toBe('day,receipt,status,kind_here,account_here,amount_here,kind_biller,account_biller,amount_biller,original,detail');
    expect(csv.stdout).toContain(`${day},${receipts[0]},matched,payment,8100000001,35.50,payment,8100000001,35.50,,`);
  });

  it('finds every kind of break in an edited file, and exits 1', async () => {
    const original = readFileSync(file, 'utf8');
    const row = (receipt: string) => original.split('\n').find((l) => l.includes(`,${receipt},`))!;
    const edited = original
      .replace(row(receipts[0]!), row(receipts[0]!).replace(',35.50,', ',35.05,')) // amount differs
      .replace(row(receipts[1]!), row(receipts[1]!).replace(',8100000002,', ',8100000009,')) // account differs
      .replace(`${row(corrected)}\n`, '') // reversed here only
      .concat(`${day},RCON00019999999999,8100000002,payment,1.00,,2026-12-03T10:00:00+08:00\n`) // missing here
      .concat(`${row(receipts[2]!)}\n`); // listed twice
    const { code, result } = await reconcileFile(edited);
    expect(code).toBe(1);
    expect(result.ok).toBe(false);
    expect(breaksOf(result)).toEqual([
      ['amount_differs', receipts[0]],
      ['account_differs', receipts[1]],
      ['duplicate_at_biller', receipts[2]],
      ['reversed_one_side', corrected],
      ['missing_here', 'RCON00019999999999'],
    ].sort((x, y) => (x[1]! < y[1]! ? -1 : 1)));
    expect(result.byKind).toMatchObject({ amount_differs: 1, account_differs: 1, duplicate_at_biller: 1, reversed_one_side: 1, missing_here: 1, missing_at_biller: 0 });
    expect(result.lines.find((l) => l.receipt === corrected)?.detail).toBe(`reversed here (payment ${receipts[2]}), not at the biller`);

    const dropped = await reconcileFile(original.replace(`${row(receipts[1]!)}\n`, ''));
    expect(dropped.code).toBe(1);
    expect(breaksOf(dropped.result)).toEqual([['missing_at_biller', receipts[1]]]);

    const text = await aircharge(['reconcile', 'biller', '--day', String(day), '--file', join(dir, 'postings.csv')]);
    expect(text.code).toBe(0);
  });

  it('finds a posting at the biller with no journal entry, and a reversal made at the biller only', async () => {
    const biller = new RedisBiller(net.redis);
    const at = Date.now();
    expect((await biller.post({ receipt: 'RCON00010000000900', account: '8100000002', amountFen: 700, at, day })).result).toBe(ResultCode.APPROVED);
    expect((await biller.reverse({ receipt: 'RCON00010000000901', originalReceipt: receipts[1]!, account: '8100000002', amountFen: 1_000, at, day })).result).toBe(ResultCode.APPROVED);
    const run = await aircharge(['reconcile', 'biller', '--day', String(day), '--fetch']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^reconcile biller, business day \d{8}: 2 breaks, 4 matched$/m);
    expect(run.stdout).toMatch(/^ {2}missing_here +RCON00010000000900 {2}the biller booked a payment of 7\.00 on 8100000002, our journal has none$/m);
    expect(run.stdout).toMatch(new RegExp(`^ {2}reversed_one_side +RCON00010000000901 {2}reversed at the biller \\(payment ${receipts[1]}\\), not here$`, 'm'));
  });

  it('refuses a postings file that does not read, rows of another day, and a missing or double source', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, `${POSTINGS_FILE_HEADER}\n${day},R1,8100000001,refund,1.00,,2026-12-03T10:00:00+08:00\n${day},R2,8100000001,payment,1.00,,yesterday\n`);
    const run = await aircharge(['reconcile', 'biller', '--day', String(day), '--file', bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^line 2: kind "refund" is neither payment nor reversal$/m);
    expect(run.stderr).toMatch(/^line 3: booked_at "yesterday" is not ISO-8601 with an offset$/m);
    writeFileSync(bad, `${POSTINGS_FILE_HEADER}\n20200101,R1,8100000001,payment,1.00,,2020-01-01T10:00:00Z\n`);
    expect((await aircharge(['reconcile', 'biller', '--day', String(day), '--file', bad])).stderr).toContain('rows of another day');
    expect((await aircharge(['reconcile', 'biller', '--day', String(day)])).stderr).toContain('exactly one of --file FILE and --fetch');
    expect((await aircharge(['reconcile', 'biller', '--day', '2026-12-03', '--fetch'])).stderr).toContain('--day must be a business day YYYYMMDD');
  });
});
