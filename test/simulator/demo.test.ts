/** `npm run demo` as a process: the whole product end to end, briefly, and its one refusal. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DEMO = join(import.meta.dirname, '../../dist/simulator/demo.js');

function demo(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEMO, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('npm run demo', () => {
  it('seeds 22 outlets and 3 collectors, runs the fleet over GPRS, reports both in the operator words and verifies', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.REDIS_URL;
    const { code, stdout } = await demo(['--duration', '6'], env);
    expect(stdout).toMatch(/seeded 22 outlets .*, 3 collectors \(each an electrician with a mobile terminal and a ¥3,000\.00 cash limit\) and 1000 billing accounts/);
    expect(stdout).toMatch(/Daily report \d{4}-\d{2}-\d{2}: \d+ outlets?( and \d collectors?)?, [\d,]+ payments?, ¥[\d,]+\.\d{2} collected/);
    expect(stdout).toMatch(/^ {2}outlets: \d+ of 22 took payments, ¥[\d,]+\.\d{2} collected, ¥[\d,]+\.\d{2} float left$/m);
    expect(stdout).toMatch(/^ {2}collectors: \d of 3 took payments, ¥[\d,]+\.\d{2} cash collected, ¥[\d,]+\.\d{2} remitted at the office, ¥[\d,]+\.\d{2} still held$/m);
    expect(stdout).toContain('verify: ok, the books balance');
    expect(stdout).toMatch(/^biller: ok, its [1-9]\d* postings of the day match the journal$/m);
    expect(stdout).toContain('reconciliation: ok');
    const figures = JSON.parse(stdout.trim().split('\n').pop()!) as {
      terminals: number;
      reconciliation: { ok: boolean };
      report: { payments: { count: number } };
      collectors: { count: number; collectedFen: number; remittedFen: number; heldFen: number };
    };
    expect(figures.terminals).toBe(25);
    // What the collectors took is either handed in or still in their pouch, to the fen.
    expect(figures.collectors.count).toBe(3);
    expect(figures.collectors.collectedFen).toBeGreaterThan(0);
    expect(figures.collectors.remittedFen + figures.collectors.heldFen).toBe(figures.collectors.collectedFen);
    expect(figures.reconciliation.ok).toBe(true);
    expect(figures.report.payments.count).toBeGreaterThan(0);
    expect(code).toBe(0);
  }, 120_000);

  it('says how to get Redis when redis-server is not installed and REDIS_URL is unset', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent' };
    delete env.REDIS_URL;
    const { code, stderr } = await demo([], env);
    expect(code).toBe(2);
    expect(stderr).toMatch(/redis-server is not installed/);
    expect(stderr).toMatch(/REDIS_URL=redis:\/\/host:6379 npm run demo/);
  });
});
