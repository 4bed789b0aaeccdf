/**
 * The low-float warning state's one side effect: a structured log event when a merchant enters or
 * leaves the state. The state itself is decided atomically in Lua with the float change
 * (src/store/lua/balance.ts) and kept as the merchant hash's `lowFloat` field, which `merchant list
 * --low-float` and the fleet gauge read.
 */
import type { Logger } from 'pino';

/** ¥500 threshold, ¥100 margin: a shop is warned with a day or two of typical takings left. */
export const DEFAULT_LOW_FLOAT = { thresholdFen: 50_000, marginFen: 10_000 } as const;

/** A script's transition: '' (none), 'enter' or 'leave'. */
export type LowFloatTransition = '' | 'enter' | 'leave';

export function noteLowFloat(
  logger: Logger | undefined,
  merchantId: string,
  transition: unknown,
  floatFen: number,
): void {
  if (transition !== 'enter' && transition !== 'leave') return;
  logger?.info({ event: transition === 'enter' ? 'low_float_enter' : 'low_float_leave', merchant: merchantId, floatFen }, `merchant ${transition === 'enter' ? 'entered' : 'left'} the low-float state`);
}
