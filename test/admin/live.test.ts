/**
 * verify beside live traffic: terminals keep paying and correcting through the core while verify
 * runs again and again. Books that are consistent at every instant must never be reported as
 * inconsistent because a transaction completed halfway through a verify.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { createAdmin } from '../../src/admin/index.js';
import { MASTER_KEY, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

let net: Network;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'L1', 10_000_000, ['L1000001', 'L1000002']);
  await seedMerchant(net.admin, 'L2', 10_000_000, ['L2000001']);
  await seedAccounts(
    net.admin,
    Array.from({ length: 5 }, (_, i) => ({ account: `900000000${i}`, name: `Holder ${i}`, arrearsFen: 5_000_000 })),
  );
});
afterAll(() => net.stop());

it('finds no discrepancy while payments and corrections complete during the check', async () => {
  const admin = createAdmin({ redis: net.redis, masterKey: MASTER_KEY });
  let running = true;
  let approved = 0;
  const terminals = [
    new TerminalSession(net, 'L1000001', 'L1'),
    new TerminalSession(net, 'L1000002', 'L1'),
    new TerminalSession(net, 'L2000001', 'L2'),
  ];
  for (const t of terminals) await t.signIn();
  const traffic = terminals.map(async (t, n) => {
    for (let i = 0; running; i++) {
      const account = `900000000${(i + n) % 5}`;
      const paid = await t.pay(account, 100 + i);
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      approved += 1;
      if (i % 3 === 0) expect((await t.correct(paid.response.receipt, account, 100 + i)).response.result).toBe(ResultCode.APPROVED);
    }
  });

  const results = [];
  while (approved < 30) await new Promise((resolve) => setTimeout(resolve, 10));
  for (let round = 0; round < 6; round++) results.push(await admin.verify());
  running = false;
  await Promise.all(traffic);

  expect(results.flatMap((r) => r.discrepancies)).toEqual([]);
  // The checks really ran over a growing store while it was being written.
  const counts = results.map((r) => r.checked.transactions);
  expect(counts[counts.length - 1]!).toBeGreaterThan(counts[0]!);
  const after = await admin.verify();
  expect(after).toMatchObject({ ok: true, checked: { pending: 0 } });
  expect(after.checked.transactions).toBeGreaterThan(counts[counts.length - 1]!);
});
