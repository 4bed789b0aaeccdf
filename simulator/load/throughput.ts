/**
 * Throughput: T terminals, each with one payment in flight at a time (as firmware does), straight
 * to the gateway over TCP, for a fixed time after a warm-up. Latency is from the request's send to
 * its final answer. The baseline of the same run is bench:core's payments per second through the
 * core alone (no TCP, no frames) at concurrency 64, run as its own process just before.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultCode } from '../../protocol/index.js';
import { cpuSeconds } from '../processes.js';
import { LatencyRecorder, distributionOf } from '../report/latency.js';
import { Progress } from '../report/progress.js';
import { MemoryStateStore, Terminal } from '../terminal/index.js';
import { createRandom } from '../link/prng.js';
import type { Stack } from './stack.js';

const BENCH_CORE = fileURLToPath(new URL('../../src/bench/core.js', import.meta.url));

export interface CoreBaseline {
  paymentsPerSec: number | null;
  note: string;
}

/** bench:core's c64 rate, from the last line of its output; null when it could not run. */
export function coreBaseline(seconds: number): Promise<CoreBaseline> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH_CORE], { env: { ...process.env, BENCH_SECONDS: String(seconds) }, timeout: 180_000 }, (error, stdout) => {
      if (error) return resolve({ paymentsPerSec: null, note: `bench:core failed: ${error.message.split('\n')[0]}` });
      try {
        const figures = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { payments: { c64: { perSec: number } } };
        resolve({ paymentsPerSec: figures.payments.c64.perSec, note: `bench:core c64, BENCH_SECONDS=${seconds}` });
      } catch {
        resolve({ paymentsPerSec: null, note: 'bench:core printed no JSON line' });
      }
    });
  });
}

export async function throughput(
  stack: Stack,
  options: {
    durationSec: number;
    warmupSec: number;
    baselineSec: number;
    progress: boolean;
    seed: number;
    /** Other processes the payments cost CPU in (the reference biller), by name: pid. */
    others?: Record<string, number>;
  },
) {
  const others = Object.entries(options.others ?? {});
  const baseline = options.baselineSec > 0 ? await coreBaseline(options.baselineSec) : { paymentsPerSec: null, note: 'skipped' };
  const { network } = stack;
  const terminals = network.terminals.map(
    (t) =>
      new Terminal({
        terminalId: t.terminalId,
        key: t.key,
        gateway: { host: '127.0.0.1', port: stack.gateway.port },
        store: new MemoryStateStore(t.terminalId),
        heartbeatSec: 0,
        random: createRandom(options.seed),
      }),
  );
  await Promise.all(terminals.map((t) => t.signIn()));

  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  const latency = new LatencyRecorder();
  const counts: Record<string, number> = {};
  let measuredStart = 0;
  let approved = 0;
  const loops = terminals.map(async (terminal, index) => {
    // Each terminal pays ¥0.01 at a time into its own slice of the accounts: one in flight each.
    const accounts = network.accounts;
    let n = index;
    while (phase !== 'done') {
      const account = accounts[n % accounts.length]!;
      n += terminals.length;
      const answer = await terminal.pay(account, 1).catch(() => null);
      if (phase !== 'measure') continue;
      const name = answer?.name ?? 'UNREACHABLE';
      counts[name] = (counts[name] ?? 0) + 1;
      if (answer) latency.record(answer.latencyMs);
      if (answer?.code === ResultCode.APPROVED) approved += 1;
    }
  });

  await sleep(options.warmupSec * 1000);
  phase = 'measure';
  measuredStart = performance.now();
  const cpuBefore = { generator: process.cpuUsage(), gateway: cpuSeconds(stack.gateway.pid), redis: stack.redisPid ? cpuSeconds(stack.redisPid) : null };
  const othersBefore = others.map(([, pid]) => cpuSeconds(pid));
  const progress = new Progress(options.durationSec * 1000, () => {
    const elapsed = (performance.now() - measuredStart) / 1000;
    return `${approved} approved, ${Math.round(approved / Math.max(elapsed, 0.001))}/s`;
  }, options.progress);
  progress.start();
  await sleep(options.durationSec * 1000);
  const elapsedSec = (performance.now() - measuredStart) / 1000;
  const measuredApproved = approved;
  const generatorCpu = process.cpuUsage(cpuBefore.generator);
  const gatewayCpu = cpuSeconds(stack.gateway.pid);
  const redisCpu = stack.redisPid ? cpuSeconds(stack.redisPid) : null;
  const othersCpu = others.map(([, pid], i) => {
    const after = cpuSeconds(pid);
    const before = othersBefore[i] ?? null;
    return after === null || before === null ? null : after - before;
  });
  phase = 'done';
  progress.stop();
  await Promise.all(loops);
  for (const t of terminals) t.close();

  const perSec = Math.round(measuredApproved / elapsedSec);
  const percentiles = latency.percentiles();
  // CPU per payment of each process: on a machine shared with other work, this is what says how
  // fast the three would go on two cores of their own.
  const perPayment = (seconds: number | null) => (seconds === null || measuredApproved === 0 ? null : Math.round((seconds * 1e6) / measuredApproved));
  const cpuUs = {
    loadGenerator: perPayment((generatorCpu.user + generatorCpu.system) / 1e6),
    gateway: perPayment(gatewayCpu !== null && cpuBefore.gateway !== null ? gatewayCpu - cpuBefore.gateway : null),
    redis: perPayment(redisCpu !== null && cpuBefore.redis !== null ? redisCpu - cpuBefore.redis : null),
    ...Object.fromEntries(others.map(([name], i) => [name, perPayment(othersCpu[i] ?? null)])),
  };
  const parts = Object.values(cpuUs);
  const totalUs = parts.every((v) => v !== null) ? (parts as number[]).reduce((a, b) => a + b, 0) : null;
  const vsCore = baseline.paymentsPerSec ? Math.round((perSec / baseline.paymentsPerSec) * 1000) / 1000 : null;
  const figures = {
    scenario: 'throughput',
    terminals: terminals.length,
    inFlightPerTerminal: 1,
    durationSec: Math.round(elapsedSec * 100) / 100,
    approved: measuredApproved,
    approvedPerSec: perSec,
    counts,
    latencyMs: percentiles,
    cpuUsPerPayment: { ...cpuUs, total: totalUs },
    /** Two cores' worth of CPU divided by the CPU one payment costs across the three processes. */
    ceilingOnTwoCoresPerSec: totalUs ? Math.round(2e6 / totalUs) : null,
    loadAverage: loadavg()[0],
    baseline: { coreOnlyPaymentsPerSec: baseline.paymentsPerSec, source: baseline.note },
    ratios: { vsCoreOnly: vsCore },
    targets: { approvedPerSec: 8000, p99Ms: 50, vsCoreOnly: 0.5 },
    met: {
      approvedPerSec: perSec >= 8000,
      p99Ms: percentiles.p99 <= 50,
      vsCoreOnly: vsCore === null ? null : vsCore >= 0.5,
    },
  };
  return { figures, timeline: latency.timeline(), distribution: distributionOf(latency.total) };
}
