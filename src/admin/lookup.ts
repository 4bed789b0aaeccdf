/**
 * Finding a payment: `txn show RECEIPT` (every fact of one transaction, by name) and `txn find`
 * (by account, terminal, merchant or business day, declines included, newest first, paged). Both
 * read the lookup index the core writes with each transaction (src/store/lua/lookup-index.ts;
 * cost and design in src/core/README.md "Lookup index").
 */
import { MESSAGE_TYPE_NAME, RESULT_NAME } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { ACCOUNT_PATTERN, RECEIPT_PATTERN } from '../../protocol/constants.js';
import { readPosting, type AccountPosting } from './accounts.js';
import { int, type AdminContext } from './context.js';
import { csvLine } from './csv.js';
import { businessDayRange, formatLocalTime, formatPeriod } from './day.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { merchantIds, showMerchant } from './merchants.js';
import { formatYuan } from './money.js';
import { merchantOfTerminal } from './terminals.js';
import { Script } from '../store/script.js';

/** One PAY or CORRECT (or an operator's reversal or re-entry) as the operator reads it. */
export interface Txn {
  receipt: string;
  kind: string;
  /** pending | complete | declined. */
  state: string;
  /** The result code and its name (APPROVED, FLOAT_SHORT, ...); null while pending. */
  result: { code: number; name: string } | null;
  /** True for a request declined before it became a transaction (amount, float, correction rules). */
  declinedEarly: boolean;
  merchantId: string;
  terminalId: string;
  /** The request's sequence number. */
  seq: number;
  account: string;
  amountFen: number;
  businessDay: number;
  /** Epoch ms, and the same in local time. */
  createdAt: number;
  createdLocal: string;
  completedAt: number | null;
  completedLocal: string | null;
  floatAfterFen: number | null;
  arrearsAfterFen: number | null;
  /** A correction's or reversal's original payment. */
  original: string | null;
  /** A payment's correction. */
  correctedBy: string | null;
  /** A payment's operator reversal. */
  reversedBy: string | null;
  /** `terminal` or `reentry` (an operator re-entered it). */
  origin: string;
}

/** txn show: the transaction, its merchant's and holder's names, the biller's posting, the request record. */
export interface TxnDetail extends Txn {
  merchantName: string;
  accountName: string | null;
  /** The embedded biller's posting of this receipt; null when none (declined early, or another biller). */
  posting: AccountPosting | null;
  /** The terminal's request record while the replay retention keeps it: its state and type. */
  request: { state: string; type: number } | null;
  /** Operator notes (reversals, re-entries): who, why, ticket. */
  operator: { name: string; reason: string; ticket: string } | null;
}

export interface FindQuery {
  account?: string;
  terminal?: string;
  merchant?: string;
  /** Business day, YYYYMMDD. */
  day?: number;
  /** Only declined ones. */
  declined?: boolean;
  /** Page size, default 50, at most 1000. */
  limit?: number;
  /** From a previous page's `cursor`. */
  cursor?: string;
}

export interface FindPage {
  transactions: Txn[];
  /** Pass as `cursor` for the next page; null on the last one. */
  cursor: string | null;
}

/** A terminal's receipt, or an operator reversal's (`<receipt>-R`, operator-actions.ts). */
export function checkReceipt(receipt: string, options: { reversal?: boolean } = {}): void {
  const payment = options.reversal ? receipt.replace(/-R$/, '') : receipt;
  if (!RECEIPT_PATTERN.test(payment)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad receipt ${JSON.stringify(receipt)}: terminal id (8 of 0-9 A-Z) and 10 digits`);
  }
}

/** The merchant a receipt belongs to (its terminal's) and the record's fields; NOT_FOUND otherwise. */
async function readTxn(context: AdminContext, receipt: string): Promise<{ merchantId: string; fields: Record<string, string>; early: boolean }> {
  checkReceipt(receipt, { reversal: true });
  // The terminal's id leads every receipt, a reversal's too.
  const terminalId = receipt.slice(0, 8);
  const merchantId = await merchantOfTerminal(context, terminalId).catch(() => {
    throw new AdminError(AdminErrorCode.NOT_FOUND, `no transaction ${receipt}`);
  });
  const [txn, decline] = await Promise.all([
    context.redis.hgetall(keys.transaction(merchantId, receipt)),
    context.redis.hgetall(keys.decline(merchantId, receipt)),
  ]);
  if (txn.state !== undefined) return { merchantId, fields: txn, early: false };
  if (decline.state !== undefined) return { merchantId, fields: decline, early: true };
  throw new AdminError(AdminErrorCode.NOT_FOUND, `no transaction ${receipt}`);
}

function toTxn(context: AdminContext, merchantId: string, f: Record<string, string>, early: boolean): Txn {
  const offset = context.businessDay.utcOffsetMinutes;
  const nullable = (field: string) => (f[field] === undefined || f[field] === '' ? null : Number(f[field]));
  const text = (field: string) => (f[field] === undefined || f[field] === '' ? null : f[field]!);
  const completedAt = nullable('completedAt');
  const resultCode = nullable('result');
  return {
    receipt: f.receipt ?? '',
    kind: f.kind ?? '',
    state: f.state ?? '',
    result: resultCode === null ? null : { code: resultCode, name: RESULT_NAME.get(resultCode) ?? `0x${resultCode.toString(16)}` },
    declinedEarly: early,
    merchantId,
    terminalId: f.terminal ?? '',
    seq: int(f, 'seq'),
    account: f.account ?? '',
    amountFen: int(f, 'amountFen'),
    businessDay: int(f, 'businessDay'),
    createdAt: int(f, 'createdAt'),
    createdLocal: formatLocalTime(int(f, 'createdAt'), offset),
    completedAt,
    completedLocal: completedAt === null ? null : formatLocalTime(completedAt, offset),
    floatAfterFen: nullable(early ? 'floatFen' : 'floatAfter'),
    arrearsAfterFen: nullable('arrearsAfter'),
    original: text('original'),
    correctedBy: text('correctedBy'),
    reversedBy: text('reversedBy'),
    origin: f.origin ?? 'terminal',
  };
}

/**
 * The embedded biller's posting in words, for `txn show` and the console: what it was and for how
 * much, the biller's answer, when it was booked, what it left owing, the bills it cleared (or, a
 * reversal, restored) and its reversal.
 */
export function postingFacts(p: AccountPosting, localTime: (epochMs: number) => string): Array<[string, string]> {
  const facts: Array<[string, string]> = [
    [p.kind, `${formatYuan(p.amountFen)} yuan, ${p.result.name}`],
    ['booked', localTime(p.at)],
    ['arrears after', `${formatYuan(p.arrearsAfterFen)} yuan`],
  ];
  const bills = p.bills.map((c) => `${c.billId} (${formatPeriod(c.period)}) ${formatYuan(c.amountFen)}`).join(', ');
  if (bills !== '') facts.push([p.kind === 'reversal' ? 'bills restored' : 'bills cleared', bills]);
  if (p.original !== '') facts.push(['reverses', p.original]);
  if (p.reversedBy !== '') facts.push(['reversed by', p.reversedBy]);
  return facts;
}

/**
 * The terminal's request record in words: while the replay retention keeps it, a retransmission of
 * that seq is answered from the transaction (`pending`: it started one) or from the answer stored
 * with the record (`done`: declined before a transaction).
 */
export function requestInWords(request: NonNullable<TxnDetail['request']>, seq: number): string {
  const type = MESSAGE_TYPE_NAME.get(request.type) ?? `0x${request.type.toString(16).padStart(2, '0')}`;
  const from = request.state === 'pending' ? 'answered from this transaction' : 'answered from the answer stored then';
  return `${type} seq ${seq} kept for retransmissions, ${from}`;
}

export async function showTxn(context: AdminContext, receipt: string): Promise<TxnDetail> {
  const { merchantId, fields, early } = await readTxn(context, receipt);
  const txn = toTxn(context, merchantId, fields, early);
  const { redis } = context;
  const account = ACCOUNT_PATTERN.test(txn.account) ? txn.account : null;
  const [merchantName, accountName, posting, request] = await Promise.all([
    redis.hget(keys.merchant(merchantId), 'name'),
    account === null ? null : redis.hget(keys.account(account), 'name'),
    account === null ? {} : redis.hgetall(keys.posting(account, receipt)),
    redis.get(keys.request(merchantId, txn.terminalId, txn.seq)),
  ]);
  const [state = '', , type = ''] = request === null ? [] : request.split('|');
  return {
    ...txn,
    merchantName: merchantName ?? '',
    accountName,
    posting: Object.keys(posting).length === 0 ? null : readPosting(receipt, posting),
    request: request === null ? null : { state, type: Number(type) },
    operator: fields.operator === undefined ? null : { name: fields.operator, reason: fields.reason ?? '', ticket: fields.ticket ?? '' },
  };
}

// ---- txn find ----

/**
 * One sorted set to read newest first, within [min, max] ms, keeping entries `keep` accepts; or,
 * with `sets`, all of one merchant's terminal sets merged in Redis by one script a read.
 */
interface Source {
  key: string;
  merchantId: string;
  min: number;
  max: number;
  keep?: (receipt: string) => boolean;
  /** `key` is a merchant's terminal set, whose terminals' index sets NEWEST_OF_TERMINALS merges. */
  merged?: true;
}

/**
 * One merchant's terminals merged: the `chunk` newest entries in [ARGV[2], ARGV[1]] over the index
 * set of every terminal in KEYS[1], strictly older than (ARGV[1], ARGV[4]) when ARGV[4] (a
 * receipt) is given, so a day across the network costs one call per merchant instead of one per
 * terminal and one for its terminal list. The index sets are named from the terminal ids
 * (ARGV[5] .. id, keys.terminalTxns): the merchant's hash tag puts them in KEYS[1]'s slot. Read only.
 * → {receipt, score, receipt, score, ...} newest first (score desc, then receipt desc)
 */
const NEWEST_OF_TERMINALS = new Script(`
local max, chunk, after = tonumber(ARGV[1]), tonumber(ARGV[3]), ARGV[4]
local all = {}
for _, terminal in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[5] .. terminal
  -- Entries at the cursor's own score come first (receipts descending): read past them.
  local ties = 0
  if after ~= '' then ties = redis.call('ZCOUNT', key, ARGV[1], ARGV[1]) end
  local got = redis.call('ZREVRANGEBYSCORE', key, ARGV[1], ARGV[2], 'WITHSCORES', 'LIMIT', 0, chunk + ties)
  for i = 1, #got, 2 do
    local score = tonumber(got[i + 1])
    if after == '' or score < max or got[i] < after then all[#all + 1] = {score, got[i], got[i + 1]} end
  end
end
table.sort(all, function(a, b) return a[1] > b[1] or (a[1] == b[1] and a[2] > b[2]) end)
local out = {}
for i = 1, math.min(chunk, #all) do
  out[#out + 1] = all[i][2]
  out[#out + 1] = all[i][3]
end
return out
`);

interface Entry {
  score: number;
  receipt: string;
  merchantId: string;
}

/** A position in a source: entries at `score` already consumed, so a tie is never read twice. */
interface Position {
  score: number;
  ties: number;
}

const newer = (a: Entry, b: Entry) => a.score > b.score || (a.score === b.score && a.receipt > b.receipt);

/**
 * Reads sources newest first and merges them lazily: each source is read a few entries at a time,
 * and only a source whose buffered entries have all been taken is read again, so a search over
 * thousands of sets (a day across every terminal) reads about one page in all, not one per set.
 */
async function mergeSources(context: AdminContext, sources: Source[], limit: number, after: Entry | null): Promise<Entry[]> {
  const chunk = Math.min(limit + 1, Math.max(4, Math.ceil((2 * (limit + 1)) / Math.max(1, sources.length))));
  const state = sources.map((source) => ({ source, buffer: [] as Entry[], position: null as Position | null, last: after, done: false }));
  // Resuming after a cursor: each source starts after the cursor's entry.
  if (after !== null) {
    await Promise.all(
      state.filter((s) => s.source.merged === undefined).map(async (s) => {
        const ties = await context.redis.zrevrangebyscore(s.source.key, after.score, after.score);
        s.position = { score: after.score, ties: ties.filter((r) => r >= after.receipt).length };
      }),
    );
  }
  const out: Entry[] = [];
  while (out.length < limit + 1) {
    await Promise.all(state.filter((s) => !s.done && s.buffer.length === 0).map((s) => refill(context, s, chunk)));
    let best: (typeof state)[number] | null = null;
    for (const s of state) if (s.buffer.length > 0 && (best === null || newer(s.buffer[0]!, best.buffer[0]!))) best = s;
    if (best === null) break;
    out.push(best.buffer.shift()!);
  }
  return out;
}

async function refill(
  context: AdminContext,
  s: { source: Source; buffer: Entry[]; position: Position | null; last: Entry | null; done: boolean },
  chunk: number,
): Promise<void> {
  if (s.source.merged !== undefined) {
    // Merged in Redis: the next entries are those strictly older than the last one read.
    const from = s.last !== null && s.last.score <= s.source.max ? s.last : null;
    const raw = (await NEWEST_OF_TERMINALS.run(context.redis, [s.source.key], [
      from?.score ?? s.source.max, s.source.min, chunk, from?.receipt ?? '', keys.terminalTxns(s.source.merchantId, ''),
    ])) as string[];
    if (raw.length < chunk * 2) s.done = true;
    for (let i = 0; i + 1 < raw.length; i += 2) s.buffer.push({ score: Number(raw[i + 1]), receipt: raw[i]!, merchantId: s.source.merchantId });
    s.last = s.buffer.at(-1) ?? s.last;
    return;
  }
  // Filtered sources may need several reads to find one entry they keep.
  while (s.buffer.length === 0 && !s.done) {
    const max = s.position === null ? s.source.max : Math.min(s.position.score, s.source.max);
    const skip = s.position === null || s.position.score > s.source.max ? 0 : s.position.ties;
    const raw = await context.redis.zrevrangebyscore(s.source.key, max, s.source.min, 'WITHSCORES', 'LIMIT', skip, chunk);
    if (raw.length < chunk * 2) s.done = true;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const receipt = raw[i]!;
      const score = Number(raw[i + 1]);
      s.position = s.position !== null && s.position.score === score ? { score, ties: s.position.ties + 1 } : { score, ties: 1 };
      if (s.source.keep === undefined || s.source.keep(receipt)) s.buffer.push({ score, receipt, merchantId: s.source.merchantId });
    }
  }
}

function encodeCursor(entry: Entry): string {
  return `${entry.score}.${entry.receipt}`;
}

function decodeCursor(cursor: string): Entry {
  const match = /^(\d{1,15})\.([0-9A-Z]{8}[0-9]{10}(?:-R)?)$/.exec(cursor);
  if (match === null) throw new AdminError(AdminErrorCode.INVALID, `bad cursor ${JSON.stringify(cursor)}: pass the one a previous page returned`);
  return { score: Number(match[1]), receipt: match[2]!, merchantId: '' };
}

/** Which sorted sets answer a query (exactly one of account, terminal, merchant, day; day may narrow the others). */
async function sourcesOf(context: AdminContext, query: FindQuery): Promise<Source[]> {
  const named = [query.account, query.terminal, query.merchant].filter((v) => v !== undefined).length;
  if (named > 1 || (named === 0 && query.day === undefined)) {
    throw new AdminError(AdminErrorCode.INVALID, 'name one of --account, --terminal, --merchant (and/or --day)');
  }
  const [min, max] = query.day === undefined ? [0, Number.MAX_SAFE_INTEGER] : businessDayRange(query.day, context.businessDay);
  const declined = query.declined === true;
  const range = { min, max };
  if (query.terminal !== undefined) {
    const t = query.terminal;
    const m = await merchantOfTerminal(context, t);
    return [
      declined
        ? { key: keys.declinedTxns(m), merchantId: m, ...range, keep: (r: string) => r.startsWith(t) }
        : { key: keys.terminalTxns(m, t), merchantId: m, ...range },
    ];
  }
  if (query.account !== undefined) {
    if (!ACCOUNT_PATTERN.test(query.account)) throw new AdminError(AdminErrorCode.INVALID, `bad account ${JSON.stringify(query.account)}: 10 digits`);
    const account = query.account;
    // An account pays at any outlet: its index is kept in each merchant's slot.
    return (await merchantIds(context)).map((m) => ({ key: keys.accountTxns(m, account), merchantId: m, ...range }));
  }
  const merchants = query.merchant !== undefined ? [(await showMerchant(context, query.merchant)).id] : await merchantIds(context);
  if (declined) return merchants.map((m) => ({ key: keys.declinedTxns(m), merchantId: m, ...range }));
  // One source a merchant: its terminals' sets, merged in Redis (NEWEST_OF_TERMINALS).
  return merchants.map((m) => ({ key: keys.terminals(m), merchantId: m, merged: true as const, ...range }));
}

export async function findTxns(context: AdminContext, query: FindQuery): Promise<FindPage> {
  const limit = query.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new AdminError(AdminErrorCode.INVALID, '--limit is 1 to 1000');
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const sources = await sourcesOf(context, query);
  let entries = await mergeSources(context, sources, limit, after);
  const more = entries.length > limit;
  entries = entries.slice(0, limit);
  const records = await Promise.all(
    entries.map(async (e) => {
      const txn = await context.redis.hgetall(keys.transaction(e.merchantId, e.receipt));
      if (txn.state !== undefined) return toTxn(context, e.merchantId, txn, false);
      return toTxn(context, e.merchantId, await context.redis.hgetall(keys.decline(e.merchantId, e.receipt)), true);
    }),
  );
  // --account --declined reads the account's index and keeps what was declined.
  const transactions = query.declined === true && query.account !== undefined ? records.filter((t) => t.state === 'declined') : records;
  return { transactions, cursor: more ? encodeCursor(entries[entries.length - 1]!) : null };
}

const CSV_COLUMNS = [
  'receipt', 'local_time', 'kind', 'state', 'result', 'merchant', 'terminal', 'seq', 'account',
  'amount_fen', 'amount_yuan', 'business_day', 'original', 'corrected_by', 'reversed_by', 'origin',
] as const;

export function txnCsv(transactions: Txn[]): string {
  const rows = transactions.map((t) =>
    csvLine([
      t.receipt, t.createdLocal, t.kind, t.state, t.result?.name ?? '', t.merchantId, t.terminalId, t.seq, t.account,
      t.amountFen, formatYuan(t.amountFen), t.businessDay, t.original ?? '', t.correctedBy ?? '', t.reversedBy ?? '', t.origin,
    ]),
  );
  return `${[csvLine([...CSV_COLUMNS]), ...rows].join('\n')}\n`;
}
