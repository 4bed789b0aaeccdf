/**
 * `aircharge-sim fleet`: seeds its own outlets, terminals and accounts through the operator API,
 * drives them over an emulated link, then reconciles the terminals' ledgers against the journal,
 * the daily report and verify. Exit 0 when everything agrees, 1 on any mismatch, 2 on usage.
 */
import type { Command } from 'commander';
import { redisUrl } from '../../src/cli/redis.js';
import { parseYuan } from '../../src/admin/index.js';
import { WALKING_HOLES, linkProfile } from '../link/index.js';
import { parseMix, runFleet } from '../fleet/fleet.js';
import { openOperator } from '../fleet/operator.js';
import { reconcile } from '../fleet/reconcile.js';
import { seedNetwork } from '../fleet/seed.js';
import { fleetFigures, fleetText } from '../fleet/summary.js';
import { Progress } from '../report/progress.js';
import { UsageError } from './single.js';

interface FleetFlags {
  terminals: string;
  duration: string;
  link: string;
  mix: string;
  host: string;
  port: string;
  redis?: string;
  seed: string;
  think: string;
  timeout: string;
  heartbeat?: string;
  accounts: string;
  collectors: string;
  cashLimit: string;
  demo?: boolean;
  quiet?: boolean;
}

function whole(text: string, name: string, min: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min) throw new UsageError(`${name} must be a whole number ≥ ${min}`);
  return Number(text);
}

/** A tag for this run's ids: four characters from the seed and the clock. */
function runTag(seed: number): string {
  return `F${((seed * 7919 + Date.now()) % 36 ** 3).toString(36).toUpperCase().padStart(3, '0')}`;
}

export function registerFleet(program: Command, run: (task: () => Promise<number>) => Promise<void>): void {
  program
    .command('fleet')
    .description('many terminals over an emulated link, reconciled against the journal, report and verify')
    .option('--terminals <n>', 'terminals (one outlet each)', '10')
    .option('--duration <sec>', 'seconds of traffic', '20')
    .option('--link <profile>', 'good, gprs or bad', 'gprs')
    .option('--mix <inquiry:pay:correct>', 'relative weights of the requests', '2:6:1')
    .option('--host <host>', 'gateway host', process.env.AIRCHARGE_HOST ?? '127.0.0.1')
    .option('--port <port>', 'gateway port', process.env.AIRCHARGE_PORT ?? '7000')
    .option('--redis <url>', "the gateway's Redis, for seeding and the operator's view (default REDIS_URL)")
    .option('--seed <n>', 'seed of links, choices and backoff', '1')
    .option('--think <ms>', "mean pause between a terminal's requests", '1000')
    .option('--timeout <ms>', 'wait this long for an answer before retrying', '5000')
    .option('--heartbeat <sec>', 'heartbeat interval (default: what the gateway announces)')
    .option('--accounts <n>', 'billing accounts to seed', '200')
    .option('--collectors <n>', 'collectors besides the outlets: electricians walking door to door through coverage holes, handing in cash at the office', '0')
    .option('--cash-limit <yuan>', "each collector's cash-in-hand limit", '5000.00')
    .option('--demo', 'use the public demo master key when AIRCHARGE_MASTER_KEY is unset')
    .option('--quiet', 'no progress on stderr')
    .action((flags: FleetFlags) =>
      run(async () => {
        const terminals = whole(flags.terminals, '--terminals', 1);
        const durationSec = whole(flags.duration, '--duration', 1);
        const seed = whole(flags.seed, '--seed', 0);
        const collectors = whole(flags.collectors, '--collectors', 0);
        let mix;
        let profile;
        let cashLimitFen;
        try {
          mix = parseMix(flags.mix);
          profile = linkProfile(flags.link);
          cashLimitFen = parseYuan(flags.cashLimit);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const operator = openOperator(redisUrl(flags.redis, process.env, 'aircharge-sim fleet'), { demo: Boolean(flags.demo) });
        try {
          const network = await seedNetwork(operator.admin, {
            tag: runTag(seed),
            outlets: terminals,
            accounts: whole(flags.accounts, '--accounts', 1),
            floatFen: 10_000_000,
            seed,
            collectors,
            cashLimitFen,
          });
          const day = operator.admin.businessDay();
          const before = await operator.admin.dailyReport(day);
          let answered = 0;
          let approved = 0;
          const progress = new Progress(durationSec * 1000, () => `${answered} answers, ${approved} approved`, !flags.quiet);
          progress.start();
          const result = await runFleet({
            gateway: { host: flags.host, port: whole(flags.port, '--port', 1) },
            terminals: network.terminals,
            accounts: network.accounts,
            durationSec,
            profile,
            seed,
            mix,
            thinkMs: whole(flags.think, '--think', 0),
            amountFen: { min: 100, max: 5000 },
            responseTimeoutMs: whole(flags.timeout, '--timeout', 1),
            ...(flags.heartbeat === undefined ? {} : { heartbeatSec: whole(flags.heartbeat, '--heartbeat', 1) }),
            drainMs: 60_000,
            settle: true,
            // The office takes a collector's cash through the operator API, as `aircharge collector remit` does.
            collectors: {
              holes: WALKING_HOLES,
              office: (merchantId, amountFen, reference) => operator.admin.remit(merchantId, amountFen, { reference, reason: 'cash handed in at the office' }),
            },
            onAnswer: (_operation, answer) => {
              answered += 1;
              if (answer.code === 0) approved += 1;
            },
          });
          progress.stop();
          const reconciliation = await reconcile(operator.admin, result.ledgers, day, before, result.settle.disagreements);
          const figures = fleetFigures(result, reconciliation, { scenario: 'fleet', link: profile.name, seed });
          process.stdout.write(`${fleetText(figures)}\n${JSON.stringify(figures)}\n`);
          return reconciliation.ok ? 0 : 1;
        } finally {
          await operator.close();
        }
      }),
    );
}
