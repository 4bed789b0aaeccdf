/** What every module of the operator API works with: the store, the master key and the clock. */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BusinessDayOptions } from '../core/business-day.js';
import { journalKey } from '../store/journal.js';
import type { LowFloatOptions } from '../core/deps.js';
import { AdminError, AdminErrorCode } from './errors.js';

export interface AdminContext {
  redis: Redis | Cluster;
  /**
   * Seals terminal keys and, through the journal key derived from it, MACs the journal; null when
   * the caller has none (then only the operations that do neither work).
   */
  masterKey: Buffer | null;
  businessDay: BusinessDayOptions;
  /** The low-float rule a top-up applies (the gateway's: --low-float-threshold, --low-float-margin). */
  lowFloat: LowFloatOptions;
  /** Where a top-up's low-float transition is logged (the gateway logs the others). */
  logger?: Logger;
  /** Epoch milliseconds. */
  now(): number;
  /** Who is acting (`--operator`, `AIRCHARGE_OPERATOR`): written to the audit log; money actions need it. */
  operator: string | null;
}

export function requireMasterKey(context: AdminContext, why = 'stores a terminal key'): Buffer {
  if (context.masterKey === null) {
    throw new AdminError(AdminErrorCode.MASTER_KEY, `this operation ${why} and needs the master key`);
  }
  return context.masterKey;
}

/** The journal key (src/store/journal.ts), for operations that write or check the journal. */
export function requireJournalKey(context: AdminContext, why: string): Buffer {
  return journalKey(requireMasterKey(context, why));
}

/** A hash as Redis returns it, with integer fields read back as numbers (absent → 0). */
export function int(hash: Record<string, string>, field: string): number {
  const value = hash[field];
  return value === undefined || value === '' ? 0 : Number(value);
}

/** Every key matching `pattern` (SCAN MATCH), on every master of a cluster or the one Redis. */
export async function scanKeys(context: AdminContext, pattern: string): Promise<string[]> {
  const { redis } = context;
  const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return found;
}
