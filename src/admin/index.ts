/**
 * The operator API: what the admin CLI wraps and what the simulator, the demo and tests use to set
 * up a network (merchants, terminals, floats, accounts) and to check it (report, journal, verify).
 * Money is integer fen throughout; yuan appear only at the edges (parseYuan, formatYuan).
 */
import type { Cluster, Redis } from 'ioredis';
import { businessDayOf, cutoffMinutes, DEFAULT_BUSINESS_DAY, type BusinessDayOptions } from '../core/business-day.js';
import { importAccounts, showAccount, type Account, type ImportResult } from './accounts.js';
import type { AdminContext } from './context.js';
import { topUp, type TopUpResult } from './float.js';
import { exportJournal, type JournalEntry } from './journal.js';
import { addMerchant, listMerchants, setMerchantStatus, showMerchant, type Merchant } from './merchants.js';
import { dailyReport, type DailyReport } from './report.js';
import {
  addTerminal,
  disableTerminal,
  enableTerminal,
  listTerminals,
  rotateTerminalKey,
  showTerminal,
  type ProvisionedKey,
  type Terminal,
} from './terminals.js';
import { verify, type VerifyResult } from './verify.js';

export { AdminError, AdminErrorCode } from './errors.js';
export { formatYuan, parseYuan } from './money.js';
export { formatDate, parseDate } from './day.js';
export { journalCsv, journalJsonLines } from './journal.js';
export { reportCsv, reportSummary } from './report.js';
export { parseTerminalKey } from './terminals.js';
export type { Account, ImportResult, BusinessDayOptions, DailyReport, JournalEntry, Merchant, ProvisionedKey, Terminal, TopUpResult, VerifyResult };

export interface AdminOptions {
  redis: Redis | Cluster;
  /** Seals terminal keys at rest. Needed only to add terminals and rotate keys. */
  masterKey?: Buffer | null;
  /** Default: UTC+8, days change at midnight. */
  businessDay?: BusinessDayOptions;
  /**
   * verify reports a transaction pending for longer than this: recovery (which finishes those
   * older than the core's recoveryAfterMs, 10 s by default, at start-up and periodically) has not
   * run. Default 60000.
   */
  pendingBoundMs?: number;
  /** Epoch milliseconds; tests may pin it. */
  now?: () => number;
}

export interface Admin {
  addMerchant(id: string, name: string): Promise<Merchant>;
  listMerchants(): Promise<Merchant[]>;
  showMerchant(id: string): Promise<Merchant>;
  disableMerchant(id: string): Promise<Merchant>;
  enableMerchant(id: string): Promise<Merchant>;

  /** Returns the clear key once, as hex; it is stored only sealed under the master key. */
  addTerminal(id: string, merchantId: string, key?: Buffer): Promise<ProvisionedKey>;
  listTerminals(merchantId?: string): Promise<Terminal[]>;
  showTerminal(id: string): Promise<Terminal>;
  /** Disables the terminal, ends its session and closes its connection wherever it is. */
  disableTerminal(id: string): Promise<Terminal>;
  enableTerminal(id: string): Promise<Terminal>;
  rotateTerminalKey(id: string, key?: Buffer): Promise<ProvisionedKey>;

  topUp(merchantId: string, amountFen: number): Promise<TopUpResult>;

  importAccounts(csvText: string): Promise<ImportResult>;
  showAccount(account: string): Promise<Account>;

  /** Per outlet and in total, a business day's (YYYYMMDD) payments, corrections and net; zeros for a quiet day. */
  dailyReport(businessDay: number): Promise<DailyReport>;
  /** Every merchant's journal entries whose business day is within [fromDay, toDay] (YYYYMMDD). */
  exportJournal(fromDay?: number, toDay?: number): Promise<JournalEntry[]>;
  /** Checks the books (verify.ts); `ok` false with one line per discrepancy. */
  verify(): Promise<VerifyResult>;

  /** Today's business day (YYYYMMDD) by the configured time zone and cut-off. */
  businessDay(epochMs?: number): number;
}

export function createAdmin(options: AdminOptions): Admin {
  if (options.businessDay !== undefined) cutoffMinutes(options.businessDay.cutoff); // a bad cut-off fails here, not mid-report
  const context: AdminContext = {
    redis: options.redis,
    masterKey: options.masterKey ?? null,
    businessDay: options.businessDay ?? DEFAULT_BUSINESS_DAY,
    now: options.now ?? Date.now,
  };
  return {
    addMerchant: (id, name) => addMerchant(context, id, name),
    listMerchants: () => listMerchants(context),
    showMerchant: (id) => showMerchant(context, id),
    disableMerchant: (id) => setMerchantStatus(context, id, 'disabled'),
    enableMerchant: (id) => setMerchantStatus(context, id, 'active'),
    addTerminal: (id, merchantId, key) => addTerminal(context, id, merchantId, key),
    listTerminals: (merchantId) => listTerminals(context, merchantId),
    showTerminal: (id) => showTerminal(context, id),
    disableTerminal: (id) => disableTerminal(context, id),
    enableTerminal: (id) => enableTerminal(context, id),
    rotateTerminalKey: (id, key) => rotateTerminalKey(context, id, key),
    topUp: (merchantId, amountFen) => topUp(context, merchantId, amountFen),
    importAccounts: (csvText) => importAccounts(context, csvText),
    showAccount: (account) => showAccount(context, account),
    dailyReport: (businessDay) => dailyReport(context, businessDay),
    exportJournal: (fromDay, toDay) => exportJournal(context, fromDay, toDay),
    verify: () => verify(context, { pendingBoundMs: options.pendingBoundMs ?? 60_000 }),
    businessDay: (epochMs) => businessDayOf(epochMs ?? context.now(), context.businessDay),
  };
}
