import { describe, expect, it } from 'vitest';
import {
  FrameError,
  MessageType,
  ResultCode,
  TransactionState,
  decodePayload,
  emptyResponse,
  encodePayload,
  isMessageType,
  type MessageMap,
} from '../../protocol/index.js';

const RESPONSES = [
  MessageType.SIGN_IN_RESPONSE,
  MessageType.HEARTBEAT_RESPONSE,
  MessageType.INQUIRY_RESPONSE,
  MessageType.PAY_RESPONSE,
  MessageType.CORRECT_RESPONSE,
  MessageType.STATUS_RESPONSE,
  MessageType.SETTLE_RESPONSE,
  MessageType.SIGN_OUT_RESPONSE,
  MessageType.REJECT,
] as const;

/** §3: size of each response's full layout with every optional part empty. */
const EMPTY_SIZE: Record<(typeof RESPONSES)[number], number> = {
  [MessageType.SIGN_IN_RESPONSE]: 33,
  [MessageType.HEARTBEAT_RESPONSE]: 5,
  [MessageType.INQUIRY_RESPONSE]: 7,
  [MessageType.PAY_RESPONSE]: 38,
  [MessageType.CORRECT_RESPONSE]: 38,
  [MessageType.STATUS_RESPONSE]: 5,
  [MessageType.SETTLE_RESPONSE]: 21,
  [MessageType.SIGN_OUT_RESPONSE]: 1,
  [MessageType.REJECT]: 1,
};

describe('emptyResponse', () => {
  it.each(RESPONSES.map((type) => [type]))('0x%s has the full layout: the result, then zeros', (type) => {
    const value = emptyResponse(type, ResultCode.SYSTEM_BUSY);
    const bytes = encodePayload(type, value as never);
    expect(bytes.length).toBe(EMPTY_SIZE[type]);
    expect(bytes[0]).toBe(ResultCode.SYSTEM_BUSY);
    expect(bytes.subarray(1).every((byte) => byte === 0)).toBe(true);
    expect(decodePayload(type, bytes)).toEqual(value);
  });

  it('gives each caller its own value', () => {
    const a = emptyResponse(MessageType.SIGN_IN_RESPONSE, ResultCode.APPROVED);
    a.nonce[0] = 1;
    expect(emptyResponse(MessageType.SIGN_IN_RESPONSE, ResultCode.APPROVED).nonce[0]).toBe(0);
  });

  it('refuses types without a result', () => {
    expect(() => emptyResponse(MessageType.PAY, ResultCode.APPROVED)).toThrow(RangeError);
    expect(() => emptyResponse(MessageType.NOTICE, ResultCode.APPROVED)).toThrow(RangeError);
  });
});

describe('encodePayload refuses values that do not fit their fields', () => {
  const cases: Array<[string, () => Buffer]> = [
    ['account of 9 digits', () => encodePayload(MessageType.PAY, { account: '310001234', amountFen: 1 })],
    ['account with a letter', () => encodePayload(MessageType.PAY, { account: '31000123A5', amountFen: 1 })],
    ['negative amount', () => encodePayload(MessageType.PAY, { account: '3100012345', amountFen: -1 })],
    ['fractional amount', () => encodePayload(MessageType.PAY, { account: '3100012345', amountFen: 1.5 })],
    ['amount over u32', () => encodePayload(MessageType.PAY, { account: '3100012345', amountFen: 2 ** 32 })],
    ['short nonce', () => encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(15), firmware: 'FW1' })],
    ['firmware of 9 characters', () => encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(16), firmware: 'FW1.4.2.9' })],
    ['non-ASCII firmware', () => encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(16), firmware: 'FWé' })],
    ['bad receipt', () => encodePayload(MessageType.CORRECT, { receipt: 'AC00000100000003', account: '3100012345', amountFen: 1 })],
    [
      'name over 60 bytes',
      () => encodePayload(MessageType.INQUIRY_RESPONSE, { result: 0, arrearsFen: 0, holderName: '张'.repeat(21), periods: [] }),
    ],
    [
      '13 bill periods',
      () =>
        encodePayload(MessageType.INQUIRY_RESPONSE, {
          result: 0,
          arrearsFen: 0,
          holderName: '',
          periods: Array.from({ length: 13 }, () => ({ period: 202601, amountFen: 1 })),
        }),
    ],
  ];
  it.each(cases)('%s', (_name, encode) => {
    expect(encode).toThrow(RangeError);
  });
});

describe('decodePayload', () => {
  it('refuses a type the protocol does not define with ERR_TYPE', () => {
    expect(() => decodePayload(0x09 as keyof MessageMap, Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_TYPE' }));
    expect(isMessageType(0x09)).toBe(false);
    expect(isMessageType(MessageType.PAY)).toBe(true);
  });

  it('takes the largest inquiry response: a 60-byte name and 12 periods', () => {
    const value: MessageMap[0x83] = {
      result: ResultCode.APPROVED,
      arrearsFen: 123_456,
      holderName: `张${'*'.repeat(54)}明`,
      periods: Array.from({ length: 12 }, (_, i) => ({ period: 202601 + i, amountFen: 1000 + i })),
    };
    const bytes = encodePayload(MessageType.INQUIRY_RESPONSE, value);
    expect(bytes.length).toBe(7 + 60 + 96);
    expect(decodePayload(MessageType.INQUIRY_RESPONSE, bytes)).toEqual(value);
  });

  it('takes the largest PAY answer: a 60-byte holder name and 12 periods paid', () => {
    const value: MessageMap[0x84] = {
      result: ResultCode.APPROVED,
      receipt: 'AC000001' + '0000000003',
      arrearsFen: 1,
      floatFen: 2,
      businessDay: 20261127,
      flags: 0x03,
      cashHeldFen: 4,
      holderName: `张${'*'.repeat(54)}明`,
      periods: Array.from({ length: 12 }, (_, i) => ({ period: 202601 + i, amountFen: 1000 + i })),
    };
    const bytes = encodePayload(MessageType.PAY_RESPONSE, value);
    expect(bytes.length).toBe(37 + 60 + 1 + 96);
    expect(decodePayload(MessageType.PAY_RESPONSE, bytes)).toEqual(value);
  });

  it("takes an approved sign-in answer with a collector's Chinese name", () => {
    const value = {
      ...emptyResponse(MessageType.SIGN_IN_RESPONSE, ResultCode.APPROVED),
      merchantKind: 1 as const,
      merchantName: '李师傅收费组',
    };
    expect(decodePayload(MessageType.SIGN_IN_RESPONSE, encodePayload(MessageType.SIGN_IN_RESPONSE, value))).toEqual(value);
  });

  it('takes a STATUS response carrying a stored response byte for byte', () => {
    const original = encodePayload(MessageType.PAY_RESPONSE, {
      ...emptyResponse(MessageType.PAY_RESPONSE, ResultCode.FLOAT_SHORT),
      floatFen: 77,
    });
    const value = {
      result: ResultCode.APPROVED,
      state: TransactionState.ANSWERED,
      originalType: MessageType.PAY_RESPONSE,
      originalPayload: original,
    };
    const decoded = decodePayload(MessageType.STATUS_RESPONSE, encodePayload(MessageType.STATUS_RESPONSE, value));
    expect(decoded.originalPayload.equals(original)).toBe(true);
    expect(decodePayload(MessageType.PAY_RESPONSE, decoded.originalPayload).floatFen).toBe(77);
  });

  it.each([
    ['an invalid UTF-8 name', MessageType.INQUIRY_RESPONSE, '00000000000102ff' + '00'],
    ['an empty status payload', MessageType.STATUS_RESPONSE, ''],
    ['a status longer than it says', MessageType.STATUS_RESPONSE, '0002840001aabb'],
    ['an unknown transaction state', MessageType.STATUS_RESPONSE, '0003000000'],
    ['an unknown notice reason', MessageType.NOTICE, '090000'],
    ['a receipt with a NUL inside', MessageType.PAY_RESPONSE, '00' + '414300' + '41'.repeat(15) + '00'.repeat(19)],
    ['a PAY answer with a 61-byte holder name', MessageType.PAY_RESPONSE, '00' + '00'.repeat(35) + '3d' + '41'.repeat(61) + '00'],
    ['a PAY answer announcing 13 bill periods', MessageType.PAY_RESPONSE, '00' + '00'.repeat(36) + '0d' + '00'.repeat(104)],
    ['a sign-in answer of unknown merchant kind', MessageType.SIGN_IN_RESPONSE, '00' + '00'.repeat(30) + '07' + '00'],
  ] as const)('refuses %s with ERR_PAYLOAD', (_name, type, hex) => {
    let thrown: unknown;
    try {
      decodePayload(type, Buffer.from(hex, 'hex'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FrameError);
    expect((thrown as FrameError).code).toBe('ERR_PAYLOAD');
  });
});
