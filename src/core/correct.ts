/**
 * CORRECT in the same three steps as PAY (pay.ts): reserve (rules checked against the original,
 * which is marked as being corrected), reverse at the biller (idempotent by the correction's
 * receipt), complete (float credited back, journal, counters) or roll back (the mark cleared).
 * Firmware repeats a correction until it is acknowledged: a retransmission gets the stored answer,
 * and a new sequence number for an already corrected payment gets ALREADY_CORRECTED.
 */
import { MessageType, ResultCode } from '../../protocol/constants.js';
import type { CorrectRequest, CorrectResponse } from '../../protocol/messages.js';
import type { PostingResult } from '../biller/biller.js';
import { keys } from '../store/keys.js';
import { COMPLETE_CORRECT, RESERVE_CORRECT } from '../store/lua/correct.js';
import { businessDayOf } from './business-day.js';
import type { CoreDeps, PendingTransaction } from './deps.js';
import { guardArgs, guardKeys, receiptOf } from './guard.js';
import { reservedHead, transactionEntryArgs } from './journal-entry.js';
import { settleLive } from './in-doubt.js';
import { noteCashNear } from './cash-near.js';
import { noteLowFloat } from './low-float.js';
import { completionArgs, type Completion } from './pay.js';
import { parseTransactionResponse, reservationAnswer } from './responses.js';
import type { Outcome, RequestContext } from './types.js';

export type CorrectionReservation = { answered: Outcome<CorrectResponse> } | { pending: PendingTransaction };

export async function reserveCorrect(
  deps: CoreDeps,
  ctx: RequestContext,
  req: CorrectRequest,
): Promise<CorrectionReservation> {
  const { merchantId: m, terminalId: t } = ctx;
  const receipt = receiptOf(t, ctx.seq);
  const businessDay = businessDayOf(ctx.now, deps.businessDay);
  const reply = (await deps.storeCall(
    RESERVE_CORRECT.run(
      deps.redis,
      [
        ...guardKeys(ctx),
        keys.transaction(m, receipt),
        keys.transaction(m, req.receipt),
        keys.pending(m),
        keys.decline(m, receipt),
        keys.terminalTxns(m, t),
        keys.accountTxns(m, req.account),
        keys.declinedTxns(m),
      ],
      [
        ...guardArgs(ctx, MessageType.CORRECT, 'write', deps.replayRetentionSec),
        req.amountFen,
        req.account,
        receipt,
        req.receipt,
        businessDay,
        t,
        deps.cashNear.percent,
        deps.cashNear.marginPercent,
      ],
    ),
  )) as unknown[];
  const answered = reservationAnswer(reply);
  if (answered !== null) return { answered };
  noteCashNear(deps.logger, m, reply[4], Number(reply[5]));
  return {
    pending: {
      kind: 'correct',
      merchantId: m,
      terminalId: t,
      seq: ctx.seq,
      receipt,
      account: req.account,
      amountFen: req.amountFen,
      businessDay,
      original: req.receipt,
      seen: reservedHead(reply),
    },
  };
}

export async function reverseCorrect(deps: CoreDeps, txn: PendingTransaction): Promise<PostingResult> {
  return deps.storeCall(
    deps.biller.reverse({
      receipt: txn.receipt,
      originalReceipt: txn.original ?? '',
      account: txn.account,
      amountFen: txn.amountFen,
      at: deps.now(),
      day: txn.businessDay,
    }),
  );
}

export async function completeCorrect(
  deps: CoreDeps,
  txn: PendingTransaction,
  reversed: PostingResult,
): Promise<Completion> {
  const m = txn.merchantId;
  const now = deps.now();
  const entry = reversed.result === ResultCode.APPROVED ? transactionEntryArgs(deps, txn, now) : [];
  const reply = (await deps.storeCall(
    COMPLETE_CORRECT.run(
      deps.redis,
      [
        keys.transaction(m, txn.receipt),
        keys.pending(m),
        keys.merchant(m),
        keys.journal(m),
        keys.day(m, txn.businessDay),
        keys.transaction(m, txn.original ?? ''),
        keys.declinedTxns(m),
      ],
      [...completionArgs(deps, txn, reversed, now), ...entry],
    ),
  )) as [number, string | null, string, number];
  if (reply[1] === null) throw new Error(`no transaction ${txn.receipt} of merchant ${m}`);
  const response = parseTransactionResponse(reply[1]);
  noteLowFloat(deps.logger, m, reply[2], response.floatFen);
  noteCashNear(deps.logger, m, reply[2], Number(reply[3]));
  return { applied: reply[0] === 1, response };
}

export async function correct(
  deps: CoreDeps,
  ctx: RequestContext,
  req: CorrectRequest,
): Promise<Outcome<CorrectResponse>> {
  const reservation = await reserveCorrect(deps, ctx, req);
  if ('answered' in reservation) return reservation.answered;
  const { completion } = await settleLive(deps, reservation.pending);
  return { response: completion.response, replayed: false };
}
