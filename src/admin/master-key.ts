/**
 * `aircharge master-key rotate` (issue 13 finding 7): everything sealed or MACed under the master
 * key moves to a new version, online, while gateways serve.
 *
 * The procedure (src/ops/README.md "Rotating the master key"): restart every gateway and console
 * with the new key as AIRCHARGE_MASTER_KEY and the current one as AIRCHARGE_MASTER_KEY_PREVIOUS
 * (the first registers the new key as version current + 1, store/key-check.ts); they unseal keys of
 * either version and seal and MAC everything new under the new one. Then this command, run with
 * the same two keys:
 * 1. re-seals every terminal key under the new version (same terminal, same key version: only the
 *    master key changes), each with a compare-and-set so a rotate-key meanwhile is not undone;
 * 2. re-MACs every account's bill seal that verifies under the previous key (one that does not is
 *    left as it is and named: re-sealing it would launder a tampered roster);
 * 3. appends a `master-key` entry to every journal, MACed under the new key, whose `seen` vouches
 *    for the whole chain before it: verify holding only the new key proves the entries MACed under
 *    the retired one through it (journal-proof.ts), and the chain runs on unbroken;
 * 4. makes the new version current: from then on a process holding only the old key refuses to
 *    start.
 * Each step skips what is already under the new version, so the command is idempotent and resumes
 * where a crash left it; it is audited (`master-key.rotate`, with the operator) when it finishes.
 */
import { keys } from '../store/keys.js';
import { finishRotation, masterKeyVersions } from '../store/key-check.js';
import { JOURNAL_APPEND, journalEntryArgs, journalKeyOf, readJournalHead } from '../store/journal.js';
import { Script } from '../store/script.js';
import { sealedVersion, sealVersioned, terminalKeyAad, unsealVersioned } from '../store/secrets.js';
import { appendAudit, requireOperator } from './audit.js';
import { billsMac, checkBillsSeal, ROSTER_DIGEST_LUA, rosterDigest } from './bill-seal.js';
import { requireJournalKeys, requireMasterKeys, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { merchantIds } from './merchants.js';

export interface MasterKeyRotation {
  /** The version rotated away from and the one everything is now under. */
  from: number;
  to: number;
  /** Re-sealed now, and found under the new version already (an earlier, interrupted run). */
  terminals: { resealed: number; already: number };
  accounts: { resealed: number; already: number };
  /** Journals given their `master-key` entry now, and those whose newest entry is one already. */
  journals: { marked: number; already: number };
  /** What could not be moved (a key that does not unseal, a broken bill seal): then the rotation is not finished. */
  problems: string[];
  /** True once the new version is current. */
  finished: boolean;
}

/** Swaps a terminal's sealed key only if it is still the one read (a rotate-key meanwhile wins). ARGV[1] old, ARGV[2] new. */
const RESEAL_TERMINAL = new Script(`
if redis.call('HGET', KEYS[1], 'keyEnc') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'keyEnc', ARGV[2])
return 1
`);

/** Swaps an account's bill seal only if the seal and the roster are still the ones read. ARGV[1] old seal, ARGV[2] roster digest, ARGV[3] new seal. */
const RESEAL_BILLS = new Script(`${ROSTER_DIGEST_LUA}
if redis.call('HGET', KEYS[1], 'billsMac') ~= ARGV[1] or rosterDigest(KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'billsMac', ARGV[3])
return 1
`);

/** Appends a key event (a `master-key` or `key` entry, no money) to a merchant's journal. */
export const KEY_EVENT = new Script(`${JOURNAL_APPEND}
return journalAppend(KEYS[1], KEYS[2], 1, {})
`);

/**
 * Whether nothing in the merchant's journal is left for a `master-key` entry of `version` to vouch
 * for: walking back from the newest entry, that entry comes before any entry MACed under an older
 * version (an empty journal needs none).
 */
async function journalVouchedFor(context: AdminContext, merchant: string, version: number): Promise<boolean> {
  let end = '+';
  for (;;) {
    const page = await context.redis.xrevrange(keys.journal(merchant), end, '-', 'COUNT', 100);
    for (const [, fields] of page) {
      const field = (name: string) => {
        for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
        return undefined;
      };
      const kv = Number(field('kv') ?? 1);
      if (kv < version) return false;
      if (field('kind') === 'master-key' && kv === version) return true;
    }
    if (page.length < 100) return true;
    end = `(${page[page.length - 1]![0]}`;
  }
}

export async function rotateMasterKey(context: AdminContext): Promise<MasterKeyRotation> {
  const held = requireMasterKeys(context, 're-seals every terminal key');
  requireOperator(context);
  const { redis } = context;
  const versions = await masterKeyVersions(redis);
  const target = held.current;
  if (held.previous === null || (versions.next !== target.version && versions.current !== target.version)) {
    throw new AdminError(
      AdminErrorCode.INVALID,
      'give the new master key as AIRCHARGE_MASTER_KEY and the current one as AIRCHARGE_MASTER_KEY_PREVIOUS (after restarting the gateways with both)',
    );
  }
  const result: MasterKeyRotation = {
    from: held.previous.version,
    to: target.version,
    terminals: { resealed: 0, already: 0 },
    accounts: { resealed: 0, already: 0 },
    journals: { marked: 0, already: 0 },
    problems: [],
    finished: false,
  };
  const merchants = await merchantIds(context);

  for (const merchant of merchants) {
    for (const terminal of (await redis.smembers(keys.terminals(merchant))).sort()) {
      const record = keys.terminal(merchant, terminal);
      for (;;) {
        const [stored, keyVersion] = await redis.hmget(record, 'keyEnc', 'keyVersion');
        if (!stored) break;
        if (sealedVersion(stored).version === target.version) {
          result.terminals.already += 1;
          break;
        }
        const aad = terminalKeyAad(merchant, terminal, Number(keyVersion));
        let clear: Buffer;
        try {
          clear = unsealVersioned(held, stored, aad);
        } catch {
          result.problems.push(`terminal ${terminal}: its key does not unseal under master key version ${sealedVersion(stored).version} (copied, restored or altered): left as it is; rotate-key it`);
          break;
        }
        if (Number(await RESEAL_TERMINAL.run(redis, [record], [stored, sealVersioned(target, clear, aad)])) === 1) {
          result.terminals.resealed += 1;
          break;
        }
      }
    }
  }

  const journalKeys = requireJournalKeys(context, 're-seals the bills');
  const newKey = journalKeyOf(target);
  for (const account of (await redis.smembers(keys.accounts())).sort()) {
    for (;;) {
      const [sealed, roster] = await Promise.all([redis.hget(keys.account(account), 'billsMac'), redis.hgetall(keys.bills(account))]);
      if (!sealed) break; // never sealed: verify names it, an import seals it
      const check = checkBillsSeal(journalKeys, account, roster, sealed);
      if (check === 'sealed' && sealed === billsMac(newKey, account, roster)) {
        result.accounts.already += 1;
        break;
      }
      if (check !== 'sealed') {
        result.problems.push(`account ${account}: its bills do not match their seal: left as it is (verify names it)`);
        break;
      }
      const swapped = await RESEAL_BILLS.run(redis, [keys.account(account), keys.bills(account)], [sealed, rosterDigest(roster), billsMac(newKey, account, roster)]);
      if (Number(swapped) === 1) {
        result.accounts.resealed += 1;
        break;
      }
    }
  }

  for (const merchant of merchants) {
    if (await journalVouchedFor(context, merchant, target.version)) {
      result.journals.already += 1;
      continue;
    }
    const seen = await readJournalHead(redis, merchant);
    await KEY_EVENT.run(redis, [keys.journal(merchant), keys.merchant(merchant)], journalEntryArgs(newKey, merchant, seen, [
      ['kind', 'master-key'],
      ['version', target.version],
      ['ts', context.now()],
      ['operator', context.operator ?? ''],
    ]));
    result.journals.marked += 1;
  }

  if (result.problems.length === 0) {
    await finishRotation(redis, target.version);
    result.finished = (await masterKeyVersions(redis)).current === target.version;
  }
  await appendAudit(context, {
    action: 'master-key.rotate',
    target: `version ${target.version}`,
    before: { version: held.previous.version },
    after: { version: target.version, finished: result.finished, terminals: result.terminals, accounts: result.accounts, journals: result.journals, problems: result.problems.length },
  });
  return result;
}
