/** The embedded biller against its port's rules: idempotent by receipt, bills cleared oldest first, overpayment declined. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { RedisBiller, unpaidPeriods } from '../../src/biller/index.js';
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

const day = 20260915;
const bill = (period: number, amountFen: number, paidFen = 0) => ({
  billId: `B${period}`,
  period,
  amountFen,
  issueDate: `${String(period).slice(0, 4)}-${String(period).slice(4)}-05`,
  status: 'open',
  paidFen,
});

describe('RedisBiller', () => {
  it('looks an account up with its bills oldest first and arrears derived from them; unknown is null', async () => {
    expect(await biller.lookup('6000000001')).toEqual({
      account: '6000000001',
      holderName: 'Zhao Liu',
      status: 'open',
      arrearsFen: 600,
      bills: [bill(202607, 100), bill(202608, 200), bill(202609, 300)],
    });
    expect(await biller.lookup('6999999999')).toBeNull();
  });

  it('posts once per receipt, clearing bills oldest first, and reverses exactly what it cleared, once', async () => {
    const post = { receipt: 'B00000010000000001', account: '6000000001', amountFen: 250, at, day };
    const cleared = [
      { billId: 'B202607', period: 202607, amountFen: 100 },
      { billId: 'B202608', period: 202608, amountFen: 150 },
    ];
    expect(await biller.post(post)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 350, bills: cleared, holderName: 'Zhao Liu' });
    expect(await biller.post(post)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 350, bills: cleared, holderName: 'Zhao Liu' });
    const account = await biller.lookup('6000000001');
    expect(account?.bills).toEqual([bill(202607, 100, 100), bill(202608, 200, 150), bill(202609, 300)]);
    expect(unpaidPeriods(account?.bills ?? [])).toEqual([
      { period: 202608, amountFen: 50 },
      { period: 202609, amountFen: 300 },
    ]);
    const reversal = { receipt: 'B00000010000000002', originalReceipt: post.receipt, account: '6000000001', amountFen: 250, at: at + 1, day };
    expect(await biller.reverse(reversal)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 600, bills: cleared });
    expect(await biller.reverse(reversal)).toEqual({ result: ResultCode.APPROVED, arrearsFen: 600, bills: cleared });
    expect(await biller.lookup('6000000001')).toMatchObject({
      arrearsFen: 600,
      bills: [bill(202607, 100), bill(202608, 200), bill(202609, 300)],
    });
    // A second reversal of the same payment under another receipt is refused.
    expect(await biller.reverse({ ...reversal, receipt: 'B00000010000000003' })).toEqual({ result: ResultCode.ORIGINAL_NOT_FOUND, arrearsFen: 0, bills: [] });
    expect(await net.redis.zrange(keys.postings('6000000001'), 0, -1)).toEqual([post.receipt, reversal.receipt]);

    // Queried by receipt, and filed under their business day in booking order.
    expect(await biller.posting(post.receipt, post.account)).toEqual({
      receipt: post.receipt, account: post.account, kind: 'payment', amountFen: 250, original: '',
      result: ResultCode.APPROVED, arrearsFen: 350, bills: cleared, at, day,
    });
    expect(await biller.posting('B00000010000000099', post.account)).toBeNull();
    expect((await biller.dayPostings(day)).map((p) => [p.receipt, p.kind, p.original])).toEqual([
      [post.receipt, 'payment', ''],
      [reversal.receipt, 'reversal', post.receipt],
    ]);
    expect(await biller.dayPostings(day + 1)).toEqual([]);
  });

  it("files a posting under its day when recovery finds it booked but not filed (the gateway died between the two writes)", async () => {
    const post = { receipt: 'B00000010000000011', account: '6000000001', amountFen: 50, at: at + 5, day: day + 7 };
    expect((await biller.post(post)).result).toBe(ResultCode.APPROVED);
    // What a SIGKILL after the posting script and before its filing leaves behind:
    await net.redis.zrem(keys.billerDay(post.day), `${post.account}:${post.receipt}`);
    expect(await biller.dayPostings(post.day)).toEqual([]);
    // Recovery asks the biller about the receipt before anything else (core/in-doubt.ts).
    expect((await biller.posting(post.receipt, post.account))?.result).toBe(ResultCode.APPROVED);
    expect((await biller.dayPostings(post.day)).map((p) => p.receipt)).toEqual([post.receipt]);
    // The account's arrears back as the other tests expect them.
    const undo = { receipt: 'B00000010000000012', originalReceipt: post.receipt, account: post.account, amountFen: 50, at: at + 6, day: post.day };
    expect((await biller.reverse(undo)).result).toBe(ResultCode.APPROVED);
  });

  it('declines overpayment with what is owed, a closed account, and an unknown account', async () => {
    expect(await biller.post({ receipt: 'B00000010000000004', account: '6000000001', amountFen: 601, at, day }))
      .toEqual({ result: ResultCode.OVERPAYMENT, arrearsFen: 600, bills: [] });
    expect(await biller.post({ receipt: 'B00000010000000005', account: '6000000002', amountFen: 1, at, day }))
      .toEqual({ result: ResultCode.ACCOUNT_CLOSED, arrearsFen: 0, bills: [] });
    expect(await biller.post({ receipt: 'B00000010000000006', account: '6999999999', amountFen: 1, at, day }))
      .toEqual({ result: ResultCode.UNKNOWN_ACCOUNT, arrearsFen: 0, bills: [] });
    // A decline is final: the account appearing later does not turn a repeat into a booking.
    await seedAccounts(net.admin, [{ account: '6999999999', name: 'Late', arrearsFen: 100 }]);
    expect(await biller.post({ receipt: 'B00000010000000006', account: '6999999999', amountFen: 1, at, day }))
      .toEqual({ result: ResultCode.UNKNOWN_ACCOUNT, arrearsFen: 0, bills: [] });
    expect((await biller.lookup('6999999999'))?.arrearsFen).toBe(100);
    // A declined posting is not reversible, is recorded (query by receipt) but is in no day's file.
    expect(await biller.reverse({ receipt: 'B00000010000000007', originalReceipt: 'B00000010000000004', account: '6000000001', amountFen: 601, at, day }))
      .toEqual({ result: ResultCode.ORIGINAL_NOT_FOUND, arrearsFen: 0, bills: [] });
    expect((await biller.lookup('6000000001'))?.arrearsFen).toBe(600);
    expect(await biller.posting('B00000010000000004', '6000000001')).toMatchObject({ result: ResultCode.OVERPAYMENT, arrearsFen: 600 });
    expect((await biller.dayPostings(day)).map((p) => p.receipt)).not.toContain('B00000010000000004');
  });

  it('a cancelled bill is owed no more, and a payment never clears it', async () => {
    await net.admin.importAccounts(
      'account,name,bill_id,period,amount,issue_date,status\n' +
        '6000000003,Qian,X1,202607,1.00,2026-07-05,cancelled\n6000000003,Qian,X2,202608,2.00,2026-08-05,open\n',
    );
    expect((await biller.lookup('6000000003'))?.arrearsFen).toBe(200);
    expect(await biller.post({ receipt: 'B00000010000000008', account: '6000000003', amountFen: 201, at, day }))
      .toMatchObject({ result: ResultCode.OVERPAYMENT, arrearsFen: 200 });
    expect(await biller.post({ receipt: 'B00000010000000009', account: '6000000003', amountFen: 200, at, day }))
      .toEqual({ result: ResultCode.APPROVED, arrearsFen: 0, bills: [{ billId: 'X2', period: 202608, amountFen: 200 }], holderName: 'Qian' });
  });
});
