/**
 * The streaming frame decoder (PROTOCOL.md §2, §8), one per connection. TCP delivers bytes, not
 * frames: a chunk may hold part of a frame, several frames, or garbage. push() returns whatever
 * complete frames and errors the bytes so far contain and keeps the rest.
 *
 * Frames that lie wholly inside one chunk are returned as views of it (no copy); only a frame that
 * spans chunks is assembled in a buffer of its own. Never more than maxFrameSize bytes are held:
 * the length field is checked before any byte of the body is kept.
 */
import { MAX_FRAME_SIZE, MIN_FRAME_SIZE, Offset, SYNC_0, SYNC_1 } from './constants.js';
import { FrameError, FrameErrorCode } from './errors.js';
import { PREFIX_SIZE, TerminalIdReader, checkPrefix, readFrame } from './frame.js';
import type { Frame } from './messages.js';

export interface FrameDecoderOptions {
  /** Largest frame accepted; a longer length field is fatal (§6.4, §8). Default 1024. */
  maxFrameSize?: number;
}

export class FrameDecoder {
  readonly #maxFrameSize: number;

  // The start of a frame whose end has not arrived yet, copied out of its chunk (the caller may
  // drop the chunk). Allocated on first use; #heldLength bytes of it are meaningful.
  #held: Buffer | null = null;
  #heldLength = 0;

  // After a sync or CRC error the decoder skips to the next A5 5A. The bytes skipped belong to
  // that one error, so they are not reported again, even when the skip spans several chunks.
  #skipping = false;

  readonly #terminalIds = new TerminalIdReader();

  // A fatal error (unknown version, bad length) was returned: the connection is closing and any
  // further byte is ignored.
  #failed = false;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameSize ?? MAX_FRAME_SIZE;
    if (!Number.isInteger(max) || max < MIN_FRAME_SIZE || max > 0xffff) {
      throw new RangeError(`maxFrameSize must be an integer in ${MIN_FRAME_SIZE}..65535`);
    }
    this.#maxFrameSize = max;
  }

  /** Bytes held for a frame not yet complete; never more than maxFrameSize. */
  get buffered(): number {
    return this.#heldLength;
  }

  /** Frames and errors completed by `chunk`, in stream order. Never throws. */
  push(chunk: Buffer): Array<Frame | FrameError> {
    const out: Array<Frame | FrameError> = [];
    if (this.#failed) return out;
    let at = 0;

    // First finish the frame begun in an earlier chunk, taking only the bytes it still needs.
    while (this.#heldLength > 0 && at < chunk.length) {
      const held = this.#held!;
      const need = this.#heldLength < PREFIX_SIZE ? PREFIX_SIZE : held.readUInt16BE(Offset.LENGTH);
      const take = Math.min(need - this.#heldLength, chunk.length - at);
      chunk.copy(held, this.#heldLength, at, at + take);
      this.#heldLength += take;
      at += take;
      if (this.#heldLength < need) return out;
      const rest = this.#scan(held, 0, this.#heldLength, out, true);
      if (this.#failed) return out;
      held.copyWithin(0, rest, this.#heldLength);
      this.#heldLength -= rest;
    }

    if (at < chunk.length) {
      const rest = this.#scan(chunk, at, chunk.length, out, false);
      if (this.#failed) return out;
      if (rest < chunk.length) {
        this.#held ??= Buffer.allocUnsafe(this.#maxFrameSize);
        this.#heldLength = chunk.copy(this.#held, 0, rest);
      }
    }
    return out;
  }

  /**
   * Decodes every complete frame in bytes[start .. end) into `out`; returns where the unfinished
   * remainder starts (end when nothing is left). The remainder is always the start of a frame
   * whose checked length exceeds it, or fewer bytes than that check needs.
   */
  #scan(bytes: Buffer, start: number, end: number, out: Array<Frame | FrameError>, copy: boolean): number {
    let at = start;
    while (at < end) {
      if (bytes[at] !== SYNC_0 || (at + 1 < end && bytes[at + 1] !== SYNC_1)) {
        if (!this.#skipping) out.push(new FrameError(FrameErrorCode.SYNC, 'bytes outside a frame skipped'));
        this.#skipping = true;
        at = nextSync(bytes, at + 1, end);
        continue;
      }
      if (end - at < PREFIX_SIZE) return at;
      this.#skipping = false;

      const length = checkPrefix(bytes, at, this.#maxFrameSize);
      if (typeof length !== 'number') {
        out.push(length);
        this.#fail();
        return end;
      }
      if (end - at < length) return at;

      const frame = readFrame(bytes, at, length, this.#terminalIds, copy);
      out.push(frame);
      if (frame instanceof FrameError && frame.code === FrameErrorCode.CRC) {
        // The length field may be what was corrupted: look for the next frame from one byte
        // after this one's sync rather than trusting it (§8).
        this.#skipping = true;
        at += 1;
      } else {
        at += length;
      }
    }
    return at;
  }

  #fail(): void {
    this.#failed = true;
    this.#held = null;
    this.#heldLength = 0;
  }
}

/**
 * Index of the next A5 5A in bytes[from .. end), or of a lone A5 in the last byte (its partner
 * may come in the next chunk), or end.
 */
function nextSync(bytes: Buffer, from: number, end: number): number {
  let at = from;
  while (at < end) {
    const found = bytes.indexOf(SYNC_0, at);
    if (found < 0 || found >= end) return end;
    if (found + 1 === end || bytes[found + 1] === SYNC_1) return found;
    at = found + 1;
  }
  return end;
}
