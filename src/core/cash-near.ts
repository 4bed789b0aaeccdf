/**
 * The near-cash-limit state's one side effect, as low-float.ts for outlets: a structured log event
 * when a collector enters or leaves the state. The state itself is decided atomically in Lua with
 * the cash change (src/store/lua/balance.ts `cashNear`) and kept as the merchant hash's `cashNear`
 * field, which the gauge and `merchant list --near-cash-limit` read.
 */
import type { Logger } from 'pino';
import type { CashNearOptions } from './deps.js';

/** In at 90% of the cash limit, out below 80%: an electrician told to hand in is not untold by one refund. */
export const DEFAULT_CASH_NEAR = { percent: 90, marginPercent: 10 } as const;

export function noteCashNear(
  logger: Logger | undefined,
  merchantId: string,
  transition: unknown,
  cashFen: number,
): void {
  if (transition !== 'cash-enter' && transition !== 'cash-leave') return;
  const entering = transition === 'cash-enter';
  logger?.info(
    { event: entering ? 'cash_near_limit_enter' : 'cash_near_limit_leave', merchant: merchantId, cashFen },
    `collector ${entering ? 'entered' : 'left'} the near-cash-limit state`,
  );
}

/** The near-cash-limit rule: whole percentages, the margin no wider than the threshold. */
export function cashNearOptions(options: Partial<CashNearOptions> = {}): CashNearOptions {
  const percent = options.percent ?? DEFAULT_CASH_NEAR.percent;
  const marginPercent = options.marginPercent ?? DEFAULT_CASH_NEAR.marginPercent;
  if (!Number.isSafeInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`cashNear.percent must be a whole percentage 0 to 100, not ${percent}`);
  if (!Number.isSafeInteger(marginPercent) || marginPercent < 0 || marginPercent > percent) {
    throw new RangeError(`cashNear.marginPercent must be a whole percentage 0 to ${percent} (the threshold), not ${marginPercent}`);
  }
  return { percent, marginPercent };
}
