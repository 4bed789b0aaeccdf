/**
 * `npm run chaos -- --scenario collectors-sigkill --short`, as a process: collectors walking door
 * to door (the `bad` link plus coverage holes) and handing in cash at the office while the gateway
 * is SIGKILLed and restarted, beside outlets. Nothing lost, nothing doubled, verify ok, and no
 * problem found: among the checks, each collector's cash held = payments − corrections −
 * remittances and every hand-in journaled once (simulator/fleet/collectors.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CHAOS = join(import.meta.dirname, '../../dist/simulator/chaos/main.js');

describe('npm run chaos -- --scenario collectors-sigkill --short', () => {
  it('keeps the collectors\' cash and the books exact through gateway kills', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CHAOS, '--scenario', 'collectors-sigkill', '--short', '--seed', '7'], { timeout: 170_000 }, (error, out, err) =>
        resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
      );
    });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      ok: boolean;
      scenarios: Array<{ scenario: string; attempted: number; approved: number; lost: number; duplicated: number; verify: string; faults: Record<string, number>; problems: number }>;
    };
    expect(summary.scenarios.map((s) => s.scenario)).toEqual(['collectors-sigkill']);
    const row = summary.scenarios[0]!;
    expect({ lost: row.lost, duplicated: row.duplicated, verify: row.verify, problems: row.problems }, stderr).toEqual({ lost: 0, duplicated: 0, verify: 'ok', problems: 0 });
    expect(row.approved).toBeGreaterThan(0);
    expect(row.faults.kills).toBeGreaterThanOrEqual(1);
    expect(row.faults.coverageHoles).toBeGreaterThan(0);
    // Every collector hands in at the end of the day at least (whole yuan of what he took).
    expect(row.faults.remits).toBeGreaterThan(0);
    expect(summary.ok).toBe(true);
    expect(code).toBe(0);
  }, 180_000);
});
