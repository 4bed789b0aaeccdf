/**
 * The MAC, the session key and the request fingerprint (PROTOCOL.md §5). Keys never leave this
 * module in any form other than the MAC bytes the frame carries.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import {
  MAC_SIZE,
  MAX_PAYLOAD_SIZE,
  NONCE_SIZE,
  REFUSAL_KEY_LABEL,
  SESSION_KEY_LABEL,
  TERMINAL_ID_PATTERN,
  TERMINAL_KEY_SIZE,
  TRAILER_SIZE,
} from './constants.js';
import type { Frame } from './messages.js';

/** The first 8 bytes of HMAC-SHA256(key, bytes[0 .. end)), written into `target` at `at`. */
export function writeMac(key: Buffer, bytes: Buffer, end: number, target: Buffer, at: number): void {
  const digest = createHmac('sha256', key).update(bytes.subarray(0, end)).digest();
  digest.copy(target, at, 0, MAC_SIZE);
}

/**
 * True when the frame's MAC checks under `key`. The comparison takes the same time whatever
 * the bytes, so a forger learns nothing from how fast a wrong MAC is refused.
 */
export function verifyMac(frame: Frame, key: Buffer): boolean {
  const macAt = frame.raw.length - TRAILER_SIZE;
  if (macAt < 0 || frame.mac.length !== MAC_SIZE) return false;
  const expected = createHmac('sha256', key).update(frame.raw.subarray(0, macAt)).digest().subarray(0, MAC_SIZE);
  return timingSafeEqual(expected, frame.mac);
}

/** An all-zero MAC marks a response the gateway could not authenticate (§5.3): advisory only. */
export function hasZeroMac(frame: Frame): boolean {
  for (let i = 0; i < frame.mac.length; i++) if (frame.mac[i] !== 0) return false;
  return true;
}

/**
 * Ks = HMAC-SHA256(Kt, "AC1-SESSION" || terminalId || terminalNonce || gatewayNonce) (§5.2).
 * Both nonces travel in the SIGN_IN exchange; Kt itself never does.
 */
export function deriveSessionKey(terminalKey: Buffer, terminalId: string, terminalNonce: Buffer, gatewayNonce: Buffer): Buffer {
  if (terminalKey.length !== TERMINAL_KEY_SIZE) throw new RangeError(`terminal key must be ${TERMINAL_KEY_SIZE} bytes`);
  if (!TERMINAL_ID_PATTERN.test(terminalId)) throw new RangeError('terminal id must be 8 characters [0-9A-Z]');
  if (terminalNonce.length !== NONCE_SIZE || gatewayNonce.length !== NONCE_SIZE) {
    throw new RangeError(`nonces must be ${NONCE_SIZE} bytes`);
  }
  return createHmac('sha256', terminalKey)
    .update(SESSION_KEY_LABEL)
    .update(Buffer.from(terminalId, 'ascii'))
    .update(terminalNonce)
    .update(gatewayNonce)
    .digest();
}

/**
 * Kr = HMAC-SHA256(Kt, "AC1-REFUSAL" || terminalId || terminalNonce) (§5.4): MACs a sign-in refusal
 * sent after the request's MAC verified under Kt, so the terminal can believe its lastSeq and
 * serverTime. No session is needed, and a refusal recorded for one nonce verifies for no other.
 */
export function deriveRefusalKey(terminalKey: Buffer, terminalId: string, terminalNonce: Buffer): Buffer {
  if (terminalKey.length !== TERMINAL_KEY_SIZE) throw new RangeError(`terminal key must be ${TERMINAL_KEY_SIZE} bytes`);
  if (!TERMINAL_ID_PATTERN.test(terminalId)) throw new RangeError('terminal id must be 8 characters [0-9A-Z]');
  if (terminalNonce.length !== NONCE_SIZE) throw new RangeError(`the nonce must be ${NONCE_SIZE} bytes`);
  return createHmac('sha256', terminalKey)
    .update(REFUSAL_KEY_LABEL)
    .update(Buffer.from(terminalId, 'ascii'))
    .update(terminalNonce)
    .digest();
}

/**
 * Hex SHA-256 of type || payload: what makes a repeated sequence number "the same request"
 * (§6.2). Header fields that legitimately change on retransmission (flags, timestamp, MAC) are
 * left out.
 */
export function requestFingerprint(type: number, payload: Buffer): string {
  // One-shot hash over type || payload laid out in scratch space: about half the cost of a Hash
  // object fed twice, on every PAY and INQUIRY. Synchronous, so one buffer serves all callers.
  if (1 + payload.length > fingerprintScratch.length) fingerprintScratch = Buffer.allocUnsafe(1 + payload.length);
  fingerprintScratch[0] = type & 0xff;
  fingerprintScratch.set(payload, 1);
  return hash('sha256', fingerprintScratch.subarray(0, 1 + payload.length), 'hex');
}

let fingerprintScratch = Buffer.allocUnsafe(1 + MAX_PAYLOAD_SIZE);
