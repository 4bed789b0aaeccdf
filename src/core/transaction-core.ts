/** TransactionCore over Redis: each request is one module's function; this class only routes. */
import type {
  CorrectRequest,
  CorrectResponse,
  HeartbeatResponse,
  InquiryRequest,
  InquiryResponse,
  PayRequest,
  PayResponse,
  SettleRequest,
  SettleResponse,
  SignOutResponse,
  StatusRequest,
} from '../../protocol/messages.js';
import type { PostingResult } from '../biller/biller.js';
import { completeCorrect, correct, reserveCorrect, reverseCorrect, type CorrectionReservation } from './correct.js';
import type { CoreDeps, PendingTransaction } from './deps.js';
import { completePay, pay, postPay, reservePay, type Completion, type Reservation } from './pay.js';
import { recover } from './recovery.js';
import { forwardQueued, type ForwardResult, type QueueOptions } from './biller-queue.js';
import { heartbeat, inquiry, settle, signOut, status } from './requests.js';
import type { Outcome, RequestContext, StatusResult, TransactionCore } from './types.js';

/**
 * The single steps of PAY and CORRECT, for tests that stop a transaction between two of them as a
 * crash would, and for tools that look into recovery.
 */
export interface TransactionSteps {
  reservePay(ctx: RequestContext, req: PayRequest): Promise<Reservation>;
  postPay(txn: PendingTransaction): Promise<PostingResult>;
  completePay(txn: PendingTransaction, posted: PostingResult): Promise<Completion>;
  reserveCorrect(ctx: RequestContext, req: CorrectRequest): Promise<CorrectionReservation>;
  reverseCorrect(txn: PendingTransaction): Promise<PostingResult>;
  completeCorrect(txn: PendingTransaction, reversed: PostingResult): Promise<Completion>;
}

export class RedisTransactionCore implements TransactionCore {
  readonly steps: TransactionSteps;

  constructor(private readonly deps: CoreDeps) {
    this.steps = {
      reservePay: (ctx, req) => reservePay(deps, ctx, req),
      postPay: (txn) => postPay(deps, txn),
      completePay: (txn, posted) => completePay(deps, txn, posted),
      reserveCorrect: (ctx, req) => reserveCorrect(deps, ctx, req),
      reverseCorrect: (txn) => reverseCorrect(deps, txn),
      completeCorrect: (txn, reversed) => completeCorrect(deps, txn, reversed),
    };
  }

  heartbeat(ctx: RequestContext): Promise<Outcome<HeartbeatResponse>> {
    return heartbeat(this.deps, ctx);
  }

  inquiry(ctx: RequestContext, req: InquiryRequest): Promise<Outcome<InquiryResponse>> {
    return inquiry(this.deps, ctx, req);
  }

  pay(ctx: RequestContext, req: PayRequest): Promise<Outcome<PayResponse>> {
    return pay(this.deps, ctx, req);
  }

  correct(ctx: RequestContext, req: CorrectRequest): Promise<Outcome<CorrectResponse>> {
    return correct(this.deps, ctx, req);
  }

  status(ctx: RequestContext, req: StatusRequest): Promise<Outcome<StatusResult>> {
    return status(this.deps, ctx, req);
  }

  settle(ctx: RequestContext, req: SettleRequest): Promise<Outcome<SettleResponse>> {
    return settle(this.deps, ctx, req);
  }

  signOut(ctx: RequestContext): Promise<Outcome<SignOutResponse>> {
    return signOut(this.deps, ctx);
  }

  /** Forwards the postings queued while the biller was down (policy accept), in order. */
  forwardBillerQueue(options: QueueOptions, now: number): Promise<ForwardResult> {
    return forwardQueued(this.deps, options, now);
  }

  recover(now: number): Promise<{ completed: number; rolledBack: number; inDoubt: number }> {
    return recover(this.deps, now);
  }
}
