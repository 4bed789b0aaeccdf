/** PAY: the money moves once, every decline has its code, and a retransmission gets the same answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/constants.js';
import { emptyResponse, formatReceipt } from '../../protocol/index.js';
import { businessDayOf } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { books, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;
const float = (merchantId: string) => net.admin.showMerchant(merchantId).then((m) => m.floatFen);
const arrears = (account: string) => net.admin.showAccount(account).then((a) => a.arrearsFen);

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'M1', 100_000, ['P0000001', 'P0000002']);
  await seedMerchant(net.admin, 'M2', 1_000_000, ['P0000021', 'P0000022']);
  await seedMerchant(net.admin, 'M3', 1_000_000, ['P0000031']);
  await seedAccounts(net.admin, [
    { account: '2000000001', name: 'Zhang San', arrearsFen: 30_000, periods: [[202608, 10_000], [202609, 12_000], [202610, 8_000]] },
    { account: '2000000002', name: 'Closed', arrearsFen: 5_000, status: 'closed' },
    { account: '2000000003', name: 'Big', arrearsFen: 900_000 },
    { account: '2000000004', name: 'Small', arrearsFen: 2_000 },
    { account: '2000000005', name: 'Many', arrearsFen: 100_000_000 },
  ]);
});
afterAll(() => net.stop());

async function signedIn(terminalId: string, merchantId: string): Promise<TerminalSession> {
  const t = new TerminalSession(net, terminalId, merchantId);
  await t.signIn();
  return t;
}

describe('pay', () => {
  it('debits the float, writes off the arrears oldest period first, journals it and returns the receipt', async () => {
    const t = await signedIn('P0000001', 'M1');
    const now = Date.now();
    const outcome = await t.pay('2000000001', 15_000, { now });
    const receipt = formatReceipt('P0000001', t.seq);
    const businessDay = businessDayOf(now, undefined);
    expect(outcome).toEqual({
      response: {
        result: ResultCode.APPROVED,
        receipt,
        arrearsFen: 15_000,
        floatFen: 85_000,
        businessDay,
        flags: 0,
        cashHeldFen: 0,
        holderName: 'Z*******n', // 'Zhang San' masked (PROTOCOL.md §7.2)
        periods: [
          { period: 202608, amountFen: 10_000 },
          { period: 202609, amountFen: 5_000 },
        ],
      },
      replayed: false,
    });
    expect(await float('M1')).toBe(85_000);
    const account = await net.admin.showAccount('2000000001');
    expect(account.arrearsFen).toBe(15_000);
    expect(account.periods).toEqual([
      { period: 202609, amountFen: 7_000 },
      { period: 202610, amountFen: 8_000 },
    ]);
    const entry = (await net.redis.xrange(keys.journal('M1'), '-', '+')).at(-1)?.[1] ?? [];
    expect(entry).toEqual(['kind', 'pay', 'txn', receipt, 'terminal', 'P0000001', 'amountFen', '15000', 'day', String(businessDay),
      'ts', expect.stringMatching(/^\d+$/), 'seen', expect.stringMatching(/^\d+-\d+$/), 'mac', expect.stringMatching(/^[0-9a-f]{32}$/),
      'floatFen', '85000', 'chain', expect.stringMatching(/^[0-9a-f]{40}$/)]);
    expect(await net.redis.hmget(keys.day('M1', businessDay), 'payCount', 'payFen', 'P0000001:payCount', 'P0000001:payFen'))
      .toEqual(['1', '15000', '1', '15000']);
    expect(await net.redis.zcard(keys.pending('M1'))).toBe(0);
    expect(await net.redis.hget(keys.transaction('M1', receipt), 'state')).toBe('complete');
    // The request record (and so the answer to a retransmission) is kept for the replay retention.
    const ttl = await net.redis.ttl(keys.request('M1', 'P0000001', t.seq));
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
    expect((await books(net, 'M1')).balanced).toBe(true);
  });

  it('accepts a partial payment that clears the oldest period only in part', async () => {
    const t = await signedIn('P0000002', 'M1');
    const outcome = await t.pay('2000000001', 1);
    expect(outcome.response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: 14_999 });
    expect((await net.admin.showAccount('2000000001')).periods[0]).toEqual({ period: 202609, amountFen: 6_999 });
  });

  describe('declines: each code, nothing moved, and the same answer on a retransmission', () => {
    const cases: Array<{
      name: string;
      account: string;
      amountFen: number;
      result: ResultCode;
      arrearsFen?: number;
      floatFen?: number;
    }> = [
      { name: 'amount zero', account: '2000000004', amountFen: 0, result: ResultCode.AMOUNT_INVALID },
      { name: 'over the limit', account: '2000000005', amountFen: 500_001, result: ResultCode.AMOUNT_OVER_LIMIT },
      { name: 'float short', account: '2000000003', amountFen: 400_000, result: ResultCode.FLOAT_SHORT, floatFen: 84_999 },
      { name: 'unknown account', account: '2999999999', amountFen: 100, result: ResultCode.UNKNOWN_ACCOUNT },
      { name: 'closed account', account: '2000000002', amountFen: 100, result: ResultCode.ACCOUNT_CLOSED },
      { name: 'overpayment', account: '2000000004', amountFen: 2_001, result: ResultCode.OVERPAYMENT, arrearsFen: 2_000 },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.result}`, async () => {
        const t = await signedIn('P0000001', 'M1');
        const floatBefore = await float('M1');
        const arrearsBefore = c.account === '2999999999' ? 0 : await arrears(c.account);
        const outcome = await t.pay(c.account, c.amountFen);
        expect(outcome).toEqual({
          response: { ...emptyResponse(MessageType.PAY_RESPONSE, c.result), arrearsFen: c.arrearsFen ?? 0, floatFen: c.floatFen ?? 0 },
          replayed: false,
        });
        expect(await float('M1')).toBe(floatBefore);
        if (c.account !== '2999999999') expect(await arrears(c.account)).toBe(arrearsBefore);
        const again = await t.pay(c.account, c.amountFen, { seq: t.seq });
        expect(again).toEqual({ response: outcome.response, replayed: true });
        expect(await float('M1')).toBe(floatBefore);
        expect(await net.redis.zcard(keys.pending('M1'))).toBe(0);
      });
    }

    it('a payment the biller declines leaves a declined transaction, the float credited back', async () => {
      const t = await signedIn('P0000001', 'M1');
      await t.pay('2000000002', 100);
      expect(await net.redis.hmget(keys.transaction('M1', formatReceipt('P0000001', t.seq)), 'state', 'result'))
        .toEqual(['declined', String(ResultCode.ACCOUNT_CLOSED)]);
      expect((await books(net, 'M1')).balanced).toBe(true);
    });

    it('disabled terminal → TERMINAL_DISABLED, disabled merchant → MERCHANT_DISABLED, nothing moved', async () => {
      const t = await signedIn('P0000031', 'M3');
      // Only the status: the operator API also ends the session, which would hide the guard's own check.
      await net.redis.hset(keys.terminal('M3', 'P0000031'), 'status', 'disabled');
      expect((await t.pay('2000000005', 100)).response.result).toBe(ResultCode.TERMINAL_DISABLED);
      await seedMerchant(net.admin, 'M4', 50_000, ['P0000041']);
      const u = await signedIn('P0000041', 'M4');
      await net.admin.disableMerchant('M4');
      expect((await u.pay('2000000005', 100)).response.result).toBe(ResultCode.MERCHANT_DISABLED);
      expect(await float('M3')).toBe(1_000_000);
      expect(await float('M4')).toBe(50_000);
    });
  });
});

describe('exactly once', () => {
  it('a retransmission, also on a new connection after a reconnect, gets the stored response; money moves once', async () => {
    const t = await signedIn('P0000021', 'M2');
    const first = await t.pay('2000000005', 1_000);
    expect(first.response.result).toBe(ResultCode.APPROVED);
    const again = await t.pay('2000000005', 1_000, { seq: t.seq });
    expect(again).toEqual({ response: first.response, replayed: true });
    const reconnected = t.reconnect();
    await reconnected.signIn();
    const onNewConnection = await reconnected.pay('2000000005', 1_000, { seq: t.seq });
    expect(onNewConnection).toEqual({ response: first.response, replayed: true });
    expect(await float('M2')).toBe(999_000);
    expect(await arrears('2000000005')).toBe(99_999_000);
    expect((await books(net, 'M2')).paymentCount).toBe(1);
  });

  it('the same number with another body, or an old number, is REPLAY and moves nothing', async () => {
    const t = await signedIn('P0000021', 'M2');
    await t.pay('2000000005', 1_000);
    const floatBefore = await float('M2');
    expect((await t.pay('2000000005', 1_001, { seq: t.seq })).response.result).toBe(ResultCode.REPLAY);
    expect((await t.pay('2000000003', 1_000, { seq: t.seq })).response.result).toBe(ResultCode.REPLAY);
    // The sign-in's number: old, and no request was recorded under it.
    expect((await t.pay('2000000005', 1_000, { seq: t.seq - 1 })).response.result).toBe(ResultCode.REPLAY);
    // An inquiry recorded under a number is not a payment under it either.
    await t.inquiry('2000000005');
    expect((await t.pay('2000000005', 1_000, { seq: t.seq })).response).toMatchObject({ result: ResultCode.REPLAY, receipt: '' });
    expect(await float('M2')).toBe(floatBefore);
  });

  it('sequence number 0 (no frame may carry it) is REPLAY for a payment and NOT_FOUND for a status', async () => {
    const t = await signedIn('P0000021', 'M2');
    const floatBefore = await float('M2');
    expect((await t.pay('2000000005', 100, { seq: 0 })).response.result).toBe(ResultCode.REPLAY);
    expect((await t.correct(formatReceipt('P0000021', 1), '2000000005', 100, { seq: 0 })).response.result).toBe(ResultCode.REPLAY);
    expect((await t.status(0)).response).toEqual({ result: ResultCode.APPROVED, state: 0, original: null });
    expect(await float('M2')).toBe(floatBefore);
  });

  it('a repeat while the first is still in flight is IN_PROGRESS, then gets the stored answer', async () => {
    const t = await signedIn('P0000021', 'M2');
    const ctx = t.ctx(MessageType.PAY, { account: '2000000005', amountFen: 700 });
    const reserved = await net.core.steps.reservePay(ctx, { account: '2000000005', amountFen: 700 });
    if (!('pending' in reserved)) throw new Error('not reserved');
    expect((await net.core.pay(ctx, { account: '2000000005', amountFen: 700 })).response.result).toBe(ResultCode.IN_PROGRESS);
    const posted = await net.core.steps.postPay(reserved.pending);
    const done = await net.core.steps.completePay(reserved.pending, posted);
    expect(done.applied).toBe(true);
    expect(await net.core.pay(ctx, { account: '2000000005', amountFen: 700 })).toEqual({ response: done.response, replayed: true });
  });

  it('the same number sent twice at once on one connection is applied once', async () => {
    const t = await signedIn('P0000022', 'M2');
    const floatBefore = await float('M2');
    const ctx = t.ctx(MessageType.PAY, { account: '2000000005', amountFen: 300 });
    const outcomes = await Promise.all([1, 2, 3].map(() => net.core.pay(ctx, { account: '2000000005', amountFen: 300 })));
    const results = outcomes.map((o) => o.response.result).sort();
    expect(results.filter((r) => r === ResultCode.APPROVED)).toHaveLength(1);
    expect(results.every((r) => r === ResultCode.APPROVED || r === ResultCode.IN_PROGRESS)).toBe(true);
    expect(await float('M2')).toBe(floatBefore - 300);
  });

  it('the same number on two connections at once: the older session is refused, the payment applied once', async () => {
    const a = await signedIn('P0000022', 'M2');
    const b = a.reconnect();
    await b.signIn();
    const floatBefore = await float('M2');
    const seq = b.seq + 1;
    const [onA, onB] = await Promise.all([a.pay('2000000005', 400, { seq }), b.pay('2000000005', 400, { seq })]);
    expect(onA.response.result).toBe(ResultCode.SESSION_REPLACED);
    expect(onB.response.result).toBe(ResultCode.APPROVED);
    expect(await float('M2')).toBe(floatBefore - 400);
  });
});

describe('concurrency', () => {
  it('100 terminals of one merchant pay at once against a float that covers 37: never below zero, debited = approved', async () => {
    const terminals = Array.from({ length: 100 }, (_, i) => `C${String(i).padStart(7, '0')}`);
    await seedMerchant(net.admin, 'MC', 37 * 1_234, terminals);
    const sessions = await Promise.all(terminals.map((id) => signedIn(id, 'MC')));
    const outcomes = await Promise.all(sessions.map((t) => t.pay('2000000005', 1_234)));
    const approved = outcomes.filter((o) => o.response.result === ResultCode.APPROVED);
    const short = outcomes.filter((o) => o.response.result === ResultCode.FLOAT_SHORT);
    expect(approved).toHaveLength(37);
    expect(short).toHaveLength(63);
    expect(await float('MC')).toBe(0);
    const sums = await books(net, 'MC');
    expect(sums).toMatchObject({ payments: 37 * 1_234, paymentCount: 37, pendingPayments: 0, balanced: true });
    // Each debit left the float at or above zero, each at a different value.
    const floats = approved.map((o) => o.response.floatFen).sort((x, y) => x - y);
    expect(floats).toEqual(Array.from({ length: 37 }, (_, i) => i * 1_234));
    expect(new Set(approved.map((o) => o.response.receipt)).size).toBe(37);
  });
});
