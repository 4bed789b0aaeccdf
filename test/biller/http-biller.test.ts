/**
 * HttpBiller against the reference biller as a real process over real HTTP: the port's calls, the
 * typed errors, reads retried and postings not, the breaker opening, failing fast and half-opening,
 * the metrics. No mock of HTTP anywhere.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultCode } from '../../protocol/constants.js';
import { BillerError } from '../../src/biller/errors.js';
import { billerPool, HttpBiller, type HttpBillerOptions } from '../../src/biller/http-biller.js';
import { SECRET, signed, startBillerFixture, type BillerFixture } from './fixture.js';

let fx: BillerFixture;
const DAY = 20261203;
const pools: Array<ReturnType<typeof billerPool>> = [];

function client(options: Partial<HttpBillerOptions> = {}): HttpBiller {
  const pool = billerPool(fx.biller.url);
  pools.push(pool);
  return new HttpBiller({ url: fx.biller.url, pool, secret: Buffer.from(SECRET), timeoutMs: 1_000, ...options });
}

async function failure(call: Promise<unknown>): Promise<BillerError> {
  const error = await call.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(BillerError);
  return error as BillerError;
}

function faults(change: object) {
  return signed(fx.biller.url, 'PUT', '/v1/admin/faults', JSON.stringify(change));
}

beforeAll(async () => {
  fx = await startBillerFixture();
});
afterEach(async () => {
  await faults({ latencyMs: 0, errorRate: 0, downForMs: 0, bookNoAnswerRate: 0 });
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await fx?.close();
});

describe('HttpBiller', () => {
  it('looks up, posts, reverses and queries by receipt as the port says', async () => {
    const biller = client();
    expect(await biller.lookup('1000000001')).toEqual({
      account: '1000000001', holderName: 'Zhang San', status: 'open', arrearsFen: 15_050,
      bills: [
        { billId: 'B-1-202510', period: 202510, amountFen: 10_000, paidFen: 0, issueDate: '2025-11-01', status: 'open' },
        { billId: 'B-1-202511', period: 202511, amountFen: 5_050, paidFen: 0, issueDate: '2025-12-01', status: 'open' },
      ],
    });
    expect(await biller.lookup('1999999999')).toBeNull();
    expect(await biller.post({ receipt: 'H00000001', account: '1000000001', amountFen: 1_050, at: Date.now(), day: DAY }))
      .toEqual({ result: ResultCode.APPROVED, arrearsFen: 14_000, bills: [{ billId: 'B-1-202510', period: 202510, amountFen: 1_050 }] });
    expect(await biller.post({ receipt: 'H00000001', account: '1000000001', amountFen: 1_050, at: Date.now(), day: DAY }))
      .toMatchObject({ result: ResultCode.APPROVED, arrearsFen: 14_000 });
    expect(await biller.post({ receipt: 'H00000002', account: '1000000002', amountFen: 2_001, at: Date.now(), day: DAY }))
      .toEqual({ result: ResultCode.OVERPAYMENT, arrearsFen: 2_000, bills: [] });
    expect(await biller.post({ receipt: 'H00000003', account: '1999999999', amountFen: 1, at: Date.now(), day: DAY }))
      .toEqual({ result: ResultCode.UNKNOWN_ACCOUNT, arrearsFen: 0, bills: [] });
    expect(await biller.reverse({ receipt: 'H00000004', originalReceipt: 'H00000001', account: '1000000001', amountFen: 1_050, at: Date.now(), day: DAY }))
      .toEqual({ result: ResultCode.APPROVED, arrearsFen: 15_050, bills: [{ billId: 'B-1-202510', period: 202510, amountFen: 1_050 }] });
    expect(await biller.posting('H00000001', '1000000001')).toMatchObject({ kind: 'payment', amountFen: 1_050, original: '', result: ResultCode.APPROVED, day: DAY });
    expect(await biller.posting('H00000002', '1000000002')).toMatchObject({ result: ResultCode.OVERPAYMENT });
    expect(await biller.posting('H99999999', '1000000001')).toBeNull();
    expect((await biller.dayPostings(DAY)).map((p) => [p.receipt, p.kind, p.original])).toEqual([
      ['H00000001', 'payment', ''],
      ['H00000004', 'reversal', 'H00000001'],
    ]);
  });

  it('refuses another amount under a booked receipt: ERR_BILLER_CONFLICT, nothing booked', async () => {
    const biller = client();
    await biller.post({ receipt: 'H00000010', account: '1000000003', amountFen: 100, at: Date.now(), day: DAY });
    const error = await failure(biller.post({ receipt: 'H00000010', account: '1000000003', amountFen: 200, at: Date.now(), day: DAY }));
    expect(error.code).toBe('ERR_BILLER_CONFLICT');
    expect((await biller.lookup('1000000003'))!.arrearsFen).toBe(99_900);
  });

  it('a posting slower than the timeout is ERR_BILLER_TIMEOUT, in doubt, and the query tells what was booked', async () => {
    const biller = client({ timeoutMs: 300 });
    await faults({ latencyMs: 800 });
    const error = await failure(biller.post({ receipt: 'H00000020', account: '1000000003', amountFen: 100, at: Date.now(), day: DAY }));
    expect(error.code).toBe('ERR_BILLER_TIMEOUT');
    expect(error.sent).toBe(true);
    await faults({ latencyMs: 0 });
    // The slow request still reaches the biller and is booked: the posting was in doubt, not lost.
    await expect.poll(async () => (await biller.posting('H00000020', '1000000003'))?.result, { timeout: 5_000 }).toBe(ResultCode.APPROVED);
  });

  it('books and never answers: the caller times out, the query finds the posting booked', async () => {
    const biller = client({ timeoutMs: 500 });
    await faults({ bookNoAnswerRate: 1 });
    const error = await failure(biller.post({ receipt: 'H00000030', account: '1000000003', amountFen: 100, at: Date.now(), day: DAY }));
    expect(error.code).toBe('ERR_BILLER_TIMEOUT');
    expect(await biller.posting('H00000030', '1000000003')).toMatchObject({ result: ResultCode.APPROVED, amountFen: 100 });
  });

  it('retries reads with backoff but never a posting; the breaker opens, fails fast, then half-opens to probe', async () => {
    const registry = new Registry();
    const biller = client({ readAttempts: 3, breakerThreshold: 5, breakerCooldownMs: 700, registry });
    await faults({ errorRate: 1 });
    // Two postings: two faults, not retried (retried, they alone would open the breaker at 5).
    for (const receipt of ['H00000040', 'H00000041']) {
      expect((await failure(biller.post({ receipt, account: '1000000003', amountFen: 1, at: Date.now(), day: DAY }))).code).toBe('ERR_BILLER_UNAVAILABLE');
    }
    expect(biller.available()).toBe(true);
    // One lookup: three attempts, three faults: the fifth opens the breaker.
    expect((await failure(biller.lookup('1000000001'))).code).toBe('ERR_BILLER_UNAVAILABLE');
    expect(biller.available()).toBe(false);
    // The biller now answers nothing for 5 s: a call that went out would wait for its 1 s timeout.
    await faults({ latencyMs: 5_000 });
    const fast = performance.now();
    const open = await failure(biller.post({ receipt: 'H00000042', account: '1000000003', amountFen: 1, at: Date.now(), day: DAY }));
    expect(open.code).toBe('ERR_BILLER_CIRCUIT_OPEN');
    expect(open.sent).toBe(false);
    expect(performance.now() - fast).toBeLessThan(500);
    await faults({ latencyMs: 0 });
    const text = await registry.metrics();
    expect(text).toMatch(/aircharge_biller_breaker_state 1/);
    expect(text).toMatch(/aircharge_biller_calls_total\{operation="post",outcome="ERR_BILLER_CIRCUIT_OPEN"\} 1/);
    expect(text).toMatch(/aircharge_biller_calls_total\{operation="post",outcome="ERR_BILLER_UNAVAILABLE"\} 2/);
    await faults({ errorRate: 0 });
    await sleep(750);
    expect(biller.available()).toBe(true);
    // The probe succeeds and closes the breaker; nothing was booked by the refused posting.
    expect(await biller.posting('H00000042', '1000000003')).toBeNull();
    expect((await biller.lookup('1000000001'))?.account).toBe('1000000001');
    expect(await registry.metrics()).toMatch(/aircharge_biller_breaker_state 0/);
  });

  it('a biller that is not there is ERR_BILLER_CONNECTION; wrong credentials are ERR_BILLER_AUTH; bearer works', async () => {
    const wrong = client({ secret: Buffer.from('not-the-secret-0123456789') });
    expect((await failure(wrong.lookup('1000000001'))).code).toBe('ERR_BILLER_AUTH');
    expect((await client({ auth: 'bearer' }).lookup('1000000001'))?.account).toBe('1000000001');
    const pool = billerPool('http://127.0.0.1:1');
    pools.push(pool);
    const nowhere = new HttpBiller({ url: 'http://127.0.0.1:1', pool, secret: null, readAttempts: 1 });
    const error = await failure(nowhere.lookup('1000000001'));
    expect(error.code).toBe('ERR_BILLER_CONNECTION');
  });
});
