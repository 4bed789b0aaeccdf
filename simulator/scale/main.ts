/**
 * `npm run bench:workers`: using every core of one machine with separate gateway processes behind
 * HAProxy (the documented way; there is no `serve --workers`). In one run, the same number of
 * terminals, each with one payment in flight (simulator/load/throughput.ts), pays through HAProxy
 * to 1 gateway process and to 2, all on one redis-server (AOF, fsync every second). Each slice has
 * its own freshly seeded terminals and its own gateways and HAProxy; slices run in ABBA order
 * (1, 2, 2, 1, ...) so a machine that gets busier or quieter during the run favours neither side.
 *
 *   npm run bench:workers -- --terminals 200 --duration 10 --warmup 2 --rounds 2
 *
 * Ends with one JSON line: each side's approved payments/s and latency, and the ratio 2/1.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOperator, type Operator } from '../fleet/operator.js';
import { seedNetwork, type ProvisionedTerminal } from '../fleet/seed.js';
import type { Stack } from '../load/stack.js';
import { throughput } from '../load/throughput.js';
import { parseScriptArgs } from '../../src/cli/script-args.js';
import { cpuSeconds, freePort, startRedisServer, type RedisServer } from '../processes.js';
import { startGatewayProcess, type GatewayProcess } from './gateways.js';
import { runHaproxy, type HaproxyProcess } from './haproxy.js';

const USAGE = `
usage: npm run bench:workers -- [options]

1 against 2 gateway processes behind HAProxy on one redis-server, slices in ABBA order.
  --terminals N   terminals, one payment in flight each (200)
  --duration SEC  measured seconds per slice (10)
  --warmup SEC    warm-up seconds per slice (2)
  --rounds N      rounds of four slices 1,2,2,1 (2)
  --seed N        seed of the generated network (1)
  --quiet         no progress lines
The last line of output is one JSON object with the figures.
`;

const values = parseScriptArgs('bench:workers', USAGE, {
    terminals: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    quiet: { type: 'boolean', default: false },
});

const log = (line: string) => process.stderr.write(`${line}\n`);

function whole(name: string, text: string | undefined, min: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text) || Number(text) < min) {
    log(`bench:workers: --${name} must be a whole number ≥ ${min}`);
    process.exit(2);
  }
  return Number(text);
}

const TERMINALS = whole('terminals', values.terminals, 1);
const DURATION_SEC = whole('duration', values.duration, 1);
const WARMUP_SEC = whole('warmup', values.warmup, 0);
const ROUNDS = whole('rounds', values.rounds, 1);
const SEED = whole('seed', values.seed, 0);

/**
 * The child processes running now (Redis, gateways, HAProxy). A SIGINT or SIGTERM to this process
 * alone would otherwise leave them running with nobody to stop them.
 */
const running = new Set<{ stop(): Promise<void> }>();
let workDir: string | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`bench:workers: ${signal}, stopping its processes`);
    void Promise.allSettled([...running].map((child) => child.stop())).then(() => {
      if (workDir) rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

/** ABBA: 1, 2, 2, 1, 1, 2, ... — two slices per round. */
const ORDER = Array.from({ length: ROUNDS }, (_, round) => (round % 2 === 0 ? [1, 2] : [2, 1])).flat();

interface Slice {
  processes: number;
  approvedPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number };
  counts: Record<string, number>;
  /** CPU per measured payment: throughput() reads the generator and Redis within its window. */
  cpuUsPerPayment: { loadGenerator: number | null; redis: number | null };
  /** CPU seconds per wall second over the whole slice (sign-in, warm-up, measured time). */
  coresBusy: { gateways: number | null; haproxy: number | null };
  loadAverage: number;
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'aircharge-workers-'));
  workDir = work;
  let redis: RedisServer | null = null;
  let op: Operator | null = null;
  try {
    redis = await startRedisServer({ dir: join(work, 'redis') });
    running.add(redis);
    op = openOperator(redis.url, { demo: true });
    const seeding = performance.now();
    const network = await seedNetwork(op.admin, {
      tag: 'W',
      outlets: TERMINALS * ORDER.length,
      accounts: 2000,
      floatFen: 100_000_000,
      seed: SEED,
    });
    log(`seeded ${network.terminals.length} terminals (${ORDER.length} slices of ${TERMINALS}) in ${((performance.now() - seeding) / 1000).toFixed(1)} s; Redis ${redis.url}`);

    const slices: Slice[] = [];
    for (const [index, processes] of ORDER.entries()) {
      const terminals = network.terminals.slice(index * TERMINALS, (index + 1) * TERMINALS);
      const slice = await runSlice({ processes, terminals, accounts: network.accounts, redis, operator: op, work: join(work, `slice-${index + 1}`), index });
      log(
        `slice ${index + 1}/${ORDER.length}: ${processes} gateway process${processes > 1 ? 'es' : ''}: ${slice.approvedPerSec} approved/s, ` +
          `p50 ${slice.latencyMs.p50} ms, p99 ${slice.latencyMs.p99} ms; cores busy: gateways ${slice.coresBusy.gateways}, ` +
          `HAProxy ${slice.coresBusy.haproxy}; load average ${slice.loadAverage.toFixed(1)}`,
      );
      slices.push(slice);
    }

    const one = summarise(slices.filter((s) => s.processes === 1));
    const two = summarise(slices.filter((s) => s.processes === 2));
    const ratio = one.approvedPerSec > 0 ? Math.round((two.approvedPerSec / one.approvedPerSec) * 100) / 100 : null;
    const cores = cpus().length;
    // A gateway using most of a core was the bottleneck a second process can relieve.
    const oneGatewaySaturated = one.gatewayCoresBusy >= 0.9;
    const note =
      cores <= 2
        ? `This machine has ${cores} cores, shared by the 1 or 2 gateways, Redis, HAProxy and the load generator (and by any other work: see loadAverage). ` +
          'A second gateway process can only use CPU the others leave idle, so the ratio here says how far one gateway was the bottleneck, ' +
          'not how the gateways scale: with a core for each gateway and more for Redis, HAProxy and the terminals, throughput should grow ' +
          'with the processes until Redis (one thread) saturates; measure it on such a machine. Other work moves each slice too: compare their loadAverage.'
        : `This machine has ${cores} cores for the gateways, Redis, HAProxy and the load generator; the ratio is capped by whichever of them saturates first.`;
    const saturation = oneGatewaySaturated
      ? 'The single gateway was using a whole core: it was the bottleneck.'
      : `The single gateway used ${one.gatewayCoresBusy} of a core: it was not the bottleneck, the rest of the machine was.`;
    log('');
    log('gateways log every request at level info, as in production (npm run load runs its gateway at warn)');
    log(`1 process: ${one.approvedPerSec} approved/s, p50 ${one.p50Ms} ms, p99 ${one.p99Ms} ms`);
    log(`2 processes: ${two.approvedPerSec} approved/s, p50 ${two.p50Ms} ms, p99 ${two.p99Ms} ms`);
    log(`ratio 2/1: ${ratio ?? 'n/a'}`);
    log(`${saturation} ${note}`);
    process.stdout.write(
      `${JSON.stringify({
        benchmark: 'workers',
        terminals: TERMINALS,
        inFlightPerTerminal: 1,
        durationSec: DURATION_SEC,
        warmupSec: WARMUP_SEC,
        order: ORDER,
        machine: { cores, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
        loadAverage: Math.round(loadavg()[0]! * 10) / 10,
        oneProcess: one,
        twoProcesses: two,
        ratios: { twoOverOne: ratio },
        oneGatewaySaturated,
        gatewayLogLevel: 'info',
        slices,
        note: `${saturation} ${note}`,
      })}\n`,
    );
    return 0;
  } finally {
    await op?.close();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** N gateways behind a fresh HAProxy, the terminals paying through it, then everything stopped. */
async function runSlice(options: {
  processes: number;
  terminals: ProvisionedTerminal[];
  accounts: string[];
  redis: RedisServer;
  operator: Operator;
  work: string;
  index: number;
}): Promise<Slice> {
  mkdirSync(options.work, { recursive: true });
  const gateways: GatewayProcess[] = [];
  let haproxy: HaproxyProcess | null = null;
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.processes }, (_, i) =>
        startGatewayProcess({
          name: `gw${i + 1}`,
          redisUrl: options.redis.url,
          logFile: join(options.work, `gw${i + 1}.log`),
          // Every terminal reaches the gateways from HAProxy's address: no per-address rate limit here.
          // Each terminal pays as fast as it is answered (hundreds a second), far past a real one's
          // request rate: the benchmark measures capacity, so no per-terminal limit either.
          args: ['--connection-rate', '0', '--max-connections-per-address', '0', '--request-rate', '0', '--drain-timeout', '2'],
        }),
      ),
    );
    for (const result of started) {
      if (result.status === 'fulfilled') {
        gateways.push(result.value);
        running.add(result.value);
      }
    }
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    haproxy = await startHaproxyRetrying(gateways);
    running.add(haproxy);
    for (const g of gateways) await haproxy.waitForServer(g.name, 'UP');

    // throughput() reads one gateway's CPU within its window; with two gateways that would be half
    // the story, so it gets no gateway pid and the gateways' CPU is read here for the whole slice.
    const stack: Stack = {
      redisUrl: options.redis.url,
      redisPid: options.redis.pid,
      gateway: { ...gateways[0]!, port: haproxy.port, pid: -1 },
      operator: options.operator,
      network: { terminals: options.terminals, accounts: options.accounts },
      stop: async () => {},
    };
    const before = { at: performance.now(), gateways: cpuOf(gateways.map((g) => g.pid)), haproxy: cpuOf([haproxy.pid]) };
    const { figures } = await throughput(stack, {
      durationSec: DURATION_SEC,
      warmupSec: WARMUP_SEC,
      baselineSec: 0,
      progress: !values.quiet,
      seed: SEED + options.index,
    });
    const wallSec = (performance.now() - before.at) / 1000;
    const busy = (from: number | null, to: number | null) => (from === null || to === null ? null : Math.round(((to - from) / wallSec) * 100) / 100);
    return {
      processes: options.processes,
      approvedPerSec: figures.approvedPerSec,
      latencyMs: { p50: figures.latencyMs.p50, p90: figures.latencyMs.p90, p99: figures.latencyMs.p99, p999: figures.latencyMs.p999 },
      counts: figures.counts,
      cpuUsPerPayment: { loadGenerator: figures.cpuUsPerPayment.loadGenerator, redis: figures.cpuUsPerPayment.redis },
      coresBusy: { gateways: busy(before.gateways, cpuOf(gateways.map((g) => g.pid))), haproxy: busy(before.haproxy, cpuOf([haproxy.pid])) },
      loadAverage: Math.round((figures.loadAverage ?? 0) * 10) / 10,
    };
  } finally {
    await haproxy?.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    for (const child of [haproxy, ...gateways]) if (child) running.delete(child);
  }
}

/** HAProxy cannot bind port 0 and report it: ports are picked just before, and retried if taken. */
async function startHaproxyRetrying(gateways: GatewayProcess[]): Promise<HaproxyProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runHaproxy({
        bind: { host: '127.0.0.1', port: await freePort() },
        stats: { host: '127.0.0.1', port: await freePort() },
        gateways: gateways.map((g) => ({ name: g.name, host: '127.0.0.1', port: g.port, checkPort: g.metricsPort })),
        maxConnections: 2 * TERMINALS + 100,
        check: { intervalMs: 500, fall: 2, rise: 1 },
      });
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

function cpuOf(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds === null) return null;
    total += seconds;
  }
  return total;
}

/** A side's figures: the mean of its slices' rates (each measures the same time), the median slice's latency. */
function summarise(slices: Slice[]) {
  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1));
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    if (sorted.length === 0) return 0;
    const middle = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return Math.round(middle * 1000) / 1000;
  };
  return {
    slices: slices.length,
    approvedPerSec: mean(slices.map((s) => s.approvedPerSec)),
    p50Ms: median(slices.map((s) => s.latencyMs.p50)),
    p99Ms: median(slices.map((s) => s.latencyMs.p99)),
    gatewayCoresBusy: median(slices.map((s) => s.coresBusy.gateways ?? 0)),
  };
}

process.exitCode = await main();
