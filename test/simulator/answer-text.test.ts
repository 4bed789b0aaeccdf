/**
 * The clerk's one-line answer: money fields a refusal leaves at zero (PROTOCOL.md §3) are not shown
 * as balances; an approval shows every one, zero included.
 */
import { describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/index.js';
import { answerText } from '../../simulator/cli/single.js';

const answer = (code: number, name: string, response: Record<string, unknown>) =>
  ({ code, name, seq: 7, response: { result: code, ...response }, attempts: 1, latencyMs: 3 });

describe('answerText', () => {
  it('shows the arrears owed on OVERPAYMENT and no float', () => {
    const text = answerText(answer(ResultCode.OVERPAYMENT, 'OVERPAYMENT',
      { receipt: '', arrearsFen: 30_000, floatFen: 0, businessDay: 0 }));
    expect(text).toContain('arrears ¥300.00');
    expect(text).not.toContain('float');
  });

  it('shows every money field of an approval, a zero float included', () => {
    const text = answerText(answer(ResultCode.APPROVED, 'APPROVED',
      { receipt: 'T0000001000000000007', arrearsFen: 0, floatFen: 0, businessDay: 20261127 }));
    expect(text).toContain('arrears ¥0.00');
    expect(text).toContain('float ¥0.00');
  });

  it('names the bill periods paid as the receipt prints them, not as JSON', () => {
    const text = answerText(answer(ResultCode.APPROVED, 'APPROVED', { receipt: 'T0000001000000000007', arrearsFen: 500, floatFen: 100_000,
      businessDay: 20261127, periods: [{ period: 202610, amountFen: 12_000 }, { period: 202611, amountFen: 3_550 }] }));
    expect(text).toContain('periods 2026-10 ¥120.00, 2026-11 ¥35.50');
    expect(text).not.toContain('{');
  });
});
