/**
 * The biller port: what aircharge needs from the power company's billing ("marketing") system.
 * The embedded Redis biller (redis-biller.ts) is the default; HttpBiller reaches a billing system
 * on the network. Both keep the same contract (src/biller/README.md).
 *
 * Bills are the unit. An account owes its open bills less what postings cleared off them; its
 * arrears are derived from them, never stored as a number an import could overwrite.
 *
 * Money rules every implementation keeps:
 * - Overpayment: a payment above the account's arrears is declined with OVERPAYMENT and the
 *   arrears owed are returned, so the terminal can offer to pay exactly that. The float is never
 *   debited for money the biller cannot book against a bill.
 * - Partial payment: any amount from 1 fen up to the arrears is accepted; it clears bills oldest
 *   first (period, then issue date, then bill id), each fully before the next one is touched.
 * - A closed account takes no payment (ACCOUNT_CLOSED); an unknown one is UNKNOWN_ACCOUNT.
 * - A reversal restores exactly what its payment cleared, bill by bill, even if the account was
 *   closed in between (a correction undoes a mistake; it is not a new payment).
 * - post and reverse are idempotent by receipt: calling again with the same receipt returns the
 *   first answer, approval or decline, and changes nothing. Recovery relies on it: a decline must
 *   stay a decline, or a payment rolled back could still be booked.
 * - A posting is filed under the business day the gateway gives it (`day`), so the biller's daily
 *   postings file and our journal of that day cover the same payments.
 */
import type { BillPeriod } from '../../protocol/messages.js';
import type { ResultCode } from '../../protocol/constants.js';

/** A bill as the billing system issued it, and what was paid against it here. */
export interface Bill {
  /** The billing system's id of the bill: letters, digits, `_` and `-`, 1 to 32 of them. */
  billId: string;
  /** YYYYMM. */
  period: number;
  amountFen: number;
  /** YYYY-MM-DD. */
  issueDate: string;
  /** A cancelled bill is owed no more. */
  status: 'open' | 'cancelled';
  /** What postings cleared off it so far (payments less their reversals). */
  paidFen: number;
}

export interface BillingAccount {
  account: string;
  /** The full name; the core masks it before it goes on the wire. */
  holderName: string;
  status: 'open' | 'closed';
  /** Σ (amount − paid) over the open bills. */
  arrearsFen: number;
  /** Every bill the biller holds for the account, oldest first (billOrder). */
  bills: Bill[];
}

/** What one posting took off (payment) or put back on (reversal) one bill. */
export interface BillClearance {
  billId: string;
  period: number;
  amountFen: number;
}

export interface Posting {
  /** The payment's receipt: its transaction id. */
  receipt: string;
  account: string;
  amountFen: number;
  /** Epoch milliseconds. */
  at: number;
  /** The business day (YYYYMMDD) the transaction belongs to: the postings file it goes in. */
  day: number;
}

export interface Reversal extends Posting {
  /** The receipt of the payment being reversed. */
  originalReceipt: string;
}

export interface PostingResult {
  /** APPROVED, UNKNOWN_ACCOUNT, ACCOUNT_CLOSED, OVERPAYMENT (post); APPROVED, ORIGINAL_NOT_FOUND (reverse). */
  result: ResultCode;
  /** Arrears after the posting when approved; what is owed on OVERPAYMENT; else 0. */
  arrearsFen: number;
  /** Approved: the bills it cleared (payment) or restored (reversal), oldest first. Else empty. */
  bills: BillClearance[];
  /**
   * Approved payment: the holder's full name, for the receipt (the core masks it). Optional: a
   * biller that does not say leaves the receipt's holder line empty; a correction's receipt takes
   * the name its payment had.
   */
  holderName?: string;
}

/** A posting as the biller recorded it (query by receipt, the day's postings). */
export interface BookedPosting extends PostingResult {
  receipt: string;
  account: string;
  kind: 'payment' | 'reversal';
  amountFen: number;
  /** A reversal's payment receipt; '' for a payment. */
  original: string;
  /** Epoch milliseconds when the biller booked it. */
  at: number;
  day: number;
}

/** A line of the biller's daily postings file (postings-file.ts): an approved posting. */
export interface DayPosting {
  day: number;
  receipt: string;
  account: string;
  kind: 'payment' | 'reversal';
  amountFen: number;
  /** A reversal's payment; '' for a payment. */
  original: string;
  /** Epoch milliseconds when the biller booked it. */
  at: number;
}

export interface Biller {
  lookup(account: string): Promise<BillingAccount | null>;
  post(posting: Posting): Promise<PostingResult>;
  reverse(reversal: Reversal): Promise<PostingResult>;
  /**
   * What the biller recorded under this receipt (approved or declined), or null when it has no
   * posting with it: the answer to a posting left in doubt. The account is where the embedded
   * biller keeps it; a biller that indexes receipts on their own may ignore it.
   */
  posting(receipt: string, account: string): Promise<BookedPosting | null>;
  /** The approved postings filed under one business day, in the order they were booked: its postings file. */
  dayPostings(day: number): Promise<DayPosting[]>;
}

/** Bills oldest first: by period, then issue date, then bill id (the order payments clear them). */
export function billOrder(x: Bill, y: Bill): number {
  if (x.period !== y.period) return x.period - y.period;
  if (x.issueDate !== y.issueDate) return x.issueDate < y.issueDate ? -1 : 1;
  return x.billId < y.billId ? -1 : x.billId > y.billId ? 1 : 0;
}

/** What an account owes: Σ (amount − paid) over its open bills. */
export function arrearsOf(bills: Bill[]): number {
  return bills.reduce((sum, b) => (b.status === 'open' ? sum + b.amountFen - b.paidFen : sum), 0);
}

/** The unpaid periods a terminal shows (INQUIRY): what is left of the open bills, per period, oldest first. */
export function unpaidPeriods(bills: Bill[]): BillPeriod[] {
  const byPeriod = new Map<number, number>();
  for (const b of bills) {
    const left = b.status === 'open' ? b.amountFen - b.paidFen : 0;
    if (left > 0) byPeriod.set(b.period, (byPeriod.get(b.period) ?? 0) + left);
  }
  return [...byPeriod].sort(([x], [y]) => x - y).map(([period, amountFen]) => ({ period, amountFen }));
}
