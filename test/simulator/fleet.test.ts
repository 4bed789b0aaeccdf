/**
 * Fleets against `aircharge serve --demo` as a process on a real redis-server: the command over
 * the `bad` link reconciles and exits 0; and reconciliation does catch a ledger that disagrees
 * with the books.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from '../../src/admin/index.js';
import { runFleet } from '../../simulator/fleet/fleet.js';
import { reconcile } from '../../simulator/fleet/reconcile.js';
import { seedNetwork } from '../../simulator/fleet/seed.js';
import type { GatewayService } from '../../simulator/processes.js';
import { startDemoStack, type DemoStack } from '../helpers/demo-stack.js';
import type { RedisProcess } from '../helpers/redis.js';

const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');

let stack: DemoStack;
let redis: RedisProcess;
let admin: Admin;
let gateway: GatewayService;

beforeAll(async () => {
  stack = await startDemoStack('fleet-test');
  ({ redis, admin, gateway } = stack);
}, 90_000);

afterAll(() => stack?.stop(), 60_000);

describe('aircharge-sim fleet', () => {
  it('runs terminals over the bad link and reconciles their ledgers with journal, report and verify', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [SIM, 'fleet', '--terminals', '4', '--duration', '5', '--link', 'bad', '--mix', '1:6:2', '--think', '150', '--timeout', '2000',
          '--seed', '7', '--port', String(gateway.port), '--redis', redis.url, '--demo', '--quiet', '--accounts', '50'],
        { timeout: 120_000 },
        (error, out) => resolve({ code: error ? Number(error.code) : 0, stdout: out }),
      );
    });
    const figures = JSON.parse(stdout.trim().split('\n').pop()!) as {
      terminals: number;
      settle: { ran: boolean; balanced: number; of: number };
      counts: { pay: Record<string, number> };
      latencyMs: { p50: number; p99: number; p999: number };
      events: { cuts: number; halfOpens: number };
      reconciliation: { ok: boolean; mismatches: string[]; ledger: { payments: number }; journal: { payments: number }; verify: boolean };
    };
    expect(figures.reconciliation.mismatches).toEqual([]);
    expect(code).toBe(0);
    expect(figures.terminals).toBe(4);
    expect(figures.settle).toEqual({ ran: true, balanced: 4, of: 4 });
    expect(figures.counts.pay.APPROVED).toBeGreaterThan(0);
    expect(figures.reconciliation.ledger.payments).toBe(figures.reconciliation.journal.payments);
    expect(figures.reconciliation.verify).toBe(true);
    expect(figures.latencyMs.p99).toBeGreaterThanOrEqual(figures.latencyMs.p50);
    expect(stdout).toMatch(/reconciliation: ok/);
  });

  it('reports a payment the terminals do not know, one they saw that is missing, and a wrong amount', async () => {
    const network = await seedNetwork(admin, { tag: 'RC', outlets: 2, accounts: 20, floatFen: 1_000_000, seed: 3 });
    const day = admin.businessDay();
    const before = await admin.dailyReport(day);
    const result = await runFleet({
      gateway: { host: '127.0.0.1', port: gateway.port },
      terminals: network.terminals,
      accounts: network.accounts,
      durationSec: 1,
      profile: null,
      seed: 3,
      mix: { inquiry: 0, pay: 1, correct: 0 },
      thinkMs: 50,
      amountFen: { min: 100, max: 1000 },
      responseTimeoutMs: 3000,
      drainMs: 10_000,
    });
    expect((await reconcile(admin, result.ledgers, day, before)).mismatches).toEqual([]);

    const ledgers = structuredClone(result.ledgers);
    const receipts = ledgers[0]!.state.receipts;
    expect(receipts.length).toBeGreaterThanOrEqual(2);
    const forgotten = receipts.shift()!;
    receipts[0]!.amountFen += 1;
    ledgers[1]!.state.receipts.push({ ...forgotten, receipt: `${ledgers[1]!.terminalId}9999999999`, seq: 9999999999 });
    const found = await reconcile(admin, ledgers, day, before);
    expect(found.ok).toBe(false);
    expect(found.mismatches.some((m) => m.startsWith(`${forgotten.receipt}: pay`) && m.includes('unknown to terminal'))).toBe(true);
    expect(found.mismatches.some((m) => m.includes('terminal saw pay') && m.includes('journal has pay'))).toBe(true);
    expect(found.mismatches.some((m) => m.includes('9999999999') && m.includes('missing from the journal'))).toBe(true);
  });
});
