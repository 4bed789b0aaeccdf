/**
 * In-doubt postings: the core on a real redis-server, posting over real HTTP to the reference
 * biller as its own process, with the biller's faults. Every transition of the table in
 * src/core/in-doubt.ts is named here, and the ones that move money are played end to end: a
 * posting that times out stays pending (IN_PROGRESS to a retransmission), recovery asks the biller
 * and completes or rolls back, a receipt is never posted again with another amount, and the
 * biller-down policies (decline before the float is touched; accept and queue, forwarded in order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode, TransactionState } from '../../protocol/constants.js';
import { billerPool, HttpBiller } from '../../src/biller/http-biller.js';
import { QUEUED_ARREARS, StoreUnavailableError, TRANSITIONS, transition } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { books, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';
import { SECRET, signed, startBillerFixture, type BillerFixture } from './fixture.js';

const BOUND_MS = 10_000;
/** Long enough for a test to act while the breaker is open, short enough to wait out. */
const COOLDOWN_MS = 1_500;
const later = () => Date.now() + BOUND_MS + 1;

let fx: BillerFixture;
let net: Network;
let accept: Network;
let biller: HttpBiller;
let acceptBiller: HttpBiller;
const pools: Array<ReturnType<typeof billerPool>> = [];

/**
 * The live network's biller times out at 400 ms, which its tests outrun on purpose (latency 700
 * ms). The accept network's tests are about the queue, not timeouts: its biller waits 2 s, so a
 * slow answer on a busy machine (the first files of a full suite) is not taken for no answer.
 */
function httpBiller(timeoutMs = 400): HttpBiller {
  const pool = billerPool(fx.biller.url);
  pools.push(pool);
  return new HttpBiller({ url: fx.biller.url, pool, secret: Buffer.from(SECRET), timeoutMs, breakerThreshold: 3, breakerCooldownMs: COOLDOWN_MS });
}

const faults = (change: object) => signed(fx.biller.url, 'PUT', '/v1/admin/faults', JSON.stringify(change));
const heldAtBiller = (receipt: string) => signed(fx.biller.url, 'GET', `/v1/postings/${receipt}`).then((a) => a.json);
const float = (n: Network, m: string) => n.admin.showMerchant(m).then((x) => x.floatFen);
const state = (n: Network, m: string, receipt: string) => n.redis.hget(keys.transaction(m, receipt), 'state');

async function payInDoubt(t: TerminalSession, account: string, amountFen: number) {
  const seq = t.seq + 1;
  const error = await t.pay(account, amountFen, { seq }).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StoreUnavailableError);
  return { seq, receipt: `${t.terminalId}${String(seq).padStart(10, '0')}` };
}

beforeAll(async () => {
  fx = await startBillerFixture();
  biller = httpBiller();
  net = await startNetwork({ biller, recoveryAfterMs: BOUND_MS });
  await seedMerchant(net.admin, 'D1', 1_000_000, ['D0000001']);
  acceptBiller = httpBiller(2_000);
  accept = await startNetwork({ biller: acceptBiller, billerDown: 'accept', recoveryAfterMs: BOUND_MS });
  await seedMerchant(accept.admin, 'Q1', 1_000_000, ['Q0000001']);
});
afterAll(async () => {
  await net?.stop();
  await accept?.stop();
  await Promise.all(pools.map((p) => p.close()));
  await fx?.close();
});

describe('the transition table', () => {
  it('names a move and a next state for every event a state can meet', () => {
    expect(TRANSITIONS).toEqual({
      pending: {
        booked: ['complete', 'complete'],
        declined: ['roll_back', 'declined'],
        not_sent: ['decline_unavailable', 'declined'],
        no_answer: ['wait', 'in_doubt'],
        conflict: ['wait', 'in_doubt'],
      },
      in_doubt: {
        booked: ['complete', 'complete'],
        declined: ['roll_back', 'declined'],
        nothing: ['send', 'resending'],
        not_sent: ['wait', 'in_doubt'],
        no_answer: ['wait', 'in_doubt'],
        conflict: ['wait', 'in_doubt'],
      },
      resending: {
        booked: ['complete', 'complete'],
        declined: ['roll_back', 'declined'],
        not_sent: ['wait', 'in_doubt'],
        no_answer: ['wait', 'in_doubt'],
        conflict: ['wait', 'in_doubt'],
      },
    });
    // The policy decides only a live payment that was not sent; a correction is never queued, and
    // nothing is rolled back after a query that may have raced a first post still on its way.
    expect(transition('pending', 'not_sent', 'accept', 'pay')).toEqual(['queue', 'queued']);
    expect(transition('pending', 'not_sent', 'accept', 'correct')).toEqual(['decline_unavailable', 'declined']);
    expect(transition('resending', 'not_sent', 'decline', 'pay')).toEqual(['wait', 'in_doubt']);
    expect(() => transition('pending', 'nothing', 'decline', 'pay')).toThrow(/no transition/);
  });
});

describe('in doubt, over HTTP to the reference biller', () => {
  it('pending → booked → complete; pending → declined → roll_back', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    const before = await float(net, 'D1');
    const paid = await t.pay('1000000002', 500);
    expect(paid.response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: 1_500 });
    const over = await t.pay('1000000002', 1_501);
    expect(over.response).toMatchObject({ result: ResultCode.OVERPAYMENT, arrearsFen: 1_500 });
    expect(await float(net, 'D1')).toBe(before - 500);
  });

  it('books and never answers: pending → no_answer → wait (IN_PROGRESS); in_doubt → booked → complete, posted once', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    const before = await float(net, 'D1');
    await faults({ bookNoAnswerRate: 1 });
    const { seq, receipt } = await payInDoubt(t, '1000000003', 2_500);
    await faults({ bookNoAnswerRate: 0 });
    // Neither completed nor rolled back: pending, the float held, the terminal told to wait.
    expect(await state(net, 'D1', receipt)).toBe('pending');
    expect(await float(net, 'D1')).toBe(before - 2_500);
    expect((await t.pay('1000000003', 2_500, { seq })).response.result).toBe(ResultCode.IN_PROGRESS);
    expect((await t.status(seq)).response.state).toBe(TransactionState.IN_PROGRESS);
    expect(await net.core.recover(Date.now())).toEqual({ completed: 0, rolledBack: 0, inDoubt: 0 });
    expect(await net.core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    const status = await t.status(seq);
    expect(status.response).toMatchObject({ state: TransactionState.ANSWERED, original: { response: { result: ResultCode.APPROVED, receipt } } });
    expect((await t.pay('1000000003', 2_500, { seq })).response).toMatchObject({ result: ResultCode.APPROVED, receipt });
    expect(await heldAtBiller(receipt)).toMatchObject({ status: 'booked', amountFen: 2_500 });
    expect((await books(net, 'D1')).balanced).toBe(true);
  });

  it('slower than the timeout: in doubt while the slow request is booked behind it; recovery completes it', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    await faults({ latencyMs: 700 });
    const { receipt } = await payInDoubt(t, '1000000003', 100);
    await faults({ latencyMs: 0 });
    await expect.poll(async () => (await heldAtBiller(receipt)).status, { timeout: 5_000 }).toBe('booked');
    expect(await net.core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
    expect(await state(net, 'D1', receipt)).toBe('complete');
  });

  it('in_doubt → nothing → send → declined → roll_back: a payment that never reached the biller', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    const before = await float(net, 'D1');
    const req = { account: '1000000002', amountFen: 1_600 };
    const reserved = await net.core.steps.reservePay(t.ctx(0x04, req), req);
    if (!('pending' in reserved)) throw new Error('not reserved');
    const { receipt } = reserved.pending;
    expect((await heldAtBiller(receipt)).code).toBe('POSTING_NOT_FOUND');
    expect(await net.core.recover(later())).toEqual({ completed: 0, rolledBack: 1, inDoubt: 0 });
    expect(await heldAtBiller(receipt)).toMatchObject({ status: 'declined', reason: 'OVERPAYMENT' });
    expect(await float(net, 'D1')).toBe(before);
  });

  it('in_doubt → no_answer → wait while the biller is down; completes when it is back', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    await faults({ bookNoAnswerRate: 1 });
    const { receipt } = await payInDoubt(t, '1000000003', 300);
    await faults({ bookNoAnswerRate: 0, downForMs: 60_000 });
    expect(await net.core.recover(later())).toEqual({ completed: 0, rolledBack: 0, inDoubt: 1 });
    expect(await state(net, 'D1', receipt)).toBe('pending');
    await faults({ downForMs: 0 });
    expect(biller.available()).toBe(false); // three faults opened the breaker
    expect(await net.core.recover(later())).toEqual({ completed: 0, rolledBack: 0, inDoubt: 1 }); // not_sent → wait
    await expect.poll(() => biller.available(), { timeout: COOLDOWN_MS * 3 }).toBe(true); // half-open: the next call probes
    expect(await net.core.recover(later())).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
  });

  it('policy decline: with the breaker open PAY is BILLER_UNAVAILABLE before the float is touched, and stays so', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    await faults({ errorRate: 1 });
    for (let i = 0; i < 3 && biller.available(); i++) await biller.lookup('1000000001').catch(() => null);
    await faults({ errorRate: 0 });
    expect(biller.available()).toBe(false);
    const before = await float(net, 'D1');
    const seq = t.seq + 1;
    const answer = await t.pay('1000000003', 100, { seq });
    expect(answer.response).toMatchObject({ result: ResultCode.BILLER_UNAVAILABLE, floatFen: 0, receipt: '' });
    expect(await float(net, 'D1')).toBe(before);
    expect((await t.pay('1000000003', 100, { seq })).response.result).toBe(ResultCode.BILLER_UNAVAILABLE);
    expect((await books(net, 'D1')).balanced).toBe(true);
  });
  it('in_doubt → conflict → wait: a receipt held at the biller with another amount is never posted again', async () => {
    const t = new TerminalSession(net, 'D0000001', 'D1');
    await t.signIn();
    await expect.poll(() => biller.available(), { timeout: COOLDOWN_MS * 3 }).toBe(true);
    const req = { account: '1000000003', amountFen: 400 };
    const ctx = t.ctx(0x04, req);
    const receipt = `D0000001${String(ctx.seq).padStart(10, '0')}`;
    await signed(fx.biller.url, 'PUT', `/v1/postings/${receipt}`, JSON.stringify({ kind: 'payment', account: '1000000003', amountFen: 999, at: Date.now(), day: 20261203 }));
    const reserved = await net.core.steps.reservePay(ctx, req);
    expect('pending' in reserved).toBe(true);
    expect(await net.core.recover(later())).toEqual({ completed: 0, rolledBack: 0, inDoubt: 1 });
    expect(await heldAtBiller(receipt)).toMatchObject({ amountFen: 999 });
    expect(await state(net, 'D1', receipt)).toBe('pending');
    // Left pending, in doubt, for the operator (last test of this network: later passes would count it).
  });
});

describe('policy accept: approved against the float, the posting queued and forwarded in order', () => {
  async function openBreaker() {
    await faults({ errorRate: 1 });
    for (let i = 0; i < 3 && acceptBiller.available(); i++) await acceptBiller.lookup('1000000001').catch(() => null);
    await faults({ errorRate: 0 });
    expect(acceptBiller.available()).toBe(false);
  }

  /**
   * Passes of the queue until none is left waiting, summed. A pass stops at a call that got no
   * answer (on a loaded machine a call can outrun the 400 ms timeout): that posting waits for the
   * next pass, as the gateway's own timer would send it again.
   */
  async function forwardUntilSettled(options: { expiryMs: number; maxTries: number }) {
    const sum = { posted: 0, failed: 0, waiting: 0 };
    for (let pass = 0; pass < 5; pass++) {
      await expect.poll(() => acceptBiller.available(), { timeout: COOLDOWN_MS * 3 }).toBe(true);
      const r = await accept.core.forwardBillerQueue(options, Date.now());
      sum.posted += r.posted;
      sum.failed += r.failed;
      sum.waiting = r.waiting;
      if (r.waiting === 0) break;
    }
    return sum;
  }

  it('approves with the arrears to follow, lists the queue, forwards oldest first when the biller is back', async () => {
    const t = new TerminalSession(accept, 'Q0000001', 'Q1');
    await t.signIn();
    await openBreaker();
    const before = await float(accept, 'Q1');
    const first = await t.pay('1000000001', 300);
    const second = await t.pay('1000000001', 200);
    const overpaid = await t.pay('1000000001', 400_000);
    for (const a of [first, second, overpaid]) expect(a.response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: QUEUED_ARREARS });
    expect(await float(accept, 'Q1')).toBe(before - 300 - 200 - 400_000);
    expect((await books(accept, 'Q1')).balanced).toBe(true);
    const queued = await accept.admin.queuedPostings('queue');
    expect(queued.map((p) => [p.receipt, p.amountFen])).toEqual([[first.response.receipt, 300], [second.response.receipt, 200], [overpaid.response.receipt, 400_000]]);
    // Still down: nothing forwarded, no try counted (nothing was sent).
    expect(await accept.core.forwardBillerQueue({ expiryMs: 60_000, maxTries: 3 }, Date.now())).toEqual({ posted: 0, failed: 0, waiting: 3 });
    const settled = await forwardUntilSettled({ expiryMs: 60_000, maxTries: 5 });
    const diagnosis = settled.waiting === 0 ? '' : JSON.stringify({
      txn: await accept.redis.hgetall(keys.transaction('Q1', overpaid.response.receipt)),
      held: await heldAtBiller(overpaid.response.receipt),
      available: acceptBiller.available(),
    });
    expect(settled, diagnosis).toEqual({ posted: 2, failed: 1, waiting: 0 });
    expect(await heldAtBiller(first.response.receipt)).toMatchObject({ status: 'booked', arrearsFen: 14_750 });
    expect(await heldAtBiller(second.response.receipt)).toMatchObject({ status: 'booked', arrearsFen: 14_550 });
    expect(await accept.admin.queuedPostings('queue')).toEqual([]);
    const failed = await accept.admin.queuedPostings('failed');
    expect(failed).toMatchObject([{ receipt: overpaid.response.receipt, failure: 'OVERPAYMENT', amountFen: 400_000 }]);
  });

  it('a queued posting that waits past its expiry is listed failed, EXPIRED', async () => {
    const t = new TerminalSession(accept, 'Q0000001', 'Q1');
    await t.signIn();
    await openBreaker();
    const paid = await t.pay('1000000001', 100);
    await expect.poll(() => acceptBiller.available(), { timeout: COOLDOWN_MS * 3 }).toBe(true);
    expect(await accept.core.forwardBillerQueue({ expiryMs: 1, maxTries: 3 }, Date.now() + 1_000)).toEqual({ posted: 0, failed: 1, waiting: 0 });
    expect((await accept.admin.queuedPostings('failed')).map((p) => [p.receipt, p.failure])).toContainEqual([paid.response.receipt, 'EXPIRED']);
    expect((await heldAtBiller(paid.response.receipt)).code).toBe('POSTING_NOT_FOUND');
  });
});
