/**
 * The audit log: who did what to the network, when, with the state before and after. One
 * append-only Redis stream (`keys.audit()`), written after every admin action succeeds and never
 * edited; `aircharge audit list` reads it newest first.
 *
 * The entry is a separate write from the action (the stream is in its own slot, so on a cluster
 * no script can write both): a crash between the two loses the audit line, never the action. Money
 * actions also carry their operator and reason in their own journal entry, so the books still say
 * who moved the money.
 */
import { keys } from '../store/keys.js';
import type { AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';

export interface AuditEntry {
  /** Stream entry id (milliseconds-sequence): unique, in the order written. */
  id: string;
  /** Epoch milliseconds. */
  at: number;
  /** Who: `--operator` / `AIRCHARGE_OPERATOR`; '' when an unnamed operator ran a non-money action. */
  operator: string;
  /** `<noun>.<verb>`, e.g. `terminal.disable`, `float.topup`, `approval.approve`. */
  action: string;
  /** What it acted on: a merchant or terminal id, a receipt, an approval id, a file digest. */
  target: string;
  /** The state before and after, as plain values (never a key); null where there is none. */
  before: unknown;
  after: unknown;
  reason: string;
  ticket: string;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at' | 'operator' | 'reason' | 'ticket'> & { reason?: string; ticket?: string };

export interface AuditQuery {
  /** Only entries at or after this instant (epoch ms). */
  since?: number;
  action?: string;
  operator?: string;
  target?: string;
  /** At most this many, newest first; default 100. */
  limit?: number;
}

/** An operator name: what the log shows as "who". Letters, digits and `. _ @ -`, at most 64. */
const OPERATOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function checkOperator(name: string): string {
  if (!OPERATOR_PATTERN.test(name)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad operator name ${JSON.stringify(name)}: 1 to 64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit`);
  }
  return name;
}

/** Money actions say who did them: the operator named with --operator or AIRCHARGE_OPERATOR. */
export function requireOperator(context: AdminContext): string {
  if (context.operator === null) {
    throw new AdminError(AdminErrorCode.OPERATOR, 'a money action needs the operator: --operator NAME or AIRCHARGE_OPERATOR');
  }
  return context.operator;
}

/** Reasons and tickets are one line of text an operator typed: no control characters, bounded. */
export function checkNote(name: string, text: string, maxLength = 200): string {
  // eslint-disable-next-line no-control-regex
  if ([...text].length > maxLength || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new AdminError(AdminErrorCode.INVALID, `${name}: at most ${maxLength} characters on one line`);
  }
  return text;
}

/** Appends one entry; returns its id. */
export async function appendAudit(context: AdminContext, record: AuditRecord): Promise<string> {
  const id = await context.redis.xadd(
    keys.audit(),
    '*',
    'at',
    String(context.now()),
    'operator',
    context.operator ?? '',
    'action',
    record.action,
    'target',
    record.target,
    'before',
    JSON.stringify(record.before ?? null),
    'after',
    JSON.stringify(record.after ?? null),
    'reason',
    record.reason ?? '',
    'ticket',
    record.ticket ?? '',
  );
  return id ?? '';
}

/**
 * Runs an admin action and, once it has succeeded, writes its audit entry: `before` is read first
 * (null for a creation), `after` is made from the action's result. A failed action is not logged:
 * it changed nothing.
 */
export async function audited<T>(
  context: AdminContext,
  action: string,
  target: string,
  before: () => Promise<unknown>,
  act: () => Promise<T>,
  after: (result: T) => unknown,
  note: { reason?: string; ticket?: string } = {},
): Promise<T> {
  const was = await before();
  const result = await act();
  await appendAudit(context, { action, target, before: was, after: after(result), ...note });
  return result;
}

const PAGE = 500;

/** Entries newest first, filtered, paging back through the stream until `limit` or `since`. */
export async function listAudit(context: AdminContext, query: AuditQuery = {}): Promise<AuditEntry[]> {
  const limit = query.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new AdminError(AdminErrorCode.INVALID, '--limit must be a whole number above 0');
  const found: AuditEntry[] = [];
  const floor = query.since === undefined ? '-' : String(Math.max(0, Math.floor(query.since)));
  let end = '+';
  for (;;) {
    const page = await context.redis.xrevrange(keys.audit(), end, floor, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const entry = toEntry(id, fields);
      if (query.action !== undefined && entry.action !== query.action) continue;
      if (query.operator !== undefined && entry.operator !== query.operator) continue;
      if (query.target !== undefined && entry.target !== query.target) continue;
      found.push(entry);
      if (found.length === limit) return found;
    }
    if (page.length < PAGE) return found;
    end = `(${page[page.length - 1]![0]}`;
  }
}

function toEntry(id: string, fields: string[]): AuditEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  return {
    id,
    at: Number(f.get('at') ?? 0),
    operator: f.get('operator') ?? '',
    action: f.get('action') ?? '',
    target: f.get('target') ?? '',
    before: parseJson(f.get('before')),
    after: parseJson(f.get('after')),
    reason: f.get('reason') ?? '',
    ticket: f.get('ticket') ?? '',
  };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * `--since` as operators type it: a duration back from now (`90s`, `30m`, `1h`, `7d`) or an
 * instant (`2026-12-03`, `2026-12-03T08:00`, local time by the business-day offset, or ISO with Z
 * or an offset). Returns epoch ms.
 */
export function parseSince(text: string, now: number, utcOffsetMinutes: number): number {
  const duration = parseDuration(text, null);
  if (duration !== null) return now - duration;
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:\d{2})?$/.exec(text);
  if (match !== null) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', zone] = match;
    let offset = utcOffsetMinutes;
    if (zone === 'Z') offset = 0;
    else if (zone !== undefined) offset = (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offset * 60_000;
    if (Number.isFinite(ms)) return ms;
  }
  throw new AdminError(AdminErrorCode.INVALID, `not a time: ${JSON.stringify(text)} (a duration like 30m, 1h, 7d, or YYYY-MM-DD[THH:MM])`);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "7d" → milliseconds; `fallback` when it is not such a duration. */
export function parseDuration<F>(text: string, fallback: F): number | F {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  return match === null ? fallback : Number(match[1]) * UNIT_MS[match[2]!]!;
}
