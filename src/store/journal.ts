/**
 * The journal's tamper evidence (issue 13 finding 8; src/core/README.md "The journal").
 *
 * Every entry carries
 * - `mac`: HMAC-SHA256 (128 bits, hex) under the journal key (of the master key version named by
 *   the entry's `kv`, absent for version 1), computed here in Node over the
 *   entry's caller-supplied fields in the order they are stored, the merchant, and the chain value
 *   of an earlier entry the appender saw (`seen`, its stream id). The journal key is derived from
 *   the master key and never reaches Redis, so someone who can write to Redis can neither forge nor
 *   edit an entry; and because each MAC vouches for an earlier chain value, removing, inserting or
 *   reordering entries and then recomputing the (keyless) chain breaks the MAC of every later entry
 *   that saw past the change. The newest entries, which no later one vouches for yet, are covered
 *   by a checkpoint kept outside Redis (`aircharge journal checkpoint`).
 * - `chain`: sha1hex over the previous entry's chain, this entry's MAC and the fields the script
 *   computed (such as floatFen), joined by ':' (chainText), computed by JOURNAL_APPEND in the same
 *   script as the movement. The MAC already binds every caller-supplied field, so hashing the MAC
 *   binds them too; hashing them again cost the payment path about 10 µs of Lua per entry
 *   (number-to-string conversions) for no more assurance. The head (journalId, journalChain,
 *   journalCount) is kept in the merchant hash, which the payment scripts read anyway: no key of
 *   its own to read and write on every payment.
 *
 * recordMac is generic: other books (bills, postings) MAC their records with it under their own scope.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { keys } from './keys.js';
import type { MasterKey } from './secrets.js';

const JOURNAL_KEY_LABEL = 'aircharge journal key v1';

/** The key that MACs the books: derived from the master key, never stored anywhere. */
export function journalKey(masterKey: Buffer): Buffer {
  return createHmac('sha256', masterKey).update(JOURNAL_KEY_LABEL).digest();
}

/** A journal key and the master key version it is derived from. */
export interface JournalKey {
  version: number;
  key: Buffer;
}

export function journalKeyOf(master: MasterKey): JournalKey {
  return { version: master.version, key: journalKey(master.key) };
}

/**
 * The field that names the master key version an entry is MACed under, after a rotation: `kv`,
 * absent for version 1 (entries from before the first rotation, byte for byte as they were).
 */
export function keyVersionFields(key: JournalKey): RecordFields {
  return key.version === 1 ? [] : [['kv', key.version]];
}

/** A stored entry or record: field names and values, in the order they are written. */
export type RecordFields = ReadonlyArray<readonly [string, string | number]>;

/**
 * The MAC of a record under the journal key: `scope` names what the record is and where it belongs
 * (a copy moved to another merchant, account or position does not verify there), `fields` are
 * MACed in their order. The encoding (a JSON array of strings) has one reading only.
 */
export function recordMac(key: Buffer, scope: string, fields: RecordFields): string {
  const text = JSON.stringify([scope, ...fields.flatMap(([name, value]) => [name, String(value)])]);
  return createHmac('sha256', key).update(text).digest('hex').slice(0, 32);
}

/** The newest entry of a merchant's journal when it was read: its stream id and chain ('' for none). */
export interface JournalHead {
  id: string;
  chain: string;
}

export const EMPTY_HEAD: JournalHead = { id: '', chain: '' };

export function journalScope(merchantId: string, seen: JournalHead): string {
  return `journal|${merchantId}|${seen.id}|${seen.chain}`;
}

/**
 * The arguments JOURNAL_APPEND reads from its `at`-th ARGV: the field count, the fields with
 * `seen` last, and their MAC.
 */
export function journalEntryArgs(key: JournalKey, merchantId: string, seen: JournalHead, fields: RecordFields): string[] {
  const all: RecordFields = [...fields, ...keyVersionFields(key), ['seen', seen.id]];
  return [String(all.length), ...all.flatMap(([name, value]) => [name, String(value)]), recordMac(key.key, journalScope(merchantId, seen), all)];
}

/** The merchant hash's fields that hold its journal's head: written by every append. */
export const HEAD_FIELDS = { id: 'journalId', chain: 'journalChain', count: 'journalCount' } as const;

export async function readJournalHead(redis: Redis | Cluster, merchantId: string): Promise<JournalHead> {
  const [id, chain] = await redis.hmget(keys.merchant(merchantId), HEAD_FIELDS.id, HEAD_FIELDS.chain);
  return { id: id ?? '', chain: chain ?? '' };
}

/**
 * One step of the chain, as JOURNAL_APPEND computes it: the previous chain ('' or 40 hex digits),
 * the MAC (32 hex digits) and each script-computed field as `name=value` (a name of letters, an
 * integer value), joined by ':'. No part can hold a ':', so the text has one reading only.
 */
export function nextChain(previous: string, mac: string, derived: RecordFields): string {
  const text = [previous, mac, ...derived.map(([name, value]) => `${name}=${value}`)].join(':');
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Lua: `journalAppend(stream, merchantKey, at, derived, head)` appends one entry. ARGV[at] is the
 * number of caller fields n, ARGV[at+1 .. at+2n] the fields, ARGV[at+2n+1] their MAC
 * (journalEntryArgs); `derived` is a flat {name, value, ...} list of fields the script computed
 * (not MACed, chained); `head` is {journalChain, journalCount} when the script has already read
 * them from the merchant hash (one HMGET less), nil to read them here. Returns the entry's stream
 * id. Every journal append goes through it.
 */
export const JOURNAL_APPEND = `
local function journalAppend(stream, merchantKey, at, derived, head)
  local n = tonumber(ARGV[at])
  local entry = {}
  for i = at + 1, at + 2 * n do entry[#entry + 1] = ARGV[i] end
  local mac = ARGV[at + 2 * n + 1]
  entry[#entry + 1] = 'mac'
  entry[#entry + 1] = mac
  local h = head or redis.call('HMGET', merchantKey, '${HEAD_FIELDS.chain}', '${HEAD_FIELDS.count}')
  local text = { h[1] or '', mac }
  for i = 1, #derived, 2 do
    local name, v = derived[i], derived[i + 1]
    if type(v) == 'number' then v = string.format('%d', v) end
    entry[#entry + 1] = name
    entry[#entry + 1] = v
    text[#text + 1] = name .. '=' .. v
  end
  local chain = redis.sha1hex(table.concat(text, ':'))
  entry[#entry + 1] = 'chain'
  entry[#entry + 1] = chain
  local id = redis.call('XADD', stream, '*', unpack(entry))
  redis.call('HSET', merchantKey, '${HEAD_FIELDS.id}', id, '${HEAD_FIELDS.chain}', chain, '${HEAD_FIELDS.count}',
    (tonumber(h[2]) or 0) + 1)
  return id
end
`;
