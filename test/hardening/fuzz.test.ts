/**
 * A short seeded run of `npm run fuzz` (simulator/fuzz/): the codec fuzzer in its worker under
 * the hang watchdog, and the live fuzzer against `aircharge serve` over a real redis-server.
 * A failure names the input that caused it, as hex; the seed reproduces it with
 * `npm run fuzz -- --seed <seed>`.
 */
import { describe, expect, it } from 'vitest';
import { runCodecFuzz } from '../../simulator/fuzz/codec-run.js';
import { fuzzLive } from '../../simulator/fuzz/live.js';

const SEED = 20261127;

function failuresText(failures: Array<{ kind: string; message: string; hex: string }>): string {
  return failures.map((f) => `${f.kind}: ${f.message}\n  input (hex): ${f.hex}`).join('\n');
}

describe('fuzz (short seeded run)', () => {
  it('codec: 20,000 inputs, only typed FrameErrors, bounded buffering, split-independent, none over the time budget', async () => {
    const report = await runCodecFuzz({ seed: SEED, inputs: 20_000, budgetMs: 1000, hangMs: 10_000 });
    expect(failuresText(report.failures)).toBe('');
    expect(report.inputs).toBe(20_000);
    // The inputs reach every path: whole frames, frame errors, payloads decoded and refused.
    expect(report.frames).toBeGreaterThan(5_000);
    expect(report.frameErrors).toBeGreaterThan(5_000);
    expect(report.payloadsDecoded).toBeGreaterThan(1_000);
    expect(report.payloadErrors).toBeGreaterThan(100);
    expect(report.maxBuffered).toBeLessThanOrEqual(1024);
  });

  it('live gateway: 2,000 frames; alive, every connection answered or closed, no error logged, money only for well-formed MACed payments', async () => {
    const report = await fuzzLive({ seed: SEED, frames: 2_000, concurrency: 4 });
    expect(failuresText(report.failures)).toBe('');
    expect(report.alive).toBe(true);
    expect(report.verifyOk).toBe(true);
    expect(report.frames).toBeGreaterThanOrEqual(2_000);
    expect(report.signedInConnections).toBeGreaterThan(10);
    expect(report.anonymousConnections).toBeGreaterThan(5);
    // Valid payments were among the frames, and the journal holds only those.
    expect(report.wellFormedPaysSent).toBeGreaterThan(10);
    expect(report.journalEntries).toBeGreaterThan(0);
  }, 120_000);
});
