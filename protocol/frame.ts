/**
 * One frame (PROTOCOL.md §2): header checks, building a Frame from checked bytes, and the
 * encoder. The streaming decoder (decoder.ts) and decodeFrame share these checks, so a byte
 * sequence gets the same verdict however it arrives.
 */
import {
  CRC_SIZE,
  HEADER_SIZE,
  MAC_SIZE,
  MAX_FRAME_SIZE,
  MAX_PAYLOAD_SIZE,
  MIN_FRAME_SIZE,
  MessageType,
  Offset,
  PROTOCOL_VERSION,
  SYNC_0,
  SYNC_1,
  TERMINAL_ID_SIZE,
  TRAILER_SIZE,
} from './constants.js';
import { crc16 } from './crc.js';
import { writeMac } from './crypto.js';
import { FrameError, FrameErrorCode } from './errors.js';
import { ID_CHARS, writeAscii } from './fields.js';
import type { Frame } from './messages.js';

/** Sync, version and length: the bytes needed before a frame's size is known. */
export const PREFIX_SIZE = Offset.LENGTH + 2;

/** Lookup by type byte: 1 when the type is one §3 defines. */
const KNOWN_TYPE = new Uint8Array(256);
for (const type of Object.values(MessageType)) KNOWN_TYPE[type] = 1;

/**
 * Version and length of the frame whose sync is at `at` (PREFIX_SIZE bytes available).
 * Returns the frame length, or the fatal error (§8: either one means the stream is not ours).
 */
export function checkPrefix(bytes: Buffer, at: number, maxFrameSize: number): number | FrameError {
  const version = bytes[at + Offset.VERSION]!;
  if (version !== PROTOCOL_VERSION) {
    return new FrameError(FrameErrorCode.VERSION, `unknown protocol version ${version}`, { fatal: true });
  }
  const length = bytes.readUInt16BE(at + Offset.LENGTH);
  if (length < MIN_FRAME_SIZE || length > maxFrameSize) {
    return new FrameError(FrameErrorCode.LENGTH, `frame length ${length} outside ${MIN_FRAME_SIZE}..${maxFrameSize}`, {
      fatal: true,
    });
  }
  return length;
}

/**
 * Reads terminal ids. All frames of a connection carry the same id, so its string is made once
 * and reused for as long as the 8 bytes stay the same.
 */
export class TerminalIdReader {
  #high = -1;
  #low = -1;
  #id = '';
  #valid = false;

  /** The id at `at`, or null when its bytes are not 8 characters [0-9A-Z]. */
  read(bytes: Buffer, at: number): string | null {
    const high = bytes.readUInt32BE(at);
    const low = bytes.readUInt32BE(at + 4);
    if (high !== this.#high || low !== this.#low) {
      this.#id = bytes.toString('latin1', at, at + TERMINAL_ID_SIZE);
      this.#valid = true;
      for (let i = at; i < at + TERMINAL_ID_SIZE; i++) if (ID_CHARS[bytes[i]!] !== 1) this.#valid = false;
      this.#high = high;
      this.#low = low;
    }
    return this.#valid ? this.#id : null;
  }
}

/**
 * The frame of `length` bytes at `at`, whose prefix checked: CRC, then type. The Frame's
 * buffers are views of `bytes` unless `copy` is set (when `bytes` is scratch space reused later).
 */
export function readFrame(
  bytes: Buffer,
  at: number,
  length: number,
  ids: TerminalIdReader,
  copy = false,
): Frame | FrameError {
  const end = at + length;
  const crcAt = end - CRC_SIZE;
  if (crc16(bytes, at, crcAt) !== bytes.readUInt16BE(crcAt)) {
    return new FrameError(FrameErrorCode.CRC, 'CRC mismatch');
  }
  const type = bytes[at + Offset.TYPE]!;
  const terminalId = ids.read(bytes, at + Offset.TERMINAL_ID);
  // Every answer echoes the terminal id: a frame without a valid one cannot be answered at all.
  if (terminalId === null) return new FrameError(FrameErrorCode.TERMINAL_ID, 'terminal id is not 8 characters [0-9A-Z]');
  const seq = bytes.readUInt32BE(at + Offset.SEQ);
  if (KNOWN_TYPE[type] !== 1) {
    return new FrameError(FrameErrorCode.TYPE, `unknown message type 0x${type.toString(16).padStart(2, '0')}`, {
      header: { type, terminalId, seq },
    });
  }
  const raw = copy ? Buffer.from(bytes.subarray(at, end)) : bytes.subarray(at, end);
  return {
    version: PROTOCOL_VERSION,
    type,
    flags: bytes[at + Offset.FLAGS]!,
    terminalId,
    seq,
    timestamp: bytes.readUInt32BE(at + Offset.TIMESTAMP),
    payload: raw.subarray(HEADER_SIZE, length - TRAILER_SIZE),
    mac: raw.subarray(length - TRAILER_SIZE, length - CRC_SIZE),
    raw,
  };
}

/** Exactly one whole frame; throws the FrameError that frame earns. */
export function decodeFrame(bytes: Buffer): Frame {
  if ((bytes.length > 0 && bytes[0] !== SYNC_0) || (bytes.length > 1 && bytes[1] !== SYNC_1)) {
    throw new FrameError(FrameErrorCode.SYNC, 'frame does not start with A5 5A');
  }
  if (bytes.length < PREFIX_SIZE) throw new FrameError(FrameErrorCode.TRUNCATED, `${bytes.length} bytes is no frame`);
  const length = checkPrefix(bytes, 0, MAX_FRAME_SIZE);
  if (typeof length !== 'number') throw length;
  if (bytes.length < length) {
    throw new FrameError(FrameErrorCode.TRUNCATED, `${bytes.length} of ${length} bytes`);
  }
  if (bytes.length > length) {
    throw new FrameError(FrameErrorCode.LENGTH, `${bytes.length} bytes where the length field says ${length}`);
  }
  const frame = readFrame(bytes, 0, length, new TerminalIdReader());
  if (frame instanceof FrameError) throw frame;
  return frame;
}

export interface FrameHeader {
  type: number;
  flags?: number;
  terminalId: string;
  seq: number;
  timestamp: number;
}

const U32_MAX = 0xffffffff;

/**
 * The whole frame around `payload`: header, payload, MAC under `macKey` (all zero when null,
 * §5.3), then the CRC over everything before it.
 */
export function encodeFrame(header: FrameHeader, payload: Buffer, macKey: Buffer | null): Buffer {
  if (header.terminalId.length !== TERMINAL_ID_SIZE) {
    throw new RangeError(`terminal id ${JSON.stringify(header.terminalId)} is not 8 characters [0-9A-Z]`);
  }
  checkUint('type', header.type, 0xff);
  checkUint('flags', header.flags ?? 0, 0xff);
  checkUint('seq', header.seq, U32_MAX);
  checkUint('timestamp', header.timestamp, U32_MAX);
  if (payload.length > MAX_PAYLOAD_SIZE) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_SIZE}`);

  const length = MIN_FRAME_SIZE + payload.length;
  const frame = Buffer.allocUnsafe(length);
  frame[Offset.SYNC] = SYNC_0;
  frame[Offset.SYNC + 1] = SYNC_1;
  frame[Offset.VERSION] = PROTOCOL_VERSION;
  frame.writeUInt16BE(length, Offset.LENGTH);
  frame[Offset.TYPE] = header.type;
  frame[Offset.FLAGS] = header.flags ?? 0;
  writeAscii(frame, Offset.TERMINAL_ID, header.terminalId, TERMINAL_ID_SIZE, 'terminal id', ID_CHARS);
  frame.writeUInt32BE(header.seq, Offset.SEQ);
  frame.writeUInt32BE(header.timestamp, Offset.TIMESTAMP);
  frame.set(payload, HEADER_SIZE);

  const macAt = length - TRAILER_SIZE;
  if (macKey === null) for (let i = macAt; i < macAt + MAC_SIZE; i++) frame[i] = 0;
  else writeMac(macKey, frame, macAt, frame, macAt);
  const crcAt = length - CRC_SIZE;
  frame.writeUInt16BE(crc16(frame, 0, crcAt), crcAt);
  return frame;
}

export function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} is not an integer in 0..${max}`);
}
