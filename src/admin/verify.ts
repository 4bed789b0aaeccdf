/**
 * `verify`: the books balance. One invariant per kind of account: for an outlet, the float equals
 * top-ups − completed payments + completed corrections − payments still pending (their amount is
 * reserved off the float), never below zero; for a collector, the cash held equals completed
 * payments − completed corrections − remittances + pending payments − pending corrections (a
 * collector's payment raises his cash, and his correction lowers it, at reservation), never below
 * zero nor above its limit; no journal entry of the other kind's movements; and
 * each business day's counters equal that day's journal; every transaction agrees with the journal
 * and with the embedded biller (each completed payment posted exactly once, each completed
 * correction reversed exactly once, nothing posted for a declined one); every posting at the biller
 * belongs to a payment or correction that completed or is still in flight; every bill's paid
 * figure equals what the account's postings cleared off it (the arrears are derived from the
 * bills), and an account that cannot be checked is named with why; and no transaction has stayed
 * pending longer than the recovery bound.
 * Every journal entry's MAC and the chain are checked (journal-proof.ts), and with a checkpoint,
 * that no journal was rolled back or rewritten before it.
 *
 * It may run beside live traffic. Each merchant's figures and each account's are a consistent
 * snapshot (read in one script, the journal's settled part summed beforehand); the cross-checks between merchant, journal and biller
 * read in the order the core writes (journal, then transactions, then the journal again and the
 * postings), so a transaction completing meanwhile is not mistaken for a discrepancy.
 */
import { ResultCode } from '../../protocol/constants.js';
import { parseReceipt } from '../../protocol/index.js';
import { parseBillRecord, parseCleared } from '../biller/bill-record.js';
import { checkBillsSeal } from './bill-seal.js';
import type { Bill } from '../biller/biller.js';
import { keys } from '../store/keys.js';
import type { Checkpoint } from './checkpoint.js';
import { int, requireJournalKeys, scanKeys, type AdminContext } from './context.js';
import { walkJournal } from './journal-proof.js';
import { KEY_EVENT_KINDS, readJournal } from './journal.js';
import { merchantIds } from './merchants.js';
import { formatYuan } from './money.js';
import { Script } from '../store/script.js';
import { masterKeyVersions } from '../store/key-check.js';
import { sealedVersion } from '../store/secrets.js';
import { billerQueueLines, type QueueLine } from './biller-queue.js';

export interface VerifyResult {
  ok: boolean;
  checked: {
    merchants: number;
    journalEntries: number;
    transactions: number;
    pending: number;
    postings: number;
    accounts: number;
    bills: number;
  };
  discrepancies: string[];
  /** Accounts whose bills and postings could not be checked, each with why (ok is then false). */
  unchecked: Array<{ account: string; why: string }>;
  /**
   * Where the postings are. `http`: a gateway was started with `--biller URL` (or verify was given
   * one), so a completed transaction with no posting in Redis is booked at that billing system; its
   * leg is `reconcile biller --day D --fetch`, one run per day listed in `reconcileDays`.
   */
  biller: { mode: 'embedded' | 'http'; url: string | null; atBiller: number; reconcileDays: number[] };
  /**
   * Postings approved while the biller was down (--biller-down accept): still queued (verify fails on
   * one queued past its expiry) and failed for good (verify fails on any).
   */
  billerQueue: { queued: QueueLine[]; failed: QueueLine[]; expiryMs: number };
}

/**
 * The atomic part of a merchant's books. The journal is append-only, so the caller sums it page by
 * page first, without holding Redis; this script then sums only the entries written since (the
 * tail) in the same step as it reads the float, the pending payments and the day counters, so
 * together they are one consistent snapshot. Every key is in the merchant's slot ({m.<id>}); the
 * pending transactions and the day counters are named from prefixes because which ones exist is
 * only known inside the script.
 * KEYS[1] merchant, KEYS[2] journal, KEYS[3] pending set; ARGV[1] transaction key prefix,
 * ARGV[2] day key prefix, ARGV[3] id of the last entry summed, ARGV[4..] business days seen so far
 * → {floatFen, pendingPayFen, tail, counters, pendingCorrectFen, {kind, cashFen, cashLimitFen}}:
 *   tail flat {id, kind, txn, amountFen, day};
 *   counters flat {day, payCount, payFen, correctCount, correctFen} for every day seen or in the tail
 */
const MERCHANT_BOOKS = new Script(`
local m = redis.call('HMGET', KEYS[1], 'floatFen', 'kind', 'cashFen', 'cashLimitFen')
local floatFen = tonumber(m[1] or '0')
local tail, seen, days = {}, {}, {}
for i = 4, #ARGV do
  if not seen[ARGV[i]] then seen[ARGV[i]] = true; days[#days + 1] = ARGV[i] end
end
for _, e in ipairs(redis.call('XRANGE', KEYS[2], '(' .. ARGV[3], '+')) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  local day = f.day or ''
  for _, v in ipairs({e[1], f.kind or '', f.txn or '', f.amountFen or '0', day}) do tail[#tail + 1] = v end
  if (f.kind == 'pay' or f.kind == 'correct') and not seen[day] then seen[day] = true; days[#days + 1] = day end
end
local pendingPay, pendingCorrect = 0, 0
for _, receipt in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local t = redis.call('HMGET', ARGV[1] .. receipt, 'kind', 'state', 'amountFen')
  if t[1] == 'pay' and t[2] == 'pending' then pendingPay = pendingPay + (tonumber(t[3]) or 0) end
  if t[1] == 'correct' and t[2] == 'pending' then pendingCorrect = pendingCorrect + (tonumber(t[3]) or 0) end
end
local counters = {}
for _, day in ipairs(days) do
  local c = redis.call('HMGET', ARGV[2] .. day, 'payCount', 'payFen', 'correctCount', 'correctFen')
  counters[#counters + 1] = day
  for i = 1, 4 do counters[#counters + 1] = tonumber(c[i]) or 0 end
end
return {floatFen, pendingPay, tail, counters, pendingCorrect, {m[2] or 'outlet', m[3] or '0', m[4] or '0'}}
`);

/**
 * One account's books in one step. KEYS[1] account, KEYS[2] bills, KEYS[3] postings set;
 * ARGV[1] posting key prefix → {account fields {account, arrearsFen, billsMac}, bills flat {id, record},
 * postings flat {receipt, kind, amount, result, original, reversedBy, cleared}}.
 */
const ACCOUNT_BOOKS = new Script(`
local a = redis.call('HMGET', KEYS[1], 'account', 'arrearsFen', 'billsMac')
local rows = {}
for _, receipt in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local p = redis.call('HMGET', ARGV[1] .. receipt, 'kind', 'amountFen', 'result', 'original', 'reversedBy', 'cleared')
  rows[#rows + 1] = receipt
  for i = 1, 6 do rows[#rows + 1] = p[i] or '' end
end
return {{a[1] or '', a[2] or '', a[3] or ''}, redis.call('HGETALL', KEYS[2]), rows}
`);

/** Reads and checks go out this many at a time. */
const BATCH = 200;

type Hash = Record<string, string>;

interface JournalMark {
  kind: string;
  amountFen: number;
}

export interface VerifyOptions {
  /** A transaction pending for longer than this is a discrepancy (recovery should have finished it). */
  pendingBoundMs: number;
  /** A checkpoint kept outside Redis (checkpoint.ts): the journals must still pass through it. */
  checkpoint?: Checkpoint;
  /** The caller reaches the billing system over HTTP (--biller URL): postings need not be in Redis. */
  httpBiller?: string;
  /** A queued posting older than this is a discrepancy (the gateway's --biller-queue-expiry). Default a day. */
  queueExpiryMs?: number;
}

/** The leg of a completed transaction that has no posting in Redis, with an HTTP biller. */
interface BillerLeg {
  http: boolean;
  atBiller: number;
  days: Set<number>;
}

export async function verify(context: AdminContext, options: VerifyOptions): Promise<VerifyResult> {
  const discrepancies: string[] = [];
  const checked: VerifyResult['checked'] = {
    merchants: 0,
    journalEntries: 0,
    transactions: 0,
    pending: 0,
    postings: 0,
    accounts: 0,
    bills: 0,
  };
  const unchecked: VerifyResult['unchecked'] = [];
  const key = requireJournalKeys(context, 'checks the journal MACs');
  const marked = await context.redis.hget(keys.billerHttp(), 'url');
  const billerUrl = options.httpBiller ?? marked;
  const leg: BillerLeg = { http: billerUrl !== null, atBiller: 0, days: new Set() };
  const merchants = await merchantIds(context);
  discrepancies.push(...(await proveJournals(context, key, merchants, options.checkpoint)));
  // receipt → its journal entries, per merchant; and where each merchant's journal was read up to.
  const journals = new Map<string, Map<string, JournalMark[]>>();
  const lastIds = new Map<string, string>();

  for (const merchant of merchants) {
    checked.merchants += 1;
    const books = await merchantBooks(context, merchant);
    const { journal, counters } = books;
    checked.journalEntries += journal.entries;
    lastIds.set(merchant, journal.lastId);
    journals.set(merchant, journal.marks);
    discrepancies.push(...checkBalance(merchant, books));
    if (journal.odd > 0) discrepancies.push(`merchant ${merchant}: ${journal.odd} journal entries of unknown kind`);
    for (const [day, fromJournal] of journal.days) {
      const counted = counters.get(day) ?? [0, 0, 0, 0];
      if (fromJournal.join() !== counted.join()) {
        discrepancies.push(
          `merchant ${merchant}: day ${day} counters (payments ${counted[0]}/${counted[1]} fen, corrections ` +
            `${counted[2]}/${counted[3]} fen) disagree with the journal (${fromJournal[0]}/${fromJournal[1]}, ${fromJournal[2]}/${fromJournal[3]})`,
        );
      }
    }
  }

  const transactions = await readTransactions(context, new Set(merchants), discrepancies);
  // Anything that completed while the transactions were read has its journal entry by now.
  for (const merchant of merchants) {
    for await (const entry of readJournal(context, merchant, `(${lastIds.get(merchant) ?? '0-0'}`)) {
      if (entry.kind === 'pay' || entry.kind === 'correct' || entry.kind === 'reverse') addMark(journals.get(merchant)!, entry.txn, entry.kind, entry.amountFen);
    }
  }

  // A journal entry whose transaction was read as pending, or not at all, completed after it was
  // read: read it again before judging.
  for (const [merchant, journal] of journals) {
    let txns = transactions.get(merchant);
    if (txns === undefined) transactions.set(merchant, (txns = new Map()));
    for (const [receipt, marks] of journal) {
      const known = txns.get(receipt);
      if (known !== undefined && known.state !== 'pending') continue;
      const fresh = await context.redis.hgetall(keys.transaction(merchant, receipt));
      if (fresh.kind !== undefined) txns.set(receipt, fresh);
      else {
        discrepancies.push(
          `merchant ${merchant}: journal has ${marks.length} ${marks[0]?.kind} entr${marks.length === 1 ? 'y' : 'ies'} for ${receipt}, which is no transaction`,
        );
      }
    }
  }

  const now = context.now();
  for (const [merchant, txns] of transactions) {
    const journal = journals.get(merchant) ?? new Map<string, JournalMark[]>();
    const entries = [...txns];
    for (let start = 0; start < entries.length; start += BATCH) {
      await Promise.all(
        entries.slice(start, start + BATCH).map(async ([receipt, txn]) => {
          checked.transactions += 1;
          if (txn.state === 'pending') checked.pending += 1;
          discrepancies.push(...(await checkTransaction(context, merchant, receipt, txn, txns, journal, now, options, leg)));
        }),
      );
    }
  }

  // Receipts are unique across merchants (terminal ids are), so postings find their transaction here.
  const byReceipt = new Map<string, Hash>();
  for (const txns of transactions.values()) for (const [receipt, txn] of txns) byReceipt.set(receipt, txn);
  const accounts = (await context.redis.smembers(keys.accounts())).sort();
  for (let start = 0; start < accounts.length; start += BATCH) {
    await Promise.all(
      accounts.slice(start, start + BATCH).map(async (account) => {
        const result = await checkAccount(context, key, account, byReceipt);
        checked.accounts += 1;
        checked.postings += result.postings;
        checked.bills += result.bills;
        if (result.unchecked !== null) unchecked.push({ account, why: result.unchecked });
        discrepancies.push(...result.discrepancies);
      }),
    );
  }

  const expiryMs = options.queueExpiryMs ?? 86_400_000;
  const queue = await billerQueueLines(context, now);
  for (const p of queue.failed) {
    discrepancies.push(
      `merchant ${p.merchantId}: payment ${p.receipt} of ${formatYuan(p.amountFen)} on account ${p.account} was approved but its posting failed (${p.failure}): ` +
        'money taken, not booked at the biller; settle it with the billing department (aircharge biller failed)',
    );
  }
  for (const p of queue.queued) {
    if (p.ageMs <= expiryMs) continue;
    discrepancies.push(
      `merchant ${p.merchantId}: payment ${p.receipt} of ${formatYuan(p.amountFen)} on account ${p.account} has been queued for the biller ` +
        `${Math.round(p.ageMs / 1000)} s, past the expiry of ${expiryMs / 1000} s: is the gateway forwarding its queue?`,
    );
  }

  unchecked.sort((x, y) => (x.account < y.account ? -1 : 1));
  return {
    ok: discrepancies.length === 0 && unchecked.length === 0,
    checked,
    discrepancies,
    unchecked,
    biller: { mode: leg.http ? 'http' : 'embedded', url: billerUrl, atBiller: leg.atBiller, reconcileDays: [...leg.days].sort((x, y) => x - y) },
    billerQueue: { ...queue, expiryMs },
  };
}

/**
 * Every merchant's journal walked (journal-proof.ts): MACs, chain, head, and with a checkpoint no
 * rollback to before it and no history rewritten before it. A merchant in the checkpoint but not
 * in Redis is a journal wiped whole.
 */
async function proveJournals(context: AdminContext, key: ReadonlyMap<number, Buffer>, merchants: string[], checkpoint?: Checkpoint): Promise<string[]> {
  const problems: string[] = [];
  const atCheckpoint = new Map((checkpoint?.merchants ?? []).map((state) => [state.merchant, state]));
  const { current, next } = await masterKeyVersions(context.redis);
  for (const merchant of merchants) {
    const walk = await walkJournal(context, key, merchant, atCheckpoint.get(merchant));
    problems.push(...walk.discrepancies, ...(await checkKeyRecords(context, merchant, walk.keyVersions, next === 0 ? current : 0)));
    atCheckpoint.delete(merchant);
  }
  for (const lost of atCheckpoint.values()) {
    if (lost.count > 0) problems.push(`merchant ${lost.merchant}: had ${lost.count} journal entries at the checkpoint of ${checkpoint?.at} and is gone`);
  }
  return problems;
}

/**
 * Each terminal's key record against the journal: a record at a key version below the one its last
 * journaled rotate-key reached was put back from an older copy, which undoes the rotation (the old
 * key unseals and signs in again); a key sealed under a master key version other than the current
 * one (`masterVersion`, 0 while a rotation is under way) was missed by a rotation or restored from
 * before it.
 */
async function checkKeyRecords(
  context: AdminContext,
  merchant: string,
  journaled: ReadonlyMap<string, { version: number; id: string }>,
  masterVersion: number,
): Promise<string[]> {
  const problems: string[] = [];
  for (const terminal of (await context.redis.smembers(keys.terminals(merchant))).sort()) {
    const [keyVersion, keyEnc] = await context.redis.hmget(keys.terminal(merchant, terminal), 'keyVersion', 'keyEnc');
    const rotated = journaled.get(terminal);
    if (rotated !== undefined && Number(keyVersion) < rotated.version) {
      problems.push(
        `terminal ${terminal}: its key record is at version ${keyVersion}, older than its rotation to version ${rotated.version} journaled in entry ${rotated.id}: ` +
          'rolled back to an older copy, so the old key signs in again (rotate-key it, and find who wrote to Redis)',
      );
    }
    const sealedUnder = keyEnc ? sealedVersion(keyEnc).version : masterVersion;
    if (masterVersion > 0 && sealedUnder !== masterVersion) {
      problems.push(
        `terminal ${terminal}: its key is sealed under master key version ${sealedUnder}, not the current ${masterVersion}: ` +
          'missed by a rotation or restored from before one (run master-key rotate again, or rotate-key it)',
      );
    }
  }
  return problems;
}

/** A merchant's journal summed up: what the float and the day counters must agree with. */
class JournalTotals {
  entries = 0;
  /** Entries of no known kind. */
  odd = 0;
  readonly fen = { topup: 0, pay: 0, correct: 0, remit: 0, adjust: 0, reverse: 0 };
  /** Business day → [payCount, payFen, correctCount, correctFen]. */
  readonly days = new Map<string, number[]>();
  /** Receipt → its journal entries. */
  readonly marks = new Map<string, JournalMark[]>();
  /** Id of the last entry summed. */
  lastId = '0-0';

  add(id: string, kind: string, txn: string, amountFen: number, day: string): void {
    this.entries += 1;
    this.lastId = id;
    if (KEY_EVENT_KINDS.has(kind)) return;
    if (kind !== 'topup' && kind !== 'pay' && kind !== 'correct' && kind !== 'remit' && kind !== 'adjust' && kind !== 'reverse') {
      this.odd += 1;
      return;
    }
    this.fen[kind] += amountFen;
    if (kind === 'topup' || kind === 'remit' || kind === 'adjust') return;
    addMark(this.marks, txn, kind, amountFen);
    // An operator's reversal is on no terminal's day: the day counters (settle, report) leave it out.
    if (kind === 'reverse') return;
    const tally = this.days.get(day) ?? [0, 0, 0, 0];
    const at = kind === 'pay' ? 0 : 2;
    tally[at] = (tally[at] ?? 0) + 1;
    tally[at + 1] = (tally[at + 1] ?? 0) + amountFen;
    this.days.set(day, tally);
  }
}

interface MerchantBooks {
  kind: string;
  floatFen: number;
  cashFen: number;
  cashLimitFen: number;
  pendingPayFen: number;
  pendingCorrectFen: number;
  journal: JournalTotals;
  /** Business day → the day counters [payCount, payFen, correctCount, correctFen]. */
  counters: Map<string, number[]>;
}

async function merchantBooks(context: AdminContext, merchant: string): Promise<MerchantBooks> {
  const journal = new JournalTotals();
  for await (const e of readJournal(context, merchant)) journal.add(e.id, e.kind, e.txn, e.amountFen, String(e.day));
  const [floatFen, pendingPayFen, tail, flatCounters, pendingCorrectFen, [kind, cash, cashLimit]] = (await MERCHANT_BOOKS.run(
    context.redis,
    [keys.merchant(merchant), keys.journal(merchant), keys.pending(merchant)],
    // The key prefixes: each builder's key with its last part (receipt, day) left empty.
    [keys.transaction(merchant, ''), keys.day(merchant, 0).slice(0, -1), journal.lastId, ...journal.days.keys()],
  )) as [number, number, string[], Array<string | number>, number, [string, string, string]];
  for (let i = 0; i + 4 < tail.length; i += 5) {
    journal.add(tail[i]!, tail[i + 1]!, tail[i + 2]!, Number(tail[i + 3]), String(Number(tail[i + 4])));
  }
  const counters = new Map<string, number[]>();
  for (let i = 0; i + 4 < flatCounters.length; i += 5) counters.set(String(flatCounters[i]), flatCounters.slice(i + 1, i + 5).map(Number));
  return {
    kind,
    floatFen,
    cashFen: Number(cash),
    cashLimitFen: Number(cashLimit),
    pendingPayFen,
    pendingCorrectFen,
    journal,
    counters,
  };
}

/** The invariant of the merchant's kind of account (module comment). */
function checkBalance(merchant: string, books: MerchantBooks): string[] {
  const { topup, pay, correct, remit } = books.journal.fen;
  const problems: string[] = [];
  const y = formatYuan;
  if (books.kind === 'collector') {
    const { cashFen, cashLimitFen, pendingPayFen, pendingCorrectFen } = books;
    const expected = pay - correct - remit + pendingPayFen - pendingCorrectFen;
    if (cashFen !== expected) {
      problems.push(
        `collector ${merchant}: cash held is ${y(cashFen)} but payments ${y(pay)} − corrections ${y(correct)} − remittances ` +
          `${y(remit)} + pending payments ${y(pendingPayFen)} − pending corrections ${y(pendingCorrectFen)} = ${y(expected)}`,
      );
    }
    if (cashFen < 0) problems.push(`collector ${merchant}: cash held is negative (${y(cashFen)})`);
    if (cashFen > cashLimitFen) problems.push(`collector ${merchant}: cash held ${y(cashFen)} is above its limit ${y(cashLimitFen)}`);
    if (topup > 0 || books.floatFen !== 0) problems.push(`collector ${merchant}: has a float (${y(books.floatFen)}, top-ups ${y(topup)}); collectors hold cash, not a float`);
    return problems;
  }
  const { floatFen, pendingPayFen } = books;
  const { adjust, reverse } = books.journal.fen;
  const expected = topup - pay + correct + adjust + reverse - pendingPayFen;
  if (floatFen !== expected) {
    const operatorActions = adjust !== 0 || reverse !== 0 ? ` + adjustments ${y(adjust)} + reversals ${y(reverse)}` : '';
    problems.push(
      `merchant ${merchant}: float is ${y(floatFen)} but top-ups ${y(topup)} − payments ` +
        `${y(pay)} + corrections ${y(correct)}${operatorActions} − pending ${y(pendingPayFen)} = ${y(expected)}`,
    );
  }
  if (floatFen < 0) problems.push(`merchant ${merchant}: float is negative (${y(floatFen)})`);
  if (remit > 0) problems.push(`merchant ${merchant}: an outlet with remittances (${y(remit)}); only collectors remit cash`);
  return problems;
}

function addMark(journal: Map<string, JournalMark[]>, receipt: string, kind: string, amountFen: number): void {
  const marks = journal.get(receipt);
  if (marks === undefined) journal.set(receipt, [{ kind, amountFen }]);
  else marks.push({ kind, amountFen });
}

/** Every transaction record, by merchant and receipt (found by scanning every node for them). */
async function readTransactions(
  context: AdminContext,
  merchants: Set<string>,
  discrepancies: string[],
): Promise<Map<string, Map<string, Hash>>> {
  const { redis } = context;
  const pattern = keys.transaction('*', '*');
  const shape = new RegExp(`^${escape(keys.transaction('\u0000', '\u0001')).replace('\u0000', '(.+)').replace('\u0001', '(.+)')}$`);
  const found = await scanKeys(context, pattern);
  const transactions = new Map<string, Map<string, Hash>>();
  for (let start = 0; start < found.length; start += BATCH) {
    const batch = found.slice(start, start + BATCH);
    const hashes = await Promise.all(batch.map((key) => redis.hgetall(key)));
    batch.forEach((key, i) => {
      const match = shape.exec(key);
      if (match === null) return;
      const [, merchant = '', receipt = ''] = match;
      if (!merchants.has(merchant)) {
        discrepancies.push(`transaction ${receipt} belongs to merchant ${merchant}, which is not in the merchant list`);
        return;
      }
      let txns = transactions.get(merchant);
      if (txns === undefined) transactions.set(merchant, (txns = new Map()));
      txns.set(receipt, hashes[i] ?? {});
    });
  }
  return transactions;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function checkTransaction(
  context: AdminContext,
  merchant: string,
  receipt: string,
  txn: Hash,
  txns: Map<string, Hash>,
  journal: Map<string, JournalMark[]>,
  now: number,
  options: VerifyOptions,
  leg: BillerLeg,
): Promise<string[]> {
  const problems: string[] = [];
  const say = (text: string) => problems.push(`merchant ${merchant}: ${txn.kind ?? 'transaction'} ${receipt} ${text}`);
  const { kind, state, account = '' } = txn;
  const amountFen = int(txn, 'amountFen');
  if (kind !== 'pay' && kind !== 'correct' && kind !== 'reverse') {
    say(`has unknown kind ${JSON.stringify(kind)}`);
    return problems;
  }
  const marks = journal.get(receipt) ?? [];
  if (state === 'complete') {
    if (marks.length !== 1) say(`is complete but has ${marks.length} journal entries`);
    else if (marks[0]!.kind !== kind || marks[0]!.amountFen !== amountFen) say(`disagrees with its journal entry (${marks[0]!.kind} ${marks[0]!.amountFen} fen)`);
  } else if (marks.length > 0) {
    say(`is ${state} but has ${marks.length} journal entr${marks.length === 1 ? 'y' : 'ies'}`);
  }
  if (state === 'pending') {
    const age = now - int(txn, 'createdAt');
    if (age > options.pendingBoundMs) say(`has been pending for ${Math.round(age / 1000)} s (bound ${options.pendingBoundMs / 1000} s): recovery has not run`);
    return problems;
  }
  if (state !== 'complete' && state !== 'declined') {
    say(`has unknown state ${JSON.stringify(state)}`);
    return problems;
  }

  const posting = await context.redis.hgetall(keys.posting(account, receipt));
  const booked = posting.result === String(ResultCode.APPROVED);
  if (state === 'declined') {
    if (booked) say(`was declined but the biller booked it (${posting.kind} of ${posting.amountFen} fen on account ${account})`);
    return problems;
  }
  const expectedKind = kind === 'pay' ? 'payment' : 'reversal';
  if (txn.billerQueue === 'queued' || txn.billerQueue === 'failed') {
    // Approved while the biller was down: listed under billerQueue (a failed one is a discrepancy there).
    const set = txn.billerQueue === 'queued' ? keys.billerQueue(merchant) : keys.billerFailed(merchant);
    if ((await context.redis.zscore(set, receipt)) === null) say(`is ${txn.billerQueue} for the biller but missing from merchant ${merchant}'s ${txn.billerQueue} list: it would never be forwarded or shown`);
    if (!booked) return problems;
  }
  if (!booked) {
    if (leg.http) {
      // Booked at the billing system on the network, not in Redis: reconcile biller --fetch checks that leg.
      leg.atBiller += 1;
      leg.days.add(int(txn, 'businessDay'));
      return problems;
    }
    say(`is complete but has no ${expectedKind} at the biller on account ${account}`);
    return problems;
  }
  if (posting.kind !== expectedKind || int(posting, 'amountFen') !== amountFen) {
    say(`is complete but the biller has a ${posting.kind} of ${posting.amountFen} fen for it`);
  }
  if ((await context.redis.zscore(keys.postings(account), receipt)) === null) say(`is booked at the biller but missing from account ${account}'s postings`);
  if (kind === 'pay' && txn.correctedBy !== undefined && txns.get(txn.correctedBy)?.state === 'complete' && posting.reversedBy !== txn.correctedBy) {
    say(`was corrected by ${txn.correctedBy} but the biller has it reversed by ${posting.reversedBy ?? 'nothing'}`);
  }
  if (kind === 'pay' && txn.reversedBy !== undefined && txns.get(txn.reversedBy)?.state === 'complete' && posting.reversedBy !== txn.reversedBy) {
    say(`was reversed by ${txn.reversedBy} but the biller has it reversed by ${posting.reversedBy ?? 'nothing'}`);
  }
  if (kind === 'reverse') {
    const original = await context.redis.hgetall(keys.transaction(merchant, txn.original ?? ''));
    if (posting.original !== txn.original) say(`reverses ${txn.original} but the biller's reversal names ${posting.original}`);
    if (original.kind !== 'pay' || original.state !== 'complete') say(`reverses ${txn.original}, which is no completed payment`);
    else if (original.reversedBy !== receipt) say(`reverses ${txn.original}, which names ${original.reversedBy ?? 'no'} reversal`);
  }
  if (kind === 'correct') {
    // Read afresh: the copy read earlier may predate this correction.
    const original = await context.redis.hgetall(keys.transaction(merchant, txn.original ?? ''));
    if (posting.original !== txn.original) say(`reverses ${txn.original} but the biller's reversal names ${posting.original}`);
    if (original.kind !== 'pay' || original.state !== 'complete') say(`corrects ${txn.original}, which is no completed payment`);
    else if (original.correctedBy !== receipt) say(`corrects ${txn.original}, which names ${original.correctedBy ?? 'no'} correction`);
  }
  return problems;
}

/**
 * One account's postings against the transactions, and its bills against its postings: what each
 * bill has paid must be what the payments cleared off it less what their reversals put back, a
 * payment must clear exactly its amount and its reversal restore exactly that. The arrears are
 * derived from the bills, so bills that agree with the postings prove the arrears.
 */
async function checkAccount(
  context: AdminContext,
  key: ReadonlyMap<number, Buffer>,
  account: string,
  byReceipt: Map<string, Hash>,
): Promise<{ postings: number; bills: number; unchecked: string | null; discrepancies: string[] }> {
  const [[stored, legacyArrears, sealed], billRecords, rows] = (await ACCOUNT_BOOKS.run(
    context.redis,
    [keys.account(account), keys.bills(account), keys.postings(account)],
    [keys.posting(account, '')],
  )) as [[string, string, string], string[], string[]];
  const problems: string[] = [];
  const say = (text: string) => problems.push(`account ${account}: ${text}`);
  const postings = rows.length / 7;
  const billCount = billRecords.length / 2;
  if (stored === '') return { postings, bills: billCount, unchecked: 'in the accounts list but its account record is gone', discrepancies: problems };
  if (legacyArrears !== '' && billCount === 0) {
    return { postings, bills: 0, unchecked: 'holds an arrears number from before bills and no bill: import its bills', discrepancies: problems };
  }
  const bills = new Map<string, Bill>();
  const unreadable: string[] = [];
  for (let i = 0; i + 1 < billRecords.length; i += 2) {
    const bill = parseBillRecord(billRecords[i]!, billRecords[i + 1]!);
    if (bill === null) unreadable.push(billRecords[i]!);
    else bills.set(bill.billId, bill);
  }
  if (unreadable.length > 0) {
    return { postings, bills: billCount, unchecked: `the record of bill ${unreadable.sort().join(', ')} does not read`, discrepancies: problems };
  }
  if (sealed === '') {
    return { postings, bills: billCount, unchecked: 'its bills carry no seal (imported without the master key or before bills were sealed): import its extract again', discrepancies: problems };
  }
  const roster: Record<string, string> = {};
  for (let i = 0; i + 1 < billRecords.length; i += 2) roster[billRecords[i]!] = billRecords[i + 1]!;
  const seal = checkBillsSeal(key, account, roster, sealed);
  if (seal === 'broken') say('its bills do not match their seal: a bill was added, removed or changed outside accounts import');
  if (typeof seal === 'number') say(`its bills are sealed under master key version ${seal}, which verify was not given: finish the master key rotation, or give that key as AIRCHARGE_MASTER_KEY_PREVIOUS`);

  // What the postings say each bill has paid, and each payment's clearances for its reversal.
  const paidBy = new Map<string, number>();
  const clearedBy = new Map<string, string>();
  const reversalsOf = new Map<string, number>();
  const parsed: Array<{ receipt: string; kind: string; amountFen: number; original: string; cleared: string }> = [];
  for (let i = 0; i + 6 < rows.length; i += 7) {
    const [receipt = '', kind = '', amount, result, original = '', , cleared = ''] = rows.slice(i, i + 7);
    const amountFen = Number(amount);
    if (result === '') {
      say(`posting ${receipt} is listed but its record is gone`);
      continue;
    }
    if (result !== String(ResultCode.APPROVED)) say(`posting ${receipt} is listed but was not approved (result ${result})`);
    parsed.push({ receipt, kind, amountFen, original, cleared });
    if (kind === 'payment') clearedBy.set(receipt, cleared);
  }
  for (const { receipt, kind, amountFen, original, cleared } of parsed) {
    const clearances = parseCleared(cleared);
    const total = clearances.reduce((sum, c) => sum + c.amountFen, 0);
    if (kind === 'payment') {
      if (total !== amountFen) say(`payment ${receipt} of ${formatYuan(amountFen)} cleared ${formatYuan(total)} off bills`);
    } else if (kind === 'reversal') {
      reversalsOf.set(original, (reversalsOf.get(original) ?? 0) + 1);
      if (clearedBy.get(original) !== cleared) say(`reversal ${receipt} put back ${cleared || 'nothing'}, but payment ${original} cleared ${clearedBy.get(original) || 'nothing'}`);
    } else say(`posting ${receipt} has unknown kind ${JSON.stringify(kind)}`);
    const sign = kind === 'reversal' ? -1 : 1;
    for (const c of clearances) {
      if (!bills.has(c.billId)) say(`${kind} ${receipt} cleared ${formatYuan(c.amountFen)} off bill ${c.billId}, which the biller no longer holds`);
      paidBy.set(c.billId, (paidBy.get(c.billId) ?? 0) + sign * c.amountFen);
    }

    const txn = byReceipt.get(receipt) ?? (await readTransaction(context, receipt));
    // A reversal at the biller is a terminal's correction or an operator's reversal.
    const expectedKinds = kind === 'payment' ? ['pay'] : ['correct', 'reverse'];
    if (txn === null) say(`${kind} ${receipt} of ${amountFen} fen matches no transaction`);
    else if (!expectedKinds.includes(txn.kind ?? '') || txn.account !== account || int(txn, 'amountFen') !== amountFen) {
      say(`${kind} ${receipt} of ${amountFen} fen disagrees with its transaction (${txn.kind} of ${txn.amountFen} fen on ${txn.account})`);
    } else if (txn.state === 'declined') say(`${kind} ${receipt} is booked but its transaction was declined`);
  }
  for (const [original, count] of reversalsOf) if (count > 1) say(`payment ${original} is reversed ${count} times`);
  for (const bill of bills.values()) {
    const fromPostings = paidBy.get(bill.billId) ?? 0;
    if (bill.paidFen !== fromPostings) say(`bill ${bill.billId} shows ${formatYuan(bill.paidFen)} paid, its postings ${formatYuan(fromPostings)}`);
    if (bill.paidFen > bill.amountFen) say(`bill ${bill.billId} is paid ${formatYuan(bill.paidFen)}, above its amount ${formatYuan(bill.amountFen)}`);
    if (bill.status === 'cancelled' && bill.paidFen !== 0) say(`bill ${bill.billId} is cancelled with ${formatYuan(bill.paidFen)} paid against it`);
  }
  return { postings, bills: billCount, unchecked: null, discrepancies: problems };
}

/** A transaction not among those read (it may be newer), found through its terminal's merchant. */
async function readTransaction(context: AdminContext, receipt: string): Promise<Hash | null> {
  const parsed = parseReceipt(receipt);
  if (parsed === null) return null;
  const merchant = await context.redis.get(keys.terminalMerchant(parsed.terminalId));
  if (merchant === null) return null;
  const hash = await context.redis.hgetall(keys.transaction(merchant, receipt));
  return hash.kind === undefined ? null : hash;
}
