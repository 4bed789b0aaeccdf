/**
 * The biller's daily postings file (README.md "The day's postings file"): what the billing system
 * booked under one business day, the biller's leg of `aircharge reconcile biller`. The embedded
 * biller writes it (`aircharge biller postings --day D`), the reference billing system serves it
 * (GET /v1/postings?day=D), and reconcile reads either.
 *
 *   day,receipt,account,kind,amount,original,booked_at
 *   20261203,T00000010000000001,3430000001,payment,35.50,,2026-12-03T10:15:00.000+08:00
 *   20261203,T00000010000000002,3430000001,reversal,35.50,T00000010000000001,2026-12-03T10:16:00.000+08:00
 */
import { parseCsv } from '../admin/csv.js';
import { formatYuan, parseYuan } from '../admin/money.js';
import type { DayPosting } from './biller.js';

export const POSTINGS_FILE_HEADER = 'day,receipt,account,kind,amount,original,booked_at';

/** The file's text; `booked_at` in the given offset from UTC (minutes), e.g. 480 for UTC+8. */
export function formatPostingsFile(postings: DayPosting[], utcOffsetMinutes: number): string {
  const lines = [POSTINGS_FILE_HEADER];
  for (const p of postings) {
    lines.push([p.day, p.receipt, p.account, p.kind, formatYuan(p.amountFen), p.original, isoWithOffset(p.at, utcOffsetMinutes)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** ISO-8601 local time with its offset: 2026-12-03T10:15:00.000+08:00. */
export function isoWithOffset(epochMs: number, utcOffsetMinutes: number): string {
  const local = new Date(epochMs + utcOffsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = utcOffsetMinutes < 0 ? '-' : '+';
  const minutes = Math.abs(utcOffsetMinutes);
  return `${local}${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads a postings file whole; a bad row is listed with its line number, never skipped (a
 * reconciliation that drops a row it cannot read would hide a break).
 */
export function parsePostingsFile(text: string): { postings: DayPosting[]; errors: string[] } {
  const { records, errors } = parseCsv(text);
  const header = records.shift();
  if (header === undefined || header.fields.map((f) => f.trim()).join(',') !== POSTINGS_FILE_HEADER) {
    return { postings: [], errors: [`line 1: the header must be ${POSTINGS_FILE_HEADER}`] };
  }
  const postings: DayPosting[] = [];
  for (const { line, fields } of records) {
    if (fields.length === 1 && fields[0] === '') continue;
    if (fields.length !== 7) {
      errors.push(`line ${line}: ${fields.length} fields, the header has 7`);
      continue;
    }
    const [day = '', receipt = '', account = '', kind = '', amount = '', original = '', bookedAt = ''] = fields.map((f) => f.trim());
    const problems: string[] = [];
    if (!/^\d{8}$/.test(day)) problems.push(`day ${JSON.stringify(day)} is not YYYYMMDD`);
    if (receipt === '') problems.push('no receipt');
    if (account === '') problems.push('no account');
    if (kind !== 'payment' && kind !== 'reversal') problems.push(`kind ${JSON.stringify(kind)} is neither payment nor reversal`);
    if (kind === 'reversal' && original === '') problems.push('a reversal without its original receipt');
    let amountFen = 0;
    try {
      amountFen = parseYuan(amount);
    } catch (error) {
      problems.push(`amount: ${(error as Error).message}`);
    }
    const at = ISO_WITH_OFFSET.test(bookedAt) ? Date.parse(bookedAt) : Number.NaN;
    if (Number.isNaN(at)) problems.push(`booked_at ${JSON.stringify(bookedAt)} is not ISO-8601 with an offset`);
    if (problems.length > 0) errors.push(...problems.map((p) => `line ${line}: ${p}`));
    else postings.push({ day: Number(day), receipt, account, kind: kind as DayPosting['kind'], amountFen, original, at });
  }
  return { postings, errors };
}
