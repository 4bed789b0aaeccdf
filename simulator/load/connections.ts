/**
 * Connection scale and the reconnect storm. N terminals sign in (a bounded number at a time, as
 * terminals in a real network come up over minutes, not in one millisecond) and then heartbeat;
 * the gateway's resident memory per connection is read from /proc/<pid>/status of the gateway
 * process before and after. The storm drops every connection at once; each terminal reconnects
 * and signs in again with its own backoff, and the clock runs until the last one is back.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultCode } from '../../protocol/index.js';
import { createRandom } from '../link/prng.js';
import { cpuSeconds, residentBytes } from '../processes.js';
import { Progress } from '../report/progress.js';
import { MemoryStateStore, Terminal } from '../terminal/index.js';
import type { Stack } from './stack.js';

async function inBatches<T>(items: T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

export async function connections(
  stack: Stack,
  options: { holdSec: number; heartbeatSec: number; signInWidth: number; storm: boolean; spreadMs: number; progress: boolean; seed: number },
) {
  const { network, gateway } = stack;
  const n = network.terminals.length;
  await sleep(500);
  const rssIdle = residentBytes(gateway.pid);
  // Heartbeats run all along; CPU figures are per request answered (sign-ins and heartbeats).
  let heartbeats = 0;
  const terminals = network.terminals.map(
    (t, i) =>
      new Terminal({
        terminalId: t.terminalId,
        key: t.key,
        gateway: { host: '127.0.0.1', port: gateway.port },
        store: new MemoryStateStore(t.terminalId),
        heartbeatSec: options.heartbeatSec,
        responseTimeoutMs: 10_000,
        requestDeadlineMs: 120_000,
        backoff: { baseMs: 200, maxMs: 5000 },
        reconnectSpreadMs: options.spreadMs,
        random: createRandom(options.seed + i),
        onEvent: (event) => {
          if (event.kind === 'heartbeat') heartbeats += 1;
        },
      }),
  );

  let signedIn = 0;
  const refused: Record<string, number> = {};
  const signInStarted = performance.now();
  let cpu = cpuMark(stack);
  let beatsAtMark = heartbeats;
  const progress = new Progress(Math.max(1000, n), () => `${signedIn}/${n} signed in`, options.progress);
  progress.start();
  await inBatches(terminals, options.signInWidth, async (t) => {
    const answer = await t.signIn().catch(() => null);
    if (answer?.code === ResultCode.APPROVED) signedIn += 1;
    else refused[answer?.name ?? 'UNREACHABLE'] = (refused[answer?.name ?? 'UNREACHABLE'] ?? 0) + 1;
  });
  progress.stop();
  const signInSec = (performance.now() - signInStarted) / 1000;
  const signInCpu = { ...cpuPer(cpu, cpuMark(stack), signedIn + heartbeats - beatsAtMark), heartbeats: heartbeats - beatsAtMark };

  // Hold: every terminal heartbeats on its own timer; the gateway holds them all.
  cpu = cpuMark(stack);
  beatsAtMark = heartbeats;
  await sleep(options.holdSec * 1000);
  const holdCpu = { ...cpuPer(cpu, cpuMark(stack), heartbeats - beatsAtMark), heartbeats: heartbeats - beatsAtMark };
  const rssHeld = residentBytes(gateway.pid);
  const stillSignedIn = terminals.filter((t) => t.signedIn).length;
  const perConnection = rssIdle !== null && rssHeld !== null && signedIn > 0 ? Math.round((rssHeld - rssIdle) / signedIn) : null;

  const figures: Record<string, unknown> = {
    scenario: options.storm ? 'storm' : 'connections',
    terminals: n,
    signedIn,
    refused,
    signInSec: round(signInSec),
    signInsPerSec: Math.round(signedIn / signInSec),
    cpuUsPerRequestSigningIn: signInCpu,
    loadAverage: loadavg()[0],
    holdSec: options.holdSec,
    cpuUsPerHeartbeatHolding: holdCpu,
    heartbeatSec: options.heartbeatSec,
    stillSignedInAfterHold: stillSignedIn,
    gatewayRssIdleBytes: rssIdle,
    gatewayRssHeldBytes: rssHeld,
    gatewayRssPerConnectionBytes: perConnection,
    targets: { terminals: 19_000, rssPerConnectionBytes: 6 * 1024 },
    met: { rssPerConnection: perConnection === null ? null : perConnection <= 6 * 1024, terminals: signedIn >= 19_000 },
  };

  if (options.storm) {
    // Every link drops at the same moment (a cell tower reboots); all come back at once.
    const cutAt = performance.now();
    cpu = cpuMark(stack);
    beatsAtMark = heartbeats;
    for (const t of terminals) t.disconnect();
    let back = 0;
    const stormProgress = new Progress(10_000, () => `${back}/${n} signed in again`, options.progress);
    stormProgress.start();
    const failed: Record<string, number> = {};
    await Promise.all(
      terminals.map(async (t) => {
        const answer = await t.signIn().catch(() => null);
        if (answer?.code === ResultCode.APPROVED) back += 1;
        else failed[answer?.name ?? 'UNREACHABLE'] = (failed[answer?.name ?? 'UNREACHABLE'] ?? 0) + 1;
      }),
    );
    stormProgress.stop();
    const stormSec = (performance.now() - cutAt) / 1000;
    Object.assign(figures, {
      storm: { reconnectSpreadMs: options.spreadMs, cut: n, signedInAgain: back, failed, secondsUntilAllBack: round(stormSec), cpuUsPerRequest: { ...cpuPer(cpu, cpuMark(stack), back + heartbeats - beatsAtMark), heartbeats: heartbeats - beatsAtMark } },
      targets: { ...(figures.targets as object), stormSec: 10 },
      met: { ...(figures.met as object), storm: back === n && stormSec <= 10 },
    });
  }
  for (const t of terminals) t.close();
  return figures;
}

interface CpuMark {
  generator: NodeJS.CpuUsage;
  gateway: number | null;
  redis: number | null;
}

function cpuMark(stack: Stack): CpuMark {
  return { generator: process.cpuUsage(), gateway: cpuSeconds(stack.gateway.pid), redis: stack.redisPid ? cpuSeconds(stack.redisPid) : null };
}

/** CPU microseconds per request of each process between two marks. */
function cpuPer(from: CpuMark, to: CpuMark, count: number) {
  const per = (a: number | null, b: number | null) => (a === null || b === null || count === 0 ? null : Math.round(((b - a) * 1e6) / count));
  const generator = to.generator.user + to.generator.system - from.generator.user - from.generator.system;
  return { loadGenerator: count ? Math.round(generator / count) : null, gateway: per(from.gateway, to.gateway), redis: per(from.redis, to.redis) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
