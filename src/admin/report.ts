/**
 * The daily reconciliation report: per outlet (merchant) and in total, the business day's payments
 * and corrections with their amounts and the net collected, read from the day counters that each
 * payment and correction increments in the same step as its journal entry.
 */
import { keys } from '../store/keys.js';
import { int, type AdminContext } from './context.js';
import { formatDate } from './day.js';
import { csvLine } from './csv.js';
import { merchantIds } from './merchants.js';
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

export interface DailyReport {
  /** YYYY-MM-DD, the business day. */
  date: string;
  /** Every merchant, sorted by id; one without activity shows zeros. */
  outlets: Array<{ merchant: string } & OutletFigures>;
  /** `outlets`: how many merchants took at least one payment that day. */
  total: OutletFigures & { outlets: number };
}

export async function dailyReport(context: AdminContext, businessDay: number): Promise<DailyReport> {
  const ids = await merchantIds(context);
  const counters = await Promise.all(ids.map((id) => context.redis.hgetall(keys.day(id, businessDay))));
  const outlets = ids.map((merchant, i) => {
    const day = counters[i] ?? {};
    const payments = { count: int(day, 'payCount'), amountFen: int(day, 'payFen') };
    const corrections = { count: int(day, 'correctCount'), amountFen: int(day, 'correctFen') };
    return { merchant, payments, corrections, netFen: payments.amountFen - corrections.amountFen };
  });
  const total = {
    outlets: outlets.filter((o) => o.payments.count > 0).length,
    payments: { count: 0, amountFen: 0 },
    corrections: { count: 0, amountFen: 0 },
    netFen: 0,
  };
  for (const o of outlets) {
    total.payments.count += o.payments.count;
    total.payments.amountFen += o.payments.amountFen;
    total.corrections.count += o.corrections.count;
    total.corrections.amountFen += o.corrections.amountFen;
    total.netFen += o.netFen;
  }
  return { date: formatDate(businessDay), outlets, total };
}

/**
 * The report as CSV: one row per outlet and a final TOTAL row; amounts in yuan with two decimals
 * (exact: they are formatted from integer fen).
 */
export function reportCsv(report: DailyReport): string {
  const header = ['date', 'merchant', 'payments', 'payments_yuan', 'corrections', 'corrections_yuan', 'net_yuan'];
  const row = (merchant: string, f: OutletFigures) => [
    report.date,
    merchant,
    f.payments.count,
    formatYuan(f.payments.amountFen),
    f.corrections.count,
    formatYuan(f.corrections.amountFen),
    formatYuan(f.netFen),
  ];
  const lines = [header, ...report.outlets.map((o) => row(o.merchant, o)), row('TOTAL', report.total)];
  return `${lines.map(csvLine).join('\n')}\n`;
}

/** The operator's one-line summary: "22 outlets, 28,166 payments, ¥6,179,615.25 collected". */
export function reportSummary(report: Pick<DailyReport, 'total'>): string {
  const { outlets, payments, netFen } = report.total;
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(outlets, 'outlet')}, ${plural(payments.count, 'payment')}, ¥${formatYuan(netFen, { grouped: true })} collected`;
}
