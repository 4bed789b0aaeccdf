/**
 * The codec fuzzer: seeded inputs (random bytes, mutated streams of the golden vectors, mutated
 * frames with their CRC made good again so the payload decoders are reached) fed to a
 * FrameDecoder whole and at random split points. Invariants checked for every input:
 *
 * - push(), decodeFrame() and decodePayload() never throw anything but a FrameError of a known
 *   code (push never throws at all); nothing follows a fatal error;
 * - the decoder never holds more than maxFrameSize bytes;
 * - every frame it returns is whole and sound (decodeFrame accepts its bytes) and a payload that
 *   decodes encodes back to the same bytes (one value, one encoding);
 * - the output does not depend on how TCP split the bytes;
 * - each input is processed within the time budget (the worker's watchdog catches a real hang).
 *
 * Imports the protocol only: it needs no gateway, no Redis.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  FRAME_ERROR_CODES,
  FrameDecoder,
  FrameError,
  MAX_FRAME_SIZE,
  MIN_FRAME_SIZE,
  crc16,
  decodeFrame,
  decodePayload,
  encodePayload,
  isMessageType,
  type Frame,
} from '../../protocol/index.js';
import { createRandom, type Random } from '../link/prng.js';

/** The golden vectors' directory, from the source tree (tests) or the build (dist/simulator/fuzz). */
const VECTORS_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../protocol/vectors/valid/' : '../../../protocol/vectors/valid/', import.meta.url),
);

export function loadValidFrames(): Buffer[] {
  return readdirSync(VECTORS_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => Buffer.from((JSON.parse(readFileSync(VECTORS_DIR + name, 'utf8')) as { hex: string }).hex, 'hex'));
}

export interface CodecFuzzOptions {
  seed: number;
  inputs: number;
  /** An input taking longer than this is reported as a hang. */
  budgetMs: number;
  /** Called before each input is processed (the worker publishes it for its watchdog). */
  onInput?: (index: number, bytes: Buffer) => void;
}

export interface CodecFailure {
  input: number;
  kind: 'threw' | 'invariant' | 'hang';
  message: string;
  hex: string;
}

export interface CodecFuzzReport {
  seed: number;
  inputs: number;
  bytes: number;
  frames: number;
  frameErrors: number;
  payloadsDecoded: number;
  payloadErrors: number;
  maxBuffered: number;
  slowestMs: number;
  failures: CodecFailure[];
}

/** The failures kept in full; beyond that only counted (one bug tends to fail many inputs). */
const MAX_FAILURES_KEPT = 20;

class InvariantError extends Error {}

function check(ok: boolean, message: string): void {
  if (!ok) throw new InvariantError(message);
}

export function fuzzCodec(options: CodecFuzzOptions): CodecFuzzReport {
  const random = createRandom(options.seed);
  const vectors = loadValidFrames();
  const report: CodecFuzzReport = {
    seed: options.seed, inputs: 0, bytes: 0, frames: 0, frameErrors: 0, payloadsDecoded: 0, payloadErrors: 0,
    maxBuffered: 0, slowestMs: 0, failures: [],
  };
  let failed = 0;
  for (let index = 0; index < options.inputs; index++) {
    const bytes = fuzzInput(random, vectors);
    const maxFrameSize = random.chance(0.1) ? random.int(MIN_FRAME_SIZE, 200) : MAX_FRAME_SIZE;
    const splits = random.chance(0.1) ? 'bytes' : 'random';
    const splitSeed = random.int(0, 0xffffffff);
    options.onInput?.(index, bytes);
    const started = performance.now();
    let failure: CodecFailure | null = null;
    try {
      runOne(bytes, maxFrameSize, splits, splitSeed, report);
    } catch (err) {
      failure = {
        input: index,
        kind: err instanceof InvariantError ? 'invariant' : 'threw',
        message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        hex: bytes.toString('hex'),
      };
    }
    const ms = performance.now() - started;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (failure === null && ms > options.budgetMs) {
      failure = { input: index, kind: 'hang', message: `took ${ms.toFixed(1)} ms (budget ${options.budgetMs} ms)`, hex: bytes.toString('hex') };
    }
    if (failure !== null) {
      failed += 1;
      if (report.failures.length < MAX_FAILURES_KEPT) report.failures.push(failure);
    }
    report.inputs += 1;
    report.bytes += bytes.length;
  }
  if (failed > report.failures.length) {
    report.failures.push({ input: -1, kind: 'invariant', message: `${failed - report.failures.length} more failures not kept`, hex: '' });
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Inputs

function randomBytes(random: Random, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = random.int(0, 255);
  return bytes;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.int(0, items.length - 1)]!;
}

/** Rewrites the CRC of the frame at `at` from its (possibly mutated) length field, when it fits. */
function fixCrc(bytes: Buffer, at: number): void {
  if (at + 5 > bytes.length) return;
  const length = bytes.readUInt16BE(at + 3);
  if (length < 2 || at + length > bytes.length) return;
  bytes.writeUInt16BE(crc16(bytes.subarray(at, at + length - 2)), at + length - 2);
}

function mutate(random: Random, input: Buffer): Buffer {
  let bytes = input;
  const mutations = random.int(1, 4);
  for (let m = 0; m < mutations && bytes.length > 0; m++) {
    const at = random.int(0, bytes.length - 1);
    switch (random.int(0, 7)) {
      case 0: // flip a bit
        bytes[at]! ^= 1 << random.int(0, 7);
        break;
      case 1: // a random byte
        bytes[at] = random.int(0, 255);
        break;
      case 2: // insert random bytes
        bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(random, random.int(1, 16)), bytes.subarray(at)]);
        break;
      case 3: // drop bytes
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + random.int(1, 16))]);
        break;
      case 4: // a false sync and header
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xa5, 0x5a, random.chance(0.7) ? 0x01 : random.int(0, 255)]), bytes.subarray(at)]);
        break;
      case 5: // a length field from anywhere in u16
        if (at + 2 <= bytes.length) bytes.writeUInt16BE(pick(random, [0, 1, 32, 33, 34, 1023, 1024, 1025, 0xffff, random.int(0, 0xffff)]), at);
        break;
      case 6: // an edge value in a u32 field
        if (at + 4 <= bytes.length) bytes.writeUInt32BE(pick(random, [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]), at);
        break;
      default: // cut short
        bytes = bytes.subarray(0, at);
    }
  }
  return bytes;
}

/** One fuzz input: a byte stream as a connection could deliver it. */
export function fuzzInput(random: Random, vectors: readonly Buffer[]): Buffer {
  const kind = random.next();
  if (kind < 0.2) {
    // Random bytes with planted syncs, so the header checks are reached.
    const bytes = randomBytes(random, random.int(0, 400));
    for (let i = random.int(0, 60); i + 2 < bytes.length; i += random.int(1, 120)) {
      bytes[i] = 0xa5;
      bytes[i + 1] = 0x5a;
      if (random.chance(0.7)) bytes[i + 2] = 0x01;
    }
    return bytes;
  }
  const frames = Array.from({ length: random.int(1, 4) }, () => Buffer.from(pick(random, vectors)));
  if (kind < 0.6) return mutate(random, Buffer.concat(frames));
  // Mutate inside one frame and make its CRC good again: the mutation reaches the frame checks
  // after the CRC (type, terminal id) and the payload decoders.
  const target = random.int(0, frames.length - 1);
  const frame = frames[target]!;
  const mutations = random.int(1, 3);
  let mutated = frame;
  for (let m = 0; m < mutations; m++) {
    const at = random.int(0, frame.length - 1);
    if (random.chance(0.8)) {
      mutated[at] = random.chance(0.5) ? random.int(0, 255) : mutated[at]! ^ (1 << random.int(0, 7));
    } else {
      // Grow or shrink the payload and keep the length field honest.
      const payloadEnd = mutated.length - 10;
      const cut = random.int(23, payloadEnd);
      mutated = random.chance(0.5)
        ? Buffer.concat([mutated.subarray(0, cut), randomBytes(random, random.int(1, 20)), mutated.subarray(cut)])
        : Buffer.concat([mutated.subarray(0, cut), mutated.subarray(Math.min(payloadEnd, cut + random.int(1, 20)))]);
      if (mutated.length <= 0xffff) mutated.writeUInt16BE(mutated.length, 3);
    }
  }
  fixCrc(mutated, 0);
  frames[target] = mutated;
  return Buffer.concat(frames);
}

// ---------------------------------------------------------------------------------------------
// One input through the decoder

type Item = Frame | FrameError;

/** Same verdict on the same bytes, wherever the bytes came from. */
function sameItem(a: Item, b: Item): boolean {
  if (a instanceof FrameError || b instanceof FrameError) {
    return a instanceof FrameError && b instanceof FrameError && a.code === b.code && a.fatal === b.fatal &&
      a.header?.type === b.header?.type && a.header?.seq === b.header?.seq;
  }
  return a.raw.equals(b.raw);
}

/** An item as text, for a failure report. */
function describe(item: Item): string {
  if (item instanceof FrameError) return `E:${item.code}:${item.fatal}:${item.header?.type ?? ''}:${item.header?.seq ?? ''}`;
  return `F:${item.raw.toString('hex')}`;
}

function feed(bytes: Buffer, maxFrameSize: number, chunkSizes: () => number, report: CodecFuzzReport): { items: Item[]; held: number } {
  const decoder = new FrameDecoder({ maxFrameSize });
  const out: Item[] = [];
  let fatal = false;
  for (let at = 0; at < bytes.length; ) {
    const size = chunkSizes();
    // A fresh copy per chunk, as a socket delivers: the decoder must not rely on the caller's buffer.
    const items = decoder.push(Buffer.from(bytes.subarray(at, at + size)));
    at += size;
    check(!fatal || items.length === 0, 'output after a fatal error');
    for (const item of items) {
      if (item instanceof FrameError) {
        check(FRAME_ERROR_CODES.has(item.code), `unknown error code ${item.code}`);
        fatal ||= item.fatal;
        out.push(item);
      } else {
        // Frames may be views of the chunk: keep a copy, as a connection that queues them must.
        out.push({ ...item, raw: Buffer.from(item.raw), payload: Buffer.from(item.payload) });
      }
    }
    check(decoder.buffered <= maxFrameSize, `${decoder.buffered} bytes buffered (max ${maxFrameSize})`);
    report.maxBuffered = Math.max(report.maxBuffered, decoder.buffered);
  }
  return { items: out, held: decoder.buffered };
}

function runOne(bytes: Buffer, maxFrameSize: number, splits: 'bytes' | 'random', splitSeed: number, report: CodecFuzzReport): void {
  const whole = feed(bytes, maxFrameSize, () => bytes.length, report);
  const splitRandom = createRandom(splitSeed);
  const split = feed(bytes, maxFrameSize, splits === 'bytes' ? () => 1 : () => splitRandom.int(1, 64), report);
  // The split points may only delay a verdict, never change one: the shorter output is a prefix
  // of the longer, and the decoder with fewer items still holds the bytes the others decided on
  // (a lone A5 at a chunk's end waits for the five bytes of a frame's prefix, say).
  const [shorter, longer] = whole.items.length <= split.items.length ? [whole, split] : [split, whole];
  check(shorter.items.every((item, i) => sameItem(item, longer.items[i]!)) &&
    (shorter.items.length === longer.items.length || shorter.held > 0),
    `output depends on the split points: whole [${whole.items.map(describe).join(' ')}] vs split [${split.items.map(describe).join(' ')}]`);

  for (const item of whole.items) {
    if (item instanceof FrameError) {
      report.frameErrors += 1;
      continue;
    }
    report.frames += 1;
    check(item.raw.length >= MIN_FRAME_SIZE && item.raw.length <= maxFrameSize, `frame of ${item.raw.length} bytes`);
    check(item.payload.length === item.raw.length - MIN_FRAME_SIZE, 'payload length does not match the frame');
    decodeFrame(item.raw); // a returned frame is whole and sound: this must not throw at all
    if (!isMessageType(item.type)) continue;
    let value: unknown;
    try {
      value = decodePayload(item.type as never, item.payload);
    } catch (err) {
      check(err instanceof FrameError && err.code === 'ERR_PAYLOAD', `decodePayload threw ${String(err)}`);
      report.payloadErrors += 1;
      continue;
    }
    report.payloadsDecoded += 1;
    const again = encodePayload(item.type as never, value as never);
    check(again.equals(item.payload), `payload of type 0x${item.type.toString(16)} decodes to a value that encodes differently: ${item.payload.toString('hex')} → ${again.toString('hex')}`);
  }
  try {
    decodeFrame(bytes);
  } catch (err) {
    check(err instanceof FrameError && FRAME_ERROR_CODES.has(err.code), `decodeFrame threw ${String(err)}`);
  }
}
