/**
 * Terminals: provisioned with a 32-byte key that is stored only sealed under the master key and
 * shown to the operator once, when it is made.
 */
import { randomBytes } from 'node:crypto';
import { TERMINAL_ID_PATTERN, TERMINAL_KEY_SIZE } from '../../protocol/constants.js';
import { kickMessage } from '../store/kick.js';
import { keys } from '../store/keys.js';
import { sealVersioned, terminalKeyAad } from '../store/secrets.js';
import { int, requireJournalKey, requireMasterKey, type AdminContext } from './context.js';
import { JOURNAL_APPEND, journalEntryArgs, readJournalHead } from '../store/journal.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { dayLimits, merchantIds, setLimits, showMerchant, type DayLimits } from './merchants.js';
import { Script } from '../store/script.js';
import { parseHealth, viewHealth, type HealthView } from '../store/health.js';
import { csvLine } from './csv.js';

export interface Terminal {
  terminalId: string;
  merchantId: string;
  status: 'active' | 'disabled';
  keyVersion: number;
  /** The highest sequence number the gateway has accepted from it. */
  hwm: number;
  /** Daily caps on this terminal's payments. */
  limits: DayLimits;
  createdAt: number;
  /** A session of it is open on a gateway instance (its record expires if that instance dies). */
  online: boolean;
  /** Its last contact (epoch ms): the later of the open session's last request and the terminal's own mark; null: never seen. */
  lastSeen: number | null;
  /** The gateway instance holding its session; null when offline. */
  instance: string | null;
  /** The firmware version of its last approved sign-in. */
  firmware: string | null;
  /** Its last approved sign-in (epoch ms). */
  signedInAt: number | null;
  /** Requests whose MAC did not verify, all time. */
  badMacs: number;
  /** What its last heartbeat reported (PROTOCOL.md §3.2), and when. */
  health: HealthView | null;
  healthAt: number | null;
}

export interface ProvisionedKey {
  terminalId: string;
  merchantId: string;
  /** The clear terminal key, 64 hex digits: load it into the terminal; it is not shown again. */
  key: string;
  keyVersion: number;
}

/** Creates the terminal and adds it to its merchant, unless it exists. */
export const CREATE_TERMINAL = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'merchant', ARGV[2], 'status', 'active', 'keyEnc', ARGV[3],
  'keyVersion', 1, 'hwm', 0, 'badMacs', 0, 'createdAt', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`);

/**
 * Replaces the sealed key, which was sealed for the next key version (its associated data names
 * it), only if the version is still the one it was sealed after; the session signed in under the
 * old key is left alone; and appends the `key` journal entry of the rotation (KEYS[2] journal,
 * KEYS[3] merchant hash, ARGV[3..] journalEntryArgs). ARGV[1] sealed key, ARGV[2] the version it
 * replaces → the new version, 0 for no such terminal, -1 when another rotation came first.
 */
const ROTATE_KEY = new Script(`${JOURNAL_APPEND}
local version = redis.call('HGET', KEYS[1], 'keyVersion')
if not version then return 0 end
if version ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'keyEnc', ARGV[1])
journalAppend(KEYS[2], KEYS[3], 3, {})
return redis.call('HINCRBY', KEYS[1], 'keyVersion', 1)
`);

/**
 * Disables the terminal and ends its session, so no further request of it is served. Returns
 * {1, instance, connection} of the session it ended (empty when there was none), or {0}.
 */
const DISABLE_TERMINAL = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
redis.call('HSET', KEYS[1], 'status', 'disabled')
local session = redis.call('HMGET', KEYS[2], 'instance', 'conn')
redis.call('DEL', KEYS[2])
return {1, session[1] or '', session[2] or ''}
`);

const ENABLE_TERMINAL = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'active')
return 1
`);

export function checkTerminalId(id: string): void {
  if (!TERMINAL_ID_PATTERN.test(id)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad terminal id ${JSON.stringify(id)}: exactly 8 of 0-9 A-Z`);
  }
}

/** Reads a terminal key typed by the operator: 64 hex digits. */
export function parseTerminalKey(hex: string): Buffer {
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== TERMINAL_KEY_SIZE * 2) {
    throw new AdminError(AdminErrorCode.INVALID, `a terminal key is ${TERMINAL_KEY_SIZE * 2} hex digits`);
  }
  return Buffer.from(hex, 'hex');
}

export async function addTerminal(
  context: AdminContext,
  terminalId: string,
  merchantId: string,
  key?: Buffer,
): Promise<ProvisionedKey> {
  checkTerminalId(terminalId);
  if (key !== undefined && key.length !== TERMINAL_KEY_SIZE) {
    throw new AdminError(AdminErrorCode.INVALID, `a terminal key is ${TERMINAL_KEY_SIZE} bytes`);
  }
  const masterKey = requireMasterKey(context);
  await showMerchant(context, merchantId);
  const { redis } = context;

  // Terminal ids are unique across merchants: the index entry claims the id first. An entry that
  // already names this merchant without a terminal record is a crashed earlier add: finish it.
  const claimed = await redis.set(keys.terminalMerchant(terminalId), merchantId, 'NX');
  if (claimed === null) {
    const owner = await redis.get(keys.terminalMerchant(terminalId));
    const exists = await redis.exists(keys.terminal(owner ?? merchantId, terminalId));
    if (owner !== merchantId || exists === 1) {
      throw new AdminError(AdminErrorCode.EXISTS, `terminal ${terminalId} already exists (merchant ${owner})`);
    }
  }

  const clear = key ?? randomBytes(TERMINAL_KEY_SIZE);
  const created = await CREATE_TERMINAL.run(
    redis,
    [keys.terminal(merchantId, terminalId), keys.terminals(merchantId)],
    [terminalId, merchantId, sealVersioned(masterKey, clear, terminalKeyAad(merchantId, terminalId, 1)), context.now()],
  );
  if (created === 0) throw new AdminError(AdminErrorCode.EXISTS, `terminal ${terminalId} already exists`);
  return { terminalId, merchantId, key: clear.toString('hex'), keyVersion: 1 };
}

/** The merchant a terminal belongs to; NOT_FOUND for an unknown terminal. */
export async function merchantOfTerminal(context: AdminContext, terminalId: string): Promise<string> {
  checkTerminalId(terminalId);
  const merchantId = await context.redis.get(keys.terminalMerchant(terminalId));
  if (merchantId === null) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
  return merchantId;
}

export async function showTerminal(context: AdminContext, terminalId: string): Promise<Terminal> {
  const merchantId = await merchantOfTerminal(context, terminalId);
  const [hash, session] = await Promise.all([
    context.redis.hgetall(keys.terminal(merchantId, terminalId)),
    context.redis.hmget(keys.session(merchantId, terminalId), ...SESSION_FIELDS),
  ]);
  if (hash.id === undefined) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
  return toTerminal(terminalId, merchantId, hash, session);
}

/** What the fleet view reads from a session record: [instance, lastSeen]. */
const SESSION_FIELDS = ['instance', 'lastSeen'] as const;

const msOrNull = (text: string | null | undefined): number | null => (text ? Number(text) : null);

function toTerminal(terminalId: string, merchantId: string, hash: Record<string, string>, session: Array<string | null>): Terminal {
  const [instance = null, sessionSeen = null] = session;
  const online = instance !== null;
  const seen = [msOrNull(hash.lastSeen), msOrNull(sessionSeen)].filter((t): t is number => t !== null);
  const health = parseHealth(hash.health);
  return {
    terminalId,
    merchantId,
    status: hash.status === 'disabled' ? 'disabled' : 'active',
    keyVersion: int(hash, 'keyVersion'),
    hwm: int(hash, 'hwm'),
    limits: dayLimits(hash),
    createdAt: int(hash, 'createdAt'),
    online,
    lastSeen: seen.length === 0 ? null : Math.max(...seen),
    instance: online ? instance : null,
    firmware: hash.firmware ?? null,
    signedInAt: msOrNull(hash.signedInAt),
    badMacs: int(hash, 'badMacs'),
    health: health === null ? null : viewHealth(health),
    healthAt: msOrNull(hash.healthAt),
  };
}

export async function setTerminalLimits(context: AdminContext, terminalId: string, limits: DayLimits): Promise<Terminal> {
  const merchantId = await merchantOfTerminal(context, terminalId);
  if (!(await setLimits(context, keys.terminal(merchantId, terminalId), limits))) {
    throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
  }
  return showTerminal(context, terminalId);
}

/** Every terminal, or one merchant's, sorted by id, with where and how each is (the fleet view). */
export async function listTerminals(context: AdminContext, merchantId?: string): Promise<Terminal[]> {
  const merchants = merchantId === undefined ? await merchantIds(context) : [(await showMerchant(context, merchantId)).id];
  const perMerchant = await Promise.all(
    merchants.map(async (mid) => {
      const ids = await context.redis.smembers(keys.terminals(mid));
      // Both reads of every terminal go out at once: one wait per merchant, not per terminal.
      const records = await Promise.all(
        ids.map((tid) => Promise.all([context.redis.hgetall(keys.terminal(mid, tid)), context.redis.hmget(keys.session(mid, tid), ...SESSION_FIELDS)])),
      );
      return ids.map((tid, i) => toTerminal(tid, mid, records[i]?.[0] ?? {}, records[i]?.[1] ?? []));
    }),
  );
  return perMerchant.flat().sort((x, y) => (x.terminalId < y.terminalId ? -1 : x.terminalId > y.terminalId ? 1 : 0));
}

export interface FleetQuery {
  merchantId?: string;
  /** Only terminals not seen for this long (ms), including those never seen. */
  offlineForMs?: number;
  /** Page size (1..MAX_FLEET_PAGE). */
  limit: number;
  /** The last terminal id of the previous page. */
  cursor?: string;
}

export interface FleetPage {
  terminals: Terminal[];
  /** Give it as `cursor` for the next page; null on the last. */
  cursor: string | null;
}

export const MAX_FLEET_PAGE = 10_000;

/** `terminal list`: the fleet by terminal id, filtered and paged. */
export async function fleetPage(context: AdminContext, query: FleetQuery): Promise<FleetPage> {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_FLEET_PAGE) {
    throw new AdminError(AdminErrorCode.INVALID, `--limit must be a whole number from 1 to ${MAX_FLEET_PAGE}`);
  }
  if (query.cursor !== undefined) checkTerminalId(query.cursor);
  const seenBefore = query.offlineForMs === undefined ? null : context.now() - query.offlineForMs;
  const matching = (await listTerminals(context, query.merchantId)).filter(
    (t) => (query.cursor === undefined || t.terminalId > query.cursor) && (seenBefore === null || t.lastSeen === null || t.lastSeen <= seenBefore),
  );
  const terminals = matching.slice(0, query.limit);
  return { terminals, cursor: matching.length > query.limit ? terminals.at(-1)!.terminalId : null };
}

export async function disableTerminal(context: AdminContext, terminalId: string): Promise<Terminal> {
  const merchantId = await merchantOfTerminal(context, terminalId);
  const [done, instanceId = '', connectionId = ''] = (await DISABLE_TERMINAL.run(
    context.redis,
    [keys.terminal(merchantId, terminalId), keys.session(merchantId, terminalId)],
    [],
  )) as [number, string?, string?];
  if (done === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
  // The gateway instance holding the terminal's connection closes it when told on its channel.
  if (instanceId !== '' && connectionId !== '') {
    await context.redis.publish(keys.kickChannel(instanceId), kickMessage('disabled', connectionId));
  }
  return showTerminal(context, terminalId);
}

/** Lets a disabled terminal sign in again (with its current key). */
export async function enableTerminal(context: AdminContext, terminalId: string): Promise<Terminal> {
  const merchantId = await merchantOfTerminal(context, terminalId);
  const done = await ENABLE_TERMINAL.run(context.redis, [keys.terminal(merchantId, terminalId)], []);
  if (done === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
  return showTerminal(context, terminalId);
}

/**
 * A new key for the terminal. Other terminals are not touched, and the terminal's current session
 * (its session key was derived from the old key) carries on until it signs in again, which it must
 * then do with the new key.
 */
export async function rotateTerminalKey(context: AdminContext, terminalId: string, key?: Buffer): Promise<ProvisionedKey> {
  const masterKey = requireMasterKey(context);
  const journalKey = requireJournalKey(context, 'journals the rotation');
  const merchantId = await merchantOfTerminal(context, terminalId);
  if (key !== undefined && key.length !== TERMINAL_KEY_SIZE) {
    throw new AdminError(AdminErrorCode.INVALID, `a terminal key is ${TERMINAL_KEY_SIZE} bytes`);
  }
  const clear = key ?? randomBytes(TERMINAL_KEY_SIZE);
  const record = keys.terminal(merchantId, terminalId);
  for (;;) {
    const current = Number(await context.redis.hget(record, 'keyVersion'));
    const sealed = sealVersioned(masterKey, clear, terminalKeyAad(merchantId, terminalId, current + 1));
    // The rotation journaled in the same step: the chain (and a checkpoint) keeps the version a
    // terminal's key reached, so verify finds its record put back to an older one.
    const entry = journalEntryArgs(journalKey, merchantId, await readJournalHead(context.redis, merchantId), [
      ['kind', 'key'],
      ['terminal', terminalId],
      ['keyVersion', current + 1],
      ['ts', context.now()],
      ['operator', context.operator ?? ''],
    ]);
    const version = Number(await ROTATE_KEY.run(context.redis, [record, keys.journal(merchantId), keys.merchant(merchantId)], [sealed, current, ...entry]));
    if (version === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
    if (version > 0) return { terminalId, merchantId, key: clear.toString('hex'), keyVersion: version };
  }
}

const FLEET_CSV_COLUMNS = [
  'terminal', 'merchant', 'status', 'online', 'last_seen', 'instance', 'firmware', 'signed_in', 'bad_macs',
  'signal', 'signal_class', 'power', 'battery', 'printer', 'health_at', 'key_version', 'last_seq',
] as const;

/** `terminal list --csv`: one row a terminal, times in local time (`localTime`), empty where unknown. */
export function fleetCsv(terminals: Terminal[], localTime: (epochMs: number) => string): string {
  const time = (ms: number | null) => (ms === null ? '' : localTime(ms));
  const rows = terminals.map((t) =>
    csvLine([
      t.terminalId, t.merchantId, t.status, t.online ? 'online' : 'offline', time(t.lastSeen), t.instance ?? '', t.firmware ?? '',
      time(t.signedInAt), t.badMacs, t.health?.signal ?? '', t.health?.signalClass ?? '', t.health?.power ?? '', t.health?.battery ?? '',
      t.health?.printer ?? '', time(t.healthAt), t.keyVersion, t.hwm,
    ]),
  );
  return `${[csvLine([...FLEET_CSV_COLUMNS]), ...rows].join('\n')}\n`;
}
