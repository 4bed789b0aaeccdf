/**
 * An account's bills sealed under the journal key (src/store/journal.ts recordMac), so a bill
 * removed or rewritten in Redis by someone without the master key is found by verify, even a bill
 * nothing was paid against (which no posting would miss).
 *
 * The seal covers the roster: every bill's id, period, amount, issue date and status, sorted by
 * bill id; not what was paid, which the post and reverse scripts change and verify proves from the
 * postings. `accounts import` computes it in Node over the roster the import leaves and stores it
 * as the account's `billsMac`; ROSTER_DIGEST_LUA lets the write step check that the roster it
 * seals is still the one the check step read.
 */
import { createHash } from 'node:crypto';
import { recordMac, type JournalKey } from '../store/journal.js';

/** `id=period|amount|issueDate|status|` per bill, sorted: what the seal covers. */
export function rosterText(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([billId, record]) => `${billId}=${/^\d+\|\d+\|[^|]*\|[a-z]+\|/.exec(record)?.[0] ?? record}`)
    .sort()
    .join(';');
}

export function rosterDigest(records: Record<string, string>): string {
  return createHash('sha1').update(rosterText(records)).digest('hex');
}

/**
 * The seal as stored (`billsMac`): the MAC, prefixed `<version>:` when made under a master key
 * version after the first (the version picks the key to check it with).
 */
export function billsMac(key: JournalKey, account: string, records: Record<string, string>): string {
  const mac = recordMac(key.key, `bills|${account}`, [['roster', rosterText(records)]]);
  return key.version === 1 ? mac : `${key.version}:${mac}`;
}

/**
 * Checks a stored seal with the journal key of its version (`keys`: version → journal key):
 * 'sealed' when it matches the roster, 'broken' when not, or the version when it is not held here.
 */
export function checkBillsSeal(keys: ReadonlyMap<number, Buffer>, account: string, records: Record<string, string>, stored: string): 'sealed' | 'broken' | number {
  const colon = stored.indexOf(':');
  const version = colon < 0 ? 1 : Number(stored.slice(0, colon));
  const key = keys.get(version);
  if (key === undefined) return version;
  return billsMac({ version, key }, account, records) === stored ? 'sealed' : 'broken';
}

/** Lua: rosterDigest(bills key), the same digest as rosterDigest() over the stored bills. */
export const ROSTER_DIGEST_LUA = `
local function rosterDigest(key)
  local flat = redis.call('HGETALL', key)
  local items = {}
  for i = 1, #flat, 2 do
    items[#items + 1] = flat[i] .. '=' .. (string.match(flat[i + 1], '^%d+|%d+|[^|]*|%l+|') or flat[i + 1])
  end
  table.sort(items)
  return redis.sha1hex(table.concat(items, ';'))
end
`;
