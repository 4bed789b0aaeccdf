/** PAY and CORRECT responses as stored in Redis (built by the Lua scripts) and as refused. */
import { MessageType, type ResultCode } from '../../protocol/constants.js';
import { emptyResponse } from '../../protocol/index.js';
import type { BillPeriod, PayResponse } from '../../protocol/messages.js';
import { isGuardReply, type GuardReply } from './guard.js';
import type { Outcome } from './types.js';

/** A refusal fills nothing but the result (PROTOCOL.md §3: unfilled fields are zero or empty). */
export function refusedTransaction(result: ResultCode): PayResponse {
  return emptyResponse(MessageType.PAY_RESPONSE, result);
}

/**
 * A stored response (src/store/lua/response.ts):
 * `result:receipt:arrearsFen:floatFen:businessDay:flags:cashHeldFen:periods:holderName`; the
 * holder name is last and may itself hold colons. Records written before the last four fields
 * existed read them as zero and empty.
 */
export function parseTransactionResponse(stored: unknown): PayResponse {
  const parts = String(stored).split(':');
  const [result, receipt = '', arrearsFen, floatFen, businessDay, flags, cashHeldFen, periods = ''] = parts;
  return {
    result: Number(result) as ResultCode,
    receipt,
    arrearsFen: Number(arrearsFen),
    floatFen: Number(floatFen),
    businessDay: Number(businessDay),
    flags: Number(flags ?? 0),
    cashHeldFen: Number(cashHeldFen ?? 0),
    holderName: parts.slice(8).join(':'),
    periods: parsePaidPeriods(periods),
  };
}

/** Bill periods as the transaction record keeps them: `YYYYMM=fen,YYYYMM=fen` (no JSON in Lua). */
export function formatPaidPeriods(periods: readonly BillPeriod[]): string {
  return periods.map((p) => `${p.period}=${p.amountFen}`).join(',');
}

function parsePaidPeriods(text: string): BillPeriod[] {
  if (text === '') return [];
  return text.split(',').map((pair) => {
    const [period, amountFen] = pair.split('=');
    return { period: Number(period), amountFen: Number(amountFen) };
  });
}

/** The guard refused, or answered a retransmission with the stored response. */
export function guardTransactionOutcome(reply: GuardReply): Outcome<PayResponse> {
  if (reply[0] === 'stored') return { response: parseTransactionResponse(reply[1]), replayed: true };
  return { response: refusedTransaction(reply[1]), replayed: false };
}

/**
 * Step 1 (reserve) of PAY or CORRECT answered the request already: the guard refused it or found
 * its stored answer, or a rule declined it. Null when the transaction is now pending.
 */
export function reservationAnswer(reply: unknown[]): Outcome<PayResponse> | null {
  if (isGuardReply(reply)) return guardTransactionOutcome(reply);
  if (reply[0] === 'declined') return { response: parseTransactionResponse(reply[1]), replayed: false };
  return null;
}
