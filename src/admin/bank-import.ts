/**
 * `float import bank.csv`: the bank's statement of the merchants' pre-store transfers, applied as
 * top-ups by reference. A transfer whose reference was applied already is a duplicate and is
 * skipped, so the same statement (or two overlapping ones) can be run again safely; rows for an
 * unknown merchant, a collector, or with a bad amount or date are listed and left out while the
 * good rows are applied.
 */
import type { AdminContext } from './context.js';
import type { LowFloatOptions } from '../core/deps.js';
import { parseCsv } from './csv.js';
import { parseDate } from './day.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { parseYuan } from './money.js';
import { topUp } from './float.js';

export const BANK_COLUMNS = ['date', 'merchant', 'amount', 'reference'] as const;

export interface BankRowOutcome {
  /** 1-based line in the file. */
  line: number;
  merchant: string;
  amountFen: number;
  reference: string;
}

export interface BankImportResult {
  applied: Array<BankRowOutcome & { floatFen: number }>;
  /** References applied before (by an earlier run, or earlier in this file). */
  duplicates: BankRowOutcome[];
  /** Merchants the network does not know: the transfer is someone else's, or the merchant is not provisioned yet. */
  unknownMerchants: BankRowOutcome[];
  /** Rows not applied for another reason (bad amount or date, a collector, the float ceiling): each with why. */
  rejected: Array<{ line: number; reason: string }>;
}

export async function importBankStatement(
  context: AdminContext & { lowFloat: LowFloatOptions },
  csvText: string,
): Promise<BankImportResult> {
  const { records, errors } = parseCsv(csvText);
  if (errors.length > 0) throw new AdminError(AdminErrorCode.CSV, `the bank statement is not CSV (${errors.length} problems)`, errors);
  const [header, ...rows] = records;
  const names = header?.fields.map((f) => f.trim().toLowerCase()) ?? [];
  if (BANK_COLUMNS.some((column, i) => names[i] !== column) || names.length !== BANK_COLUMNS.length) {
    throw new AdminError(AdminErrorCode.CSV, `the bank statement's header must be ${BANK_COLUMNS.join(',')}`);
  }
  const result: BankImportResult = { applied: [], duplicates: [], unknownMerchants: [], rejected: [] };
  // One at a time, in file order: a reference repeated inside the file is a duplicate of its first row.
  for (const { line, fields } of rows) {
    const [date = '', merchant = '', amount = '', reference = ''] = fields.map((f) => f.trim());
    let row: BankRowOutcome;
    try {
      if (fields.length !== BANK_COLUMNS.length) throw new AdminError(AdminErrorCode.CSV, `${fields.length} fields, not ${BANK_COLUMNS.length}`);
      parseDate(date);
      row = { line, merchant, amountFen: parseYuan(amount), reference };
    } catch (error) {
      result.rejected.push({ line, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    try {
      const done = await topUp(context, merchant, row.amountFen, { reference, reason: `bank transfer of ${date}` });
      result.applied.push({ ...row, floatFen: done.floatFen });
    } catch (error) {
      if (!(error instanceof AdminError)) throw error;
      if (error.code === AdminErrorCode.DUPLICATE) result.duplicates.push(row);
      else if (error.code === AdminErrorCode.NOT_FOUND) result.unknownMerchants.push(row);
      else result.rejected.push({ line, reason: error.message });
    }
  }
  return result;
}
