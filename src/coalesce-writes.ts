/**
 * Writes made in one turn of the event loop leave together: a stream is corked at its first write
 * of the turn and uncorked in the check phase of the same loop iteration, which never waits for
 * I/O, so no write is held back longer than the callbacks already queued ahead of it.
 *
 * On loopback and on virtual machines a write system call costs the sender the receiver's TCP
 * work and, when the receiver sleeps, its wake-up. Held to the end of the turn, the calls
 * made while handling one poll's worth of input (the Redis commands of every terminal heard, the
 * answers to every terminal whose reply came back) go out back to back: one system call per
 * stream instead of one per write, and a receiver woken by the first is usually still awake for
 * the rest. Measured with `npm run bench:gateway` (simulator/BENCHMARKS.md).
 */
import type { Writable } from 'node:stream';

const held: Writable[] = [];

/** Holds `stream`'s writes until the check phase of this loop iteration (idempotent per turn). */
export function coalesceWrites(stream: Writable): void {
  // Corked already: by this turn's earlier call, or by an owner who will uncork it itself.
  if (stream.writableCorked > 0) return;
  if (held.length === 0) setImmediate(release);
  stream.cork();
  held.push(stream);
}

function release(): void {
  // Taken out first: a write made while uncorking (a callback writing again) starts the next batch.
  for (const stream of held.splice(0)) stream.uncork();
}
