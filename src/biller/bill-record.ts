/**
 * How the embedded biller keeps a bill and what a posting cleared, in TypeScript (lua.ts keeps the
 * same layout in Lua): a bill is one field of the account's bills hash, its value
 * `period|amountFen|issueDate|status|paidFen`; a posting's `cleared` is `billId:period:fen;...`.
 */
import type { Bill, BillClearance } from './biller.js';

/** The bill id as a hash field and in `cleared`: none of the separators can occur in it. */
export const BILL_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const RECORD = /^(\d+)\|(\d+)\|([^|]*)\|(open|cancelled)\|(\d+)/;

export function formatBillRecord(bill: Bill): string {
  return `${bill.period}|${bill.amountFen}|${bill.issueDate}|${bill.status}|${bill.paidFen}`;
}

/** A stored bill, or null when its record does not read (verify names the account). */
export function parseBillRecord(billId: string, record: string): Bill | null {
  const match = RECORD.exec(record);
  if (match === null) return null;
  return {
    billId,
    period: Number(match[1]),
    amountFen: Number(match[2]),
    issueDate: match[3] ?? '',
    status: match[4] === 'cancelled' ? 'cancelled' : 'open',
    paidFen: Number(match[5]),
  };
}

export function parseCleared(text: string | null | undefined): BillClearance[] {
  if (!text) return [];
  return text.split(';').map((item) => {
    const [billId = '', period = '0', fen = '0'] = item.split(':');
    return { billId, period: Number(period), amountFen: Number(fen) };
  });
}
