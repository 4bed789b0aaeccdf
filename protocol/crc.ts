/**
 * CRC-16/CCITT-FALSE (PROTOCOL.md §2.3): width 16, poly 0x1021, init 0xFFFF, refin false,
 * refout false, xorout 0x0000, check 0x29B1 over the ASCII bytes "123456789".
 *
 * It runs over every frame on the decoder's hot path, so it is table-driven and takes four bytes
 * per step ("slicing by 4"). The CRC is linear and its register is 16 bits wide, so after four
 * bytes the result is the XOR of each byte's own contribution: the register's high byte XOR b0
 * shifted through four byte steps, its low byte XOR b1 through three, b2 through two, b3 through one.
 */

const POLY = 0x1021;
const INIT = 0xffff;

/** T1[x]: the register after byte x is shifted into a zero register. */
const T1 = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ POLY) & 0xffff : (crc << 1) & 0xffff;
  T1[byte] = crc;
}

/** The table of `table`'s bytes followed by one more zero byte. */
function thenZeroByte(table: Uint16Array): Uint16Array {
  const next = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const before = table[byte]!;
    next[byte] = ((before << 8) & 0xffff) ^ T1[before >>> 8]!;
  }
  return next;
}
const T2 = thenZeroByte(T1);
const T3 = thenZeroByte(T2);
const T4 = thenZeroByte(T3);

/** CRC of bytes[start .. end) (the whole buffer by default). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = INIT;
  let i = start;
  for (const quadsEnd = end - 3; i < quadsEnd; i += 4) {
    crc = T4[((crc >>> 8) ^ bytes[i]!) & 0xff]! ^ T3[(crc ^ bytes[i + 1]!) & 0xff]! ^ T2[bytes[i + 2]!]! ^ T1[bytes[i + 3]!]!;
  }
  for (; i < end; i++) crc = ((crc << 8) & 0xff00) ^ T1[((crc >>> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}
