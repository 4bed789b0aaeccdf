/** Merchants (outlets): who holds a float and owns terminals. */
import { keys, MERCHANT_ID_PATTERN } from '../store/keys.js';
import { int, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { Script } from '../store/script.js';

export interface Merchant {
  id: string;
  name: string;
  status: 'active' | 'disabled';
  floatFen: number;
  /** Epoch milliseconds. */
  createdAt: number;
  terminals: string[];
}

const MAX_NAME_LENGTH = 64;

/** Creates the merchant with an empty float unless it exists: an existing float is never reset. */
export const CREATE_MERCHANT = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'status', 'active', 'floatFen', 0, 'createdAt', ARGV[3])
return 1
`);

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

export async function addMerchant(context: AdminContext, id: string, name: string): Promise<Merchant> {
  checkMerchantId(id);
  checkName(name);
  const { redis } = context;
  const createdAt = context.now();
  const created = await CREATE_MERCHANT.run(redis, [keys.merchant(id)], [id, name, createdAt]);
  // The index is another slot; adding it again heals a crash between the two writes.
  await redis.sadd(keys.merchants(), id);
  if (created === 0) throw new AdminError(AdminErrorCode.EXISTS, `merchant ${id} already exists`);
  return { id, name, status: 'active', floatFen: 0, createdAt, terminals: [] };
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
    floatFen: int(hash, 'floatFen'),
    createdAt: int(hash, 'createdAt'),
    terminals: terminals.sort(),
  };
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
