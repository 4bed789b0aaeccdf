/** Business days (YYYYMMDD integers) and the dates operators type for them (YYYY-MM-DD). */
import type { BusinessDayOptions } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';

export const DEFAULT_BUSINESS_DAY: BusinessDayOptions = { utcOffsetMinutes: 480, cutoff: '00:00' };

/**
 * The business day an instant belongs to: the local date, where a day that ends at the cut-off
 * (say 22:00) hands later transactions to the next day.
 */
export function businessDayOf(epochMs: number, options: BusinessDayOptions): number {
  const [hours, minutes] = options.cutoff.split(':').map(Number);
  const cutoffMs = ((hours ?? 0) * 60 + (minutes ?? 0)) * 60_000;
  const shift = cutoffMs === 0 ? 0 : 86_400_000 - cutoffMs;
  const local = new Date(epochMs + options.utcOffsetMinutes * 60_000 + shift);
  return local.getUTCFullYear() * 10_000 + (local.getUTCMonth() + 1) * 100 + local.getUTCDate();
}

/** "2026-11-27" → 20261127; rejects anything that is not a real calendar date. */
export function parseDate(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = match === null ? null : new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  if (match === null || date === null || date.getUTCMonth() !== Number(match[2]) - 1 || date.getUTCDate() !== Number(match[3])) {
    throw new AdminError(AdminErrorCode.INVALID, `not a date: ${JSON.stringify(text)} (YYYY-MM-DD)`);
  }
  return Number(`${match[1]}${match[2]}${match[3]}`);
}

/** 20261127 → "2026-11-27". */
export function formatDate(day: number): string {
  const text = String(day).padStart(8, '0');
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}
