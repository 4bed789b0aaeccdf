/**
 * The receipt a terminal prints for an approved PAY or CORRECT, as a 58 mm thermal printer lays it
 * out: 32 columns of a monospaced font in which a CJK character takes two. Every field comes from
 * where PROTOCOL.md §7.7 says: the sign-in answer (name, kind), the request (account, amount, the
 * corrected receipt), the answer (receipt, business day, holder, periods, arrears, flags) and the
 * terminal's own clock.
 */
import { MerchantKind, TxnFlag } from '../../protocol/constants.js';
import type { BillPeriod } from '../../protocol/messages.js';
import { formatPeriod, formatYuan } from '../../src/admin/index.js';

export const RECEIPT_COLUMNS = 32;

export interface ReceiptInput {
  kind: 'pay' | 'correct';
  merchantKind: number;
  merchantName: string;
  terminalId: string;
  receipt: string;
  /** The corrected payment's receipt (corrections). */
  original?: string;
  /** The terminal's clock when the answer arrived, epoch ms, and its local offset east of UTC. */
  at: number;
  utcOffsetMinutes: number;
  businessDay: number;
  account: string;
  holderName: string;
  periods: BillPeriod[];
  amountFen: number;
  arrearsFen: number;
  flags: number;
}

/** Columns a character takes on the printer: two for East Asian wide and fullwidth forms. */
function charWidth(codePoint: number): number {
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return 0;
  const wide =
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0x303e) ||
    (codePoint >= 0x3041 && codePoint <= 0x33ff) ||
    (codePoint >= 0x3400 && codePoint <= 0x4dbf) ||
    (codePoint >= 0x4e00 && codePoint <= 0x9fff) ||
    (codePoint >= 0xa000 && codePoint <= 0xa4cf) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd);
  return wide ? 2 : 1;
}

/** The printed width of a text in columns. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0)!);
  return width;
}

/** The text cut into lines of at most `columns`, never splitting a character. */
function wrap(text: string, columns = RECEIPT_COLUMNS): string[] {
  const lines: string[] = [];
  let line = '';
  let width = 0;
  for (const ch of text) {
    const w = charWidth(ch.codePointAt(0)!);
    if (width + w > columns) {
      lines.push(line);
      line = '';
      width = 0;
    }
    line += ch;
    width += w;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

function center(text: string): string[] {
  return wrap(text).map((line) => `${' '.repeat(Math.floor((RECEIPT_COLUMNS - displayWidth(line)) / 2))}${line}`);
}

/** `label ........ value`, the value right-aligned; on two lines when both do not fit on one. */
function row(label: string, value: string): string[] {
  const gap = RECEIPT_COLUMNS - displayWidth(label) - displayWidth(value);
  if (gap >= 1) return [`${label}${' '.repeat(gap)}${value}`];
  return [...wrap(label), ...wrap(value).map((line) => `${' '.repeat(RECEIPT_COLUMNS - displayWidth(line))}${line}`)];
}

const yuan = (fen: number) => `¥${formatYuan(fen, { grouped: true })}`;

function localTime(at: number, offsetMinutes: number): string {
  const local = new Date(at + offsetMinutes * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}`;
}

function day(businessDay: number): string {
  const text = String(businessDay).padStart(8, '0');
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/** The receipt's lines, each at most RECEIPT_COLUMNS wide. */
export function renderReceipt(r: ReceiptInput): string[] {
  const collector = r.merchantKind === MerchantKind.COLLECTOR;
  const title = r.kind === 'correct' ? 'CORRECTION' : collector ? 'ELECTRICITY BILL' : 'PAYMENT RECEIPT';
  const heavy = '='.repeat(RECEIPT_COLUMNS);
  const light = '-'.repeat(RECEIPT_COLUMNS);
  const lines = [heavy, ...center(r.merchantName || '-'), ...center(title), light];
  lines.push(...row('Terminal', r.terminalId), ...row('Receipt', r.receipt));
  if (r.original) lines.push(...row('Corrects', r.original));
  lines.push(...row('Date', localTime(r.at, r.utcOffsetMinutes)), ...row('Business day', day(r.businessDay)));
  lines.push(...row('Account', r.account), ...row('Holder', r.holderName || '-'), light);
  if (r.periods.length > 0) {
    lines.push(r.kind === 'correct' ? 'Bill periods restored' : 'Bill periods paid');
    for (const p of r.periods) lines.push(...row(`  ${formatPeriod(p.period)}`, yuan(p.amountFen)));
    lines.push(light);
  }
  lines.push(...row(r.kind === 'correct' ? 'AMOUNT REFUNDED' : 'AMOUNT PAID', yuan(r.amountFen)));
  lines.push(...row(r.kind === 'correct' ? 'Arrears now' : 'Arrears left', yuan(r.arrearsFen)));
  if (collector && r.kind === 'pay') lines.push(light, ...center('Keep this bill: it is'), ...center('your receipt'));
  lines.push(heavy);
  // The shop's or the collector's own note, below the customer's part.
  if (r.flags & TxnFlag.LOW_FLOAT) lines.push(...center('* FLOAT LOW: TOP UP SOON *'));
  if (r.flags & TxnFlag.CASH_NEAR_LIMIT) lines.push(...center('* CASH NEAR LIMIT: REMIT *'));
  return lines;
}
