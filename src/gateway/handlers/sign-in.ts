/**
 * The sign-in handshake (PROTOCOL.md §5). The request is MACed with the terminal key; the gateway
 * looks the terminal up and verifies the MAC before it says anything about the terminal, then
 * checks its status, the clock and (in Redis, with the sequence guard) the number, and derives the
 * session key from both nonces.
 *
 * Before the MAC verifies, the peer may hold no key at all: every refusal then is the same
 * UNKNOWN_TERMINAL with a zero MAC, whether the id is unknown, its key wrong, or the terminal or
 * its merchant disabled (§5.2), so a keyless peer learns nothing of the terminal. After the MAC
 * verifies, a refusal is MACed with the refusal key Kr (§5.4), which the terminal can check, so
 * it believes the lastSeq and serverTime in it and nothing forged on the carrier's network.
 */
import { randomBytes } from 'node:crypto';
import {
  MessageType,
  NONCE_SIZE,
  ResultCode,
  decodePayload,
  deriveRefusalKey,
  deriveSessionKey,
  emptyResponse,
  MAX_NAME_BYTES,
  truncateUtf8,
  verifyMac,
} from '../../../protocol/index.js';
import type { Frame, SignInResponse } from '../../../protocol/index.js';
import { StoreUnavailableError } from '../../core/types.js';
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
  /** The key that MACs a refusal: Kr once the request's MAC verified, else none (zero MAC). */
  refusalKey: Buffer | null;
  /** The older session of the same terminal, whose connection must now be closed. */
  replaced: { instanceId: string; connectionId: string } | null;
  /** Why the store did not answer, when the result is SYSTEM_BUSY (the connection logs it). */
  storeError?: unknown;
}

export async function signIn(deps: SignInDeps, frame: Frame, now: number): Promise<SignInOutcome> {
  const request = decodePayload(MessageType.SIGN_IN, frame.payload);
  const serverTime = Math.floor(now / 1000);
  const refuse = (result: ResultCode, refusalKey: Buffer | null, fields: Partial<SignInResponse> = {}): SignInOutcome => ({
    response: { ...(emptyResponse(MessageType.SIGN_IN_RESPONSE, result) as SignInResponse), ...fields },
    session: null,
    refusalKey,
    replaced: null,
  });

  const terminal = await deps.sessions.lookupTerminal(frame.terminalId);
  if (terminal === null) return refuse(ResultCode.UNKNOWN_TERMINAL, null);
  if (!verifyMac(frame, terminal.key)) {
    await deps.sessions.countBadMac(terminal.terminalId, terminal.merchantId);
    return refuse(ResultCode.UNKNOWN_TERMINAL, null);
  }
  const refusalKey = deriveRefusalKey(terminal.key, terminal.terminalId, request.nonce);
  if (!terminal.terminalActive) return refuse(ResultCode.TERMINAL_DISABLED, refusalKey);
  if (!terminal.merchantActive) return refuse(ResultCode.MERCHANT_DISABLED, refusalKey);
  if (Math.abs(frame.timestamp - serverTime) > deps.clockWindowSec) {
    return refuse(ResultCode.CLOCK_SKEW, refusalKey, { serverTime });
  }

  const gatewayNonce = randomBytes(NONCE_SIZE);
  const sessionKey = deriveSessionKey(terminal.key, terminal.terminalId, request.nonce, gatewayNonce);
  let opened;
  try {
    opened = await deps.sessions.openSession({
      terminalId: terminal.terminalId,
      merchantId: terminal.merchantId,
      seq: frame.seq,
      connectionId: deps.connectionId,
      instanceId: deps.instanceId,
      peer: deps.peer,
      now,
      ttlSec: deps.sessionTtlSec,
      firmware: request.firmware,
    });
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    return { ...refuse(ResultCode.SYSTEM_BUSY, refusalKey), storeError: err };
  }
  if (opened.result === ResultCode.REPLAY || opened.result === ResultCode.SEQ_OUT_OF_RANGE) {
    return refuse(opened.result, refusalKey, { lastSeq: opened.lastSeq });
  }
  if (opened.result !== ResultCode.APPROVED) return refuse(opened.result, refusalKey);

  return {
    response: {
      result: ResultCode.APPROVED,
      nonce: gatewayNonce,
      serverTime,
      heartbeatSec: deps.heartbeatSec,
      lastSeq: opened.lastSeq,
      businessDay: deps.businessDayOf(now),
      merchantKind: terminal.merchantKind,
      merchantName: truncateUtf8(terminal.merchantName, MAX_NAME_BYTES),
    },
    session: { terminalId: terminal.terminalId, merchantId: terminal.merchantId, key: sessionKey },
    refusalKey: null,
    replaced: opened.replaced,
  };
}
