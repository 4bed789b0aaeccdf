/**
 * The outcome of the last `verify`, kept so that the console's dashboard can show when the books
 * were last proved and what was found, without running the whole check on every page view.
 */
import { keys } from '../store/keys.js';
import type { AdminContext } from './context.js';
import type { VerifyResult } from './verify.js';

export interface VerifyRecord {
  /** Epoch milliseconds at which the check finished. */
  at: number;
  ok: boolean;
  checked: VerifyResult['checked'];
  /** How many discrepancies, and the first few of them. */
  discrepancyCount: number;
  discrepancies: string[];
}

const KEPT_LINES = 20;

export async function recordVerify(context: AdminContext, result: VerifyResult): Promise<void> {
  const record: VerifyRecord = {
    at: context.now(),
    ok: result.ok,
    checked: result.checked,
    discrepancyCount: result.discrepancies.length,
    discrepancies: result.discrepancies.slice(0, KEPT_LINES),
  };
  await context.redis.set(keys.lastVerify(), JSON.stringify(record));
}

/** The last recorded check, or null when verify has never run against this Redis. */
export async function lastVerify(context: AdminContext): Promise<VerifyRecord | null> {
  const text = await context.redis.get(keys.lastVerify());
  if (text === null) return null;
  try {
    return JSON.parse(text) as VerifyRecord;
  } catch {
    return null;
  }
}
