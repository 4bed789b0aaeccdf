/**
 * A fleet run that goes past midnight (the default business-day cut-off, 16:00 UTC): the closing
 * reconciliation checks every day the run touched, not only the one it began on. Payments and a
 * collector's hand-ins on both sides of midnight, through the real core and admin against a real
 * redis-server, reconcile clean; a journal entry of the second day that no terminal saw is found.
 * (A clean clone's CI once ran the chaos suite across 16:00 UTC and counted the second day's
 * hand-ins as missing from a journal read for the first day only.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import type { Ledger } from '../../simulator/fleet/fleet.js';
import { reconcile } from '../../simulator/fleet/reconcile.js';
import type { ReceiptRecord } from '../../simulator/terminal/state.js';
import { MASTER_KEY, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

// 2026-12-03 23:59:58 local (UTC+8), and four seconds later on the business day 2026-12-04.
const LATE = Date.UTC(2026, 11, 3, 15, 59, 58);
const EARLY = LATE + 4_000;
const FIRST_DAY = 20261203;

let net: Network;
const adminAt = (now: number): Admin => createAdmin({ redis: net.redis, masterKey: MASTER_KEY, operator: 'test', now: () => now });

beforeAll(async () => {
  net = await startNetwork();
  await seedAccounts(net.admin, [
    { account: '0000000201', name: 'Zhao Lei', arrearsFen: 90_000 },
    { account: '0000000202', name: 'Sun Li', arrearsFen: 90_000 },
  ]);
  await seedMerchant(net.admin, 'shop-m', 50_000, ['MDO00001']);
  await net.admin.addMerchant('walk-m', 'Electrician Ma', { kind: 'collector', cashLimitFen: 100_000 });
  await net.admin.addTerminal('MDC00001', 'walk-m');
});
afterAll(() => net?.stop());

/** A ledger as the terminal keeps it, from the core's answers. */
async function payBothSides(terminal: TerminalSession, account: string): Promise<ReceiptRecord[]> {
  await terminal.signIn(undefined, LATE);
  const receipts: ReceiptRecord[] = [];
  for (const [now, amountFen] of [[LATE, 1_500], [EARLY, 2_500]] as const) {
    const { response } = await terminal.pay(account, amountFen, { now });
    expect(response.result).toBe(ResultCode.APPROVED);
    receipts.push({ receipt: response.receipt, seq: terminal.seq, kind: 'pay', account, amountFen, businessDay: response.businessDay });
  }
  return receipts;
}

describe('the fleet reconciliation of a run across midnight', () => {
  it('checks both business days: payments, the report of each day and hand-ins on either side reconcile clean', async () => {
    const before = await adminAt(LATE).dailyReport(FIRST_DAY);
    const outlet = await payBothSides(new TerminalSession(net, 'MDO00001', 'shop-m'), '0000000201');
    const collector = await payBothSides(new TerminalSession(net, 'MDC00001', 'walk-m'), '0000000202');
    expect(outlet.map((r) => r.businessDay)).toEqual([FIRST_DAY, FIRST_DAY + 1]);
    await adminAt(LATE + 500).remit('walk-m', 1_000, { reference: 'HAND-IN-LATE' });
    await adminAt(EARLY + 500).remit('walk-m', 2_000, { reference: 'HAND-IN-EARLY' });

    const ledgers: Ledger[] = [
      { terminalId: 'MDO00001', merchantId: 'shop-m', kind: 'outlet', state: { terminalId: 'MDO00001', nextSeq: 99, pending: [], receipts: outlet }, remits: [] },
      {
        terminalId: 'MDC00001', merchantId: 'walk-m', kind: 'collector',
        state: { terminalId: 'MDC00001', nextSeq: 99, pending: [], receipts: collector },
        remits: [
          { reference: 'HAND-IN-LATE', amountFen: 1_000, why: 'near-limit', ok: true },
          { reference: 'HAND-IN-EARLY', amountFen: 2_000, why: 'end-of-day', ok: true },
        ],
      },
    ];
    const after = adminAt(EARLY + 1_000);
    const clean = await reconcile(after, ledgers, FIRST_DAY, before);
    expect(clean.mismatches).toEqual([]);
    expect(clean.ledger).toEqual({ payments: 4, paymentsFen: 8_000, corrections: 0, correctionsFen: 0 });
    expect(clean.journal).toEqual(clean.ledger);
    expect(clean.collectors).toMatchObject({ remits: 2, remittedFen: 3_000, heldFen: 1_000 });
    expect(clean.biller.matched).toBe(4);

    // The outlet's terminal forgets its payment after midnight: the journal entry of the second day is found.
    const forgetful = structuredClone(ledgers);
    forgetful[0]!.state.receipts.pop();
    const found = await reconcile(after, forgetful, FIRST_DAY, before);
    expect(found.mismatches).toContain(`${outlet[1]!.receipt}: pay of 2500 fen in the journal, unknown to terminal MDO00001`);
    expect(found.mismatches).toContain(`report of ${FIRST_DAY + 1} for shop-m: payments moved by 1, ledgers say 0`);
  }, 30_000);
});
