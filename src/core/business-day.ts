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
