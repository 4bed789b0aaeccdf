/**
 * The transaction core: sessions, the replay guard and the money rules over Redis, with the biller
 * behind its port. Knows no sockets and no frames (DESIGN "Parts and folders").
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BILLER_SCRIPTS, RedisBiller } from '../biller/redis-biller.js';
import type { Biller } from '../biller/biller.js';
import { instanceLogger } from '../log.js';
import { COMPLETE_CORRECT, RESERVE_CORRECT } from '../store/lua/correct.js';
import { COMPLETE_PAY, RESERVE_PAY } from '../store/lua/pay.js';
import { GUARD_ONLY, INQUIRY_GUARD, SETTLE, SIGN_OUT, STATUS } from '../store/lua/requests.js';
import { CLOSE_SESSION, OPEN_SESSION } from '../store/lua/session.js';
import { journalKeyOf } from '../store/journal.js';
import { MasterKeys } from '../store/secrets.js';
import { preloadScripts } from '../store/script.js';
import type { BillerDownPolicy } from './in-doubt.js';
import { cutoffMinutes, DEFAULT_BUSINESS_DAY, type BusinessDayOptions } from './business-day.js';
import { RedisSessionStore } from './session-store.js';
import { storeCalls } from './store-call.js';
import type { CashNearOptions, LowFloatOptions } from './deps.js';
import { cashNearOptions } from './cash-near.js';
import { DEFAULT_LOW_FLOAT } from './low-float.js';
import { RedisTransactionCore } from './transaction-core.js';

export { businessDayOf, type BusinessDayOptions } from './business-day.js';
/**
 * A request refreshes its session's lastSeen and expiry only when the last refresh is at least
 * this old: a session record may expire up to this long before ttl seconds after its last request.
 */
export { SESSION_REFRESH_MS } from '../store/lua/guard.js';
export type { CashNearOptions, CoreDeps, LowFloatOptions, PendingTransaction } from './deps.js';
export { DEFAULT_LOW_FLOAT } from './low-float.js';
export { QUEUED_ARREARS, TRANSITIONS, transition, type BillerDownPolicy, type BillerEvent, type Move, type TxnState } from './in-doubt.js';
export { RedisSessionStore } from './session-store.js';
export { RedisTransactionCore, type TransactionSteps } from './transaction-core.js';
export type { Completion, Reservation } from './pay.js';
export type { CorrectionReservation } from './correct.js';
export * from './types.js';

export interface CoreOptions {
  /** ioredis client, passed in; the core never creates or closes it. */
  redis: Redis | Cluster;
  /**
   * Unseals terminal keys at rest and MACs the journal (its derived journal key): 32 bytes (version
   * 1), or the versions the process holds during and after a rotation (store/key-check.ts).
   */
  masterKey: Buffer | MasterKeys;
  /** Named in the core's log lines (recovery). */
  instanceId?: string;
  /** Default +480, "00:00". */
  businessDay?: BusinessDayOptions;
  /** Default 500000 (¥5,000). */
  maxPaymentFen?: number;
  /** Low-float warning for outlets; default threshold ¥500 (50000), margin ¥100 (10000). */
  lowFloat?: Partial<LowFloatOptions>;
  /** Near-cash-limit warning for collectors; default in at 90% of the limit, out below 80%. */
  cashNear?: Partial<CashNearOptions>;
  /** How long request records (and so retransmissions) are kept; default 86400 (24 h). */
  replayRetentionSec?: number;
  /** A pending transaction older than this is recovered; default 10000. */
  recoveryAfterMs?: number;
  /** INQUIRY quota per terminal (QUOTA_EXCEEDED beyond); default none. `aircharge serve` sets 1,000 an hour. */
  inquiryQuota?: { perWindow: number; windowSec: number };
  /**
   * A Redis or biller call that has not answered in this time fails with StoreUnavailableError
   * (SYSTEM_BUSY), whatever the client's own retry settings; default 2000. Checked every quarter
   * of it: a call gives up at most 1.25 times this after it started.
   */
  storeTimeoutMs?: number;
  /** Default: the embedded Redis biller on the same client. */
  biller?: Biller;
  /**
   * With the biller's breaker open: 'decline' (default) answers PAY BILLER_UNAVAILABLE before the
   * float is touched; 'accept' approves against the float and queues the posting (biller-queue.ts).
   */
  billerDown?: BillerDownPolicy;
  logger?: Logger;
}

export const CORE_SCRIPTS = [
  OPEN_SESSION,
  CLOSE_SESSION,
  GUARD_ONLY,
  INQUIRY_GUARD,
  STATUS,
  SETTLE,
  SIGN_OUT,
  RESERVE_PAY,
  COMPLETE_PAY,
  RESERVE_CORRECT,
  COMPLETE_CORRECT,
  ...BILLER_SCRIPTS,
];

export async function createCore(
  options: CoreOptions,
): Promise<{ sessions: RedisSessionStore; core: RedisTransactionCore }> {
  const businessDay = options.businessDay ?? DEFAULT_BUSINESS_DAY;
  cutoffMinutes(businessDay.cutoff); // validates: a bad cut-off fails at start-up, not on the first payment
  const masterKeys = options.masterKey instanceof MasterKeys ? options.masterKey : new MasterKeys({ version: 1, key: options.masterKey });
  if (masterKeys.current.key.length !== 32) throw new RangeError('the master key must be 32 bytes');
  const storeTimeoutMs = positiveInteger('storeTimeoutMs', options.storeTimeoutMs ?? 2_000);
  const deps = {
    redis: options.redis,
    biller: options.biller ?? new RedisBiller(options.redis),
    journalKey: journalKeyOf(masterKeys.current),
    maxPaymentFen: positiveInteger('maxPaymentFen', options.maxPaymentFen ?? 500_000),
    replayRetentionSec: positiveInteger('replayRetentionSec', options.replayRetentionSec ?? 86_400),
    inquiryQuota: {
      perWindow: options.inquiryQuota?.perWindow ?? 0,
      windowSec: positiveInteger('inquiryQuota.windowSec', options.inquiryQuota?.windowSec ?? 3_600),
    },
    recoveryAfterMs: positiveInteger('recoveryAfterMs', options.recoveryAfterMs ?? 10_000),
    billerDown: options.billerDown ?? 'decline',
    storeCall: storeCalls(storeTimeoutMs),
    businessDay,
    lowFloat: {
      thresholdFen: nonNegativeInteger('lowFloat.thresholdFen', options.lowFloat?.thresholdFen ?? DEFAULT_LOW_FLOAT.thresholdFen),
      marginFen: nonNegativeInteger('lowFloat.marginFen', options.lowFloat?.marginFen ?? DEFAULT_LOW_FLOAT.marginFen),
    },
    cashNear: cashNearOptions(options.cashNear),
    logger: options.instanceId === undefined || options.logger === undefined ? options.logger : instanceLogger(options.logger, options.instanceId),
    now: () => Date.now(),
  };
  await deps.storeCall(preloadScripts(options.redis, CORE_SCRIPTS));
  return {
    sessions: new RedisSessionStore(options.redis, masterKeys, options.logger, storeTimeoutMs),
    core: new RedisTransactionCore(deps),
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number of fen, not ${value}`);
  return value;
}
