/**
 * A small seeded pseudo-random generator, so that a link's schedule of delays, splits and cuts
 * (and a fleet's choice of requests) can be replayed exactly from its seed.
 */
import { createHash } from 'node:crypto';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
}

/** mulberry32: 32-bit state, fast, and good enough for test schedules (not for keys). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => p > 0 && next() < p,
  };
}

/**
 * An independent stream for one purpose (a direction of a connection, a terminal's choices),
 * derived from the run's seed and a label so streams do not shift when another one draws more.
 */
export function deriveRandom(seed: number, label: string): Random {
  const digest = createHash('sha256').update(`${seed >>> 0}:${label}`).digest();
  return createRandom(digest.readUInt32BE(0));
}
