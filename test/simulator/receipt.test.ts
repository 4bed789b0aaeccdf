/** The thermal receipt's layout: 32 columns at most, CJK characters counted as two. */
import { describe, expect, it } from 'vitest';
import { MerchantKind, TxnFlag } from '../../protocol/constants.js';
import { displayWidth, RECEIPT_COLUMNS, renderReceipt, type ReceiptInput } from '../../simulator/terminal/receipt.js';

const payment: ReceiptInput = {
  kind: 'pay',
  merchantKind: MerchantKind.OUTLET,
  merchantName: '城东便民超市',
  terminalId: 'AC000001',
  receipt: 'AC0000010000000003',
  at: Date.UTC(2026, 10, 27, 1, 0, 41), // 09:00:41 at UTC+8
  utcOffsetMinutes: 480,
  businessDay: 20261127,
  account: '3100012345',
  holderName: '张*明',
  periods: [
    { period: 202609, amountFen: 4_580 },
    { period: 202610, amountFen: 420 },
  ],
  amountFen: 5_000,
  arrearsFen: 4_810,
  flags: 0,
};

describe('displayWidth', () => {
  it('counts a CJK character as two columns, ASCII and ¥ as one', () => {
    expect(displayWidth('AC000001')).toBe(8);
    expect(displayWidth('张*明')).toBe(5);
    expect(displayWidth('¥50.00')).toBe(6);
    expect(displayWidth('ＡＢ')).toBe(4); // fullwidth forms
  });
});

describe('renderReceipt', () => {
  it('lays out a payment at an outlet, every field where PROTOCOL.md §7.7 puts it', () => {
    expect(renderReceipt(payment)).toEqual([
      '================================',
      '          城东便民超市',
      '        PAYMENT RECEIPT',
      '--------------------------------',
      'Terminal                AC000001',
      'Receipt       AC0000010000000003',
      'Date         2026-11-27 09:00:41',
      'Business day          2026-11-27',
      'Account               3100012345',
      'Holder                     张*明',
      '--------------------------------',
      'Bill periods paid',
      '  2026-09                 ¥45.80',
      '  2026-10                  ¥4.20',
      '--------------------------------',
      'AMOUNT PAID               ¥50.00',
      'Arrears left              ¥48.10',
      '================================',
    ]);
  });

  it("prints a collector's bill and a correction with the corrected receipt", () => {
    const bill = renderReceipt({ ...payment, merchantKind: MerchantKind.COLLECTOR, merchantName: '李师傅 抄表收费组', flags: TxnFlag.CASH_NEAR_LIMIT });
    expect(bill).toContain('        ELECTRICITY BILL');
    expect(bill.at(-1)).toContain('CASH NEAR LIMIT');
    const correction = renderReceipt({ ...payment, kind: 'correct', receipt: 'AC0000010000000004', original: 'AC0000010000000003', flags: TxnFlag.LOW_FLOAT });
    expect(correction).toContain('Corrects      AC0000010000000003');
    expect(correction).toContain('AMOUNT REFUNDED           ¥50.00');
    expect(correction).toContain('Bill periods restored');
    expect(correction.at(-1)).toContain('FLOAT LOW');
  });

  it('never passes 32 columns: long Chinese names wrap, wide values move to their own line', () => {
    const long = renderReceipt({
      ...payment,
      merchantName: '国网某某省某某市供电公司城关镇农村电费代收便民服务点第十二号',
      holderName: `欧${'*'.repeat(20)}阳`,
      amountFen: 4_294_967_295,
      arrearsFen: 4_294_967_295,
      periods: Array.from({ length: 12 }, (_, i) => ({ period: 202601 + i, amountFen: 99_999_999 })),
    });
    for (const line of long) expect(displayWidth(line)).toBeLessThanOrEqual(RECEIPT_COLUMNS);
    expect(long.filter((line) => /[\u4e00-\u9fff]/.test(line) && !line.includes('*')).length).toBeGreaterThan(1);
    expect(long).toContainEqual(expect.stringMatching(/^AMOUNT PAID +¥42,949,672\.95$/));
  });
});
