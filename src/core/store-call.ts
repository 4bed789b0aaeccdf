import { StoreUnavailableError } from './types.js';

/**
 * Every call to Redis (or to the biller) goes through a store call: whatever goes wrong on the
 * way — a lost connection, no answer within the time allowed, a script error — reaches the
 * gateway as StoreUnavailableError, which it answers with SYSTEM_BUSY at once instead of leaving
 * the terminal waiting while the client retries. Nothing is half-applied by a failed call, even
 * one that still completes later: each script is atomic, a transaction left pending is finished
 * by recovery, and the terminal's retransmission gets IN_PROGRESS or the stored answer.
 *
 * The calls in flight share one timer, which runs only while there are any and looks for calls
 * past their deadline every quarter of the time allowed: a call gives up between 1 and 1.25 times
 * `timeoutMs` after it started. A timer per call cost more than anything else the core does
 * between its round trips.
 */
export type StoreCall = <T>(call: Promise<T>) => Promise<T>;

interface Waiting {
  readonly deadline: number;
  readonly fail: (error: StoreUnavailableError) => void;
}

export function storeCalls(timeoutMs: number): StoreCall {
  const waiting = new Set<Waiting>();
  let sweeper: NodeJS.Timeout | null = null;
  const sweep = () => {
    const now = performance.now();
    for (const call of waiting) {
      if (now < call.deadline) continue;
      waiting.delete(call);
      call.fail(new StoreUnavailableError(new Error(`no answer within ${timeoutMs} ms`)));
    }
    if (waiting.size === 0 && sweeper !== null) {
      clearInterval(sweeper);
      sweeper = null;
    }
  };
  return <T>(call: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const entry: Waiting = { deadline: performance.now() + timeoutMs, fail: reject };
      waiting.add(entry);
      sweeper ??= setInterval(sweep, Math.max(1, Math.floor(timeoutMs / 4)));
      call.then(
        (value) => {
          waiting.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          waiting.delete(entry);
          reject(error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error));
        },
      );
    });
}
