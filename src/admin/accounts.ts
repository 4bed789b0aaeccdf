/**
 * Billing accounts at the embedded biller, loaded from the billing system's CSV extract.
 *
 * File format (UTF-8, RFC 4180 quoting, first line a header naming the columns in any order):
 *   account   10 digits
 *   name      the holder's name, at most 60 bytes of UTF-8
 *   arrears   what the account owes, in yuan with at most two decimals
 *   status    optional: open (default) or closed
 *   periods   optional: the unpaid bills, `YYYYMM:yuan` separated by `;`, such as
 *             `202609:120.00;202610:80`; at most 12 and together exactly the arrears
 * Every row is checked before anything is written; one bad row and nothing is imported, and the
 * error lists every bad row with its line number.
 *
 * An import never undoes money collected here. For an account that exists:
 *   - nothing posted against it since its last import: the row replaces name, status, arrears and
 *     periods (the extract is the billing system's latest word);
 *   - postings since its last import, row's arrears and periods as imported then: unchanged, only
 *     name and status are taken (so the same extract can be imported again);
 *   - postings since its last import and other arrears or periods: a conflict. Every conflict is
 *     listed and nothing from the file is written (ERR_CONFLICT). The extract predates payments
 *     taken here; the billing system must send arrears that include them.
 */
import { ACCOUNT_PATTERN, MAX_BILL_PERIODS, MAX_NAME_BYTES } from '../../protocol/constants.js';
import type { BillPeriod } from '../../protocol/messages.js';
import { keys } from '../store/keys.js';
import { int, type AdminContext } from './context.js';
import { parseCsv } from './csv.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { formatYuan, parseYuan } from './money.js';
import { Script } from '../store/script.js';

export interface Account {
  account: string;
  name: string;
  status: 'open' | 'closed';
  arrearsFen: number;
  periods: BillPeriod[];
}

const REQUIRED_COLUMNS = ['account', 'name', 'arrears'] as const;
const OPTIONAL_COLUMNS = ['status', 'periods'] as const;
/**
 * How an extract row stands against the account already stored, decided in the account's slot.
 * Postings since the last import mean money moved here; then only a row equal to that import's
 * arrears and periods may be written (and then only its name and status).
 * KEYS[1] account, KEYS[2] postings set; ARGV arrears, periods → 'new' | 'replace' | 'unchanged' | 'conflict'
 */
const CLASSIFY = `
local function classify()
  local a = redis.call('HMGET', KEYS[1], 'account', 'importedArrearsFen', 'importedPeriods', 'importedPostings')
  if not a[1] then return 'new' end
  if redis.call('ZCARD', KEYS[2]) == tonumber(a[4] or 0) then return 'replace' end
  if a[2] == ARGV[1] and (a[3] or '[]') == ARGV[2] then return 'unchanged' end
  return 'conflict'
end
`;

/** Read-only: the first pass over a file, so a conflict anywhere writes nothing. */
const CLASSIFY_ACCOUNT = new Script(`${CLASSIFY}
return classify()
`);

/**
 * Writes one row as CLASSIFY allows, deciding again in the same script: a payment that lands
 * between the two passes turns the row into a conflict rather than undoing the payment. Besides
 * what the biller reads it records the imported arrears and periods and how many postings the
 * account had then, from which verify checks the arrears against the postings made since.
 * KEYS[1] account, KEYS[2] postings set; ARGV arrears, periods, account, name, status, now
 */
const WRITE_ACCOUNT = new Script(`${CLASSIFY}
local standing = classify()
if standing == 'conflict' then return standing end
redis.call('HSET', KEYS[1], 'account', ARGV[3], 'name', ARGV[4], 'status', ARGV[5])
if standing == 'unchanged' then return standing end
redis.call('HSET', KEYS[1], 'arrearsFen', ARGV[1], 'periods', ARGV[2], 'importedArrearsFen', ARGV[1],
  'importedPeriods', ARGV[2], 'importedPostings', redis.call('ZCARD', KEYS[2]), 'importedAt', ARGV[6])
return standing
`);

type Standing = 'new' | 'replace' | 'unchanged' | 'conflict';

export interface ImportResult {
  /** Accounts written: new ones and those replaced. */
  imported: number;
  /** Accounts with postings since their last import whose row matched it: arrears kept. */
  unchanged: number;
}

/** Writes go out in batches so a large file does not build one huge pipeline. */
const BATCH = 1000;

export async function importAccounts(context: AdminContext, csvText: string): Promise<ImportResult> {
  const accounts = parseAccounts(csvText);
  const { redis } = context;
  const keysOf = (a: Account) => [keys.account(a.account), keys.postings(a.account)];
  const balanceOf = (a: Account) => [a.arrearsFen, JSON.stringify(a.periods)];

  const conflicts: string[] = [];
  await inBatches(accounts, async (a) => {
    const standing = (await CLASSIFY_ACCOUNT.run(redis, keysOf(a), balanceOf(a))) as Standing;
    if (standing === 'conflict') conflicts.push(conflictLine(a));
  });
  if (conflicts.length > 0) throw conflictError(conflicts, 'nothing imported');

  const importedAt = context.now();
  const result: ImportResult = { imported: 0, unchanged: 0 };
  await inBatches(accounts, async (a) => {
    const standing = (await WRITE_ACCOUNT.run(redis, keysOf(a), [...balanceOf(a), a.account, a.name, a.status, importedAt])) as Standing;
    if (standing === 'conflict') conflicts.push(conflictLine(a));
    else if (standing === 'unchanged') result.unchanged += 1;
    else result.imported += 1;
  }, (batch) => redis.sadd(keys.accounts(), ...batch.map((a) => a.account)));
  // Only a payment racing the import gets here; its account was left as it was.
  if (conflicts.length > 0) throw conflictError(conflicts, 'the other accounts were imported');
  return result;
}

async function inBatches(accounts: Account[], each: (a: Account) => Promise<void>, after?: (batch: Account[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < accounts.length; start += BATCH) {
    const batch = accounts.slice(start, start + BATCH);
    await Promise.all(batch.map(each));
    await after?.(batch);
  }
}

function conflictLine(a: Account): string {
  return `account ${a.account}: paid here since its last import, and the file changes its arrears or periods (${formatYuan(a.arrearsFen)} yuan)`;
}

function conflictError(conflicts: string[], outcome: string): AdminError {
  conflicts.sort();
  return new AdminError(
    AdminErrorCode.CONFLICT,
    `${conflicts.length} account${conflicts.length === 1 ? '' : 's'} in the file would undo payments taken here, ${outcome}:\n${conflicts.join('\n')}`,
    conflicts,
  );
}

/** Validates the whole file; throws AdminError(ERR_CSV) listing every bad row by line number. */
export function parseAccounts(csvText: string): Account[] {
  const { records, errors } = parseCsv(csvText);
  const header = records.shift();
  if (header === undefined) throw new AdminError(AdminErrorCode.CSV, 'the accounts file is empty: it needs the header account,name,arrears');
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const headerErrors = checkHeader(columns);
  if (headerErrors.length > 0) {
    throw new AdminError(AdminErrorCode.CSV, `line ${header.line}: bad header: ${headerErrors.join('; ')}`, headerErrors.map((e) => `line ${header.line}: ${e}`));
  }

  const accounts: Account[] = [];
  const seen = new Map<string, number>();
  for (const record of records) {
    const problems: string[] = [];
    if (record.fields.length !== columns.length) {
      errors.push(`line ${record.line}: ${record.fields.length} field${record.fields.length === 1 ? '' : 's'}, the header has ${columns.length}`);
      continue;
    }
    const row = new Map(columns.map((c, i) => [c, (record.fields[i] ?? '').trim()]));
    const account = row.get('account') ?? '';
    const name = row.get('name') ?? '';
    const status = row.get('status') || 'open';
    let arrearsFen = 0;

    if (!ACCOUNT_PATTERN.test(account)) problems.push(`account ${JSON.stringify(account)} is not 10 digits`);
    else if (seen.has(account)) problems.push(`account ${account} already on line ${seen.get(account)}`);
    else seen.set(account, record.line);
    // eslint-disable-next-line no-control-regex
    if (name === '' || Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES || /[\u0000-\u001f\u007f]/.test(name)) {
      problems.push(`name must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8 without control characters`);
    }
    try {
      arrearsFen = parseYuan(row.get('arrears') ?? '');
    } catch (error) {
      problems.push(`arrears: ${(error as Error).message}`);
    }
    if (status !== 'open' && status !== 'closed') problems.push(`status ${JSON.stringify(status)} is neither open nor closed`);
    const periods = parsePeriods(row.get('periods') ?? '', problems);
    if (periods.length > 0 && problems.length === 0) {
      const sum = periods.reduce((total, p) => total + p.amountFen, 0);
      if (sum !== arrearsFen) problems.push(`periods add up to ${formatYuan(sum)}, arrears are ${formatYuan(arrearsFen)}`);
    }

    if (problems.length > 0) errors.push(...problems.map((p) => `line ${record.line}: ${p}`));
    else accounts.push({ account, name, status: status as Account['status'], arrearsFen, periods });
  }

  if (errors.length > 0) {
    errors.sort((x, y) => lineOf(x) - lineOf(y));
    throw new AdminError(
      AdminErrorCode.CSV,
      `${errors.length} problem${errors.length === 1 ? '' : 's'} in the accounts file, nothing imported:\n${errors.join('\n')}`,
      errors,
    );
  }
  return accounts;
}

function checkHeader(columns: string[]): string[] {
  const problems: string[] = [];
  for (const required of REQUIRED_COLUMNS) {
    if (!columns.includes(required)) problems.push(`column ${required} is missing`);
  }
  for (const column of columns) {
    if (![...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].includes(column as never)) problems.push(`unknown column ${JSON.stringify(column)}`);
    else if (columns.indexOf(column) !== columns.lastIndexOf(column)) problems.push(`column ${column} appears twice`);
  }
  return [...new Set(problems)];
}

/** `202609:120.00;202610:80` → periods, oldest first; problems go to `problems`. */
function parsePeriods(text: string, problems: string[]): BillPeriod[] {
  if (text === '') return [];
  const periods: BillPeriod[] = [];
  for (const item of text.split(';')) {
    const match = /^(\d{4})(\d{2}):(.*)$/.exec(item.trim());
    const month = Number(match?.[2]);
    if (match === null || month < 1 || month > 12) {
      problems.push(`period ${JSON.stringify(item)} is not YYYYMM:yuan`);
      continue;
    }
    const period = Number(`${match[1]}${match[2]}`);
    if (periods.some((p) => p.period === period)) problems.push(`period ${period} appears twice`);
    try {
      const amountFen = parseYuan(match[3] ?? '');
      if (amountFen === 0) problems.push(`period ${period} has a zero amount`);
      periods.push({ period, amountFen });
    } catch (error) {
      problems.push(`period ${period}: ${(error as Error).message}`);
    }
  }
  if (periods.length > MAX_BILL_PERIODS) problems.push(`${periods.length} periods, at most ${MAX_BILL_PERIODS}`);
  return periods.sort((x, y) => x.period - y.period);
}

function lineOf(message: string): number {
  return Number(/^line (\d+)/.exec(message)?.[1] ?? 0);
}

export async function showAccount(context: AdminContext, account: string): Promise<Account> {
  if (!ACCOUNT_PATTERN.test(account)) throw new AdminError(AdminErrorCode.INVALID, `account ${JSON.stringify(account)} is not 10 digits`);
  const hash = await context.redis.hgetall(keys.account(account));
  if (hash.account === undefined) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown account ${account}`);
  return {
    account,
    name: hash.name ?? '',
    status: hash.status === 'closed' ? 'closed' : 'open',
    arrearsFen: int(hash, 'arrearsFen'),
    periods: JSON.parse(hash.periods ?? '[]') as BillPeriod[],
  };
}
