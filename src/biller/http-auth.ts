/**
 * Request authentication of the biller API (API.md "Authentication"), used by both ends: HttpBiller
 * signs, the reference biller verifies. HMAC-SHA256 under a shared secret over the method, the path
 * with its query, the request time and the SHA-256 of the body, so a signed request cannot be
 * moved to another resource, changed, or replayed outside the clock window. A bearer token (the
 * secret itself) is the simpler alternative for billing systems that only take that.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const AUTH_SCHEME = 'AC-HMAC-SHA256';
export const DATE_HEADER = 'x-aircharge-date';
/** Default clock window of the verifier: a request signed further from its clock is refused. */
export const DEFAULT_CLOCK_WINDOW_MS = 300_000;

export type AuthMode = 'hmac' | 'bearer';

/** The text that is signed: one field a line. */
export function stringToSign(method: string, pathWithQuery: string, timeMs: number, body: string | Buffer): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return `${method.toUpperCase()}\n${pathWithQuery}\n${timeMs}\n${bodyHash}`;
}

export function signature(secret: Buffer, method: string, pathWithQuery: string, timeMs: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(stringToSign(method, pathWithQuery, timeMs, body)).digest('hex');
}

/** The headers that authenticate one request. */
export function authHeaders(
  mode: AuthMode,
  secret: Buffer,
  method: string,
  pathWithQuery: string,
  body: string | Buffer,
  nowMs: number,
): Record<string, string> {
  if (mode === 'bearer') return { authorization: `Bearer ${secret.toString('utf8')}` };
  return {
    [DATE_HEADER]: String(nowMs),
    authorization: `${AUTH_SCHEME} ${signature(secret, method, pathWithQuery, nowMs, body)}`,
  };
}

/** Why a request was refused; null when it is authentic. Codes are the API's error codes. */
export function verifyRequest(
  secret: Buffer,
  request: { method: string; pathWithQuery: string; body: Buffer; authorization: string | undefined; date: string | undefined },
  nowMs: number,
  clockWindowMs = DEFAULT_CLOCK_WINDOW_MS,
): 'UNAUTHORIZED' | 'CLOCK_SKEW' | null {
  const auth = request.authorization ?? '';
  if (auth.startsWith('Bearer ')) {
    return equalSecrets(Buffer.from(auth.slice('Bearer '.length), 'utf8'), secret) ? null : 'UNAUTHORIZED';
  }
  if (!auth.startsWith(`${AUTH_SCHEME} `)) return 'UNAUTHORIZED';
  const date = request.date ?? '';
  if (!/^[0-9]{1,15}$/.test(date)) return 'UNAUTHORIZED';
  const given = Buffer.from(auth.slice(AUTH_SCHEME.length + 1), 'utf8');
  const expected = Buffer.from(signature(secret, request.method, request.pathWithQuery, Number(date), request.body), 'utf8');
  // The signature is checked before the clock, so an unsigned request learns nothing of our time.
  if (!equalSecrets(given, expected)) return 'UNAUTHORIZED';
  if (Math.abs(nowMs - Number(date)) > clockWindowMs) return 'CLOCK_SKEW';
  return null;
}

function equalSecrets(a: Buffer, b: Buffer): boolean {
  // Hashing first makes the comparison constant-time whatever the lengths.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
