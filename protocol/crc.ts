/**
 * CRC-16/CCITT-FALSE (PROTOCOL.md §2.3): width 16, poly 0x1021, init 0xFFFF, refin false,
 * refout false, xorout 0x0000, check 0x29B1 over the ASCII bytes "123456789".
 * It runs over every frame on the decoder's hot path, so it is table-driven and takes two bytes
 * per step ("slicing by 2": a 16-bit CRC is shifted out completely by two bytes).
 */

const POLY = 0x1021;
const INIT = 0xffff;

/** ONE[x]: the CRC register after shifting in byte x from a zero register. */
const ONE = new Uint16Array(256);
/** TWO[x]: the same for byte x followed by a zero byte. */
const TWO = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ POLY) & 0xffff : (crc << 1) & 0xffff;
  ONE[byte] = crc;
}
for (let byte = 0; byte < 256; byte++) {
  const once = ONE[byte]!;
  TWO[byte] = ((once << 8) & 0xffff) ^ ONE[once >>> 8]!;
}

/** CRC of bytes[start .. end) (the whole buffer by default). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = INIT;
  let i = start;
  for (const pairsEnd = end - 1; i < pairsEnd; i += 2) {
    crc = TWO[((crc >>> 8) ^ bytes[i]!) & 0xff]! ^ ONE[(crc ^ bytes[i + 1]!) & 0xff]!;
  }
  if (i < end) crc = ((crc << 8) & 0xff00) ^ ONE[((crc >>> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}
