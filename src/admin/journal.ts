/**
 * The journal export: every merchant's append-only journal (top-ups, payments, corrections)
 * between two business days, as JSON lines or CSV.
 */
import { keys } from '../store/keys.js';
import type { AdminContext } from './context.js';
import { csvLine } from './csv.js';
import { formatLocalTime } from './day.js';
import { merchantIds } from './merchants.js';
import { formatYuan } from './money.js';

export interface JournalEntry {
  merchant: string;
  /** Stream entry id: milliseconds-sequence, in the order the entries were written. */
  id: string;
  /** topup (outlet), remit (collector), pay, correct, adjust and reverse (operator); other helpers' kinds pass through as they are. */
  kind: 'topup' | 'pay' | 'correct' | 'remit' | 'adjust' | 'reverse';
  /** Receipt of the payment or correction; empty for a top-up. */
  txn: string;
  terminal: string;
  amountFen: number;
  /** An outlet's float after this movement (0 for a collector's entries). */
  floatFen: number;
  /** A collector's cash held after this movement (collectors' entries only). */
  cashFen?: number;
  /** A top-up's or remittance's reference and reason. */
  ref?: string;
  reason?: string;
  /** Business day, YYYYMMDD. */
  day: number;
  /** Epoch milliseconds. */
  ts: number;
  /** For a correction or reversal: the receipt of the payment it undid. */
  original?: string;
  /** Operator actions (adjust, reverse, re-entered pay): who, and the ticket. */
  operator?: string;
  ticket?: string;
  /** `reentry` for a payment an operator re-entered from the terminal's receipt. */
  origin?: string;
}

/** An exported entry: the entry with the names and local time an operator reads beside it. */
export interface ExportedEntry extends JournalEntry {
  merchantName: string;
  /** The transaction's account and its holder at the embedded biller; '' for a top-up. */
  account: string;
  accountName: string;
  /** `ts` in local time by the business-day offset, e.g. `2026-12-03 16:05:09 +08:00`. */
  localTime: string;
}

/**
 * Kinds of entry that record a key event and move no money: `key` (a terminal's key rotated, with
 * its new key version) and `master-key` (everything moved onto a new master key version). The
 * journal's proof walks them; the money views (this export, statements, reports, verify's sums)
 * leave them out.
 */
export const KEY_EVENT_KINDS: ReadonlySet<string> = new Set(['key', 'master-key']);

/** Entries are read this many at a time. */
const PAGE = 1000;

/** One merchant's entries in stream order, page by page from `start` (inclusive), ending at `end`. */
export async function* readJournal(context: AdminContext, merchant: string, start = '-', end = '+'): AsyncGenerator<JournalEntry> {
  let from = start;
  for (;;) {
    const page = await context.redis.xrange(keys.journal(merchant), from, end, 'COUNT', PAGE);
    for (const [id, fields] of page) if (!isKeyEvent(fields)) yield toEntry(merchant, id, fields);
    if (page.length < PAGE) return;
    from = `(${page[page.length - 1]![0]}`;
  }
}

/** A merchant's last `count` entries, newest first: its statement. */
export async function recentJournal(context: AdminContext, merchant: string, count: number): Promise<JournalEntry[]> {
  const page = await context.redis.xrevrange(keys.journal(merchant), '+', '-', 'COUNT', count);
  return page.filter(([, fields]) => !isKeyEvent(fields)).map(([id, fields]) => toEntry(merchant, id, fields));
}

/**
 * Every merchant's entries written between two instants (epoch ms, inclusive), found by the stream
 * ids, which start with the time they were written: a day's entries without reading the rest.
 */
export async function journalBetween(context: AdminContext, fromMs: number, toMs: number): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for (const merchant of await merchantIds(context)) {
    for await (const entry of readJournal(context, merchant, String(Math.max(0, Math.floor(fromMs))), String(Math.floor(toMs)))) entries.push(entry);
  }
  return entries;
}

function isKeyEvent(fields: string[]): boolean {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'kind') return KEY_EVENT_KINDS.has(fields[i + 1]!);
  return false;
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
  for (const field of ['original', 'ref', 'reason', 'operator', 'ticket', 'origin'] as const) {
    const value = f.get(field);
    if (value !== undefined) entry[field] = value;
  }
  const cash = f.get('cashFen');
  if (cash !== undefined) entry.cashFen = Number(cash);
  return entry;
}

/**
 * Every merchant's entries whose business day is within [fromDay, toDay] (either may be left
 * open), merchant by merchant in id order, each merchant's in the order they were written, with
 * the merchant's name, the transaction's account and holder, and the local time.
 */
export async function exportJournal(context: AdminContext, fromDay?: number, toDay?: number): Promise<ExportedEntry[]> {
  const entries: ExportedEntry[] = [];
  const holders = new Map<string, Promise<string>>();
  const holder = (account: string) => {
    if (!holders.has(account)) holders.set(account, context.redis.hget(keys.account(account), 'name').then((n) => n ?? ''));
    return holders.get(account)!;
  };
  for (const merchant of await merchantIds(context)) {
    const merchantName = (await context.redis.hget(keys.merchant(merchant), 'name')) ?? '';
    const inRange: JournalEntry[] = [];
    for await (const entry of readJournal(context, merchant)) {
      if ((fromDay === undefined || entry.day >= fromDay) && (toDay === undefined || entry.day <= toDay)) inRange.push(entry);
    }
    // The journal names the receipt; its account is in the transaction record.
    const accounts = await Promise.all(inRange.map((e) => (e.txn === '' ? null : context.redis.hget(keys.transaction(merchant, e.txn), 'account'))));
    const names = await Promise.all(accounts.map((a) => (a === null ? '' : holder(a))));
    inRange.forEach((entry, i) =>
      entries.push({
        ...entry,
        merchantName,
        account: accounts[i] ?? '',
        accountName: names[i] ?? '',
        localTime: formatLocalTime(entry.ts, context.businessDay.utcOffsetMinutes),
      }),
    );
  }
  return entries;
}

const CSV_COLUMNS = ['merchant', 'id', 'kind', 'txn', 'original', 'terminal', 'amountFen', 'floatFen', 'day', 'ts'] as const;
/** Added after the original columns, so a reader of the old ones keeps working. */
const NAMED_COLUMNS = ['merchant_name', 'account', 'account_name', 'local_time', 'amount_yuan', 'float_yuan'] as const;
/** Collectors' and operators' movements (issue 12), after those. */
const MOVEMENT_COLUMNS = ['cashFen', 'ref', 'reason'] as const;

export function journalCsv(entries: ExportedEntry[]): string {
  const lines = [
    csvLine([...CSV_COLUMNS, ...NAMED_COLUMNS, ...MOVEMENT_COLUMNS]),
    ...entries.map((e) =>
      csvLine([
        ...CSV_COLUMNS.map((c) => e[c] ?? ''),
        e.merchantName,
        e.account,
        e.accountName,
        e.localTime,
        formatYuan(e.amountFen),
        formatYuan(e.floatFen),
        ...MOVEMENT_COLUMNS.map((c) => e[c] ?? ''),
      ]),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export function journalJsonLines(entries: JournalEntry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}
