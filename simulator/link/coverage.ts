/**
 * Coverage holes: a collector's terminal moves with him, door to door, and GPRS coverage comes and
 * goes as he walks (a stairwell, a basement meter room, the far end of a village). On top of a
 * link profile, the link falls silent at seeded moments for a seeded while: every open connection
 * goes half-open (no FIN: the terminal learns only by its timeout), and a connection attempted in
 * the hole fails at once (no carrier). When he walks out of the hole the modem re-attaches and
 * the silent connections are gone; the terminal reconnects and signs in again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './prng.js';

export interface CoverageHoles {
  /** Mean time between two holes (each gap drawn in [0.5, 1.5] of it). */
  everyMs: number;
  /** Mean length of a hole (each drawn in [0.5, 1.5] of it). */
  lengthMs: number;
}

/** A walker's holes for the fleet's collectors: one every ~6 s, ~2.5 s long. */
export const WALKING_HOLES: CoverageHoles = { everyMs: 6000, lengthMs: 2500 };

/** What a link must do for a hole: fall silent, and come back. */
export interface HoleSide {
  enterHole(): void;
  leaveHole(): void;
}

/** Walks the link through holes until stopped; resolves when the walk has ended (out of any hole). */
export function walkThroughHoles(link: HoleSide, holes: CoverageHoles, random: Random): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const drawn = (meanMs: number) => meanMs * (0.5 + random.next());
  const walk = (async () => {
    try {
      for (;;) {
        await sleep(drawn(holes.everyMs), undefined, { signal: stopping.signal });
        link.enterHole();
        try {
          await sleep(drawn(holes.lengthMs), undefined, { signal: stopping.signal });
        } finally {
          link.leaveHole();
        }
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await walk;
    },
  };
}
