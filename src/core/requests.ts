/** The requests that move no money: heartbeat, inquiry, status, settle, sign-out. */
import { MAX_BILL_PERIODS, MessageType, ResultCode, TransactionState } from '../../protocol/constants.js';
import { emptyResponse, maskHolderName } from '../../protocol/index.js';
import type {
  HeartbeatResponse,
  InquiryRequest,
  InquiryResponse,
  SettleRequest,
  SettleResponse,
  SignOutResponse,
  StatusRequest,
} from '../../protocol/messages.js';
import { unpaidPeriods } from '../biller/biller.js';
import { keys } from '../store/keys.js';
import { GUARD_ONLY, INQUIRY_GUARD, SETTLE, SIGN_OUT, STATUS } from '../store/lua/requests.js';
import type { CoreDeps } from './deps.js';
import { guardArgs, guardKeys, isGuardReply, receiptOf, type GuardReply } from './guard.js';
import { parseTransactionResponse } from './responses.js';
import type { Outcome, RequestContext, StatusResult } from './types.js';

/** Runs the guard alone; null when the request is to be answered, else the refusal's result code. */
async function guardOnly(deps: CoreDeps, ctx: RequestContext, type: number): Promise<ResultCode | null> {
  const reply = (await deps.storeCall(
    GUARD_ONLY.run(deps.redis, guardKeys(ctx), guardArgs(ctx, type, 'read', deps.replayRetentionSec)),
  )) as unknown[];
  return isGuardReply(reply) ? refusal(reply) : null;
}

/** A read-only request is never stored, so the guard can only refuse it. */
function refusal(reply: GuardReply): ResultCode {
  if (reply[0] === 'stored') throw new Error('the guard answered a read-only request with a stored response');
  return reply[1];
}

export async function heartbeat(deps: CoreDeps, ctx: RequestContext): Promise<Outcome<HeartbeatResponse>> {
  const refused = await guardOnly(deps, ctx, MessageType.HEARTBEAT);
  return { response: { result: refused ?? ResultCode.APPROVED, serverTime: Math.floor(ctx.now / 1000) }, replayed: false };
}

export async function inquiry(deps: CoreDeps, ctx: RequestContext, req: InquiryRequest): Promise<Outcome<InquiryResponse>> {
  // The guard and the lookup are independent: issue both at once (one round trip of latency); the
  // account is shown only if the guard lets the request through.
  const { perWindow, windowSec } = deps.inquiryQuota;
  const [refused, account] = await Promise.all([
    deps.storeCall(INQUIRY_GUARD.run(deps.redis, guardKeys(ctx), [
      ...guardArgs(ctx, MessageType.INQUIRY, 'read', deps.replayRetentionSec),
      perWindow,
      Math.floor(ctx.now / 1000 / windowSec),
    ])).then((reply) => (isGuardReply(reply as unknown[]) ? refusal(reply as GuardReply) : null)),
    deps.storeCall(deps.biller.lookup(req.account)),
  ]);
  const refuse = (result: ResultCode) => ({ response: emptyResponse(MessageType.INQUIRY_RESPONSE, result), replayed: false });
  if (refused !== null) return refuse(refused);
  if (account === null) return refuse(ResultCode.UNKNOWN_ACCOUNT);
  if (account.status === 'closed') return refuse(ResultCode.ACCOUNT_CLOSED);
  return {
    response: {
      result: ResultCode.APPROVED,
      arrearsFen: account.arrearsFen,
      holderName: maskHolderName(account.holderName),
      // The oldest periods are the ones a customer is chased for; the arrears cover them all.
      periods: unpaidPeriods(account.bills).slice(0, MAX_BILL_PERIODS),
    },
    replayed: false,
  };
}

export async function status(deps: CoreDeps, ctx: RequestContext, req: StatusRequest): Promise<Outcome<StatusResult>> {
  const { merchantId: m, terminalId: t } = ctx;
  const reply = (await deps.storeCall(
    STATUS.run(
      deps.redis,
      [...guardKeys(ctx), keys.request(m, t, req.querySeq), keys.transaction(m, receiptOf(t, req.querySeq))],
      guardArgs(ctx, MessageType.STATUS, 'read', deps.replayRetentionSec),
    ),
  )) as unknown[];
  const answer = (state: TransactionState, original: StatusResult['original'] = null): Outcome<StatusResult> => ({
    response: { result: ResultCode.APPROVED, state, original },
    replayed: false,
  });
  if (isGuardReply(reply)) {
    return { response: { result: refusal(reply), state: TransactionState.NOT_FOUND, original: null }, replayed: false };
  }
  if (reply[0] === 'pending') return answer(TransactionState.IN_PROGRESS);
  if (reply[0] === 'answered') {
    return answer(TransactionState.ANSWERED, { type: Number(reply[1]), response: parseTransactionResponse(reply[2]) });
  }
  return answer(TransactionState.NOT_FOUND);
}

export async function settle(deps: CoreDeps, ctx: RequestContext, req: SettleRequest): Promise<Outcome<SettleResponse>> {
  const reply = (await deps.storeCall(
    SETTLE.run(
      deps.redis,
      [...guardKeys(ctx), keys.day(ctx.merchantId, req.businessDay)],
      [...guardArgs(ctx, MessageType.SETTLE, 'read', deps.replayRetentionSec), ctx.terminalId],
    ),
  )) as unknown[];
  if (isGuardReply(reply)) {
    return { response: emptyResponse(MessageType.SETTLE_RESPONSE, refusal(reply)), replayed: false };
  }
  const [, payCount, payFen, correctCount, correctFen] = reply as [string, number, number, number, number];
  const balanced =
    payCount === req.payCount && payFen === req.payFen && correctCount === req.correctCount && correctFen === req.correctFen;
  return {
    response: {
      result: balanced ? ResultCode.APPROVED : ResultCode.NOT_BALANCED,
      businessDay: req.businessDay,
      payCount,
      payFen,
      correctCount,
      correctFen,
    },
    replayed: false,
  };
}

export async function signOut(deps: CoreDeps, ctx: RequestContext): Promise<Outcome<SignOutResponse>> {
  const reply = (await deps.storeCall(
    SIGN_OUT.run(deps.redis, guardKeys(ctx), guardArgs(ctx, MessageType.SIGN_OUT, 'write', deps.replayRetentionSec)),
  )) as unknown[];
  if (reply[0] === 'code') return { response: { result: reply[1] as ResultCode }, replayed: false };
  return { response: { result: ResultCode.APPROVED }, replayed: reply[0] === 'stored' };
}
