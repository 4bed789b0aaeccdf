/**
 * The gateway's Prometheus metrics, in a registry of their own (never prom-client's global one,
 * so two gateways in one process, or a test beside a gateway, do not share counters).
 *
 * Label values come from closed sets (message type names, result code names, close reasons,
 * Redis command names), so the number of series stays bounded whatever terminals send.
 */
import type { Cluster, Redis } from 'ioredis';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MESSAGE_TYPE_NAME, MessageType, RESPONSE_BIT, RESULT_NAME, ResultCode } from '../../protocol/constants.js';
import { FrameErrorCode } from '../../protocol/errors.js';
import { buildInfo } from '../build-info.js';
import { droppedLogLines } from '../log.js';
import { FleetGauges, type FleetGaugeOptions } from './fleet.js';

/**
 * Why a terminal connection closed. The gateway reports exactly one reason per connection.
 * - `sign_out`: the terminal signed out.
 * - `peer_closed`: the terminal (or its carrier) closed or reset the TCP connection.
 * - `socket_error`: the socket failed (ECONNRESET while writing, EPIPE, ...).
 * - `sign_in_timeout`: no sign-in within the limit.
 * - `idle_timeout`: no frame within the idle limit (NOTICE IDLE_TIMEOUT).
 * - `session_replaced`: the terminal signed in on another connection (NOTICE SESSION_REPLACED).
 * - `terminal_disabled`: an operator disabled the terminal while it was connected (NOTICE TERMINAL_DISABLED).
 * - `bad_frames`: too many bad frames (NOTICE TOO_MANY_BAD_FRAMES).
 * - `not_signed_in`: a request other than SIGN_IN before sign-in: answered once, then closed.
 * - `fatal_frame`: a frame error that closes at once (length outside limits, unknown version).
 * - `internal_error`: the gateway hit a bug handling the connection (logged as an error).
 * - `over_limit`: refused on accept (max connections, the per-address cap or connection rate).
 * - `proxy_header`: `serve --proxy-protocol` and the connection did not start with a valid PROXY v2 header in time.
 * - `evicted`: not signed in yet when the instance was full: its slot went to a new connection.
 * - `drain`: the gateway is shutting down (NOTICE SHUTTING_DOWN, or refused on accept).
 */
export const CLOSE_REASONS = [
  'sign_out',
  'peer_closed',
  'socket_error',
  'sign_in_timeout',
  'idle_timeout',
  'session_replaced',
  'terminal_disabled',
  'bad_frames',
  'not_signed_in',
  'fatal_frame',
  'internal_error',
  'over_limit',
  'evicted',
  'proxy_header',
  'drain',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Request latency: GPRS round trips put most answers between a few ms and a few seconds. */
export const REQUEST_BUCKETS_SEC = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Redis commands: well under a millisecond on a healthy local network. */
export const REDIS_BUCKETS_SEC = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1];

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event-loop lag, handles); on by default. */
  processMetrics?: boolean;
}

/** The name of a request type as a label ("PAY"), or UNKNOWN for a response type or one the protocol lacks. */
export function messageTypeLabel(type: number): string {
  return (type & RESPONSE_BIT) === 0 ? (MESSAGE_TYPE_NAME.get(type) ?? 'UNKNOWN') : 'UNKNOWN';
}

/** The name of a result code as a label ("APPROVED"), as PROTOCOL.md §4 names it. */
export function resultLabel(result: number): string {
  return RESULT_NAME.get(result) ?? 'UNKNOWN';
}

export class Metrics {
  readonly registry = new Registry();
  private fleet: FleetGauges | null = null;
  /** Counts this instance's connections that are signed in (the gateway sets it). */
  private signedIn: () => number = () => 0;

  /** Terminal connections open now on this instance. */
  readonly connections = new Gauge({
    name: 'aircharge_connections',
    help: 'Terminal connections open now',
    registers: [this.registry],
  });
  readonly connectionsOpened = new Counter({
    name: 'aircharge_connections_opened_total',
    help: 'Terminal connections accepted',
    registers: [this.registry],
  });
  readonly connectionsClosed = new Counter({
    name: 'aircharge_connections_closed_total',
    help: 'Terminal connections closed, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** One per request answered: its type and the result code of the answer. */
  readonly frames = new Counter({
    name: 'aircharge_frames_total',
    help: 'Requests answered, by message type and result code',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });
  /** Requests that repeated an earlier sequence number (RETRANSMIT) and got the stored answer. */
  readonly retransmissions = new Counter({
    name: 'aircharge_retransmissions_total',
    help: 'Retransmitted requests answered with the stored response, by message type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  /** Frames the decoder refused (FrameErrorCode: ERR_CRC, ERR_SYNC, ERR_MAC, ...). */
  readonly badFrames = new Counter({
    name: 'aircharge_bad_frames_total',
    help: 'Bad frames received, by frame error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  /**
   * Answers of UNKNOWN_ACCOUNT (INQUIRY, PAY): against aircharge_frames_total of the same types,
   * the ratio an alert watches for account enumeration (src/ops/README.md).
   */
  readonly unknownAccountAnswers = new Counter({
    name: 'aircharge_unknown_account_answers_total',
    help: 'Requests answered UNKNOWN_ACCOUNT, by message type (INQUIRY, PAY): account-number enumeration shows here',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'aircharge_request_duration_seconds',
    help: 'Time from a decoded request to its response written, by message type',
    labelNames: ['type'] as const,
    buckets: REQUEST_BUCKETS_SEC,
    registers: [this.registry],
  });

  /** Business: money that moved through this instance (first answers only, never a retransmission). */
  readonly payments = new Counter({
    name: 'aircharge_payments_total',
    help: 'Payments approved (PAY answered APPROVED the first time)',
    registers: [this.registry],
  });
  readonly paymentsFen = new Counter({
    name: 'aircharge_payments_fen_total',
    help: 'Fen collected by approved payments',
    registers: [this.registry],
  });
  readonly corrections = new Counter({
    name: 'aircharge_corrections_total',
    help: 'Corrections approved (CORRECT answered APPROVED the first time)',
    registers: [this.registry],
  });
  readonly correctionsFen = new Counter({
    name: 'aircharge_corrections_fen_total',
    help: 'Fen given back to floats by approved corrections',
    registers: [this.registry],
  });
  readonly terminalsSignedIn = new Gauge({
    name: 'aircharge_terminals_signed_in',
    help: 'Terminals signed in on this instance now (sum over instances for the fleet)',
    registers: [this.registry],
    collect: () => {
      this.terminalsSignedIn.set(this.signedIn());
    },
  });

  readonly logLinesDropped = new Counter({
    name: 'aircharge_log_lines_dropped_total',
    help: 'Log lines dropped because stdout stayed full longer than the log buffer lasts',
    registers: [this.registry],
    collect() {
      this.reset();
      this.inc(droppedLogLines());
    },
  });

  readonly redisErrors = new Counter({
    name: 'aircharge_redis_errors_total',
    help: 'Redis commands that failed: reply (Redis answered an error) or unavailable (no answer: connection, timeout)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly redisCommandDuration = new Histogram({
    name: 'aircharge_redis_command_duration_seconds',
    help: 'Redis command latency seen by the gateway, by command',
    labelNames: ['command'] as const,
    buckets: REDIS_BUCKETS_SEC,
    registers: [this.registry],
  });

  readonly recoveryRuns = new Counter({
    name: 'aircharge_recovery_runs_total',
    help: 'Recovery passes over pending transactions',
    registers: [this.registry],
  });
  readonly recoveredTransactions = new Counter({
    name: 'aircharge_recovered_transactions_total',
    help: 'Pending transactions finished or rolled back by recovery',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Always 1; the labels say which build answers (join on it to compare versions in a rollout). */
  readonly buildInfo = new Gauge({
    name: 'aircharge_build_info',
    help: 'The running build: package version, git commit it was built from, Node version',
    labelNames: ['version', 'commit', 'node'] as const,
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set(buildInfo(), 1);
    // Every reason and outcome is exported from the start at 0, so a rate() over a series that
    // has not happened yet is 0, not absent.
    for (const reason of CLOSE_REASONS) this.connectionsClosed.inc({ reason }, 0);
    for (const code of Object.values(FrameErrorCode)) this.badFrames.inc({ code }, 0);
    this.recoveredTransactions.inc({ outcome: 'completed' }, 0);
    this.recoveredTransactions.inc({ outcome: 'rolled_back' }, 0);
    this.redisErrors.inc({ kind: 'reply' }, 0);
    this.redisErrors.inc({ kind: 'unavailable' }, 0);
    for (const type of ['INQUIRY', 'PAY']) this.unknownAccountAnswers.inc({ type }, 0);
  }

  connectionOpened(): void {
    this.connectionsOpened.inc();
    this.connections.inc();
  }

  /** Call once per connection that `connectionOpened()` counted. */
  connectionClosed(reason: CloseReason): void {
    this.connectionsClosed.inc({ reason });
    this.connections.dec();
  }

  /** A request was answered; `seconds` runs from the decoded frame to the response written. */
  requestAnswered(type: number, result: number, seconds: number, replayed = false): void {
    const typeName = messageTypeLabel(type);
    this.frames.inc({ type: typeName, result: resultLabel(result) });
    if (result === ResultCode.UNKNOWN_ACCOUNT) this.unknownAccountAnswers.inc({ type: typeName });
    this.requestDuration.observe({ type: typeName }, seconds);
    if (replayed) this.retransmissions.inc({ type: typeName });
  }

  /** A PAY or CORRECT approved the first time, for `amountFen`. */
  moneyMoved(type: number, amountFen: number): void {
    if (type === MessageType.PAY) {
      this.payments.inc();
      this.paymentsFen.inc(amountFen);
    } else if (type === MessageType.CORRECT) {
      this.corrections.inc();
      this.correctionsFen.inc(amountFen);
    }
  }

  /** The gateway says how to count its signed-in connections. */
  countSignedIn(count: () => number): void {
    this.signedIn = count;
  }

  /** A frame the decoder refused; `code` is the FrameError's code. */
  badFrame(code: string): void {
    this.badFrames.inc({ code });
  }

  /** One recovery pass, with what `TransactionCore.recover()` returned. */
  recoveryRun(result: { completed: number; rolledBack: number }): void {
    this.recoveryRuns.inc();
    this.recoveredTransactions.inc({ outcome: 'completed' }, result.completed);
    this.recoveredTransactions.inc({ outcome: 'rolled_back' }, result.rolledBack);
  }

  /**
   * Starts the fleet-wide gauges (fleet.ts): computed by the one instance holding the lease, every
   * interval, and exported by it alone. Stop the returned FleetGauges on shutdown.
   */
  watchFleet(redis: Redis | Cluster, options: FleetGaugeOptions): FleetGauges {
    this.fleet = new FleetGauges(redis, this.registry, options);
    this.fleet.start();
    return this.fleet;
  }

  /** The Prometheus text exposition of every metric in this registry. */
  async scrape(): Promise<string> {
    const [own, fleet] = await Promise.all([this.registry.metrics(), this.fleet?.exposition() ?? '']);
    return own + fleet;
  }
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  return new Metrics(options);
}
