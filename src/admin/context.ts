/** What every module of the operator API works with: the store, the master key and the clock. */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BusinessDayOptions } from '../core/business-day.js';
import { journalKeyOf, type JournalKey } from '../store/journal.js';
import { MasterKeys, type MasterKey } from '../store/secrets.js';
import type { CashNearOptions, LowFloatOptions } from '../core/deps.js';
import { AdminError, AdminErrorCode } from './errors.js';

export interface AdminContext {
  redis: Redis | Cluster;
  /**
   * Seal terminal keys and, through the journal keys derived from them, MAC the journal: the
   * current master key and, during a rotation, the previous one (store/key-check.ts); null when the
   * caller has none (then only the operations that do neither work).
   */
  masterKeys: MasterKeys | null;
  businessDay: BusinessDayOptions;
  /** The low-float rule a top-up applies (the gateway's: --low-float-threshold, --low-float-margin). */
  lowFloat: LowFloatOptions;
  /** The near-cash-limit rule a remittance applies (the gateway's: --cash-near-limit, --cash-near-limit-margin). */
  cashNear: CashNearOptions;
  /** Where a top-up's low-float transition is logged (the gateway logs the others). */
  logger?: Logger;
  /** Epoch milliseconds. */
  now(): number;
  /** Who is acting (`--operator`, `AIRCHARGE_OPERATOR`): written to the audit log; money actions need it. */
  operator: string | null;
}

export function requireMasterKeys(context: AdminContext, why = 'stores a terminal key'): MasterKeys {
  if (context.masterKeys === null) {
    throw new AdminError(AdminErrorCode.MASTER_KEY, `this operation ${why} and needs the master key`);
  }
  return context.masterKeys;
}

/** The master key everything new is sealed under. */
export function requireMasterKey(context: AdminContext, why = 'stores a terminal key'): MasterKey {
  return requireMasterKeys(context, why).current;
}

/** The journal key (src/store/journal.ts) new entries and seals are MACed under. */
export function requireJournalKey(context: AdminContext, why: string): JournalKey {
  return journalKeyOf(requireMasterKey(context, why));
}

/** The journal key of each master key version held, for checking what was MACed under either. */
export function requireJournalKeys(context: AdminContext, why: string): Map<number, Buffer> {
  const held = requireMasterKeys(context, why);
  return new Map([held.current, ...(held.previous === null ? [] : [held.previous])].map((m) => [m.version, journalKeyOf(m).key]));
}

/** A master key given as it was before versions (version 1), or the versions a process holds. */
export function asMasterKeys(given: Buffer | MasterKeys | null | undefined): MasterKeys | null {
  if (given === null || given === undefined) return null;
  return given instanceof MasterKeys ? given : new MasterKeys({ version: 1, key: given });
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
