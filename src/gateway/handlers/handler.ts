/**
 * A handler answers one business message type: it decodes the payload, calls the transaction core
 * and encodes the core's response. It knows no socket; the connection frames, MACs and sends.
 * A payload that is not of the type's layout throws FrameError(ERR_PAYLOAD) from decodePayload,
 * which the connection answers with BAD_FORMAT.
 */
import type { TerminalHealth } from '../../../protocol/messages.js';
import type { RequestContext, TransactionCore } from '../../core/types.js';
import type { SessionState } from '../session-state.js';

export interface HandlerResult {
  result: number;
  /** The encoded response payload. */
  payload: Buffer;
  /** True when the core sent a stored response again (a retransmission). */
  replayed: boolean;
  /** True when the gateway answered without the core (so Redis confirmed nothing). */
  local?: boolean;
  /** Fen the request moved (PAY, CORRECT), for the business counters when it is approved. */
  amountFen?: number;
  /** The health a HEARTBEAT reported, kept on the terminal for the fleet view when it is approved. */
  health?: TerminalHealth;
}

export interface Handler {
  readonly responseType: number;
  run(core: TransactionCore, ctx: RequestContext, payload: Buffer, session: SessionState): Promise<HandlerResult>;
  /** SIGN_OUT: the gateway closes the connection once the response is written. */
  readonly endsSession?: boolean;
}
