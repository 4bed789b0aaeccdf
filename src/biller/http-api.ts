/**
 * The biller API's JSON bodies (src/biller/API.md, openapi.yaml), shared by HttpBiller and the
 * reference billing system so the two cannot drift apart. Money is integer fen; a day is YYYYMMDD
 * in the biller's local time (UTC+8).
 */

/** The stable error codes of the API's error body. */
export const ApiErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  CLOCK_SKEW: 'CLOCK_SKEW',
  NOT_FOUND: 'NOT_FOUND',
  ACCOUNT_NOT_FOUND: 'ACCOUNT_NOT_FOUND',
  POSTING_NOT_FOUND: 'POSTING_NOT_FOUND',
  RECEIPT_CONFLICT: 'RECEIPT_CONFLICT',
  IMPORT_CONFLICT: 'IMPORT_CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INTERNAL: 'INTERNAL',
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

export interface ApiError {
  code: ApiErrorCode;
  message: string;
}

export interface ApiBill {
  billId: string;
  /** YYYYMM */
  period: number;
  amountFen: number;
  /** Paid against this bill by booked postings (payments less their reversals). */
  paidFen: number;
  /** YYYY-MM-DD */
  issueDate: string;
  status: 'open' | 'cancelled';
}

export interface ApiAccount {
  account: string;
  name: string;
  status: 'open' | 'closed';
  /** The sum of what is unpaid on the open bills. */
  arrearsFen: number;
  /** Oldest period first. */
  bills: ApiBill[];
}

export type PostingKind = 'payment' | 'reversal';
/** Why a posting was declined (final: the same receipt is declined again). */
export type DeclineReason = 'UNKNOWN_ACCOUNT' | 'ACCOUNT_CLOSED' | 'OVERPAYMENT' | 'ORIGINAL_NOT_FOUND';

/** PUT /v1/postings/{receipt}: what to book under that receipt. */
export interface ApiPostingRequest {
  kind: PostingKind;
  account: string;
  amountFen: number;
  /** The payment being reversed (reversals only). */
  original?: string;
  /** When the gateway took the payment, epoch ms. */
  at: number;
  /** The business day (YYYYMMDD) the gateway counts it in: the postings file it is filed under. */
  day: number;
}

/** What a booked posting cleared off (payment) or put back on (reversal) one bill. */
export interface ApiClearance {
  billId: string;
  period: number;
  amountFen: number;
}

export interface ApiPosting {
  receipt: string;
  kind: PostingKind;
  account: string;
  amountFen: number;
  original?: string;
  status: 'booked' | 'declined';
  reason?: DeclineReason;
  /** After the posting when booked; what is owed on OVERPAYMENT; else 0. */
  arrearsFen: number;
  /** When the biller decided, ISO 8601 UTC. */
  bookedAt: string;
  /** The business day it is filed under (the request's), YYYYMMDD. */
  day: number;
  /** Booked: the bills it cleared or restored, oldest first; declined: empty. */
  bills: ApiClearance[];
}

export interface ApiImportResult {
  bills: number;
  added: number;
  changed: number;
  unchanged: number;
  cancelled: number;
}

/** The fault settings of the reference biller (PUT /v1/admin/faults takes any subset). */
export interface ApiFaults {
  /** Added to every API answer, ms. */
  latencyMs: number;
  /** Share of API requests answered 500 INTERNAL without doing anything, 0..1. */
  errorRate: number;
  /** Until this time (epoch ms) every API request is answered 503 UNAVAILABLE; 0: not down. */
  downUntil: number;
  /** Share of posting PUTs that are booked (durably) and then never answered, 0..1. */
  bookNoAnswerRate: number;
}

/** The header of the day's postings file. */
export const POSTINGS_CSV_HEADER = 'day,receipt,account,kind,amount,original,booked_at';

/** What a receipt and an account may be in a URL path: what the terminal protocol allows, and no more. */
export const RECEIPT_PATTERN = /^[0-9A-Za-z_-]{1,64}$/;
export const ACCOUNT_PATTERN = /^[0-9A-Za-z_-]{1,32}$/;
