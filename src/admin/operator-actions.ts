/**
 * The operator's money actions, each with a reason, each a journal entry:
 *   float adjust   a signed correction of a float (journal kind `adjust`)
 *   txn reverse    a completed payment undone after its day closed, a complaint settled: the float
 *                  credited, the arrears restored at the biller through the port's reversal, once
 *                  (journal kind `reverse`)
 *   txn reenter    a payment the terminal's receipt shows but a Redis restore lost: applied once,
 *                  as a `pay` with origin `reentry`, and the terminal's sequence guard told, so
 *                  a later retransmission of that PAY is answered, never applied again
 * Who may run them, and when a second operator must approve, is index.ts's (maker-checker).
 */
import { MAX_FEN, MessageType, RESULT_NAME, ResultCode, TERMINAL_ID_PATTERN } from '../../protocol/constants.js';
import { encodePayload, formatReceipt, requestFingerprint } from '../../protocol/index.js';
import { ACCOUNT_PATTERN } from '../../protocol/constants.js';
import type { Biller } from '../biller/biller.js';
import { businessDayOf } from '../core/business-day.js';
import { completePay } from '../core/pay.js';
import { journalEntryArgs, readJournalHead } from '../store/journal.js';
import { keys } from '../store/keys.js';
import { ADJUST_FLOAT, COMPLETE_REVERSAL, RESERVE_REENTRY, RESERVE_REVERSAL } from '../store/lua/operator-actions.js';
import { checkNote, requireOperator } from './audit.js';
import { requireJournalKey, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { checkReceipt } from './lookup.js';
import { checkMerchantId } from './merchants.js';
import { formatYuan } from './money.js';
import { merchantOfTerminal } from './terminals.js';

export interface OperatorNote {
  reason: string;
  ticket?: string;
  /** The approval this runs under, when a second operator approved it: an adjustment is applied once per ref. */
  ref?: string;
}

export interface AdjustResult {
  merchantId: string;
  /** Signed: positive credits the float. */
  amountFen: number;
  floatBeforeFen: number;
  floatFen: number;
  entry: string;
}

export interface ReversalResult {
  receipt: string;
  reversal: string;
  /** complete, or declined by the biller (the payment can then be reversed again). */
  state: string;
  result: { code: number; name: string };
  merchantId: string;
  account: string;
  amountFen: number;
  floatFen: number | null;
}

export interface ReentryInput {
  terminalId: string;
  seq: number;
  account: string;
  amountFen: number;
  /** When the terminal made the payment (its receipt), epoch ms. */
  at: number;
}

export interface ReentryResult {
  receipt: string;
  merchantId: string;
  state: string;
  result: { code: number; name: string };
  amountFen: number;
  businessDay: number;
}

function reasonOf(note: OperatorNote): OperatorNote {
  if (note.reason.trim() === '') throw new AdminError(AdminErrorCode.INVALID, 'a reason is required (--reason TEXT)');
  checkNote('--reason', note.reason);
  if (note.ticket !== undefined) checkNote('--ticket', note.ticket, 64);
  return note;
}

const resultOf = (code: number) => ({ code, name: RESULT_NAME.get(code) ?? String(code) });

export async function adjustFloat(context: AdminContext, merchantId: string, amountFen: number, note: OperatorNote): Promise<AdjustResult> {
  const operator = requireOperator(context);
  checkMerchantId(merchantId);
  reasonOf(note);
  if (!Number.isSafeInteger(amountFen) || amountFen === 0 || Math.abs(amountFen) > MAX_FEN) {
    throw new AdminError(AdminErrorCode.AMOUNT, `an adjustment is a non-zero amount of at most ${formatYuan(MAX_FEN)} yuan either way`);
  }
  const key = requireJournalKey(context, 'writes a journal entry');
  const now = context.now();
  const seen = await readJournalHead(context.redis, merchantId);
  const entryArgs = journalEntryArgs(key, merchantId, seen, [
    ['kind', 'adjust'],
    ['txn', ''],
    ['terminal', ''],
    ['amountFen', amountFen],
    ['day', businessDayOf(now, context.businessDay)],
    ['ts', now],
    ['operator', operator],
    ['reason', note.reason],
    ['ticket', note.ticket ?? ''],
    ['ref', note.ref ?? ''],
  ]);
  const reply = (await ADJUST_FLOAT.run(
    context.redis,
    [keys.merchant(merchantId), keys.journal(merchantId), keys.references(merchantId)],
    [amountFen, MAX_FEN, note.ref ?? '', ...entryArgs],
  )) as [number, number | string | undefined, string?, number?];
  const [status, detail = 0, entry = '', before = 0] = reply;
  const value = Number(detail);
  if (status === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown merchant ${merchantId}`);
  if (status === -3) {
    throw new AdminError(AdminErrorCode.DUPLICATE, `merchant ${merchantId}: adjustment ${note.ref} was applied already (journal entry ${String(detail)}); nothing done`, [String(detail)]);
  }
  if (status === -1) throw new AdminError(AdminErrorCode.AMOUNT, `merchant ${merchantId}: float ${formatYuan(value)} ${formatYuan(amountFen)} would be below zero`);
  if (status === -2) throw new AdminError(AdminErrorCode.FLOAT_LIMIT, `merchant ${merchantId}: float ${formatYuan(value)} + ${formatYuan(amountFen)} would pass ${formatYuan(MAX_FEN)} yuan`);
  return { merchantId, amountFen, floatBeforeFen: before, floatFen: value, entry };
}

/** What a reversal is called at the biller and in the merchant's records: one per payment. */
export const reversalId = (receipt: string) => `${receipt}-R`;

/** A payment's merchant and facts, or NOT_FOUND. */
async function paymentOf(context: AdminContext, receipt: string): Promise<{ merchantId: string; terminalId: string; account: string; amountFen: number }> {
  checkReceipt(receipt);
  const terminalId = receipt.slice(0, 8);
  const merchantId = await merchantOfTerminal(context, terminalId).catch(() => {
    throw new AdminError(AdminErrorCode.NOT_FOUND, `no payment ${receipt}`);
  });
  const [kind, account, amount] = await context.redis.hmget(keys.transaction(merchantId, receipt), 'kind', 'account', 'amountFen');
  if (kind !== 'pay') throw new AdminError(AdminErrorCode.NOT_FOUND, `no payment ${receipt}`);
  return { merchantId, terminalId, account: account ?? '', amountFen: Number(amount) };
}

/** The amount a reversal would move, for the approval limit, without changing anything. */
export async function reversalAmount(context: AdminContext, receipt: string): Promise<number> {
  return (await paymentOf(context, receipt)).amountFen;
}

export async function reverseTxn(context: AdminContext, biller: Biller, receipt: string, note: OperatorNote): Promise<ReversalResult> {
  const operator = requireOperator(context);
  const key = requireJournalKey(context, 'writes a journal entry');
  reasonOf(note);
  if (note.ticket === undefined || note.ticket.trim() === '') throw new AdminError(AdminErrorCode.INVALID, 'a reversal names the complaint: --ticket REF');
  const { merchantId: m, terminalId, account, amountFen } = await paymentOf(context, receipt);
  const id = reversalId(receipt);
  const now = context.now();
  const today = businessDayOf(now, context.businessDay);
  const reserved = (await RESERVE_REVERSAL.run(
    context.redis,
    [keys.transaction(m, receipt), keys.transaction(m, id), keys.terminalTxns(m, terminalId), keys.accountTxns(m, account)],
    [receipt, id, today, now, operator, note.reason, note.ticket],
  )) as [string, string?];
  const refuse = (message: string) => new AdminError(AdminErrorCode.REFUSED, `cannot reverse ${receipt}: ${message}`);
  switch (reserved[0]) {
    case 'not_found':
      throw new AdminError(AdminErrorCode.NOT_FOUND, `no payment ${receipt}`);
    case 'not_completed':
      throw refuse(`it is ${reserved[1]}, not completed`);
    case 'corrected':
      throw refuse(`it was corrected at the terminal (${reserved[1]})`);
    case 'reversed':
      throw refuse(`it is already reversed (${reserved[1]})`);
    case 'same_day':
      throw refuse('its business day has not closed: the terminal corrects a payment the same day');
  }
  const reversed = await biller.reverse({ receipt: id, originalReceipt: receipt, account, amountFen, at: now, day: today });
  const done = context.now();
  // The reversal record holds who and why (a resumed run may be another operator's).
  const [by, why, ticket] = await context.redis.hmget(keys.transaction(m, id), 'operator', 'reason', 'ticket');
  const entryArgs =
    reversed.result === ResultCode.APPROVED
      ? journalEntryArgs(key, m, await readJournalHead(context.redis, m), [
          ['kind', 'reverse'],
          ['txn', id],
          ['terminal', terminalId],
          ['amountFen', amountFen],
          ['day', today],
          ['ts', done],
          ['original', receipt],
          ['operator', by ?? operator],
          ['reason', why ?? note.reason],
          ['ticket', ticket ?? note.ticket],
        ])
      : [];
  const [, state, floatFen] = (await COMPLETE_REVERSAL.run(
    context.redis,
    [keys.transaction(m, id), keys.transaction(m, receipt), keys.merchant(m), keys.journal(m), keys.declinedTxns(m)],
    [id, reversed.result, reversed.arrearsFen, done, ...entryArgs],
  )) as [number, string, number];
  return { receipt, reversal: id, state, result: resultOf(reversed.result), merchantId: m, account, amountFen, floatFen: state === 'complete' ? floatFen : null };
}

export async function reenterTxn(
  context: AdminContext,
  biller: Biller,
  input: ReentryInput,
  note: OperatorNote,
  replayRetentionSec: number,
): Promise<ReentryResult> {
  const operator = requireOperator(context);
  const journalKey = requireJournalKey(context, 'writes a journal entry');
  reasonOf(note);
  const { terminalId: t, seq, account, amountFen, at } = input;
  if (!TERMINAL_ID_PATTERN.test(t)) throw new AdminError(AdminErrorCode.INVALID, `bad terminal id ${JSON.stringify(t)}`);
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > 0xffffffff) throw new AdminError(AdminErrorCode.INVALID, '--seq is the receipt\'s sequence number, 1 to 4294967295');
  if (!ACCOUNT_PATTERN.test(account)) throw new AdminError(AdminErrorCode.INVALID, `bad account ${JSON.stringify(account)}: 10 digits`);
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > MAX_FEN) throw new AdminError(AdminErrorCode.AMOUNT, 'a payment is more than zero');
  if (!Number.isFinite(at) || at > context.now()) throw new AdminError(AdminErrorCode.INVALID, '--at is when the terminal made the payment: not in the future');
  const m = await merchantOfTerminal(context, t);
  const receipt = formatReceipt(t, seq);
  const businessDay = businessDayOf(at, context.businessDay);
  // The fingerprint the terminal's PAY carries (type and payload): its retransmission matches it.
  const fingerprint = requestFingerprint(MessageType.PAY, encodePayload(MessageType.PAY, { account, amountFen }));
  const now = context.now();
  const reserved = (await RESERVE_REENTRY.run(
    context.redis,
    [
      keys.terminal(m, t),
      keys.merchant(m),
      keys.transaction(m, receipt),
      keys.pending(m),
      keys.request(m, t, seq),
      keys.terminalTxns(m, t),
      keys.accountTxns(m, account),
      keys.decline(m, receipt),
    ],
    [receipt, t, seq, account, amountFen, businessDay, Math.floor(at), fingerprint, MessageType.PAY, replayRetentionSec, now, operator, note.reason, note.ticket ?? ''],
  )) as [string, string?, string?];
  const refuse = (message: string) => new AdminError(AdminErrorCode.REFUSED, `cannot re-enter ${receipt}: ${message}`);
  switch (reserved[0]) {
    case 'no_terminal':
      throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${t}`);
    case 'exists':
      throw refuse(`it is in the books already (${reserved[1]}, ${reserved[2] === 'reentry' ? 're-entered' : 'from the terminal'})`);
    case 'request_exists':
      throw refuse('the store still holds that request: it was not lost (see txn show)');
    case 'float_short':
      throw refuse(`merchant ${m}'s float is ${formatYuan(Number(reserved[1]))} yuan: top it up first`);
  }
  const seen = await readJournalHead(context.redis, m);
  const txn = { kind: 'pay' as const, merchantId: m, terminalId: t, seq, receipt, account, amountFen, businessDay, seen, origin: 'reentry' };
  // The biller is idempotent by receipt: if it kept the posting the restore lost, it answers the same.
  const posted = await biller.post({ receipt, account, amountFen, at: now, day: businessDay });
  const storeCall = <T>(call: Promise<T>) => call;
  const { response } = await completePay({ redis: context.redis, storeCall, now: context.now, journalKey, lowFloat: context.lowFloat, cashNear: context.cashNear, logger: undefined }, txn, posted);
  return { receipt, merchantId: m, state: response.result === ResultCode.APPROVED ? 'complete' : 'declined', result: resultOf(response.result), amountFen, businessDay };
}
