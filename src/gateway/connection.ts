/**
 * One terminal connection: its frame decoder, its session once signed in, its flow control and
 * its timers. Frames are handled one at a time, in order; a terminal that sends more while one
 * is being handled has its socket paused until it is answered, so it cannot queue unbounded work
 * (firmware keeps one request in flight, and then never pays for a pause), and reading also
 * stops while the terminal has not taken our last write.
 *
 * Faults take one path, `close()`: it records the reason (the first one wins; the socket's close
 * logs and counts it once), sends a NOTICE when there is something to say, half-closes, and
 * destroys the socket after a short grace, so no socket lingers in CLOSE_WAIT.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  FrameDecoder,
  FrameError,
  FrameErrorCode,
  MESSAGE_TYPE_NAME,
  MessageType,
  NoticeReason,
  RESULT_NAME,
  ResultCode,
  emptyResponse,
  encodeFrame,
  encodePayload,
  requestFingerprint,
  responseTypeOf,
  verifyMac,
} from '../../protocol/index.js';
import type { Frame, MessageMap, TerminalHealth } from '../../protocol/index.js';
import { coalesceWrites } from '../coalesce-writes.js';
import { StoreUnavailableError } from '../core/types.js';
import { formatHealth } from '../store/health.js';
import type { KickReason } from '../store/kick.js';
import type { HeartbeatSeen, RequestContext, SessionStore, TransactionCore } from '../core/types.js';
import { maskedFrameHex } from '../log.js';
import type { CloseReason, Metrics } from '../metrics/index.js';
import { handlers, signIn } from './handlers/index.js';
import type { GatewayLimits } from './limits.js';
import { SessionState } from './session-state.js';

/** What a connection needs from its gateway. */
export interface ConnectionHost {
  readonly sessions: SessionStore;
  readonly core: TransactionCore;
  readonly instanceId: string;
  readonly limits: GatewayLimits;
  readonly sessionTtlSec: number;
  businessDayOf(epochMs: number): number;
  /** Closes the replaced session's connection, on whichever instance holds it. */
  kick(replaced: { instanceId: string; connectionId: string }): void;
  forget(connection: Connection): void;
  /** The connection's first sign-in was approved: it is no longer among the first to be evicted. */
  signedIn(connection: Connection): void;
  readonly metrics: Metrics | undefined;
}

interface Session {
  terminalId: string;
  merchantId: string;
  key: Buffer;
  /** Sequence numbers as this connection knows them (a heartbeat may be answered without Redis). */
  state: SessionState;
}

/** How long a closing socket may take to finish its FIN handshake before it is destroyed. */
const CLOSE_GRACE_MS = 2000;
/**
 * How long an unchanged health report may go unwritten: the fleet view's last contact is at most
 * this old for a terminal that is beating (its session says it is online meanwhile).
 */
const HEALTH_REFRESH_MS = 10_000;
/** Terminal id used on a NOTICE sent before any terminal has said who it is. */
const NO_TERMINAL = '00000000';
const RETRY_AFTER_SEC: Record<NoticeReason, number> = {
  [NoticeReason.SHUTTING_DOWN]: 1,
  [NoticeReason.SESSION_REPLACED]: 0,
  [NoticeReason.IDLE_TIMEOUT]: 0,
  [NoticeReason.TOO_MANY_BAD_FRAMES]: 30,
  // The result code TERMINAL_DISABLED's "no more often than every 10 minutes" (PROTOCOL.md §4).
  [NoticeReason.TERMINAL_DISABLED]: 600,
};
/**
 * What a refused sign-in counts as among bad frames (the metric's `code`, beside the frame error
 * codes): the frame was well formed, the request was not (PROTOCOL.md §8).
 */
const SIGN_IN_REFUSED = 'SIGN_IN_REFUSED';
/** A request other than SIGN_IN before sign-in, counted the same way. */
const NOT_SIGNED_IN = 'NOT_SIGNED_IN';
/** A request beyond the terminal's rate, counted the same way. */
const RATE_LIMITED = 'RATE_LIMITED';

/**
 * Socket listeners and timer callbacks are shared by every connection (the socket carries its
 * connection; a timer gets it as its argument): per-connection closures cost each idle
 * connection a few hundred bytes.
 */
const CONNECTION = Symbol('connection');
type ConnectionSocket = Socket & { [CONNECTION]: Connection };

function onSocketData(this: Socket, chunk: Buffer): void {
  (this as ConnectionSocket)[CONNECTION].onData(chunk);
}
function onSocketEnd(this: Socket): void {
  (this as ConnectionSocket)[CONNECTION].peerGone('peer_closed');
}
function onSocketError(this: Socket, err: NodeJS.ErrnoException): void {
  (this as ConnectionSocket)[CONNECTION].peerGone('socket_error', err);
}
function onSocketClose(this: Socket): void {
  (this as ConnectionSocket)[CONNECTION].onClose();
}
function closeAfterSignInTimeout(connection: Connection): void {
  connection.close('sign_in_timeout');
}
function closeAfterIdleTimeout(connection: Connection): void {
  connection.close('idle_timeout', NoticeReason.IDLE_TIMEOUT);
}
function destroySocket(socket: Socket): void {
  socket.destroy();
}

export class Connection {
  // Identity: unique across instances and restarts (instance, run, counter), and where the peer is.
  readonly id: string;
  readonly peer: string;
  readonly addressGroup: string;
  /**
   * The gateway's logger. Every line names the connection through line(), not a child logger:
   * a child costs each of tens of thousands of idle connections some 340 bytes of heap.
   */
  private readonly logger: Logger;

  // Decoding: one decoder for the byte stream, and the faults counted against it.
  private readonly decoder: FrameDecoder;
  private badFrames = 0;

  // Session: set by an approved sign-in; every later frame is MACed with its key.
  private session: Session | null = null;
  /**
   * What heartbeats showed of the terminal (writeHeartbeatSeen): true while a write is in flight,
   * and what came meanwhile (the highest mark, the latest health), merged and written next.
   */
  private writingHeartbeat = false;
  private heartbeatPending: HeartbeatSeen | null = null;
  /** The health last written, and when: an unchanged report is written again only after HEALTH_REFRESH_MS. */
  private healthWritten: { stored: string; at: number } | null = null;
  /** The terminal's request token bucket (limits.requestRatePerSec): tokens left, and when counted. */
  private tokens: number;
  private tokensAt: number;

  // Flow: frames decoded but not yet handled, the one being handled, and why reading is paused.
  // The queue is the decoder's own list while it has frames, and none otherwise: an idle
  // connection keeps no array of its own.
  private queue: Array<Frame | FrameError> | null = null;
  private inFlight: Promise<void> | null = null;
  private waitingForDrain = false;
  /** False once the gateway drains or the connection closes: no new request is started. */
  private accepting = true;
  private closing = false;
  /** Why the connection ended, as the metrics name it: set once, by whichever path came first. */
  closeReason: CloseReason | null = null;

  // Timers: the sign-in deadline until signed in, then the idle timeout refreshed by each frame.
  private timer: NodeJS.Timeout;
  private destroyTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: ConnectionHost,
    private readonly socket: Socket,
    id: string,
    logger: Logger,
    /**
     * The terminal's address (the socket's, or the one a PROXY header named) and its group
     * (limits.ts addressGroup), which per-address limits count under.
     */
    remote: { address: string; port: number; group: string },
  ) {
    this.id = id;
    this.peer = `${remote.address}:${remote.port}`;
    this.addressGroup = remote.group;
    this.logger = logger;
    this.decoder = new FrameDecoder({ maxFrameSize: host.limits.maxFrameSize });
    this.tokens = host.limits.requestBurst;
    this.tokensAt = 0;
    this.timer = setTimeout(closeAfterSignInTimeout, host.limits.signInTimeoutMs, this);

    socket.setNoDelay(true);
    socket.setKeepAlive(true, host.limits.heartbeatSec * 1000);
    (socket as ConnectionSocket)[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    if (this.logger.isLevelEnabled('debug')) this.logger.debug(this.line(), 'connected');
  }

  /** A log line's fields with this connection's id and peer in front. */
  private line(fields?: Record<string, unknown>): Record<string, unknown> {
    return { conn: this.id, peer: this.peer, ...fields };
  }

  /**
   * The peer half-closed or vanished (socket listener): nothing more can be said to it, so the
   * socket goes now.
   */
  peerGone(reason: 'peer_closed' | 'socket_error', err?: NodeJS.ErrnoException): void {
    if (err !== undefined) this.logger.debug(this.line({ code: err.code }), 'socket error');
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  get terminalId(): string | null {
    return this.session?.terminalId ?? null;
  }

  /** Another connection of the same terminal signed in, or an operator disabled it: this one is closed. */
  kick(reason: KickReason): void {
    if (reason === 'disabled') this.close('terminal_disabled', NoticeReason.TERMINAL_DISABLED);
    else this.close('session_replaced', NoticeReason.SESSION_REPLACED);
  }

  /** Gateway drain: start no new request; resolves once the request in flight (if any) is answered. */
  stopAccepting(): Promise<void> {
    this.accepting = false;
    this.queue = null;
    this.socket.pause();
    return this.inFlight ?? Promise.resolve();
  }

  /** The one way the gateway ends a connection: the first reason given is the one reported. */
  close(reason: CloseReason, notice?: NoticeReason): void {
    if (this.closing) return;
    this.closing = true;
    this.accepting = false;
    this.closeReason ??= reason;
    this.queue = null;
    clearTimeout(this.timer);
    if (notice !== undefined && this.socket.writable) {
      const bytes = this.frame(MessageType.NOTICE, this.session?.terminalId ?? NO_TERMINAL, 0,
        encodePayload(MessageType.NOTICE, { reason: notice, retryAfterSec: RETRY_AFTER_SEC[notice] }),
        this.session?.key ?? null);
      this.socket.end(bytes);
    } else {
      this.socket.end();
    }
    // Read on, discarding (onData takes nothing once closing), so the terminal's FIN is seen at
    // once: a paused socket with unread bytes never emits 'end', lingers until the grace runs
    // out, and is then reset rather than closed.
    this.socket.resume();
    this.destroyTimer = setTimeout(destroySocket, CLOSE_GRACE_MS, this.socket);
    this.destroyTimer.unref();
  }

  /** Closes at once, without a word: the drain deadline has passed. */
  destroy(): void {
    this.closeReason ??= 'drain';
    this.socket.destroy();
  }

  /** Bytes from the terminal (socket listener). */
  onData(chunk: Buffer): void {
    if (!this.accepting) return;
    const items = this.decoder.push(chunk);
    if (this.queue === null) this.queue = items;
    else for (const item of items) this.queue.push(item);
    if (this.inFlight === null) {
      if (this.queue.length > 0) this.inFlight = this.work();
      else this.queue = null;
    } else {
      // The terminal sent more while a request is being handled: read no further until it is
      // answered, so what one terminal can queue is bounded by what it had already sent.
      this.socket.pause();
    }
  }

  private async work(): Promise<void> {
    try {
      for (let item = this.queue?.shift(); item !== undefined && this.accepting; item = this.queue?.shift()) {
        await this.process(item);
        if (this.waitingForDrain) await this.drained();
      }
    } finally {
      this.queue = null;
      this.inFlight = null;
      if (this.accepting && !this.waitingForDrain && this.socket.isPaused()) this.socket.resume();
    }
  }

  private async process(item: Frame | FrameError): Promise<void> {
    try {
      if (item instanceof FrameError) {
        this.onFrameError(item);
        return;
      }
      if (this.session !== null) this.timer.refresh();
      if (this.logger.isLevelEnabled('debug')) this.logger.debug(this.line({ frame: maskedFrameHex(item.raw) }), 'frame in');
      const started = performance.now();
      const { result, replayed } = await this.answer(item);
      this.report(item, result, started, replayed);
    } catch (err) {
      // A fault of ours, not the terminal's: the decoder's state is untouched, the process stays up.
      this.logger.error(this.line({ err }), 'frame handling failed');
      this.close('internal_error');
    }
  }

  /**
   * One log line and one metric per request answered. Before sign-in a refused request writes no
   * line of its own: the close line counts them (badFrames), one line per connection.
   */
  private report(frame: Frame, result: number, started: number, replayed: boolean): void {
    const seconds = (performance.now() - started) / 1000;
    this.host.metrics?.requestAnswered(frame.type, result, seconds, replayed);
    if (!this.logger.isLevelEnabled('info') || (this.session === null && !this.logger.isLevelEnabled('debug'))) return;
    // One object, not line(): this is the line every request writes.
    this.logger.info({
      conn: this.id,
      peer: this.peer,
      terminal: frame.terminalId,
      seq: frame.seq,
      type: MESSAGE_TYPE_NAME.get(frame.type),
      result: RESULT_NAME.get(result),
      ms: Math.round(seconds * 100_000) / 100,
      replayed,
    }, 'request');
  }

  private onFrameError(error: FrameError): void {
    // Before sign-in the peer may be anyone: its bad frames are summed up in the line the
    // connection's close writes, not logged one by one (a keyless flood would fill the disk).
    if (this.session !== null) this.logger.warn(this.line({ code: error.code, type: error.header?.type, seq: error.header?.seq }), 'bad frame');
    else if (this.logger.isLevelEnabled('debug')) this.logger.debug(this.line({ code: error.code, type: error.header?.type, seq: error.header?.seq }), 'bad frame');
    if (error.fatal) {
      this.host.metrics?.badFrame(error.code);
      this.close('fatal_frame');
      return;
    }
    // Answers to frames whose MAC was never checked carry a zero MAC (PROTOCOL.md §2).
    const header = error.header;
    if (header !== undefined && this.session === null && header.type !== MessageType.SIGN_IN) {
      this.refuseBeforeSignIn(header.type, header.terminalId, header.seq);
      return;
    }
    if (header !== undefined && error.code === FrameErrorCode.TYPE) {
      this.send(MessageType.REJECT, header.terminalId, header.seq,
        encodePayload(MessageType.REJECT, { result: ResultCode.UNSUPPORTED_TYPE }), null);
    } else if (header !== undefined && error.code === FrameErrorCode.PAYLOAD) {
      this.answerEmpty(responseTypeOf(header.type), header.terminalId, header.seq, ResultCode.BAD_FORMAT, null);
    }
    this.countBadFrame(error.code);
  }

  /** Sends the answer to one well-framed request and says what it was. */
  private async answer(frame: Frame): Promise<{ result: number; replayed: boolean }> {
    if (frame.type === MessageType.SIGN_IN) return { result: await this.signIn(frame), replayed: false };
    const handler = handlers.get(frame.type);
    const session = this.session;
    if (session === null) return this.refuseBeforeSignIn(frame.type, frame.terminalId, frame.seq);
    const refuse = (result: number, macKey: Buffer | null, badFrame?: FrameErrorCode) => {
      this.answerEmpty(handler?.responseType ?? MessageType.REJECT, frame.terminalId, frame.seq, result, macKey);
      if (badFrame !== undefined) this.countBadFrame(badFrame);
      return { result, replayed: false };
    };
    // A type the gateway does not serve (a response type sent back, say).
    if (handler === undefined) return refuse(ResultCode.UNSUPPORTED_TYPE, null, FrameErrorCode.TYPE);
    // Signed in as another terminal on this connection: nothing is looked at, nothing applied.
    if (frame.terminalId !== session.terminalId) return refuse(ResultCode.NOT_SIGNED_IN, null, FrameErrorCode.MAC);
    if (!verifyMac(frame, session.key)) {
      await this.host.sessions.countBadMac(session.terminalId, session.merchantId).catch((err: unknown) =>
        this.logger.warn(this.line({ err }), 'could not count bad MAC'));
      return refuse(ResultCode.BAD_MAC, null, FrameErrorCode.MAC);
    }
    const now = Date.now();
    if (Math.abs(frame.timestamp - Math.floor(now / 1000)) > this.host.limits.clockWindowSec) {
      this.answerEmpty(handler.responseType, frame.terminalId, frame.seq, ResultCode.CLOCK_SKEW, session.key, {
        serverTime: Math.floor(now / 1000),
      });
      return { result: ResultCode.CLOCK_SKEW, replayed: false };
    }
    if (!this.takeRequestToken(now)) {
      // Past its rate (PROTOCOL.md §6.4): not looked at, and counted, so a flood ends in a close.
      this.answerEmpty(handler.responseType, frame.terminalId, frame.seq, ResultCode.RATE_LIMITED, session.key);
      this.countBadFrame(RATE_LIMITED);
      return { result: ResultCode.RATE_LIMITED, replayed: false };
    }
    // A heartbeat answered here used this number or a higher one, which the stored mark has not
    // seen: the number is not new, whatever the request (a lower heartbeat included).
    if (session.state.behindLocalHeartbeat(frame.seq, frame.type === MessageType.HEARTBEAT)) {
      return refuse(ResultCode.REPLAY, session.key);
    }

    const ctx: RequestContext = {
      terminalId: session.terminalId,
      merchantId: session.merchantId,
      connectionId: this.id,
      seq: frame.seq,
      // A digest only the core's guard reads: a heartbeat answered locally never computes it.
      get fingerprint() {
        return requestFingerprint(frame.type, frame.payload);
      },
      now,
    };
    let answer;
    try {
      answer = await handler.run(this.host.core, ctx, frame.payload, session.state);
    } catch (err) {
      const result = this.failureResult(err);
      return refuse(result, session.key, result === ResultCode.BAD_FORMAT ? FrameErrorCode.PAYLOAD : undefined);
    }
    if (answer.local !== true) session.state.coreAnswered(frame.seq, answer.result, answer.replayed, now);
    // A heartbeat answered here raises the mark to its number; any heartbeat may report health.
    const mark = answer.local === true ? frame.seq : 0;
    const health = answer.health !== undefined && answer.result === ResultCode.APPROVED ? this.healthDue(answer.health, now) : null;
    // Issued before the answer goes out, so a sign-in this terminal sends after it (elsewhere, on
    // a new connection) reaches Redis after the mark's raise on this instance's connection to it.
    if (mark > 0 || health !== null) this.writeHeartbeatSeen(session, { mark, health });
    this.send(handler.responseType, frame.terminalId, frame.seq, answer.payload, session.key);
    if (answer.result === ResultCode.APPROVED && !answer.replayed && answer.amountFen !== undefined) {
      this.host.metrics?.moneyMoved(frame.type, answer.amountFen);
    }
    if (handler.endsSession === true && answer.result === ResultCode.APPROVED) this.close('sign_out');
    // The terminal signed in elsewhere, or was disabled, while this connection lived on (and the
    // kick did not reach this instance).
    else if (answer.result === ResultCode.SESSION_REPLACED) this.kick('replaced');
    else if (answer.result === ResultCode.TERMINAL_DISABLED) this.kick('disabled');
    return { result: answer.result, replayed: answer.replayed };
  }

  /** Takes one token from the terminal's request bucket; false when it is over its rate. */
  private takeRequestToken(now: number): boolean {
    const { requestRatePerSec: rate, requestBurst: burst } = this.host.limits;
    if (rate <= 0) return true;
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) / 1000) * rate);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * The health report to keep, or null when the terminal said the same within HEALTH_REFRESH_MS:
   * a change (paper out) is kept at once, and a terminal beating at its interval writes every beat;
   * one that beats far faster (a flood, a benchmark) does not write each time.
   */
  private healthDue(report: TerminalHealth, now: number): HeartbeatSeen['health'] {
    const stored = formatHealth(report);
    const last = this.healthWritten;
    if (last !== null && last.stored === stored && now - last.at < HEALTH_REFRESH_MS) return null;
    this.healthWritten = { stored, at: now };
    return { report, at: now };
  }

  /**
   * Keeps what heartbeats showed on the terminal in one write: the stored mark moved up to a number
   * a heartbeat answered here used (PROTOCOL.md §6.1), and the health reported with its time as
   * the terminal's last contact (the fleet view: `aircharge terminal list`). Fire and forget, at
   * most one write in flight per connection; what comes meanwhile is merged into the next (the
   * highest mark, the latest health). Nothing on the PAY path.
   */
  private writeHeartbeatSeen(session: Session, seen: HeartbeatSeen): void {
    if (this.writingHeartbeat) {
      const pending = this.heartbeatPending;
      this.heartbeatPending = { mark: Math.max(pending?.mark ?? 0, seen.mark), health: seen.health ?? pending?.health ?? null };
      return;
    }
    this.writingHeartbeat = true;
    this.host.sessions.heartbeatSeen(session.terminalId, session.merchantId, seen).catch((err: unknown) =>
      this.logger.warn(this.line({ err }), 'could not keep what the heartbeat showed')).finally(() => {
      this.writingHeartbeat = false;
      const next = this.heartbeatPending;
      this.heartbeatPending = null;
      if (next !== null && this.session === session) this.writeHeartbeatSeen(session, next);
    });
  }

  /**
   * Before sign-in only SIGN_IN is served (PROTOCOL.md §8): anything else gets its one refusal,
   * zero-MACed (NOT_SIGNED_IN, or REJECT for a type the gateway does not serve), counted as a bad
   * frame, and the connection is closed, so a peer without a key gets one answer, not a stream.
   */
  private refuseBeforeSignIn(type: number, terminalId: string, seq: number): { result: number; replayed: boolean } {
    const handler = handlers.get(type);
    const result = handler === undefined ? ResultCode.UNSUPPORTED_TYPE : ResultCode.NOT_SIGNED_IN;
    this.answerEmpty(handler?.responseType ?? MessageType.REJECT, terminalId, seq, result, null);
    this.host.metrics?.badFrame(handler === undefined ? FrameErrorCode.TYPE : NOT_SIGNED_IN);
    this.badFrames += 1;
    this.close('not_signed_in');
    return { result, replayed: false };
  }

  /** A handler's failure as a result code: bad payload, or the store not answering. */
  private failureResult(err: unknown): number {
    if (err instanceof FrameError && err.code === FrameErrorCode.PAYLOAD) return ResultCode.BAD_FORMAT;
    if (err instanceof StoreUnavailableError) {
      this.logger.warn(this.line({ err: err.cause }), 'store unavailable');
    } else {
      this.logger.error(this.line({ err }), 'handler failed');
    }
    return ResultCode.SYSTEM_BUSY;
  }

  /** The sign-in handshake (handlers/sign-in.ts); on approval the connection takes the session. */
  private async signIn(frame: Frame): Promise<number> {
    const now = Date.now();
    let outcome;
    try {
      outcome = await signIn({
        sessions: this.host.sessions,
        instanceId: this.host.instanceId,
        connectionId: this.id,
        peer: this.peer,
        heartbeatSec: this.host.limits.heartbeatSec,
        clockWindowSec: this.host.limits.clockWindowSec,
        sessionTtlSec: this.host.sessionTtlSec,
        businessDayOf: (ms) => this.host.businessDayOf(ms),
      }, frame, now);
    } catch (err) {
      const result = this.failureResult(err);
      this.answerEmpty(MessageType.SIGN_IN_RESPONSE, frame.terminalId, frame.seq, result, null);
      if (result === ResultCode.BAD_FORMAT) this.countBadFrame(FrameErrorCode.PAYLOAD);
      return result;
    }
    const { response, replaced } = outcome;
    if (outcome.storeError !== undefined) this.failureResult(outcome.storeError);
    // Field by field, not a spread: a spread gave every session object a hidden class of its own
    // (some 190 bytes per connection in a heap snapshot).
    const session: Session | null = outcome.session === null ? null : {
      terminalId: outcome.session.terminalId,
      merchantId: outcome.session.merchantId,
      key: outcome.session.key,
      state: new SessionState(frame.seq, now, this.host.limits.heartbeatSec * 1000),
    };
    this.send(MessageType.SIGN_IN_RESPONSE, frame.terminalId, frame.seq,
      encodePayload(MessageType.SIGN_IN_RESPONSE, response), session?.key ?? outcome.refusalKey);
    if (session === null) {
      // Every refusal but our own failure counts (PROTOCOL.md §8): a peer without the key, or a
      // terminal the operator disabled, gets a handful of answers on a connection, not a stream.
      if (response.result !== ResultCode.SYSTEM_BUSY) this.countBadFrame(SIGN_IN_REFUSED);
      return response.result;
    }

    if (this.session === null) {
      this.host.signedIn(this);
      // From now on the idle timeout governs, refreshed by every frame.
      clearTimeout(this.timer);
      this.timer = setTimeout(closeAfterIdleTimeout, this.host.limits.idleTimeoutMs, this);
    }
    const previous = this.session;
    this.session = session;
    if (replaced !== null && replaced.connectionId !== this.id) this.host.kick(replaced);
    // Signed in again as another terminal: the first terminal's session ends here.
    if (previous !== null && previous.terminalId !== session.terminalId) this.closeSessionOf(previous);
    return response.result;
  }

  private countBadFrame(code: FrameErrorCode | typeof SIGN_IN_REFUSED | typeof NOT_SIGNED_IN | typeof RATE_LIMITED): void {
    this.host.metrics?.badFrame(code);
    this.badFrames += 1;
    if (this.badFrames >= this.host.limits.maxBadFrames) {
      this.close('bad_frames', NoticeReason.TOO_MANY_BAD_FRAMES);
    }
  }

  private answerEmpty(
    responseType: number,
    terminalId: string,
    seq: number,
    result: number,
    macKey: Buffer | null,
    fields: Record<string, unknown> = {},
  ): void {
    // The full layout with zeros, then the fields this result fills where the layout has them.
    const value = emptyResponse(responseType, result as ResultCode) as Record<string, unknown>;
    for (const [name, field] of Object.entries(fields)) if (name in value) value[name] = field;
    this.send(responseType, terminalId, seq, encodePayload(responseType as keyof MessageMap, value as never), macKey);
  }

  private send(type: number, terminalId: string, seq: number, payload: Buffer, macKey: Buffer | null): void {
    if (this.closing || !this.socket.writable) return;
    const bytes = this.frame(type, terminalId, seq, payload, macKey);
    if (this.logger.isLevelEnabled('debug')) this.logger.debug(this.line({ frame: maskedFrameHex(bytes) }), 'frame out');
    // Answers leave at the end of this event-loop turn, with those to every other terminal
    // answered in it (src/coalesce-writes.ts).
    coalesceWrites(this.socket);
    if (!this.socket.write(bytes)) this.waitForDrain();
  }

  private frame(type: number, terminalId: string, seq: number, payload: Buffer, macKey: Buffer | null): Buffer {
    return encodeFrame({ type, flags: 0, terminalId, seq, timestamp: Math.floor(Date.now() / 1000) }, payload, macKey);
  }

  private waitForDrain(): void {
    if (this.waitingForDrain) return;
    this.waitingForDrain = true;
    this.socket.pause();
    this.socket.once('drain', () => {
      this.waitingForDrain = false;
      if (this.accepting && this.inFlight === null) this.socket.resume();
    });
  }

  /** Resolves when the terminal has taken our writes, or the socket is gone. */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** The socket is closed, whoever closed it (socket listener). */
  onClose(): void {
    clearTimeout(this.timer);
    if (this.destroyTimer !== null) clearTimeout(this.destroyTimer);
    this.accepting = false;
    this.closing = true;
    this.closeReason ??= 'peer_closed';
    this.logger.info(this.line({ terminal: this.terminalId, reason: this.closeReason, badFrames: this.badFrames }), 'connection closed');
    this.host.forget(this);
    if (this.session !== null) this.closeSessionOf(this.session);
  }

  /** Compare-and-delete: a newer session of the terminal (another connection) is left alone. */
  private closeSessionOf(session: Session): void {
    this.host.sessions.closeSession(session.terminalId, session.merchantId, this.id).catch((err: unknown) =>
      this.logger.warn(this.line({ err }), 'could not close session'));
  }
}
