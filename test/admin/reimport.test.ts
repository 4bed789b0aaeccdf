/**
 * Importing an extract again must never undo money collected here: payments made through the
 * transaction core on a real redis-server, then the billing system's extract imported again,
 * unchanged and changed, as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { AdminErrorCode } from '../../src/admin/index.js';
import { seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

const EXTRACT = 'account,name,arrears,periods\n6000000001,Zhang San,200.00,202609:120;202610:80\n6000000002,Li Si,50.00,\n';

let net: Network;
let terminal: TerminalSession;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'M1', 100_000, ['R0000001']);
  await net.admin.importAccounts(EXTRACT);
  terminal = new TerminalSession(net, 'R0000001', 'M1');
  await terminal.signIn();
  expect((await terminal.pay('6000000001', 3_550)).response.result).toBe(ResultCode.APPROVED);
});
afterAll(async () => {
  await net.stop();
});

describe('accounts import after a payment', () => {
  it('keeps the arrears when the same extract is imported again', async () => {
    expect(await net.admin.importAccounts(EXTRACT)).toEqual({ imported: 1, unchanged: 1 });
    expect(await net.admin.showAccount('6000000001')).toMatchObject({
      arrearsFen: 16_450,
      periods: [{ period: 202609, amountFen: 8_450 }, { period: 202610, amountFen: 8_000 }],
    });
    expect((await net.admin.verify()).discrepancies).toEqual([]);
  });

  it('takes a new name for an account paid since, and keeps its arrears', async () => {
    await net.admin.importAccounts(EXTRACT.replace('Zhang San', 'Zhang Sanfeng'));
    expect(await net.admin.showAccount('6000000001')).toMatchObject({ name: 'Zhang Sanfeng', arrearsFen: 16_450 });
  });

  it('refuses a file that changes the arrears of an account paid since, naming it, and writes nothing from that file', async () => {
    const changed = EXTRACT.replace('200.00,202609:120;202610:80', '250.00,202609:120;202610:80;202611:50').replace('Li Si,50.00', 'Li Si,70.00');
    const error = (await net.admin.importAccounts(changed).catch((e: unknown) => e)) as { code: string; details: string[] };
    expect(error.code).toBe(AdminErrorCode.CONFLICT);
    expect(error.details).toEqual([expect.stringMatching(/^account 6000000001: paid here since its last import/)]);
    expect(await net.admin.showAccount('6000000001')).toMatchObject({ arrearsFen: 16_450 });
    // Li Si was not paid, so its row alone would be a replace; the file's conflict kept it out too.
    expect(await net.admin.showAccount('6000000002')).toMatchObject({ arrearsFen: 5_000 });
  });

  it('replaces an account once nothing was paid since its last import', async () => {
    expect(await net.admin.importAccounts('account,name,arrears\n6000000002,Li Si,70.00\n')).toEqual({ imported: 1, unchanged: 0 });
    expect(await net.admin.showAccount('6000000002')).toMatchObject({ arrearsFen: 7_000 });
  });
});
