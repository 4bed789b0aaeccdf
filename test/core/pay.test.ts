/** PAY: the money moves once, every decline has its code, and a retransmission gets the same answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { businessDayOf } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;
const float = (merchantId: string) => net.admin.showMerchant(merchantId).then((m) => m.floatFen);
const arrears = (account: string) => net.admin.showAccount(account).then((a) => a.arrearsFen);

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'M1', 100_000, ['P0000001', 'P0000002']);
  await seedAccounts(net.admin, [
    { account: '2000000001', name: 'Zhang San', arrearsFen: 30_000, periods: [[202608, 10_000], [202609, 12_000], [202610, 8_000]] },
    { account: '2000000002', name: 'Closed', arrearsFen: 5_000, status: 'closed' },
    { account: '2000000003', name: 'Big', arrearsFen: 900_000 },
  ]);
});
afterAll(() => net.stop());

describe('pay', () => {
  it('debits the float, writes off the arrears oldest period first, journals it and returns the receipt', async () => {
    const t = new TerminalSession(net, 'P0000001', 'M1');
    await t.signIn();
    const now = Date.now();
    const outcome = await t.pay('2000000001', 15_000, { now });
    const receipt = `P0000001${String(t.seq).padStart(10, '0')}`;
    expect(outcome).toEqual({
      response: { result: ResultCode.APPROVED, receipt, arrearsFen: 15_000, floatFen: 85_000, businessDay: businessDayOf(now, undefined) },
      replayed: false,
    });
    expect(await float('M1')).toBe(85_000);
    const account = await net.admin.showAccount('2000000001');
    expect(account.arrearsFen).toBe(15_000);
    expect(account.periods).toEqual([
      { period: 202609, amountFen: 7_000 },
      { period: 202610, amountFen: 8_000 },
    ]);
    const journal = await net.redis.xrange(keys.journal('M1'), '-', '+');
    const last = journal.at(-1)?.[1] ?? [];
    expect(last).toEqual(expect.arrayContaining(['kind', 'pay', 'txn', receipt, 'amountFen', '15000']));
    expect(await net.redis.zcard(keys.pending('M1'))).toBe(0);
  });
});
