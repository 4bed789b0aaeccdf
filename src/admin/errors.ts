/**
 * Errors of the operator API, each with a stable `code` (the CLI prints the message; tests and
 * callers match on the code).
 */
export const AdminErrorCode = {
  /** An amount is not yuan with at most two decimals, or is out of range. */
  AMOUNT: 'ERR_AMOUNT',
  /** An id, name or option is malformed. */
  INVALID: 'ERR_INVALID',
  NOT_FOUND: 'ERR_NOT_FOUND',
  EXISTS: 'ERR_EXISTS',
  /** The float would pass the largest amount the wire can carry (u32 fen). */
  FLOAT_LIMIT: 'ERR_FLOAT_LIMIT',
  /** An accounts file has bad rows; `details` lists each with its line number. */
  CSV: 'ERR_CSV',
  /** An accounts file would change the arrears of an account paid since its last import. */
  CONFLICT: 'ERR_CONFLICT',
  /** A money action was asked for without naming the operator (--operator, AIRCHARGE_OPERATOR). */
  OPERATOR: 'ERR_OPERATOR',
  /** A top-up or remittance reference was applied already (nothing done again). */
  DUPLICATE: 'ERR_DUPLICATE',
  /** The operation is for the other kind of merchant (a top-up to a collector, a remittance from an outlet). */
  KIND: 'ERR_KIND',
  /** A remittance of more cash than the collector holds. */
  CASH: 'ERR_CASH',
  /** An operator action the books do not allow now (a reversal of a payment not completed, ...). */
  REFUSED: 'ERR_REFUSED',
  /** A money action above the approval limit: stored, waiting for a second operator (`details[0]` its id). */
  PENDING_APPROVAL: 'ERR_PENDING_APPROVAL',
  /** The operator who asked for an approval cannot approve it. */
  SAME_OPERATOR: 'ERR_SAME_OPERATOR',
  /** The operation needs the master key and none was given. */
  MASTER_KEY: 'ERR_MASTER_KEY',
  /** A journal does not verify (a MAC, the chain or the head): `details` names each problem. */
  JOURNAL: 'ERR_JOURNAL',
  /** A checkpoint file is malformed or does not verify under the master key. */
  CHECKPOINT: 'ERR_CHECKPOINT',
} as const;
export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  /** One line per problem, when there are several (bad CSV rows). */
  readonly details: readonly string[];

  constructor(code: AdminErrorCode, message: string, details: readonly string[] = []) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.details = details;
  }
}
