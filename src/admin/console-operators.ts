/**
 * Who may log in to the web console (src/console): a name (the audit log's "who"), a role and a
 * password hashed with scrypt (random salt, the parameters stored beside the hash so they can be
 * raised later). Kept in Redis under their own keys; `aircharge operator add` writes them, the
 * console's login reads them.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { checkOperator } from './audit.js';
import type { AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { keys } from '../store/keys.js';

/** Each role can do what the ones before it can: a viewer reads, an operator tops up, a supervisor approves. */
export const ROLES = ['viewer', 'operator', 'supervisor'] as const;
export type Role = (typeof ROLES)[number];

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export interface ConsoleOperator {
  name: string;
  role: Role;
  createdAt: number;
}

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

/** N = 2^15, r = 8: about 32 MiB and some 50-100 ms a check, the OWASP floor for scrypt. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 };

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, keyLength, { ...options, maxmem: 128 * options.N! * options.r! * 2 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scrypt(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

/** Checked against when the name is unknown, so a wrong name costs as long as a wrong password. */
let decoy: Promise<string> | undefined;

/** A console operator's name is the audit log's "who": the admin API's rule for operator names. */
function wellFormed(name: string): boolean {
  try {
    checkOperator(name);
    return true;
  } catch {
    return false;
  }
}

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new AdminError(AdminErrorCode.INVALID, `bad role ${JSON.stringify(role)}: one of ${ROLES.join(', ')}`);
  return role as Role;
}

function checkPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AdminError(AdminErrorCode.INVALID, `a password has at least ${MIN_PASSWORD_LENGTH} characters (and at most ${MAX_PASSWORD_LENGTH})`);
  }
}

/** Adds an operator, or with `replace` sets an existing one's role and password. */
export async function addOperator(
  context: AdminContext,
  input: { name: string; role: string; password: string; replace?: boolean },
): Promise<ConsoleOperator> {
  const name = checkOperator(input.name);
  const role = checkRole(input.role);
  checkPassword(input.password);
  const createdAt = context.now();
  const { redis } = context;
  const record = { name, role, password: await hashPassword(input.password), createdAt: String(createdAt) };
  const key = keys.consoleOperator(name);
  if (input.replace) await redis.hset(key, record);
  else if ((await redis.hsetnx(key, 'name', name)) === 0) throw new AdminError(AdminErrorCode.EXISTS, `operator ${name} already exists (--replace to change its role and password)`);
  else await redis.hset(key, record);
  await redis.sadd(keys.consoleOperators(), name);
  return { name, role, createdAt };
}

export async function listOperators(context: AdminContext): Promise<ConsoleOperator[]> {
  const names = (await context.redis.smembers(keys.consoleOperators())).sort();
  const found = await Promise.all(names.map((name) => findOperator(context, name)));
  return found.filter((o): o is ConsoleOperator => o !== null);
}

/** Removes the operator; its console sessions end at their next request (the console reads the operator each time). */
export async function removeOperator(context: AdminContext, name: string): Promise<ConsoleOperator> {
  checkOperator(name);
  const operator = await findOperator(context, name);
  if (operator === null || (await context.redis.del(keys.consoleOperator(name))) === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown operator ${name}`);
  await context.redis.srem(keys.consoleOperators(), name);
  return operator;
}

/** The operator as stored now (its role may have changed since it logged in), or null. */
export async function findOperator(context: AdminContext, name: string): Promise<ConsoleOperator | null> {
  if (!wellFormed(name)) return null;
  const hash = await context.redis.hgetall(keys.consoleOperator(name));
  if (hash.role === undefined || !(ROLES as readonly string[]).includes(hash.role)) return null;
  return { name, role: hash.role as Role, createdAt: Number(hash.createdAt ?? 0) };
}

/** The operator when name and password match, else null; as slow for an unknown name as for a wrong password. */
export async function authenticate(context: AdminContext, name: string, password: string): Promise<ConsoleOperator | null> {
  const known = wellFormed(name) && password.length <= MAX_PASSWORD_LENGTH;
  const stored = known ? await context.redis.hget(keys.consoleOperator(name), 'password') : null;
  if (stored === null) {
    decoy ??= hashPassword(randomBytes(16).toString('hex'));
    await passwordMatches(password.slice(0, MAX_PASSWORD_LENGTH), await decoy);
    return null;
  }
  if (!(await passwordMatches(password, stored))) return null;
  return findOperator(context, name);
}
