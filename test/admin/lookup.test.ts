/**
 * Finding a payment: the core writes the lookup index with each PAY and CORRECT (declines
 * included, also those declined before a transaction existed), and `txn show` / `txn find` read it,
 * through the library and as CLI processes, against a real redis-server.
 */
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import type { FindPage, TxnDetail } from '../../src/admin/index.js';
import { seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

const ACCOUNT = '0000000101';
const OTHER = '0000000102';
// 2026-12-03 10:00 local (UTC+8), and the next business day.
const DAY1 = Date.UTC(2026, 11, 3, 2, 0, 0);
const DAY2 = DAY1 + 86_400_000;

let net: Network;
let t1: TerminalSession;
let t2: TerminalSession;
let t3: TerminalSession;
const receipts: Record<string, string> = {};

const aircharge = (args: string[]): Promise<CliRun> => runAircharge(args, { REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: '' });

beforeAll(async () => {
  net = await startNetwork();
  await seedAccounts(net.admin, [
    { account: ACCOUNT, name: 'Wang Fang', arrearsFen: 50_000 },
    { account: OTHER, name: 'Li Si', arrearsFen: 1_000 },
  ]);
  await seedMerchant(net.admin, 'shop-a', 20_000, ['LKA00001', 'LKA00002']);
  await seedMerchant(net.admin, 'shop-b', 100, ['LKB00001']);
  t1 = new TerminalSession(net, 'LKA00001', 'shop-a');
  t2 = new TerminalSession(net, 'LKA00002', 'shop-a');
  t3 = new TerminalSession(net, 'LKB00001', 'shop-b');
  for (const t of [t1, t2, t3]) await t.signIn();
  const paid = await t1.pay(ACCOUNT, 1_000, { now: DAY1 });
  receipts.paid = paid.response.receipt;
  receipts.corrected = (await t1.pay(ACCOUNT, 2_000, { now: DAY1 + 1000 })).response.receipt;
  receipts.correction = (await t1.correct(receipts.corrected, ACCOUNT, 2_000, { now: DAY1 + 2000 })).response.receipt;
  receipts.other = (await t2.pay(OTHER, 300, { now: DAY1 + 3000 })).response.receipt;
  // Declined before a transaction: the float is short at shop-b (1 yuan).
  const short = await t3.pay(ACCOUNT, 5_000, { now: DAY2 });
  expect(short.response.result).toBe(ResultCode.FLOAT_SHORT);
  receipts.short = `LKB00001${String(t3.seq).padStart(10, '0')}`;
  // Declined by the biller after the reservation: more than the arrears.
  const over = await t2.pay(OTHER, 5_000, { now: DAY2 + 1000 });
  expect(over.response.result).toBe(ResultCode.OVERPAYMENT);
  receipts.over = `LKA00002${String(t2.seq).padStart(10, '0')}`;
  receipts.day2 = (await t1.pay(ACCOUNT, 100, { now: DAY2 + 2000 })).response.receipt;
});
afterAll(async () => {
  await net.stop();
});

describe('txn show', () => {
  it('names every fact of a corrected payment: state, result, local time, merchant, account holder, posting, its correction, seq', async () => {
    const txn = await net.admin.showTxn(receipts.corrected!);
    expect(txn).toMatchObject({
      receipt: receipts.corrected,
      kind: 'pay',
      state: 'complete',
      result: { code: ResultCode.APPROVED, name: 'APPROVED' },
      declinedEarly: false,
      merchantId: 'shop-a',
      merchantName: 'Shop shop-a',
      terminalId: 'LKA00001',
      account: ACCOUNT,
      accountName: 'Wang Fang',
      amountFen: 2_000,
      businessDay: 20261203,
      createdAt: DAY1 + 1000,
      createdLocal: '2026-12-03 10:00:01 +08:00',
      correctedBy: receipts.correction,
      origin: 'terminal',
      request: { state: 'pending', type: 0x04 },
    });
    expect(txn.seq).toBe(Number(receipts.corrected!.slice(8)));
    expect(txn.posting).toMatchObject({ kind: 'payment', amountFen: 2_000, reversedBy: receipts.correction });
    expect(await net.admin.showTxn(receipts.correction!)).toMatchObject({ kind: 'correct', original: receipts.corrected, state: 'complete' });
  });

  it('finds a decline made before any transaction existed, with the float it saw', async () => {
    const txn = await net.admin.showTxn(receipts.short!);
    expect(txn).toMatchObject({ state: 'declined', declinedEarly: true, result: { name: 'FLOAT_SHORT' }, floatAfterFen: 100, account: ACCOUNT, amountFen: 5_000, posting: null });
    expect(await net.admin.showTxn(receipts.over!)).toMatchObject({ state: 'declined', declinedEarly: false, result: { name: 'OVERPAYMENT' } });
  });

  it('is NOT_FOUND for an unknown receipt and INVALID for a malformed one', async () => {
    await expect(net.admin.showTxn('LKA000019999999999')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(net.admin.showTxn('ZZZ000010000000001')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(net.admin.showTxn('bad')).rejects.toMatchObject({ code: 'ERR_INVALID' });
  });
});

describe('txn find', () => {
  const ids = (page: FindPage) => page.transactions.map((t) => t.receipt);

  it('by account across merchants, newest first, declines included', async () => {
    expect(ids(await net.admin.findTxns({ account: ACCOUNT }))).toEqual([receipts.day2, receipts.short, receipts.correction, receipts.corrected, receipts.paid]);
    expect(ids(await net.admin.findTxns({ account: ACCOUNT, declined: true }))).toEqual([receipts.short]);
  });

  it('by terminal, merchant and day, and only declines', async () => {
    expect(ids(await net.admin.findTxns({ terminal: 'LKA00002' }))).toEqual([receipts.over, receipts.other]);
    expect(ids(await net.admin.findTxns({ merchant: 'shop-a', day: 20261203 }))).toEqual([receipts.other, receipts.correction, receipts.corrected, receipts.paid]);
    expect(ids(await net.admin.findTxns({ day: 20261204 }))).toEqual([receipts.day2, receipts.over, receipts.short]);
    expect(ids(await net.admin.findTxns({ day: 20261204, declined: true }))).toEqual([receipts.over, receipts.short]);
    expect(ids(await net.admin.findTxns({ terminal: 'LKA00002', declined: true }))).toEqual([receipts.over]);
    expect(ids(await net.admin.findTxns({ merchant: 'shop-b', declined: true }))).toEqual([receipts.short]);
    expect(ids(await net.admin.findTxns({ day: 20261205 }))).toEqual([]);
  });

  it('pages with a cursor: every transaction once, in order, also through ties in the same millisecond', async () => {
    const t4 = new TerminalSession(net, 'LKA00001', 'shop-a');
    await t4.signIn();
    const tie = DAY2 + 5000;
    const tied = [];
    for (let i = 0; i < 5; i++) tied.push((await t4.pay(OTHER, 10, { now: tie })).response.receipt);
    const all = ids(await net.admin.findTxns({ merchant: 'shop-a', limit: 1000 }));
    expect(all.slice(0, 5)).toEqual([...tied].reverse());
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < 20; n++) {
      const page = await net.admin.findTxns({ merchant: 'shop-a', limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      paged.push(...ids(page));
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    expect(paged).toEqual(all);
  });

  it('pages a day across every merchant one entry at a time, through ties on several terminals in the same millisecond', async () => {
    // The business day before the others (so their newest-first lists stay as they are): three terminals of two merchants pay in the same ms.
    const tie = DAY1 - 86_400_000 + 7000;
    const [a1, a2, b1] = [new TerminalSession(net, 'LKA00001', 'shop-a'), new TerminalSession(net, 'LKA00002', 'shop-a'), new TerminalSession(net, 'LKB00001', 'shop-b')];
    for (const t of [a1, a2, b1]) await t.signIn();
    const tied: string[] = [];
    for (const t of [a1, a2, a1, b1, a2]) {
      const paid = await t.pay(OTHER, 1, { now: tie });
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      tied.push(paid.response.receipt);
    }
    tied.push((await a1.pay(OTHER, 1, { now: tie - 1 })).response.receipt);
    // Newest first: same score, receipts descending; then the one a millisecond older.
    const expected = [...tied.slice(0, 5)].sort().reverse().concat(tied[5]!);
    expect(ids(await net.admin.findTxns({ day: 20261202, limit: 1000 }))).toEqual(expected);
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < 20; n++) {
      const page = await net.admin.findTxns({ day: 20261202, limit: 1, ...(cursor === undefined ? {} : { cursor }) });
      paged.push(...ids(page));
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    expect(paged).toEqual(expected);
  });

  it('refuses a query naming nothing or two things, and a bad cursor', async () => {
    await expect(net.admin.findTxns({})).rejects.toMatchObject({ code: 'ERR_INVALID' });
    await expect(net.admin.findTxns({ account: ACCOUNT, terminal: 'LKA00001' })).rejects.toMatchObject({ code: 'ERR_INVALID' });
    await expect(net.admin.findTxns({ account: ACCOUNT, cursor: 'x' })).rejects.toMatchObject({ code: 'ERR_INVALID' });
    await expect(net.admin.findTxns({ terminal: 'NOPE0000' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});

describe('txn CLI', () => {
  it('shows by name in text and JSON, finds as CSV and JSON', async () => {
    const text = await aircharge(['txn', 'show', receipts.corrected!]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('state         complete');
    expect(text.stdout).toContain('result        APPROVED (0x00)');
    expect(text.stdout).toContain('time          2026-12-03 10:00:01 +08:00');
    expect(text.stdout).toContain(`corrected by  ${receipts.correction}`);
    expect(text.stdout).toContain('account       0000000101 Wang Fang');
    // The biller's posting (booked when the biller took it, local time) and the request record, in words.
    expect(text.stdout).toMatch(/^posting +payment 20\.00 yuan, APPROVED, booked \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00, arrears after 470\.00 yuan, bills cleared \S+ \(\d{4}-\d\d\) [\d.]+/m);
    expect(text.stdout).toContain(`reversed by ${receipts.correction}`);
    expect(text.stdout).toMatch(/^request +PAY seq \d+ kept for retransmissions, answered from this transaction$/m);
    const declined = await aircharge(['txn', 'show', receipts.short!]);
    expect(declined.stdout).toContain('posting       none at the embedded biller');
    expect(declined.stdout).toMatch(/^request +PAY seq \d+ kept for retransmissions, answered from the answer stored then$/m);
    const shown = JSON.parse((await aircharge(['txn', 'show', receipts.short!, '--json'])).stdout) as TxnDetail;
    expect(shown).toMatchObject({ state: 'declined', result: { name: 'FLOAT_SHORT' } });

    const csv = (await aircharge(['txn', 'find', '--account', ACCOUNT, '--csv', '--declined'])).stdout.trim().split('\n');
    expect(csv[0]).toBe('receipt,local_time,kind,state,result,merchant,terminal,seq,account,amount_fen,amount_yuan,business_day,original,corrected_by,reversed_by,origin');
    expect(csv[1]).toContain(`${receipts.short},2026-12-04 10:00:00 +08:00,pay,declined,FLOAT_SHORT,shop-b,LKB00001,`);
    expect(csv[1]).toContain(',5000,50.00,20261204,');
    const page = JSON.parse((await aircharge(['txn', 'find', '--terminal', 'LKA00002', '--json', '--limit', '1'])).stdout) as FindPage;
    expect(page.transactions.map((t) => t.receipt)).toEqual([receipts.over]);
    expect(page.cursor).not.toBeNull();
    const unknown = await aircharge(['txn', 'show', 'LKA000019999999999', '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } });
  }, 120_000); // five CLI processes: slow on a loaded machine
});
