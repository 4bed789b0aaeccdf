/**
 * The low-float warning state at its exact boundaries (entered strictly below the threshold, left
 * only strictly above threshold + margin: no flapping in between), its log events and the fleet
 * set; and the daily caps per terminal and per merchant at their boundaries.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode, TxnFlag } from '../../protocol/constants.js';
import { createAdmin } from '../../src/admin/index.js';
import { createCore } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { MASTER_KEY, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';
import { LogSink } from '../helpers/log-sink.js';

let net: Network;
const sink = new LogSink();
const logged = sink.lines;
const DAY_MS = 86_400_000;
const THRESHOLD = 10_000; // ¥100, this merchant's own
const MARGIN = 2_000; // the core's, below

beforeAll(async () => {
  net = await startNetwork();
  // This network's core with a known margin and a logger whose lines the test reads.
  const lowFloat = { thresholdFen: 50_000, marginFen: MARGIN };
  const { core, sessions } = await createCore({ redis: net.redis, masterKey: MASTER_KEY, logger: pino(sink), lowFloat });
  // The admin takes the same rule as the core, as the CLI takes the gateway's flags.
  net = { ...net, core, sessions, admin: createAdmin({ redis: net.redis, masterKey: MASTER_KEY, operator: 'test', lowFloat, logger: pino(sink) }) };
  // Topped up under the default threshold (¥500: low), then its own ¥100 threshold (no longer low).
  await seedMerchant(net.admin, 'LF', 20_000, ['L0000001']);
  expect((await net.admin.showMerchant('LF')).lowFloat).toBe(true);
  expect((await net.admin.setLowFloatThreshold('LF', THRESHOLD)).lowFloat).toBe(false);
  logged.length = 0;
  await seedMerchant(net.admin, 'CAP', 10_000_000, ['Q0000001', 'Q0000002']);
  await seedAccounts(net.admin, [
    { account: '8000000001', name: 'Many', arrearsFen: 100_000_000 },
    { account: '8000000002', name: 'Tiny', arrearsFen: 10 },
  ]);
});
afterAll(() => net.stop());

const lowEvents = () => logged.filter((l) => typeof l.event === 'string' && String(l.event).startsWith('low_float'));
const inState = async () => (await net.redis.hget(keys.merchant('LF'), 'lowFloat')) === '1';

describe('low float', () => {
  let t: TerminalSession;
  beforeAll(async () => {
    t = new TerminalSession(net, 'L0000001', 'LF');
    await t.signIn();
  });

  it('is not entered at exactly the threshold, and is entered one fen below it: one event, in the state, flag on', async () => {
    const at = await t.pay('8000000001', 10_000); // float 10,000 = threshold
    expect(at.response).toMatchObject({ result: ResultCode.APPROVED, floatFen: THRESHOLD, flags: 0 });
    expect(await inState()).toBe(false);
    const below = await t.pay('8000000001', 1); // 9,999
    expect(below.response).toMatchObject({ floatFen: THRESHOLD - 1, flags: TxnFlag.LOW_FLOAT });
    expect(await inState()).toBe(true);
    expect(lowEvents()).toEqual([expect.objectContaining({ event: 'low_float_enter', merchant: 'LF', floatFen: THRESHOLD - 1 })]);
    expect((await net.admin.lowFloatMerchants()).map((m) => [m.id, m.floatFen])).toEqual([['LF', THRESHOLD - 1]]);
  });

  it('does not flap: back above the threshold but not above threshold + margin it stays low, no event', async () => {
    await net.admin.topUp('LF', 2, { reference: 'LF-1' }); // 10,001
    const pay = await t.pay('8000000001', 1); // 10,000
    expect(pay.response.flags).toBe(TxnFlag.LOW_FLOAT);
    await net.admin.topUp('LF', MARGIN, { reference: 'LF-2' }); // 12,000 = threshold + margin exactly
    expect((await net.admin.showMerchant('LF')).lowFloat).toBe(true);
    expect(await inState()).toBe(true);
    expect(lowEvents()).toHaveLength(1);
  });

  it('is left one fen above threshold + margin: one event, out of the state, and a payment back under it does not re-enter', async () => {
    const topped = await net.admin.topUp('LF', 1, { reference: 'LF-3' }); // 12,001
    expect(topped.lowFloat).toBe('leave');
    expect(await inState()).toBe(false);
    expect((await net.admin.lowFloatMerchants())).toEqual([]);
    const pay = await t.pay('8000000001', 1_000); // 11,001: above the threshold
    expect(pay.response.flags).toBe(0);
    expect(await inState()).toBe(false);
  });

  it('a correction that lifts the float out of the state leaves it', async () => {
    const low = await t.pay('8000000001', 11_001 - THRESHOLD + 1); // 9,999: enters again
    expect(low.response.flags).toBe(TxnFlag.LOW_FLOAT);
    await net.admin.topUp('LF', 2_001, { reference: 'LF-4' }); // 12,000: stays
    const corrected = await t.correct(low.response.receipt, '8000000001', 11_001 - THRESHOLD + 1); // 12,000 + 1,002
    expect(corrected.response).toMatchObject({ result: ResultCode.APPROVED, flags: 0 });
    expect(await inState()).toBe(false);
    expect(lowEvents().map((e) => e.event)).toEqual(['low_float_enter', 'low_float_leave', 'low_float_enter', 'low_float_leave']);
    expect((await net.admin.verify()).ok).toBe(true);
  });
});

describe('daily caps', () => {
  let q1: TerminalSession;
  let q2: TerminalSession;
  beforeAll(async () => {
    q1 = new TerminalSession(net, 'Q0000001', 'CAP');
    q2 = new TerminalSession(net, 'Q0000002', 'CAP');
    await q1.signIn();
    await q2.signIn();
  });

  it('a terminal count cap of 3: the 3rd payment approved, the 4th TERMINAL_DAY_LIMIT; the other terminal unaffected', async () => {
    await net.admin.setTerminalLimits('Q0000001', { count: 3, amountFen: null });
    for (let i = 0; i < 3; i++) expect((await q1.pay('8000000001', 100)).response.result).toBe(ResultCode.APPROVED);
    const fourth = await q1.pay('8000000001', 100);
    expect(fourth.response.result).toBe(ResultCode.TERMINAL_DAY_LIMIT);
    expect((await q1.pay('8000000001', 100, { seq: q1.seq })).replayed).toBe(true);
    expect((await q2.pay('8000000001', 100)).response.result).toBe(ResultCode.APPROVED);
    // The next business day starts afresh.
    expect((await q1.pay('8000000001', 100, { now: Date.now() + DAY_MS })).response.result).toBe(ResultCode.APPROVED);
    await net.admin.setTerminalLimits('Q0000001', { count: null, amountFen: null });
    expect((await q1.pay('8000000001', 100)).response.result).toBe(ResultCode.APPROVED);
  });

  it('a merchant amount cap: a payment reaching it exactly is approved, one fen more MERCHANT_DAY_LIMIT; a biller decline gives room back', async () => {
    const day = net.admin.businessDay();
    const used = Number(await net.redis.hget(keys.day('CAP', day), 'capFen'));
    await net.admin.setMerchantLimits('CAP', { count: null, amountFen: used + 1_000 });
    // Declined by the biller (more than the 10 fen owed): counted at reserve, given back at completion.
    expect((await q2.pay('8000000002', 600)).response.result).toBe(ResultCode.OVERPAYMENT);
    expect((await q2.pay('8000000001', 600)).response.result).toBe(ResultCode.APPROVED);
    expect((await q1.pay('8000000001', 401)).response.result).toBe(ResultCode.MERCHANT_DAY_LIMIT);
    expect((await q1.pay('8000000001', 400)).response.result).toBe(ResultCode.APPROVED);
    expect((await q2.pay('8000000001', 1)).response.result).toBe(ResultCode.MERCHANT_DAY_LIMIT);
    expect(await net.admin.showMerchant('CAP')).toMatchObject({ limits: { count: null, amountFen: used + 1_000 } });
    expect((await net.admin.verify()).ok).toBe(true);
  });

  it('the terminal cap is checked before the merchant cap, and both before the float', async () => {
    await net.admin.setTerminalLimits('Q0000002', { count: 1, amountFen: 1 });
    expect((await q2.pay('8000000001', 2)).response.result).toBe(ResultCode.TERMINAL_DAY_LIMIT);
  });
});
