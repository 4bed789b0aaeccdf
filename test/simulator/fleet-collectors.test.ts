/**
 * `aircharge-sim fleet --collectors N` as a process against `aircharge serve --demo` (a real
 * socket, a real redis-server): electricians walk door to door over the gprs link through coverage
 * holes, hand in cash at the office when their terminal says CASH_NEAR_LIMIT or a payment is
 * declined CASH_LIMIT, and at the end of the day. The admin CLI, run as a process, then shows
 * each collector's cash held = payments − corrections − remittances, and the journal holds each
 * hand-in once. And reconciliation catches a collector whose cash disagrees with his receipts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom, formatDate, type Admin } from '../../src/admin/index.js';
import { checkCollectors, type CollectorCash } from '../../simulator/fleet/collectors.js';
import { runFleet } from '../../simulator/fleet/fleet.js';
import { seedNetwork } from '../../simulator/fleet/seed.js';
import type { GatewayService } from '../../simulator/processes.js';
import { runAircharge } from '../helpers/cli.js';
import { startDemoStack, type DemoStack } from '../helpers/demo-stack.js';
import type { RedisProcess } from '../helpers/redis.js';

const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');

let stack: DemoStack;
let redis: RedisProcess;
let admin: Admin;
let gateway: GatewayService;

beforeAll(async () => {
  stack = await startDemoStack('collectors-fleet');
  ({ redis, admin, gateway } = stack);
}, 90_000);

afterAll(() => stack?.stop(), 60_000);

describe('aircharge-sim fleet --collectors', () => {
  it('walks collectors through coverage holes, hands their cash in, and the admin CLI agrees to the fen', async () => {
    const firstDay = admin.businessDay();
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [SIM, 'fleet', '--terminals', '2', '--collectors', '3', '--cash-limit', '600.00', '--duration', '30', '--link', 'gprs',
          '--mix', '1:6:1', '--think', '100', '--timeout', '2000', '--seed', '5', '--port', String(gateway.port), '--redis', redis.url,
          '--demo', '--quiet', '--accounts', '60'],
        { timeout: 150_000 },
        (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
      );
    });
    const figures = JSON.parse(stdout.trim().split('\n').pop()!) as {
      terminals: number;
      counts: { pay: Record<string, number> };
      events: { holes: number; timeouts: number };
      collectors: { count: number; collectedFen: number; remits: number; duringDay: number; remittedFen: number; heldFen: number; merchants: CollectorCash[] };
      reconciliation: { ok: boolean; mismatches: string[] };
    };
    expect(figures.reconciliation.mismatches, stderr).toEqual([]);
    expect(code).toBe(0);
    expect(figures.terminals).toBe(5);
    expect(figures.collectors.count).toBe(3);
    // They walked into coverage holes, and the terminals found out by their timeouts.
    expect(figures.events.holes).toBeGreaterThan(0);
    expect(figures.events.timeouts).toBeGreaterThan(0);
    // A ¥600 limit against bills of ¥80–¥1,200: a collector who took more than his limit in the day
    // can only have done so by handing cash in during it, not only at its end; and one of them did.
    const overLimit = figures.collectors.merchants.filter((c) => c.paymentsFen - c.correctionsFen > c.cashLimitFen);
    for (const c of overLimit) expect(c.remits, c.merchant).toBeGreaterThanOrEqual(2);
    expect(overLimit.length).toBeGreaterThan(0);
    expect(figures.collectors.duringDay).toBeGreaterThanOrEqual(overLimit.length);
    expect(stdout).toMatch(/collectors: 3 walking their rounds, ¥[0-9,.]+ cash collected, ¥[0-9,.]+ handed in at the office \([0-9]+ remittances, [0-9]+ during the day\), ¥[0-9.]+ still held/);

    const env = { REDIS_URL: redis.url };
    const journal = await runAircharge(['journal', 'export', '--format', 'jsonl'], env);
    expect(journal.code).toBe(0);
    const entries = journal.stdout.trim().split('\n').map((line) => JSON.parse(line) as { merchant: string; kind: string; amountFen: number; ref?: string });
    for (const c of figures.collectors.merchants) {
      expect(c.paymentsFen).toBeGreaterThan(0);
      const shown = await runAircharge(['merchant', 'show', c.merchant, '--json'], env);
      expect(shown.code).toBe(0);
      const merchant = JSON.parse(shown.stdout) as { kind: string; cashFen: number; cashLimitFen: number };
      expect(merchant.kind).toBe('collector');
      expect(merchant.cashLimitFen).toBe(60_000);
      expect(merchant.cashFen).toBe(c.paymentsFen - c.correctionsFen - c.remittedFen);
      expect(merchant.cashFen).toBeLessThanOrEqual(merchant.cashLimitFen);
      // Whole yuan handed in; the coins stay with him for change.
      expect(merchant.cashFen).toBeLessThan(100);
      const remits = entries.filter((e) => e.merchant === c.merchant && e.kind === 'remit');
      expect(remits.length).toBe(c.remits);
      expect(new Set(remits.map((e) => e.ref)).size).toBe(c.remits);
      expect(remits.reduce((sum, e) => sum + e.amountFen, 0)).toBe(c.remittedFen);
    }
    // The report of each day the walk touched (past midnight, 16:00 UTC, it is two): the hand-ins
    // add up over them, and the last one closes with what each collector holds.
    type Report = { collectors: Array<{ merchant: string; remittances: { count: number; amountFen: number }; closingFen: number }> };
    const reports: Report[] = [];
    for (const day of daysFrom(firstDay, admin.businessDay())) {
      const report = await runAircharge(['report', 'daily', '--date', formatDate(day), '--json'], env);
      expect(report.code, report.stderr).toBe(0);
      reports.push(JSON.parse(report.stdout) as Report);
    }
    for (const c of figures.collectors.merchants) {
      const rows = reports.map((r) => r.collectors.find((row) => row.merchant === c.merchant));
      expect(rows.reduce((sum, row) => sum + (row?.remittances.count ?? 0), 0)).toBe(c.remits);
      expect(rows.reduce((sum, row) => sum + (row?.remittances.amountFen ?? 0), 0)).toBe(c.remittedFen);
      expect(rows.at(-1)?.closingFen).toBe(c.heldFen);
    }
    const verify = await runAircharge(['verify', '--demo'], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 180_000);

  it('finds a collector whose cash held disagrees with his receipts and hand-ins, and a hand-in the office never recorded', async () => {
    const network = await seedNetwork(admin, { tag: 'RK', outlets: 0, collectors: 1, cashLimitFen: 1_000_000, accounts: 20, floatFen: 0, seed: 4 });
    const result = await runFleet({
      gateway: { host: '127.0.0.1', port: gateway.port },
      terminals: network.terminals,
      accounts: network.accounts,
      durationSec: 2,
      profile: null,
      seed: 4,
      mix: { inquiry: 0, pay: 1, correct: 0 },
      thinkMs: 50,
      amountFen: { min: 100, max: 1000 },
      responseTimeoutMs: 3000,
      drainMs: 10_000,
      collectors: { holes: { everyMs: 1000, lengthMs: 100 }, office: (id, fen, reference) => admin.remit(id, fen, { reference }) },
    });
    const day = admin.businessDay();
    expect((await checkCollectors(admin, result.ledgers, day)).mismatches).toEqual([]);
    const ledger = result.ledgers[0]!;
    expect(ledger.remits.length).toBeGreaterThan(0);

    // A hand-in the office says it took but never recorded, and one recorded by someone else.
    const forgotten = structuredClone(result.ledgers);
    forgotten[0]!.remits.push({ reference: 'NEVER-RECORDED', amountFen: 100, why: 'end-of-day', ok: true });
    const found = await checkCollectors(admin, forgotten, day);
    expect(found.mismatches.some((m) => m.includes('NEVER-RECORDED') && m.includes('missing from the journal'))).toBe(true);
    expect(found.mismatches.some((m) => m.startsWith(`${ledger.merchantId}: holds`))).toBe(true);

    await admin.remit(ledger.merchantId, 1, { reference: 'BEHIND-THE-BACK' });
    const extra = await checkCollectors(admin, result.ledgers, day);
    expect(extra.mismatches.some((m) => m.includes('BEHIND-THE-BACK') && m.includes('did not record'))).toBe(true);
    expect(extra.mismatches.some((m) => m.startsWith(`${ledger.merchantId}: holds`))).toBe(true);
  }, 60_000);
});
