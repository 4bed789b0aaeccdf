/**
 * The money rules matrix through the protocol: every decline code of PAY and CORRECT, reached by a
 * signed-in terminal over a real socket to a gateway on a real redis-server. After each decline the
 * merchant's float and the account's arrears are what they were, and the declined answer carries
 * the fields PROTOCOL.md §3 gives it. The same rules, step by step inside the core, are in
 * test/core/pay.test.ts and test/core/correct.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/index.js';
import type { TestTerminal } from '../helpers/terminal.js';
import { ACCOUNTS, ARREARS_FEN, arrearsFen, floatFen, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

const ACCOUNT = ACCOUNTS[0]!;
const CLOSED_ACCOUNT = '0000000009';
const SMALL_SHOP = 'shop-small';
const SMALL_FLOAT_FEN = 100;

let network: Network;
let gateway: RunningGateway;
/** A gateway whose business day is 26 hours ahead of `gateway`'s: always another date. */
let tomorrowGateway: RunningGateway;
let terminal: TestTerminal;
let otherTerminal: TestTerminal;
let smallShopTerminal: TestTerminal;

beforeAll(async () => {
  network = await startNetwork();
  await network.admin.importAccounts(`account,name,bill_id,period,amount,issue_date,status,account_status\n${CLOSED_ACCOUNT},Closed Account,B1,202609,10.00,2026-09-05,open,closed\n`);
  await network.admin.addMerchant(SMALL_SHOP, 'Shop with a small float');
  await network.admin.topUp(SMALL_SHOP, SMALL_FLOAT_FEN);
  const small = await network.admin.addTerminal('SMALL001', SMALL_SHOP);

  gateway = await startGateway(network, { businessDay: { utcOffsetMinutes: -720, cutoff: '00:00' } });
  tomorrowGateway = await startGateway(network, { businessDay: { utcOffsetMinutes: 840, cutoff: '00:00' } });
  terminal = await gateway.connect(await network.addTerminal());
  otherTerminal = await gateway.connect(await network.addTerminal());
  smallShopTerminal = await gateway.connect({ terminalId: 'SMALL001', key: Buffer.from(small.key, 'hex') });
  for (const t of [terminal, otherTerminal, smallShopTerminal]) {
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
  }
});
afterAll(async () => {
  for (const t of [terminal, otherTerminal, smallShopTerminal]) t?.cut();
  await gateway?.stop();
  await tomorrowGateway?.stop();
  await network?.stop();
});

/** Runs `act` and asserts that neither the merchant's float nor the account's arrears moved. */
async function unchanged<T>(act: () => Promise<T>): Promise<T> {
  const before = { float: await floatFen(network), arrears: await arrearsFen(network, ACCOUNT) };
  const result = await act();
  expect({ float: await floatFen(network), arrears: await arrearsFen(network, ACCOUNT) }).toEqual(before);
  return result;
}

async function pay(t: TestTerminal, account: string, amountFen: number) {
  return (await t.request(MessageType.PAY, { account, amountFen })).response;
}

async function correct(t: TestTerminal, receipt: string, account: string, amountFen: number) {
  return (await t.request(MessageType.CORRECT, { receipt, account, amountFen })).response;
}

describe('PAY declines, through the protocol', () => {
  it('AMOUNT_INVALID for zero', async () => {
    const answer = await unchanged(() => pay(terminal, ACCOUNT, 0));
    expect(answer).toMatchObject({ result: ResultCode.AMOUNT_INVALID, arrearsFen: 0, floatFen: 0 });
  });

  it('AMOUNT_OVER_LIMIT above the per-payment limit (¥5,000)', async () => {
    const answer = await unchanged(() => pay(terminal, ACCOUNT, 500_001));
    expect(answer.result).toBe(ResultCode.AMOUNT_OVER_LIMIT);
  });

  it('UNKNOWN_ACCOUNT for an account the biller does not hold', async () => {
    const answer = await unchanged(() => pay(terminal, '9999999999', 100));
    expect(answer.result).toBe(ResultCode.UNKNOWN_ACCOUNT);
  });

  it('ACCOUNT_CLOSED for a closed account', async () => {
    const answer = await unchanged(() => pay(terminal, CLOSED_ACCOUNT, 100));
    expect(answer.result).toBe(ResultCode.ACCOUNT_CLOSED);
  });

  it('OVERPAYMENT above the arrears, with what is owed', async () => {
    const answer = await unchanged(() => pay(terminal, ACCOUNT, ARREARS_FEN + 1));
    expect(answer).toMatchObject({ result: ResultCode.OVERPAYMENT, arrearsFen: ARREARS_FEN });
  });

  it('FLOAT_SHORT when the float does not cover the amount, with the float left', async () => {
    const answer = await pay(smallShopTerminal, ACCOUNT, SMALL_FLOAT_FEN + 1);
    expect(answer).toMatchObject({ result: ResultCode.FLOAT_SHORT, floatFen: SMALL_FLOAT_FEN });
    expect((await network.admin.showMerchant(SMALL_SHOP)).floatFen).toBe(SMALL_FLOAT_FEN);
    expect(await arrearsFen(network, ACCOUNT)).toBe(ARREARS_FEN);
  });
});

describe('CORRECT declines, through the protocol', () => {
  let receipt: string;
  const amountFen = 1_000;

  beforeAll(async () => {
    const paid = await pay(terminal, ACCOUNT, amountFen);
    expect(paid.result).toBe(ResultCode.APPROVED);
    receipt = paid.receipt;
  });

  it('ORIGINAL_NOT_FOUND for a receipt that names no payment', async () => {
    const unknown = `${terminal.terminalId}9999999999`;
    const answer = await unchanged(() => correct(terminal, unknown, ACCOUNT, amountFen));
    expect(answer.result).toBe(ResultCode.ORIGINAL_NOT_FOUND);
  });

  it('WRONG_TERMINAL when another terminal of the merchant asks', async () => {
    const answer = await unchanged(() => correct(otherTerminal, receipt, ACCOUNT, amountFen));
    expect(answer.result).toBe(ResultCode.WRONG_TERMINAL);
  });

  it('CORRECTION_MISMATCH when the account or the amount differ', async () => {
    const otherAmount = await unchanged(() => correct(terminal, receipt, ACCOUNT, amountFen + 1));
    expect(otherAmount.result).toBe(ResultCode.CORRECTION_MISMATCH);
    const otherAccount = await unchanged(() => correct(terminal, receipt, ACCOUNTS[1]!, amountFen));
    expect(otherAccount.result).toBe(ResultCode.CORRECTION_MISMATCH);
  });

  it('ORIGINAL_NOT_COMPLETED for a payment that was declined', async () => {
    const declined = await pay(terminal, ACCOUNT, ARREARS_FEN * 2);
    expect(declined.result).toBe(ResultCode.OVERPAYMENT);
    const declinedReceipt = `${terminal.terminalId}${String(terminal.seq).padStart(10, '0')}`;
    const answer = await unchanged(() => correct(terminal, declinedReceipt, ACCOUNT, ARREARS_FEN * 2));
    expect(answer.result).toBe(ResultCode.ORIGINAL_NOT_COMPLETED);
  });

  it('CORRECTION_DAY_CLOSED once the business day of the payment has closed', async () => {
    const tomorrow = await tomorrowGateway.connect({ terminalId: terminal.terminalId, key: terminal.key }, terminal.seq);
    try {
      expect((await tomorrow.signIn()).response.result).toBe(ResultCode.APPROVED);
      const answer = await unchanged(() => correct(tomorrow, receipt, ACCOUNT, amountFen));
      expect(answer.result).toBe(ResultCode.CORRECTION_DAY_CLOSED);
      terminal.seq = tomorrow.seq;
    } finally {
      tomorrow.cut();
    }
    // The sign-in on the other gateway replaced this connection's session: sign in again.
    terminal.cut();
    terminal = await gateway.connect({ terminalId: terminal.terminalId, key: terminal.key }, terminal.seq);
    expect((await terminal.signIn()).response.result).toBe(ResultCode.APPROVED);
  });

  it('APPROVED once, then ALREADY_CORRECTED: the float credited back and the arrears restored once', async () => {
    const before = { float: await floatFen(network), arrears: await arrearsFen(network, ACCOUNT) };
    const first = await correct(terminal, receipt, ACCOUNT, amountFen);
    expect(first.result).toBe(ResultCode.APPROVED);
    expect({ float: await floatFen(network), arrears: await arrearsFen(network, ACCOUNT) })
      .toEqual({ float: before.float + amountFen, arrears: before.arrears + amountFen });
    const again = await unchanged(() => correct(terminal, receipt, ACCOUNT, amountFen));
    expect(again.result).toBe(ResultCode.ALREADY_CORRECTED);
  });
});

describe('a disabled merchant', () => {
  it('MERCHANT_DISABLED for a payment on an open session, nothing moved', async () => {
    const arrearsBefore = await arrearsFen(network, ACCOUNT);
    await network.admin.disableMerchant(SMALL_SHOP);
    const answer = await pay(smallShopTerminal, ACCOUNT, 1);
    expect(answer.result).toBe(ResultCode.MERCHANT_DISABLED);
    expect((await network.admin.showMerchant(SMALL_SHOP)).floatFen).toBe(SMALL_FLOAT_FEN);
    expect(await arrearsFen(network, ACCOUNT)).toBe(arrearsBefore);
  });
});
