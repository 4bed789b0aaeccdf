/** CORRECT: undoes a completed payment once, same terminal, same business day, same account and amount. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/constants.js';
import { emptyResponse, formatReceipt } from '../../protocol/index.js';
import { businessDayOf } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { books, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;
let t1: TerminalSession;
let t2: TerminalSession;
const float = (merchantId: string) => net.admin.showMerchant(merchantId).then((m) => m.floatFen);
const DAY_MS = 86_400_000;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'K1', 1_000_000, ['K0000001', 'K0000002']);
  await seedMerchant(net.admin, 'K2', 1_000_000, ['K0000021']);
  await seedAccounts(net.admin, [
    { account: '3000000001', name: 'Periods', arrearsFen: 30_000, periods: [[202608, 10_000], [202609, 20_000]] },
    { account: '3000000002', name: 'Plain', arrearsFen: 10_000_000 },
    { account: '3000000003', name: 'Small', arrearsFen: 100 },
  ]);
  t1 = new TerminalSession(net, 'K0000001', 'K1');
  t2 = new TerminalSession(net, 'K0000002', 'K1');
  await t1.signIn();
  await t2.signIn();
});
afterAll(() => net.stop());

/** A completed payment of t1's; returns its receipt. */
async function paid(account: string, amountFen: number, now = Date.now()): Promise<string> {
  const outcome = await t1.pay(account, amountFen, { now });
  expect(outcome.response.result).toBe(ResultCode.APPROVED);
  return outcome.response.receipt;
}

describe('correct', () => {
  it('credits the float back, restores the arrears period by period, journals and counts it', async () => {
    const receipt = await paid('3000000001', 15_000);
    expect((await net.admin.showAccount('3000000001')).periods).toEqual([{ period: 202609, amountFen: 15_000 }]);
    const floatBefore = await float('K1');
    const outcome = await t1.correct(receipt, '3000000001', 15_000);
    const businessDay = businessDayOf(Date.now(), undefined);
    expect(outcome).toEqual({
      response: {
        result: ResultCode.APPROVED,
        receipt: formatReceipt('K0000001', t1.seq),
        arrearsFen: 30_000,
        floatFen: floatBefore + 15_000,
        businessDay,
        flags: 0,
        cashHeldFen: 0,
        holderName: 'P*****s', // 'Periods' masked
        // The periods the correction restored: what its payment had cleared.
        periods: [
          { period: 202608, amountFen: 10_000 },
          { period: 202609, amountFen: 5_000 },
        ],
      },
      replayed: false,
    });
    expect(await net.admin.showAccount('3000000001')).toMatchObject({
      arrearsFen: 30_000,
      periods: [
        { period: 202608, amountFen: 10_000 },
        { period: 202609, amountFen: 20_000 },
      ],
    });
    expect(await net.redis.hmget(keys.day('K1', businessDay), 'correctCount', 'correctFen', 'K0000001:correctCount'))
      .toEqual(['1', '15000', '1']);
    expect(await books(net, 'K1')).toMatchObject({ corrections: 15_000, correctionCount: 1, balanced: true });
  });

  it('is idempotent: a retransmission gets the stored answer, a new number ALREADY_CORRECTED; credited once', async () => {
    const receipt = await paid('3000000002', 2_500);
    const first = await t1.correct(receipt, '3000000002', 2_500);
    expect(first.response.result).toBe(ResultCode.APPROVED);
    const floatAfter = await float('K1');
    expect(await t1.correct(receipt, '3000000002', 2_500, { seq: t1.seq })).toEqual({ response: first.response, replayed: true });
    expect((await t1.correct(receipt, '3000000002', 2_500)).response).toEqual(
      emptyResponse(MessageType.CORRECT_RESPONSE, ResultCode.ALREADY_CORRECTED),
    );
    expect(await float('K1')).toBe(floatAfter);
    expect((await books(net, 'K1')).balanced).toBe(true);
  });

  describe('each broken rule has its code and moves nothing', () => {
    async function expectDeclined(outcome: Promise<{ response: { result: number } }>, result: ResultCode) {
      const floatBefore = await float('K1');
      const arrearsBefore = (await net.admin.showAccount('3000000002')).arrearsFen;
      expect((await outcome).response).toEqual(emptyResponse(MessageType.CORRECT_RESPONSE, result));
      expect(await float('K1')).toBe(floatBefore);
      expect((await net.admin.showAccount('3000000002')).arrearsFen).toBe(arrearsBefore);
    }

    it('another terminal of the merchant → WRONG_TERMINAL', async () => {
      const receipt = await paid('3000000002', 100);
      await expectDeclined(t2.correct(receipt, '3000000002', 100), ResultCode.WRONG_TERMINAL);
    });

    it('a payment of an earlier business day → CORRECTION_DAY_CLOSED', async () => {
      const receipt = await paid('3000000002', 100, Date.now() - DAY_MS);
      await expectDeclined(t1.correct(receipt, '3000000002', 100), ResultCode.CORRECTION_DAY_CLOSED);
    });

    it('another account or amount → CORRECTION_MISMATCH', async () => {
      const receipt = await paid('3000000002', 100);
      await expectDeclined(t1.correct(receipt, '3000000001', 100), ResultCode.CORRECTION_MISMATCH);
      await expectDeclined(t1.correct(receipt, '3000000002', 101), ResultCode.CORRECTION_MISMATCH);
    });

    it('an unknown receipt, a correction\'s receipt, or a receipt of another merchant → ORIGINAL_NOT_FOUND', async () => {
      await expectDeclined(t1.correct(formatReceipt('K0000001', 999_999), '3000000002', 100), ResultCode.ORIGINAL_NOT_FOUND);
      const receipt = await paid('3000000002', 100);
      const correction = await t1.correct(receipt, '3000000002', 100);
      await expectDeclined(t1.correct(correction.response.receipt, '3000000002', 100), ResultCode.ORIGINAL_NOT_FOUND);
      const other = new TerminalSession(net, 'K0000021', 'K2');
      await other.signIn();
      const foreign = await other.pay('3000000002', 100);
      expect(foreign.response.result).toBe(ResultCode.APPROVED);
      await expectDeclined(t1.correct(foreign.response.receipt, '3000000002', 100), ResultCode.ORIGINAL_NOT_FOUND);
    });

    it('a declined or still pending payment → ORIGINAL_NOT_COMPLETED', async () => {
      const declined = await t1.pay('3000000003', 200); // overpayment: the biller declines it
      expect(declined.response.result).toBe(ResultCode.OVERPAYMENT);
      await expectDeclined(t1.correct(formatReceipt('K0000001', t1.seq), '3000000003', 200), ResultCode.ORIGINAL_NOT_COMPLETED);
      const req = { account: '3000000002', amountFen: 300 };
      const reserved = await net.core.steps.reservePay(t1.ctx(MessageType.PAY, req), req);
      if (!('pending' in reserved)) throw new Error('not reserved');
      await expectDeclined(t1.correct(reserved.pending.receipt, '3000000002', 300), ResultCode.ORIGINAL_NOT_COMPLETED);
      await net.core.steps.completePay(reserved.pending, await net.core.steps.postPay(reserved.pending));
    });

    it('a payment being corrected under an earlier number → ALREADY_CORRECTED', async () => {
      const receipt = await paid('3000000002', 400);
      const req = { receipt, account: '3000000002', amountFen: 400 };
      const reserved = await net.core.steps.reserveCorrect(t1.ctx(MessageType.CORRECT, req), req);
      if (!('pending' in reserved)) throw new Error('not reserved');
      await expectDeclined(t1.correct(receipt, '3000000002', 400), ResultCode.ALREADY_CORRECTED);
      const done = await net.core.steps.completeCorrect(reserved.pending, await net.core.steps.reverseCorrect(reserved.pending));
      expect(done.response.result).toBe(ResultCode.APPROVED);
      expect((await books(net, 'K1')).balanced).toBe(true);
    });
  });
});
