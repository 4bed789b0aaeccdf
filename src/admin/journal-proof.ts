/**
 * The journal's proof (src/store/journal.ts): each merchant's stream walked from its first entry,
 * every MAC checked under the journal key and the chain recomputed, the head key compared with the
 * last entry, and the totals per kind summed. `verify` reports what it finds; `journal checkpoint`
 * exports the heads and totals to keep outside Redis, and `verify --checkpoint` finds a rollback to
 * before that checkpoint or a history rewritten before it.
 *
 * Beside live traffic: every entry is checked, and entries appended during the walk are walked too
 * before the head record is compared.
 */
import { HEAD_FIELDS, journalScope, nextChain, recordMac } from '../store/journal.js';
import { keys } from '../store/keys.js';
import type { AdminContext } from './context.js';

/** Count and fen of one kind of entry. */
export interface KindTotal {
  count: number;
  fen: number;
}

/** A journal's state at its head: what a checkpoint keeps per merchant. */
export interface JournalState {
  merchant: string;
  /** Stream id of the newest entry ('' for an empty journal). */
  id: string;
  chain: string;
  count: number;
  /** By kind (topup, pay, correct, and whatever kinds are added). */
  totals: Record<string, KindTotal>;
}

export interface JournalWalk {
  state: JournalState;
  discrepancies: string[];
  /** Terminal → the highest key version its `key` entries (rotate-key) journaled, and that entry. */
  keyVersions: Map<string, { version: number; id: string }>;
}

/** A merchant's lines beyond this many are summed up in one line. */
const MAX_LINES = 10;
const PAGE = 1000;

/**
 * Walks one merchant's journal up to its head. With `checkpoint` (that merchant's state at an
 * earlier checkpoint), also checks that the journal still passes through it unchanged.
 *
 * `journalKeys` holds the journal key of each master key version given (version → key). An entry MACed
 * under a version not given (one retired by a rotation) cannot be checked itself; it passes only
 * if a later entry whose MAC is checked vouches for a chain value at or after it (a rotation
 * appends one to every journal, src/admin/master-key.ts), or the checkpoint does.
 */
export async function walkJournal(
  context: AdminContext,
  journalKeys: ReadonlyMap<number, Buffer>,
  merchant: string,
  checkpoint?: JournalState,
): Promise<JournalWalk> {
  const problems: string[] = [];
  const say = (text: string) => problems.push(`merchant ${merchant}: journal ${text}`);
  const state: JournalState = { merchant, id: '', chain: '', count: 0, totals: {} };
  const chains = new Map<string, string>([['', '']]);
  /** Entry id → its position (1 for the first entry). */
  const positions = new Map<string, number>([['', 0]]);
  /** Entries whose MAC could not be checked here and that nothing checked vouches for yet, oldest first. */
  let unvouched: Array<{ id: string; position: number; version: number }> = [];
  const vouchedUpTo = (position: number) => (unvouched = unvouched.filter((u) => u.position > position));
  /** MAC → the entry that carries it: a second one is a copy (same fields, same entry vouched for). */
  const macs = new Map<string, string>();
  let reachedCheckpoint = checkpoint === undefined || checkpoint.count === 0;

  const keyVersions = new Map<string, { version: number; id: string }>();
  const check = (id: string, flat: string[]) => {
    const entry = parseEntry(flat);
    if (entry.field('kind') === 'key') {
      const terminal = entry.field('terminal') ?? '';
      const version = Number(entry.field('keyVersion'));
      if (version > (keyVersions.get(terminal)?.version ?? 0)) keyVersions.set(terminal, { version, id });
    }
    const label = `entry ${id} (${entry.field('kind') ?? '?'} ${entry.field('amountFen') ?? '?'} fen)`;
    if (entry.mac === undefined || entry.chain === undefined) say(`${label} has no MAC or chain: written without the journal key`);
    else {
      if (nextChain(state.chain, entry.mac, entry.derived) !== entry.chain) {
        say(`${label}: the chain breaks here (an entry before it removed, inserted or reordered, or this one edited)`);
      }
      if (entry.trailing) say(`${label} has fields after its chain, which no append writes`);
      const seen = entry.field('seen') ?? '';
      const seenChain = chains.get(seen);
      const version = Number(entry.field('kv') ?? 1);
      const key = journalKeys.get(version);
      if (seenChain === undefined) say(`${label} vouches for ${seen}, which is no earlier entry`);
      else if (key === undefined) unvouched.push({ id, position: state.count + 1, version });
      else if (recordMac(key, journalScope(merchant, { id: seen, chain: seenChain }), entry.maced) !== entry.mac) {
        say(`${label}: MAC does not verify (forged or edited, or the history it vouches for was rewritten)`);
      } else if (macs.has(entry.mac)) say(`${label} repeats entry ${macs.get(entry.mac)}: a genuine entry copied`);
      else {
        macs.set(entry.mac, id);
        vouchedUpTo(positions.get(seen) ?? 0);
      }
    }
    state.id = id;
    state.chain = entry.chain ?? '';
    state.count += 1;
    chains.set(id, state.chain);
    positions.set(id, state.count);
    const total = (state.totals[entry.field('kind') ?? ''] ??= { count: 0, fen: 0 });
    total.count += 1;
    total.fen += Number(entry.field('amountFen') ?? 0);
    if (checkpoint !== undefined && id === checkpoint.id) {
      reachedCheckpoint = true;
      if (state.chain !== checkpoint.chain || state.count !== checkpoint.count || !sameTotals(state.totals, checkpoint.totals)) {
        say(`differs from the checkpoint at ${id} (chain, count ${state.count} against ${checkpoint.count}, or totals): history before the checkpoint was rewritten`);
      } else vouchedUpTo(state.count);
    }
  };

  // The head is read first, then every entry walked: each append writes its entry and the head in
  // one step, so the entry the head names is in the stream, and whatever traffic appends meanwhile
  // lies beyond it (checked by MAC and chain like the rest, compared with no head this time).
  const [headId, headChain, headCount] = await context.redis.hmget(keys.merchant(merchant), HEAD_FIELDS.id, HEAD_FIELDS.chain, HEAD_FIELDS.count);
  const head = { id: headId ?? undefined, chain: headChain ?? undefined, count: headCount ?? undefined };
  let atHead: { chain: string; count: number } | undefined;
  let from = '-';
  for (;;) {
    const page = await context.redis.xrange(keys.journal(merchant), from, '+', 'COUNT', PAGE);
    for (const [id, flat] of page) {
      check(id, flat);
      if (id === head.id) atHead = { chain: state.chain, count: state.count };
    }
    if (page.length < PAGE) break;
    from = `(${page[page.length - 1]![0]}`;
  }

  if (head.id === undefined) {
    if (state.count > 0) say(`has ${state.count} entries but no head record`);
  } else if (atHead === undefined) {
    say(`head record names entry ${head.id}, which is not in the journal (${state.count} entries)`);
  } else if (head.chain !== atHead.chain || Number(head.count) !== atHead.count) {
    say(`head record (${head.id}, ${head.count} entries) does not match the journal there (${atHead.count} entries)`);
  }
  const first = unvouched[0];
  if (first !== undefined) {
    say(
      `has ${unvouched.length} entr${unvouched.length === 1 ? 'y' : 'ies'} from ${first.id} on MACed under master key version ${first.version}, ` +
        'which verify was not given, and no later entry or checkpoint vouches for them: give that key as AIRCHARGE_MASTER_KEY_PREVIOUS, or finish the rotation (aircharge master-key rotate)',
    );
  }
  if (!reachedCheckpoint && checkpoint !== undefined) {
    say(
      state.count < checkpoint.count
        ? `has ${state.count} entries, fewer than the ${checkpoint.count} at the checkpoint: rolled back to before it`
        : `no longer holds the checkpoint's entry ${checkpoint.id}: history before the checkpoint was rewritten`,
    );
  }
  const discrepancies = problems.length <= MAX_LINES ? problems : [...problems.slice(0, MAX_LINES), `merchant ${merchant}: journal has ${problems.length - MAX_LINES} more problems`];
  return { state, discrepancies, keyVersions };
}

function sameTotals(a: Record<string, KindTotal>, b: Record<string, KindTotal>): boolean {
  const kinds = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...kinds].every((k) => a[k]?.count === b[k]?.count && a[k]?.fen === b[k]?.fen);
}

/** A stored entry cut into what the MAC covers, the MAC, and what the chain covers. */
function parseEntry(flat: string[]) {
  const at = (name: string) => {
    for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return i;
    return -1;
  };
  const macAt = at('mac');
  const chainAt = at('chain');
  return {
    maced: pairs(flat.slice(0, macAt < 0 ? 0 : macAt)),
    mac: macAt < 0 ? undefined : flat[macAt + 1],
    chain: chainAt < 0 ? undefined : flat[chainAt + 1],
    /** The fields the script computed (between the MAC and the chain): chained, not MACed. */
    derived: pairs(flat.slice(macAt + 2, chainAt < 0 ? flat.length : chainAt)),
    trailing: chainAt >= 0 && chainAt + 2 < flat.length,
    field: (name: string) => {
      const i = at(name);
      return i < 0 ? undefined : flat[i + 1];
    },
  };
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
