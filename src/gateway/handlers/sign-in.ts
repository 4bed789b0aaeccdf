/**
 * The sign-in handshake (PROTOCOL.md §5). The request is MACed with the terminal key; the gateway
 * checks who the terminal is, the MAC, the clock, then derives the session key from both nonces
 * and opens the session in Redis, where the terminal's sequence guard decides the number.
 * Every refusal is answered with a zero MAC: no session key exists to authenticate it with.
 */
import { randomBytes } from 'node:crypto';
import {
  MessageType,
  NONCE_SIZE,
  ResultCode,
  decodePayload,
  deriveSessionKey,
  emptyResponse,
  verifyMac,
} from '../../../protocol/index.js';
import type { Frame, SignInResponse } from '../../../protocol/index.js';
import type { SessionStore } from '../../core/types.js';

export interface SignInDeps {
  sessions: SessionStore;
  instanceId: string;
  connectionId: string;
  peer: string;
  heartbeatSec: number;
  clockWindowSec: number;
  /** Expiry of the session record in Redis. */
  sessionTtlSec: number;
  businessDayOf(epochMs: number): number;
}

export interface SignInOutcome {
  response: SignInResponse;
  /** The session this sign-in opened (approved only); its key MACs the response. */
  session: { terminalId: string; merchantId: string; key: Buffer } | null;
  /** The older session of the same terminal, whose connection must now be closed. */
  replaced: { instanceId: string; connectionId: string } | null;
  /** The request's MAC did not verify (a bad frame, counted against the terminal). */
  badMac: boolean;
}

export async function signIn(deps: SignInDeps, frame: Frame, now: number): Promise<SignInOutcome> {
  const request = decodePayload(MessageType.SIGN_IN, frame.payload);
  const serverTime = Math.floor(now / 1000);
  const refuse = (result: ResultCode, fields: Partial<SignInResponse> = {}, badMac = false): SignInOutcome => ({
    response: { ...(emptyResponse(MessageType.SIGN_IN_RESPONSE, result) as SignInResponse), ...fields },
    session: null,
    replaced: null,
    badMac,
  });

  const terminal = await deps.sessions.lookupTerminal(frame.terminalId);
  if (terminal === null) return refuse(ResultCode.UNKNOWN_TERMINAL);
  if (!terminal.terminalActive) return refuse(ResultCode.TERMINAL_DISABLED);
  if (!terminal.merchantActive) return refuse(ResultCode.MERCHANT_DISABLED);
  if (!verifyMac(frame, terminal.key)) {
    await deps.sessions.countBadMac(terminal.terminalId, terminal.merchantId);
    return refuse(ResultCode.BAD_MAC, {}, true);
  }
  if (Math.abs(frame.timestamp - serverTime) > deps.clockWindowSec) {
    return refuse(ResultCode.CLOCK_SKEW, { serverTime });
  }

  const gatewayNonce = randomBytes(NONCE_SIZE);
  const sessionKey = deriveSessionKey(terminal.key, terminal.terminalId, request.nonce, gatewayNonce);
  const opened = await deps.sessions.openSession({
    terminalId: terminal.terminalId,
    merchantId: terminal.merchantId,
    seq: frame.seq,
    connectionId: deps.connectionId,
    instanceId: deps.instanceId,
    peer: deps.peer,
    sessionKey,
    now,
    ttlSec: deps.sessionTtlSec,
  });
  if (opened.result !== ResultCode.APPROVED) return refuse(opened.result, { lastSeq: opened.lastSeq });

  return {
    response: {
      result: ResultCode.APPROVED,
      nonce: gatewayNonce,
      serverTime,
      heartbeatSec: deps.heartbeatSec,
      lastSeq: opened.lastSeq,
      businessDay: deps.businessDayOf(now),
    },
    session: { terminalId: terminal.terminalId, merchantId: terminal.merchantId, key: sessionKey },
    replaced: opened.replaced,
    badMac: false,
  };
}
