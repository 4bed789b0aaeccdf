/**
 * The collectors' leg of reconciliation. A collector of the fleet is fresh (his cash held started
 * at zero), so by his terminal's receipts and the office's hand-ins the gateway must say he holds
 * exactly payments − corrections − remittances; every hand-in the office recorded is in the
 * journal once (kind `remit`, its reference and amount) and none the office did not record.
 */
import type { Admin } from '../../src/admin/index.js';
import type { Ledger } from './fleet.js';

export interface CollectorCash {
  merchant: string;
  terminal: string;
  paymentsFen: number;
  correctionsFen: number;
  /** Hand-ins the office recorded. */
  remits: number;
  remittedFen: number;
  /** Cash held, as the gateway says (`merchant show`). */
  heldFen: number;
  cashLimitFen: number;
}

export interface CollectorFigures {
  count: number;
  /** Payments less corrections: what they took from households. */
  collectedFen: number;
  remits: number;
  /** Of them, during the day (told CASH_NEAR_LIMIT, or declined CASH_LIMIT) rather than at its end. */
  duringDay: number;
  remittedFen: number;
  heldFen: number;
  /** Hand-ins the office refused (each one is a mismatch too). */
  refusedRemits: number;
  merchants: CollectorCash[];
}

/** The hand-ins of the business days `firstDay` to `lastDay` (a run that went past a cut-off). */
export async function checkCollectors(admin: Admin, ledgers: Ledger[], firstDay: number, lastDay = firstDay): Promise<{ figures: CollectorFigures; mismatches: string[] }> {
  const mismatches: string[] = [];
  const figures: CollectorFigures = { count: 0, collectedFen: 0, remits: 0, duringDay: 0, remittedFen: 0, heldFen: 0, refusedRemits: 0, merchants: [] };
  const collectors = ledgers.filter((l) => l.kind === 'collector');
  if (collectors.length === 0) return { figures, mismatches };
  const journaled = new Map<string, { merchant: string; amountFen: number; times: number }>();
  for (const entry of await admin.exportJournal(firstDay, lastDay)) {
    if (entry.kind !== 'remit' || !collectors.some((l) => l.merchantId === entry.merchant)) continue;
    const key = `${entry.merchant} ${entry.ref ?? ''}`;
    const seen = journaled.get(key);
    journaled.set(key, { merchant: entry.merchant, amountFen: entry.amountFen, times: (seen?.times ?? 0) + 1 });
  }
  for (const ledger of collectors) {
    let paymentsFen = 0;
    let correctionsFen = 0;
    for (const r of ledger.state.receipts) {
      if (r.kind === 'pay') paymentsFen += r.amountFen;
      else correctionsFen += r.amountFen;
    }
    const recorded = ledger.remits.filter((r) => r.ok);
    const remittedFen = recorded.reduce((sum, r) => sum + r.amountFen, 0);
    for (const r of ledger.remits.filter((x) => !x.ok)) mismatches.push(`${ledger.merchantId}: the office refused hand-in ${r.reference} of ${r.amountFen} fen (${r.error})`);
    const merchant = await admin.showMerchant(ledger.merchantId);
    const expected = paymentsFen - correctionsFen - remittedFen;
    if (merchant.cashFen !== expected) {
      mismatches.push(`${ledger.merchantId}: holds ${merchant.cashFen} fen, payments ${paymentsFen} − corrections ${correctionsFen} − remitted ${remittedFen} = ${expected}`);
    }
    for (const r of recorded) {
      const entry = journaled.get(`${ledger.merchantId} ${r.reference}`);
      if (!entry) mismatches.push(`${ledger.merchantId}: hand-in ${r.reference} of ${r.amountFen} fen missing from the journal`);
      else if (entry.times !== 1 || entry.amountFen !== r.amountFen) mismatches.push(`${ledger.merchantId}: hand-in ${r.reference} in the journal ${entry.times} times, ${entry.amountFen} fen (office: ${r.amountFen})`);
      journaled.delete(`${ledger.merchantId} ${r.reference}`);
    }
    figures.merchants.push({
      merchant: ledger.merchantId, terminal: ledger.terminalId, paymentsFen, correctionsFen,
      remits: recorded.length, remittedFen, heldFen: merchant.cashFen, cashLimitFen: merchant.cashLimitFen,
    });
    figures.count += 1;
    figures.collectedFen += paymentsFen - correctionsFen;
    figures.remits += recorded.length;
    figures.duringDay += recorded.filter((r) => r.why !== 'end-of-day').length;
    figures.remittedFen += remittedFen;
    figures.heldFen += merchant.cashFen;
    figures.refusedRemits += ledger.remits.length - recorded.length;
  }
  for (const [key, entry] of journaled) mismatches.push(`${key}: a remit of ${entry.amountFen} fen in the journal the office did not record`);
  return { figures, mismatches };
}
