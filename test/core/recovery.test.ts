/**
 * Crash safety: a transaction stopped between any two of its steps (as a killed process leaves
 * it) is finished by recover(): rolled forward if the biller booked it, back if it declines;
 * nothing lost, doubled or half-applied. Also: Redis unreachable → StoreUnavailableError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode, TransactionState } from '../../protocol/constants.js';
import { HEALTH_UNKNOWN, emptyResponse } from '../../protocol/index.js';
import { RedisBiller, type Biller } from '../../src/biller/index.js';
import { createCore, StoreUnavailableError, type PendingTransaction } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { books, MASTER_KEY, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;
let t: TerminalSession;
const BOUND_MS = 10_000;
const later = () => Date.now() + BOUND_MS + 1;
const float = (merchantId: string) => net.admin.showMerchant(merchantId).then((m) => m.floatFen);
const arrears = (account: string) => net.admin.showAccount(account).then((a) => a.arrearsFen);
const postings = (account: string) => net.redis.zcard(keys.postings(account));

beforeAll(async () => {
  net = await startNetwork({ recoveryAfterMs: BOUND_MS });
  await seedMerchant(net.admin, 'R1', 1_000_000, ['R0000001', 'R0000002']);
  await seedMerchant(net.admin, 'R2', 1_000_000, ['R0000021']);
  await seedAccounts(net.admin, [
    { account: '5000000001', name: 'A', arrearsFen: 1_000_000 },
    { account: '5000000002', name: 'B', arrearsFen: 1_000_000 },
    { account: '5000000003', name: 'C', arrearsFen: 50 },
    { account: '5000000004', name: 'D', arrearsFen: 1_000_000 },
  ]);
  t = new TerminalSession(net, 'R0000001', 'R1');
  await t.signIn();
});
afterAll(() => net.stop());

async function reservePay(session: TerminalSession, account: string, amountFen: number): Promise<PendingTransaction> {
  const req = { account, amountFen };
  const reserved = await net.core.steps.reservePay(session.ctx(MessageType.PAY, req), req);
  if (!('pending' in reserved)) throw new Error(`not reserved: ${JSON.stringify(reserved.answered)}`);
  return reserved.pending;
}

async function reserveCorrect(session: TerminalSession, receipt: string, account: string, amountFen: number) {
  const req = { receipt, account, amountFen };
  const reserved = await net.core.steps.reserveCorrect(session.ctx(MessageType.CORRECT, req), req);
  if (!('pending' in reserved)) throw new Error(`not reserved: ${JSON.stringify(reserved.answered)}`);
  return reserved.pending;
}

describe('recover', () => {
  it('a payment stopped after step 1 is posted and completed once; its retransmission gets APPROVED', async () => {
    const floatBefore = await float('R1');
    const txn = await reservePay(t, '5000000001', 1_000);
    expect(await float('R1')).toBe(floatBefore - 1_000);
    expect((await books(net, 'R1')).balanced).toBe(true); // the pending payment holds the debit
    expect(await net.core.recover(Date.now())).toEqual({ completed: 0, rolledBack: 0, inDoubt: 0 }); // not older than the bound
    expect(await net.core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect(await net.core.recover(later())).toEqual({ completed: 0, rolledBack: 0, inDoubt: 0 });
    expect(await float('R1')).toBe(floatBefore - 1_000);
    expect(await arrears('5000000001')).toBe(999_000);
    expect(await postings('5000000001')).toBe(1);
    expect(await books(net, 'R1')).toMatchObject({ paymentCount: 1, pendingPayments: 0, balanced: true });
    const again = await t.pay('5000000001', 1_000, { seq: txn.seq });
    expect(again).toMatchObject({ replayed: true, response: { result: ResultCode.APPROVED, receipt: txn.receipt, arrearsFen: 999_000 } });
    expect((await t.status(txn.seq)).response.state).toBe(TransactionState.ANSWERED);
  });

  it('a payment stopped after step 2 (posted at the biller) is completed without posting again', async () => {
    const txn = await reservePay(t, '5000000002', 2_000);
    const posted = await net.core.steps.postPay(txn);
    expect(posted).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: 998_000 });
    expect(await net.core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect(await arrears('5000000002')).toBe(998_000);
    expect(await postings('5000000002')).toBe(1);
    expect((await books(net, 'R1')).balanced).toBe(true);
  });

  it('a payment the biller declines on recovery is rolled back: the float credited, no journal entry', async () => {
    const floatBefore = await float('R1');
    const paymentsBefore = (await books(net, 'R1')).paymentCount;
    const txn = await reservePay(t, '5000000003', 60); // more than the 50 owed
    expect(await net.core.recover(later())).toEqual({ completed: 0, rolledBack: 1, inDoubt: 0 });
    expect(await float('R1')).toBe(floatBefore);
    expect(await arrears('5000000003')).toBe(50);
    expect(await books(net, 'R1')).toMatchObject({ paymentCount: paymentsBefore, pendingPayments: 0, balanced: true });
    const again = await t.pay('5000000003', 60, { seq: txn.seq });
    expect(again.response).toEqual({ ...emptyResponse(MessageType.PAY_RESPONSE, ResultCode.OVERPAYMENT), arrearsFen: 50 });
  });

  it('a correction stopped after step 1 or after step 2 is finished once: float credited, arrears restored', async () => {
    const first = await t.pay('5000000004', 3_000);
    const second = await t.pay('5000000004', 4_000);
    const floatBefore = await float('R1');
    await reserveCorrect(t, first.response.receipt, '5000000004', 3_000);
    const stoppedAfterTwo = await reserveCorrect(t, second.response.receipt, '5000000004', 4_000);
    await net.core.steps.reverseCorrect(stoppedAfterTwo);
    expect(await float('R1')).toBe(floatBefore); // a pending correction has not credited yet
    expect(await net.core.recover(later())).toEqual({ completed: 2, rolledBack: 0, inDoubt: 0 });
    expect(await float('R1')).toBe(floatBefore + 7_000);
    expect(await arrears('5000000004')).toBe(1_000_000);
    expect(await postings('5000000004')).toBe(4); // two payments, two reversals
    expect(await books(net, 'R1')).toMatchObject({ pendingPayments: 0, balanced: true });
    expect((await t.correct(first.response.receipt, '5000000004', 3_000)).response.result).toBe(ResultCode.ALREADY_CORRECTED);
  });

  it('the live path and recovery racing on one transaction complete it once', async () => {
    const floatBefore = await float('R1');
    const txn = await reservePay(t, '5000000001', 500);
    const [live, recovered] = await Promise.all([
      net.core.steps.postPay(txn).then((posted) => net.core.steps.completePay(txn, posted)),
      net.core.recover(later()),
    ]);
    expect(Number(live.applied) + recovered.completed).toBe(1);
    expect(live.response.result).toBe(ResultCode.APPROVED);
    expect(await float('R1')).toBe(floatBefore - 500);
    expect(await postings('5000000001')).toBe(2);
    expect((await books(net, 'R1')).balanced).toBe(true);
  });

  it('many transactions of two merchants stopped at random steps: after recovery the books balance, each posted once', async () => {
    const u = new TerminalSession(net, 'R0000021', 'R2');
    await u.signIn();
    const accountBefore = await arrears('5000000002');
    const postingsBefore = await postings('5000000002');
    let amount = 0;
    for (let i = 0; i < 30; i += 1) {
      const session = i % 2 === 0 ? t : u;
      const txn = await reservePay(session, '5000000002', 100 + i);
      amount += 100 + i;
      if (i % 3 >= 1) await net.core.steps.postPay(txn); // stopped after step 2
      if (i % 3 === 2) await net.core.steps.postPay(txn); // the biller step repeated: still once
    }
    expect(await net.core.recover(later())).toEqual({ completed: 30, rolledBack: 0, inDoubt: 0 });
    expect(await arrears('5000000002')).toBe(accountBefore - amount);
    expect(await postings('5000000002')).toBe(postingsBefore + 30);
    expect(await books(net, 'R1')).toMatchObject({ pendingPayments: 0, balanced: true });
    expect(await books(net, 'R2')).toMatchObject({ paymentCount: 15, pendingPayments: 0, balanced: true });
  });

  it('two instances recovering at once finish each transaction once', async () => {
    const redis = net.redisProcess.client();
    const { core: other } = await createCore({ redis, masterKey: MASTER_KEY, recoveryAfterMs: BOUND_MS });
    const before = await postings('5000000001');
    for (let i = 0; i < 10; i += 1) await reservePay(t, '5000000001', 10 + i);
    const [a, b] = await Promise.all([net.core.recover(later()), other.recover(later())]);
    redis.disconnect();
    expect(a.completed + b.completed).toBe(10);
    expect(a.rolledBack + b.rolledBack).toBe(0);
    expect(await postings('5000000001')).toBe(before + 10);
    expect(await books(net, 'R1')).toMatchObject({ pendingPayments: 0, balanced: true });
  });

  it('a biller that cannot be reached leaves the payment pending (SYSTEM_BUSY for the gateway) until recovery', async () => {
    const embedded = new RedisBiller(net.redis);
    let reachable = false;
    const biller: Biller = {
      lookup: (account) => embedded.lookup(account),
      post: (posting) => (reachable ? embedded.post(posting) : Promise.reject(new Error('biller timeout'))),
      reverse: (reversal) => embedded.reverse(reversal),
      posting: (receipt, account) => embedded.posting(receipt, account),
      dayPostings: (day) => embedded.dayPostings(day),
    };
    const { core } = await createCore({ redis: net.redis, masterKey: MASTER_KEY, biller, recoveryAfterMs: BOUND_MS });
    const req = { account: '5000000001', amountFen: 700 };
    const ctx = t.ctx(MessageType.PAY, req);
    await expect(core.pay(ctx, req)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await core.pay(ctx, req)).response.result).toBe(ResultCode.IN_PROGRESS);
    reachable = true;
    expect(await core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect((await core.pay(ctx, req)).response.result).toBe(ResultCode.APPROVED);
    expect((await books(net, 'R1')).balanced).toBe(true);
  });
});

describe('store unavailable', () => {
  it('a call Redis does not answer in time is StoreUnavailableError; what it did is finished by recovery', async () => {
    const { core } = await createCore({ redis: net.redis, masterKey: MASTER_KEY, storeTimeoutMs: 200, recoveryAfterMs: BOUND_MS });
    const pauser = net.redisProcess.client();
    const req = { account: '5000000001', amountFen: 900 };
    const ctx = t.ctx(MessageType.PAY, req);
    await pauser.client('PAUSE', 1_000, 'ALL');
    await expect(core.pay(ctx, req)).rejects.toBeInstanceOf(StoreUnavailableError);
    pauser.disconnect();
    // The reservation ran once Redis woke up: the payment is in progress until recovery finishes it.
    expect(await net.core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect((await core.pay(ctx, req)).response.result).toBe(ResultCode.APPROVED);
    expect((await books(net, 'R1')).balanced).toBe(true);
  });


  it('every call throws StoreUnavailableError when Redis cannot be reached', async () => {
    const redis = net.redisProcess.client();
    const { sessions, core } = await createCore({ redis, masterKey: MASTER_KEY });
    redis.disconnect();
    const req = { account: '5000000001', amountFen: 1 };
    await expect(core.pay(t.ctx(MessageType.PAY, req), req)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(core.heartbeat(t.ctx(MessageType.HEARTBEAT, HEALTH_UNKNOWN))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(sessions.lookupTerminal('R0000001')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(core.recover(later())).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
