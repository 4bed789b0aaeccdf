/**
 * PAY in three steps, one Redis round trip each:
 *   1. reserve   (merchant slot): guard, amount and float rules, float debited, transaction pending
 *   2. post      (biller): the arrears written off, idempotent by receipt
 *   3. complete  (merchant slot): journal and counters, or the float credited back on a decline
 * The process may die between any two steps: the transaction stays pending and recovery repeats
 * steps 2 and 3 (both idempotent), so nothing is lost, doubled or half-applied. The answer goes out
 * only after step 3, once the outcome is in Redis (AOF; src/core/README.md on durability).
 */
import { MAX_BILL_PERIODS, MessageType, ResultCode } from '../../protocol/constants.js';
import { maskHolderName } from '../../protocol/index.js';
import type { PayRequest, PayResponse } from '../../protocol/messages.js';
import type { PostingResult } from '../biller/biller.js';
import { keys } from '../store/keys.js';
import { COMPLETE_PAY, RESERVE_PAY } from '../store/lua/pay.js';
import { businessDayOf } from './business-day.js';
import type { CoreDeps, PendingTransaction } from './deps.js';
import { guardArgs, guardKeys, receiptOf } from './guard.js';
import { reservedHead, transactionEntryArgs } from './journal-entry.js';
import { billerRefusesNow, settleLive } from './in-doubt.js';
import { noteCashNear } from './cash-near.js';
import { noteLowFloat } from './low-float.js';
import { formatPaidPeriods, parseTransactionResponse, reservationAnswer } from './responses.js';
import type { Outcome, RequestContext } from './types.js';

/** Step 1's result: answered already (refused, declined, a retransmission), or pending. */
export type Reservation = { answered: Outcome<PayResponse> } | { pending: PendingTransaction };

/** What completing a payment needs: the live path's deps, or the admin's for a re-entry. */
export type CompletionDeps = Pick<CoreDeps, 'redis' | 'storeCall' | 'now' | 'journalKey' | 'lowFloat' | 'cashNear' | 'logger'>;

export interface Completion {
  /** False when the transaction had already been completed (by the live path or recovery). */
  applied: boolean;
  response: PayResponse;
}

export async function reservePay(deps: CoreDeps, ctx: RequestContext, req: PayRequest): Promise<Reservation> {
  const { merchantId: m, terminalId: t } = ctx;
  const receipt = receiptOf(t, ctx.seq);
  const businessDay = businessDayOf(ctx.now, deps.businessDay);
  const reply = (await deps.storeCall(
    RESERVE_PAY.run(
      deps.redis,
      [
        ...guardKeys(ctx),
        keys.transaction(m, receipt),
        keys.pending(m),
        keys.decline(m, receipt),
        keys.terminalTxns(m, t),
        keys.accountTxns(m, req.account),
        keys.declinedTxns(m),
        keys.day(m, businessDay),
      ],
      [
        ...guardArgs(ctx, MessageType.PAY, 'write', deps.replayRetentionSec),
        req.amountFen,
        deps.maxPaymentFen,
        receipt,
        req.account,
        businessDay,
        t,
        billerRefusesNow(deps) ? 1 : 0,
        deps.lowFloat.thresholdFen,
        deps.lowFloat.marginFen,
        deps.cashNear.percent,
        deps.cashNear.marginPercent,
      ],
    ),
  )) as unknown[];
  const answered = reservationAnswer(reply);
  if (answered !== null) return { answered };
  noteLowFloat(deps.logger, m, reply[4], Number(reply[1]));
  noteCashNear(deps.logger, m, reply[4], Number(reply[5]));
  return {
    pending: {
      kind: 'pay',
      merchantId: m,
      terminalId: t,
      seq: ctx.seq,
      receipt,
      account: req.account,
      amountFen: req.amountFen,
      businessDay,
      seen: reservedHead(reply),
    },
  };
}

export async function postPay(deps: CoreDeps, txn: PendingTransaction): Promise<PostingResult> {
  return deps.storeCall(
    deps.biller.post({ receipt: txn.receipt, account: txn.account, amountFen: txn.amountFen, at: deps.now(), day: txn.businessDay }),
  );
}

/**
 * Step 3; also the operator's re-entry's last step (src/admin/operator-actions.ts), hence the narrow deps. `queued`: approved against the float while the biller is unreachable (policy accept); the
 * posting goes into the merchant's biller queue in the same script, so it cannot be lost.
 */
export async function completePay(
  deps: CompletionDeps,
  txn: PendingTransaction,
  posted: PostingResult,
  options: { queued?: boolean } = {},
): Promise<Completion> {
  const m = txn.merchantId;
  const now = deps.now();
  const entry = posted.result === ResultCode.APPROVED ? transactionEntryArgs(deps, txn, now) : [];
  const reply = (await deps.storeCall(
    COMPLETE_PAY.run(
      deps.redis,
      [
        keys.transaction(m, txn.receipt),
        keys.pending(m),
        keys.merchant(m),
        keys.journal(m),
        keys.day(m, txn.businessDay),
        keys.declinedTxns(m),
        keys.billerQueue(m),
      ],
      [...completionArgs(deps, txn, posted, now), options.queued === true ? 1 : 0, ...entry],
    ),
  )) as [number, string | null, string, number];
  if (reply[1] === null) throw new Error(`no transaction ${txn.receipt} of merchant ${m}`);
  const response = parseTransactionResponse(reply[1]);
  noteLowFloat(deps.logger, m, reply[2], response.floatFen);
  noteCashNear(deps.logger, m, reply[2], Number(reply[3]));
  return { applied: reply[0] === 1, response };
}

/**
 * ARGV of COMPLETE_PAY and COMPLETE_CORRECT: the biller's answer, the low-float and near-cash-limit rules, and what
 * the receipt needs from the biller (periods paid or restored, the holder's name masked here: the
 * whole name never leaves the gateway).
 */
export function completionArgs(deps: Pick<CoreDeps, 'lowFloat' | 'cashNear'>, txn: PendingTransaction, posted: PostingResult, now: number): Array<string | number> {
  return [
    txn.receipt,
    posted.result,
    posted.arrearsFen,
    now,
    deps.lowFloat.thresholdFen,
    deps.lowFloat.marginFen,
    deps.cashNear.percent,
    deps.cashNear.marginPercent,
    // The bills it paid (a reversal: restored), as the receipt's bill periods.
    formatPaidPeriods(posted.bills.slice(0, MAX_BILL_PERIODS).map((b) => ({ period: b.period, amountFen: b.amountFen }))),
    maskHolderName(posted.holderName ?? ''),
  ];
}

export async function pay(deps: CoreDeps, ctx: RequestContext, req: PayRequest): Promise<Outcome<PayResponse>> {
  const reservation = await reservePay(deps, ctx, req);
  if ('answered' in reservation) return reservation.answered;
  const { completion } = await settleLive(deps, reservation.pending);
  return { response: completion.response, replayed: false };
}
