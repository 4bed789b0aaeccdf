/**
 * Every failure of a call to the billing system over the network, as one error class with a
 * stable code (undici's errors are the model). Callers match on `code`, never on the message.
 * `sent` says whether the request may have reached the biller: a posting whose call failed with
 * `sent` true is in doubt (it may be booked), one with `sent` false certainly is not.
 */
export const BillerErrorCode = {
  /** No answer within the call's timeout. In doubt for a posting. */
  TIMEOUT: 'ERR_BILLER_TIMEOUT',
  /** The circuit breaker is open: the call was not made. */
  CIRCUIT_OPEN: 'ERR_BILLER_CIRCUIT_OPEN',
  /** No connection (refused, reset, TLS failure): the request may or may not have been read. */
  CONNECTION: 'ERR_BILLER_CONNECTION',
  /** The biller answered 5xx (its batch window, its own fault). */
  UNAVAILABLE: 'ERR_BILLER_UNAVAILABLE',
  /** The biller refused our credentials or our clock (401): a configuration fault. */
  AUTH: 'ERR_BILLER_AUTH',
  /** The receipt is booked at the biller with another account, amount or kind (409). */
  CONFLICT: 'ERR_BILLER_CONFLICT',
  /** An answer that does not follow the API (status or body). */
  BAD_RESPONSE: 'ERR_BILLER_BAD_RESPONSE',
} as const;
export type BillerErrorCode = (typeof BillerErrorCode)[keyof typeof BillerErrorCode];

export class BillerError extends Error {
  override name = 'BillerError';
  constructor(
    readonly code: BillerErrorCode,
    readonly operation: string,
    message: string,
    readonly sent: boolean,
    options?: { cause?: unknown; status?: number },
  ) {
    super(`${operation}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }

  readonly status: number | undefined;

  /** Failures that say the biller is in trouble: they count towards opening the breaker. */
  get isFault(): boolean {
    return this.code === BillerErrorCode.TIMEOUT || this.code === BillerErrorCode.CONNECTION || this.code === BillerErrorCode.UNAVAILABLE;
  }
}
