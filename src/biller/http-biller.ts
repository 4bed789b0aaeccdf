/**
 * HttpBiller: the biller port over the biller API (API.md) to a billing system on the network.
 * One keep-alive undici Pool, passed in. Every call runs through composed, named policies
 * (cockatiel), never a loop at the call site:
 *   reads    = retry (bounded, decorrelated jitter) → breaker → timeout   lookups, posting queries
 *   postings = breaker → timeout                                          post, reverse
 * A posting is idempotent at the biller (PUT by receipt), so a retry would be safe, but it is not
 * retried here: a posting that failed is in doubt, and its retry is recovery's (a query after a
 * delay, then the same PUT), not a second wait for the terminal while a slow biller gets twice the
 * load. Every failure is a BillerError with a stable code (errors.ts).
 */
import { readFileSync } from 'node:fs';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IPolicy,
} from 'cockatiel';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Pool } from 'undici';
import { ResultCode, type ResultCode as Result } from '../../protocol/constants.js';
import { arrearsOf, billOrder, type Biller, type BillingAccount, type BookedPosting, type DayPosting, type Posting, type PostingResult, type Reversal } from './biller.js';
import { parsePostingsFile } from './postings-file.js';
import { BillerError, BillerErrorCode } from './errors.js';
import { authHeaders, type AuthMode } from './http-auth.js';
import { ApiErrorCode, type ApiAccount, type ApiError, type ApiPosting, type ApiPostingRequest } from './http-api.js';
import { BillerMetrics, BreakerGauge } from './http-metrics.js';

export interface HttpBillerOptions {
  /** Base URL; its path, if any, prefixes every API path. */
  url: string;
  /** The keep-alive pool to the biller's origin; HttpBiller never creates or closes it. */
  pool: Pool;
  /** Shared secret for signing (hmac) or the bearer token; null: requests go unauthenticated. */
  secret: Buffer | null;
  auth?: AuthMode;
  /** Per call (per attempt of a read), ms. Default 1500: below the core's 2 s store deadline. */
  timeoutMs?: number;
  /** Attempts of an idempotent read, the first included. Default 3. */
  readAttempts?: number;
  /** Consecutive faults (timeouts, connection failures, 5xx) that open the breaker. Default 5. */
  breakerThreshold?: number;
  /** How long the breaker stays open before it lets one probe through, ms. Default 10000. */
  breakerCooldownMs?: number;
  registry?: Registry;
  logger?: Logger;
}

/** A keep-alive Pool to a biller URL, with a CA file for a private TLS chain. */
export function billerPool(url: string, options: { caFile?: string; connections?: number } = {}): Pool {
  const origin = new URL(url);
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new RangeError(`the biller URL must be http or https, not ${origin.protocol}`);
  return new Pool(origin.origin, {
    connections: options.connections ?? 32,
    keepAliveTimeout: 30_000,
    pipelining: 1,
    ...(options.caFile === undefined ? {} : { connect: { ca: readFileSync(options.caFile) } }),
  });
}

type Operation = 'lookup' | 'post' | 'reverse' | 'posting' | 'day_postings';

export class HttpBiller implements Biller {
  private readonly prefix: string;
  private readonly auth: AuthMode;
  private readonly reads: IPolicy;
  private readonly postings: IPolicy;
  private readonly breaker;
  private readonly cooldownMs: number;
  private openedAt = 0;
  private readonly metrics: BillerMetrics | undefined;

  constructor(private readonly options: HttpBillerOptions) {
    this.prefix = new URL(options.url).pathname.replace(/\/$/, '');
    this.auth = options.auth ?? 'hmac';
    this.cooldownMs = options.breakerCooldownMs ?? 10_000;
    const timeoutMs = options.timeoutMs ?? 1_500;
    // Not aborted on return: the answer is read in full by then, and an abort per call (a
    // DOMException with its stack, undici's abort listeners) was a visible share of the gateway's
    // CPU per payment under load (--cpu-prof, simulator/BENCHMARKS.md).
    const callTimeout = timeout(timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    this.breaker = circuitBreaker(handleWhen((e) => isFault(e)), {
      halfOpenAfter: this.cooldownMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    });
    const readRetry = retry(handleWhen((e) => isFault(e)), {
      maxAttempts: Math.max(0, (options.readAttempts ?? 3) - 1),
      backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
    });
    this.reads = wrap(readRetry, this.breaker, callTimeout);
    this.postings = wrap(this.breaker, callTimeout);
    this.metrics = options.registry === undefined ? undefined : new BillerMetrics(options.registry);
    this.metrics?.breaker.set(BreakerGauge.closed);
    this.breaker.onBreak(() => {
      this.openedAt = performance.now();
      this.metrics?.breaker.set(BreakerGauge.open);
      options.logger?.warn({ cooldownMs: this.cooldownMs }, 'biller breaker open: calls fail fast until a probe succeeds');
    });
    this.breaker.onHalfOpen(() => this.metrics?.breaker.set(BreakerGauge.half_open));
    this.breaker.onReset(() => {
      this.metrics?.breaker.set(BreakerGauge.closed);
      options.logger?.info('biller breaker closed: the biller answers again');
    });
  }

  /**
   * False while the breaker is open and its cool-down has not passed: a call now would fail fast.
   * Once the cool-down has passed the next call is the probe, so this says true again.
   */
  available(): boolean {
    if (this.breaker.state !== CircuitState.Open) return true;
    return performance.now() - this.openedAt >= this.cooldownMs;
  }

  async lookup(account: string): Promise<BillingAccount | null> {
    const answer = await this.call('lookup', this.reads, 'GET', `/v1/accounts/${encodeURIComponent(account)}`);
    if (answer.status === 404 && answer.error?.code === ApiErrorCode.ACCOUNT_NOT_FOUND) return null;
    const body = expect<ApiAccount>('lookup', answer, 200);
    return billingAccount(body);
  }

  async post(posting: Posting): Promise<PostingResult> {
    return this.book('post', posting.receipt, {
      kind: 'payment', account: posting.account, amountFen: posting.amountFen, at: posting.at, day: posting.day,
    });
  }

  async reverse(reversal: Reversal): Promise<PostingResult> {
    return this.book('reverse', reversal.receipt, {
      kind: 'reversal', account: reversal.account, amountFen: reversal.amountFen, original: reversal.originalReceipt, at: reversal.at, day: reversal.day,
    });
  }

  /** What the biller decided under a receipt; null when it holds nothing (never reached it). Receipts are indexed on their own there: the account is not needed. */
  async posting(receipt: string, _account?: string): Promise<BookedPosting | null> {
    const answer = await this.call('posting', this.reads, 'GET', `/v1/postings/${encodeURIComponent(receipt)}`);
    if (answer.status === 404 && answer.error?.code === ApiErrorCode.POSTING_NOT_FOUND) return null;
    return bookedPosting(expect<ApiPosting>('posting', answer, 200));
  }

  /** The biller's postings file of one day (CSV, API.md "The day's postings file"), as text. */
  async dayPostingsFile(day: number): Promise<string> {
    const answer = await this.call('day_postings', this.reads, 'GET', `/v1/postings?day=${day}`);
    if (answer.status !== 200) expect('day_postings', answer, 200);
    return answer.text;
  }

  /** The day's postings file, read; a file that does not read is a bad response, never half taken. */
  async dayPostings(day: number): Promise<DayPosting[]> {
    const { postings, errors } = parsePostingsFile(await this.dayPostingsFile(day));
    if (errors.length > 0) throw new BillerError(BillerErrorCode.BAD_RESPONSE, 'day_postings', `the postings file does not read: ${errors[0]}`, true);
    return postings;
  }

  private async book(operation: Operation, receipt: string, request: ApiPostingRequest): Promise<PostingResult> {
    const answer = await this.call(operation, this.postings, 'PUT', `/v1/postings/${encodeURIComponent(receipt)}`, JSON.stringify(request));
    if (answer.status === 409 && answer.error?.code === ApiErrorCode.RECEIPT_CONFLICT) {
      throw new BillerError(BillerErrorCode.CONFLICT, operation, answer.error.message, true, { status: 409 });
    }
    const body = answer.status === 201 ? expect<ApiPosting>(operation, answer, 201) : expect<ApiPosting>(operation, answer, 200);
    return postingResult(body);
  }

  /** One API call through a policy, measured; every failure leaves as a BillerError. */
  private async call(operation: Operation, policy: IPolicy, method: string, path: string, body = ''): Promise<Answer> {
    const started = performance.now();
    try {
      const answer = await policy.execute(({ signal }) => this.send(operation, method, path, body, signal));
      this.metrics?.calls.inc({ operation, outcome: 'ok' });
      return answer;
    } catch (error) {
      const failure = asBillerError(operation, error);
      this.metrics?.calls.inc({ operation, outcome: failure.code });
      this.options.logger?.warn({ operation, code: failure.code, status: failure.status }, 'biller call failed');
      throw failure;
    } finally {
      this.metrics?.duration.observe({ operation }, (performance.now() - started) / 1000);
    }
  }

  private async send(operation: Operation, method: string, path: string, body: string, signal: AbortSignal): Promise<Answer> {
    const fullPath = `${this.prefix}${path}`;
    const headers: Record<string, string> = {};
    if (body !== '') headers['content-type'] = 'application/json';
    if (this.options.secret !== null) Object.assign(headers, authHeaders(this.auth, this.options.secret, method, fullPath, body, Date.now()));
    let response;
    try {
      response = await this.options.pool.request({ method: method as 'GET', path: fullPath, headers, body: body === '' ? null : body, signal });
    } catch (error) {
      if (signal.aborted) throw error; // the timeout's own error says it better
      throw new BillerError(BillerErrorCode.CONNECTION, operation, `no connection: ${(error as { code?: string }).code ?? (error as Error).message}`, true, { cause: error });
    }
    const text = await response.body.text();
    const status = response.statusCode;
    if (status >= 500) {
      throw new BillerError(BillerErrorCode.UNAVAILABLE, operation, `the biller answered ${status}`, true, { status });
    }
    if (status === 401) throw new BillerError(BillerErrorCode.AUTH, operation, `refused: ${errorOf(text)?.code ?? 401}`, true, { status });
    return { status, text, error: status >= 400 ? errorOf(text) : null };
  }
}

interface Answer {
  status: number;
  text: string;
  error: ApiError | null;
}

function isFault(error: unknown): boolean {
  return error instanceof TaskCancelledError || (error instanceof BillerError && error.isFault);
}

function asBillerError(operation: string, error: unknown): BillerError {
  if (error instanceof BillerError) return error;
  if (error instanceof BrokenCircuitError) return new BillerError(BillerErrorCode.CIRCUIT_OPEN, operation, 'breaker open: not sent', false);
  if (error instanceof TaskCancelledError) return new BillerError(BillerErrorCode.TIMEOUT, operation, 'no answer in time', true);
  return new BillerError(BillerErrorCode.BAD_RESPONSE, operation, (error as Error).message ?? String(error), true, { cause: error });
}

function errorOf(text: string): ApiError | null {
  try {
    const value = JSON.parse(text) as ApiError;
    return typeof value?.code === 'string' ? value : null;
  } catch {
    return null;
  }
}

function expect<T>(operation: string, answer: Answer, status: number): T {
  if (answer.status !== status) {
    throw new BillerError(BillerErrorCode.BAD_RESPONSE, operation, `unexpected ${answer.status} ${answer.error?.code ?? ''}`.trim(), true, { status: answer.status });
  }
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new BillerError(BillerErrorCode.BAD_RESPONSE, operation, 'the body is not JSON', true, { status: answer.status });
  }
}

const DECLINES: Record<string, Result> = {
  UNKNOWN_ACCOUNT: ResultCode.UNKNOWN_ACCOUNT,
  ACCOUNT_CLOSED: ResultCode.ACCOUNT_CLOSED,
  OVERPAYMENT: ResultCode.OVERPAYMENT,
  ORIGINAL_NOT_FOUND: ResultCode.ORIGINAL_NOT_FOUND,
};

function postingResult(p: ApiPosting): PostingResult {
  if (p.status === 'booked') return { result: ResultCode.APPROVED, arrearsFen: p.arrearsFen, bills: p.bills };
  const result = DECLINES[p.reason ?? ''];
  if (result === undefined) throw new BillerError(BillerErrorCode.BAD_RESPONSE, 'posting', `unknown decline ${p.reason}`, true);
  return { result, arrearsFen: p.arrearsFen, bills: [] };
}

function bookedPosting(p: ApiPosting): BookedPosting {
  return {
    ...postingResult(p),
    receipt: p.receipt,
    account: p.account,
    kind: p.kind,
    amountFen: p.amountFen,
    original: p.original ?? '',
    at: Date.parse(p.bookedAt),
    day: p.day,
  };
}

/** The port's account; its arrears are derived from the bills, as the port says, and checked against the biller's figure. */
function billingAccount(a: ApiAccount): BillingAccount {
  const bills = a.bills.map((b) => ({ ...b })).sort(billOrder);
  if (arrearsOf(bills) !== a.arrearsFen) {
    throw new BillerError(BillerErrorCode.BAD_RESPONSE, 'lookup', `account ${a.account}: arrears ${a.arrearsFen} are not its bills' ${arrearsOf(bills)}`, true);
  }
  return { account: a.account, holderName: a.name, status: a.status, arrearsFen: a.arrearsFen, bills };
}
