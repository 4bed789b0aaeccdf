/**
 * The Redis key scheme, in one place (README "Key scheme" documents it for operators).
 *
 * Every key one script touches carries the same hash tag, so each script runs in one slot and the
 * same scripts run on a single Redis and on Redis Cluster:
 *   {m.<merchant>}  a merchant's float, terminals, sessions, sequence guard, transactions, journal
 *   {a.<account>}   one billing account at the embedded biller, with its bills and postings
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
  /** String: the check value of the current master key, everything here is sealed under (store/key-check.ts). */
  masterKeyCheck: () => `${PREFIX}:master-key-check`,
  /**
   * Hash, in masterKeyCheck's slot (its hash tag is that key's name): master key version → its
   * check value; `current`, the version everything is sealed under; `next`, the version a rotation
   * is under way to (store/key-check.ts, src/admin/master-key.ts).
   */
  masterKeys: () => `{${PREFIX}:master-key-check}:versions`,
  /** String: the merchant a terminal belongs to (sign-in starts from the terminal id alone). */
  terminalMerchant: (terminalId: string) => `${PREFIX}:terminal-merchant:${terminalId}`,

  /**
   * Hash: id, name, status (active|disabled), kind (outlet|collector; absent = outlet), floatFen
   * (an outlet's float), cashFen and cashLimitFen (a collector's cash held and its limit),
   * lowFloatFen (this outlet's low-float threshold; absent = the configured default), lowFloat
   * ('1' while in the warning state), dayCountLimit and dayFenLimit (daily caps), createdAt;
   * journalId, journalChain, journalCount: the head of its journal, written with every entry
   * (src/store/journal.ts).
   */
  merchant: (merchantId: string) => `${m(merchantId)}:merchant`,
  /** Set of the merchant's terminal ids. */
  terminals: (merchantId: string) => `${m(merchantId)}:terminals`,
  /**
   * Hash: id, merchant, status (active|disabled), keyEnc (terminal key sealed under the master key,
   * bound to merchant, terminal and keyVersion: src/store/secrets.ts), keyVersion, hwm (sequence
   * high-water mark), badMacs, createdAt; lastRead (`seq:fp` of the last
   * read-only request, answered afresh when sent again: read-only requests keep no record of their
   * own), inqWindow and inqUsed (the INQUIRY quota's current window and its count); dayCountLimit
   * and dayFenLimit (daily caps, absent = none). The fleet view (`terminal list`): firmware and
   * signedInAt of the last approved sign-in, lastSeen (epoch ms: written at sign-in, at each
   * heartbeat, and from the session's own lastSeen when the session is closed), health
   * (`signal:power:battery:printer` of the last heartbeat, PROTOCOL.md §3.2) and healthAt.
   */
  terminal: (merchantId: string, terminalId: string) => `${m(merchantId)}:terminal:${terminalId}`,
  /**
   * Hash with expiry: conn, instance, signedInAt, lastSeen, peer, ttl (seconds; every request on the session refreshes lastSeen and the expiry).
   * The last sign-in wins; deletes compare `conn` first.
   */
  session: (merchantId: string, terminalId: string) => `${m(merchantId)}:session:${terminalId}`,
  /**
   * String with expiry (the replay retention): `state|fp|type|value` — fp the request fingerprint,
   * type the request type. A PAY or CORRECT that started a transaction: `pending|fp|type|receipt`
   * for good, its answer being the transaction's (rebuilt from the transaction record, so
   * completing one never touches this record). Declined before a transaction, and SIGN_OUT:
   * `done|fp|type|response` (PAY and CORRECT responses as `result:receipt:arrearsFen:floatFen:
   * businessDay`). Read-only requests (heartbeat, inquiry, status, settle) have none (the terminal's
   * `lastRead` field stands in).
   */
  request: (merchantId: string, terminalId: string, seq: number) =>
    `${m(merchantId)}:request:${terminalId}:${seq}`,
  /**
   * Hash: receipt, kind (pay|correct), terminal, seq, account, amountFen, state
   * (pending|complete|declined), result, businessDay, createdAt, completedAt, original (for a
   * correction), correctedBy (for a corrected payment, set as soon as its correction is pending and
   * cleared if that correction is declined), floatAfter (the float right after the debit or
   * credit), arrearsAfter (left; on a declined OVERPAYMENT what is owed). The response is rebuilt
   * from these (STATUS after the replay retention). Only PAY and CORRECT that pass the guard and,
   * for PAY, the amount and float rules get one; earlier declines live only in the request record.
   */
  transaction: (merchantId: string, receipt: string) => `${m(merchantId)}:txn:${receipt}`,
  /**
   * Hash: a PAY or CORRECT declined before it became a transaction (amount, float or correction
   * rules): receipt, kind, terminal, seq, account, amountFen, state (declined), result,
   * businessDay, createdAt, floatFen (the float on FLOAT_SHORT), original (a correction's). Kept for
   * good so the decline can be found (`txn show`, `txn find`); never read by the terminal's path.
   */
  decline: (merchantId: string, receipt: string) => `${m(merchantId)}:decline:${receipt}`,
  /** Sorted set: receipts of every PAY and CORRECT of the terminal, declines included, by request time (ms). */
  terminalTxns: (merchantId: string, terminalId: string) => `${m(merchantId)}:ix:t:${terminalId}`,
  /** Sorted set: receipts of the merchant's PAY and CORRECT for one account, declines included, by request time. */
  accountTxns: (merchantId: string, account: string) => `${m(merchantId)}:ix:a:${account}`,
  /** Sorted set: receipts of the merchant's declined PAY and CORRECT, by request time. */
  declinedTxns: (merchantId: string) => `${m(merchantId)}:ix:declined`,
  /**
   * Sorted set: receipts of pending transactions, scored by creation time (ms). A pending payment
   * has already debited the float; a pending correction has not credited it yet. So at every moment
   * floatFen + Σ amountFen of pending payments = top-ups − completed payments + completed corrections.
   */
  pending: (merchantId: string) => `${m(merchantId)}:pending`,
  /**
   * Sorted set by approval time: receipts of payments approved while the biller was unreachable
   * (`--biller-down accept`), their postings not yet booked; forwarded in this order
   * (src/core/biller-queue.ts). The transaction's `billerQueue` field says queued/posted/failed.
   */
  billerQueue: (merchantId: string) => `${m(merchantId)}:biller-queue`,
  /** Sorted set by failure time: queued postings that expired, ran out of tries, or were declined. */
  billerFailed: (merchantId: string) => `${m(merchantId)}:biller-failed`,
  /**
   * Stream, append-only: kind (topup|pay|correct), txn, terminal, amountFen, day, ts (a correction
   * also original), seen, then mac, floatFen, chain (src/store/journal.ts: the fields before `mac`
   * are MACed under the journal key, `seen` names an earlier entry whose chain the MAC vouches
   * for, `chain` hashes the previous entry's chain, the MAC and floatFen). Written when a payment or
   * correction completes (declined ones leave no entry); floatFen is the float right after this
   * movement's debit or credit.
   */
  journal: (merchantId: string) => `${m(merchantId)}:journal`,
  /**
   * Hash of one business day's counters: payCount, payFen, correctCount, correctFen, and the same
   * per terminal as `<terminal>:payCount` etc. (settle and the daily report read these); capCount
   * and capFen (and `<terminal>:capCount`, `<terminal>:capFen`): payments reserved that day less
   * those the biller declined, which the daily caps are checked against.
   */
  day: (merchantId: string, businessDay: number) => `${m(merchantId)}:day:${businessDay}`,

  /**
   * Hash: top-up or remittance reference → the journal entry id that applied it. A reference is
   * applied once per merchant (`float topup`, `float import`, `collector remit`).
   */
  references: (merchantId: string) => `${m(merchantId)}:references`,

  /** Set of every account number held by the embedded biller. */
  accounts: () => `${PREFIX}:accounts`,
  /**
   * Hash: account, name, status (open|closed), importedAt, billsMac (the seal of the account's
   * roster of bills, src/admin/bill-seal.ts). No arrears: they are derived from the bills and the
   * postings (src/biller/biller.ts).
   */
  account: (account: string) => `${a(account)}:account`,
  /**
   * Hash: bill id → `period|amountFen|issueDate|status|paidFen` (status open|cancelled; paidFen
   * what postings cleared off it, written only by the post and reverse scripts). `accounts import`
   * adds bills and changes only bills nothing was paid against (src/biller/bill-record.ts).
   */
  bills: (account: string) => `${a(account)}:bills`,
  /**
   * Hash: kind (payment|reversal), amountFen, original, arrearsAfter, result, at, day; an approved
   * one has cleared (`billId:period:fen;...`: what a payment took off each bill, what a reversal
   * put back), and a payment reversedBy. A declined payment (UNKNOWN_ACCOUNT, ACCOUNT_CLOSED,
   * OVERPAYMENT) is recorded with its result, so a repeat gets the same answer (a decline is
   * final), but is not in `postings`.
   */
  posting: (account: string, receipt: string) => `${a(account)}:posting:${receipt}`,
  /** Sorted set: receipts approved against the account (payments and reversals), scored by time (verify walks it). */
  postings: (account: string) => `${a(account)}:postings`,
  /**
   * Sorted set: `<account>:<receipt>` of every posting approved under one business day, scored by
   * time: the embedded biller's daily postings file. Written right after the posting (another slot);
   * a process that dies in between leaves the transaction pending, and recovery's repeat writes it.
   */
  billerDay: (day: number) => `${PREFIX}:biller-day:${day}`,
  /**
   * Hash {url, since, lastStart}: written by a gateway started with `--biller URL` (its origin and
   * path, never a secret). While it exists, verify knows postings may live at a billing system on the
   * network, not only at the embedded biller (src/admin/verify.ts).
   */
  billerHttp: () => `${PREFIX}:biller-http`,

  /**
   * Stream, append-only: the audit log (src/admin/audit.ts): at, operator, action, target, before,
   * after (JSON), reason, ticket. One key, written after each admin action.
   */
  audit: () => `${PREFIX}:audit`,
  /**
   * Hash: a money action waiting for a second operator (src/admin/approvals.ts): id, action, params
   * (JSON), amountFen, maker, createdAt, state (pending|approved|applied|failed|rejected), checker,
   * decidedAt, outcome (JSON).
   */
  approval: (id: string) => `${PREFIX}:approval:${id}`,
  /** Sorted set: every approval id, by the time it was asked for. */
  approvals: () => `${PREFIX}:approvals`,

  /**
   * Hash: count, fen: top-ups applied since the Redis was created, for the metrics (written after
   * each top-up, outside its script: a crash between the two loses one count, never money).
   */
  topUpStats: () => `${PREFIX}:stats:topups`,
  /** String, with a TTL: the instance that computes and exports the fleet-wide gauges (metrics/fleet.ts). */
  fleetMetricsLease: () => `${PREFIX}:metrics:fleet-lease`,

  /** Pub/sub channel on which a gateway instance hears "close this connection" (last sign-in wins). */
  kickChannel: (instanceId: string) => `${PREFIX}:kick:${instanceId}`,

  /** String (JSON): the outcome of the last `verify` (src/admin/verify-record.ts): at, ok, checked, discrepancies. */
  lastVerify: () => `${PREFIX}:verify:last`,
  /** Set of the web console's operator names (src/console/operators.ts). */
  consoleOperators: () => `${PREFIX}:console:operators`,
  /** Hash: a console operator: name, role (viewer|operator|supervisor), password (scrypt, salted), createdAt. */
  consoleOperator: (name: string) => `${PREFIX}:console:operator:${name}`,
  /**
   * Hash with expiry (the idle timeout, refreshed by each request): a console session, keyed by the
   * SHA-256 of its cookie's id so a Redis dump holds no live cookie: operator, csrf, createdAt.
   */
  consoleSession: (idDigest: string) => `${PREFIX}:console:session:${idDigest}`,
  /** Counter with expiry: failed console logins in the current window, per operator name or per client address. */
  consoleLoginFailures: (who: string) => `${PREFIX}:console:login-fail:${who}`,
} as const;
