/**
 * `npm run chaos -- --short`, as a process: all the fault scenarios (gateway SIGKILLed again and
 * again, Redis restarted on its AOF, Redis unreachable, an instance cut off from Redis, collectors
 * walking through gateway kills), each
 * under a fleet on the `bad` GPRS link against real gateway processes and a real redis-server.
 * Every scenario must end with something approved, nothing lost, nothing doubled, the ledgers
 * reconciled and `aircharge verify` passing; the last line is the JSON of the table.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../simulator/chaos/run.js';

const CHAOS = join(import.meta.dirname, '../../dist/simulator/chaos/main.js');

describe('npm run chaos -- --short', () => {
  it('runs every fault scenario with 0 lost, 0 duplicated and verify ok', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CHAOS, '--short', '--parallel', '--seed', '7', '--suite', 'core'],
        { timeout: 170_000 },
        (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
      );
    });
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!) as { seed: number; ok: boolean; scenarios: SummaryRow[] };
    expect(lines[0]).toMatch(/^scenario\s+attempted\s+approved\s+lost\s+duplicated\s+verify/);
    expect(summary.scenarios.map((s) => s.scenario)).toEqual(['gateway-sigkill', 'redis-restart', 'redis-outage', 'instance-cutoff', 'collectors-sigkill']);
    for (const row of summary.scenarios) {
      expect({ scenario: row.scenario, lost: row.lost, duplicated: row.duplicated, verify: row.verify, problems: row.problems }, stderr)
        .toEqual({ scenario: row.scenario, lost: 0, duplicated: 0, verify: 'ok', problems: 0 });
      expect(row.approved).toBeGreaterThan(0);
      expect(row.attempted).toBeGreaterThanOrEqual(row.approved);
    }
    const faults = Object.fromEntries(summary.scenarios.map((s) => [s.scenario, s.faults]));
    expect(faults['gateway-sigkill']!.kills).toBeGreaterThanOrEqual(1);
    expect(faults['redis-restart']!.redisKills).toBe(1);
    expect(faults['redis-outage']!.systemBusyAnswers).toBeGreaterThan(0);
    expect(faults['instance-cutoff']!.connectionsMoved).toBeGreaterThan(0);
    expect(summary.ok).toBe(true);
    expect(code).toBe(0);
  }, 180_000);
});
