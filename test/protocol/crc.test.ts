import { describe, expect, it } from 'vitest';
import { crc16 } from '../../protocol/index.js';

/** The catalogue definition, one bit at a time: what the table-driven CRC must equal. */
function crcBitwise(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

describe('crc16 (CRC-16/CCITT-FALSE)', () => {
  it('has the catalogue check value 0x29B1 over "123456789"', () => {
    expect(crc16(Buffer.from('123456789', 'ascii'))).toBe(0x29b1);
  });

  it('is the init value 0xFFFF over no bytes', () => {
    expect(crc16(Buffer.alloc(0))).toBe(0xffff);
  });

  it('equals the bitwise definition for every length 0..300, odd and even', () => {
    let seed = 12345;
    const bytes = Buffer.alloc(300);
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    for (let length = 0; length <= bytes.length; length++) {
      expect(crc16(bytes.subarray(0, length))).toBe(crcBitwise(bytes.subarray(0, length)));
    }
  });

  it('covers exactly bytes[start .. end)', () => {
    const bytes = Buffer.from('xx123456789yy', 'ascii');
    expect(crc16(bytes, 2, 11)).toBe(0x29b1);
  });
});
