/**
 * `npm run demo`: the whole product on one machine in half a minute. A private redis-server
 * (unless REDIS_URL is set), a demo network seeded through the operator API (22 outlets, each
 * with a terminal and a float; 3 collectors, electricians with a mobile terminal and a cash
 * limit; 1,000 billing accounts with arrears and bills), the gateway as a child process, a fleet
 * of the 25 terminals over emulated GPRS for about 20 s (the collectors walking through coverage
 * holes and handing in cash at the office), then the day's report in the operator's words and verify. Everything is shut down at the end unless --keep.
 * Exit 0 only when verify passes and the terminals' ledgers reconcile with the books.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatYuan, reportSummary } from '../src/admin/index.js';
import { runFleet } from './fleet/fleet.js';
import { openOperator } from './fleet/operator.js';
import { reconcile } from './fleet/reconcile.js';
import { seedNetwork } from './fleet/seed.js';
import { fleetFigures, fleetText } from './fleet/summary.js';
import { WALKING_HOLES, linkProfile } from './link/index.js';
import { MissingRedisServer, startGateway, startRedisServer, type GatewayService, type RedisServer } from './processes.js';
import { Progress } from './report/progress.js';
import { FileStateStore } from './terminal/index.js';
import { parseScriptArgs } from '../src/cli/script-args.js';
import { redactRedisUrl } from '../src/redis-url.js';

const OUTLETS = [
  'Dongcun Grocery', 'Xiwan Supermarket', 'Nanshan General Store', 'Beiling Village Shop', 'Hetang Convenience',
  'Qiaotou Store', 'Shangzhuang Market', 'Xiazhuang Grocery', 'Liujia Village Shop', 'Wangjia Supermarket',
  'Huangpo Store', 'Songlin Grocery', 'Meiling Convenience', 'Shuikou Store', 'Dapu Market',
  'Xiaohe Village Shop', 'Changping Grocery', 'Gaotian Supermarket', 'Zhuyuan Store', 'Fengshu Convenience',
  'Baisha Village Shop', 'Yunxi Grocery',
];

/** The power bureau's electricians, each on his round of door-to-door collection. */
const COLLECTORS = ['Li Gang, Dongcun round', 'Zhao Min, Nanshan round', 'Wu Ping, Hetang round'];
const CASH_LIMIT_FEN = 300_000;

const USAGE = `
usage: npm run demo -- [--duration SEC] [--seed N] [--keep]

The whole product on one machine: a private redis-server (unless REDIS_URL is set), 22 outlets
and 3 collectors, the gateway, a fleet of terminals over emulated GPRS, then the day's report and verify.
  --duration SEC  how long the fleet pays (20)
  --seed N        seed of the generated network and traffic (1)
  --keep          leave redis-server and the gateway running at the end
Exit 0 only when verify passes and the terminals' ledgers reconcile with the books.
`;

const flags = parseScriptArgs('demo', USAGE, {
    keep: { type: 'boolean', default: false },
    duration: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
});

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'aircharge-demo-'));
  const keep = Boolean(flags.keep);
  const durationSec = Number(flags.duration);
  const seed = Number(flags.seed);
  let redis: RedisServer | null = null;
  let gateway: GatewayService | null = null;
  let redisUrl = process.env.REDIS_URL;
  try {
    if (!redisUrl) {
      redis = await startRedisServer({ dir: join(work, 'redis'), detached: keep });
      redisUrl = redis.url;
      log(`redis-server (private, AOF everysec) on ${redisUrl}, data in ${redis.dir}`);
    } else {
      log(`using REDIS_URL ${redactRedisUrl(redisUrl)}`);
    }

    const operator = openOperator(redisUrl, { demo: true });
    try {
      // A tag of its own per run, so a shared REDIS_URL can host several demos side by side.
      const tag = `D${(Date.now() % 36 ** 2).toString(36).toUpperCase().padStart(2, '0')}`;
      const network = await seedNetwork(operator.admin, {
        tag,
        outlets: OUTLETS.length,
        accounts: 1000,
        floatFen: 5_000_000,
        seed,
        outletName: (i) => OUTLETS[i]!,
        collectors: COLLECTORS.length,
        cashLimitFen: CASH_LIMIT_FEN,
        collectorName: (i) => COLLECTORS[i]!,
      });
      log(
        `seeded ${OUTLETS.length} outlets (each a merchant with a terminal and a ¥50,000.00 float), ${COLLECTORS.length} collectors ` +
          `(each an electrician with a mobile terminal and a ¥${formatYuan(CASH_LIMIT_FEN, { grouped: true })} cash limit) and ${network.accounts.length} billing accounts`,
      );

      gateway = await startGateway({ redisUrl, logFile: join(work, 'gateway.log'), args: ['--connection-rate', '0', '--max-connections-per-address', '0'], detached: keep });
      log(`gateway listening on 127.0.0.1:${gateway.port} (log: ${gateway.logFile})`);

      const day = operator.admin.businessDay();
      const before = await operator.admin.dailyReport(day);
      log(`running ${network.terminals.length} terminals over emulated GPRS for ${durationSec} s ...`);
      const approved = { pay: 0, correct: 0 };
      const progress = new Progress(durationSec * 1000, () => `${approved.pay} payments, ${approved.correct} corrections approved`);
      progress.start();
      const result = await runFleet({
        gateway: { host: '127.0.0.1', port: gateway.port },
        terminals: network.terminals,
        accounts: network.accounts,
        durationSec,
        profile: linkProfile('gprs'),
        seed,
        mix: { inquiry: 2, pay: 6, correct: 1 },
        thinkMs: 800,
        amountFen: { min: 1000, max: 20_000 },
        responseTimeoutMs: 8000,
        drainMs: 60_000,
        settle: true,
        collectors: {
          holes: WALKING_HOLES,
          office: (merchantId, amountFen, reference) => operator.admin.remit(merchantId, amountFen, { reference, reason: 'cash handed in at the office' }),
        },
        onAnswer: (operation, answer) => {
          if (answer.code === 0 && operation !== 'inquiry') approved[operation] += 1;
        },
      });
      progress.stop();
      const reconciliation = await reconcile(operator.admin, result.ledgers, day, before, result.settle.disagreements);
      const figures = fleetFigures(result, reconciliation, { scenario: 'demo', link: 'gprs', seed });
      log('');
      log(fleetText(figures));

      const report = await operator.admin.dailyReport(day);
      log('');
      log(`Daily report ${report.date}: ${reportSummary(report)}`);
      const { outlets, collectors } = report.subtotals;
      const yuan = (fen: number) => `¥${formatYuan(fen, { grouped: true })}`;
      log(`  outlets: ${outlets.active} of ${report.outlets.length} took payments, ${yuan(outlets.netFen)} collected, ${yuan(outlets.closingFen)} float left`);
      log(
        `  collectors: ${collectors.active} of ${report.collectors.length} took payments, ${yuan(collectors.netFen)} cash collected, ` +
          `${yuan(collectors.remittances.amountFen)} remitted at the office, ${yuan(collectors.closingFen)} still held`,
      );
      log(`  payments ${report.total.payments.count} (¥${formatYuan(report.total.payments.amountFen, { grouped: true })}), corrections ${report.total.corrections.count} (¥${formatYuan(report.total.corrections.amountFen, { grouped: true })})`);
      const biller = reconciliation.biller;
      log(`biller: ${biller.ok ? `ok, its ${biller.matched} postings of the day match the journal` : `${biller.breaks} breaks against the journal (aircharge reconcile biller --day ${day} --fetch)`}`);
      log(`verify: ${reconciliation.verify.ok ? 'ok, the books balance' : `FAILED\n  ${reconciliation.verify.discrepancies.join('\n  ')}`}`);

      if (keep) {
        const stateDir = join(work, 'terminals');
        for (const ledger of result.ledgers) new FileStateStore(stateDir, ledger.terminalId).save(ledger.state);
        const t = network.terminals[0]!;
        const receipt = result.ledgers[0]?.state.receipts.find((r) => r.kind === 'pay');
        const common = `--port ${gateway.port} --terminal ${t.terminalId} --key ${t.key.toString('hex')} --state ${stateDir}`;
        log('');
        log('Gateway and Redis keep running. Try:');
        log(`  npx aircharge-sim signin ${common}`);
        log(`  npx aircharge-sim inquiry ${network.accounts[0]} ${common}`);
        log(`  npx aircharge-sim pay ${network.accounts[0]} 35.50 ${common} --link gprs`);
        if (receipt) log(`  npx aircharge-sim correct ${receipt.receipt} ${common}`);
        log(`  npx aircharge-sim settle ${common}`);
        log(`  npx aircharge report daily --redis ${redisUrl}`);
        log(`  npx aircharge verify --demo --redis ${redisUrl}`);
        log(`  npx aircharge reconcile biller --day ${day} --fetch --redis ${redisUrl}`);
        log(`Stop them with: kill ${gateway.pid}${redis ? ` ${redis.pid}` : ''}`);
      }
      process.stdout.write(`${JSON.stringify({ ...figures, report: report.total, summary: reportSummary(report) })}\n`);
      return reconciliation.ok ? 0 : 1;
    } finally {
      await operator.close();
    }
  } finally {
    if (!keep) {
      await gateway?.stop();
      await redis?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof MissingRedisServer) {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
