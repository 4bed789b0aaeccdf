/**
 * The journal export: every merchant's append-only journal (top-ups, payments, corrections)
 * between two business days, as JSON lines or CSV.
 */
import { keys } from '../store/keys.js';
import type { AdminContext } from './context.js';
import { csvLine } from './csv.js';
import { merchantIds } from './merchants.js';

export interface JournalEntry {
  merchant: string;
  /** Stream entry id: milliseconds-sequence, in the order the entries were written. */
  id: string;
  kind: 'topup' | 'pay' | 'correct';
  /** Receipt of the payment or correction; empty for a top-up. */
  txn: string;
  terminal: string;
  amountFen: number;
  /** The float after this movement. */
  floatFen: number;
  /** Business day, YYYYMMDD. */
  day: number;
  /** Epoch milliseconds. */
  ts: number;
  /** For a correction: the receipt of the payment it undid. */
  original?: string;
}

/** Entries are read this many at a time. */
const PAGE = 1000;

/** One merchant's entries in stream order, page by page from `start` (inclusive), ending at `end`. */
export async function* readJournal(context: AdminContext, merchant: string, start = '-', end = '+'): AsyncGenerator<JournalEntry> {
  let from = start;
  for (;;) {
    const page = await context.redis.xrange(keys.journal(merchant), from, end, 'COUNT', PAGE);
    for (const [id, fields] of page) yield toEntry(merchant, id, fields);
    if (page.length < PAGE) return;
    from = `(${page[page.length - 1]![0]}`;
  }
}

function toEntry(merchant: string, id: string, fields: string[]): JournalEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const entry: JournalEntry = {
    merchant,
    id,
    kind: f.get('kind') as JournalEntry['kind'],
    txn: f.get('txn') ?? '',
    terminal: f.get('terminal') ?? '',
    amountFen: Number(f.get('amountFen') ?? 0),
    floatFen: Number(f.get('floatFen') ?? 0),
    day: Number(f.get('day') ?? 0),
    ts: Number(f.get('ts') ?? 0),
  };
  const original = f.get('original');
  if (original !== undefined) entry.original = original;
  return entry;
}

/**
 * Every merchant's entries whose business day is within [fromDay, toDay] (either may be left
 * open), merchant by merchant in id order, each merchant's in the order they were written.
 */
export async function exportJournal(context: AdminContext, fromDay?: number, toDay?: number): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for (const merchant of await merchantIds(context)) {
    for await (const entry of readJournal(context, merchant)) {
      if ((fromDay === undefined || entry.day >= fromDay) && (toDay === undefined || entry.day <= toDay)) entries.push(entry);
    }
  }
  return entries;
}

const CSV_COLUMNS = ['merchant', 'id', 'kind', 'txn', 'original', 'terminal', 'amountFen', 'floatFen', 'day', 'ts'] as const;

export function journalCsv(entries: JournalEntry[]): string {
  const lines = [csvLine([...CSV_COLUMNS]), ...entries.map((e) => csvLine(CSV_COLUMNS.map((c) => e[c] ?? '')))];
  return `${lines.join('\n')}\n`;
}

export function journalJsonLines(entries: JournalEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}
