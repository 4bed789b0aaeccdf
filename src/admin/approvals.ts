/**
 * Maker-checker: a money action above the approval limit is not applied; it is stored as a pending
 * approval, and only a second, different operator's `approve` applies it, once. `reject` drops it.
 * Each approval is one hash (`keys.approval(id)`), listed in `keys.approvals()` by time; the
 * pending → approved/rejected step is one script, so two checkers racing apply it once.
 */
import { randomBytes } from 'node:crypto';
import { formatReceipt } from '../../protocol/fields.js';
import { keys } from '../store/keys.js';
import { Script } from '../store/script.js';
import { requireOperator } from './audit.js';
import type { AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { reversalId } from './operator-actions.js';
import { merchantOfTerminal } from './terminals.js';

export type ApprovalState = 'pending' | 'approved' | 'applied' | 'failed' | 'rejected';

export interface Approval {
  id: string;
  /** The action it holds, as the audit log names it: float.topup, float.adjust, txn.reverse, txn.reenter. */
  action: string;
  /** The action's arguments, as the API takes them. */
  params: Record<string, unknown>;
  /** What it moves (signed for an adjustment). */
  amountFen: number;
  maker: string;
  createdAt: number;
  state: ApprovalState;
  checker: string | null;
  decidedAt: number | null;
  /** The applied action's result, or the error that stopped it. */
  outcome: unknown;
}

/**
 * An approval claimed this long ago and still not settled (applied or failed) was being applied by
 * a process that died: `approve` may take it up again. Applying takes well under a second, a
 * reversal at the biller up to its timeouts; a checker racing another within this bound is refused.
 */
export const STALE_CLAIM_MS = 60_000;

/**
 * pending → approved (by another operator) or rejected, once; or an approval claimed before
 * ARGV[4] and never settled, taken up again by an approver other than its maker.
 * KEYS[1] approval, ARGV[1] new state, ARGV[2] checker, ARGV[3] now, ARGV[4] claims before this are stale
 * → {'ok'} | {'resume'} | {'not_found'} | {'decided', state} | {'same_operator'}
 */
const DECIDE = new Script(`
local a = redis.call('HMGET', KEYS[1], 'state', 'maker', 'decidedAt')
if not a[1] then return {'not_found'} end
if ARGV[1] == 'approved' and a[2] == ARGV[2] then return {'same_operator'} end
if a[1] == 'approved' and ARGV[1] == 'approved' and tonumber(a[3] or '0') < tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'checker', ARGV[2], 'decidedAt', ARGV[3])
  return {'resume'}
end
if a[1] ~= 'pending' then return {'decided', a[1]} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'checker', ARGV[2], 'decidedAt', ARGV[3])
return {'ok'}
`);

export async function requestApproval(
  context: AdminContext,
  action: string,
  params: Record<string, unknown>,
  amountFen: number,
): Promise<Approval> {
  const maker = requireOperator(context);
  const id = `ap-${randomBytes(5).toString('hex')}`;
  const createdAt = context.now();
  await context.redis.hset(keys.approval(id), {
    id, action, params: JSON.stringify(params), amountFen: String(amountFen), maker, createdAt: String(createdAt), state: 'pending',
  });
  await context.redis.zadd(keys.approvals(), createdAt, id);
  return { id, action, params, amountFen, maker, createdAt, state: 'pending', checker: null, decidedAt: null, outcome: null };
}

export async function showApproval(context: AdminContext, id: string): Promise<Approval> {
  if (!/^ap-[0-9a-f]{10}$/.test(id)) throw new AdminError(AdminErrorCode.INVALID, `bad approval id ${JSON.stringify(id)}`);
  const h = await context.redis.hgetall(keys.approval(id));
  if (h.id === undefined) throw new AdminError(AdminErrorCode.NOT_FOUND, `no approval ${id}`);
  return {
    id,
    action: h.action ?? '',
    params: JSON.parse(h.params ?? '{}') as Record<string, unknown>,
    amountFen: Number(h.amountFen ?? 0),
    maker: h.maker ?? '',
    createdAt: Number(h.createdAt ?? 0),
    state: (h.state ?? 'pending') as ApprovalState,
    checker: h.checker ?? null,
    decidedAt: h.decidedAt === undefined ? null : Number(h.decidedAt),
    outcome: h.outcome === undefined ? null : (JSON.parse(h.outcome) as unknown),
  };
}

/** Newest first; only those still waiting (pending, or approved and never settled) unless `all`. */
export async function listApprovals(context: AdminContext, options: { all?: boolean; limit?: number } = {}): Promise<Approval[]> {
  const ids = await context.redis.zrevrange(keys.approvals(), 0, (options.limit ?? 1000) - 1);
  const approvals = await Promise.all(ids.map((id) => showApproval(context, id)));
  return options.all ? approvals : approvals.filter((a) => a.state === 'pending' || a.state === 'approved');
}

/**
 * Claims a pending approval for the checker (approved) or drops it (rejected); refuses the maker.
 * An approval claimed more than STALE_CLAIM_MS ago and never settled (its approver died before it
 * recorded the outcome) is claimed again: `resumed` is then true.
 */
export async function decideApproval(context: AdminContext, id: string, state: 'approved' | 'rejected'): Promise<Approval & { resumed: boolean }> {
  const checker = requireOperator(context);
  const before = await showApproval(context, id);
  const now = context.now();
  const [status, detail] = (await DECIDE.run(context.redis, [keys.approval(id)], [state, checker, now, now - STALE_CLAIM_MS])) as [string, string?];
  if (status === 'resume') return { ...before, state, checker, decidedAt: now, resumed: true };
  if (status === 'same_operator') {
    throw new AdminError(AdminErrorCode.SAME_OPERATOR, `approval ${id} was asked for by ${checker}: a second, different operator approves it`);
  }
  if (status === 'decided') throw new AdminError(AdminErrorCode.REFUSED, `approval ${id} is ${detail} already`);
  if (status === 'not_found') throw new AdminError(AdminErrorCode.NOT_FOUND, `no approval ${id}`);
  return { ...before, state, checker, decidedAt: now, resumed: false };
}

/** Records what applying an approved action did: applied with its result, or failed with the error. */
export async function settleApproval(context: AdminContext, id: string, state: 'applied' | 'failed', outcome: unknown): Promise<void> {
  await context.redis.hset(keys.approval(id), 'state', state, 'outcome', JSON.stringify(outcome));
}

/**
 * Whether an approved action already took effect (its approver died before recording it): each
 * leaves a mark it checks itself, so this only reads them. A top-up or adjustment: its reference in
 * the merchant's book; a reversal: the reversal complete; a re-entry: its transaction exists
 * (recovery finishes one left pending). Null: not applied, or a reversal to resume.
 */
export async function appliedBefore(context: AdminContext, approval: Approval): Promise<unknown> {
  const p = approval.params;
  switch (approval.action) {
    case 'float.topup':
    case 'float.adjust': {
      const reference = approval.action === 'float.topup' && p.reference !== undefined ? String(p.reference) : approval.id;
      const entry = await context.redis.hget(keys.references(String(p.merchantId)), reference);
      return entry === null ? null : { merchantId: p.merchantId, reference, entry, resumed: 'applied before' };
    }
    case 'txn.reverse': {
      const receipt = String(p.receipt);
      const merchantId = await merchantOfTerminal(context, receipt.slice(0, 8));
      const state = await context.redis.hget(keys.transaction(merchantId, reversalId(receipt)), 'state');
      return state === 'complete' ? { receipt, reversal: reversalId(receipt), state, resumed: 'applied before' } : null;
    }
    case 'txn.reenter': {
      const receipt = formatReceipt(String(p.terminalId), Number(p.seq));
      const merchantId = await merchantOfTerminal(context, String(p.terminalId));
      const state = await context.redis.hget(keys.transaction(merchantId, receipt), 'state');
      return state === null ? null : { receipt, state, resumed: 'applied before' };
    }
    default:
      return null;
  }
}
