/**
 * The biller port: what aircharge needs from the power company's billing ("marketing") system.
 * The embedded Redis biller (redis-biller.ts) is the default; an adapter to a real billing system
 * implements this interface.
 *
 * Money rules every implementation keeps (README "Money rules"):
 * - Overpayment: a payment above the account's arrears is declined with OVERPAYMENT and the
 *   arrears owed are returned, so the terminal can offer to pay exactly that. The float is never
 *   debited for money the biller cannot book against a bill.
 * - Partial payment: any amount from 1 fen up to the arrears is accepted; it clears bill periods
 *   oldest first (the oldest period fully before the next one is touched).
 * - A closed account takes no payment (ACCOUNT_CLOSED); an unknown one is UNKNOWN_ACCOUNT.
 * - A reversal restores exactly what its payment cleared, period by period, even if the account
 *   was closed in between (a correction undoes a mistake; it is not a new payment).
 * - post and reverse are idempotent by transaction id (the receipt): calling again with the same
 *   receipt returns the first answer, approval or decline, and changes nothing. Recovery relies on
 *   it: a decline must stay a decline, or a payment rolled back could still be booked.
 */
import type { BillPeriod } from '../../protocol/messages.js';
import type { ResultCode } from '../../protocol/constants.js';

export interface BillingAccount {
  account: string;
  /** The full name; the core masks it before it goes on the wire. */
  holderName: string;
  status: 'open' | 'closed';
  arrearsFen: number;
  /** Unpaid bill periods, oldest first. */
  periods: BillPeriod[];
}

export interface Posting {
  /** The payment's receipt: its transaction id. */
  receipt: string;
  account: string;
  amountFen: number;
  /** Epoch milliseconds. */
  at: number;
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
}

export interface Biller {
  lookup(account: string): Promise<BillingAccount | null>;
  post(posting: Posting): Promise<PostingResult>;
  reverse(reversal: Reversal): Promise<PostingResult>;
}
