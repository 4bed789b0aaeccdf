/**
 * `reconcile biller`: our journal of one business day against the biller's postings of that day
 * (its postings file, src/biller/postings-file.ts), receipt by receipt. Each receipt is matched or
 * a break of one kind:
 *   missing_at_biller   in our journal, not in the biller's file
 *   missing_here        in the biller's file, not in our journal (a posting without a journal entry)
 *   amount_differs      both have it, with other amounts
 *   account_differs     both have it, against other accounts
 *   kind_differs        a payment on one side, a reversal on the other (or another original)
 *   reversed_one_side   a reversal on one side only: the payment stands on the other
 *   duplicate_at_biller the file lists the receipt more than once
 * The terminals' SETTLE figures are the third leg (checked against the journal at settle time and
 * in the fleet's closing reconciliation); this is the biller's.
 */
import type { DayPosting } from '../biller/biller.js';
import type { AdminContext } from './context.js';
import { exportJournal } from './journal.js';
import { formatYuan } from './money.js';

export const BREAK_KINDS = [
  'missing_at_biller',
  'missing_here',
  'amount_differs',
  'account_differs',
  'kind_differs',
  'reversed_one_side',
  'duplicate_at_biller',
] as const;
export type BreakKind = (typeof BREAK_KINDS)[number];

/** One side's view of a receipt. */
export interface PostingSide {
  kind: 'payment' | 'reversal';
  account: string;
  amountFen: number;
  /** A reversal's payment; '' for a payment. */
  original: string;
}

export interface ReconcileLine {
  receipt: string;
  status: 'matched' | BreakKind;
  here: PostingSide | null;
  biller: PostingSide | null;
  /** What differs, in words; '' when matched. */
  detail: string;
}

interface SideTotals {
  payments: { count: number; amountFen: number };
  reversals: { count: number; amountFen: number };
}

export interface BillerReconciliation {
  day: number;
  ok: boolean;
  here: SideTotals;
  biller: SideTotals;
  matched: number;
  breaks: number;
  /** Breaks by kind (every kind present, zero when none). */
  byKind: Record<BreakKind, number>;
  /** Every receipt of either side, breaks first, then by receipt. */
  lines: ReconcileLine[];
}

export async function reconcileBiller(context: AdminContext, day: number, billerPostings: DayPosting[]): Promise<BillerReconciliation> {
  const here = new Map<string, PostingSide>();
  for (const e of await exportJournal(context, day, day)) {
    // A terminal's correction and an operator's reversal (txn reverse) are both reversals at the biller.
    if (e.kind !== 'pay' && e.kind !== 'correct' && e.kind !== 'reverse') continue;
    here.set(e.txn, { kind: e.kind === 'pay' ? 'payment' : 'reversal', account: e.account, amountFen: e.amountFen, original: e.original ?? '' });
  }
  const biller = new Map<string, PostingSide>();
  const duplicates = new Set<string>();
  for (const p of billerPostings) {
    if (biller.has(p.receipt)) duplicates.add(p.receipt);
    biller.set(p.receipt, { kind: p.kind, account: p.account, amountFen: p.amountFen, original: p.original });
  }

  const lines: ReconcileLine[] = [];
  for (const receipt of new Set([...here.keys(), ...biller.keys()])) {
    const ours = here.get(receipt) ?? null;
    const theirs = biller.get(receipt) ?? null;
    const line = (status: ReconcileLine['status'], detail: string) => lines.push({ receipt, status, here: ours, biller: theirs, detail });
    if (duplicates.has(receipt)) line('duplicate_at_biller', `listed ${billerPostings.filter((p) => p.receipt === receipt).length} times in the biller's file`);
    else if (ours === null) {
      if (theirs!.kind === 'reversal') line('reversed_one_side', `reversed at the biller (payment ${theirs!.original}), not here`);
      else line('missing_here', `the biller booked a payment of ${formatYuan(theirs!.amountFen)} on ${theirs!.account}, our journal has none`);
    } else if (theirs === null) {
      if (ours.kind === 'reversal') line('reversed_one_side', `reversed here (payment ${ours.original}), not at the biller`);
      else line('missing_at_biller', `our journal has a payment of ${formatYuan(ours.amountFen)} on ${ours.account}, the biller has none`);
    } else if (ours.kind !== theirs.kind || ours.original !== theirs.original) {
      line('kind_differs', `here a ${describe(ours)}, at the biller a ${describe(theirs)}`);
    } else if (ours.account !== theirs.account) line('account_differs', `account ${ours.account} here, ${theirs.account} at the biller`);
    else if (ours.amountFen !== theirs.amountFen) line('amount_differs', `${formatYuan(ours.amountFen)} here, ${formatYuan(theirs.amountFen)} at the biller`);
    else line('matched', '');
  }
  lines.sort((x, y) => Number(x.status === 'matched') - Number(y.status === 'matched') || (x.receipt < y.receipt ? -1 : x.receipt > y.receipt ? 1 : 0));

  const byKind = Object.fromEntries(BREAK_KINDS.map((k) => [k, 0])) as Record<BreakKind, number>;
  for (const l of lines) if (l.status !== 'matched') byKind[l.status] += 1;
  const matched = lines.filter((l) => l.status === 'matched').length;
  return {
    day,
    ok: matched === lines.length,
    here: totals(here.values()),
    biller: totals(billerPostings),
    matched,
    breaks: lines.length - matched,
    byKind,
    lines,
  };
}

function describe(side: PostingSide): string {
  return side.kind === 'reversal' ? `reversal of ${side.original}` : 'payment';
}

function totals(postings: Iterable<Pick<PostingSide, 'kind' | 'amountFen'>>): SideTotals {
  const t: SideTotals = { payments: { count: 0, amountFen: 0 }, reversals: { count: 0, amountFen: 0 } };
  for (const p of postings) {
    const tally = p.kind === 'payment' ? t.payments : t.reversals;
    tally.count += 1;
    tally.amountFen += p.amountFen;
  }
  return t;
}

export const RECONCILE_CSV_HEADER = 'day,receipt,status,kind_here,account_here,amount_here,kind_biller,account_biller,amount_biller,original,detail';

/** One row per receipt of either side, amounts in yuan. */
export function reconcileCsv(r: BillerReconciliation): string {
  const cell = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const rows = r.lines.map((l) =>
    [
      r.day,
      l.receipt,
      l.status,
      l.here?.kind ?? '',
      l.here?.account ?? '',
      l.here === null ? '' : formatYuan(l.here.amountFen),
      l.biller?.kind ?? '',
      l.biller?.account ?? '',
      l.biller === null ? '' : formatYuan(l.biller.amountFen),
      l.here?.original || l.biller?.original || '',
      cell(l.detail),
    ].join(','),
  );
  return `${[RECONCILE_CSV_HEADER, ...rows].join('\n')}\n`;
}

/** The operator's text: the two sides' totals, then every break. */
export function reconcileText(r: BillerReconciliation): string {
  const side = (t: SideTotals) =>
    `${t.payments.count} payments ${formatYuan(t.payments.amountFen, { grouped: true })}, ${t.reversals.count} reversals ${formatYuan(t.reversals.amountFen, { grouped: true })}`;
  const out = [
    `reconcile biller, business day ${r.day}: ${r.ok ? 'OK' : `${r.breaks} break${r.breaks === 1 ? '' : 's'}`}, ${r.matched} matched`,
    `  our journal: ${side(r.here)}`,
    `  the biller:  ${side(r.biller)}`,
  ];
  for (const l of r.lines) if (l.status !== 'matched') out.push(`  ${l.status.padEnd(19)} ${l.receipt}  ${l.detail}`);
  return out.join('\n');
}
