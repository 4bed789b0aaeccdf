/**
 * `npm run chaos`: every fault scenario with a fixed seed, one after another, each on its own
 * redis-server and gateways. Prints a table (scenario, attempted, approved, lost, duplicated,
 * verify) and ends with one JSON line of the same. Exit 1 when any scenario lost or doubled
 * anything, or verify failed; 2 on a usage error.
 *
 *   npm run chaos -- [--seed N] [--scenario NAME] [--suite core|biller|all] [--short] [--parallel]
 *                    [--terminals N] [--biller-down-sec S] [--keep]
 * The biller suite (biller-scenarios.ts) runs the reference biller as its own process beside each.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runScenario, type ScenarioRow, type SummaryRow } from './run.js';
import { allScenarios, type Scenario } from './scenarios.js';
import { billerScenarios } from './biller-scenarios.js';

interface Flags {
  seed: number;
  scenario?: string;
  short?: boolean;
  parallel?: boolean;
  terminals?: number;
  keep?: boolean;
  suite: string;
  billerDownSec?: number;
}

function whole(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError('a whole number');
  return Number(text);
}

const program = new Command('chaos')
  .description('fault scenarios under fleet load over the bad GPRS link; the books checked after each')
  .option('--seed <n>', 'seed of the links, the clerks and the fault moments', whole, 1)
  .option('--scenario <name>', `run one scenario: ${[...allScenarios(), ...billerScenarios()].map((s) => s.name).join(', ')}`)
  .option('--suite <suite>', 'core (gateway and Redis faults), biller (the reference biller as its own process) or all', 'all')
  .option('--biller-down-sec <s>', 'biller-down-*: how long the biller is down (default 30)', whole)
  .option('--short', 'the quick version: a few seconds of traffic per scenario')
  .option('--parallel', 'run the scenarios at the same time (each still on its own Redis and gateways)')
  .option('--terminals <n>', 'terminals in each fleet (default 6 short, 12 full)', whole)
  .option('--keep', 'keep each scenario\'s work directory (gateway and Redis logs)')
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

program.parse();
const flags = program.opts<Flags>();
if (!['core', 'biller', 'all'].includes(flags.suite)) {
  process.stderr.write(`chaos: --suite must be core, biller or all\n`);
  process.exit(2);
}
const suite = [
  ...(flags.suite === 'biller' ? [] : allScenarios()),
  ...(flags.suite === 'core' ? [] : billerScenarios(flags.billerDownSec === undefined ? {} : { downSec: flags.billerDownSec })),
];
const scenarios = suite.filter((s) => flags.scenario === undefined || s.name === flags.scenario);
if (scenarios.length === 0) {
  process.stderr.write(`chaos: unknown scenario ${JSON.stringify(flags.scenario)}\n`);
  process.exit(2);
}

const run = async (scenario: Scenario): Promise<ScenarioRow> => {
  process.stderr.write(`chaos: ${scenario.name}: ${scenario.description}\n`);
  try {
    const row = await runScenario(scenario, {
      seed: flags.seed,
      short: flags.short === true,
      ...(flags.terminals === undefined ? {} : { terminals: flags.terminals }),
      keepWork: flags.keep === true,
      onProgress: (line) => process.stderr.write(`chaos: ${line}\n`),
    });
    process.stderr.write(`chaos: ${scenario.name}: ${row.ok ? 'ok' : 'FAILED'} in ${(row.durationMs / 1000).toFixed(1)} s ${JSON.stringify(row.faults)}\n`);
    for (const problem of row.problems.slice(0, 20)) process.stderr.write(`chaos:   ${problem}\n`);
    if (row.work) process.stderr.write(`chaos:   logs kept in ${row.work}\n`);
    return row;
  } catch (error) {
    // A scenario that could not run (a process that would not start) fails; the others still run.
    process.stderr.write(`chaos: ${scenario.name}: could not run: ${(error as Error).stack ?? String(error)}\n`);
    return {
      scenario: scenario.name, seed: flags.seed, attempted: 0, approved: 0, lost: 0, duplicated: 0, verify: 'FAILED', ok: false,
      durationMs: 0, faults: {}, approvedBefore: {}, problems: [`could not run: ${(error as Error).message}`],
    };
  }
};

const rows: ScenarioRow[] = [];
if (flags.parallel) rows.push(...(await Promise.all(scenarios.map(run))));
else for (const scenario of scenarios) rows.push(await run(scenario));

process.stdout.write(`${table(rows)}\n`);
const ok = rows.every((row) => row.ok);
process.stdout.write(
  `${JSON.stringify({
    seed: flags.seed,
    short: flags.short === true,
    ok,
    scenarios: rows.map(({ scenario, attempted, approved, lost, duplicated, verify, ok: passed, durationMs, faults, problems }): SummaryRow => ({
      scenario, attempted, approved, lost, duplicated, verify, ok: passed, durationMs, faults, problems: problems.length,
    })),
  })}\n`,
);
process.exit(ok ? 0 : 1);

function table(rows: ScenarioRow[]): string {
  const header = ['scenario', 'attempted', 'approved', 'lost', 'duplicated', 'verify', 'faults'];
  const lines = rows.map((r) => [
    r.scenario, String(r.attempted), String(r.approved), String(r.lost), String(r.duplicated), r.verify,
    Object.entries(r.faults).map(([k, v]) => `${k}=${v}`).join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}
