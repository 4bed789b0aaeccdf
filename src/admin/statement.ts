/**
 * `aircharge statement ID --from DAY --to DAY`: one merchant's account between two business days,
 * from its journal: the opening balance (float for an outlet, cash held for a collector), every
 * top-up, remittance, payment and correction with its receipt or reference, local time and amount,
 * the balance after each, and the closing balance. It is checked against the journal and the
 * merchant's live balance: the whole journal's balance must equal the balance Redis holds (less
 * what pending transactions have reserved), else the statement says so (`balanced` false).
 */
import { keys } from '../store/keys.js';
import type { AdminContext } from './context.js';
import { csvLine } from './csv.js';
import { formatDate, formatLocalTime } from './day.js';
import { readJournal } from './journal.js';
import { showMerchant, type MerchantKindName } from './merchants.js';
import { formatYuan } from './money.js';
import { balanceEffect } from './report.js';

export interface StatementLine {
  /** Journal entry id. */
  id: string;
  kind: string;
  /** The receipt (payment, correction) or the reference (top-up, remittance). */
  receipt: string;
  localTime: string;
  day: number;
  /** What the entry moved, and its effect on the balance (signed). */
  amountFen: number;
  effectFen: number;
  balanceFen: number;
}

export interface Statement {
  merchant: string;
  name: string;
  kind: MerchantKindName;
  from: string;
  to: string;
  openingFen: number;
  lines: StatementLine[];
  closingFen: number;
  /** The journal's balance over all its entries, and the live balance it must equal. */
  check: { journalFen: number; liveFen: number; balanced: boolean };
}

export async function statement(context: AdminContext, merchantId: string, fromDay: number, toDay: number): Promise<Statement> {
  const merchant = await showMerchant(context, merchantId);
  const lines: StatementLine[] = [];
  let opening = 0;
  let running = 0;
  let journalFen = 0;
  for await (const e of readJournal(context, merchantId)) {
    const effect = balanceEffect(merchant.kind, e.kind, e.amountFen);
    journalFen += effect;
    if (e.day < fromDay) opening += effect;
    if (e.day < fromDay || e.day > toDay) continue;
    if (lines.length === 0) running = opening;
    running += effect;
    lines.push({
      id: e.id,
      kind: e.kind,
      receipt: e.txn !== '' ? e.txn : e.ref ?? '',
      localTime: formatLocalTime(e.ts, context.businessDay.utcOffsetMinutes),
      day: e.day,
      amountFen: e.amountFen,
      effectFen: effect,
      balanceFen: running,
    });
  }
  const closing = opening + lines.reduce((sum, l) => sum + l.effectFen, 0);
  // What pending transactions have reserved is in the live balance but not yet in the journal.
  let reserved = 0;
  for (const receipt of await context.redis.zrange(keys.pending(merchantId), 0, -1)) {
    const [kind, amount, state] = await context.redis.hmget(keys.transaction(merchantId, receipt), 'kind', 'amountFen', 'state');
    if (state !== 'pending') continue;
    const fen = Number(amount ?? 0);
    if (merchant.kind === 'collector') reserved += kind === 'pay' ? fen : -fen;
    else if (kind === 'pay') reserved -= fen;
  }
  const liveFen = (merchant.kind === 'collector' ? merchant.cashFen : merchant.floatFen) - reserved;
  return {
    merchant: merchantId,
    name: merchant.name,
    kind: merchant.kind,
    from: formatDate(fromDay),
    to: formatDate(toDay),
    openingFen: opening,
    lines,
    closingFen: closing,
    check: { journalFen, liveFen, balanced: journalFen === liveFen },
  };
}

/** CSV for people (yuan, local time) and machines (fen), opening and closing as their own rows. */
export function statementCsv(s: Statement): string {
  const header = ['merchant', 'kind', 'receipt', 'local_time', 'day', 'amount_yuan', 'balance_yuan', 'amount_fen', 'effect_fen', 'balance_fen'];
  const rows = [
    header,
    [s.merchant, 'opening', '', '', s.from, '', formatYuan(s.openingFen), '', '', s.openingFen],
    ...s.lines.map((l) => [s.merchant, l.kind, l.receipt, l.localTime, formatDate(l.day), formatYuan(l.effectFen), formatYuan(l.balanceFen), l.amountFen, l.effectFen, l.balanceFen]),
    [s.merchant, 'closing', '', '', s.to, '', formatYuan(s.closingFen), '', '', s.closingFen],
  ];
  return `${rows.map(csvLine).join('\n')}\n`;
}
