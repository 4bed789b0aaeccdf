/**
 * The Redis key scheme, in one place (README "Key scheme" documents it for operators).
 *
 * Every key one script touches carries the same hash tag, so each script runs in one slot and the
 * same scripts run on a single Redis and on Redis Cluster:
 *   {m.<merchant>}  a merchant's float, terminals, sessions, sequence guard, transactions, journal
 *   {a.<account>}   one billing account at the embedded biller, with its postings
 * Keys without a tag are small indexes read on their own (sign-in lookup, listings, verify).
 */

export const PREFIX = 'ac';

/** Merchant ids and account numbers become part of keys: no braces, colons or spaces. */
export const MERCHANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const m = (merchantId: string) => `${PREFIX}:{m.${merchantId}}`;
const a = (account: string) => `${PREFIX}:{a.${account}}`;

export const keys = {
  /** Set of every merchant id. */
  merchants: () => `${PREFIX}:merchants`,
  /** String: the merchant a terminal belongs to (sign-in starts from the terminal id alone). */
  terminalMerchant: (terminalId: string) => `${PREFIX}:terminal-merchant:${terminalId}`,

  /** Hash: id, name, status (active|disabled), floatFen, createdAt. */
  merchant: (merchantId: string) => `${m(merchantId)}:merchant`,
  /** Set of the merchant's terminal ids. */
  terminals: (merchantId: string) => `${m(merchantId)}:terminals`,
  /**
   * Hash: id, merchant, status (active|disabled), keyEnc (terminal key under the master key),
   * keyVersion, hwm (sequence high-water mark), badMacs, createdAt.
   */
  terminal: (merchantId: string, terminalId: string) => `${m(merchantId)}:terminal:${terminalId}`,
  /**
   * Hash with expiry: conn, instance, keyEnc (session key under the master key), signedInAt,
   * lastSeen, peer. The last sign-in wins; deletes compare `conn` first.
   */
  session: (merchantId: string, terminalId: string) => `${m(merchantId)}:session:${terminalId}`,
  /**
   * Hash with expiry (the replay retention): fp (request fingerprint), type, state
   * (pending|done), txn (receipt, for PAY and CORRECT), resp (stored response, JSON).
   */
  request: (merchantId: string, terminalId: string, seq: number) =>
    `${m(merchantId)}:request:${terminalId}:${seq}`,
  /**
   * Hash: receipt, kind (pay|correct), terminal, seq, account, amountFen, state
   * (pending|complete|declined), result, businessDay, createdAt, completedAt, original (for a
   * correction), correctedBy (for a corrected payment).
   */
  transaction: (merchantId: string, receipt: string) => `${m(merchantId)}:txn:${receipt}`,
  /** Sorted set: receipts of pending transactions, scored by creation time (ms). */
  pending: (merchantId: string) => `${m(merchantId)}:pending`,
  /** Stream, append-only: kind (topup|pay|correct), txn, terminal, amountFen, floatFen, day, ts. */
  journal: (merchantId: string) => `${m(merchantId)}:journal`,
  /**
   * Hash of one business day's counters: payCount, payFen, correctCount, correctFen, and the same
   * per terminal as `<terminal>:payCount` etc. (settle and the daily report read these).
   */
  day: (merchantId: string, businessDay: number) => `${m(merchantId)}:day:${businessDay}`,

  /** Set of every account number held by the embedded biller. */
  accounts: () => `${PREFIX}:accounts`,
  /** Hash: account, name, status (open|closed), arrearsFen, periods (JSON [{period, amountFen}]). */
  account: (account: string) => `${a(account)}:account`,
  /** Hash: kind (payment|reversal), amountFen, original, arrearsAfter, result, at. */
  posting: (account: string, receipt: string) => `${a(account)}:posting:${receipt}`,
  /** Sorted set: receipts posted against the account, scored by time (verify walks it). */
  postings: (account: string) => `${a(account)}:postings`,

  /** Pub/sub channel on which a gateway instance hears "close this connection" (last sign-in wins). */
  kickChannel: (instanceId: string) => `${PREFIX}:kick:${instanceId}`,
} as const;
