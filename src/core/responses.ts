/** PAY and CORRECT responses as stored in Redis (JSON built by the Lua scripts) and as refused. */
import { MessageType, type ResultCode } from '../../protocol/constants.js';
import { emptyResponse } from '../../protocol/index.js';
import type { PayResponse } from '../../protocol/messages.js';
import type { GuardReply } from './guard.js';
import type { Outcome } from './types.js';

/** A refusal fills nothing but the result (PROTOCOL.md §3: unfilled fields are zero or empty). */
export function refusedTransaction(result: ResultCode): PayResponse {
  return emptyResponse(MessageType.PAY_RESPONSE, result);
}

export function parseTransactionResponse(json: unknown): PayResponse {
  const value = JSON.parse(String(json)) as PayResponse;
  return {
    result: value.result,
    receipt: value.receipt,
    arrearsFen: value.arrearsFen,
    floatFen: value.floatFen,
    businessDay: value.businessDay,
  };
}

/** The guard refused, or answered a retransmission with the stored response. */
export function guardTransactionOutcome(reply: GuardReply): Outcome<PayResponse> {
  if (reply[0] === 'stored') return { response: parseTransactionResponse(reply[1]), replayed: true };
  return { response: refusedTransaction(reply[1]), replayed: false };
}
