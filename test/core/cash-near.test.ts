/**
 * A collector's near-cash-limit state at its exact boundaries, with the gateway's rule in percent
 * of his limit (in at 90%: ¥900 of ¥1,000; out only below 80%: under ¥800), through the real core
 * and the admin's remittance: the CASH_NEAR_LIMIT flag on the PAY and CORRECT answers follows the
 * state, not the cash; one log event per entry and exit, the hash's `cashNear` field, `merchant
 * list --near-cash-limit` (the CLI as a process) and no flapping in between.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode, TxnFlag } from '../../protocol/constants.js';
import { createAdmin } from '../../src/admin/index.js';
import { cashNearOptions } from '../../src/core/cash-near.js';
import { createCore } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { runAircharge } from '../helpers/cli.js';
import { MASTER_KEY, seedAccounts, startNetwork, TerminalSession, type Network } from './network.js';
import { LogSink } from '../helpers/log-sink.js';

let net: Network;
const sink = new LogSink();
const logged = sink.lines;
let t: TerminalSession;
const LIMIT = 100_000; // ¥1,000
const ENTER = 90_000; // 90%
const LEAVE_BELOW = 80_000; // 90 − 10 points
const ACCOUNT = '7100000001';

beforeAll(async () => {
  net = await startNetwork();
  const cashNear = { percent: 90, marginPercent: 10 };
  const { core, sessions } = await createCore({ redis: net.redis, masterKey: MASTER_KEY, logger: pino(sink), cashNear });
  net = { ...net, core, sessions, admin: createAdmin({ redis: net.redis, masterKey: MASTER_KEY, operator: 'test', cashNear, logger: pino(sink) }) };
  await net.admin.addMerchant('NC', 'Zhao Min, Nanshan round', { kind: 'collector', cashLimitFen: LIMIT });
  await net.admin.addTerminal('N0000001', 'NC');
  await seedAccounts(net.admin, [{ account: ACCOUNT, name: 'Many', arrearsFen: 100_000_000 }]);
  t = new TerminalSession(net, 'N0000001', 'NC');
  await t.signIn();
});
afterAll(() => net.stop());

const events = () => logged.filter((l) => typeof l.event === 'string' && String(l.event).startsWith('cash_near_limit')).map((l) => [l.event, l.cashFen]);
const inState = async () => (await net.redis.hget(keys.merchant('NC'), 'cashNear')) === '1';
const listed = async () => {
  const run = await runAircharge(['merchant', 'list', '--near-cash-limit', '--json'], { REDIS_URL: net.redisProcess.url });
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { merchants: Array<{ id: string; cashFen: number; nearCashLimit: boolean }> }).merchants.map((m) => [m.id, m.cashFen]);
};

describe('near the cash limit', () => {
  it('is not entered one fen short of 90%, and is entered exactly at it: flag on, one event, in the state and the list', async () => {
    const short = await t.pay(ACCOUNT, ENTER - 1);
    expect(short.response).toMatchObject({ result: ResultCode.APPROVED, cashHeldFen: ENTER - 1, flags: 0 });
    expect(events()).toEqual([]);
    expect(await inState()).toBe(false);
    expect(await listed()).toEqual([]);

    const at = await t.pay(ACCOUNT, 1);
    expect(at.response).toMatchObject({ result: ResultCode.APPROVED, cashHeldFen: ENTER, flags: TxnFlag.CASH_NEAR_LIMIT });
    expect(events()).toEqual([['cash_near_limit_enter', ENTER]]);
    expect(await inState()).toBe(true);
    expect((await net.admin.showMerchant('NC')).nearCashLimit).toBe(true);
    expect(await listed()).toEqual([['NC', ENTER]]);
  });

  it('stays between 80% and 90% whatever moves: a correction, a remittance down to exactly 80%, payments back up', async () => {
    const paid = await t.pay(ACCOUNT, 500);
    const corrected = await t.correct(paid.response.receipt, ACCOUNT, 500);
    expect(corrected.response).toMatchObject({ result: ResultCode.APPROVED, cashHeldFen: ENTER, flags: TxnFlag.CASH_NEAR_LIMIT });
    const oneBelow = await t.pay(ACCOUNT, 1);
    await t.correct(oneBelow.response.receipt, ACCOUNT, 1);
    const down = await net.admin.remit('NC', ENTER - LEAVE_BELOW, { reference: 'R-80' });
    expect(down).toMatchObject({ cashFen: LEAVE_BELOW, nearCashLimit: '' });
    const up = await t.pay(ACCOUNT, ENTER - LEAVE_BELOW - 1);
    expect(up.response).toMatchObject({ cashHeldFen: ENTER - 1, flags: TxnFlag.CASH_NEAR_LIMIT });
    const back = await net.admin.remit('NC', ENTER - LEAVE_BELOW - 1, { reference: 'R-80-AGAIN' });
    expect(back.cashFen).toBe(LEAVE_BELOW);
    expect(events()).toEqual([['cash_near_limit_enter', ENTER]]);
    expect(await inState()).toBe(true);
  });

  it('is left one fen below 80%, by a remittance: one event, out of the state; and not entered again until 90%', async () => {
    const out = await net.admin.remit('NC', 1, { reference: 'R-OUT' });
    expect(out).toMatchObject({ cashFen: LEAVE_BELOW - 1, nearCashLimit: 'leave' });
    expect(events()).toEqual([['cash_near_limit_enter', ENTER], ['cash_near_limit_leave', LEAVE_BELOW - 1]]);
    expect(await inState()).toBe(false);
    expect(await listed()).toEqual([]);

    const below = await t.pay(ACCOUNT, ENTER - LEAVE_BELOW);
    expect(below.response).toMatchObject({ cashHeldFen: ENTER - 1, flags: 0 });
    expect(events()).toHaveLength(2);
    // A correction taking him out from the other side: back in at 90%, out below 80% by the correction.
    const big = await t.pay(ACCOUNT, 10_001);
    expect(big.response).toMatchObject({ cashHeldFen: ENTER + 10_000, flags: TxnFlag.CASH_NEAR_LIMIT });
    const undone = await t.correct(big.response.receipt, ACCOUNT, 10_001);
    expect(undone.response).toMatchObject({ cashHeldFen: ENTER - 1, flags: TxnFlag.CASH_NEAR_LIMIT });
    expect(events()).toEqual([
      ['cash_near_limit_enter', ENTER], ['cash_near_limit_leave', LEAVE_BELOW - 1], ['cash_near_limit_enter', ENTER + 10_000],
    ]);
  });

  it('a bad rule is refused: a margin wider than the threshold, a percentage over 100', () => {
    expect(() => cashNearOptions({ percent: 10, marginPercent: 11 })).toThrow(RangeError);
    expect(() => cashNearOptions({ percent: 101 })).toThrow(RangeError);
    expect(cashNearOptions({ percent: 0, marginPercent: 0 })).toEqual({ percent: 0, marginPercent: 0 });
  });
});
