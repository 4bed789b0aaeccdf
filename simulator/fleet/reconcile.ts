/**
 * Reconciliation of what the terminals saw against what the operator sees: every payment and
 * correction a terminal saw approved is in the journal exactly once with its amount; every journal
 * entry of these terminals is known to the terminal that made it (a lost response must have been
 * learned by STATUS or retransmission before the end); the day's report moved by exactly the
 * ledgers' totals for the fleet's outlets; the biller's postings of the day match the journal
 * receipt by receipt (`aircharge reconcile biller`: the third leg beside SETTLE and the journal);
 * each collector's cash held is his payments − corrections − hand-ins, and the journal holds each
 * hand-in once (collectors.ts); and verify passes.
 */
import { daysFrom, type Admin, type BillerReconciliation } from '../../src/admin/index.js';
import type { DayPosting } from '../../src/biller/index.js';
import { checkCollectors, type CollectorFigures } from './collectors.js';
import type { Ledger } from './fleet.js';

type DailyReport = Awaited<ReturnType<Admin['dailyReport']>>;

export interface Totals {
  payments: number;
  paymentsFen: number;
  corrections: number;
  correctionsFen: number;
}

export interface Reconciliation {
  ok: boolean;
  ledger: Totals;
  journal: Totals;
  /** Transactions still unfinished in some terminal's flash at the end. */
  unfinished: number;
  verify: { ok: boolean; discrepancies: string[] };
  /** The journal against the biller's postings of the run's days (every merchant's, not only the fleet's). */
  biller: Pick<BillerReconciliation, 'ok' | 'matched' | 'breaks' | 'byKind'>;
  /** The fleet's collectors: what they collected, handed in and still hold. */
  collectors: CollectorFigures;
  mismatches: string[];
}

function emptyTotals(): Totals {
  return { payments: 0, paymentsFen: 0, corrections: 0, correctionsFen: 0 };
}

function add(totals: Totals, kind: string, amountFen: number): void {
  if (kind === 'pay') {
    totals.payments += 1;
    totals.paymentsFen += amountFen;
  } else if (kind === 'correct') {
    totals.corrections += 1;
    totals.correctionsFen += amountFen;
  }
}

/** The report of the business day, taken before the run so that only the run's movements count. */
export function reportBefore(admin: Admin, day: number): Promise<DailyReport> {
  return admin.dailyReport(day);
}

/**
 * The business days a run that began on `firstDay` touched: through the one the operator is in
 * now, so a run past the day's cut-off is checked on each of them.
 */
export function runDays(admin: Admin, firstDay: number): number[] {
  return daysFrom(firstDay, Math.max(firstDay, admin.businessDay()));
}

/**
 * `day`: the business day the run began on. A run that goes past the day's cut-off is checked on
 * every day it touched, through the one the operator is in now: receipts, journal and hand-ins on
 * all of them, the report day by day (only the first had movements before the run).
 * `settleDisagreements`: what the terminals' own SETTLE found (fresh terminals' ledgers are their
 * whole day, so any disagreement is a mismatch too). `billerPostings`: the biller's postings of a
 * day, when the gateway posted to a biller on the network; by default the embedded biller's.
 */
export async function reconcile(
  admin: Admin,
  ledgers: Ledger[],
  day: number,
  before: DailyReport,
  settleDisagreements: string[] = [],
  billerPostings?: (day: number) => Promise<DayPosting[]>,
): Promise<Reconciliation> {
  const days = runDays(admin, day);
  const lastDay = days[days.length - 1]!;
  const mismatches: string[] = [...settleDisagreements];
  const terminals = new Set(ledgers.map((l) => l.terminalId));
  const ledger = emptyTotals();
  const seen = new Map<string, { kind: string; amountFen: number; terminalId: string }>();
  let unfinished = 0;
  for (const l of ledgers) {
    unfinished += l.state.pending.length;
    for (const p of l.state.pending) mismatches.push(`${l.terminalId} seq ${p.seq}: still unfinished at the end (no final answer learned)`);
    for (const r of l.state.receipts) {
      if (!days.includes(r.businessDay)) continue;
      add(ledger, r.kind, r.amountFen);
      seen.set(r.receipt, { kind: r.kind, amountFen: r.amountFen, terminalId: l.terminalId });
    }
  }

  const journal = emptyTotals();
  const inJournal = new Map<string, number>();
  for (const entry of await admin.exportJournal(day, lastDay)) {
    if (!terminals.has(entry.terminal) || (entry.kind !== 'pay' && entry.kind !== 'correct')) continue;
    add(journal, entry.kind, entry.amountFen);
    inJournal.set(entry.txn, (inJournal.get(entry.txn) ?? 0) + 1);
    const known = seen.get(entry.txn);
    if (!known) mismatches.push(`${entry.txn}: ${entry.kind} of ${entry.amountFen} fen in the journal, unknown to terminal ${entry.terminal}`);
    else if (known.kind !== entry.kind || known.amountFen !== entry.amountFen) {
      mismatches.push(`${entry.txn}: terminal saw ${known.kind} ${known.amountFen} fen, journal has ${entry.kind} ${entry.amountFen} fen`);
    }
  }
  for (const [receipt, count] of inJournal) if (count > 1) mismatches.push(`${receipt}: in the journal ${count} times`);
  for (const [receipt, known] of seen) {
    if (!inJournal.has(receipt)) mismatches.push(`${receipt}: ${known.kind} approved to terminal ${known.terminalId}, missing from the journal`);
  }

  // The report, day by day and outlet by outlet: what the run added must be what the fleet's ledgers hold.
  for (const reportDay of days) {
    const after = await admin.dailyReport(reportDay);
    const then = reportDay === day ? [...before.outlets, ...before.collectors] : [];
    const byMerchant = new Map<string, Totals>();
    for (const l of ledgers) {
      const totals = byMerchant.get(l.merchantId) ?? emptyTotals();
      for (const r of l.state.receipts) if (r.businessDay === reportDay) add(totals, r.kind, r.amountFen);
      byMerchant.set(l.merchantId, totals);
    }
    for (const [merchant, expected] of byMerchant) {
      const now = [...after.outlets, ...after.collectors].find((o) => o.merchant === merchant);
      const was = then.find((o) => o.merchant === merchant);
      const delta = {
        payments: (now?.payments.count ?? 0) - (was?.payments.count ?? 0),
        paymentsFen: (now?.payments.amountFen ?? 0) - (was?.payments.amountFen ?? 0),
        corrections: (now?.corrections.count ?? 0) - (was?.corrections.count ?? 0),
        correctionsFen: (now?.corrections.amountFen ?? 0) - (was?.corrections.amountFen ?? 0),
      };
      for (const field of Object.keys(expected) as Array<keyof Totals>) {
        if (delta[field] !== expected[field]) mismatches.push(`report of ${reportDay} for ${merchant}: ${field} moved by ${delta[field]}, ledgers say ${expected[field]}`);
      }
    }
  }

  const collectors = await checkCollectors(admin, ledgers, day, lastDay);
  mismatches.push(...collectors.mismatches);

  const biller = { ok: true, matched: 0, breaks: 0, byKind: {} as BillerReconciliation['byKind'] };
  for (const postingsDay of days) {
    const leg = await admin.reconcileBiller(postingsDay, await billerPostings?.(postingsDay));
    for (const l of leg.lines) if (l.status !== 'matched') mismatches.push(`biller: ${l.status} ${l.receipt}: ${l.detail}`);
    biller.ok &&= leg.ok;
    biller.matched += leg.matched;
    biller.breaks += leg.breaks;
    for (const [kind, count] of Object.entries(leg.byKind) as Array<[keyof typeof leg.byKind, number]>) biller.byKind[kind] = (biller.byKind[kind] ?? 0) + count;
  }

  const verify = await admin.verify();
  if (!verify.ok) mismatches.push(...verify.discrepancies.map((d) => `verify: ${d}`));
  return { ok: mismatches.length === 0, ledger, journal, unfinished, verify, biller, collectors: collectors.figures, mismatches };
}
