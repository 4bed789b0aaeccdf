/**
 * Seeded random-bytes and mutation fuzz (mqtt-packet testRandom.js, STYLE.md §3): whatever the
 * bytes, the decoder returns only Frames and FrameErrors with known codes, never throws, and
 * never holds more than maxFrameSize bytes. A failing seed reproduces exactly.
 * The streams come from the codec fuzzer behind `npm run fuzz` (simulator/fuzz/codec.ts), run here
 * in-process on a few thousand inputs.
 */
import { describe, expect, it } from 'vitest';
import { FrameError, MAX_FRAME_SIZE, decodePayload } from '../../protocol/index.js';
import { fuzzCodec } from '../../simulator/fuzz/codec.js';
import { createRandom } from '../../simulator/link/prng.js';
import { validVectors } from './vectors.js';

describe('decoder fuzz', () => {
  it('survives 5,000 random and mutated streams, split anywhere; every frame it returns passes its CRC', () => {
    const report = fuzzCodec({ seed: 0xa1c4a26e, inputs: 5_000, budgetMs: 1_000 });
    expect(report.failures).toEqual([]);
    expect(report.maxBuffered).toBeLessThanOrEqual(MAX_FRAME_SIZE);
    // Both outcomes occur: the fuzz reaches the error paths and the recovery paths.
    expect(report.frames).toBeGreaterThan(1_000);
    expect(report.frameErrors).toBeGreaterThan(1_000);
    expect(report.payloadErrors).toBeGreaterThan(0);
  });

  it('decodes random payloads of every type to a value or ERR_PAYLOAD only', () => {
    const random = createRandom(0xbadf00d);
    const types = [...new Set(validVectors.map((v) => v.header.type))];
    for (let run = 0; run < 3_000; run++) {
      const type = types[run % types.length]!;
      const base = Buffer.from(validVectors.find((v) => v.header.type === type)!.payloadHex, 'hex');
      const payload = random.chance(0.5)
        ? Buffer.from(Array.from({ length: random.int(0, 79) }, () => random.int(0, 255)))
        : Buffer.from(base);
      if (payload.length > 0 && random.chance(0.8)) payload[random.int(0, payload.length - 1)] = random.int(0, 255);
      try {
        decodePayload(type as never, payload);
      } catch (error) {
        if (!(error instanceof FrameError)) expect.fail(`type 0x${type.toString(16)} threw ${String(error)}`);
      }
    }
  });
});
