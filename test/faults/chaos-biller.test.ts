/**
 * `npm run chaos -- --suite biller --short`, one scenario a process: the reference biller as its
 * own process beside a real gateway and redis-server, under a fleet on the `bad` GPRS link: down
 * (8 s here, 30 s in the full run) under each policy, slower than the timeout, booking without
 * answering, SIGKILLed and restarted. Each must end with 0 lost, 0 duplicated, verify passing, the
 * biller's queue drained, nothing pending and `reconcile biller --fetch` clean (the run's own
 * checks, which make a scenario's row not ok).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../simulator/chaos/run.js';

const CHAOS = join(import.meta.dirname, '../../dist/simulator/chaos/main.js');

function chaos(scenario: string): Promise<{ row: SummaryRow; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CHAOS, '--suite', 'biller', '--scenario', scenario, '--short', '--biller-down-sec', '8', '--seed', '5'],
      { timeout: 110_000 },
      (error, stdout, stderr) => {
        try {
          const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { scenarios: SummaryRow[] };
          resolve({ row: summary.scenarios[0]!, stderr });
        } catch {
          reject(new Error(`chaos printed no summary (${error?.message}): ${stderr}`));
        }
      },
    );
  });
}

describe('npm run chaos -- --suite biller --short', { timeout: 120_000 }, () => {
  for (const [scenario, evidence] of [
    ['biller-down-decline', (f: Record<string, number>) => expect(f.billerUnavailable).toBeGreaterThan(0)],
    ['biller-down-accept', (f: Record<string, number>) => expect(f.billerQueueForwarded).toBeGreaterThan(0)],
    ['biller-slow', (f: Record<string, number>) => expect(f.systemBusyAnswers! + f.recoveredTransactions!).toBeGreaterThan(0)],
    ['biller-no-answer', (f: Record<string, number>) => expect(f.systemBusyAnswers! + f.recoveredTransactions!).toBeGreaterThan(0)],
    ['biller-restart', (f: Record<string, number>) => expect(f.billerKills).toBe(1)],
  ] as const) {
    it(`${scenario}: 0 lost, 0 duplicated, verify and reconcile clean`, async () => {
      const { row, stderr } = await chaos(scenario);
      expect(row.scenario).toBe(scenario);
      expect({ lost: row.lost, duplicated: row.duplicated, verify: row.verify, problems: row.problems }, stderr).toEqual({ lost: 0, duplicated: 0, verify: 'ok', problems: 0 });
      expect(row.ok).toBe(true);
      expect(row.approved).toBeGreaterThan(0);
      evidence(row.faults);
    });
  }
});
