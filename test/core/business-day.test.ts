import { describe, expect, it } from 'vitest';
import { businessDayOf } from '../../src/core/index.js';

const utc = (text: string) => Date.parse(`${text}Z`);

describe('businessDayOf', () => {
  it('is the local date (UTC+8 by default) with the default midnight cut-off', () => {
    expect(businessDayOf(utc('2026-11-27T15:59:59'), undefined)).toBe(20261127);
    expect(businessDayOf(utc('2026-11-27T16:00:00'), undefined)).toBe(20261128);
    expect(businessDayOf(utc('2026-12-31T16:00:00'), { utcOffsetMinutes: 480, cutoff: '00:00' })).toBe(20270101);
  });

  it('hands what comes after the cut-off to the next date', () => {
    const options = { utcOffsetMinutes: 480, cutoff: '23:00' };
    expect(businessDayOf(utc('2026-11-27T14:59:59'), options)).toBe(20261127); // 22:59:59 local
    expect(businessDayOf(utc('2026-11-27T15:00:00'), options)).toBe(20261128); // 23:00 local
    expect(businessDayOf(utc('2026-11-27T16:30:00'), options)).toBe(20261128); // 00:30 local
    expect(businessDayOf(utc('2026-11-27T00:00:00'), { utcOffsetMinutes: 0, cutoff: '00:00' })).toBe(20261127);
  });

  it('refuses a cut-off that is not HH:MM', () => {
    expect(() => businessDayOf(0, { utcOffsetMinutes: 0, cutoff: '24:00' })).toThrow(RangeError);
    expect(() => businessDayOf(0, { utcOffsetMinutes: 0, cutoff: '7:00' })).toThrow(RangeError);
  });
});
