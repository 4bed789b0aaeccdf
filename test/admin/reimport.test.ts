/**
 * Importing an extract again must never undo money collected here: the walk-through of issue 11
 * (pay ¥35.50 on ¥200.00, import the same extract again) through the transaction core on a real
 * redis-server, then the extract changed as a billing system would send it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { AdminErrorCode } from '../../src/admin/index.js';
import { seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

const EXTRACT = [
  'account,name,bill_id,period,amount,issue_date,status',
  '6000000001,Zhang San,Z-202609,202609,120.00,2026-09-05,open',
  '6000000001,Zhang San,Z-202610,202610,80.00,2026-10-05,open',
  '6000000002,Li Si,L-202609,202609,50.00,2026-09-05,open',
].join('\n');

let net: Network;
let terminal: TerminalSession;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'M1', 100_000, ['R0000001']);
  await net.admin.importAccounts(EXTRACT);
  terminal = new TerminalSession(net, 'R0000001', 'M1');
  await terminal.signIn();
  expect((await terminal.pay('6000000001', 3_550)).response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: 16_450 });
});
afterAll(async () => {
  await net.stop();
});

describe('accounts import after a payment', () => {
  it('keeps the arrears at ¥164.50 when the same extract is imported again', async () => {
    expect(await net.admin.importAccounts(EXTRACT)).toEqual({ accounts: 2, newAccounts: 0, billsAdded: 0, billsChanged: 0, billsUnchanged: 3 });
    expect(await net.admin.showAccount('6000000001')).toMatchObject({
      arrearsFen: 16_450,
      periods: [{ period: 202609, amountFen: 8_450 }, { period: 202610, amountFen: 8_000 }],
    });
    expect(await net.admin.verify()).toMatchObject({ ok: true, discrepancies: [], unchecked: [] });
  });

  it('takes a new name for an account paid since, and keeps its arrears', async () => {
    await net.admin.importAccounts(EXTRACT.replaceAll('Zhang San', 'Zhang Sanfeng'));
    expect(await net.admin.showAccount('6000000001')).toMatchObject({ name: 'Zhang Sanfeng', arrearsFen: 16_450 });
  });

  it('refuses a file that changes the amount of the bill paid against, naming it, and writes nothing from that file', async () => {
    const changed = EXTRACT.replace('Z-202609,202609,120.00', 'Z-202609,202609,84.50').replace('L-202609,202609,50.00', 'L-202609,202609,70.00') +
      '\n6000000001,Zhang San,Z-202611,202611,40.00,2026-11-05,open';
    const error = (await net.admin.importAccounts(changed).catch((e: unknown) => e)) as { code: string; details: string[] };
    expect(error.code).toBe(AdminErrorCode.CONFLICT);
    expect(error.details).toEqual([expect.stringMatching(/^account 6000000001 bill Z-202609: 35.50 yuan paid against it here, and the file changes its amount/)]);
    expect(await net.admin.showAccount('6000000001')).toMatchObject({ arrearsFen: 16_450 });
    // Li Si's bill was not paid, so its row alone would be taken; the file's conflict kept it out too.
    expect(await net.admin.showAccount('6000000002')).toMatchObject({ arrearsFen: 5_000 });
  });

  it('takes a changed bill nothing was paid against', async () => {
    const changed = EXTRACT.replace('L-202609,202609,50.00', 'L-202609,202609,70.00');
    expect(await net.admin.importAccounts(changed)).toMatchObject({ billsChanged: 1, billsUnchanged: 2 });
    expect(await net.admin.showAccount('6000000002')).toMatchObject({ arrearsFen: 7_000 });
    expect(await net.admin.showAccount('6000000001')).toMatchObject({ arrearsFen: 16_450 });
  });
});
