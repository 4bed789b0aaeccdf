/**
 * Report, journal export and verify over books the core really wrote: payments, a correction and
 * declines made through the transaction core on a real redis-server, then the books corrupted one
 * way at a time to show verify names each discrepancy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { createAdmin, reportCsv, reportSummary, type Admin } from '../../src/admin/index.js';
import { RedisBiller, type Biller } from '../../src/biller/index.js';
import { keys } from '../../src/store/keys.js';
import { MASTER_KEY, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

/** The embedded biller, except that posting can be made to fail, as a crashed step 2 would. */
class FlakyBiller implements Biller {
  failing = false;
  constructor(private readonly inner: Biller) {}
  lookup(account: string) {
    return this.inner.lookup(account);
  }
  post(posting: Parameters<Biller['post']>[0]) {
    return this.failing ? Promise.reject(new Error('biller down')) : this.inner.post(posting);
  }
  reverse(reversal: Parameters<Biller['reverse']>[0]) {
    return this.inner.reverse(reversal);
  }
  posting(receipt: string, account: string) {
    return this.inner.posting(receipt, account);
  }
  dayPostings(day: number) {
    return this.inner.dayPostings(day);
  }
}

let net: Network;
let biller: FlakyBiller;
let admin: Admin;
let today: number;
let paid: string[];
let corrected: string;

beforeAll(async () => {
  // The biller needs the network's Redis; it is wired in once the network is up.
  let inner: Biller | undefined;
  biller = new FlakyBiller({
    lookup: (a) => inner!.lookup(a),
    post: (p) => inner!.post(p),
    reverse: (r) => inner!.reverse(r),
    posting: (receipt, account) => inner!.posting(receipt, account),
    dayPostings: (day) => inner!.dayPostings(day),
  });
  net = await startNetwork({ biller });
  inner = new RedisBiller(net.redis);
  admin = createAdmin({ redis: net.redis, masterKey: MASTER_KEY, pendingBoundMs: 60_000 });
  today = admin.businessDay();
});
afterAll(async () => {
  await net.stop();
});

describe('an empty network', () => {
  it('reports zeros and verifies', async () => {
    const report = await admin.dailyReport(today);
    expect(report.outlets).toEqual([]);
    expect(report.collectors).toEqual([]);
    expect(report.total).toEqual({ outlets: 0, collectors: 0, payments: { count: 0, amountFen: 0 }, corrections: { count: 0, amountFen: 0 }, netFen: 0 });
    expect(reportSummary(report)).toBe('0 outlets, 0 payments, ¥0.00 collected');
    expect(await admin.verify()).toMatchObject({ ok: true, discrepancies: [] });
  });
});

describe('books written by the core', () => {
  beforeAll(async () => {
    await seedMerchant(net.admin, 'M1', 100_000, ['A0000001', 'A0000002']);
    await seedMerchant(net.admin, 'M2', 5_000, ['B0000001']);
    await seedMerchant(net.admin, 'M3', 0, []);
    await seedAccounts(net.admin, [
      { account: '5000000001', name: 'Zhang San', arrearsFen: 50_000, periods: [[202609, 30_000], [202610, 20_000]] },
      { account: '5000000002', name: 'Li Si', arrearsFen: 20_000 },
    ]);
    const a1 = new TerminalSession(net, 'A0000001', 'M1');
    const a2 = new TerminalSession(net, 'A0000002', 'M1');
    const b1 = new TerminalSession(net, 'B0000001', 'M2');
    for (const t of [a1, a2, b1]) await t.signIn();
    paid = [];
    for (const [t, account, fen] of [
      [a1, '5000000001', 12_345],
      [a1, '5000000001', 10_000],
      [a2, '5000000002', 5_000],
      [b1, '5000000002', 4_000],
    ] as const) {
      const { response } = await t.pay(account, fen);
      expect(response.result).toBe(ResultCode.APPROVED);
      paid.push(response.receipt);
    }
    // Declined before the biller (no transaction record) and by the biller (a declined one).
    expect((await b1.pay('5000000002', 2_000)).response.result).toBe(ResultCode.FLOAT_SHORT);
    expect((await a2.pay('5000000002', 30_000)).response.result).toBe(ResultCode.OVERPAYMENT);
    const correction = await a1.correct(paid[1]!, '5000000001', 10_000);
    expect(correction.response.result).toBe(ResultCode.APPROVED);
    corrected = correction.response.receipt;
  });

  it('reports the day per outlet and in total', async () => {
    const report = await admin.dailyReport(today);
    const none = { count: 0, amountFen: 0 };
    const outlet = (merchant: string) => ({ merchant, name: `Shop ${merchant}`, kind: 'outlet', remittances: none, openingFen: 0 });
    expect(report.outlets).toEqual([
      {
        ...outlet('M1'),
        payments: { count: 3, amountFen: 27_345 },
        corrections: { count: 1, amountFen: 10_000 },
        netFen: 17_345,
        topups: { count: 1, amountFen: 100_000 },
        closingFen: 100_000 - 17_345,
      },
      {
        ...outlet('M2'),
        payments: { count: 1, amountFen: 4_000 },
        corrections: none,
        netFen: 4_000,
        topups: { count: 1, amountFen: 5_000 },
        closingFen: 1_000,
      },
      { ...outlet('M3'), payments: none, corrections: none, netFen: 0, topups: none, closingFen: 0 },
    ]);
    expect(report.collectors).toEqual([]);
    expect(report.subtotals.outlets).toMatchObject({ active: 2, openingFen: 0, closingFen: 100_000 - 17_345 + 1_000, topups: { count: 2, amountFen: 105_000 } });
    expect(report.total).toEqual({ outlets: 2, collectors: 0, payments: { count: 4, amountFen: 31_345 }, corrections: { count: 1, amountFen: 10_000 }, netFen: 21_345 });
    expect(reportSummary(report)).toBe('2 outlets, 4 payments, ¥213.45 collected');
    expect(reportCsv(report).split('\n')).toEqual([
      'date,merchant,payments,payments_yuan,corrections,corrections_yuan,net_yuan,kind,name,opening_yuan,topups,topups_yuan,' +
        'remittances,remittances_yuan,closing_yuan,payments_fen,corrections_fen,net_fen,opening_fen,topups_fen,remittances_fen,closing_fen',
      `${report.date},M1,3,273.45,1,100.00,173.45,outlet,Shop M1,0.00,1,1000.00,0,0.00,826.55,27345,10000,17345,0,100000,0,82655`,
      `${report.date},M2,1,40.00,0,0.00,40.00,outlet,Shop M2,0.00,1,50.00,0,0.00,10.00,4000,0,4000,0,5000,0,1000`,
      `${report.date},M3,0,0.00,0,0.00,0.00,outlet,Shop M3,0.00,0,0.00,0,0.00,0.00,0,0,0,0,0,0,0`,
      `${report.date},OUTLETS,4,313.45,1,100.00,213.45,outlet,,0.00,2,1050.00,0,0.00,836.55,31345,10000,21345,0,105000,0,83655`,
      `${report.date},COLLECTORS,0,0.00,0,0.00,0.00,collector,,0.00,0,0.00,0,0.00,0.00,0,0,0,0,0,0,0`,
      `${report.date},TOTAL,4,313.45,1,100.00,213.45,,,,0,0.00,0,0.00,,31345,10000,21345,,0,0,`,
      '',
    ]);
    const yesterday = await admin.dailyReport(20200101);
    expect(yesterday.total.payments).toEqual({ count: 0, amountFen: 0 });
    expect(yesterday.outlets).toHaveLength(3);
    // Before anything happened: every balance opened and closed at zero.
    expect(yesterday.outlets.every((o) => o.openingFen === 0 && o.closingFen === 0)).toBe(true);
  });

  it('exports the journal by business day', async () => {
    const entries = await admin.exportJournal(today, today);
    expect(entries.map((e) => `${e.merchant} ${e.kind} ${e.amountFen}`)).toEqual([
      'M1 topup 100000',
      'M1 pay 12345',
      'M1 pay 10000',
      'M1 pay 5000',
      'M1 correct 10000',
      'M2 topup 5000',
      'M2 pay 4000',
    ]);
    expect(entries[4]).toMatchObject({ txn: corrected, original: paid[1], terminal: 'A0000001', day: today });
    expect(entries[1]).toMatchObject({ txn: paid[0], floatFen: 100_000 - 12_345 });
    expect(await admin.exportJournal(today + 1)).toEqual([]);
    expect(await admin.exportJournal(undefined, today - 1)).toEqual([]);
  });

  it('verifies consistent books', async () => {
    const result = await admin.verify();
    expect(result.discrepancies).toEqual([]);
    expect(result).toMatchObject({
      ok: true,
      checked: { merchants: 3, journalEntries: 7, transactions: 6, pending: 0, accounts: 2, bills: 3, postings: 5 },
      unchecked: [],
    });
  });

  /** Applies a corruption, expects verify to name it, then undoes it and expects a clean verify. */
  async function expectCaught(corrupt: () => Promise<unknown>, undo: () => Promise<unknown>, ...patterns: RegExp[]) {
    await corrupt();
    const result = await admin.verify();
    expect(result.ok).toBe(false);
    for (const pattern of patterns) expect(result.discrepancies).toContainEqual(expect.stringMatching(pattern));
    await undo();
    expect((await admin.verify()).discrepancies).toEqual([]);
  }

  it('catches a float changed behind the journal', async () => {
    await expectCaught(
      () => net.redis.hincrby(keys.merchant('M2'), 'floatFen', 1),
      () => net.redis.hincrby(keys.merchant('M2'), 'floatFen', -1),
      /^merchant M2: float is 10\.01 but top-ups 50\.00 − payments 40\.00 \+ corrections 0\.00 − pending 0\.00 = 10\.00$/,
    );
  });

  it('catches a completed payment missing at the biller', async () => {
    const posting = keys.posting('5000000002', paid[3]!);
    const saved = await net.redis.hgetall(posting);
    await expectCaught(
      () => net.redis.del(posting),
      () => net.redis.hset(posting, saved),
      new RegExp(`^merchant M2: pay ${paid[3]} is complete but has no payment at the biller`),
    );
  });

  it('catches a posting at the biller that no transaction made', async () => {
    const receipt = 'B00000010000000099';
    await expectCaught(
      async () => {
        await net.redis.hset(keys.posting('5000000002', receipt), { kind: 'payment', amountFen: 100, result: 0, at: Date.now() });
        await net.redis.zadd(keys.postings('5000000002'), Date.now(), receipt);
      },
      async () => {
        await net.redis.del(keys.posting('5000000002', receipt));
        await net.redis.zrem(keys.postings('5000000002'), receipt);
      },
      new RegExp(`^account 5000000002: payment ${receipt} of 100 fen matches no transaction`),
      new RegExp(`^account 5000000002: payment ${receipt} of 1\\.00 cleared 0\\.00 off bills$`),
    );
  });

  it('catches the paid figure of a bill changed behind the postings, and day counters behind the journal', async () => {
    const bills = keys.bills('5000000001');
    const record = (await net.redis.hget(bills, 'B202609'))!;
    await expectCaught(
      () => net.redis.hset(bills, 'B202609', record.replace(/\|12345$/, '|12340')),
      () => net.redis.hset(bills, 'B202609', record),
      /^account 5000000001: bill B202609 shows 123\.40 paid, its postings 123\.45$/,
    );
    await expectCaught(
      () => net.redis.hincrby(keys.day('M1', today), 'payFen', 1),
      () => net.redis.hincrby(keys.day('M1', today), 'payFen', -1),
      new RegExp(`^merchant M1: day ${today} counters \\(payments 3/27346 fen`),
    );
  });

  it('names the account when a bill paid against or a posting is wiped in Redis', async () => {
    const bills = keys.bills('5000000001');
    const record = (await net.redis.hget(bills, 'B202609'))!;
    await expectCaught(
      () => net.redis.hdel(bills, 'B202609'),
      () => net.redis.hset(bills, 'B202609', record),
      new RegExp(`^account 5000000001: payment ${paid[0]} cleared 123\\.45 off bill B202609, which the biller no longer holds$`),
    );
    const posting = keys.posting('5000000001', paid[0]!);
    const saved = await net.redis.hgetall(posting);
    await expectCaught(
      () => net.redis.del(posting),
      () => net.redis.hset(posting, saved),
      new RegExp(`^account 5000000001: posting ${paid[0]} is listed but its record is gone$`),
      /^account 5000000001: bill B202609 shows 123\.45 paid, its postings 0\.00$/,
    );
  });

  it('names each account it could not check, and why', async () => {
    await net.redis.sadd(keys.accounts(), '5000000009');
    const bills = keys.bills('5000000002');
    const record = (await net.redis.hget(bills, 'B202609'))!;
    await net.redis.hset(bills, 'B202609', 'garbage');
    const result = await admin.verify();
    expect(result.ok).toBe(false);
    expect(result.unchecked).toEqual([
      { account: '5000000002', why: 'the record of bill B202609 does not read' },
      { account: '5000000009', why: 'in the accounts list but its account record is gone' },
    ]);
    await net.redis.srem(keys.accounts(), '5000000009');
    await net.redis.hset(bills, 'B202609', record);
    expect(await admin.verify()).toMatchObject({ ok: true, unchecked: [] });
  });

  it('catches a payment journaled twice', async () => {
    let extra = '';
    await expectCaught(
      async () => {
        extra = await net.redis.xadd(keys.journal('M2'), '*', 'kind', 'pay', 'txn', paid[3]!, 'terminal', 'B0000001', 'amountFen', 4000, 'floatFen', 1000, 'day', today, 'ts', Date.now()) ?? '';
      },
      () => net.redis.xdel(keys.journal('M2'), extra),
      new RegExp(`^merchant M2: pay ${paid[3]} is complete but has 2 journal entries`),
      /^merchant M2: float is 10\.00 but .* = -30\.00$/,
    );
  });

  it('counts a pending payment against the float, and reports it once it outlives the bound', async () => {
    const a1 = new TerminalSession(net, 'A0000001', 'M1');
    await a1.signIn();
    biller.failing = true;
    await expect(a1.pay('5000000002', 1_000, { now: Date.now() - 120_000 })).rejects.toThrow();
    biller.failing = false;
    const stale = await admin.verify();
    expect(stale.checked.pending).toBe(1);
    expect(stale.discrepancies).toEqual([expect.stringMatching(/^merchant M1: pay A0000001\d{10} has been pending for 1[12]\d s \(bound 60 s\)/)]);
    expect(await net.core.recover(Date.now())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect(await admin.verify()).toMatchObject({ ok: true, checked: { pending: 0, transactions: 7 } });
  });
});
