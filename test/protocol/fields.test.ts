import { describe, expect, it } from 'vitest';
import {
  MessageType,
  deriveSessionKey,
  formatReceipt,
  maskHolderName,
  parseReceipt,
  requestFingerprint,
  responseTypeOf,
} from '../../protocol/index.js';

describe('maskHolderName (§7.2)', () => {
  it.each([
    ['', ''],
    ['张', '张'],
    ['张三', '张*'],
    ['张小明', '张*明'],
    ['欧阳小明', '欧**明'],
    ['Li Wei', 'L****i'],
    ['𠀀𠀁𠀂', '𠀀*𠀂'], // characters outside the BMP count as one
  ])('%s → %s', (name, masked) => {
    expect(maskHolderName(name)).toBe(masked);
  });

  it('never exceeds the 60-byte field, however long the name', () => {
    const masked = maskHolderName('张'.repeat(100));
    expect(Buffer.byteLength(masked)).toBeLessThanOrEqual(60);
    expect(masked.startsWith('张*')).toBe(true);
    expect(masked.endsWith('*张')).toBe(true);
  });
});

describe('receipts (§7.4)', () => {
  it('are the terminal id and the seq as 10 digits', () => {
    expect(formatReceipt('AC000001', 3)).toBe('AC0000010000000003');
    expect(formatReceipt('ZZ999999', 0xffffffff)).toBe('ZZ9999994294967295');
  });

  it('parse back to terminal id and seq', () => {
    expect(parseReceipt('AC0000010000000003')).toEqual({ terminalId: 'AC000001', seq: 3 });
  });

  it.each(['', 'AC000001000000003', 'ac0000010000000003', 'AC000001000000000X', 'AC0000019999999999', 'AC0000010000000000'])(
    'reject %j',
    (text) => {
      expect(parseReceipt(text)).toBeNull();
    },
  );

  it('refuse to format a bad terminal id or seq', () => {
    expect(() => formatReceipt('ac000001', 1)).toThrow(RangeError);
    expect(() => formatReceipt('AC000001', 0)).toThrow(RangeError);
    expect(() => formatReceipt('AC000001', 2 ** 32)).toThrow(RangeError);
  });
});

describe('responseTypeOf (§3)', () => {
  it('sets the high bit', () => {
    expect(responseTypeOf(MessageType.PAY)).toBe(MessageType.PAY_RESPONSE);
    expect(responseTypeOf(MessageType.SIGN_OUT)).toBe(MessageType.SIGN_OUT_RESPONSE);
  });
});

describe('requestFingerprint (§6.2)', () => {
  const payload = Buffer.from('33313030303132333435', 'hex');
  it('is the hex SHA-256 of type || payload', () => {
    // sha256(04 61 62 63), computed independently
    expect(requestFingerprint(0x04, Buffer.from('abc'))).toBe('c8961b21b2ee347d6fae91d71653ab8f3a5b53eb9dea9ce2adc724ddb5096ec5');
  });
  it('differs when the type or a payload byte differs', () => {
    const base = requestFingerprint(MessageType.PAY, payload);
    expect(requestFingerprint(MessageType.CORRECT, payload)).not.toBe(base);
    const changed = Buffer.from(payload);
    changed[0]! ^= 1;
    expect(requestFingerprint(MessageType.PAY, changed)).not.toBe(base);
    expect(requestFingerprint(MessageType.PAY, Buffer.from(payload))).toBe(base);
  });
});

describe('deriveSessionKey (§5.2)', () => {
  const kt = Buffer.alloc(32, 1);
  const n1 = Buffer.alloc(16, 2);
  const n2 = Buffer.alloc(16, 3);
  it('matches an independent HMAC-SHA256 (Python hmac) over the vectors\' key material', () => {
    const derived = deriveSessionKey(
      Buffer.from('7017afb61e0f745252b8899ab313852befbb83f41f973bb9d549bff8b8f77318', 'hex'),
      'AC000001',
      Buffer.from('6ef9d8c793653a6cfa2a46f67a15dfe8', 'hex'),
      Buffer.from('e0aa40751b9c06c502a1765c9acff642', 'hex'),
    );
    expect(derived.toString('hex')).toBe('4a658950efbb69a752a0968bdb67e1c693373f70537d8e28a22b15526e840bcc');
  });

  it('depends on every input', () => {
    const base = deriveSessionKey(kt, 'AC000001', n1, n2).toString('hex');
    expect(deriveSessionKey(Buffer.alloc(32, 9), 'AC000001', n1, n2).toString('hex')).not.toBe(base);
    expect(deriveSessionKey(kt, 'AC000002', n1, n2).toString('hex')).not.toBe(base);
    expect(deriveSessionKey(kt, 'AC000001', n2, n1).toString('hex')).not.toBe(base);
  });
  it('refuses wrong sizes', () => {
    expect(() => deriveSessionKey(Buffer.alloc(16), 'AC000001', n1, n2)).toThrow(RangeError);
    expect(() => deriveSessionKey(kt, 'AC000001', Buffer.alloc(8), n2)).toThrow(RangeError);
    expect(() => deriveSessionKey(kt, 'bad', n1, n2)).toThrow(RangeError);
  });
});
