/**
 * Seeded random-bytes and mutation fuzz (mqtt-packet testRandom.js, STYLE.md §3): whatever the
 * bytes, the decoder returns only Frames and FrameErrors with known codes, never throws, and
 * never holds more than maxFrameSize bytes. A failing seed reproduces exactly.
 */
import { describe, expect, it } from 'vitest';
import {
  FRAME_ERROR_CODES,
  FrameDecoder,
  FrameError,
  MAX_FRAME_SIZE,
  decodeFrame,
  decodePayload,
  isMessageType,
  type Frame,
} from '../../protocol/index.js';
import { validVectors } from './vectors.js';

/** mulberry32: small, fast, seedable. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const vectors = validVectors.map((v) => Buffer.from(v.hex, 'hex'));

function randomBytes(next: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

/** A stream of real frames with bytes flipped, inserted, dropped or replaced by sync markers. */
function mutatedStream(next: () => number): Buffer {
  const parts: Buffer[] = [];
  const frames = 1 + Math.floor(next() * 4);
  for (let i = 0; i < frames; i++) parts.push(Buffer.from(vectors[Math.floor(next() * vectors.length)]!));
  let bytes = Buffer.concat(parts);
  const mutations = Math.floor(next() * 4);
  for (let m = 0; m < mutations; m++) {
    const at = Math.floor(next() * bytes.length);
    const kind = Math.floor(next() * 5);
    if (kind === 0) bytes[at]! ^= 1 << Math.floor(next() * 8);
    else if (kind === 1) bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(next, 1 + Math.floor(next() * 8)), bytes.subarray(at)]);
    else if (kind === 2) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(next() * 8))]);
    else if (kind === 3) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from('a55a01', 'hex'), bytes.subarray(at)]);
    else if (at + 5 <= bytes.length) bytes.writeUInt16BE(Math.floor(next() * 65536), at + 3 > bytes.length - 2 ? at : at + 3);
  }
  return bytes;
}

/** Fails the test with what went wrong; plain checks keep thousands of runs fast. */
function check(ok: boolean, what: string): void {
  if (!ok) expect.fail(what);
}

/** Feeds `bytes` in random-sized chunks and checks every invariant on the way. */
function feed(next: () => number, bytes: Buffer, maxFrameSize = MAX_FRAME_SIZE): Array<Frame | FrameError> {
  const decoder = new FrameDecoder({ maxFrameSize });
  const out: Array<Frame | FrameError> = [];
  let fatal = false;
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 8 : 200));
    const items = decoder.push(bytes.subarray(at, at + size));
    at += size;
    check(!fatal || items.length === 0, 'output after a fatal error');
    for (const item of items) {
      if (item instanceof FrameError) {
        check(FRAME_ERROR_CODES.has(item.code), `unknown error code ${item.code}`);
        fatal ||= item.fatal;
      } else {
        check(item.raw.length >= 33 && item.raw.length <= maxFrameSize, `frame of ${item.raw.length} bytes`);
        check(item.payload.length === item.raw.length - 33, 'payload length does not match the frame');
      }
    }
    out.push(...items);
    check(decoder.buffered <= maxFrameSize, `${decoder.buffered} bytes buffered`);
  }
  return out;
}

/** Only FrameErrors may escape decodeFrame and decodePayload. */
function expectOnlyFrameErrors(action: () => void): void {
  try {
    action();
  } catch (error) {
    check(error instanceof FrameError, `threw ${String(error)}`);
  }
}

describe('decoder fuzz', () => {
  it('survives 2,000 streams of random bytes', () => {
    const next = random(0xa1c4a26e);
    for (let run = 0; run < 2_000; run++) {
      const bytes = randomBytes(next, Math.floor(next() * 300));
      // Random bytes rarely hold a sync; plant some so the header checks are exercised too.
      for (let i = 0; i + 1 < bytes.length; i += 1 + Math.floor(next() * 60)) {
        bytes[i] = 0xa5;
        bytes[i + 1] = 0x5a;
        if (next() < 0.5 && i + 2 < bytes.length) bytes[i + 2] = 0x01;
      }
      feed(next, bytes, next() < 0.2 ? 64 : MAX_FRAME_SIZE);
      expectOnlyFrameErrors(() => decodeFrame(bytes));
    }
  });

  it('survives 3,000 mutated streams of real frames, and every frame it returns passes its CRC', () => {
    const next = random(0x5eed);
    let frames = 0;
    let errors = 0;
    for (let run = 0; run < 3_000; run++) {
      const out = feed(next, mutatedStream(next));
      for (const item of out) {
        if (item instanceof FrameError) {
          errors += 1;
          continue;
        }
        frames += 1;
        decodeFrame(item.raw); // throws (failing the test) unless the frame is whole and sound
        if (isMessageType(item.type)) expectOnlyFrameErrors(() => decodePayload(item.type as never, item.payload));
      }
    }
    // Both outcomes occur: the fuzz reaches the error paths and the recovery paths.
    expect(frames).toBeGreaterThan(1_000);
    expect(errors).toBeGreaterThan(1_000);
  });

  it('decodes random payloads of every type to a value or ERR_PAYLOAD only', () => {
    const next = random(0xbadf00d);
    const types = [...new Set(validVectors.map((v) => v.header.type))];
    for (let run = 0; run < 3_000; run++) {
      const type = types[run % types.length]!;
      const base = Buffer.from(validVectors.find((v) => v.header.type === type)!.payloadHex, 'hex');
      const payload = next() < 0.5 ? randomBytes(next, Math.floor(next() * 80)) : Buffer.from(base);
      if (payload.length > 0 && next() < 0.8) payload[Math.floor(next() * payload.length)] = Math.floor(next() * 256);
      expectOnlyFrameErrors(() => decodePayload(type as never, payload));
    }
  });
});
