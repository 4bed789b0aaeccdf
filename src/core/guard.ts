/** The Node side of the replay guard (src/store/lua/guard.ts): its keys, arguments and refusals. */
import type { ResultCode } from '../../protocol/constants.js';
import { formatReceipt } from '../../protocol/index.js';
import { keys } from '../store/keys.js';
import type { RequestContext } from './types.js';

/** Which requests are answered afresh on a repeat (they change nothing worth storing). */
export type Access = 'read' | 'write';

export function guardKeys(ctx: RequestContext): string[] {
  const { merchantId: m, terminalId: t } = ctx;
  return [keys.session(m, t), keys.terminal(m, t), keys.merchant(m), keys.request(m, t, ctx.seq)];
}

export function guardArgs(
  ctx: RequestContext,
  type: number,
  access: Access,
  replayRetentionSec: number,
): Array<string | number> {
  return [ctx.connectionId, ctx.seq, ctx.fingerprint, type, ctx.now, replayRetentionSec, access === 'read' ? '1' : '0'];
}

/** The guard's own replies; every script may answer with one of these instead of its own. */
export type GuardReply = ['code', ResultCode] | ['stored', string];

export function isGuardReply(reply: unknown[]): reply is GuardReply {
  return reply[0] === 'code' || reply[0] === 'stored';
}

/**
 * The receipt of the transaction a sequence number starts. A number no frame can carry (0) gets
 * none: such a request never passes the guard (every accepted number is at least 1), and a STATUS
 * asking about it finds nothing.
 */
export function receiptOf(terminalId: string, seq: number): string {
  return Number.isInteger(seq) && seq >= 1 && seq <= 0xffffffff ? formatReceipt(terminalId, seq) : '';
}
