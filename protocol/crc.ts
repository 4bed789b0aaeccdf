/**
 * CRC-16/CCITT-FALSE (PROTOCOL.md §2.3): width 16, poly 0x1021, init 0xFFFF, refin false,
 * refout false, xorout 0x0000, check 0x29B1 over the ASCII bytes "123456789".
 * Table-driven, one lookup per byte: it runs over every frame on the decoder's hot path.
 */

const POLY = 0x1021;
const INIT = 0xffff;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ POLY) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/** CRC of bytes[start .. end) (the whole buffer by default). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = INIT;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xff00) ^ TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!;
  }
  return crc;
}
