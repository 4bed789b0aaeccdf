/** The embedded biller against its port's rules: idempotent by receipt, periods oldest first, overpayment declined. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { RedisBiller } from '../../src/biller/index.js';
import { keys } from '../../src/store/keys.js';
import { seedAccounts, startNetwork, type Network } from './network.js';

let net: Network;
let biller: RedisBiller;
const at = Date.now();

beforeAll(async () => {
  net = await startNetwork();
  biller = new RedisBiller(net.redis);
  await seedAccounts(net.admin, [
    { account: '6000000001', name: 'Zhao Liu', arrearsFen: 600, periods: [[202607, 100], [202608, 200], [202609, 300]] },
    { account: '6000000002', name: 'Shut', arrearsFen: 600, status: 'closed' },
  ]);
});
afterAll(() => net.stop());

describe('RedisBiller', () => {
  it('looks an account up with its periods oldest first; unknown is null', async () => {
    expect(await biller.lookup('6000000001')).toEqual({
      account: '6000000001',
      holderName: 'Zhao Liu',
      status: 'open',
      arrearsFen: 600,
      periods: [
        { period: 202607, amountFen: 100 },
        { period: 202608, amountFen: 200 },
        { period: 202609, amountFen: 300 },
      ],
    });
    expect(await biller.lookup('6999999999')).toBeNull();
  });

  it('posts once per receipt, clearing periods oldest first, and reverses exactly what it cleared, once', async () => {
    const post = { receipt: 'B00000010000000001', account: '6000000001', amountFen: 250, at };
    expect(await biller.post(post)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 350 });
    expect(await biller.post(post)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 350 });
    expect((await biller.lookup('6000000001'))?.periods).toEqual([
      { period: 202608, amountFen: 50 },
      { period: 202609, amountFen: 300 },
    ]);
    const reversal = { receipt: 'B00000010000000002', originalReceipt: post.receipt, account: '6000000001', amountFen: 250, at };
    expect(await biller.reverse(reversal)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 600 });
    expect(await biller.reverse(reversal)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 600 });
    expect(await biller.lookup('6000000001')).toMatchObject({
      arrearsFen: 600,
      periods: [
        { period: 202607, amountFen: 100 },
        { period: 202608, amountFen: 200 },
        { period: 202609, amountFen: 300 },
      ],
    });
    // A second reversal of the same payment under another receipt is refused.
    expect(await biller.reverse({ ...reversal, receipt: 'B00000010000000003' })).toEqual({ result: ResultCode.ORIGINAL_NOT_FOUND, arrearsFen: 0 });
    expect(await net.redis.zrange(keys.postings('6000000001'), 0, -1)).toEqual([post.receipt, reversal.receipt]);
  });

  it('declines overpayment with what is owed, a closed account, and an unknown account', async () => {
    expect(await biller.post({ receipt: 'B00000010000000004', account: '6000000001', amountFen: 601, at }))
      .toEqual({ result: ResultCode.OVERPAYMENT, arrearsFen: 600 });
    expect(await biller.post({ receipt: 'B00000010000000005', account: '6000000002', amountFen: 1, at }))
      .toEqual({ result: ResultCode.ACCOUNT_CLOSED, arrearsFen: 0 });
    expect(await biller.post({ receipt: 'B00000010000000006', account: '6999999999', amountFen: 1, at }))
      .toEqual({ result: ResultCode.UNKNOWN_ACCOUNT, arrearsFen: 0 });
    // A decline is final: the account appearing later does not turn a repeat into a booking.
    await seedAccounts(net.admin, [{ account: '6999999999', name: 'Late', arrearsFen: 100 }]);
    expect(await biller.post({ receipt: 'B00000010000000006', account: '6999999999', amountFen: 1, at }))
      .toEqual({ result: ResultCode.UNKNOWN_ACCOUNT, arrearsFen: 0 });
    expect((await biller.lookup('6999999999'))?.arrearsFen).toBe(100);
    // A declined posting is not reversible.
    expect(await biller.reverse({ receipt: 'B00000010000000007', originalReceipt: 'B00000010000000004', account: '6000000001', amountFen: 601, at }))
      .toEqual({ result: ResultCode.ORIGINAL_NOT_FOUND, arrearsFen: 0 });
    expect((await biller.lookup('6000000001'))?.arrearsFen).toBe(600);
  });
});
