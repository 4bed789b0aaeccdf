/**
 * Console sessions, held server-side: the cookie carries only a random id (32 bytes); Redis keeps,
 * under the id's SHA-256, who is logged in and the session's CSRF token. A session ends on logout,
 * after `idleMs` without a request, or `maxAgeMs` after login, whichever comes first.
 *
 * Failed logins are counted per operator name and per client address in fixed windows; past the
 * limit, logins are refused until the window ends, whatever the password.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { keys } from '../store/keys.js';

export interface SessionSettings {
  idleMs: number;
  maxAgeMs: number;
}

export const DEFAULT_SESSIONS: SessionSettings = { idleMs: 30 * 60_000, maxAgeMs: 12 * 3_600_000 };

export interface Session {
  /** The cookie's id, as the client sent it. */
  id: string;
  operator: string;
  /** Every form of this session carries it; a post without it is refused. */
  csrf: string;
  createdAt: number;
}

const digest = (id: string) => createHash('sha256').update(id).digest('hex');
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export async function createSession(redis: Redis | Cluster, operator: string, settings: SessionSettings, now: number): Promise<Session> {
  const session = { id: randomBytes(32).toString('base64url'), operator, csrf: randomBytes(32).toString('base64url'), createdAt: now };
  const key = keys.consoleSession(digest(session.id));
  await redis.multi().hset(key, { operator, csrf: session.csrf, createdAt: String(now) }).pexpire(key, settings.idleMs).exec();
  return session;
}

/** The live session of this id, its idle timer restarted; null when unknown, expired or malformed. */
export async function readSession(redis: Redis | Cluster, id: string, settings: SessionSettings, now: number): Promise<Session | null> {
  if (!ID_PATTERN.test(id)) return null;
  const key = keys.consoleSession(digest(id));
  const hash = await redis.hgetall(key);
  if (hash.operator === undefined || hash.csrf === undefined) return null;
  const createdAt = Number(hash.createdAt ?? 0);
  if (now - createdAt >= settings.maxAgeMs) {
    await redis.del(key);
    return null;
  }
  await redis.pexpire(key, Math.min(settings.idleMs, settings.maxAgeMs - (now - createdAt)));
  return { id, operator: hash.operator, csrf: hash.csrf, createdAt };
}

export async function endSession(redis: Redis | Cluster, id: string): Promise<void> {
  if (ID_PATTERN.test(id)) await redis.del(keys.consoleSession(digest(id)));
}

/** Constant-time comparison of a posted token with the expected one. */
export function tokensMatch(posted: unknown, expected: string): boolean {
  if (typeof posted !== 'string' || posted.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(posted), Buffer.from(expected));
}

export interface LoginLimits {
  /** Failures allowed per operator name within a window. */
  perName: number;
  /** Failures allowed per client address within a window. */
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perName: 5, perAddress: 20, windowMs: 15 * 60_000 };

const failureKeys = (name: string, address: string) => [keys.consoleLoginFailures(`name:${name}`), keys.consoleLoginFailures(`addr:${address}`)] as const;

/** Milliseconds until a login for this name from this address may be tried again, or 0 when it may now. */
export async function loginBlockedFor(redis: Redis | Cluster, name: string, address: string, limits: LoginLimits): Promise<number> {
  const [byName, byAddress] = failureKeys(name, address);
  const [nameCount, addressCount] = await Promise.all([redis.get(byName), redis.get(byAddress)]);
  const blocked = [] as string[];
  if (Number(nameCount ?? 0) >= limits.perName) blocked.push(byName);
  if (Number(addressCount ?? 0) >= limits.perAddress) blocked.push(byAddress);
  if (blocked.length === 0) return 0;
  const ttls = await Promise.all(blocked.map((key) => redis.pttl(key)));
  return Math.max(1000, ...ttls);
}

export async function recordLoginFailure(redis: Redis | Cluster, name: string, address: string, limits: LoginLimits): Promise<void> {
  for (const key of failureKeys(name, address)) {
    // The window starts at the first failure: the expiry is set only when the counter is new.
    await redis.multi().incr(key).pexpire(key, limits.windowMs, 'NX').exec();
  }
}

export async function clearLoginFailures(redis: Redis | Cluster, name: string): Promise<void> {
  await redis.del(keys.consoleLoginFailures(`name:${name}`));
}
