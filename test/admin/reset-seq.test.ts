/**
 * `aircharge terminal reset-seq` as an operator runs it (the CLI as a process, real redis-server):
 * a terminal whose mark was pushed to the last number a terminal has (what one forged REPLAY did
 * before sign-in refusals were authenticated) is put back, never below a number that started a
 * transaction, and signs in again.
 */
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { keys } from '../../src/store/keys.js';
import { startNetwork, seedAccounts, seedMerchant, TerminalSession, type Network } from '../core/network.js';

let net: Network;

const aircharge = (args: string[]): Promise<CliRun> => runAircharge(args, { REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: '' });

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'shop-seq', 100_000, ['SEQ00001', 'SEQ00002']);
  await seedAccounts(net.admin, [{ account: '5500000001', name: 'Li Si', arrearsFen: 50_000 }]);
});
afterAll(async () => {
  await net.stop();
});

describe('terminal reset-seq', () => {
  it('puts a mark pushed to 2³²−1 back to the last transaction or decline, clears the requests above it, and the terminal signs in again', async () => {
    const t = new TerminalSession(net, 'SEQ00001', 'shop-seq');
    expect((await t.signIn(1)).result).toBe(ResultCode.APPROVED);
    expect((await t.pay('5500000001', 100, { seq: 5 })).response.result).toBe(ResultCode.APPROVED);
    // A decline is kept for good under its receipt, like a transaction: the mark stays above it.
    expect((await t.pay('5500000001', 600_000, { seq: 7 })).response.result).toBe(ResultCode.AMOUNT_OVER_LIMIT);
    // A sign-out leaves only a request record, for the replay retention.
    expect((await t.signOut({ seq: 9 })).response.result).toBe(ResultCode.APPROVED);
    await net.redis.hset(keys.terminal('shop-seq', 'SEQ00001'), 'hwm', 0xffffffff);
    const bricked = new TerminalSession(net, 'SEQ00001', 'shop-seq');
    expect((await bricked.signIn(8)).result).toBe(ResultCode.REPLAY);

    const run = await aircharge(['terminal', 'reset-seq', 'SEQ00001', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ previousHwm: 0xffffffff, lowestAllowed: 7, requestsCleared: 1, terminal: { hwm: 7 } });
    expect(await net.redis.exists(keys.request('shop-seq', 'SEQ00001', 9))).toBe(0);
    expect(await net.redis.exists(keys.session('shop-seq', 'SEQ00001'))).toBe(0);
    expect((await bricked.signIn(8)).result).toBe(ResultCode.APPROVED);
    // Number 9 is new again: the sign-out recorded under it is gone.
    expect((await bricked.pay('5500000001', 200, { seq: 9 })).response.result).toBe(ResultCode.APPROVED);
  });

  it('refuses a mark below a number that started a transaction, changing nothing', async () => {
    const t = new TerminalSession(net, 'SEQ00002', 'shop-seq');
    await t.signIn(1);
    await t.pay('5500000001', 100, { seq: 3 });
    const run = await aircharge(['terminal', 'reset-seq', 'SEQ00002', '--to', '2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot go below');
    expect(await net.redis.hget(keys.terminal('shop-seq', 'SEQ00002'), 'hwm')).toBe('3');
    const text = await aircharge(['terminal', 'reset-seq', 'SEQ00002', '--to', '40']);
    expect(text).toMatchObject({ code: 0, stdout: expect.stringContaining('last seq 3 -> 40') });
    expect((await aircharge(['terminal', 'reset-seq', 'ZZZZ0000'])).code).toBe(1);
    expect((await aircharge(['terminal', 'reset-seq', 'SEQ00002', '--to', '-1'])).stderr).toContain('0..4294967295');
  });
});
