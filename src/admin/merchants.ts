/**
 * Merchants: outlets (shops that pre-store a float) and collectors (electricians who carry
 * customers' cash up to a limit), each owning terminals; their thresholds and daily caps.
 */
import { MAX_FEN } from '../../protocol/constants.js';
import { keys, MERCHANT_ID_PATTERN } from '../store/keys.js';
import { int, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { Script } from '../store/script.js';
import { BALANCE } from '../store/lua/balance.js';
import { noteLowFloat } from '../core/low-float.js';
import type { LowFloatOptions } from '../core/deps.js';

export type MerchantKindName = 'outlet' | 'collector';

/** Daily caps on payments, by business day; null where there is none. */
export interface DayLimits {
  count: number | null;
  amountFen: number | null;
}

export interface Merchant {
  id: string;
  name: string;
  status: 'active' | 'disabled';
  kind: MerchantKindName;
  /** An outlet's float (0 for a collector). */
  floatFen: number;
  /** A collector's cash held and its limit (0 for an outlet). */
  cashFen: number;
  cashLimitFen: number;
  /** This outlet's own low-float threshold; null: the configured default. */
  lowFloatThresholdFen: number | null;
  /** In the low-float warning state (outlets). */
  lowFloat: boolean;
  /** In the near-cash-limit state (collectors): told to hand cash in. */
  nearCashLimit: boolean;
  limits: DayLimits;
  /** Epoch milliseconds. */
  createdAt: number;
  terminals: string[];
}

const MAX_NAME_LENGTH = 64;

/**
 * Creates the merchant with an empty float (an outlet) or no cash held (a collector) unless it
 * exists: an existing float or cash is never reset, and a merchant's kind never changes (its
 * journal and invariant depend on it).
 */
export const CREATE_MERCHANT = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
-- ARGV[4] kind (default outlet), ARGV[5] a collector's cash limit.
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'status', 'active', 'kind', ARGV[4] or 'outlet', 'floatFen', 0,
  'createdAt', ARGV[3])
if ARGV[4] == 'collector' then redis.call('HSET', KEYS[1], 'cashFen', 0, 'cashLimitFen', ARGV[5]) end
return 1
`);

export interface NewMerchantOptions {
  /** Default outlet. */
  kind?: MerchantKindName;
  /** A collector's cash-in-hand limit (required for a collector, refused for an outlet). */
  cashLimitFen?: number;
}

export function checkMerchantId(id: string): void {
  if (!MERCHANT_ID_PATTERN.test(id)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad merchant id ${JSON.stringify(id)}: 1 to 32 of A-Z a-z 0-9 _ -`);
  }
}

export function checkName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.trim() === '' || [...name].length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad merchant name: 1 to ${MAX_NAME_LENGTH} characters, no control characters`);
  }
}

export async function addMerchant(context: AdminContext, id: string, name: string, options: NewMerchantOptions = {}): Promise<Merchant> {
  checkMerchantId(id);
  checkName(name);
  const kind = options.kind ?? 'outlet';
  if (kind !== 'outlet' && kind !== 'collector') {
    throw new AdminError(AdminErrorCode.INVALID, `a merchant's kind is outlet or collector, not ${JSON.stringify(kind)}`);
  }
  const cashLimitFen = options.cashLimitFen ?? 0;
  if (kind === 'collector' && (!Number.isSafeInteger(cashLimitFen) || cashLimitFen <= 0 || cashLimitFen > MAX_FEN)) {
    throw new AdminError(AdminErrorCode.AMOUNT, 'a collector needs a cash limit above zero (--cash-limit YUAN)');
  }
  if (kind === 'outlet' && options.cashLimitFen !== undefined) {
    throw new AdminError(AdminErrorCode.INVALID, 'an outlet holds a float, not cash: --cash-limit is for collectors');
  }
  const { redis } = context;
  const createdAt = context.now();
  const created = await CREATE_MERCHANT.run(redis, [keys.merchant(id)], [id, name, createdAt, kind, cashLimitFen]);
  // The index is another slot; adding it again heals a crash between the two writes.
  await redis.sadd(keys.merchants(), id);
  if (created === 0) throw new AdminError(AdminErrorCode.EXISTS, `merchant ${id} already exists`);
  return {
    id,
    name,
    status: 'active',
    kind,
    floatFen: 0,
    cashFen: 0,
    cashLimitFen,
    lowFloatThresholdFen: null,
    lowFloat: false,
    nearCashLimit: false,
    limits: { count: null, amountFen: null },
    createdAt,
    terminals: [],
  };
}

export async function showMerchant(context: AdminContext, id: string): Promise<Merchant> {
  checkMerchantId(id);
  const [hash, terminals] = await Promise.all([
    context.redis.hgetall(keys.merchant(id)),
    context.redis.smembers(keys.terminals(id)),
  ]);
  if (hash.id === undefined) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown merchant ${id}`);
  return {
    id,
    name: hash.name ?? '',
    status: hash.status === 'disabled' ? 'disabled' : 'active',
    kind: hash.kind === 'collector' ? 'collector' : 'outlet',
    floatFen: int(hash, 'floatFen'),
    cashFen: int(hash, 'cashFen'),
    cashLimitFen: int(hash, 'cashLimitFen'),
    lowFloatThresholdFen: optionalInt(hash.lowFloatFen),
    lowFloat: hash.lowFloat === '1',
    nearCashLimit: hash.cashNear === '1',
    limits: dayLimits(hash),
    createdAt: int(hash, 'createdAt'),
    terminals: terminals.sort(),
  };
}

export function optionalInt(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value);
}

/** The daily caps a merchant or terminal hash holds. */
export function dayLimits(hash: Record<string, string>): DayLimits {
  return { count: optionalInt(hash.dayCountLimit), amountFen: optionalInt(hash.dayFenLimit) };
}

/**
 * Sets (or with null clears) daily caps on a merchant or terminal hash that must exist. The
 * core reads them at every PAY; a cap lowered below what was already taken today declines the
 * next payment.
 */
const SET_LIMITS = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'dayCountLimit') else redis.call('HSET', KEYS[1], 'dayCountLimit', ARGV[1]) end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'dayFenLimit') else redis.call('HSET', KEYS[1], 'dayFenLimit', ARGV[2]) end
return 1
`);

export async function setLimits(context: AdminContext, key: string, limits: DayLimits): Promise<boolean> {
  for (const [name, value] of [['count', limits.count], ['amount', limits.amountFen]] as const) {
    if (value !== null && (!Number.isSafeInteger(value) || value <= 0 || value > MAX_FEN)) {
      throw new AdminError(AdminErrorCode.INVALID, `a daily ${name} cap is a whole number above zero`);
    }
  }
  const done = await SET_LIMITS.run(context.redis, [key], [limits.count ?? '', limits.amountFen ?? '']);
  return done === 1;
}

export async function setMerchantLimits(context: AdminContext, id: string, limits: DayLimits): Promise<Merchant> {
  checkMerchantId(id);
  if (!(await setLimits(context, keys.merchant(id), limits))) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown merchant ${id}`);
  return showMerchant(context, id);
}

/**
 * Sets (ARGV[1] '' clears) an outlet's threshold and applies the state's rule to its float at once,
 * with the configured default (ARGV[2]) and margin (ARGV[3]). KEYS[1] merchant → transition.
 */
const SET_THRESHOLD = new Script(`${BALANCE}
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'lowFloatFen') else redis.call('HSET', KEYS[1], 'lowFloatFen', ARGV[1]) end
local _, transition = lowFloat(KEYS[1], tonumber(redis.call('HGET', KEYS[1], 'floatFen') or '0'), ARGV[2], ARGV[3])
return transition
`);

/**
 * An outlet's own low-float threshold (null: back to the configured default). The state is
 * re-judged at once against the current float, with the same hysteresis as a float change.
 */
export async function setLowFloatThreshold(
  context: AdminContext & { lowFloat: LowFloatOptions },
  id: string,
  thresholdFen: number | null,
): Promise<Merchant> {
  const merchant = await showMerchant(context, id);
  if (merchant.kind !== 'outlet') throw new AdminError(AdminErrorCode.KIND, `merchant ${id} is a collector: it holds no float`);
  if (thresholdFen !== null && (!Number.isSafeInteger(thresholdFen) || thresholdFen < 0 || thresholdFen > MAX_FEN)) {
    throw new AdminError(AdminErrorCode.AMOUNT, 'a low-float threshold is a whole number of fen, 0 or more');
  }
  const transition = await SET_THRESHOLD.run(
    context.redis,
    [keys.merchant(id)],
    [thresholdFen ?? '', context.lowFloat.thresholdFen, context.lowFloat.marginFen],
  );
  const after = await showMerchant(context, id);
  noteLowFloat(context.logger, id, transition, after.floatFen);
  return after;
}

/** Every merchant id, sorted. */
export async function merchantIds(context: AdminContext): Promise<string[]> {
  return (await context.redis.smembers(keys.merchants())).sort();
}

export async function listMerchants(context: AdminContext): Promise<Merchant[]> {
  const ids = await merchantIds(context);
  return Promise.all(ids.map((id) => showMerchant(context, id)));
}

/**
 * A disabled merchant's terminals can no longer sign in or pay (every request checks the status);
 * the float stays as it is. Enabling undoes it.
 */
export async function setMerchantStatus(context: AdminContext, id: string, status: Merchant['status']): Promise<Merchant> {
  const merchant = await showMerchant(context, id);
  await context.redis.hset(keys.merchant(id), 'status', status);
  return { ...merchant, status };
}
