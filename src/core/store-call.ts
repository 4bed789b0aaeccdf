import { StoreUnavailableError } from './types.js';

/**
 * Every call to Redis (or to the biller) goes through here: whatever goes wrong on the way — a
 * lost connection, no answer within the time allowed, a script error — reaches the gateway as
 * StoreUnavailableError, which it answers with SYSTEM_BUSY at once instead of leaving the terminal
 * waiting while the client retries. Nothing is half-applied by a failed call, even one that still
 * completes later: each script is atomic, a transaction left pending is finished by recovery, and
 * the terminal's retransmission gets IN_PROGRESS or the stored answer.
 */
export function storeCall<T>(call: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StoreUnavailableError(new Error(`no answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    call.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error));
      },
    );
  });
}
