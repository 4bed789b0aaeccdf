/**
 * Business days. Each transaction records the business day it belongs to; corrections and the
 * daily counters go by it. The day is named by the local calendar date (YYYYMMDD) on which it
 * closes: with a cut-off of "23:00", a payment at 23:30 local time belongs to the next date; with
 * the default "00:00" the business day is simply the local date.
 */
export interface BusinessDayOptions {
  /** Local time zone as an offset from UTC; default +480 (China Standard Time). */
  utcOffsetMinutes: number;
  /** "HH:MM" local time at which one business day closes and the next begins. */
  cutoff: string;
}

export const DEFAULT_BUSINESS_DAY: BusinessDayOptions = { utcOffsetMinutes: 480, cutoff: '00:00' };

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

export function cutoffMinutes(cutoff: string): number {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(cutoff);
  if (!match) throw new RangeError(`business-day cut-off must be "HH:MM" (00:00 to 23:59), not ${JSON.stringify(cutoff)}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

export function businessDayOf(epochMs: number, options: BusinessDayOptions = DEFAULT_BUSINESS_DAY): number {
  const cutoff = cutoffMinutes(options.cutoff);
  // Past the cut-off the clock already counts toward the next date's business day.
  const shiftMinutes = options.utcOffsetMinutes + (cutoff === 0 ? 0 : DAY_MINUTES - cutoff);
  const local = new Date(epochMs + shiftMinutes * MINUTE_MS);
  return local.getUTCFullYear() * 10000 + (local.getUTCMonth() + 1) * 100 + local.getUTCDate();
}

/**
 * The instants a business day covers, [startMs, endMs): the inverse of businessDayOf. With a
 * cut-off of "23:00", business day 2026-12-03 runs from 12-02 23:00 to 12-03 23:00 local time.
 */
export function businessDayBounds(businessDay: number, options: BusinessDayOptions = DEFAULT_BUSINESS_DAY): { startMs: number; endMs: number } {
  const cutoff = cutoffMinutes(options.cutoff);
  const date = Date.UTC(Math.floor(businessDay / 10000), (Math.floor(businessDay / 100) % 100) - 1, businessDay % 100);
  const shiftMinutes = options.utcOffsetMinutes + (cutoff === 0 ? 0 : DAY_MINUTES - cutoff);
  const startMs = date - shiftMinutes * MINUTE_MS;
  return { startMs, endMs: startMs + DAY_MINUTES * MINUTE_MS };
}
