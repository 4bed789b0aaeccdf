/**
 * Top-ups by reference and the bank's statement, through the CLI as a process: the same file run
 * twice applies each transfer once, lists duplicates and unknown merchants, and says so in its
 * exit code. Collectors' remittances likewise.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { keys } from '../../src/store/keys.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

/** Top-ups and remittances write MACed journal entries: the master key the journal key comes from. */
const MASTER_KEY = randomBytes(32);

let redis: RedisProcess;
let admin: Admin;
let client: ReturnType<RedisProcess['client']>;
let dir: string;


const aircharge = (args: string[]): Promise<CliRun> => runAircharge(args, { REDIS_URL: redis.url, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex'), AIRCHARGE_OPERATOR: 'clerk' });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (run: { stdout: string }) => JSON.parse(run.stdout) as Record<string, any>;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  admin = createAdmin({ redis: client, operator: 'test', masterKey: MASTER_KEY });
  await admin.addMerchant('shop-1', '城东便民超市');
  await admin.addMerchant('shop-2', 'Shop Two');
  await admin.addMerchant('coll-1', 'Collector One', { kind: 'collector', cashLimitFen: 500_000 });
  dir = mkdtempSync(join(tmpdir(), 'aircharge-bank-'));
});
afterAll(async () => {
  // Guarded, and Redis first: a beforeAll that failed half way left some of these unset.
  client?.disconnect();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('float topup with a reference', () => {
  it('applies a reference once; again it is refused ERR_DUPLICATE and the float stays', async () => {
    const first = await aircharge(['float', 'topup', 'shop-2', '100', '--reference', 'BANK-1', '--reason', 'opening float', '--json']);
    expect(first.code).toBe(0);
    expect(json(first)).toMatchObject({ floatFen: 10_000, reference: 'BANK-1', reason: 'opening float' });
    const again = await aircharge(['float', 'topup', 'shop-2', '100', '--reference', 'BANK-1', '--json']);
    expect(again.code).toBe(1);
    expect(json(again).error.code).toBe('ERR_DUPLICATE');
    expect(again.stderr).toMatch(/reference BANK-1 was applied already/);
    expect((await admin.showMerchant('shop-2')).floatFen).toBe(10_000);
  });

  it('the old form without --reference still works and prints the reference it generated', async () => {
    const run = await aircharge(['float', 'topup', 'shop-2', '1.50']);
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/now 101\.50 yuan.*generated reference manual-/) });
  });
});

describe('float import', () => {
  it('applies each transfer of the statement once, run twice; lists duplicates and unknown merchants; exit 2 when rows were left out', async () => {
    const file = join(dir, 'bank.csv');
    writeFileSync(
      file,
      [
        'date,merchant,amount,reference',
        '2026-12-01,shop-1,5000.00,TRF-001',
        '2026-12-01,shop-1,250.50,TRF-002',
        '2026-12-01,nobody,99.00,TRF-003',
        '2026-12-02,shop-2,20,TRF-004',
        '2026-12-02,shop-1,250.50,TRF-002',
        '2026-12-02,coll-1,10,TRF-005',
        '2026-13-02,shop-1,10,TRF-006',
        '',
      ].join('\n'),
    );
    const first = await aircharge(['float', 'import', file, '--json']);
    expect(first.code).toBe(2);
    const r1 = json(first);
    expect(r1.applied.map((r: { reference: string }) => r.reference)).toEqual(['TRF-001', 'TRF-002', 'TRF-004']);
    expect(r1.duplicates.map((r: { line: number }) => r.line)).toEqual([6]); // TRF-002 again inside the file
    expect(r1.unknownMerchants).toEqual([{ line: 4, merchant: 'nobody', amountFen: 9_900, reference: 'TRF-003' }]);
    expect(r1.rejected.map((r: { line: number }) => r.line)).toEqual([7, 8]); // a collector, a bad date
    expect((await admin.showMerchant('shop-1')).floatFen).toBe(525_050);

    const second = await aircharge(['float', 'import', file]);
    expect(second.code).toBe(2);
    expect(second.stdout).toMatch(/^applied 0 transfers \(0\.00 yuan\), 4 duplicates, 1 unknown merchant, 2 rejected rows/);
    expect(second.stdout).toContain('line 4: nobody 99.00 yuan, reference TRF-003');
    expect((await admin.showMerchant('shop-1')).floatFen).toBe(525_050);
    expect((await admin.showMerchant('shop-2')).floatFen).toBe(10_150 + 2_000);
    const topups = (await admin.exportJournal()).filter((e) => e.kind === 'topup' && e.ref?.startsWith('TRF-'));
    expect(topups.map((e) => e.ref)).toEqual(['TRF-001', 'TRF-002', 'TRF-004']);
    expect(topups[0]?.reason).toBe('bank transfer of 2026-12-01');
    expect((await admin.verify()).ok).toBe(true);
  });

  it('exits 0 when every row was applied or a duplicate, and 1 on a file that is not a statement', async () => {
    const clean = join(dir, 'clean.csv');
    writeFileSync(clean, 'date,merchant,amount,reference\n2026-12-03,shop-2,1,TRF-100\n');
    expect((await aircharge(['float', 'import', clean])).code).toBe(0);
    expect((await aircharge(['float', 'import', clean])).code).toBe(0);
    const wrong = join(dir, 'wrong.csv');
    writeFileSync(wrong, 'when,who,how much\n2026-12-03,shop-2,1\n');
    const run = await aircharge(['float', 'import', wrong]);
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining('header must be date,merchant,amount,reference') });
  });
});

describe('collector remit', () => {
  it('is refused on an outlet, above the cash held, and applied once per reference', async () => {
    const outlet = await aircharge(['collector', 'remit', 'shop-1', '1', '--reference', 'X1']);
    expect(outlet).toMatchObject({ code: 1, stderr: expect.stringContaining('is an outlet') });
    const tooMuch = await aircharge(['collector', 'remit', 'coll-1', '1', '--reference', 'X2', '--json']);
    expect(json(tooMuch).error.code).toBe('ERR_CASH');
    const missing = await aircharge(['collector', 'remit', 'coll-1', '1']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--reference');
  });
});

describe('statement', () => {
  it("lists an outlet's top-ups with opening and closing; the CSV keeps fen; exit 1 once the float disagrees with the journal", async () => {
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const run = await aircharge(['statement', 'shop-1', '--from', '2020-01-01', '--to', today, '--json']);
    expect(run.code).toBe(0);
    const s = json(run);
    expect(s).toMatchObject({ merchant: 'shop-1', kind: 'outlet', openingFen: 0, closingFen: 525_050, check: { balanced: true } });
    expect(s.lines.map((l: { receipt: string }) => l.receipt)).toEqual(['TRF-001', 'TRF-002']);
    expect(s.lines.at(-1).balanceFen).toBe(525_050);
    // From a later day on, what came before is the opening balance.
    const later = json(await aircharge(['statement', 'shop-1', '--from', '2099-01-01', '--to', '2099-01-31', '--json']));
    expect(later).toMatchObject({ openingFen: 525_050, lines: [], closingFen: 525_050 });
    const csv = await aircharge(['statement', 'shop-1', '--from', '2020-01-01', '--to', today, '--csv']);
    expect(csv.stdout.split('\n')[0]).toBe('merchant,kind,receipt,local_time,day,amount_yuan,balance_yuan,amount_fen,effect_fen,balance_fen');
    expect(csv.stdout).toMatch(/^shop-1,topup,TRF-001,\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00,\d{4}-\d{2}-\d{2},5000\.00,5000\.00,500000,500000,500000$/m);
    const text = await aircharge(['statement', 'shop-1', '--from', '2020-01-01', '--to', today]);
    expect(text.stdout).toMatch(/^statement of outlet shop-1 .*, 2020-01-01 to \d{4}-\d\d-\d\d \(yuan, float; times \+08:00\)$/m);
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  topup +TRF-001 +5,000\.00 +5,000\.00$/m);
    expect(text.stdout).toContain('checked: the journal agrees with the balance');
    await client.hincrby(keys.merchant('shop-1'), 'floatFen', 1);
    const broken = await aircharge(['statement', 'shop-1', '--from', '2020-01-01', '--to', today]);
    expect(broken).toMatchObject({ code: 1, stdout: expect.stringContaining('NOT BALANCED') });
    await client.hincrby(keys.merchant('shop-1'), 'floatFen', -1);
  });
});
