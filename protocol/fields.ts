/**
 * Field formats (PROTOCOL.md §7): receipts, masked holder names, fixed-width ASCII, and the
 * request → response type rule (§3).
 */
import {
  MAX_NAME_BYTES,
  RECEIPT_PATTERN,
  RECEIPT_SIZE,
  RESPONSE_BIT,
  TERMINAL_ID_PATTERN,
  TERMINAL_ID_SIZE,
} from './constants.js';

/** A response's type is its request's type with the high bit set (§3). */
export function responseTypeOf(requestType: number): number {
  return (requestType | RESPONSE_BIT) & 0xff;
}

/** Receipt = terminal id + seq as 10 zero-padded decimal digits (§7.4): a transaction's id. */
export function formatReceipt(terminalId: string, seq: number): string {
  if (!TERMINAL_ID_PATTERN.test(terminalId)) throw new RangeError('terminal id must be 8 characters [0-9A-Z]');
  if (!Number.isInteger(seq) || seq < 1 || seq > 0xffffffff) throw new RangeError(`seq ${seq} is not in 1..4294967295`);
  return terminalId + String(seq).padStart(RECEIPT_SIZE - TERMINAL_ID_SIZE, '0');
}

/** The terminal and sequence number a receipt names, or null if it is not a receipt. */
export function parseReceipt(receipt: string): { terminalId: string; seq: number } | null {
  if (!RECEIPT_PATTERN.test(receipt)) return null;
  const seq = Number(receipt.slice(TERMINAL_ID_SIZE));
  if (seq < 1 || seq > 0xffffffff) return null;
  return { terminalId: receipt.slice(0, TERMINAL_ID_SIZE), seq };
}

/**
 * The holder name as the gateway may send it (§7.2): one character as is; two → first + "*";
 * more → first + one "*" per hidden character + last. Counted in characters, not bytes. A name
 * so long that the stars would overflow the 60-byte field gets fewer stars.
 */
export function maskHolderName(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= 1) return name;
  const first = chars[0]!;
  if (chars.length === 2) return `${first}*`;
  const last = chars[chars.length - 1]!;
  const room = MAX_NAME_BYTES - Buffer.byteLength(first) - Buffer.byteLength(last);
  return first + '*'.repeat(Math.min(chars.length - 2, room)) + last;
}

/** The longest prefix of `text`, whole characters only, that fits `maxBytes` of UTF-8 (§7.2 names). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > maxBytes) break;
    out += ch;
    bytes += size;
  }
  return out;
}

/** Which characters a text field may hold: a lookup by character code, 1 = allowed. */
export type CharClass = Uint8Array;

function charClass(allowed: (code: number) => boolean): CharClass {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) table[code] = allowed(code) ? 1 : 0;
  return table;
}
export const PRINTABLE_ASCII: CharClass = charClass((code) => code >= 0x20 && code <= 0x7e);
export const DIGITS: CharClass = charClass((code) => code >= 0x30 && code <= 0x39);
export const ID_CHARS: CharClass = charClass((code) => (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a));

/**
 * A fixed-width text field: the text, then NUL bytes to the width (§7.1). Text fields are ids,
 * digits and versions, so each character is one byte of the class given (printable ASCII at most).
 * Checks and writes in one pass: the encoder runs this for every terminal id and account number.
 */
export function writeAscii(
  target: Buffer,
  at: number,
  text: string,
  width: number,
  field: string,
  allowed: CharClass = PRINTABLE_ASCII,
): void {
  if (text.length > width) throw new RangeError(`${field} ${JSON.stringify(text)} is longer than ${width} characters`);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (allowed[code] !== 1) throw new RangeError(`${field} ${JSON.stringify(text)} has a character not allowed here`);
    target[at + i] = code;
  }
  if (text.length < width) target.fill(0, at + text.length, at + width);
}

/**
 * The text of a fixed-width field: printable ASCII then only NULs, or null when the bytes are
 * not of that form.
 */
export function readAscii(bytes: Buffer): string | null {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  for (let i = 0; i < end; i++) {
    const byte = bytes[i]!;
    if (byte < 0x20 || byte > 0x7e) return null;
  }
  return bytes.toString('latin1', 0, end);
}
