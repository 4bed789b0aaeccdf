/**
 * The billing system's bill extract (COMMON format, owned by the accounts import):
 * `account,name,bill_id,period,amount,issue_date,status`, amount in yuan with two decimals,
 * period YYYYMM, issue_date YYYY-MM-DD, status open|cancelled; one row a bill.
 */
import { parseCsv } from '../../src/admin/csv.js';
import { parseYuan } from '../../src/admin/money.js';
import { ACCOUNT_PATTERN } from '../../src/biller/http-api.js';
import type { BillRecord } from './ledger.js';

export const EXTRACT_HEADER = ['account', 'name', 'bill_id', 'period', 'amount', 'issue_date', 'status'];

export class ExtractError extends Error {
  readonly code = 'BAD_REQUEST';
  override name = 'ExtractError';
  constructor(readonly errors: string[]) {
    super(`bad extract: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}`);
  }
}

export function parseExtract(text: string): BillRecord[] {
  const { records, errors } = parseCsv(text);
  const [header, ...rows] = records;
  if (header === undefined || header.fields.join(',') !== EXTRACT_HEADER.join(',')) {
    throw new ExtractError([`the header must be ${EXTRACT_HEADER.join(',')}`]);
  }
  const bills: BillRecord[] = [];
  const seen = new Set<string>();
  for (const { line, fields } of rows) {
    const [account = '', name = '', billId = '', period = '', amount = '', issueDate = '', status = ''] = fields;
    const bad = (why: string) => errors.push(`line ${line}: ${why}`);
    if (fields.length !== EXTRACT_HEADER.length) { bad(`${fields.length} fields, expected ${EXTRACT_HEADER.length}`); continue; }
    if (!ACCOUNT_PATTERN.test(account)) { bad('bad account'); continue; }
    if (!/^[0-9A-Za-z_.-]{1,64}$/.test(billId)) { bad('bad bill_id'); continue; }
    if (seen.has(billId)) { bad(`bill ${billId} twice`); continue; }
    if (!/^[0-9]{4}(0[1-9]|1[0-2])$/.test(period)) { bad('period must be YYYYMM'); continue; }
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(issueDate)) { bad('issue_date must be YYYY-MM-DD'); continue; }
    if (status !== 'open' && status !== 'cancelled') { bad('status must be open or cancelled'); continue; }
    let amountFen: number;
    try {
      amountFen = parseYuan(amount);
    } catch {
      bad('amount must be yuan with at most two decimals');
      continue;
    }
    seen.add(billId);
    bills.push({ t: 'bill', account, name, billId, period: Number(period), amountFen, issueDate, status });
  }
  if (errors.length > 0) throw new ExtractError(errors);
  return bills;
}
