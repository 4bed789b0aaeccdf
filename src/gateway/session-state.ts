/**
 * The gateway's own view of a session's sequence numbers, so that heartbeats, which change
 * nothing, need not wait on Redis. Everything with an effect still goes through the core's guard.
 *
 * A heartbeat is answered locally when its number is new on this connection and Redis confirmed
 * the session (sign-in or a core answer, which also refreshes the session's expiry) within the
 * last heartbeat interval. Such a number never reaches the stored high-water mark, so this
 * connection remembers the highest number the guard accepted and the highest any request used:
 * numbers strictly increase (PROTOCOL.md §6.1), so a request whose number lies between the two,
 * one a heartbeat used or one skipped below it, is a replay and is refused locally; only the
 * last heartbeat again is answered afresh, as the core answers read-only repeats.
 */
import { MAX_SEQ_STEP, ResultCode } from '../../protocol/index.js';

/**
 * Core answers given before the guard refreshed the session (or without the guard running at
 * all): they confirm nothing, so the heartbeats after them go to the core and get its refusal.
 */
const NOT_CONFIRMED: ReadonlySet<number> = new Set([
  ResultCode.SESSION_REPLACED,
  ResultCode.TERMINAL_DISABLED,
  ResultCode.MERCHANT_DISABLED,
  ResultCode.SYSTEM_BUSY,
]);

/** Core answers given without the guard accepting the number as new. */
const NOT_ACCEPTED: ReadonlySet<number> = new Set([
  ResultCode.REPLAY,
  ResultCode.SEQ_OUT_OF_RANGE,
  ResultCode.IN_PROGRESS,
  ResultCode.SESSION_REPLACED,
  ResultCode.TERMINAL_DISABLED,
  ResultCode.MERCHANT_DISABLED,
  ResultCode.SYSTEM_BUSY,
]);

export class SessionState {
  /** The highest number accepted on this session (sign-in and local heartbeats included). */
  private lastSeq: number;
  /** The highest number the core's guard accepted (and so the stored mark holds). */
  private guardSeq: number;
  /** When Redis last confirmed the session is this connection's (epoch ms). */
  private confirmedAt: number;

  constructor(signInSeq: number, now: number, private readonly confirmForMs: number) {
    this.lastSeq = signInSeq;
    this.guardSeq = signInSeq;
    this.confirmedAt = now;
  }

  /** True when this heartbeat may be answered without the core; records its number. */
  answerHeartbeatLocally(seq: number, now: number): boolean {
    if (seq === this.lastSeq && this.lastSeq > this.guardSeq) return true;
    // A number too far ahead goes to the guard, which refuses it (SEQ_OUT_OF_RANGE, §6.1).
    if (seq <= this.lastSeq || seq - this.lastSeq > MAX_SEQ_STEP || now - this.confirmedAt >= this.confirmForMs) return false;
    this.lastSeq = seq;
    return true;
  }

  /**
   * True when a request with this number must be refused here (REPLAY): a heartbeat answered
   * locally used it or a higher one, which the stored mark has not seen. The last heartbeat sent
   * again is the one exception, answered afresh.
   */
  behindLocalHeartbeat(seq: number, isHeartbeat: boolean): boolean {
    if (seq <= this.guardSeq || seq > this.lastSeq) return false;
    return !(isHeartbeat && seq === this.lastSeq);
  }

  /** The core answered a request: its guard saw the session, and maybe accepted the number. */
  coreAnswered(seq: number, result: number, replayed: boolean, now: number): void {
    if (NOT_CONFIRMED.has(result)) {
      // Whatever this connection confirmed earlier no longer holds.
      this.confirmedAt = Number.NEGATIVE_INFINITY;
      return;
    }
    this.confirmedAt = now;
    if (replayed || NOT_ACCEPTED.has(result) || seq <= this.lastSeq) return;
    // The stored mark is now above every number a heartbeat used here.
    this.lastSeq = seq;
    this.guardSeq = seq;
  }
}
