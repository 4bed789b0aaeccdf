/**
 * The operator API: what the admin CLI wraps and what the simulator, the demo and tests use to set
 * up a network (merchants, terminals, floats, accounts) and to check it (report, journal, verify).
 * Money is integer fen throughout; yuan appear only at the edges (parseYuan, formatYuan).
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { businessDayOf, cutoffMinutes, DEFAULT_BUSINESS_DAY, type BusinessDayOptions } from '../core/business-day.js';
import type { DayPosting } from '../biller/biller.js';
import { RedisBiller } from '../biller/redis-biller.js';
import { importAccounts, showAccount, type Account, type AccountPosting, type ImportResult } from './accounts.js';
import { reconcileBiller, type BillerReconciliation } from './reconcile.js';
import { importTerminals, type NewTerminalKey, type TerminalImport } from './provision.js';
import { readCheckpoint, takeCheckpoint, type Checkpoint } from './checkpoint.js';
import type { Biller } from '../biller/biller.js';
import { appliedBefore, decideApproval, listApprovals, requestApproval, settleApproval, showApproval, type Approval } from './approvals.js';
import { appendAudit, audited, checkOperator, listAudit, requireOperator, type AuditEntry, type AuditQuery } from './audit.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { formatYuan } from './money.js';
import {
  adjustFloat,
  reenterTxn,
  reversalAmount,
  reverseTxn,
  type AdjustResult,
  type OperatorNote,
  type ReentryInput,
  type ReentryResult,
  type ReversalResult,
} from './operator-actions.js';
import { asMasterKeys, type AdminContext } from './context.js';
import { rotateMasterKey, type MasterKeyRotation } from './master-key.js';
import type { MasterKeys } from '../store/secrets.js';
import { addOperator, authenticate, findOperator, listOperators, removeOperator, type ConsoleOperator } from './console-operators.js';
import { businessDayRange, formatLocalTime } from './day.js';
import { listBillerPostings, retryFailedPosting, type QueueLine, type QueuedPosting } from './biller-queue.js';
import { findTxns, showTxn, type FindPage, type FindQuery, type Txn, type TxnDetail } from './lookup.js';
import { exportJournal, journalBetween, recentJournal, type ExportedEntry, type JournalEntry } from './journal.js';
import { listPending, type PendingTransaction } from './pending.js';
import { lastVerify, recordVerify, type VerifyRecord } from './verify-record.js';
import { importBankStatement, type BankImportResult } from './bank-import.js';
import { statement, type Statement } from './statement.js';
import { generatedReference, remit, topUp, type MovementNote, type RemitResult, type TopUpResult } from './float.js';
import { DEFAULT_LOW_FLOAT } from '../core/low-float.js';
import { DEFAULT_CASH_NEAR } from '../core/cash-near.js';
import type { CashNearOptions, LowFloatOptions } from '../core/deps.js';
import type { Logger } from 'pino';
import {
  addMerchant,
  listMerchants,
  setLowFloatThreshold,
  setMerchantLimits,
  setMerchantStatus,
  showMerchant,
  type DayLimits,
  type Merchant,
  type NewMerchantOptions,
} from './merchants.js';
import { dailyReport, type DailyReport } from './report.js';
import {
  addTerminal,
  disableTerminal,
  enableTerminal,
  fleetPage,
  listTerminals,
  rotateTerminalKey,
  setTerminalLimits,
  showTerminal,
  type ProvisionedKey,
  type FleetPage,
  type FleetQuery,
  type Terminal,
} from './terminals.js';
import { resetTerminalSeq, type SeqReset } from './terminal-seq.js';
import { verify, type VerifyResult } from './verify.js';

export { AdminError, AdminErrorCode };
export { checkOperator, parseDuration, parseSince } from './audit.js';
export { formatYuan, parseYuan } from './money.js';
export { businessDayRange, daysFrom, formatDate, formatLocalTime, formatPeriod, parseDate } from './day.js';
export { journalCsv, journalJsonLines } from './journal.js';
export { postingFacts, requestInWords, txnCsv } from './lookup.js';
export { reportCsv, reportSummary } from './report.js';
export { BREAK_KINDS, reconcileCsv, reconcileText, type BillerReconciliation, type BreakKind, type ReconcileLine } from './reconcile.js';
export { fleetCsv, parseTerminalKey, type FleetPage, type FleetQuery } from './terminals.js';
export { healthText, type HealthView } from '../store/health.js';
export { generatedReference } from './float.js';
export { statementCsv } from './statement.js';
export type { Statement };
export { TERMINALS_CSV_HEADER, type NewTerminalKey, type TerminalImport } from './provision.js';
export type { Checkpoint, ExportedEntry, FindPage, FindQuery, QueuedPosting, Txn, TxnDetail };
export { ROLES, roleAtLeast, type Role } from './console-operators.js';
export type { BankImportResult, CashNearOptions, DayLimits, MovementNote, NewMerchantOptions, RemitResult, LowFloatOptions };
export type { AdjustResult, Approval, OperatorNote, ReentryInput, ReentryResult, ReversalResult };
export type { Account, AccountPosting, AuditEntry, ConsoleOperator, AuditQuery, ImportResult, BusinessDayOptions, DailyReport, JournalEntry, Merchant, PendingTransaction, ProvisionedKey, Terminal, TopUpResult, VerifyRecord, VerifyResult };
export type { SeqReset, QueueLine };

export interface AdminOptions {
  redis: Redis | Cluster;
  /** Seals terminal keys at rest and MACs the journal: needed to add terminals, rotate keys, top up, checkpoint and verify. */
  masterKey?: Buffer | MasterKeys | null;
  /** Default: UTC+8, days change at midnight. */
  businessDay?: BusinessDayOptions;
  /**
   * verify reports a transaction pending for longer than this: recovery (which finishes those
   * older than the core's recoveryAfterMs, 10 s by default, at start-up and periodically) has not
   * run. Default 60000.
   */
  pendingBoundMs?: number;
  /** The gateway's low-float rule, which top-ups apply too; default ¥500 threshold, ¥100 margin. */
  lowFloat?: LowFloatOptions;
  /** The gateway's near-cash-limit rule, which remittances apply too; default in at 90% of the limit, out below 80%. */
  cashNear?: CashNearOptions;
  /** Low-float transitions caused by top-ups are logged here. */
  logger?: Logger;
  /** Epoch milliseconds; tests may pin it. */
  now?: () => number;
  /**
   * Who acts through this Admin: every action is written to the audit log under this name, and
   * money actions (top-ups, adjustments, reversals, re-entries, approvals) refuse to run without it.
   */
  operator?: string;
  /**
   * Maker-checker: a money action (top-up, adjustment, reversal, re-entry) moving more than this
   * (fen, either way) is stored as a pending approval instead, for a second operator. Default: none.
   */
  approvalLimitFen?: number;
  /**
   * Reversals, re-entries and reconcile's --fetch reach the billing system through this port.
   * Default: the embedded biller.
   */
  biller?: Biller;
  /** The URL of `biller` when it is a billing system over HTTP: verify then expects postings there, not in Redis. */
  billerUrl?: string;
  /** The gateway's --biller-queue-expiry, ms: verify fails on a posting queued longer. Default a day. */
  billerQueueExpiryMs?: number;
  /** How long the gateway keeps request records (`--replay-retention`); a re-entry writes one. Default 86400. */
  replayRetentionSec?: number;
}

export interface Admin {
  /** An outlet by default; a collector with { kind: 'collector', cashLimitFen }. */
  addMerchant(id: string, name: string, options?: NewMerchantOptions): Promise<Merchant>;
  listMerchants(): Promise<Merchant[]>;
  /** Outlets in the low-float warning state, lowest float first. */
  lowFloatMerchants(): Promise<Merchant[]>;
  /** Collectors in the near-cash-limit state, the largest share of their limit first. */
  nearCashLimitMerchants(): Promise<Merchant[]>;
  /** An outlet's own low-float threshold; null returns it to the configured default. */
  setLowFloatThreshold(id: string, thresholdFen: number | null): Promise<Merchant>;
  /** Daily caps on the merchant's payments (all its terminals together); null clears one. */
  setMerchantLimits(id: string, limits: DayLimits): Promise<Merchant>;
  showMerchant(id: string): Promise<Merchant>;
  disableMerchant(id: string): Promise<Merchant>;
  enableMerchant(id: string): Promise<Merchant>;

  /** Returns the clear key once, as hex; it is stored only sealed under the master key. */
  addTerminal(id: string, merchantId: string, key?: Buffer): Promise<ProvisionedKey>;
  /**
   * Merchants and terminals from one CSV file (provision.ts); new terminals' clear keys are handed
   * to `persistKeys` before anything is written, and never returned.
   */
  importTerminals(csvText: string, persistKeys: (created: NewTerminalKey[]) => Promise<void>): Promise<TerminalImport>;
  listTerminals(merchantId?: string): Promise<Terminal[]>;
  /** `terminal list`: the fleet by terminal id, online or not, last seen, health; filtered and paged. */
  fleet(query: FleetQuery): Promise<FleetPage>;
  showTerminal(id: string): Promise<Terminal>;
  /** Disables the terminal, ends its session and closes its connection wherever it is. */
  disableTerminal(id: string): Promise<Terminal>;
  enableTerminal(id: string): Promise<Terminal>;
  rotateTerminalKey(id: string, key?: Buffer): Promise<ProvisionedKey>;
  /** Moves every sealed terminal key, bill seal and journal onto the new master key version (master-key.ts); audited. */
  rotateMasterKey(): Promise<MasterKeyRotation>;
  /**
   * Puts the terminal's sequence high-water mark back to `to` (default: the highest number that
   * started one of its transactions, below which it may not go) and ends its session.
   */
  resetTerminalSeq(id: string, to?: number): Promise<SeqReset>;
  /** Daily caps on one terminal's payments; null clears one. */
  setTerminalLimits(id: string, limits: DayLimits): Promise<Terminal>;

  /**
   * Credits an outlet's float once per reference (ERR_DUPLICATE when it was applied). Without a
   * note a unique reference is generated: such a top-up is not protected against being run twice.
   */
  topUp(merchantId: string, amountFen: number, note?: MovementNote): Promise<TopUpResult>;
  /** The bank's statement of pre-store transfers (date,merchant,amount,reference) applied as top-ups. */
  importBankStatement(csvText: string): Promise<BankImportResult>;
  /** One merchant's statement between two business days (YYYYMMDD), checked against its live balance. */
  merchantStatement(merchantId: string, fromDay: number, toDay: number): Promise<Statement>;
  /** Cash a collector hands in at the office, once per reference; never below zero (ERR_CASH). */
  remit(merchantId: string, amountFen: number, note: MovementNote): Promise<RemitResult>;

  importAccounts(csvText: string): Promise<ImportResult>;
  showAccount(account: string): Promise<Account>;

  /** Per outlet and in total, a business day's (YYYYMMDD) payments, corrections and net; zeros for a quiet day. */
  dailyReport(businessDay: number): Promise<DailyReport>;
  /** Every merchant's journal entries whose business day is within [fromDay, toDay] (YYYYMMDD). */
  exportJournal(fromDay?: number, toDay?: number): Promise<ExportedEntry[]>;
  /**
   * Checks the books (verify.ts); `ok` false with one line per discrepancy. With a checkpoint
   * (readCheckpoint), also that no journal was rolled back or rewritten before it.
   */
  verify(options?: { checkpoint?: Checkpoint }): Promise<VerifyResult>;
  /** Every journal's head and totals, MACed, to keep outside Redis (checkpoint.ts). */
  checkpointJournal(): Promise<Checkpoint>;
  /** A checkpoint file's text, checked under the master key. */
  readCheckpoint(text: string): Checkpoint;
  /** The outcome of the last verify() against this Redis (verify-record.ts), or null. */
  lastVerify(): Promise<VerifyRecord | null>;
  /** Transactions still pending (in flight, or in doubt until recovery settles them), oldest first. */
  listPending(limit?: number): Promise<PendingTransaction[]>;
  /** A merchant's last `count` journal entries, newest first. */
  statement(merchantId: string, count: number): Promise<JournalEntry[]>;
  /** Every merchant's journal entries of one business day (YYYYMMDD), found by time, not by reading the whole journal. */
  journalOfDay(businessDay: number): Promise<JournalEntry[]>;

  /** Today's business day (YYYYMMDD) by the configured time zone and cut-off. */
  businessDay(epochMs?: number): number;

  /** The embedded biller's postings of one business day: its daily postings file. */
  billerPostings(businessDay: number): Promise<DayPosting[]>;
  /** Our journal of one business day against the biller's postings of it (reconcile.ts); default: the configured biller's (`biller`). */
  reconcileBiller(businessDay: number, postings?: DayPosting[]): Promise<BillerReconciliation>;
  /** Adds a signed amount to a float with a reason (journal kind `adjust`). */
  adjustFloat(merchantId: string, amountFen: number, note: OperatorNote): Promise<AdjustResult>;
  /** Reverses a completed payment of a closed day, once (journal kind `reverse`); needs reason and ticket. */
  reverseTxn(receipt: string, note: OperatorNote): Promise<ReversalResult>;
  /** Re-enters a payment a restore lost, from the terminal's receipt, once. */
  reenterTxn(input: ReentryInput, note: OperatorNote): Promise<ReentryResult>;
  /** Pending approvals (or all with `all`), newest first. */
  listApprovals(options?: { all?: boolean }): Promise<Approval[]>;
  showApproval(id: string): Promise<Approval>;
  /** A second, different operator applies a pending money action, once. */
  approve(id: string): Promise<Approval>;
  reject(id: string, reason?: string): Promise<Approval>;

  /** Every fact of one transaction (or early decline) by receipt (lookup.ts); NOT_FOUND otherwise. */
  showTxn(receipt: string): Promise<TxnDetail>;
  /** Transactions by account, terminal, merchant and/or business day, declines included, newest first, paged. */
  findTxns(query: FindQuery): Promise<FindPage>;
  /** Adds a web console login (console-operators.ts), or with `replace` sets its role and password; audited without the password. */
  addConsoleOperator(name: string, role: string, password: string, options?: { replace?: boolean }): Promise<ConsoleOperator>;
  listConsoleOperators(): Promise<ConsoleOperator[]>;
  removeConsoleOperator(name: string): Promise<ConsoleOperator>;
  /** The console operator when the password matches, else null (as slow for an unknown name). */
  authenticateConsoleOperator(name: string, password: string): Promise<ConsoleOperator | null>;
  /** The console operator as stored now, or null. */
  findConsoleOperator(name: string): Promise<ConsoleOperator | null>;

  /** An instant in the configured local time, e.g. `2026-12-03 16:05:09 +08:00`. */
  localTime(epochMs: number): string;
  /** The audit log, newest first (audit.ts). */
  listAudit(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Postings approved while the biller was down (policy accept): still queued, or failed (biller-queue.ts). */
  queuedPostings(which: 'queue' | 'failed'): Promise<QueuedPosting[]>;
  /** A failed posting back in the queue, sent again once the biller's side is fixed; audited `biller.retry`. */
  retryFailedPosting(receipt: string, note: { reason: string }): Promise<QueuedPosting>;
  /** The same API acting as another operator (the console: one Admin per logged-in operator). */
  as(operator: string): Admin;
  /** Who this Admin acts as; null when unnamed. */
  readonly operator: string | null;
}

export function createAdmin(options: AdminOptions): Admin {
  if (options.businessDay !== undefined) cutoffMinutes(options.businessDay.cutoff); // a bad cut-off fails here, not mid-report
  const context: AdminContext = {
    redis: options.redis,
    masterKeys: asMasterKeys(options.masterKey),
    businessDay: options.businessDay ?? DEFAULT_BUSINESS_DAY,
    lowFloat: options.lowFloat ?? DEFAULT_LOW_FLOAT,
    cashNear: options.cashNear ?? DEFAULT_CASH_NEAR,
    now: options.now ?? Date.now,
    operator: options.operator === undefined ? null : checkOperator(options.operator),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  };
  const merchantState = (id: string) => async () => {
    const m = await showMerchant(context, id);
    return m.kind === 'collector' ? { status: m.status, cashFen: m.cashFen } : { status: m.status, floatFen: m.floatFen };
  };
  const terminalState = (id: string) => async () => terminalFacts(await showTerminal(context, id));
  const nothing = async () => null;
  const consoleOperatorState = (name: string) => async () => {
    const found = await findOperator(context, name);
    return found === null ? null : { role: found.role };
  };

  const biller = options.biller ?? new RedisBiller(options.redis);
  const floatOf = (id: string) => async () => ({ floatFen: (await showMerchant(context, id)).floatFen });

  /** The money actions themselves, each audited; gate() decides whether they run now. */
  const apply = {
    topUp: (merchantId: string, amountFen: number, note?: MovementNote) => {
      const movement = note ?? { reference: generatedReference(context.now()) };
      return audited(context, 'float.topup', merchantId, merchantState(merchantId), () => topUp(context, merchantId, amountFen, movement), (r) => ({
        floatFen: r.floatFen,
        amountFen: r.amountFen,
        reference: r.reference,
        entry: r.entry,
      }), movement.reason === undefined ? {} : { reason: movement.reason });
    },
    adjustFloat: (merchantId: string, amountFen: number, note: OperatorNote) =>
      audited(context, 'float.adjust', merchantId, floatOf(merchantId), () => adjustFloat(context, merchantId, amountFen, note), (r) => ({
        floatFen: r.floatFen,
        amountFen: r.amountFen,
        entry: r.entry,
      }), note),
    reverseTxn: (receipt: string, note: OperatorNote) =>
      audited(context, 'txn.reverse', receipt, async () => ({ state: 'complete' }), () => reverseTxn(context, biller, receipt, note), (r) => ({
        reversal: r.reversal,
        state: r.state,
        result: r.result.name,
        floatFen: r.floatFen,
      }), note),
    reenterTxn: (input: ReentryInput, note: OperatorNote) =>
      audited(context, 'txn.reenter', `${input.terminalId}:${input.seq}`, nothing, () => reenterTxn(context, biller, input, note, options.replayRetentionSec ?? 86_400), (r) => ({
        receipt: r.receipt,
        state: r.state,
        result: r.result.name,
        amountFen: r.amountFen,
      }), note),
  };

  /** Maker-checker: above the limit the action is stored for a second operator instead of run. */
  const gate = async <T>(action: string, amountFen: number, params: Record<string, unknown>, run: () => Promise<T>): Promise<T> => {
    requireOperator(context);
    const limit = options.approvalLimitFen;
    if (limit === undefined || Math.abs(amountFen) <= limit) return run();
    const approval = await requestApproval(context, action, params, amountFen);
    await appendAudit(context, {
      action: 'approval.request',
      target: approval.id,
      before: null,
      after: { action, params, amountFen },
      reason: typeof params.reason === 'string' ? params.reason : '',
      ticket: typeof params.ticket === 'string' ? params.ticket : '',
    });
    throw new AdminError(
      AdminErrorCode.PENDING_APPROVAL,
      `${action} of ${formatYuan(Math.abs(amountFen))} yuan is above the approval limit (${formatYuan(limit)}): stored as ${approval.id}; ` +
        `a second operator applies it with: aircharge approve ${approval.id}`,
      [approval.id],
    );
  };

  /** Runs an approved action as the approving operator, with the approval as its reference. */
  const applyApproved = (approval: Approval): Promise<unknown> => {
    const p = approval.params;
    const note = (): OperatorNote => ({ reason: String(p.reason ?? ''), ref: approval.id, ...(p.ticket === undefined ? {} : { ticket: String(p.ticket) }) });
    switch (approval.action) {
      case 'float.topup':
        return apply.topUp(String(p.merchantId), Number(p.amountFen), {
          reference: p.reference === undefined ? approval.id : String(p.reference),
          ...(p.reason === undefined ? {} : { reason: String(p.reason) }),
        });
      case 'float.adjust':
        return apply.adjustFloat(String(p.merchantId), Number(p.amountFen), note());
      case 'txn.reverse':
        return apply.reverseTxn(String(p.receipt), note());
      case 'txn.reenter':
        return apply.reenterTxn(
          { terminalId: String(p.terminalId), seq: Number(p.seq), account: String(p.account), amountFen: Number(p.amountFen), at: Number(p.at) },
          note(),
        );
      default:
        throw new AdminError(AdminErrorCode.INVALID, `approval ${approval.id} holds an unknown action ${approval.action}`);
    }
  };

  return {
    operator: context.operator,
    as: (operator) => createAdmin({ ...options, operator }),
    addMerchant: (id, name, merchantOptions) =>
      audited(context, 'merchant.add', id, nothing, () => addMerchant(context, id, name, merchantOptions), (m) => ({
        name: m.name,
        status: m.status,
        kind: m.kind,
        ...(m.kind === 'collector' ? { cashLimitFen: m.cashLimitFen } : {}),
      })),
    listMerchants: () => listMerchants(context),
    lowFloatMerchants: async () =>
      (await listMerchants(context)).filter((m) => m.lowFloat).sort((a, b) => a.floatFen - b.floatFen || a.id.localeCompare(b.id)),
    nearCashLimitMerchants: async () =>
      (await listMerchants(context))
        .filter((m) => m.nearCashLimit)
        .sort((a, b) => b.cashFen * a.cashLimitFen - a.cashFen * b.cashLimitFen || a.id.localeCompare(b.id)),
    setLowFloatThreshold: (id, thresholdFen) =>
      audited(context, 'merchant.set-threshold', id, async () => (await showMerchant(context, id)).lowFloatThresholdFen, () => setLowFloatThreshold(context, id, thresholdFen), (m) => m.lowFloatThresholdFen),
    setMerchantLimits: (id, limits) =>
      audited(context, 'merchant.set-limits', id, async () => (await showMerchant(context, id)).limits, () => setMerchantLimits(context, id, limits), (m) => m.limits),
    showMerchant: (id) => showMerchant(context, id),
    disableMerchant: (id) =>
      audited(context, 'merchant.disable', id, merchantState(id), () => setMerchantStatus(context, id, 'disabled'), (m) => ({ status: m.status, floatFen: m.floatFen })),
    enableMerchant: (id) =>
      audited(context, 'merchant.enable', id, merchantState(id), () => setMerchantStatus(context, id, 'active'), (m) => ({ status: m.status, floatFen: m.floatFen })),
    // The key itself never reaches the log: only its version.
    addTerminal: (id, merchantId, key) =>
      audited(context, 'terminal.add', id, nothing, () => addTerminal(context, id, merchantId, key), (p) => ({ merchantId: p.merchantId, keyVersion: p.keyVersion })),
    listTerminals: (merchantId) => listTerminals(context, merchantId),
    fleet: (query) => fleetPage(context, query),
    showTerminal: (id) => showTerminal(context, id),
    disableTerminal: (id) => audited(context, 'terminal.disable', id, terminalState(id), () => disableTerminal(context, id), terminalFacts),
    enableTerminal: (id) => audited(context, 'terminal.enable', id, terminalState(id), () => enableTerminal(context, id), terminalFacts),
    rotateMasterKey: () => rotateMasterKey(context),
    rotateTerminalKey: (id, key) =>
      audited(context, 'terminal.rotate-key', id, terminalState(id), () => rotateTerminalKey(context, id, key), (p) => ({ keyVersion: p.keyVersion })),
    resetTerminalSeq: (id, to) =>
      audited(context, 'terminal.reset-seq', id, async () => ({ hwm: (await showTerminal(context, id)).hwm }), () => resetTerminalSeq(context, id, to), (r) => ({
        hwm: r.terminal.hwm,
        requestsCleared: r.requestsCleared,
      })),
    setTerminalLimits: (id, limits) =>
      audited(context, 'terminal.set-limits', id, async () => (await showTerminal(context, id)).limits, () => setTerminalLimits(context, id, limits), (t) => t.limits),
    topUp: (merchantId, amountFen, note) =>
      gate('float.topup', amountFen, { merchantId, amountFen, ...note }, () => apply.topUp(merchantId, amountFen, note)),
    merchantStatement: (merchantId, fromDay, toDay) => statement(context, merchantId, fromDay, toDay),
    importBankStatement: async (csvText) => {
      requireOperator(context);
      const digest = `sha256:${createHash('sha256').update(csvText).digest('hex').slice(0, 16)}`;
      return audited(context, 'float.import', digest, nothing, () => importBankStatement(context, csvText), (r) => ({
        applied: r.applied.map((a) => ({ merchant: a.merchant, amountFen: a.amountFen, reference: a.reference })),
        duplicates: r.duplicates.length,
        unknownMerchants: r.unknownMerchants.length,
        rejected: r.rejected.length,
      }));
    },
    remit: async (merchantId, amountFen, note) => {
      requireOperator(context);
      return audited(context, 'collector.remit', merchantId, merchantState(merchantId), () => remit(context, merchantId, amountFen, note), (r) => ({
        cashFen: r.cashFen,
        amountFen: r.amountFen,
        reference: r.reference,
        entry: r.entry,
      }), note.reason === undefined ? {} : { reason: note.reason });
    },
    importTerminals: (csvText, persistKeys) => {
      const digest = `sha256:${createHash('sha256').update(csvText).digest('hex').slice(0, 16)}`;
      return audited(context, 'terminal.import', digest, nothing, () => importTerminals(context, csvText, persistKeys), (r) => ({ ...r }));
    },
    importAccounts: async (csvText) => {
      // The billing system's extract, not an operator's movement of money: logged, operator optional.
      // The file is named by its digest: the log says which extract was loaded without holding it.
      const digest = `sha256:${createHash('sha256').update(csvText).digest('hex').slice(0, 16)}`;
      return audited(context, 'accounts.import', digest, nothing, () => importAccounts(context, csvText), (r) => ({ ...r }));
    },
    showAccount: (account) => showAccount(context, account),
    dailyReport: (businessDay) => dailyReport(context, businessDay),
    exportJournal: (fromDay, toDay) => exportJournal(context, fromDay, toDay),
    verify: async (more) => {
      const result = await verify(context, {
        pendingBoundMs: options.pendingBoundMs ?? 60_000,
        ...(options.billerUrl === undefined ? {} : { httpBiller: options.billerUrl }),
        ...(options.billerQueueExpiryMs === undefined ? {} : { queueExpiryMs: options.billerQueueExpiryMs }),
        ...more,
      });
      await recordVerify(context, result);
      return result;
    },
    lastVerify: () => lastVerify(context),
    listPending: (limit) => listPending(context, limit),
    statement: async (merchantId, count) => recentJournal(context, (await showMerchant(context, merchantId)).id, count),
    journalOfDay: async (businessDay) => {
      const [start, end] = businessDayRange(businessDay, context.businessDay);
      // Stream ids are the time of writing; the entry's own day field decides (a clock step at the edge).
      return (await journalBetween(context, start - 60_000, end + 60_000)).filter((e) => e.day === businessDay);
    },
    checkpointJournal: () => takeCheckpoint(context),
    readCheckpoint: (text) => readCheckpoint(context, text),
    businessDay: (epochMs) => businessDayOf(epochMs ?? context.now(), context.businessDay),
    billerPostings: (businessDay) => new RedisBiller(context.redis).dayPostings(businessDay),
    reconcileBiller: async (businessDay, postings) => reconcileBiller(context, businessDay, postings ?? (await biller.dayPostings(businessDay))),
    adjustFloat: (merchantId, amountFen, note) =>
      gate('float.adjust', amountFen, { merchantId, amountFen, ...note }, () => apply.adjustFloat(merchantId, amountFen, note)),
    reverseTxn: async (receipt, note) =>
      gate('txn.reverse', await reversalAmount(context, receipt), { receipt, ...note }, () => apply.reverseTxn(receipt, note)),
    reenterTxn: (input, note) => gate('txn.reenter', input.amountFen, { ...input, ...note }, () => apply.reenterTxn(input, note)),
    listApprovals: (listOptions) => listApprovals(context, listOptions),
    showApproval: (id) => showApproval(context, id),
    approve: async (id) => {
      const { resumed, ...approval } = await decideApproval(context, id, 'approved');
      // Taken up again after its approver died: what it did before, if it did, is not done twice.
      const done = resumed ? await appliedBefore(context, approval) : null;
      const applied = await (done !== null ? Promise.resolve(done) : applyApproved(approval)).then(
        (result) => ({ state: 'applied' as const, outcome: result }),
        (error: unknown) => ({ state: 'failed' as const, outcome: { error: error instanceof Error ? error.message : String(error) } }),
      );
      await settleApproval(context, id, applied.state, applied.outcome);
      const after = { ...approval, ...applied };
      await appendAudit(context, {
        action: 'approval.approve',
        target: id,
        before: { state: 'pending', maker: approval.maker, action: approval.action },
        after: { state: applied.state, outcome: applied.outcome, ...(resumed ? { resumed: true } : {}) },
      });
      return after;
    },
    reject: async (id, reason) => {
      const approval = await decideApproval(context, id, 'rejected');
      await appendAudit(context, { action: 'approval.reject', target: id, before: { state: 'pending', maker: approval.maker, action: approval.action }, after: { state: 'rejected' }, reason: reason ?? '' });
      return approval;
    },
    showTxn: (receipt) => showTxn(context, receipt),
    findTxns: (query) => findTxns(context, query),
    addConsoleOperator: async (name, role, password, opts = {}) => {
      return audited(context, 'console-operator.add', name, consoleOperatorState(name), () => addOperator(context, { name, role, password, ...opts }), (o) => ({ role: o.role }));
    },
    listConsoleOperators: () => listOperators(context),
    removeConsoleOperator: (name) =>
      audited(context, 'console-operator.remove', name, consoleOperatorState(name), () => removeOperator(context, name), () => null),
    authenticateConsoleOperator: (name, password) => authenticate(context, name, password),
    findConsoleOperator: (name) => findOperator(context, name),
    localTime: (epochMs) => formatLocalTime(epochMs, context.businessDay.utcOffsetMinutes),
    listAudit: (query) => listAudit(context, query),
    queuedPostings: (which) => listBillerPostings(context, which),
    retryFailedPosting: (receipt, note) =>
      audited(context, 'biller.retry', receipt, async () => ({ billerQueue: 'failed' }), () => retryFailedPosting(context, receipt), (p) => ({ billerQueue: 'queued', amountFen: p.amountFen }), note),
  };
}

/** A terminal's state as the audit log keeps it: what an action can change. */
function terminalFacts(t: Terminal): { status: Terminal['status']; keyVersion: number } {
  return { status: t.status, keyVersion: t.keyVersion };
}
