/**
 * `npm run bench:import` as a process, at a size that takes seconds: the bill extract imported and
 * re-imported, the terminals file provisioned by the CLI as a process, and the output ends with one
 * JSON line of its own figures.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BENCH = join(import.meta.dirname, '../../dist/src/bench/import.js');

describe('bench:import', () => {
  it('imports the bill extract twice and provisions the terminals file, ending with one JSON line', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BENCH], { timeout: 90_000, env: { ...process.env, BENCH_BILLS: '2000', BENCH_TERMINALS: '300' } },
        (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }));
    });
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^imported 2000 bills of \d+ accounts in [\d.]+ s; the same file again in [\d.]+ s$/);
    expect(lines[1]).toMatch(/^terminal import: 300 rows \(150 merchants\) in [\d.]+ s, the CLI as a process$/);
    const figures = JSON.parse(lines.at(-1)!) as {
      bills: number; importMs: number; billsPerSec: number; reimportMs: number;
      terminals: { rows: number; importMs: number; targetMs: number }; met: boolean;
    };
    expect(figures).toMatchObject({ bench: 'import', bills: 2000, terminals: { rows: 300, targetMs: 30_000 } });
    // Its rate is its own figures divided (importMs is rounded to the millisecond).
    expect(figures.billsPerSec / (2000 / (figures.importMs / 1000))).toBeCloseTo(1, 1);
    expect(figures.terminals.importMs).toBeGreaterThan(0);
    expect(figures.met).toBe(figures.importMs < 10_000 && figures.reimportMs < 10_000 && figures.terminals.importMs < 30_000);
  }, 120_000);
});
