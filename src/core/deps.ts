/** What every part of the core works with, resolved from CoreOptions once by createCore. */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Biller } from '../biller/biller.js';
import type { JournalHead, JournalKey } from '../store/journal.js';
import type { BusinessDayOptions } from './business-day.js';
import type { BillerDownPolicy } from './in-doubt.js';

export interface LowFloatOptions {
  /** Default threshold, fen, for outlets without their own (`merchant set-threshold`). */
  thresholdFen: number;
  /** Hysteresis, fen: the state is left only when the float rises above threshold + margin. */
  marginFen: number;
}

export interface CashNearOptions {
  /** A collector enters the near-cash-limit state when his cash held reaches this percent of his limit (0: never). */
  percent: number;
  /** Hysteresis, percentage points: the state is left only below percent − marginPercent. */
  marginPercent: number;
}

export interface CoreDeps {
  redis: Redis | Cluster;
  biller: Biller;
  /** MACs journal entries (src/store/journal.ts); derived from the master key, never in Redis. */
  journalKey: JournalKey;
  maxPaymentFen: number;
  replayRetentionSec: number;
  /** INQUIRY quota per terminal against account enumeration: so many per window (0: none). */
  inquiryQuota: { perWindow: number; windowSec: number };
  recoveryAfterMs: number;
  /** With the biller's breaker open: decline PAY (BILLER_UNAVAILABLE) or approve and queue the posting. */
  billerDown: BillerDownPolicy;
  /** Every Redis and biller call: its failure, or no answer in time, as StoreUnavailableError. */
  storeCall<T>(call: Promise<T>): Promise<T>;
  businessDay: BusinessDayOptions;
  /** An outlet enters the low-float state below thresholdFen (unless it has its own) and leaves above it + marginFen. */
  lowFloat: LowFloatOptions;
  cashNear: CashNearOptions;
  logger: Logger | undefined;
  /** Epoch ms; the completion time of transactions (the request's own time is ctx.now). */
  now(): number;
}

/**
 * A transaction between its steps: what the biller step and the completion step need. The live
 * path builds it from the request; recovery reads it back from the transaction record.
 */
export interface PendingTransaction {
  kind: 'pay' | 'correct';
  merchantId: string;
  terminalId: string;
  seq: number;
  receipt: string;
  account: string;
  amountFen: number;
  businessDay: number;
  /** The corrected payment's receipt (corrections only). */
  original?: string;
  /** The journal's head when the transaction was reserved: its journal entry vouches for it. */
  seen: JournalHead;
  /** `reentry`: an operator re-entered it after a restore lost it; its journal entry says so. */
  origin?: string;
}
