/**
 * One fault scenario from start to verdict: a fresh stack (redis-server and gateways), a seeded
 * network of outlets, a fleet of firmware-like terminals over the `bad` GPRS link paying while
 * the scenario injects its faults, then the books: every payment and correction a terminal saw
 * approved is in the journal exactly once (nothing lost), the journal holds nothing the terminals
 * were not told of (nothing doubled), the ledgers reconcile with the daily report, and
 * `aircharge verify`, run as a process, passes.
 */
import { deriveRandom } from '../link/prng.js';
import { WALKING_HOLES, linkProfile } from '../link/index.js';
import { runFleet, type FleetResult, type Ledger } from '../fleet/fleet.js';
import { openOperator } from '../fleet/operator.js';
import { reconcile, runDays } from '../fleet/reconcile.js';
import { seedNetwork } from '../fleet/seed.js';
import type { Admin } from '../../src/admin/index.js';
import type { AnswerSeen, Attachment, Scenario } from './scenarios.js';
import { ChaosStack } from './stack.js';

export interface RunOptions {
  seed: number;
  short: boolean;
  /** Terminals in the fleet (one outlet each); default 6 short, 12 full. */
  terminals?: number;
  /** The terminals' link profile; default `bad`. */
  link?: string;
  /** Mean pause between a terminal's requests; default 200 ms. */
  thinkMs?: number;
  /** Keep the work directory (gateway and Redis logs) for a look afterwards. */
  keepWork?: boolean;
  onProgress?: (line: string) => void;
}

export interface ScenarioRow {
  scenario: string;
  seed: number;
  /** Payments and corrections the clerks started. */
  attempted: number;
  /** Payments and corrections the terminals saw approved (their ledgers). */
  approved: number;
  /** Approved to a terminal, missing from the journal. */
  lost: number;
  /** Journal entries beyond the ledgers: a transaction booked twice, or booked without the terminal being told. */
  duplicated: number;
  verify: 'ok' | 'FAILED';
  ok: boolean;
  durationMs: number;
  /** The scenario's own figures (kills, restarts, SYSTEM_BUSY answers, ...). */
  faults: Record<string, number>;
  /** Approved payments and corrections answered before each marked moment of the run. */
  approvedBefore: Record<string, number>;
  /** Every failed check, one line each (empty when ok). */
  problems: string[];
  work?: string;
}

/** A scenario as the run's last line (JSON) gives it: its problems counted, not listed. */
export type SummaryRow = Omit<ScenarioRow, 'seed' | 'approvedBefore' | 'problems' | 'work'> & { problems: number };

const GATEWAY_ARGS = [
  // All terminals come from 127.0.0.1 through the relays: no per-address connection rate.
  '--connection-rate', '0', '--max-connections-per-address', '0',
  '--request-rate', '0',
  // Pending transactions a crash left behind are picked up within a second of turning stale.
  '--recovery-interval', '1',
  '--drain-timeout', '2',
];

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioRow> {
  const started = Date.now();
  const attachment = await scenario.attach?.();
  const stack = await ChaosStack.start({ instances: scenario.instances, gatewayArgs: [...GATEWAY_ARGS, ...(attachment?.gatewayArgs ?? [])] }).catch(async (error: unknown) => {
    await attachment?.stop();
    throw error;
  });
  const faults: Record<string, number> = {};
  const marks = new Map<string, number>();
  const answers: AnswerSeen[] = [];
  // A run that fails or throws keeps its logs for whoever looks into it.
  let keepWork = true;
  try {
    const { network, day, before } = await provision(stack, options, scenario.collectors ?? 0);
    await attachment?.seeded(network);
    const durationSec = scenario.durationSec(options.short, stack.firstStartMs);
    const end = Date.now() + durationSec * 1000;
    // The office, where collectors hand in their cash: the operator API, never cut.
    const office = openOperator(stack.operatorRedisUrl, { demo: true });
    const fleet = runFleet({
      gateway: stack.terminalsConnectTo,
      terminals: network.terminals,
      accounts: network.accounts,
      durationSec,
      profile: linkProfile(options.link ?? 'bad'),
      seed: options.seed,
      mix: { inquiry: 1, pay: 6, correct: 1 },
      thinkMs: options.thinkMs ?? 200,
      amountFen: { min: 100, max: 5000 },
      responseTimeoutMs: 2000,
      drainMs: 60_000,
      onAnswer: (operation, answer) => answers.push({ at: Date.now(), operation, result: answer.name }),
      collectors: {
        holes: WALKING_HOLES,
        office: (merchantId, amountFen, reference) => office.admin.remit(merchantId, amountFen, { reference, reason: 'cash handed in at the office' }),
      },
    });
    const injected = scenario.inject({
      stack,
      random: deriveRandom(options.seed, `chaos:${scenario.name}`),
      end,
      short: options.short,
      count: (figure, by = 1) => {
        faults[figure] = (faults[figure] ?? 0) + by;
      },
      approvals: () => answers.filter(isApproval).length,
      mark: (name) => {
        marks.set(name, Date.now());
        options.onProgress?.(`${scenario.name}: ${name}`);
      },
    });
    // A fault that cannot be injected (a process that will not start) ends the run with that error.
    const [result] = await Promise.all([fleet, injected]).finally(() => office.close());
    faults.systemBusyAnswers = stack.answersWithResult('SYSTEM_BUSY');
    faults.recoveredTransactions = stack.recoveredTransactions();
    faults.retransmits = result.events.retransmits;
    if (scenario.collectors) {
      faults.coverageHoles = result.events.holes;
      faults.remits = result.ledgers.reduce((sum, l) => sum + l.remits.filter((r) => r.ok).length, 0);
    }
    const forwarded = stack.loggedSum('biller queue forwarded', 'posted');
    if (forwarded > 0) faults.billerQueueForwarded = forwarded;
    if (stack.failedStarts > 0) faults.failedGatewayStarts = stack.failedStarts;

    const problems = scenario.check?.({ answers, marks, faults }) ?? [];
    // Service came back by itself: something was approved after the last fault.
    const lastFault = Math.max(...marks.values());
    if (marks.size > 0 && !answers.some((a) => a.at > lastFault && isApproval(a))) {
      problems.push('nothing approved after the last fault');
    }
    const operator = openOperator(stack.operatorRedisUrl, { demo: true });
    try {
      if (attachment !== undefined) problems.push(...(await attachment.settle(operator.admin)));
      const row = await books(operator.admin, scenario.name, result, day, before, stack, attachment);
      problems.push(...row.problems);
      const approvedBefore: Record<string, number> = {};
      for (const [name, at] of marks) {
        approvedBefore[name] = answers.filter((a) => a.at < at && isApproval(a)).length;
      }
      const ok = problems.length === 0 && row.lost === 0 && row.duplicated === 0 && row.verify === 'ok';
      keepWork = options.keepWork === true || !ok;
      return {
        ...row,
        seed: options.seed,
        ok,
        durationMs: Date.now() - started,
        faults,
        approvedBefore,
        problems,
        ...(options.keepWork || !ok ? { work: stack.work } : {}),
      };
    } finally {
      await operator.close();
    }
  } catch (error) {
    throw new Error(`${scenario.name}: ${(error as Error).message} (logs kept in ${stack.work})`, { cause: error });
  } finally {
    await stack.stop({ keepWork });
    await attachment?.stop();
  }
}

type DailyReport = Awaited<ReturnType<Admin['dailyReport']>>;

/** Outlets, terminals and accounts through the operator API, and the day's report before the run. */
async function provision(stack: ChaosStack, options: RunOptions, collectors: number) {
  const operator = openOperator(stack.operatorRedisUrl, { demo: true });
  try {
    const network = await seedNetwork(operator.admin, {
      tag: 'CH',
      outlets: options.terminals ?? (options.short ? 6 : 12),
      accounts: 60,
      floatFen: 10_000_000,
      seed: options.seed,
      collectors,
      cashLimitFen: COLLECTOR_CASH_LIMIT_FEN,
    });
    const day = operator.admin.businessDay();
    return { network, day, before: await operator.admin.dailyReport(day) };
  } finally {
    await operator.close();
  }
}

/** Low enough that collectors hand in cash during the run, under the faults, and not only at its end. */
const COLLECTOR_CASH_LIMIT_FEN = 150_000;

/** A payment or correction approved (an approved inquiry moves no money). */
function isApproval(answer: AnswerSeen): boolean {
  return answer.result === 'APPROVED' && answer.operation !== 'inquiry';
}

async function books(admin: Admin, scenario: string, result: FleetResult, day: number, before: DailyReport, stack: ChaosStack, attachment?: Attachment) {
  // A run that went past the business day's cut-off is counted on every day it touched.
  const days = runDays(admin, day);
  const { lost, duplicated, approved } = await countAgainstJournal(admin, result.ledgers, days);
  const reconciliation = await reconcile(admin, result.ledgers, day, before, [], attachment && ((d) => attachment.dayPostings(d)));
  const verify = await stack.verify();
  const problems = [...reconciliation.mismatches, ...(verify.ok ? [] : [`aircharge verify exit ${verify.exitCode}`, ...verify.discrepancies])];
  if (attachment !== undefined) for (const d of days) problems.push(...(await attachment.check(d, stack.operatorRedisUrl)));
  if (result.refused.length > 0) problems.push(`sign-in refused: ${result.refused.map((r) => `${r.terminalId} ${r.code}`).join(', ')}`);
  const attempted = ['pay', 'correct'].reduce(
    (sum, operation) => sum + Object.values(result.counts[operation as 'pay' | 'correct']).reduce((a, b) => a + b, 0),
    0,
  );
  return { scenario, attempted, approved, lost, duplicated, verify: verify.ok ? ('ok' as const) : ('FAILED' as const), problems };
}

/** The journal of the run's days against the terminals' ledgers, transaction by transaction. */
async function countAgainstJournal(admin: Admin, ledgers: Ledger[], days: number[]) {
  const seen = new Set<string>();
  for (const ledger of ledgers) for (const r of ledger.state.receipts) if (days.includes(r.businessDay)) seen.add(r.receipt);
  const terminals = new Set(ledgers.map((l) => l.terminalId));
  const booked = new Map<string, number>();
  for (const entry of await admin.exportJournal(days[0], days[days.length - 1])) {
    if (!terminals.has(entry.terminal) || (entry.kind !== 'pay' && entry.kind !== 'correct')) continue;
    booked.set(entry.txn, (booked.get(entry.txn) ?? 0) + 1);
  }
  let lost = 0;
  for (const receipt of seen) if (!booked.has(receipt)) lost += 1;
  let duplicated = 0;
  for (const [txn, times] of booked) duplicated += seen.has(txn) ? times - 1 : times;
  return { approved: seen.size, lost, duplicated };
}
