/**
 * The reference billing system's books: accounts with their bills, and postings against them,
 * kept in memory and rebuilt from the append-only log (log.ts) at start. Every change is one
 * record; applying a record is the same code at run time and at replay, so a restart rebuilds
 * exactly what was answered.
 *
 * Rules (API.md "Postings"): a payment clears open bills oldest period first and is declined when
 * above the arrears; a reversal restores exactly what its payment cleared; a posting is idempotent
 * by receipt and a receipt is never booked again with another account, amount or kind.
 */
import type { ApiAccount, ApiBill, ApiImportResult, ApiPosting, ApiPostingRequest, DeclineReason } from '../../src/biller/http-api.js';

/** A bill as the extract has it. */
export interface BillRecord {
  t: 'bill';
  account: string;
  name: string;
  billId: string;
  period: number;
  amountFen: number;
  issueDate: string;
  status: 'open' | 'cancelled';
}

/** A decided posting and what it cleared, bill by bill. */
export interface PostingRecord {
  t: 'posting';
  posting: ApiPosting;
}

export type LedgerRecord = BillRecord | PostingRecord;

interface Bill extends BillRecord {
  paidFen: number;
}

interface Account {
  name: string;
  bills: Map<string, Bill>;
}

export class ImportConflictError extends Error {
  readonly code = 'IMPORT_CONFLICT';
  override name = 'ImportConflictError';
  constructor(readonly conflicts: string[]) {
    super(`${conflicts.length} bill(s) conflict with what was paid: ${conflicts.slice(0, 5).join('; ')}`);
  }
}

export class Ledger {
  private readonly accounts = new Map<string, Account>();
  private readonly postings = new Map<string, PostingRecord>();
  /** Receipts of booked postings by day, in booking order (the day's postings file). */
  private readonly byDay = new Map<number, string[]>();
  private readonly reversedBy = new Map<string, string>();

  apply(record: LedgerRecord): void {
    if (record.t === 'bill') this.applyBill(record);
    else this.applyPosting(record);
  }

  account(id: string): ApiAccount | null {
    const account = this.accounts.get(id);
    if (account === undefined) return null;
    const bills: ApiBill[] = this.sortedBills(account).map((b) => ({
      billId: b.billId,
      period: b.period,
      amountFen: b.amountFen,
      paidFen: b.paidFen,
      issueDate: b.issueDate,
      status: b.status,
    }));
    return { account: id, name: account.name, status: 'open', arrearsFen: arrearsOf(account), bills };
  }

  posting(receipt: string): ApiPosting | null {
    return this.postings.get(receipt)?.posting ?? null;
  }

  /** Booked postings of one day, in booking order. */
  dayPostings(day: number): ApiPosting[] {
    return (this.byDay.get(day) ?? []).map((r) => this.postings.get(r)!.posting);
  }

  /**
   * Decides a new posting (the caller has checked that the receipt is new): the record to append.
   * Nothing changes until it is applied.
   */
  decide(receipt: string, request: ApiPostingRequest, now: number): PostingRecord {
    const base = {
      receipt,
      kind: request.kind,
      account: request.account,
      amountFen: request.amountFen,
      ...(request.original === undefined ? {} : { original: request.original }),
      bookedAt: new Date(now).toISOString(),
      day: request.day,
    };
    const declined = (reason: DeclineReason, arrearsFen = 0): PostingRecord => ({
      t: 'posting',
      posting: { ...base, status: 'declined', reason, arrearsFen, bills: [] },
    });
    const account = this.accounts.get(request.account);
    if (request.kind === 'reversal') {
      const original = this.postings.get(request.original ?? '');
      const o = original?.posting;
      if (
        account === undefined || o === undefined || o.kind !== 'payment' || o.status !== 'booked' ||
        o.account !== request.account || o.amountFen !== request.amountFen || this.reversedBy.has(o.receipt)
      ) {
        return declined('ORIGINAL_NOT_FOUND');
      }
      return {
        t: 'posting',
        posting: { ...base, status: 'booked', arrearsFen: arrearsOf(account) + request.amountFen, bills: o.bills },
      };
    }
    if (account === undefined) return declined('UNKNOWN_ACCOUNT');
    const arrears = arrearsOf(account);
    if (request.amountFen > arrears) return declined('OVERPAYMENT', arrears);
    const cleared: ApiPosting['bills'] = [];
    let left = request.amountFen;
    for (const bill of this.sortedBills(account)) {
      if (left === 0) break;
      if (bill.status !== 'open') continue;
      const take = Math.min(left, bill.amountFen - bill.paidFen);
      if (take <= 0) continue;
      cleared.push({ billId: bill.billId, period: bill.period, amountFen: take });
      left -= take;
    }
    return { t: 'posting', posting: { ...base, status: 'booked', arrearsFen: arrears - request.amountFen, bills: cleared } };
  }

  /**
   * The bill records an extract adds or changes, or ImportConflictError when a row would change a
   * bill that has been paid against (then nothing of the file is taken).
   */
  planImport(rows: BillRecord[]): { records: BillRecord[]; result: ApiImportResult } {
    const result: ApiImportResult = { bills: rows.length, added: 0, changed: 0, unchanged: 0, cancelled: 0 };
    const records: BillRecord[] = [];
    const conflicts: string[] = [];
    for (const row of rows) {
      const bill = this.accounts.get(row.account)?.bills.get(row.billId);
      if (bill === undefined) {
        result.added += 1;
        records.push(row);
        continue;
      }
      const same = bill.amountFen === row.amountFen && bill.period === row.period && bill.status === row.status &&
        bill.issueDate === row.issueDate && bill.name === row.name;
      if (same) {
        result.unchanged += 1;
        continue;
      }
      if (bill.paidFen > 0 && (bill.amountFen !== row.amountFen || row.status === 'cancelled' || bill.period !== row.period)) {
        conflicts.push(`bill ${row.billId} of account ${row.account}: ${bill.paidFen} fen paid against it`);
        continue;
      }
      if (row.status === 'cancelled' && bill.status !== 'cancelled') result.cancelled += 1;
      else result.changed += 1;
      records.push(row);
    }
    if (conflicts.length > 0) throw new ImportConflictError(conflicts);
    return { records, result };
  }

  private applyBill(record: BillRecord): void {
    let account = this.accounts.get(record.account);
    if (account === undefined) {
      account = { name: record.name, bills: new Map() };
      this.accounts.set(record.account, account);
    }
    account.name = record.name;
    const paidFen = account.bills.get(record.billId)?.paidFen ?? 0;
    account.bills.set(record.billId, { ...record, paidFen });
  }

  private applyPosting(record: PostingRecord): void {
    const { posting } = record;
    this.postings.set(posting.receipt, record);
    if (posting.status !== 'booked') return;
    const account = this.accounts.get(posting.account);
    const sign = posting.kind === 'payment' ? 1 : -1;
    for (const c of posting.bills) {
      const bill = account?.bills.get(c.billId);
      if (bill !== undefined) bill.paidFen += sign * c.amountFen;
    }
    if (posting.kind === 'reversal' && posting.original !== undefined) this.reversedBy.set(posting.original, posting.receipt);
    const day = this.byDay.get(posting.day) ?? [];
    day.push(posting.receipt);
    this.byDay.set(posting.day, day);
  }

  private sortedBills(account: Account): Bill[] {
    return [...account.bills.values()].sort((a, b) => a.period - b.period || a.billId.localeCompare(b.billId));
  }
}

function arrearsOf(account: Account): number {
  let total = 0;
  for (const bill of account.bills.values()) if (bill.status === 'open') total += bill.amountFen - bill.paidFen;
  return total;
}
