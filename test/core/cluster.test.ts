/**
 * The core's scripts on a 3-master Redis Cluster: every key a script touches carries one hash tag,
 * so sign-in, the guard, pay, correct, status, settle and recovery run there as on one Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode, TransactionState } from '../../protocol/constants.js';
import { businessDayOf } from '../../src/core/index.js';
import { books, seedAccounts, seedMerchant, startClusterNetwork, TerminalSession, type ClusterNetwork } from './network.js';

let net: ClusterNetwork;

beforeAll(async () => {
  net = await startClusterNetwork({ recoveryAfterMs: 1_000 });
  // Merchants whose tags land on different masters.
  for (const id of ['CA', 'CB', 'CC', 'CD']) await seedMerchant(net.admin, id, 100_000, [`${id}000001`]);
  await seedAccounts(net.admin, [
    { account: '7000000001', name: 'Cluster One', arrearsFen: 50_000, periods: [[202610, 50_000]] },
    { account: '7000000002', name: 'Cluster Two', arrearsFen: 50_000 },
  ]);
}, 60_000);
afterAll(() => net?.stop());

describe('on Redis Cluster', () => {
  it('signs in, pays, retransmits, corrects, answers status and settle, for merchants on every master', async () => {
    for (const id of ['CA', 'CB', 'CC', 'CD']) {
      const t = new TerminalSession(net, `${id}000001`, id);
      expect((await t.signIn()).result).toBe(ResultCode.APPROVED);
      expect((await t.inquiry('7000000001')).response).toMatchObject({ result: ResultCode.APPROVED, holderName: 'C*********e' });
      const paid = await t.pay('7000000002', 1_000);
      expect(paid.response).toMatchObject({ result: ResultCode.APPROVED, floatFen: 99_000 });
      expect(await t.pay('7000000002', 1_000, { seq: t.seq })).toEqual({ response: paid.response, replayed: true });
      const corrected = await t.correct(paid.response.receipt, '7000000002', 1_000);
      expect(corrected.response).toMatchObject({ result: ResultCode.APPROVED, floatFen: 100_000 });
      expect((await t.status(t.seq)).response.state).toBe(TransactionState.ANSWERED);
      const day = businessDayOf(Date.now(), undefined);
      const settled = await t.settle({ businessDay: day, payCount: 1, payFen: 1_000, correctCount: 1, correctFen: 1_000 });
      expect(settled.response.result).toBe(ResultCode.APPROVED);
      expect((await books(net, id)).balanced).toBe(true);
    }
    expect((await net.admin.showAccount('7000000002')).arrearsFen).toBe(50_000);
  });

  it('recovers a payment stopped after step 1', async () => {
    const t = new TerminalSession(net, 'CB000001', 'CB');
    await t.signIn();
    const req = { account: '7000000001', amountFen: 2_000 };
    const reserved = await net.core.steps.reservePay(t.ctx(MessageType.PAY, req), req);
    expect('pending' in reserved).toBe(true);
    expect(await net.core.recover(Date.now() + 2_000)).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect((await net.admin.showAccount('7000000001')).arrearsFen).toBe(48_000);
    expect((await books(net, 'CB')).balanced).toBe(true);
  });
});
