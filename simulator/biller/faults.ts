/**
 * Faults the reference biller injects, set by flags at start and changed at run time through
 * PUT /v1/admin/faults: what a real billing system does to its callers.
 */
import type { ApiFaults } from '../../src/biller/http-api.js';

/** A daily down window (the nightly batch), in minutes of the biller's local day (UTC+8). */
export interface DownWindow {
  fromMin: number;
  toMin: number;
}

export function parseDownWindow(text: string): DownWindow {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  if (match === null) throw new Error(`a down window is HH:MM-HH:MM, not ${JSON.stringify(text)}`);
  const [, h1, m1, h2, m2] = match.map(Number) as [number, number, number, number, number];
  return { fromMin: h1 * 60 + m1, toMin: h2 * 60 + m2 };
}

export class Faults {
  private settings: ApiFaults = { latencyMs: 0, errorRate: 0, downUntil: 0, bookNoAnswerRate: 0 };

  constructor(initial: Partial<ApiFaults>, private readonly windows: DownWindow[] = [], private readonly random = Math.random) {
    this.update(initial);
  }

  get(): ApiFaults {
    return { ...this.settings };
  }

  /** Takes any subset; `downForMs` is the convenient form of downUntil. Throws on a bad value. */
  update(change: Partial<ApiFaults> & { downForMs?: number }, now = Date.now()): ApiFaults {
    const next = { ...this.settings };
    const rate = (v: unknown, name: string) => {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${name} must be a number from 0 to 1`);
      return v;
    };
    const ms = (v: unknown, name: string) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${name} must be a whole number of ms`);
      return v;
    };
    for (const [key, value] of Object.entries(change)) {
      if (key === 'latencyMs') next.latencyMs = ms(value, key);
      else if (key === 'errorRate') next.errorRate = rate(value, key);
      else if (key === 'bookNoAnswerRate') next.bookNoAnswerRate = rate(value, key);
      else if (key === 'downUntil') next.downUntil = ms(value, key);
      else if (key === 'downForMs') next.downUntil = ms(value, key) === 0 ? 0 : now + (value as number);
      else throw new Error(`unknown fault ${JSON.stringify(key)}`);
    }
    this.settings = next;
    return this.get();
  }

  down(now: number): boolean {
    if (now < this.settings.downUntil) return true;
    const minute = Math.floor(((now + 8 * 3_600_000) % 86_400_000) / 60_000);
    return this.windows.some((w) => (w.fromMin <= w.toMin ? minute >= w.fromMin && minute < w.toMin : minute >= w.fromMin || minute < w.toMin));
  }

  fails(): boolean {
    return this.settings.errorRate > 0 && this.random() < this.settings.errorRate;
  }

  booksWithoutAnswer(): boolean {
    return this.settings.bookNoAnswerRate > 0 && this.random() < this.settings.bookNoAnswerRate;
  }

  latencyMs(): number {
    return this.settings.latencyMs;
  }
}
