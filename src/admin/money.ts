/**
 * Yuan as operators type them, to and from integer fen. Parsing is string handling only: a
 * binary float never holds money, so "0.29" is 29 fen and never 28.999….
 */
import { MAX_FEN } from '../../protocol/constants.js';
import { AdminError, AdminErrorCode } from './errors.js';

/** Digits, no sign, no leading zeros, an optional point followed by one or two digits. */
const YUAN_PATTERN = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?$/;
/** u32 fen is at most ¥42,949,672.95: eight digits of yuan. */
const MAX_YUAN_DIGITS = String(Math.floor(MAX_FEN / 100)).length;

/** "12.34" → 1234. Throws AdminError(ERR_AMOUNT) on anything that is not exactly such an amount. */
export function parseYuan(text: string): number {
  const match = YUAN_PATTERN.exec(text);
  if (match === null) {
    throw new AdminError(
      AdminErrorCode.AMOUNT,
      `not an amount in yuan: ${JSON.stringify(text)} (digits with at most two decimals, like 120 or 35.50)`,
    );
  }
  const yuan = match[1] ?? '';
  const fraction = (match[2] ?? '').padEnd(2, '0');
  if (yuan.length > MAX_YUAN_DIGITS) throw tooLarge(text);
  // At most 8 + 2 digits: every step below is an exact integer in a double.
  const fen = Number(yuan) * 100 + Number(fraction);
  if (fen > MAX_FEN) throw tooLarge(text);
  return fen;
}

function tooLarge(text: string): AdminError {
  return new AdminError(AdminErrorCode.AMOUNT, `amount too large: ${text} (at most ${formatYuan(MAX_FEN)} yuan)`);
}

/**
 * 617961525 → "6179615.25" (what parseYuan reads back), or "6,179,615.25" with `grouped`.
 * Takes any safe integer, negative included (a day's net can be below zero).
 */
export function formatYuan(fen: number, options: { grouped?: boolean } = {}): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not a whole number of fen: ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const digits = String(Math.abs(fen)).padStart(3, '0');
  let yuan = digits.slice(0, -2);
  if (options.grouped) yuan = yuan.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${sign}${yuan}.${digits.slice(-2)}`;
}
