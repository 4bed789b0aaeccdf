/**
 * The billing system's bill extract, read and checked whole before anything is written. The
 * embedded biller's `accounts import` and the reference billing system read the same file.
 *
 * CSV (UTF-8, RFC 4180 quoting), first line a header naming the columns in any order:
 *   account         10 digits
 *   name            the holder's name, 1 to 60 bytes of UTF-8; the same on each of the account's rows
 *   bill_id         the billing system's id of the bill: 1 to 32 of A-Z a-z 0-9 _ -
 *   period          YYYYMM, the month billed
 *   amount          yuan with at most two decimals, above zero
 *   issue_date      YYYY-MM-DD
 *   status          open or cancelled (the bill's)
 *   account_status  optional column: open or closed; empty keeps what is stored (new accounts open)
 * One row per bill. A row with bill_id, period, amount, issue_date and status all empty names an
 * account with no bill in this file (a new account owing nothing, or a name or status change).
 */
import { ACCOUNT_PATTERN, MAX_NAME_BYTES } from '../../protocol/constants.js';
import { BILL_ID_PATTERN } from '../biller/bill-record.js';
import { parseCsv } from './csv.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { parseYuan } from './money.js';

export interface ExtractBill {
  billId: string;
  period: number;
  amountFen: number;
  issueDate: string;
  status: 'open' | 'cancelled';
}

export interface ExtractAccount {
  account: string;
  name: string;
  /** Undefined: the file does not say; a stored account keeps its status, a new one is open. */
  status?: 'open' | 'closed';
  bills: ExtractBill[];
}

export const EXTRACT_COLUMNS = ['account', 'name', 'bill_id', 'period', 'amount', 'issue_date', 'status'] as const;
const OPTIONAL_COLUMNS = ['account_status'] as const;
const BILL_COLUMNS = ['bill_id', 'period', 'amount', 'issue_date', 'status'] as const;

/** Validates the whole file; throws AdminError(ERR_CSV) listing every bad row by line number. */
export function parseBillExtract(csvText: string): ExtractAccount[] {
  const { records, errors } = parseCsv(csvText);
  const header = records.shift();
  if (header === undefined) throw new AdminError(AdminErrorCode.CSV, `the bill extract is empty: it needs the header ${EXTRACT_COLUMNS.join(',')}`);
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const headerErrors = checkHeader(columns);
  if (headerErrors.length > 0) {
    throw new AdminError(AdminErrorCode.CSV, `line ${header.line}: bad header: ${headerErrors.join('; ')}`, headerErrors.map((e) => `line ${header.line}: ${e}`));
  }

  const accounts = new Map<string, ExtractAccount & { line: number }>();
  const billLines = new Map<string, number>();
  for (const record of records) {
    if (record.fields.length !== columns.length) {
      errors.push(`line ${record.line}: ${record.fields.length} field${record.fields.length === 1 ? '' : 's'}, the header has ${columns.length}`);
      continue;
    }
    const row = new Map(columns.map((c, i) => [c, (record.fields[i] ?? '').trim()]));
    const field = (name: string) => row.get(name) ?? '';
    const problems: string[] = [];
    const account = field('account');
    const name = field('name');
    const accountStatus = field('account_status');

    if (!ACCOUNT_PATTERN.test(account)) problems.push(`account ${JSON.stringify(account)} is not 10 digits`);
    // eslint-disable-next-line no-control-regex
    if (name === '' || Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES || /[\u0000-\u001f\u007f]/.test(name)) {
      problems.push(`name must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8 without control characters`);
    }
    if (accountStatus !== '' && accountStatus !== 'open' && accountStatus !== 'closed') {
      problems.push(`account_status ${JSON.stringify(accountStatus)} is neither open nor closed`);
    }
    const bill = BILL_COLUMNS.every((c) => field(c) === '') ? null : parseBill(field, problems);

    const known = accounts.get(account);
    if (problems.length === 0 && known !== undefined) {
      if (known.name !== name) problems.push(`name ${JSON.stringify(name)} differs from line ${known.line} (${JSON.stringify(known.name)})`);
      if (accountStatus !== '' && known.status !== undefined && known.status !== accountStatus) {
        problems.push(`account_status ${accountStatus} differs from line ${known.line} (${known.status})`);
      }
    }
    if (bill !== null && problems.length === 0) {
      const seen = billLines.get(`${account}:${bill.billId}`);
      if (seen !== undefined) problems.push(`bill ${bill.billId} of account ${account} already on line ${seen}`);
      else billLines.set(`${account}:${bill.billId}`, record.line);
    }

    if (problems.length > 0) {
      errors.push(...problems.map((p) => `line ${record.line}: ${p}`));
      continue;
    }
    const entry = known ?? { account, name, bills: [], line: record.line };
    if (accountStatus !== '') entry.status = accountStatus as 'open' | 'closed';
    if (bill !== null) entry.bills.push(bill);
    accounts.set(account, entry);
  }

  if (errors.length > 0) {
    errors.sort((x, y) => lineOf(x) - lineOf(y));
    throw new AdminError(
      AdminErrorCode.CSV,
      `${errors.length} problem${errors.length === 1 ? '' : 's'} in the bill extract, nothing imported:\n${errors.join('\n')}`,
      errors,
    );
  }
  return [...accounts.values()].map(({ line: _line, ...a }) => a);
}

function parseBill(field: (name: string) => string, problems: string[]): ExtractBill | null {
  const before = problems.length;
  const billId = field('bill_id');
  if (!BILL_ID_PATTERN.test(billId)) problems.push(`bill_id ${JSON.stringify(billId)} is not 1 to 32 of A-Z a-z 0-9 _ -`);
  const periodMatch = /^(\d{4})(\d{2})$/.exec(field('period'));
  const month = Number(periodMatch?.[2]);
  if (periodMatch === null || month < 1 || month > 12) problems.push(`period ${JSON.stringify(field('period'))} is not YYYYMM`);
  let amountFen = 0;
  try {
    amountFen = parseYuan(field('amount'));
    if (amountFen === 0) problems.push('amount is zero');
  } catch (error) {
    problems.push(`amount: ${(error as Error).message}`);
  }
  const issueDate = field('issue_date');
  if (!isDate(issueDate)) problems.push(`issue_date ${JSON.stringify(issueDate)} is not a date YYYY-MM-DD`);
  const status = field('status');
  if (status !== 'open' && status !== 'cancelled') problems.push(`status ${JSON.stringify(status)} is neither open nor cancelled`);
  if (problems.length > before) return null;
  return { billId, period: Number(field('period')), amountFen, issueDate, status: status as ExtractBill['status'] };
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function checkHeader(columns: string[]): string[] {
  if (columns.includes('arrears')) {
    // The old format gave an account one arrears number: with no bill id there is no telling a
    // debt already paid here from a new one, which is how a re-import billed customers twice.
    return [`this is the old accounts format (an arrears column); the extract lists bills: ${EXTRACT_COLUMNS.join(',')} (src/admin/README.md)`];
  }
  const problems: string[] = [];
  for (const required of EXTRACT_COLUMNS) {
    if (!columns.includes(required)) problems.push(`column ${required} is missing`);
  }
  for (const column of columns) {
    if (![...EXTRACT_COLUMNS, ...OPTIONAL_COLUMNS].includes(column as never)) problems.push(`unknown column ${JSON.stringify(column)}`);
    else if (columns.indexOf(column) !== columns.lastIndexOf(column)) problems.push(`column ${column} appears twice`);
  }
  return [...new Set(problems)];
}

function lineOf(message: string): number {
  return Number(/^line (\d+)/.exec(message)?.[1] ?? 0);
}
