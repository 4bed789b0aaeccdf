/**
 * `npm run bench:workers` as a process, at a size that takes seconds: both sides pay through
 * HAProxy, the output ends with its one JSON line, and every process it started is gone after.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BENCH = join(import.meta.dirname, '../../dist/simulator/scale/main.js');

/**
 * Processes with this executable name whose parent has gone (reparented to pid 1): what a bench
 * that did not stop its children leaves behind. Other suites' servers still have their parent.
 */
function orphansOf(name: string): Set<string> {
  let listing: string;
  try {
    listing = execFileSync('ps', ['-o', 'pid=,ppid=', '-C', name], { encoding: 'utf8' });
  } catch {
    return new Set(); // ps exits 1 when there is none
  }
  return new Set(listing.trim().split('\n').map((line) => line.trim().split(/\s+/)).filter(([, ppid]) => ppid === '1').map(([pid]) => pid!));
}

describe('bench:workers', () => {
  it('measures 1 and 2 gateway processes behind HAProxy in one run and ends with one JSON line', async () => {
    const before = { redis: orphansOf('redis-server'), haproxy: orphansOf('haproxy') };
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BENCH, '--terminals', '10', '--duration', '1', '--warmup', '0', '--rounds', '1', '--quiet'], { timeout: 90_000 },
        (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }));
    });
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const figures = JSON.parse(lines[0]!) as {
      order: number[];
      oneProcess: { approvedPerSec: number };
      twoProcesses: { approvedPerSec: number };
      ratios: { twoOverOne: number };
      slices: Array<{ processes: number; counts: Record<string, number> }>;
    };
    expect(figures.order).toEqual([1, 2]);
    expect(figures.oneProcess.approvedPerSec).toBeGreaterThan(0);
    expect(figures.twoProcesses.approvedPerSec).toBeGreaterThan(0);
    expect(figures.ratios.twoOverOne).toBeCloseTo(figures.twoProcesses.approvedPerSec / figures.oneProcess.approvedPerSec, 1);
    // Every answer in the measured time was an approval: nothing refused, nothing unreachable.
    for (const slice of figures.slices) expect(Object.keys(slice.counts)).toEqual(['APPROVED']);
    expect(stderr).toMatch(/2 gateway processes: \d+ approved\/s/);

    const after = { redis: orphansOf('redis-server'), haproxy: orphansOf('haproxy') };
    expect([...after.redis].filter((pid) => !before.redis.has(pid))).toEqual([]);
    expect([...after.haproxy].filter((pid) => !before.haproxy.has(pid))).toEqual([]);
  }, 120_000);
});
