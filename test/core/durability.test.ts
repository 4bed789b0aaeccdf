/**
 * Durability: payments answered APPROVED survive Redis being killed (SIGKILL, no shutdown) and
 * restarted on its AOF: Redis writes the AOF before it sends replies, so a process crash loses
 * nothing answered (src/core/README.md "Three steps, and recovery" says what an OS crash can).
 * The script cache is gone after the restart: the core's calls fall back from EVALSHA to EVAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { keys } from '../../src/store/keys.js';
import { RESERVE_PAY } from '../../src/store/lua/pay.js';
import { books, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;

beforeAll(async () => {
  net = await startNetwork();
  const terminals = Array.from({ length: 20 }, (_, i) => `D${String(i).padStart(7, '0')}`);
  await seedMerchant(net.admin, 'D1', 10_000_000, terminals);
  await seedAccounts(net.admin, [{ account: '8000000001', name: 'Durable', arrearsFen: 100_000_000 }]);
});
afterAll(() => net.stop());

describe('Redis killed and restarted', () => {
  it('keeps every approved payment, its stored answer and the session; scripts are loaded again', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const t = new TerminalSession(net, `D${String(i).padStart(7, '0')}`, 'D1');
        await t.signIn();
        return t;
      }),
    );
    const outcomes = await Promise.all(sessions.map((t, i) => t.pay('8000000001', 1_000 + i)));
    expect(outcomes.every((o) => o.response.result === ResultCode.APPROVED)).toBe(true);

    net.redis.on('error', () => {}); // connection refused while Redis is down: the client retries
    await net.redisProcess.restart({ signal: 'SIGKILL' });
    await net.redis.ping(); // the same client reconnects

    const sums = await books(net, 'D1');
    expect(sums).toMatchObject({ paymentCount: 20, payments: 20 * 1_000 + 190, pendingPayments: 0, balanced: true });
    expect(await net.redis.script('EXISTS', RESERVE_PAY.sha)).toEqual([0]);
    for (const [i, t] of sessions.entries()) {
      expect(await net.redis.hget(keys.transaction('D1', outcomes[i]!.response.receipt), 'state')).toBe('complete');
      // A retransmission after the restart gets the same answer, on the session that survived.
      expect(await t.pay('8000000001', 1_000 + i, { seq: t.seq })).toEqual({ response: outcomes[i]!.response, replayed: true });
    }
    const next = await sessions[0]!.pay('8000000001', 5);
    expect(next.response.result).toBe(ResultCode.APPROVED);
    expect(await net.redis.script('EXISTS', RESERVE_PAY.sha)).toEqual([1]);
  });
});
