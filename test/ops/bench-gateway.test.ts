/**
 * `npm run bench:gateway` as a process, at a size that takes seconds: every side (gateway, bare
 * server, core baseline, relay) answers every request with APPROVED, and the output ends with one
 * JSON line whose ratios are its own figures divided.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// Types only: importing the script's values would run it.
import type { Row } from '../../src/bench/gateway.js';

const BENCH = join(import.meta.dirname, '../../dist/src/bench/gateway.js');

describe('bench:gateway', () => {
  it('measures heartbeats and inquiries against their baselines and the relay ceiling, ending with one JSON line', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BENCH, '--sizes', '1,3', '--slice-ms', '100', '--rounds', '1'], { timeout: 90_000 },
        (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }));
    });
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^heartbeat +1 terminals: gateway \d+\/s/);
    const summary = JSON.parse(lines.at(-1)!) as {
      results: Record<'heartbeat' | 'inquiry', Record<string, Row>>;
      worstRatio: Record<string, number>;
      worstCeiling: { inquiry: number };
    };
    for (const kind of ['heartbeat', 'inquiry'] as const) {
      expect(Object.keys(summary.results[kind])).toEqual(['1', '3']);
      for (const row of Object.values(summary.results[kind])) {
        const sides = [row.gateway, row.baseline, ...(row.relay ? [row.relay] : [])];
        // Every request on every side was answered APPROVED: no side measured refusals.
        for (const side of sides) {
          expect(side.perSec).toBeGreaterThan(0);
          expect(side.errors).toBe(0);
        }
        expect(row.ratio).toBeCloseTo(row.gateway.perSec / row.baseline.perSec, 1);
        if (kind === 'inquiry') {
          expect(row.ceiling).toBeCloseTo(row.relay!.perSec / row.baseline.perSec, 1);
          expect(row.ofRelay).toBeCloseTo(row.gateway.perSec / row.relay!.perSec, 1);
        } else {
          expect(row.relay).toBeUndefined();
        }
      }
      expect(summary.worstRatio[kind]).toBe(Math.min(...Object.values(summary.results[kind]).map((row) => row.ratio)));
    }
    expect(summary.worstCeiling.inquiry).toBe(Math.min(...Object.values(summary.results.inquiry).map((row) => row.ceiling!)));
  }, 120_000);
});
