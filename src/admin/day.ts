/**
 * The dates operators type (YYYY-MM-DD) for business days (YYYYMMDD integers); which business day
 * an instant belongs to is the core's rule (src/core/business-day.ts).
 */
import { cutoffMinutes, type BusinessDayOptions } from '../core/business-day.js';
import { AdminError, AdminErrorCode } from './errors.js';

/** "2026-11-27" → 20261127; rejects anything that is not a real calendar date. */
export function parseDate(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = match === null ? null : new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  if (match === null || date === null || date.getUTCMonth() !== Number(match[2]) - 1 || date.getUTCDate() !== Number(match[3])) {
    throw new AdminError(AdminErrorCode.INVALID, `not a date: ${JSON.stringify(text)} (YYYY-MM-DD)`);
  }
  return Number(`${match[1]}${match[2]}${match[3]}`);
}

/** A bill period, 202610 → "2026-10". */
export function formatPeriod(period: number): string {
  const text = String(period).padStart(6, '0');
  return `${text.slice(0, 4)}-${text.slice(4, 6)}`;
}

/** 20261127 → "2026-11-27". */
export function formatDate(day: number): string {
  const text = String(day).padStart(8, '0');
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/**
 * An instant as operators read it: local time by the business-day offset, with the offset named
 * (`2026-12-03 16:05:09 +08:00`), so a printed time never needs a time zone guessed.
 */
export function formatLocalTime(epochMs: number, utcOffsetMinutes: number): string {
  const local = new Date(epochMs + utcOffsetMinutes * 60_000).toISOString();
  const sign = utcOffsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(utcOffsetMinutes);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${zone}`;
}

/** The instants (epoch ms, [start, end]) of business day YYYYMMDD, by the same rule as businessDayOf. */
export function businessDayRange(day: number, options: BusinessDayOptions): [number, number] {
  const cutoff = cutoffMinutes(options.cutoff);
  const shiftMinutes = options.utcOffsetMinutes + (cutoff === 0 ? 0 : 24 * 60 - cutoff);
  const start = Date.UTC(Math.floor(day / 10000), (Math.floor(day / 100) % 100) - 1, day % 100) - shiftMinutes * 60_000;
  return [start, start + 86_400_000 - 1];
}

/** Every business day from `first` to `last` (YYYYMMDD, both included), in order; [] when last < first. */
export function daysFrom(first: number, last: number): number[] {
  const days: number[] = [];
  const date = new Date(Date.UTC(Math.floor(first / 10000), (Math.floor(first / 100) % 100) - 1, first % 100));
  for (let day = first; day <= last; ) {
    days.push(day);
    date.setUTCDate(date.getUTCDate() + 1);
    day = date.getUTCFullYear() * 10000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
  }
  return days;
}
