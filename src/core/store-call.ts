import { StoreUnavailableError } from './types.js';

/**
 * Every call to Redis (or to the biller) goes through here: whatever goes wrong on the way — a
 * lost connection, a timeout, a script error — reaches the gateway as StoreUnavailableError,
 * which it answers with SYSTEM_BUSY. Nothing is half-applied by a failed call: each script is
 * atomic, and a transaction left pending is finished by recovery.
 */
export async function storeCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(error);
  }
}
