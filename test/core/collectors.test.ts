/**
 * Collectors through the real core: a payment raises the cash held instead of debiting a float,
 * the cash limit declines PAY with CASH_LIMIT (at the exact boundary), a correction lowers the cash
 * (never below zero), a remittance hands it in once per reference, and verify, the daily report and
 * SETTLE cover it all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode, TxnFlag } from '../../protocol/constants.js';
import { emptyResponse } from '../../protocol/index.js';
import { AdminError, AdminErrorCode, reportSummary } from '../../src/admin/index.js';
import { keys } from '../../src/store/keys.js';
import { seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;
let t: TerminalSession;
const cash = (id = 'C1') => net.admin.showMerchant(id).then((m) => m.cashFen);
const LIMIT = 100_000; // ¥1,000

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AdminError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AdminError);
  expect((error as AdminError).code).toBe(code);
  return error as AdminError;
}

beforeAll(async () => {
  net = await startNetwork();
  await net.admin.addMerchant('C1', '李师傅', { kind: 'collector', cashLimitFen: LIMIT });
  await net.admin.addTerminal('C0000001', 'C1');
  await seedMerchant(net.admin, 'S1', 1_000_000, ['S0000001']);
  await seedAccounts(net.admin, [
    { account: '7000000001', name: '王小二', arrearsFen: 10_000_000, periods: [[202609, 60_000], [202610, 9_940_000]] },
    { account: '7000000002', name: 'Small', arrearsFen: 50 },
  ]);
  t = new TerminalSession(net, 'C0000001', 'C1');
  await t.signIn();
});
afterAll(() => net.stop());

describe('a collector', () => {
  it('is added with a cash limit and no float; an outlet takes no cash limit, a collector needs one', async () => {
    expect(await net.admin.showMerchant('C1')).toMatchObject({ kind: 'collector', floatFen: 0, cashFen: 0, cashLimitFen: LIMIT });
    expect(await net.admin.showMerchant('S1')).toMatchObject({ kind: 'outlet', cashFen: 0, cashLimitFen: 0 });
    await rejectsWith(net.admin.addMerchant('C9', 'x', { kind: 'collector' }), AdminErrorCode.AMOUNT);
    await rejectsWith(net.admin.addMerchant('S9', 'x', { cashLimitFen: 100 }), AdminErrorCode.INVALID);
    await rejectsWith(net.admin.topUp('C1', 100, { reference: 'T1' }), AdminErrorCode.KIND);
  });

  it('signs in; each payment raises the cash held and the answer carries it, the receipt data and no float', async () => {
    const { response } = await t.pay('7000000001', 60_000);
    expect(response).toMatchObject({
      result: ResultCode.APPROVED,
      floatFen: 0,
      cashHeldFen: 60_000,
      flags: 0,
      holderName: '王*二',
      periods: [{ period: 202609, amountFen: 60_000 }],
    });
    expect(await cash()).toBe(60_000);
    const entry = (await net.redis.xrange(keys.journal('C1'), '-', '+')).at(-1)?.[1] ?? [];
    expect(entry).toEqual(expect.arrayContaining(['kind', 'pay', 'cashFen', '60000']));
    expect(entry).not.toContain('floatFen');
  });

  it('is declined CASH_LIMIT one fen past the limit, approved exactly at it (CASH_NEAR_LIMIT set)', async () => {
    const over = await t.pay('7000000001', LIMIT - 60_000 + 1);
    expect(over.response).toEqual({ ...emptyResponse(MessageType.PAY_RESPONSE, ResultCode.CASH_LIMIT), cashHeldFen: 60_000 });
    expect(await cash()).toBe(60_000);
    const retransmitted = await t.pay('7000000001', LIMIT - 60_000 + 1, { seq: t.seq });
    expect(retransmitted).toEqual({ response: over.response, replayed: true });
    const exact = await t.pay('7000000001', LIMIT - 60_000);
    expect(exact.response).toMatchObject({ result: ResultCode.APPROVED, cashHeldFen: LIMIT, flags: TxnFlag.CASH_NEAR_LIMIT });
    expect(await cash()).toBe(LIMIT);
    expect((await t.pay('7000000001', 1)).response.result).toBe(ResultCode.CASH_LIMIT);
  });

  it('a payment the biller declines gives the cash room back', async () => {
    await net.admin.remit('C1', 10_000, { reference: 'R-DECLINE' });
    const before = await cash();
    expect((await t.pay('7000000002', 51)).response.result).toBe(ResultCode.OVERPAYMENT);
    expect(await cash()).toBe(before);
  });

  it('a correction lowers the cash held; one that would take it below zero is declined CASH_LIMIT', async () => {
    const paid = await t.pay('7000000001', 5_000);
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    const before = await cash();
    const corrected = await t.correct(paid.response.receipt, '7000000001', 5_000);
    expect(corrected.response).toMatchObject({ result: ResultCode.APPROVED, cashHeldFen: before - 5_000, floatFen: 0 });
    expect(await cash()).toBe(before - 5_000);

    // Hand in everything, then a correction of an earlier payment has no cash to give back.
    const another = await t.pay('7000000001', 3_000);
    await net.admin.remit('C1', await cash(), { reference: 'R-ALL', reason: 'end of round' });
    expect(await cash()).toBe(0);
    const refused = await t.correct(another.response.receipt, '7000000001', 3_000);
    expect(refused.response).toEqual(emptyResponse(MessageType.CORRECT_RESPONSE, ResultCode.CASH_LIMIT));
    expect(await cash()).toBe(0);
  });

  it('remits once per reference and never below zero', async () => {
    await t.pay('7000000001', 20_000);
    const first = await net.admin.remit('C1', 15_000, { reference: 'OFFICE-0001', reason: 'counter 2' });
    expect(first).toMatchObject({ cashFen: 5_000, reference: 'OFFICE-0001', reason: 'counter 2' });
    const again = await rejectsWith(net.admin.remit('C1', 15_000, { reference: 'OFFICE-0001' }), AdminErrorCode.DUPLICATE);
    expect(again.details).toEqual([first.entry]);
    expect(await cash()).toBe(5_000);
    await rejectsWith(net.admin.remit('C1', 5_001, { reference: 'OFFICE-0002' }), AdminErrorCode.CASH);
    await rejectsWith(net.admin.remit('S1', 1, { reference: 'OFFICE-0003' }), AdminErrorCode.KIND);
    await rejectsWith(net.admin.remit('C1', 1, { reference: 'has space' }), AdminErrorCode.INVALID);
    expect(await cash()).toBe(5_000);
    const entries = await net.admin.exportJournal();
    const remits = entries.filter((e) => e.kind === 'remit');
    expect(remits.map((e) => [e.ref, e.amountFen])).toEqual([
      ['R-DECLINE', 10_000],
      ['R-ALL', expect.any(Number)],
      ['OFFICE-0001', 15_000],
    ]);
  });

  it('verify proves cash held = payments − corrections − remittances, and catches cash changed behind the journal', async () => {
    expect(await net.admin.verify()).toMatchObject({ ok: true, discrepancies: [] });
    await net.redis.hincrby(keys.merchant('C1'), 'cashFen', 1);
    const broken = await net.admin.verify();
    expect(broken.ok).toBe(false);
    expect(broken.discrepancies.join('\n')).toMatch(/collector C1: cash held is .* but payments/);
    await net.redis.hincrby(keys.merchant('C1'), 'cashFen', -1);
    expect((await net.admin.verify()).ok).toBe(true);
  });

  it('the daily report has a collectors section with its subtotal, and SETTLE balances', async () => {
    const day = net.admin.businessDay();
    const report = await net.admin.dailyReport(day);
    expect(report.outlets.map((o) => o.merchant)).toEqual(['S1']);
    expect(report.collectors).toHaveLength(1);
    const c = report.collectors[0]!;
    expect(c).toMatchObject({ merchant: 'C1', name: '李师傅', kind: 'collector', openingFen: 0, closingFen: await cash() });
    expect(c.remittances.count).toBe(3);
    expect(c.closingFen).toBe(c.openingFen + c.payments.amountFen - c.corrections.amountFen - c.remittances.amountFen);
    expect(report.subtotals.collectors).toMatchObject({ active: 1, payments: c.payments });
    expect(report.total).toMatchObject({ outlets: 0, collectors: 1 });
    expect(reportSummary(report)).toMatch(/^0 outlets and 1 collector, \d+ payments, /);
    const settled = await t.settle({
      businessDay: day,
      payCount: c.payments.count,
      payFen: c.payments.amountFen,
      correctCount: c.corrections.count,
      correctFen: c.corrections.amountFen,
    });
    expect(settled.response.result).toBe(ResultCode.APPROVED);
  });
});
