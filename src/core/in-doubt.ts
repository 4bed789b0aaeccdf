/**
 * A PAY or CORRECT between its reservation and its completion, as a two-phase transfer (TigerBeetle:
 * pending → posted or voided, resolved once): the biller's answer, or the lack of one, is an event;
 * a small table names every transition and the move it makes. The live path and recovery run the
 * same function (`settle`); they differ only in their first step: the live path sends the posting,
 * recovery first asks the biller what it holds under the receipt (the posting may have been booked
 * by a call whose answer was lost) and sends the very same posting only when it holds nothing.
 *
 * A posting that got no answer is in doubt: the transaction stays pending, never completed or
 * rolled back on a guess. A receipt is never posted again with another amount: the body sent is
 * rebuilt from the transaction record, and a biller that holds the receipt with another body is a
 * conflict that leaves the transaction pending for the operator.
 */
import { ResultCode } from '../../protocol/constants.js';
import type { PostingResult } from '../biller/biller.js';
import { BillerError, BillerErrorCode } from '../biller/errors.js';
import { completeCorrect, reverseCorrect } from './correct.js';
import type { CoreDeps, PendingTransaction } from './deps.js';
import { completePay, postPay, type Completion } from './pay.js';
import { StoreUnavailableError } from './types.js';

/**
 * `pending`: reserved, its posting about to be sent by the live path. `in_doubt`: sent before and
 * not known to be decided (recovery asks first). `resending`: the biller held nothing under the
 * receipt, so recovery sends the same posting; a first post of it may still be on its way, which
 * is why nothing but the biller's own decision ends this state.
 */
export type TxnState = 'pending' | 'in_doubt' | 'resending' | 'complete' | 'declined' | 'queued';
type Unsettled = 'pending' | 'in_doubt' | 'resending';

/** What the biller said, or did not say, about one receipt. */
export type BillerEvent =
  | 'booked' // a post answered, or a query found it booked with this body
  | 'declined' // the biller decided against it (final)
  | 'not_sent' // the breaker was open: nothing reached the biller
  | 'no_answer' // timeout, connection cut, 5xx: it may be booked
  | 'nothing' // a query: nothing under this receipt
  | 'conflict'; // the receipt holds another body at the biller

export type Move =
  | 'complete' // journal, counters: the money stays taken
  | 'roll_back' // the float credited back, the biller's decline stored as the answer
  | 'decline_unavailable' // roll back with BILLER_UNAVAILABLE (policy decline): nothing was sent
  | 'queue' // approve against the float, the posting queued for the biller (policy accept)
  | 'send' // post the same body (again): idempotent by receipt
  | 'wait'; // stay pending: recovery asks again later

/** from state → event → [move, next state]. Anything not listed cannot happen. */
export const TRANSITIONS: Record<Unsettled, Partial<Record<BillerEvent, readonly [Move, TxnState]>>> = {
  // The live post's answer.
  pending: {
    booked: ['complete', 'complete'],
    declined: ['roll_back', 'declined'],
    not_sent: ['decline_unavailable', 'declined'], // policy accept: ['queue', 'queued'] (policyMove)
    no_answer: ['wait', 'in_doubt'],
    conflict: ['wait', 'in_doubt'],
  },
  // Recovery's query about a transaction that may have been posted.
  in_doubt: {
    booked: ['complete', 'complete'],
    declined: ['roll_back', 'declined'],
    nothing: ['send', 'resending'],
    not_sent: ['wait', 'in_doubt'],
    no_answer: ['wait', 'in_doubt'],
    conflict: ['wait', 'in_doubt'],
  },
  // Recovery's post after the biller held nothing: only its decision settles the transaction.
  resending: {
    booked: ['complete', 'complete'],
    declined: ['roll_back', 'declined'],
    not_sent: ['wait', 'in_doubt'],
    no_answer: ['wait', 'in_doubt'],
    conflict: ['wait', 'in_doubt'],
  },
};

export type BillerDownPolicy = 'decline' | 'accept';

/**
 * The transition for an event. The biller-down policy decides `not_sent` of a live payment: decline
 * (BILLER_UNAVAILABLE) or accept (approve, queue the posting); a correction is never queued.
 */
export function transition(from: Unsettled, event: BillerEvent, policy: BillerDownPolicy, kind: 'pay' | 'correct'): readonly [Move, TxnState] {
  const entry = TRANSITIONS[from][event];
  if (entry === undefined) throw new Error(`no transition from ${from} on ${event}`);
  if (from === 'pending' && event === 'not_sent' && policy === 'accept' && kind === 'pay') return ['queue', 'queued'];
  return entry;
}

/** The biller's answer as an event; a failure that is not a BillerError (the embedded biller's Redis) is no answer. */
export function eventOf(answer: { result: PostingResult } | { error: unknown } | { nothing: true }): { event: BillerEvent; result?: PostingResult } {
  if ('nothing' in answer) return { event: 'nothing' };
  if ('result' in answer) return { event: answer.result.result === ResultCode.APPROVED ? 'booked' : 'declined', result: answer.result };
  const error = answer.error instanceof StoreUnavailableError ? answer.error.cause : answer.error;
  if (error instanceof BillerError) {
    if (error.code === BillerErrorCode.CIRCUIT_OPEN) return { event: 'not_sent' };
    if (error.code === BillerErrorCode.CONFLICT) return { event: 'conflict' };
  }
  return { event: 'no_answer' };
}

/** Sends the transaction's posting (post or reverse) and returns the biller's answer as an event. */
async function send(deps: CoreDeps, txn: PendingTransaction) {
  try {
    return eventOf({ result: txn.kind === 'pay' ? await postPay(deps, txn) : await reverseCorrect(deps, txn) });
  } catch (error) {
    deps.logger?.warn({ merchant: txn.merchantId, txn: txn.receipt, err: describe(error) }, 'posting in doubt: no answer from the biller');
    return { ...eventOf({ error }), error };
  }
}

/** Asks the biller what it holds under the receipt; a body that differs from ours is a conflict. */
async function ask(deps: CoreDeps, txn: PendingTransaction) {
  try {
    const held = await deps.storeCall(deps.biller.posting(txn.receipt, txn.account));
    if (held === null) return eventOf({ nothing: true });
    const same = held.kind === (txn.kind === 'pay' ? 'payment' : 'reversal') && held.account === txn.account &&
      held.amountFen === txn.amountFen && held.original === (txn.original ?? '');
    if (!same) return { event: 'conflict' as const };
    return eventOf({ result: { result: held.result, arrearsFen: held.arrearsFen, bills: held.bills } });
  } catch (error) {
    return { ...eventOf({ error }), error };
  }
}

export interface Settled {
  state: TxnState;
  /** The completion, when the transaction left pending now (or had already). */
  completion: Completion | null;
  event: BillerEvent;
}

/**
 * Drives one transaction from `from` until it completes, rolls back, is queued, or must wait.
 * The live path starts `pending` (send), recovery `in_doubt` (ask first).
 */
export async function settle(deps: CoreDeps, txn: PendingTransaction, from: 'pending' | 'in_doubt'): Promise<Settled> {
  let state: Unsettled = from;
  for (;;) {
    const asked = state === 'in_doubt' ? await ask(deps, txn) : await send(deps, txn);
    const [move, next] = transition(state, asked.event, deps.billerDown, txn.kind);
    if (asked.event === 'conflict') {
      deps.logger?.error({ merchant: txn.merchantId, txn: txn.receipt }, 'the biller holds this receipt with another body: left pending for the operator');
    }
    switch (move) {
      case 'complete':
      case 'roll_back':
        return { state: next, completion: await complete(deps, txn, asked.result!), event: asked.event };
      case 'decline_unavailable':
        return { state: next, completion: await complete(deps, txn, { result: ResultCode.BILLER_UNAVAILABLE, arrearsFen: 0, bills: [] }), event: asked.event };
      case 'queue':
        return { state: next, completion: await completePay(deps, txn, { result: ResultCode.APPROVED, arrearsFen: QUEUED_ARREARS, bills: [] }, { queued: true }), event: asked.event };
      case 'send':
        state = 'resending';
        continue;
      case 'wait':
        return { state: next, completion: null, event: asked.event };
    }
  }
}

/**
 * The live path: a transaction just reserved. Resolves with its completion, or throws
 * StoreUnavailableError (SYSTEM_BUSY) when it must wait in doubt: the terminal's retransmission then
 * hears IN_PROGRESS, and STATUS the outcome once recovery has settled it.
 */
export async function settleLive(deps: CoreDeps, txn: PendingTransaction): Promise<Settled & { completion: Completion }> {
  const settled = await settle(deps, txn, 'pending');
  if (settled.completion === null) throw new StoreUnavailableError(new Error(`posting ${txn.receipt} in doubt (${settled.event})`));
  return settled as Settled & { completion: Completion };
}

/** True when a PAY is to be declined BILLER_UNAVAILABLE before its float is touched (policy decline, breaker open). */
export function billerRefusesNow(deps: CoreDeps): boolean {
  if (deps.billerDown !== 'decline') return false;
  const available = (deps.biller as { available?: () => boolean }).available;
  return available !== undefined && !available.call(deps.biller);
}

/**
 * The arrears an approval carries when its posting is queued (policy accept): not known until the
 * biller books it. PROTOCOL.md §9.8: the terminal prints "balance to follow".
 */
export const QUEUED_ARREARS = 0xffffffff;

function complete(deps: CoreDeps, txn: PendingTransaction, result: PostingResult): Promise<Completion> {
  return txn.kind === 'pay' ? completePay(deps, txn, result) : completeCorrect(deps, txn, result);
}

function describe(error: unknown): string {
  const cause = error instanceof StoreUnavailableError ? error.cause : error;
  return cause instanceof BillerError ? cause.code : cause instanceof Error ? cause.message : String(cause);
}
