/**
 * `journal checkpoint`: every merchant's journal head (stream id, chain, count) and its totals per
 * kind, MACed under the journal key, as a file the operator keeps OUTSIDE Redis — as Certificate
 * Transparency keeps its signed tree head elsewhere. Someone who can write to Redis can rewrite
 * the newest entries (no later entry vouches for them yet) or restore an older dump; against a
 * checkpoint kept elsewhere, `verify --checkpoint FILE` finds both.
 */
import { recordMac } from '../store/journal.js';
import { requireJournalKey, requireJournalKeys, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { walkJournal, type JournalState } from './journal-proof.js';
import { merchantIds } from './merchants.js';

export const CHECKPOINT_FORMAT = 'aircharge-journal-checkpoint/1';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** When it was taken, ISO 8601. */
  at: string;
  /** The master key version whose journal key MACs it (absent: 1, a checkpoint from before versions). */
  keyVersion?: number;
  merchants: JournalState[];
  /** Over everything above, under the journal key. */
  mac: string;
}

function checkpointMac(key: Buffer, body: Omit<Checkpoint, 'mac'>): string {
  return recordMac(key, 'checkpoint', [['body', JSON.stringify(body)]]);
}

/** Walks every journal; refuses to vouch for one that does not verify (AdminError JOURNAL). */
export async function takeCheckpoint(context: AdminContext): Promise<Checkpoint> {
  const key = requireJournalKey(context, 'MACs the checkpoint');
  const held = requireJournalKeys(context, 'checks the journal');
  const merchants: JournalState[] = [];
  const problems: string[] = [];
  for (const merchant of await merchantIds(context)) {
    const walk = await walkJournal(context, held, merchant);
    merchants.push(walk.state);
    problems.push(...walk.discrepancies);
  }
  if (problems.length > 0) {
    throw new AdminError(AdminErrorCode.JOURNAL, `the journal does not verify, no checkpoint taken: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, problems);
  }
  const body = { format: CHECKPOINT_FORMAT, at: new Date(context.now()).toISOString(), keyVersion: key.version, merchants } as const;
  return { ...body, mac: checkpointMac(key.key, body) };
}

/**
 * A checkpoint file's text, checked: its format and its MAC under the journal key of the master key
 * version it names (one taken before a rotation needs the previous key, AIRCHARGE_MASTER_KEY_PREVIOUS).
 */
export function readCheckpoint(context: AdminContext, text: string): Checkpoint {
  const held = requireJournalKeys(context, 'checks the checkpoint');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AdminError(AdminErrorCode.CHECKPOINT, 'the checkpoint file is not JSON');
  }
  const c = parsed as Partial<Checkpoint>;
  if (c?.format !== CHECKPOINT_FORMAT || typeof c.at !== 'string' || !Array.isArray(c.merchants) || typeof c.mac !== 'string') {
    throw new AdminError(AdminErrorCode.CHECKPOINT, `the checkpoint file is not a ${CHECKPOINT_FORMAT}`);
  }
  const { mac, ...body } = c as Checkpoint;
  const version = body.keyVersion ?? 1;
  const key = held.get(version);
  if (key === undefined) {
    throw new AdminError(
      AdminErrorCode.CHECKPOINT,
      `the checkpoint is MACed under master key version ${version}, which is not given: give that key as AIRCHARGE_MASTER_KEY_PREVIOUS to check it`,
    );
  }
  if (checkpointMac(key, body) !== mac) {
    throw new AdminError(AdminErrorCode.CHECKPOINT, 'the checkpoint file does not verify under this master key: altered, or of another network');
  }
  return c as Checkpoint;
}
