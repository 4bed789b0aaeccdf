/**
 * A terminal that behaves like field firmware on a flaky GPRS link:
 * - signs in (fresh nonce, session key), jumping past the gateway's lastSeq when told REPLAY and
 *   setting its clock when told CLOCK_SKEW, by an answer MACed with the refusal key only;
 * - heartbeats while idle;
 * - sends one request at a time and waits for its answer with a timeout;
 * - keeps every PAY and CORRECT in flash until it has a final answer, retransmitting it with the
 *   same sequence number and the RETRANSMIT flag (reconnecting and signing in again if the link
 *   died), with exponential backoff; SYSTEM_BUSY and IN_PROGRESS mean "the same seq, later";
 * - when a retransmission is answered REPLAY (the gateway never saw the original), asks STATUS and,
 *   once the gateway says it has no such transaction, sends it again under a new number;
 * - signs in again when told NOT_SIGNED_IN, SESSION_REPLACED or BAD_MAC, or on a NOTICE, except
 *   NOTICE TERMINAL_DISABLED: then it stops, as a refused sign-in does.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Flag,
  MessageType,
  NoticeReason,
  PowerSource,
  PrinterState,
  RESULT_NAME,
  ResultCode,
  TransactionState,
  decodePayload,
  deriveRefusalKey,
  deriveSessionKey,
  encodeFrame,
  encodePayload,
  hasZeroMac,
  responseTypeOf,
  verifyMac,
  type Frame,
  type InquiryResponse,
  type MessageMap,
  type Notice,
  type PayResponse,
  type SettleResponse,
  type SignInResponse,
  type StatusResponse,
  type TerminalHealth,
} from '../../protocol/index.js';
import { createRandom, type Random } from '../link/prng.js';
import { Line } from './line.js';
import { dayTotals, type PendingTransaction, type ReceiptRecord, type StateStore, type TerminalState } from './state.js';

export interface TerminalOptions {
  terminalId: string;
  /** The provisioned terminal key Kt (32 bytes). */
  key: Buffer;
  /** Where to connect: the gateway, or the link emulator in front of it. */
  gateway: { host: string; port: number };
  store: StateStore;
  /** How long to wait for one answer before the link is presumed dead. Default 5000. */
  responseTimeoutMs?: number;
  /** Give up on a request after this long; a transaction stays in flash for later. Default 60000. */
  requestDeadlineMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  /**
   * After losing a connection, wait a random time up to this before reconnecting, so that a
   * cell's terminals do not all come back in the same second after an outage. Default 0.
   */
  reconnectSpreadMs?: number;
  /** Heartbeat interval; default: what the gateway announces at sign-in. 0 disables heartbeats. */
  heartbeatSec?: number;
  firmware?: string;
  /** What its heartbeats report (PROTOCOL.md §3.2); default DEFAULT_HEALTH. */
  health?: TerminalHealth;
  /** Jitter of the backoff, seeded for reproducible runs. */
  random?: Random;
  onEvent?: (event: TerminalEvent) => void;
}

/** A terminal on mains with a fair signal (CSQ 20, about -73 dBm), a full battery and paper. */
export const DEFAULT_HEALTH: Readonly<TerminalHealth> = Object.freeze({ signal: 20, power: PowerSource.MAINS, battery: 100, printer: PrinterState.OK });

export type TerminalEvent =
  | { kind: 'connected' }
  | { kind: 'signed-in'; seq: number; businessDay: number }
  | { kind: 'timeout'; seq: number; type: number }
  | { kind: 'retransmit'; seq: number; type: number }
  | { kind: 'reissue'; seq: number; newSeq: number }
  | { kind: 'heartbeat'; code: number }
  | { kind: 'disconnected' }
  | { kind: 'notice'; reason: number; retryAfterSec: number };

/** A final answer from the gateway. */
export interface Answer<T> {
  code: number;
  name: string;
  seq: number;
  response: T;
  /** Frames sent for it (1 when the first one was answered). */
  attempts: number;
  /** From the first send to the final answer, retries included. */
  latencyMs: number;
}

/** The gateway refused the sign-in for good (unknown or disabled terminal, bad key, ...). */
export class SignInRefused extends Error {
  readonly code = 'ERR_SIGN_IN_REFUSED';
  constructor(readonly result: number) {
    super(`sign-in refused: ${RESULT_NAME.get(result) ?? result}`);
    this.name = 'SignInRefused';
  }
}

/** No final answer before the request's deadline: the gateway is unreachable or not answering. */
export class GatewayUnreachable extends Error {
  readonly code = 'ERR_UNREACHABLE';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayUnreachable';
  }
}

interface Session {
  line: Line;
  /** Ks; null while connected but not (or no longer) signed in. */
  key: Buffer | null;
  signIn: SignInResponse | null;
}

/** Result codes that say "your session is gone": sign in again and repeat. */
const SESSION_LOST: ReadonlySet<number> = new Set([ResultCode.NOT_SIGNED_IN, ResultCode.SESSION_REPLACED, ResultCode.BAD_MAC]);
/** Result codes that say "the same request, later". */
const TRY_LATER: ReadonlySet<number> = new Set([ResultCode.SYSTEM_BUSY, ResultCode.IN_PROGRESS]);

export class Terminal {
  readonly terminalId: string;
  private readonly options: Required<Omit<TerminalOptions, 'heartbeatSec' | 'onEvent' | 'random'>> &
    Pick<TerminalOptions, 'heartbeatSec' | 'onEvent'>;
  private readonly random: Random;
  private state: TerminalState;
  /** The flash's receipt list by receipt: a busy terminal holds thousands, looked up per payment. */
  private readonly receiptsByNumber: Map<string, ReceiptRecord>;
  private session: Session | null = null;
  /** Server time minus local time, learned at sign-in: the terminal's clock setting. */
  private clockOffsetMs = 0;
  /** Requests run one at a time, heartbeats included. */
  private queue: Promise<unknown> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** A connection was lost since the last reconnect: the next one waits its spread first. */
  private lostConnection = false;
  /** After NOTICE TERMINAL_DISABLED: no sign-in before this time (epoch ms); requests are refused. */
  private disabledUntil = 0;
  /** The business day of the last sign-in: what settle reports on. */
  businessDay = 0;
  /** Who this terminal belongs to, from the last approved sign-in: the receipt's header (PROTOCOL.md §7.7). */
  merchant: { kind: number; name: string } = { kind: 0, name: '' };

  constructor(options: TerminalOptions) {
    this.terminalId = options.terminalId;
    this.options = {
      responseTimeoutMs: 5000,
      requestDeadlineMs: 60_000,
      backoff: { baseMs: 250, maxMs: 8000 },
      reconnectSpreadMs: 0,
      firmware: 'SIM-1.0',
      health: DEFAULT_HEALTH,
      ...options,
    };
    this.random = options.random ?? createRandom(Date.now());
    this.state = options.store.load();
    this.receiptsByNumber = new Map(this.state.receipts.map((r) => [r.receipt, r]));
  }

  /** The terminal's clock (epoch ms), set from the gateway's at sign-in: what its receipts print. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** A snapshot of the flash contents. */
  get snapshot(): TerminalState {
    return structuredClone(this.state);
  }

  get signedIn(): boolean {
    return this.session?.key != null && !this.session.line.closed;
  }

  /** Signs in (again, if already signed in) and returns the gateway's answer. */
  signIn(): Promise<Answer<SignInResponse>> {
    return this.serialize(async () => {
      this.dropSession();
      const started = performance.now();
      const session = await this.ensureSession(this.deadline());
      const signIn = session.signIn!;
      return { code: signIn.result, name: nameOf(signIn.result), seq: this.state.nextSeq - 1, response: signIn, attempts: 1, latencyMs: performance.now() - started };
    });
  }

  inquiry(account: string, options: { seq?: number } = {}): Promise<Answer<InquiryResponse>> {
    return this.serialize(() =>
      this.query(MessageType.INQUIRY, encodePayload(MessageType.INQUIRY, { account }), options.seq),
    ) as Promise<Answer<InquiryResponse>>;
  }

  pay(account: string, amountFen: number, options: { seq?: number } = {}): Promise<Answer<PayResponse>> {
    return this.serialize(async () => {
      const deadline = this.deadline();
      await this.ensureSession(deadline);
      return this.transact({ seq: this.allocateSeq(options.seq), type: MessageType.PAY, account, amountFen }, options.seq !== undefined, false, deadline);
    });
  }

  correct(receipt: string, account: string, amountFen: number, options: { seq?: number } = {}): Promise<Answer<PayResponse>> {
    return this.serialize(async () => {
      const deadline = this.deadline();
      await this.ensureSession(deadline);
      return this.transact(
        { seq: this.allocateSeq(options.seq), type: MessageType.CORRECT, account, amountFen, original: receipt },
        options.seq !== undefined,
        false,
        deadline,
      );
    });
  }

  status(querySeq: number, options: { seq?: number } = {}): Promise<Answer<StatusResponse>> {
    return this.serialize(() =>
      this.query(MessageType.STATUS, encodePayload(MessageType.STATUS, { querySeq }), options.seq),
    ) as Promise<Answer<StatusResponse>>;
  }

  /** Sends the terminal's own totals for the business day (default: today's, from sign-in). */
  settle(options: { businessDay?: number; seq?: number } = {}): Promise<Answer<SettleResponse>> {
    return this.serialize(async () => {
      if (options.businessDay === undefined) await this.ensureSession(this.deadline());
      const totals = dayTotals(this.state, options.businessDay ?? this.businessDay);
      return this.query(MessageType.SETTLE, encodePayload(MessageType.SETTLE, totals), options.seq);
    }) as Promise<Answer<SettleResponse>>;
  }

  heartbeat(): Promise<Answer<unknown>> {
    return this.serialize(() => this.query(MessageType.HEARTBEAT, encodePayload(MessageType.HEARTBEAT, this.options.health)));
  }

  /** Finishes the transactions left in flash by an earlier run (what firmware does at boot). */
  resumePending(deadlineMs = this.options.requestDeadlineMs): Promise<Array<Answer<PayResponse>>> {
    return this.serialize(async () => {
      const answers: Array<Answer<PayResponse>> = [];
      for (const pending of [...this.state.pending]) {
        answers.push(await this.transact(pending, false, true, Date.now() + deadlineMs));
      }
      return answers;
    });
  }

  /** The receipt record the terminal keeps for a payment it saw approved. */
  receipt(receipt: string): ReceiptRecord | undefined {
    return this.receiptsByNumber.get(receipt);
  }

  /** Drops the connection as a dead link would; the next request reconnects and signs in. */
  disconnect(): void {
    this.dropSession();
  }

  close(): void {
    this.closed = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.session?.line.close();
    this.session = null;
  }

  // --- transactions ---------------------------------------------------------------------------

  /**
   * PAY or CORRECT until a final answer. The pending record is in flash before the first send;
   * `resumed` marks one left by an earlier run, whose first frame here is already a retransmission.
   */
  private async transact(
    pending: PendingTransaction,
    seqForced: boolean,
    resumed = false,
    deadline = this.deadline(),
  ): Promise<Answer<PayResponse>> {
    if (!resumed) {
      this.state.pending.push(pending);
      this.save();
    }
    const started = performance.now();
    let attempts = 0;
    // A forced seq the terminal already used for a transaction repeats it: flag it as a retransmission.
    const repeat = seqForced && this.state.receipts.some((r) => r.seq === pending.seq);
    for (;;) {
      const payload =
        pending.type === MessageType.PAY
          ? encodePayload(MessageType.PAY, { account: pending.account, amountFen: pending.amountFen })
          : encodePayload(MessageType.CORRECT, { receipt: pending.original!, account: pending.account, amountFen: pending.amountFen });
      const sent = await this.exchange(pending.type, payload, pending.seq, true, deadline, resumed || repeat || attempts > 0);
      attempts += sent.attempts;
      let response = decodePayload(responseTypeOf(pending.type) as typeof MessageType.PAY_RESPONSE, sent.frame.payload);
      if (sent.frame.type === MessageType.REJECT || !(response.result === ResultCode.REPLAY && sent.retransmitted && !seqForced)) {
        return this.finish(pending, response, attempts, started);
      }
      // The gateway does not hold this seq as our request: ask what it knows of it.
      const known = await this.learnStatus(pending.seq, deadline);
      if (known) {
        response = known;
        return this.finish(pending, response, attempts, started);
      }
      // Never applied, and it cannot be any more (its number is behind the gateway's): send it
      // again as a new transaction.
      const newSeq = this.allocateSeq();
      this.options.onEvent?.({ kind: 'reissue', seq: pending.seq, newSeq });
      pending.seq = newSeq;
      resumed = false;
      this.save();
    }
  }

  /** STATUS of a transaction: its stored answer, or null when the gateway has none. */
  private async learnStatus(querySeq: number, deadline: number): Promise<PayResponse | null> {
    let failures = 0;
    for (;;) {
      const answer = await this.query(MessageType.STATUS, encodePayload(MessageType.STATUS, { querySeq }), undefined, deadline);
      const status = answer.response as StatusResponse;
      if (answer.code === ResultCode.APPROVED && status.state === TransactionState.ANSWERED) {
        return decodePayload(status.originalType as typeof MessageType.PAY_RESPONSE, status.originalPayload);
      }
      if (answer.code === ResultCode.APPROVED && status.state === TransactionState.NOT_FOUND) return null;
      await this.backoff(failures++, deadline);
    }
  }

  private finish(pending: PendingTransaction, response: PayResponse, attempts: number, started: number): Answer<PayResponse> {
    this.state.pending = this.state.pending.filter((p) => p !== pending && p.seq !== pending.seq);
    if (response.result === ResultCode.APPROVED && !this.receiptsByNumber.has(response.receipt)) {
      const record: ReceiptRecord = {
        receipt: response.receipt,
        seq: pending.seq,
        kind: pending.type === MessageType.PAY ? 'pay' : 'correct',
        account: pending.account,
        amountFen: pending.amountFen,
        businessDay: response.businessDay,
        ...(pending.original ? { original: pending.original } : {}),
      };
      this.state.receipts.push(record);
      this.receiptsByNumber.set(record.receipt, record);
    }
    this.save();
    return { code: response.result, name: nameOf(response.result), seq: pending.seq, response, attempts, latencyMs: performance.now() - started };
  }

  // --- reads ------------------------------------------------------------------------------------

  /** A request that changes nothing: on a lost answer it is simply asked again under a new number. */
  private async query(type: number, payload: Buffer, forcedSeq?: number, deadline = this.deadline()): Promise<Answer<unknown>> {
    const started = performance.now();
    // Signed in first, so that the sign-in's own number does not overtake this request's.
    await this.ensureSession(deadline);
    const sent = await this.exchange(type, payload, this.allocateSeq(forcedSeq), false, deadline, false);
    const response =
      sent.frame.type === MessageType.REJECT
        ? decodePayload(MessageType.REJECT, sent.frame.payload)
        : decodePayload(sent.frame.type as keyof MessageMap, sent.frame.payload);
    const code = (response as { result: number }).result;
    return { code, name: nameOf(code), seq: sent.seq, response, attempts: sent.attempts, latencyMs: performance.now() - started };
  }

  // --- the exchange of one request --------------------------------------------------------------

  /**
   * Sends the request and waits for a final answer: through timeouts, dead links, lost sessions,
   * SYSTEM_BUSY and IN_PROGRESS. A transaction is repeated under the same seq with RETRANSMIT set;
   * a read is asked again under a fresh seq.
   */
  private async exchange(
    type: number,
    payload: Buffer,
    seq: number,
    transaction: boolean,
    deadline: number,
    alreadySent: boolean,
  ): Promise<{ frame: Frame; seq: number; attempts: number; retransmitted: boolean }> {
    let attempts = 0;
    let failures = 0;
    let retransmitted = false;
    for (;;) {
      if (this.closed) throw new GatewayUnreachable('terminal closed');
      if (Date.now() > deadline) throw new GatewayUnreachable(`no answer to seq ${seq} before the deadline`);
      const session = await this.ensureSession(deadline);
      if (!transaction && attempts > 0) seq = this.allocateSeq();
      retransmitted = transaction && (attempts > 0 || alreadySent);
      if (retransmitted) this.options.onEvent?.({ kind: 'retransmit', seq, type });
      attempts += 1;
      const frame = encodeFrame(
        { type, flags: retransmitted ? Flag.RETRANSMIT : 0, terminalId: this.terminalId, seq, timestamp: this.clock() },
        payload,
        session.key,
      );
      session.line.send(frame);
      const outcome = await session.line.wait(seq, responseTypeOf(type), this.waitFor(deadline));
      if (outcome === 'timeout') {
        // No answer in time: on GPRS that usually means a dead or silent link. Start over.
        this.options.onEvent?.({ kind: 'timeout', seq, type });
        this.dropSession();
        await this.backoff(failures++, deadline);
        continue;
      }
      if (outcome === 'closed') {
        await this.afterClose(session, failures++, deadline);
        continue;
      }
      const code = outcome.payload[0] ?? -1;
      const authentic = verifyMac(outcome, session.key!);
      if (!authentic && !hasZeroMac(outcome)) {
        // Not from our gateway's session: ignore it and treat the link as suspect.
        this.dropSession();
        await this.backoff(failures++, deadline);
        continue;
      }
      if (SESSION_LOST.has(code)) {
        session.key = null;
        if (failures > 0) await this.backoff(failures, deadline);
        failures += 1;
        continue;
      }
      if (TRY_LATER.has(code)) {
        await this.backoff(failures++, deadline);
        continue;
      }
      if (code === ResultCode.SEQ_OUT_OF_RANGE && !transaction) {
        // Our counter ran too far ahead: the next sign-in's answer says where the gateway is.
        session.key = null;
        failures += 1;
        continue;
      }
      if (code === ResultCode.CLOCK_SKEW) {
        // Our clock is off: a new sign-in tells us the server time.
        session.key = null;
        failures += 1;
        continue;
      }
      if (!authentic && (transaction || code === ResultCode.APPROVED)) {
        // An unauthenticated answer is advisory (PROTOCOL.md §5.3): it never ends a PAY or
        // CORRECT, or a forged FLOAT_SHORT to an applied payment makes the clerk take the cash
        // again. Treat it as lost: retransmit, and the stored answer or STATUS tells the outcome.
        this.dropSession();
        await this.backoff(failures++, deadline);
        continue;
      }
      this.scheduleHeartbeat();
      return { frame: outcome, seq, attempts, retransmitted };
    }
  }

  // --- sign-in and the connection ---------------------------------------------------------------

  private async ensureSession(deadline: number): Promise<Session> {
    let failures = 0;
    for (;;) {
      if (this.closed) throw new GatewayUnreachable('terminal closed');
      if (Date.now() < this.disabledUntil) throw new SignInRefused(ResultCode.TERMINAL_DISABLED);
      const current = this.session;
      if (current && current.key && !current.line.closed) return current;
      if (Date.now() > deadline) throw new GatewayUnreachable('could not sign in before the deadline');
      let session = current && !current.line.closed ? current : null;
      if (!session) {
        if (this.lostConnection && this.options.reconnectSpreadMs > 0) {
          this.lostConnection = false;
          await sleep(Math.min(this.random.next() * this.options.reconnectSpreadMs, Math.max(0, deadline - Date.now())));
        }
        try {
          const { host, port } = this.options.gateway;
          session = { line: await Line.open(host, port, this.waitFor(deadline), (line) => this.lineClosed(line)), key: null, signIn: null };
          this.session = session;
          this.options.onEvent?.({ kind: 'connected' });
        } catch {
          await this.backoff(failures++, deadline);
          continue;
        }
      }
      const seq = this.allocateSeq();
      const nonce = randomBytes(16);
      const request = encodePayload(MessageType.SIGN_IN, { nonce, firmware: this.options.firmware });
      session.line.send(encodeFrame({ type: MessageType.SIGN_IN, terminalId: this.terminalId, seq, timestamp: this.clock() }, request, this.options.key));
      const outcome = await session.line.wait(seq, MessageType.SIGN_IN_RESPONSE, this.waitFor(deadline));
      if (outcome === 'timeout') {
        this.dropSession();
        await this.backoff(failures++, deadline);
        continue;
      }
      if (outcome === 'closed') {
        await this.afterClose(session, failures++, deadline);
        continue;
      }
      if (outcome.type === MessageType.REJECT) throw new SignInRefused(outcome.payload[0] ?? -1);
      const answer = decodePayload(MessageType.SIGN_IN_RESPONSE, outcome.payload);
      // A refusal is the gateway's word only when MACed with the refusal key (PROTOCOL.md §5.4):
      // anyone on the carrier's network can send the rest, so no lastSeq or serverTime is taken
      // from it and it stops nothing; the sign-in is tried again, as after a lost answer (§9.7).
      if (answer.result !== ResultCode.APPROVED && !verifyMac(outcome, deriveRefusalKey(this.options.key, this.terminalId, nonce))) {
        if (answer.result === ResultCode.UNKNOWN_TERMINAL || answer.result === ResultCode.BAD_FORMAT) {
          // Never authenticated (the gateway could not verify the request): shown, not retried here.
          this.dropSession();
          throw new SignInRefused(answer.result);
        }
        this.dropSession();
        await this.backoff(failures++, deadline);
        continue;
      }
      switch (answer.result) {
        case ResultCode.APPROVED: {
          const key = deriveSessionKey(this.options.key, this.terminalId, nonce, answer.nonce);
          if (!verifyMac(outcome, key)) {
            // Someone else's approval, or a different key at the gateway: do not trust it.
            this.dropSession();
            await this.backoff(failures++, deadline);
            continue;
          }
          session.key = key;
          session.signIn = answer;
          this.clockOffsetMs = answer.serverTime * 1000 - Date.now();
          this.businessDay = answer.businessDay;
          this.merchant = { kind: answer.merchantKind, name: answer.merchantName };
          this.options.onEvent?.({ kind: 'signed-in', seq, businessDay: answer.businessDay });
          this.scheduleHeartbeat();
          return session;
        }
        case ResultCode.REPLAY:
          // Our counter is behind the gateway's (flash lost or restored): jump past it.
          this.state.nextSeq = Math.max(this.state.nextSeq, answer.lastSeq + 1);
          this.save();
          if (failures++ > 3) await this.backoff(failures, deadline);
          continue;
        case ResultCode.SEQ_OUT_OF_RANGE:
          // Our counter is too far ahead of the gateway's (§6.1): continue right above its mark.
          this.state.nextSeq = answer.lastSeq + 1;
          this.save();
          if (failures++ > 3) await this.backoff(failures, deadline);
          continue;
        case ResultCode.CLOCK_SKEW:
          this.clockOffsetMs = answer.serverTime * 1000 - Date.now();
          if (failures++ > 3) await this.backoff(failures, deadline);
          continue;
        case ResultCode.SYSTEM_BUSY:
          await this.backoff(failures++, deadline);
          continue;
        default:
          this.dropSession();
          throw new SignInRefused(answer.result);
      }
    }
  }

  /** The connection is gone, in the middle of a request or while idle: forget its session. */
  private lineClosed(line: Line): void {
    const key = this.session?.line === line ? this.session.key : null;
    if (this.session?.line === line) this.session = null;
    this.lostConnection = true;
    const notice = believedNotice(line, key);
    if (notice) {
      this.heedDisabled(notice);
      this.options.onEvent?.({ kind: 'notice', reason: notice.reason, retryAfterSec: notice.retryAfterSec });
    }
    this.options.onEvent?.({ kind: 'disconnected' });
  }

  /**
   * The gateway closed during a request: honour its NOTICE's retry delay, if any, else back off.
   * A disabled terminal (NOTICE TERMINAL_DISABLED) instead stops at the next sign-in attempt,
   * which ensureSession refuses until the notice's delay has passed (PROTOCOL.md §3.9); the
   * request stays unfinished in flash.
   */
  private async afterClose(session: Session, failures: number, deadline: number): Promise<void> {
    const notice = believedNotice(session.line, session.key);
    if (this.session === session) this.session = null;
    if (notice && this.heedDisabled(notice)) return;
    if (notice) {
      if (notice.retryAfterSec > 0) {
        await sleep(Math.min(notice.retryAfterSec * 1000, Math.max(0, deadline - Date.now())));
        return;
      }
    }
    await this.backoff(failures, deadline);
  }

  /** NOTICE TERMINAL_DISABLED: no sign-in for its retry delay. True when the notice was that. */
  private heedDisabled(notice: HeardNotice): boolean {
    if (notice.reason !== NoticeReason.TERMINAL_DISABLED || !notice.authenticated) return false;
    this.disabledUntil = Math.max(this.disabledUntil, Date.now() + notice.retryAfterSec * 1000);
    return true;
  }

  private dropSession(): void {
    if (!this.session) return;
    this.session.line.close();
    this.session = null;
  }

  /** Exponential backoff with jitter, so a cell full of terminals does not reconnect in step. */
  private async backoff(failures: number, deadline: number): Promise<void> {
    const { baseMs, maxMs } = this.options.backoff;
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 16));
    const delay = ceiling / 2 + this.random.next() * (ceiling / 2);
    await sleep(Math.max(0, Math.min(delay, deadline - Date.now())));
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const seconds = this.options.heartbeatSec ?? this.session?.signIn?.heartbeatSec ?? 0;
    if (seconds <= 0 || this.closed) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      if (!this.signedIn) return;
      this.heartbeat().then(
        (answer) => this.options.onEvent?.({ kind: 'heartbeat', code: answer.code }),
        () => this.dropSession(),
      );
    }, seconds * 1000);
    this.heartbeatTimer.unref();
  }

  // --- flash ------------------------------------------------------------------------------------

  /** The next sequence number, saved before it goes on the wire. */
  private allocateSeq(forced?: number): number {
    const seq = forced ?? this.state.nextSeq;
    this.state.nextSeq = Math.max(this.state.nextSeq, seq + 1);
    this.save();
    return seq;
  }

  private save(): void {
    this.options.store.save(this.state);
  }

  private clock(): number {
    return Math.floor((Date.now() + this.clockOffsetMs) / 1000);
  }

  /** The answer timeout, cut short by the request's deadline. */
  private waitFor(deadline: number): number {
    return Math.max(1, Math.min(this.options.responseTimeoutMs, deadline - Date.now()));
  }

  private deadline(): number {
    return Date.now() + this.options.requestDeadlineMs;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function nameOf(code: number): string {
  return RESULT_NAME.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`;
}

/** The longest wait an unauthenticated NOTICE can impose (PROTOCOL.md §9.5). */
export const UNAUTHENTICATED_NOTICE_MAX_SEC = 60;

/** A NOTICE as the terminal heard it: `authenticated` when the session's key MACed it. */
interface HeardNotice extends Notice {
  authenticated: boolean;
}

/**
 * The NOTICE a line got before it closed, as far as it can be believed: one MACed with the
 * session key is the gateway's word; any other (before sign-in, or forged on the carrier's
 * network) only closes the connection, with its delay capped, so a forged TERMINAL_DISABLED cannot
 * silence a terminal for 65,535 s.
 */
function believedNotice(line: Line, sessionKey: Buffer | null): HeardNotice | null {
  const { notice, noticeFrame } = line;
  if (notice === null || noticeFrame === null) return null;
  if (sessionKey !== null && verifyMac(noticeFrame, sessionKey)) return { ...notice, authenticated: true };
  return { reason: notice.reason, retryAfterSec: Math.min(notice.retryAfterSec, UNAUTHENTICATED_NOTICE_MAX_SEC), authenticated: false };
}
