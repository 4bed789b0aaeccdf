/** STATUS (what became of a sequence number) and SETTLE (the terminal's day against the gateway's). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode, TransactionState } from '../../protocol/constants.js';
import { businessDayOf } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;
let t: TerminalSession;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'S1', 1_000_000, ['S0000001', 'S0000002']);
  await seedAccounts(net.admin, [{ account: '4000000001', name: 'Acc', arrearsFen: 10_000_000 }]);
  t = new TerminalSession(net, 'S0000001', 'S1');
  await t.signIn();
});
afterAll(() => net.stop());

describe('status', () => {
  it('ANSWERED with the original type and its response, for an approved and for a declined payment', async () => {
    const paid = await t.pay('4000000001', 1_500);
    const paySeq = t.seq;
    expect((await t.status(paySeq)).response).toEqual({
      result: ResultCode.APPROVED,
      state: TransactionState.ANSWERED,
      original: { type: MessageType.PAY, response: paid.response },
    });
    const declined = await t.pay('4000000001', 0);
    expect((await t.status(t.seq)).response.original).toEqual({ type: MessageType.PAY, response: declined.response });
    const corrected = await t.correct(paid.response.receipt, '4000000001', 1_500);
    const correctSeq = t.seq;
    expect((await t.status(t.seq)).response.state).toBe(TransactionState.ANSWERED);
    expect((await t.status(t.seq)).response.state).toBe(TransactionState.NOT_FOUND); // the number of a STATUS
    expect((await t.status(correctSeq)).response.original).toEqual({ type: MessageType.CORRECT, response: corrected.response });
  });

  it('IN_PROGRESS while the transaction is pending', async () => {
    const req = { account: '4000000001', amountFen: 10 };
    const reserved = await net.core.steps.reservePay(t.ctx(MessageType.PAY, req), req);
    if (!('pending' in reserved)) throw new Error('not reserved');
    expect((await t.status(reserved.pending.seq)).response).toEqual({
      result: ResultCode.APPROVED,
      state: TransactionState.IN_PROGRESS,
      original: null,
    });
    await net.core.steps.completePay(reserved.pending, await net.core.steps.postPay(reserved.pending));
    expect((await t.status(reserved.pending.seq)).response.state).toBe(TransactionState.ANSWERED);
  });

  it('NOT_FOUND for a number never used, or used by another kind of request', async () => {
    await t.heartbeat();
    expect((await t.status(t.seq - 1)).response.state).toBe(TransactionState.NOT_FOUND);
    expect((await t.status(4_000_000_000)).response).toEqual({ result: ResultCode.APPROVED, state: TransactionState.NOT_FOUND, original: null });
  });

  it('after the replay retention, the transaction record still answers', async () => {
    const paid = await t.pay('4000000001', 99);
    await net.redis.del(keys.request('S1', 'S0000001', t.seq));
    expect((await t.status(t.seq)).response.original).toEqual({ type: MessageType.PAY, response: paid.response });
  });
});

describe('settle', () => {
  it('APPROVED when the terminal\'s figures match the gateway\'s, NOT_BALANCED with the gateway\'s figures otherwise', async () => {
    const u = new TerminalSession(net, 'S0000002', 'S1');
    await u.signIn();
    const businessDay = businessDayOf(Date.now(), undefined);
    const first = await u.pay('4000000001', 1_000);
    await u.pay('4000000001', 2_000);
    await u.pay('4000000001', 0); // declined: not counted
    await u.correct(first.response.receipt, '4000000001', 1_000);
    const figures = { businessDay, payCount: 2, payFen: 3_000, correctCount: 1, correctFen: 1_000 };
    expect(await u.settle(figures)).toEqual({ response: { result: ResultCode.APPROVED, ...figures }, replayed: false });
    expect((await u.settle({ ...figures, payFen: 2_999 })).response).toEqual({ result: ResultCode.NOT_BALANCED, ...figures });
    expect((await u.settle({ ...figures, correctCount: 0 })).response.result).toBe(ResultCode.NOT_BALANCED);
    // Another day: zeros.
    const empty = { businessDay: 20200101, payCount: 0, payFen: 0, correctCount: 0, correctFen: 0 };
    expect((await u.settle(empty)).response).toEqual({ result: ResultCode.APPROVED, ...empty });
    // A repeat of a settle is answered afresh (it is read-only).
    await u.pay('4000000001', 5);
    const repeat = await u.settle({ ...figures, payCount: 3, payFen: 3_005 }, { seq: u.seq + 1 });
    expect(repeat.response.result).toBe(ResultCode.APPROVED);
  });
});
