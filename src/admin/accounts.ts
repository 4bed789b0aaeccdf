/**
 * Billing accounts at the embedded biller: the bill extract imported (bill-extract.ts has the
 * format), and an account shown with its bills and postings.
 *
 * An import never changes money collected here. Bill by bill, idempotent by bill id:
 *   - a bill not held yet is added (an open one adds to the arrears);
 *   - a bill held and unchanged changes nothing;
 *   - a bill held that nothing was paid against takes the file's amount, period, issue date and
 *     status (the extract is the billing system's latest word; cancelled, it leaves the arrears);
 *   - a bill paid against here, in part or in full, whose amount, period or issue date the file
 *     changes, or which the file cancels: a conflict. Every conflict is listed and nothing from
 *     the file is written (ERR_CONFLICT).
 * Bills missing from the file stay as they are; postings are never touched.
 */
import { ACCOUNT_PATTERN, RESULT_NAME, ResultCode } from '../../protocol/constants.js';
import type { BillPeriod } from '../../protocol/messages.js';
import { formatBillRecord, parseCleared } from '../biller/bill-record.js';
import { arrearsOf, unpaidPeriods, type Bill, type BillClearance } from '../biller/biller.js';
import { BILLS_LUA } from '../biller/lua.js';
import { readBills } from '../biller/redis-biller.js';
import { keys } from '../store/keys.js';
import { Script } from '../store/script.js';
import { parseBillExtract, type ExtractAccount } from './bill-extract.js';
import { billsMac, ROSTER_DIGEST_LUA } from './bill-seal.js';
import { requireJournalKey, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { formatYuan } from './money.js';

export interface AccountPosting {
  receipt: string;
  kind: 'payment' | 'reversal';
  /** The biller's answer: APPROVED, or why it declined (a declined post is kept so its retry hears the same). */
  result: { code: number; name: string };
  amountFen: number;
  /** A reversal's payment; '' for a payment. */
  original: string;
  /** A payment's reversal, if any; ''. */
  reversedBy: string;
  /** Epoch milliseconds. */
  at: number;
  day: number;
  arrearsAfterFen: number;
  /** What it took off (payment) or put back on (reversal) each bill. */
  bills: BillClearance[];
}

export interface Account {
  account: string;
  name: string;
  status: 'open' | 'closed';
  /** Derived: Σ (amount − paid) over the open bills. */
  arrearsFen: number;
  /** What a terminal is shown: the unpaid amount per period, oldest first. */
  periods: BillPeriod[];
  bills: Bill[];
  /** Approved postings, oldest first. */
  postings: AccountPosting[];
}

/**
 * One account's rows against what is stored, in its slot. ARGV[1] 'check' (read only) or 'write',
 * ARGV[2] account, ARGV[3] name, ARGV[4] account status ('' keeps it; new accounts open), ARGV[5]
 * now, ARGV[6] the roster digest the check step saw, ARGV[7] the seal of the roster the write
 * leaves (bill-seal.ts; both '' when checking), then per bill: id, period, amountFen, issueDate, status.
 * KEYS[1] account, KEYS[2] bills → {conflicts, added, changed, unchanged, newAccount, digest, bills}:
 * conflicts flat {billId, paidFen, why}; bills the stored ones, flat {id, record}. With any conflict
 * nothing of the account is written; `write` decides again, so a payment landing between the check
 * and the write is never undone, and a roster changed since the check is a conflict too.
 */
const IMPORT_ACCOUNT = new Script(`${BILLS_LUA}${ROSTER_DIGEST_LUA}
local conflicts, writes = {}, {}
local added, changed, unchanged = 0, 0, 0
for i = 8, #ARGV, 5 do
  local id, period, amount, issued, status = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local raw = redis.call('HGET', KEYS[2], id)
  local record = period .. '|' .. amount .. '|' .. issued .. '|' .. status .. '|'
  if not raw then
    added = added + 1
    writes[#writes + 1] = id; writes[#writes + 1] = record .. '0'
  else
    local held, paid = string.match(raw, '^(%d+|%d+|[^|]*|%a+|)(%d+)')
    if held == record then unchanged = unchanged + 1
    elseif paid == '0' then
      changed = changed + 1
      writes[#writes + 1] = id; writes[#writes + 1] = record .. '0'
    else
      local why = 'the file changes its amount, period or issue date'
      if status == 'cancelled' then why = 'the file cancels it' end
      for _, v in ipairs({id, paid or '?', why}) do conflicts[#conflicts + 1] = v end
    end
  end
end
local digest = rosterDigest(KEYS[2])
if ARGV[1] == 'write' and #conflicts == 0 and digest ~= ARGV[6] then
  for _, v in ipairs({'*', '0', 'its bills changed while the file was imported: import it again'}) do conflicts[#conflicts + 1] = v end
end
local exists = redis.call('EXISTS', KEYS[1])
if ARGV[1] == 'write' and #conflicts == 0 then
  if exists == 0 then redis.call('HSET', KEYS[1], 'account', ARGV[2], 'status', 'open') end
  redis.call('HSET', KEYS[1], 'name', ARGV[3], 'importedAt', ARGV[5], 'billsMac', ARGV[7])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[4]) end
  if #writes > 0 then redis.call('HSET', KEYS[2], unpack(writes)) end
end
local bills = {}
if ARGV[1] == 'check' then bills = redis.call('HGETALL', KEYS[2]) end
return {conflicts, added, changed, unchanged, 1 - exists, digest, bills}
`);

export interface ImportResult {
  /** Accounts not held before. */
  newAccounts: number;
  /** Accounts in the file. */
  accounts: number;
  /** Bills not held before. */
  billsAdded: number;
  /** Bills nothing was paid against that the file changed (amount, period, issue date, status). */
  billsChanged: number;
  billsUnchanged: number;
}

type ImportReply = [string[], number, number, number, number, string, string[]];

/** Accounts go out this many at a time, so a large file does not build one huge pipeline. */
const BATCH = 1000;

export async function importAccounts(context: AdminContext, csvText: string): Promise<ImportResult> {
  const accounts = parseBillExtract(csvText);
  const key = requireJournalKey(context, 'seals the bills it imports');
  const { redis } = context;
  const run = (mode: 'check' | 'write', a: ExtractAccount, now: number, digest = '', mac = '') =>
    IMPORT_ACCOUNT.run(redis, [keys.account(a.account), keys.bills(a.account)], [
      mode,
      a.account,
      a.name,
      a.status ?? '',
      now,
      digest,
      mac,
      ...a.bills.flatMap((b) => [b.billId, b.period, b.amountFen, b.issueDate, b.status]),
    ]) as Promise<ImportReply>;

  // What each account's roster is now and will be after the import: the write seals the latter.
  const seals = new Map<string, { digest: string; mac: string }>();
  const conflicts: string[] = [];
  await inBatches(accounts, async (a) => {
    const [found, , , , , digest, flat] = await run('check', a, 0);
    conflicts.push(...conflictLines(a, found));
    const roster: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) roster[flat[i]!] = flat[i + 1]!;
    for (const b of a.bills) roster[b.billId] = formatBillRecord({ ...b, paidFen: 0 });
    seals.set(a.account, { digest, mac: billsMac(key, a.account, roster) });
  });
  if (conflicts.length > 0) throw conflictError(conflicts, 'nothing imported');

  const importedAt = context.now();
  const result: ImportResult = { newAccounts: 0, accounts: 0, billsAdded: 0, billsChanged: 0, billsUnchanged: 0 };
  await inBatches(
    accounts,
    async (a) => {
      const seal = seals.get(a.account)!;
      const [raced, added, changed, unchanged, isNew] = await run('write', a, importedAt, seal.digest, seal.mac);
      if (raced.length > 0) {
        conflicts.push(...conflictLines(a, raced));
        return;
      }
      result.accounts += 1;
      result.newAccounts += isNew;
      result.billsAdded += added;
      result.billsChanged += changed;
      result.billsUnchanged += unchanged;
    },
    (batch) => redis.sadd(keys.accounts(), ...batch.map((a) => a.account)),
  );
  // Only a payment racing the import gets here; its account was left as it was.
  if (conflicts.length > 0) throw conflictError(conflicts, 'the other accounts were imported');
  return result;
}

async function inBatches(accounts: ExtractAccount[], each: (a: ExtractAccount) => Promise<void>, after?: (batch: ExtractAccount[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < accounts.length; start += BATCH) {
    const batch = accounts.slice(start, start + BATCH);
    await Promise.all(batch.map(each));
    await after?.(batch);
  }
}

function conflictLines(a: ExtractAccount, flat: string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const [billId = '', paid = '0', why = ''] = flat.slice(i, i + 3);
    if (billId === '*') {
      lines.push(`account ${a.account}: ${why}`);
      continue;
    }
    const bill = a.bills.find((b) => b.billId === billId);
    lines.push(`account ${a.account} bill ${billId}: ${formatYuan(Number(paid))} yuan paid against it here, and ${why} (file: ${bill?.period} ${formatYuan(bill?.amountFen ?? 0)} yuan ${bill?.status})`);
  }
  return lines;
}

function conflictError(conflicts: string[], outcome: string): AdminError {
  conflicts.sort();
  return new AdminError(
    AdminErrorCode.CONFLICT,
    `${conflicts.length} bill${conflicts.length === 1 ? '' : 's'} in the file would undo payments taken here, ${outcome}:\n${conflicts.join('\n')}`,
    conflicts,
  );
}

/** A posting as the embedded biller's hash keeps it (src/biller/lua.ts), by name. */
export function readPosting(receipt: string, p: Record<string, string>): AccountPosting {
  const code = Number(p.result ?? ResultCode.APPROVED);
  return {
    receipt,
    kind: p.kind === 'reversal' ? 'reversal' : 'payment',
    result: { code, name: RESULT_NAME.get(code) ?? `0x${code.toString(16)}` },
    amountFen: Number(p.amountFen ?? 0),
    original: p.original ?? '',
    reversedBy: p.reversedBy ?? '',
    at: Number(p.at ?? 0),
    day: Number(p.day ?? 0),
    arrearsAfterFen: Number(p.arrearsAfter ?? 0),
    bills: parseCleared(p.cleared),
  };
}

export async function showAccount(context: AdminContext, account: string): Promise<Account> {
  if (!ACCOUNT_PATTERN.test(account)) throw new AdminError(AdminErrorCode.INVALID, `account ${JSON.stringify(account)} is not 10 digits`);
  const { redis } = context;
  const [hash, records, receipts] = await Promise.all([
    redis.hgetall(keys.account(account)),
    redis.hgetall(keys.bills(account)),
    redis.zrange(keys.postings(account), 0, -1),
  ]);
  if (hash.account === undefined) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown account ${account}`);
  const bills = readBills(records);
  const hashes = await Promise.all(receipts.map((receipt) => redis.hgetall(keys.posting(account, receipt))));
  return {
    account,
    name: hash.name ?? '',
    status: hash.status === 'closed' ? 'closed' : 'open',
    arrearsFen: arrearsOf(bills),
    periods: unpaidPeriods(bills),
    bills,
    postings: receipts.map((receipt, i) => readPosting(receipt, hashes[i] ?? {})),
  };
}
