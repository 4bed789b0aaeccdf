import { describe, expect, it } from 'vitest';
import { AdminErrorCode, formatYuan, parseYuan } from '../../src/admin/index.js';

describe('parseYuan', () => {
  it.each([
    ['0', 0],
    ['0.5', 50],
    ['0.05', 5],
    ['1', 100],
    ['12.3', 1230],
    ['12.34', 1234],
    ['0.29', 29], // 0.29 * 100 is 28.999999999999996 in binary floating point
    ['0.57', 57],
    ['1.13', 113],
    ['6179615.25', 617961525],
    ['42949672.95', 4294967295],
  ])('%s yuan is exactly %i fen', (text, fen) => {
    expect(parseYuan(text)).toBe(fen);
  });

  it('reads back every amount formatYuan writes', () => {
    for (let fen = 0; fen < 3000; fen++) expect(parseYuan(formatYuan(fen))).toBe(fen);
  });

  it.each([
    ['', 'empty'],
    [' ', 'blank'],
    [' 12', 'leading space'],
    ['12 ', 'trailing space'],
    ['-1', 'negative sign'],
    ['+1', 'plus sign'],
    ['1e3', 'exponent'],
    ['1E3', 'exponent'],
    ['0x10', 'hex'],
    ['1.234', 'three decimals'],
    ['1.', 'point without decimals'],
    ['.5', 'no whole yuan'],
    ['01', 'leading zero'],
    ['00.10', 'leading zeros'],
    ['1,000', 'grouping comma'],
    ['1,5', 'decimal comma'],
    ['1.2.3', 'two points'],
    ['NaN', 'not a number'],
    ['Infinity', 'infinity'],
    ['１２', 'full-width digits'],
    ['¥12', 'currency sign'],
    ['12元', 'unit'],
    ['42949672.96', 'one fen over u32'],
    ['99999999.99', 'over u32'],
    ['100000000', 'nine digits of yuan'],
    ['123456789012345678901234567890', 'huge'],
  ])('rejects %j (%s)', (text) => {
    expect(() => parseYuan(text)).toThrow(expect.objectContaining({ code: AdminErrorCode.AMOUNT }));
  });
});

describe('formatYuan', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [50, '0.50'],
    [1234, '12.34'],
    [617961525, '6179615.25'],
    [-1234, '-12.34'],
  ])('%i fen is %s', (fen, text) => {
    expect(formatYuan(fen)).toBe(text);
  });

  it('groups thousands when asked', () => {
    expect(formatYuan(617961525, { grouped: true })).toBe('6,179,615.25');
    expect(formatYuan(100000, { grouped: true })).toBe('1,000.00');
    expect(formatYuan(99999, { grouped: true })).toBe('999.99');
    expect(formatYuan(-123456789, { grouped: true })).toBe('-1,234,567.89');
  });

  it('refuses fractions of a fen', () => {
    expect(() => formatYuan(1.5)).toThrow(RangeError);
  });
});
