/**
 * The bill extract's rules, one by one, on a real redis-server with payments made through the
 * transaction core: idempotent by bill id, new bills add, paid bills are never reset, cancelled
 * bills leave the arrears only when nothing was paid against them, postings are never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { AdminErrorCode, createAdmin } from '../../src/admin/index.js';
import { keys } from '../../src/store/keys.js';
import { seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

const HEADER = 'account,name,bill_id,period,amount,issue_date,status';
const row = (account: string, billId: string, period: number, yuan: string, status = 'open', name = 'Wang Wu') =>
  `${account},${name},${billId},${period},${yuan},${String(period).slice(0, 4)}-${String(period).slice(4)}-05,${status}`;
const extract = (...rows: string[]) => [HEADER, ...rows].join('\n');

let net: Network;
let terminal: TerminalSession;
const arrears = async (account: string) => (await net.admin.showAccount(account)).arrearsFen;
const pay = async (account: string, fen: number) => {
  const { response } = await terminal.pay(account, fen);
  expect(response.result).toBe(ResultCode.APPROVED);
  return response.receipt;
};
const conflict = async (csv: string) => {
  const error = (await net.admin.importAccounts(csv).catch((e: unknown) => e)) as { code: string; details: string[] };
  expect(error.code).toBe(AdminErrorCode.CONFLICT);
  return error.details;
};
/** Every posting record of an account, as stored: an import must leave them byte for byte. */
const postingRecords = async (account: string) => {
  const receipts = await net.redis.zrange(keys.postings(account), 0, -1);
  return Promise.all(receipts.map(async (r) => [r, await net.redis.hgetall(keys.posting(account, r))]));
};

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'B1', 10_000_000, ['BILL0001']);
  terminal = new TerminalSession(net, 'BILL0001', 'B1');
  await terminal.signIn();
});
afterAll(async () => {
  await net.stop();
});

describe('accounts import, bill by bill', () => {
  it('is idempotent by bill id: the same file again changes nothing', async () => {
    const csv = extract(row('7100000001', 'A1', 202608, '10.00'), row('7100000001', 'A2', 202609, '20.00'));
    expect(await net.admin.importAccounts(csv)).toEqual({ accounts: 1, newAccounts: 1, billsAdded: 2, billsChanged: 0, billsUnchanged: 0 });
    expect(await net.admin.importAccounts(csv)).toEqual({ accounts: 1, newAccounts: 0, billsAdded: 0, billsChanged: 0, billsUnchanged: 2 });
    expect(await arrears('7100000001')).toBe(3_000);
  });

  it('a new bill adds to the arrears, also after a payment, and bills missing from the file stay', async () => {
    await pay('7100000001', 1_500);
    expect(await net.admin.importAccounts(extract(row('7100000001', 'A3', 202610, '5.00')))).toMatchObject({ billsAdded: 1 });
    expect(await arrears('7100000001')).toBe(1_500 + 500);
    expect((await net.admin.showAccount('7100000001')).bills.map((b) => [b.billId, b.paidFen])).toEqual([['A1', 1_000], ['A2', 500], ['A3', 0]]);
  });

  it('a bill paid in part or in full is never reset: a changed amount is a conflict, listed, and nothing from the file is written', async () => {
    const before = await postingRecords('7100000001');
    const details = await conflict(
      extract(
        row('7100000001', 'A1', 202608, '12.00'), // paid in full, amount changed
        row('7100000001', 'A2', 202609, '20.00'), // unchanged
        row('7100000001', 'A3', 202610, '6.00'), // unpaid, changed: would be taken alone
        row('7100000002', 'C1', 202609, '9.00'), // a new account: would be added alone
      ),
    );
    expect(details).toEqual([expect.stringMatching(/^account 7100000001 bill A1: 10.00 yuan paid against it here, and the file changes its amount/)]);
    expect(await arrears('7100000001')).toBe(2_000);
    await expect(net.admin.showAccount('7100000002')).rejects.toMatchObject({ code: AdminErrorCode.NOT_FOUND });
    // In part: A2 has 5.00 paid; a period moved is a change too.
    expect(await conflict(extract(row('7100000001', 'A2', 202607, '20.00')))).toEqual([expect.stringMatching(/^account 7100000001 bill A2: 5.00 yuan paid/)]);
    expect(await postingRecords('7100000001')).toEqual(before);
  });

  it('a cancelled bill nothing was paid against leaves the arrears; one paid against is a conflict', async () => {
    expect(await net.admin.importAccounts(extract(row('7100000001', 'A3', 202610, '5.00', 'cancelled')))).toMatchObject({ billsChanged: 1 });
    expect(await arrears('7100000001')).toBe(1_500);
    const before = await postingRecords('7100000001');
    expect(await conflict(extract(row('7100000001', 'A2', 202609, '20.00', 'cancelled')))).toEqual([
      expect.stringMatching(/^account 7100000001 bill A2: 5.00 yuan paid against it here, and the file cancels it/),
    ]);
    expect(await arrears('7100000001')).toBe(1_500);
    // A bill cancelled before it was ever held is recorded cancelled and owes nothing.
    await net.admin.importAccounts(extract(row('7100000003', 'D1', 202609, '7.00', 'cancelled')));
    expect(await arrears('7100000003')).toBe(0);
    expect(await postingRecords('7100000001')).toEqual(before);
    expect(await net.admin.verify()).toMatchObject({ ok: true, unchecked: [] });
  });

  it('a reversal restores exactly the bills its payment cleared, even with an older bill imported in between', async () => {
    await net.admin.importAccounts(extract(row('7100000004', 'E2', 202609, '30.00')));
    const receipt = await pay('7100000004', 1_000);
    await net.admin.importAccounts(extract(row('7100000004', 'E1', 202608, '4.00')));
    const { response } = await terminal.correct(receipt, '7100000004', 1_000);
    expect(response.result).toBe(ResultCode.APPROVED);
    const account = await net.admin.showAccount('7100000004');
    expect(account.bills.map((b) => [b.billId, b.paidFen])).toEqual([['E1', 0], ['E2', 0]]);
    expect(account.arrearsFen).toBe(3_400);
    expect(account.postings.map((p) => [p.kind, p.receipt === receipt ? 'paid' : p.original === receipt ? 'reverses it' : '?', p.bills])).toEqual([
      ['payment', 'paid', [{ billId: 'E2', period: 202609, amountFen: 1_000 }]],
      ['reversal', 'reverses it', [{ billId: 'E2', period: 202609, amountFen: 1_000 }]],
    ]);
  });

  it('names an account that is closed or reopened by account_status, and keeps its status when the column is empty', async () => {
    await net.admin.importAccounts(`${HEADER},account_status\n${row('7100000005', 'F1', 202609, '1.00')},closed`);
    expect(await net.admin.showAccount('7100000005')).toMatchObject({ status: 'closed', arrearsFen: 100 });
    await net.admin.importAccounts(`${HEADER},account_status\n${row('7100000005', 'F1', 202609, '1.00')},`);
    expect((await net.admin.showAccount('7100000005')).status).toBe('closed');
    await net.admin.importAccounts(`${HEADER},account_status\n7100000005,Wang Wu,,,,,,open`);
    expect(await net.admin.showAccount('7100000005')).toMatchObject({ status: 'open', arrearsFen: 100 });
  });
});

describe('the bills are sealed', () => {
  it('names the account when a bill nothing was paid against is wiped or rewritten in Redis', async () => {
    await net.admin.importAccounts(extract(row('7300000001', 'S1', 202609, '50.00'), row('7300000001', 'S2', 202610, '60.00')));
    expect(await net.admin.verify()).toMatchObject({ ok: true, unchecked: [] });
    const bills = keys.bills('7300000001');
    const record = (await net.redis.hget(bills, 'S2'))!;
    const sealBroken = /^account 7300000001: its bills do not match their seal/;

    await net.redis.hdel(bills, 'S2'); // the attacker owes ¥60.00 less
    expect(await arrears('7300000001')).toBe(5_000);
    let result = await net.admin.verify();
    expect(result.ok).toBe(false);
    expect(result.discrepancies).toContainEqual(expect.stringMatching(sealBroken));

    await net.redis.hset(bills, 'S2', record.replace('|6000|', '|600|'));
    expect((await net.admin.verify()).discrepancies).toContainEqual(expect.stringMatching(sealBroken));
    await net.redis.hset(bills, 'S2', record.replace('|open|', '|cancelled|'));
    expect((await net.admin.verify()).discrepancies).toContainEqual(expect.stringMatching(sealBroken));

    await net.redis.hset(bills, 'S2', record);
    result = await net.admin.verify();
    expect(result).toMatchObject({ ok: true, unchecked: [] });

    // A seal wiped with the bill is no way out: the account is named as one verify cannot check.
    await net.redis.hdel(keys.account('7300000001'), 'billsMac');
    expect((await net.admin.verify()).unchecked).toEqual([{ account: '7300000001', why: expect.stringMatching(/^its bills carry no seal/) }]);
    await net.admin.importAccounts(extract(row('7300000001', 'S1', 202609, '50.00')));
    expect(await net.admin.verify()).toMatchObject({ ok: true, unchecked: [] });
  });

  it('an import needs the master key, which seals what it writes', async () => {
    const keyless = createAdmin({ redis: net.redis, operator: 'test' });
    await expect(keyless.importAccounts(extract(row('7300000002', 'K1', 202609, '1.00')))).rejects.toMatchObject({ code: AdminErrorCode.MASTER_KEY });
    expect(await net.redis.exists(keys.account('7300000002'))).toBe(0);
  });
});

describe('the extract is checked whole', () => {
  it('reports every bad row by line number and imports nothing', async () => {
    const csv = extract(
      row('7200000001', 'G1', 202609, '1.00'),
      row('12345', 'G1', 202609, '1.00'),
      row('7200000003', 'G:1', 202609, '1.00'),
      '7200000004,Wang Wu,G1,202613,1.00,2026-12-05,open',
      row('7200000005', 'G1', 202609, '1.234'),
      row('7200000006', 'G1', 202609, '0'),
      '7200000007,Wang Wu,G1,202609,1.00,2026-02-30,open',
      row('7200000008', 'G1', 202609, '1.00', 'paid'),
      row('7200000001', 'G1', 202610, '1.00'),
      row('7200000001', 'G2', 202610, '1.00', 'open', 'Someone Else'),
      '7200000011,Too,Many,Fields',
    );
    const error = (await net.admin.importAccounts(csv).catch((e: unknown) => e)) as { code: string; details: string[] };
    expect(error.code).toBe(AdminErrorCode.CSV);
    expect(error.details.map((d) => Number(/^line (\d+)/.exec(d)?.[1]))).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(error.details.join('\n')).toMatch(/bill G1 of account 7200000001 already on line 2[\s\S]*name "Someone Else" differs from line 2[\s\S]*4 fields, the header has 7/);
    expect(await net.redis.exists(keys.account('7200000001'))).toBe(0);
  });

  it('refuses the old arrears format, saying why and what to send instead', async () => {
    const error = (await net.admin.importAccounts('account,name,arrears\n7200000001,Wang Wu,10.00\n').catch((e: unknown) => e)) as { code: string; message: string };
    expect(error.code).toBe(AdminErrorCode.CSV);
    expect(error.message).toContain('old accounts format');
    expect(error.message).toContain('account,name,bill_id,period,amount,issue_date,status');
    await expect(net.admin.importAccounts('')).rejects.toMatchObject({ code: AdminErrorCode.CSV });
    await expect(net.admin.importAccounts(`${HEADER},colour\n`)).rejects.toMatchObject({ code: AdminErrorCode.CSV });
  });
});
