/**
 * bench:core — payments per second through the transaction core alone (no TCP, no frames), at
 * concurrency 1 and 64 (one payment in flight per terminal, as firmware does), against the
 * baseline of bare EVALSHA calls of a trivial script at the same concurrency on the same client.
 * Redis CPU per payment comes from INFO commandstats (the usec the commands themselves took) and,
 * for the whole process, from INFO cpu; Node's from process.cpuUsage(). Starts its own redis-server (AOF, fsync every second).
 * Ends with one JSON line of figures and ratios. The benchmark network and the payment loop are
 * core-rate.ts's, whose measureCoreRate() gives the end-to-end load test its same-run baseline.
 *
 *   npm run bench:core            BENCH_SECONDS=3 by default, per phase
 */
import { cpus, loadavg } from 'node:os';
import type { Redis } from 'ioredis';
import type { PostingResult } from '../biller/index.js';
import type { PendingTransaction, RedisTransactionCore } from '../core/index.js';
import { Script } from '../store/script.js';
import { BENCH_AMOUNT_FEN, benchPay, nextContext, round, runLoops, seedBenchNetwork, type BenchTerminal } from './core-rate.js';
import { startRedisServer } from '../ops/redis-server.js';
import { parseScriptArgs } from '../cli/script-args.js';

parseScriptArgs('bench:core', `
usage: npm run bench:core            (BENCH_SECONDS=3: seconds per phase)
The transaction core alone at concurrency 1 and 64 against bare EVALSHA calls, on its own
redis-server. The last line of output is one JSON object.
`, {});
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCIES = [1, 64] as const;
const TRIVIAL = new Script('return 1');
/** Many small batches: on a shared machine some of them run undisturbed. */
const STEP_BATCHES = 100;
const STEP_BATCH_SIZE = 20;

/**
 * What Redis did since the last CONFIG RESETSTAT, from INFO commandstats. Every request the core
 * sends on the payment path is a script call (EVALSHA, or EVAL once after NOSCRIPT), so their calls
 * are the round trips and their usec the Redis time. Redis 7 also lists each command a script runs
 * under its own name, timed inside the script's usec: those are counted as commands, not time.
 */
async function commandStats(redis: Redis): Promise<{ usec: number; calls: number; commands: number }> {
  const text = await redis.info('commandstats');
  const stats = { usec: 0, calls: 0, commands: 0 };
  for (const [, name = '', calls = '0', usec = '0'] of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (name === 'evalsha' || name === 'eval') {
      stats.calls += Number(calls);
      stats.usec += Number(usec);
    } else if (name !== 'info' && !name.startsWith('config')) {
      stats.commands += Number(calls);
    }
  }
  return stats;
}

/**
 * CPU seconds of Redis's main thread (user + system). Unlike commandstats usec, which is wall time
 * inside a command, this does not grow when other processes take the CPU away; it does include
 * reading requests and writing replies.
 */
async function mainThreadCpuSec(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  const user = /used_cpu_user_main_thread:([\d.]+)/.exec(text)?.[1] ?? '0';
  const sys = /used_cpu_sys_main_thread:([\d.]+)/.exec(text)?.[1] ?? '0';
  return Number(user) + Number(sys);
}

/** Runs `concurrency` loops until the time is up; returns operations done and the Redis cost of them. */
async function measure(redis: Redis, concurrency: number, op: (worker: number) => Promise<void>) {
  await redis.config('RESETSTAT');
  const cpuBefore = await mainThreadCpuSec(redis);
  const nodeBefore = process.cpuUsage();
  const figures = await runLoops(concurrency, SECONDS, op);
  const node = process.cpuUsage(nodeBefore);
  const stats = await commandStats(redis);
  const cpu = (await mainThreadCpuSec(redis)) - cpuBefore;
  const { ops } = figures;
  return {
    ...figures,
    redisUsPerOp: round(stats.usec / ops, 2),
    redisMainThreadCpuUsPerOp: round((cpu * 1e6) / ops, 2),
    // This process's CPU (client, core and loop): with the Redis figure, what an operation costs
    // on a machine of its own, whatever else was running.
    nodeCpuUsPerOp: round((node.user + node.system) / ops, 2),
    roundTripsPerOp: round(stats.calls / ops, 2),
    commandsPerOp: round(stats.commands / ops, 2),
  };
}

/**
 * Redis usec of each of the three steps alone: batches of payments run step by step, the cheapest
 * batch of each step kept (on a shared machine the average also measures the other processes:
 * commandstats time is wall time inside the command, preemptions included).
 */
async function stepCosts(redis: Redis, core: RedisTransactionCore, terminal: BenchTerminal, batches: number, size: number) {
  const best = { reserveUs: Infinity, postUs: Infinity, completeUs: Infinity };
  const timed = async (step: keyof typeof best, run: () => Promise<void>) => {
    await redis.config('RESETSTAT');
    await run();
    best[step] = Math.min(best[step], round((await commandStats(redis)).usec / size, 2));
  };
  for (let batch = 0; batch < batches; batch += 1) {
    const pending: PendingTransaction[] = [];
    const posted: PostingResult[] = [];
    await timed('reserveUs', async () => {
      for (let i = 0; i < size; i += 1) {
        const reserved = await core.steps.reservePay(nextContext(terminal), terminal.req);
        if (!('pending' in reserved)) throw new Error('not reserved');
        pending.push(reserved.pending);
      }
    });
    await timed('postUs', async () => {
      for (const txn of pending) posted.push(await core.steps.postPay(txn));
    });
    await timed('completeUs', async () => {
      for (const [i, txn] of pending.entries()) await core.steps.completePay(txn, posted[i]!);
    });
  }
  return { ...best, totalUs: round(best.reserveUs + best.postUs + best.completeUs, 2) };
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const redis = server.client();
  try {
    const { admin, core, merchantId, terminals } = await seedBenchNetwork(redis, Math.max(...CONCURRENCIES));
    const floatBefore = (await admin.showMerchant(merchantId)).floatFen;

    // Warm-up: scripts cached, connections and JIT settled.
    await Promise.all(terminals.map((t) => benchPay(core, t)));
    let paid = terminals.length;

    const payments: Record<string, Awaited<ReturnType<typeof measure>>> = {};
    const baseline: Record<string, Awaited<ReturnType<typeof measure>>> = {};
    for (const concurrency of CONCURRENCIES) {
      baseline[`c${concurrency}`] = await measure(redis, concurrency, async () => {
        await TRIVIAL.run(redis, [], []);
      });
      const figures = await measure(redis, concurrency, (worker) => benchPay(core, terminals[worker]!));
      payments[`c${concurrency}`] = figures;
      paid += figures.ops;
      console.log(
        `concurrency ${concurrency}: ${figures.perSec} payments/s (p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms), ` +
          `baseline ${baseline[`c${concurrency}`]!.perSec} EVALSHA/s; Redis ${figures.redisUsPerOp} µs/payment in commands, ` +
          `${figures.redisMainThreadCpuUsPerOp} µs/payment main-thread CPU, Node ${figures.nodeCpuUsPerOp} µs/payment CPU, ` +
          `${figures.roundTripsPerOp} round trips and ` +
          `${figures.commandsPerOp} commands/payment`,
      );
    }
    const steps = await stepCosts(redis, core, terminals[0]!, STEP_BATCHES, STEP_BATCH_SIZE);
    paid += STEP_BATCHES * STEP_BATCH_SIZE;
    console.log(
      `Redis µs per step (best batch): reserve ${steps.reserveUs}, post ${steps.postUs}, complete ${steps.completeUs}, ` +
        `payment ${steps.totalUs}`,
    );

    const floatAfter = (await admin.showMerchant(merchantId)).floatFen;
    if (floatBefore - floatAfter !== paid * BENCH_AMOUNT_FEN) {
      throw new Error(`float moved ${floatBefore - floatAfter} fen for ${paid} payments of ${BENCH_AMOUNT_FEN}`);
    }

    const ratio = (c: number) => round(payments[`c${c}`]!.perSec / baseline[`c${c}`]!.perSec, 3);
    const c1 = payments.c1!;
    const c64 = payments.c64!;
    console.log(
      JSON.stringify({
        bench: 'core',
        seconds: SECONDS,
        // Redis timings grow when other processes share the CPUs: the load says how busy the machine was.
        loadAverage: loadavg().map((l) => round(l, 2)),
        cpus: cpus().length,
        payments: { c1, c64 },
        baselineEvalsha: { c1: baseline.c1, c64: baseline.c64 },
        ratios: {
          c1PaymentsPerEvalsha: ratio(1),
          c64PaymentsPerEvalsha: ratio(64),
          // A payment is three script calls: against three trivial calls, the ideal is 1.
          c1VsThreeEvalsha: round(ratio(1) * 3, 3),
          c64VsThreeEvalsha: round(ratio(64) * 3, 3),
        },
        // The cost of the code: the three steps' best batches. The phases' averages (payments.*.redisUsPerOp)
        // also hold whatever else the machine was doing.
        redisUsPerPayment: steps.totalUs,
        roundTripsPerPayment: Math.max(c1.roundTripsPerOp, c64.roundTripsPerOp),
        commandsPerPayment: c1.commandsPerOp,
        stepsUs: steps,
        targets: { redisUsPerPayment: 60, roundTripsPerPayment: 3 },
        withinTargets: steps.totalUs <= 60 && Math.max(c1.roundTripsPerOp, c64.roundTripsPerOp) <= 3,
        floatCheckedFen: floatBefore - floatAfter,
      }),
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();
