/**
 * A Redis master that stops answering mid-run (frozen with SIGSTOP for longer than the cluster's
 * node timeout, so the cluster itself goes down) and comes back: terminals get SYSTEM_BUSY or no
 * answer and retransmit, payments cut off between their steps are finished by recovery, and the
 * terminals' ledgers, the journal and `aircharge verify` agree afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_BIN, startGateway, type GatewayService } from '../../simulator/processes.js';
import { startRedisCluster, type RedisClusterProcess } from '../helpers/cluster.js';

const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');

function run(file: string, args: string[], timeout: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('a Redis master that freezes and comes back', () => {
  let cluster: RedisClusterProcess;
  let gateway: GatewayService;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aircharge-redis-stall-'));
    cluster = await startRedisCluster({ nodeTimeoutMs: 2_000 });
    gateway = await startGateway({
      redisUrl: `redis+cluster://127.0.0.1:${cluster.nodes[0]!.port}`,
      logFile: join(work, 'gateway.log'),
      args: ['--connection-rate', '0', '--max-connections-per-address', '0', '--recovery-interval', '1'],
    });
  }, 60_000);

  /** Requests the gateway has answered so far: it logs one "request" line per answer. */
  function requestsLogged(): number {
    return readFileSync(join(work, 'gateway.log'), 'utf8').split('"msg":"request"').length - 1;
  }

  afterAll(async () => {
    for (const p of cluster?.processes ?? []) p.process.kill('SIGCONT');
    await gateway?.stop();
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('loses no payment and applies none twice', async () => {
    const fleet = run(
      SIM,
      ['fleet', '--terminals', '12', '--duration', '10', '--link', 'good', '--think', '300', '--timeout', '2000',
        '--seed', '5', '--port', String(gateway.port), '--redis', cluster.url, '--demo', '--quiet', '--accounts', '60'],
      150_000,
    );
    // Freeze once payments flow (the fleet first seeds merchants, terminals and accounts).
    const deadline = Date.now() + 60_000;
    let ended = false;
    void fleet.then(() => (ended = true));
    while (requestsLogged() < 30) {
      if (ended || Date.now() > deadline) throw new Error(`the gateway did not answer 30 requests: ${(await fleet).stderr}`);
      await sleep(100);
    }
    const master = cluster.processes[0]!.process;
    master.kill('SIGSTOP');
    await sleep(6_000); // three node timeouts: the other masters mark it failed, the cluster goes down
    master.kill('SIGCONT');

    const { code, stdout, stderr } = await fleet;
    const figures = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      counts: { pay: Record<string, number> };
      events: { retransmits: number; timeouts: number };
      reconciliation: { ok: boolean; mismatches: string[]; unfinished: number };
    };
    expect(figures.reconciliation.mismatches, stderr).toEqual([]);
    expect(code).toBe(0);
    expect(figures.reconciliation.ok).toBe(true);
    expect(figures.reconciliation.unfinished).toBe(0);
    expect(figures.counts.pay.APPROVED).toBeGreaterThan(0);
    // The freeze was felt: requests went unanswered and were sent again.
    expect(figures.events.timeouts + figures.events.retransmits).toBeGreaterThan(0);

    const verify = await run(GATEWAY_BIN, ['verify', '--demo', '--redis', cluster.url], 30_000);
    expect(verify.stdout + verify.stderr).toMatch(/verify: OK/);
    expect(verify.code).toBe(0);
  }, 150_000);
});
