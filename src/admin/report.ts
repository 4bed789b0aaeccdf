/**
 * The daily reconciliation report, in two sections: outlets (shops with a float) and collectors
 * (electricians carrying cash), each merchant with its name, the business day's payments and
 * corrections (from the day counters that each payment and correction increments in the same step
 * as its journal entry), its top-ups or remittances, and its float or cash held at the opening and
 * close of the day (from the journal: opening = every movement of earlier days; closing = opening
 * + the day's movements); then a subtotal per section and the total.
 */
import { keys } from '../store/keys.js';
import { billerQueueLines, type QueueLine } from './biller-queue.js';
import { int, type AdminContext } from './context.js';
import { formatDate } from './day.js';
import { csvLine } from './csv.js';
import { readJournal } from './journal.js';
import { listMerchants, type MerchantKindName } from './merchants.js';
import { formatYuan } from './money.js';

export interface Tally {
  count: number;
  amountFen: number;
}

export interface OutletFigures {
  payments: Tally;
  corrections: Tally;
  /** Payments less corrections: what the outlet collected that day. */
  netFen: number;
}

export interface MerchantDay extends OutletFigures {
  merchant: string;
  name: string;
  kind: MerchantKindName;
  /** Top-ups (outlets) that day. */
  topups: Tally;
  /** Cash handed in (collectors) that day. */
  remittances: Tally;
  /** Float (an outlet) or cash held (a collector) at the start and end of the business day, per the journal. */
  openingFen: number;
  closingFen: number;
}

export interface SectionFigures extends OutletFigures {
  /** How many merchants of the section took at least one payment that day. */
  active: number;
  topups: Tally;
  remittances: Tally;
  openingFen: number;
  closingFen: number;
}

export interface DailyReport {
  /** YYYY-MM-DD, the business day. */
  date: string;
  /** Every outlet, sorted by id; one without activity shows zeros. */
  outlets: MerchantDay[];
  /** Every collector, sorted by id. */
  collectors: MerchantDay[];
  subtotals: { outlets: SectionFigures; collectors: SectionFigures };
  /** `outlets` and `collectors`: how many of each took at least one payment that day. */
  total: OutletFigures & { outlets: number; collectors: number };
  /**
   * Payments of this business day or before whose posting is still queued for the biller, or failed
   * for good (--biller-down accept), as they stand when the report is made: in the figures above
   * (the money was taken) but not yet, or never, booked at the biller.
   */
  billerQueue: { queued: QueueLine[]; failed: QueueLine[] };
}

/** What one journal entry does to the balance of its merchant's kind of account. */
export function balanceEffect(kind: MerchantKindName, entryKind: string, amountFen: number): number {
  if (kind === 'collector') {
    if (entryKind === 'pay') return amountFen;
    if (entryKind === 'correct' || entryKind === 'remit') return -amountFen;
    return 0;
  }
  if (entryKind === 'topup' || entryKind === 'correct') return amountFen;
  if (entryKind === 'pay') return -amountFen;
  return 0;
}

export async function dailyReport(context: AdminContext, businessDay: number): Promise<DailyReport> {
  const merchants = await listMerchants(context);
  const days = await Promise.all(merchants.map((m) => merchantDay(context, m.id, m.name, m.kind, businessDay)));
  const outlets = days.filter((d) => d.kind === 'outlet');
  const collectors = days.filter((d) => d.kind === 'collector');
  const subtotals = { outlets: subtotal(outlets), collectors: subtotal(collectors) };
  const total = {
    outlets: subtotals.outlets.active,
    collectors: subtotals.collectors.active,
    payments: add(subtotals.outlets.payments, subtotals.collectors.payments),
    corrections: add(subtotals.outlets.corrections, subtotals.collectors.corrections),
    netFen: subtotals.outlets.netFen + subtotals.collectors.netFen,
  };
  const queue = await billerQueueLines(context, context.now());
  const upToDay = (p: QueueLine) => p.businessDay <= businessDay;
  const billerQueue = { queued: queue.queued.filter(upToDay), failed: queue.failed.filter(upToDay) };
  return { date: formatDate(businessDay), outlets, collectors, subtotals, total, billerQueue };
}

async function merchantDay(context: AdminContext, merchant: string, name: string, kind: MerchantKindName, businessDay: number): Promise<MerchantDay> {
  const day = await context.redis.hgetall(keys.day(merchant, businessDay));
  const payments = { count: int(day, 'payCount'), amountFen: int(day, 'payFen') };
  const corrections = { count: int(day, 'correctCount'), amountFen: int(day, 'correctFen') };
  const topups = { count: 0, amountFen: 0 };
  const remittances = { count: 0, amountFen: 0 };
  let openingFen = 0;
  let closingFen = 0;
  for await (const entry of readJournal(context, merchant)) {
    if (entry.day > businessDay) continue;
    const effect = balanceEffect(kind, entry.kind, entry.amountFen);
    closingFen += effect;
    if (entry.day < businessDay) {
      openingFen += effect;
      continue;
    }
    if (entry.kind === 'topup') count(topups, entry.amountFen);
    if (entry.kind === 'remit') count(remittances, entry.amountFen);
  }
  return {
    merchant,
    name,
    kind,
    payments,
    corrections,
    netFen: payments.amountFen - corrections.amountFen,
    topups,
    remittances,
    openingFen,
    closingFen,
  };
}

function count(tally: Tally, amountFen: number): void {
  tally.count += 1;
  tally.amountFen += amountFen;
}

function add(a: Tally, b: Tally): Tally {
  return { count: a.count + b.count, amountFen: a.amountFen + b.amountFen };
}

function subtotal(days: MerchantDay[]): SectionFigures {
  const sum: SectionFigures = {
    active: 0,
    payments: { count: 0, amountFen: 0 },
    corrections: { count: 0, amountFen: 0 },
    netFen: 0,
    topups: { count: 0, amountFen: 0 },
    remittances: { count: 0, amountFen: 0 },
    openingFen: 0,
    closingFen: 0,
  };
  for (const d of days) {
    if (d.payments.count > 0) sum.active += 1;
    sum.payments = add(sum.payments, d.payments);
    sum.corrections = add(sum.corrections, d.corrections);
    sum.topups = add(sum.topups, d.topups);
    sum.remittances = add(sum.remittances, d.remittances);
    sum.netFen += d.netFen;
    sum.openingFen += d.openingFen;
    sum.closingFen += d.closingFen;
  }
  return sum;
}

const CSV_HEADER = [
  'date',
  'merchant',
  'payments',
  'payments_yuan',
  'corrections',
  'corrections_yuan',
  'net_yuan',
  'kind',
  'name',
  'opening_yuan',
  'topups',
  'topups_yuan',
  'remittances',
  'remittances_yuan',
  'closing_yuan',
  'payments_fen',
  'corrections_fen',
  'net_fen',
  'opening_fen',
  'topups_fen',
  'remittances_fen',
  'closing_fen',
];

/**
 * The report as CSV for people and machines: one row per merchant, an OUTLETS and a COLLECTORS
 * subtotal row and a final TOTAL row; amounts in yuan with two decimals (exact: formatted from
 * integer fen) and the same amounts in fen at the end of the row. The first seven columns are
 * those of the report before collectors existed.
 */
export function reportCsv(report: DailyReport): string {
  type Row = OutletFigures & Partial<Pick<MerchantDay, 'topups' | 'remittances' | 'openingFen' | 'closingFen'>>;
  const row = (merchant: string, kind: string, name: string, f: Row) => {
    const topups = f.topups ?? { count: 0, amountFen: 0 };
    const remittances = f.remittances ?? { count: 0, amountFen: 0 };
    const opening = f.openingFen ?? 0;
    const closing = f.closingFen ?? 0;
    return [
      report.date,
      merchant,
      f.payments.count,
      formatYuan(f.payments.amountFen),
      f.corrections.count,
      formatYuan(f.corrections.amountFen),
      formatYuan(f.netFen),
      kind,
      name,
      f.openingFen === undefined ? '' : formatYuan(opening),
      topups.count,
      formatYuan(topups.amountFen),
      remittances.count,
      formatYuan(remittances.amountFen),
      f.closingFen === undefined ? '' : formatYuan(closing),
      f.payments.amountFen,
      f.corrections.amountFen,
      f.netFen,
      f.openingFen === undefined ? '' : opening,
      topups.amountFen,
      remittances.amountFen,
      f.closingFen === undefined ? '' : closing,
    ];
  };
  const lines = [
    CSV_HEADER,
    ...report.outlets.map((o) => row(o.merchant, o.kind, o.name, o)),
    row('OUTLETS', 'outlet', '', report.subtotals.outlets),
    ...report.collectors.map((c) => row(c.merchant, c.kind, c.name, c)),
    row('COLLECTORS', 'collector', '', report.subtotals.collectors),
    row('TOTAL', '', '', report.total),
  ];
  return `${lines.map(csvLine).join('\n')}\n`;
}

/**
 * The operator's one-line summary: "22 outlets, 28,166 payments, ¥6,179,615.25 collected", and
 * with collectors at work "22 outlets and 3 collectors, ...".
 */
export function reportSummary(report: Pick<DailyReport, 'total'>): string {
  const { outlets, collectors, payments, netFen } = report.total;
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  const who = collectors > 0 ? `${plural(outlets, 'outlet')} and ${plural(collectors, 'collector')}` : plural(outlets, 'outlet');
  return `${who}, ${plural(payments.count, 'payment')}, ¥${formatYuan(netFen, { grouped: true })} collected`;
}
