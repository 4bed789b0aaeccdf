/**
 * Scale-out as operators run it: three `aircharge serve` processes on a 3-master Redis Cluster
 * behind the shipped HAProxy configuration, a fleet of simulated terminals through HAProxy, and
 * one gateway killed mid-run. Its terminals reconnect through HAProxy to the survivors and carry
 * on; the terminals' ledgers reconcile with the journal and `aircharge verify` passes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, startOpsServer, type OpsServer } from '../../src/metrics/index.js';
import { GATEWAY_BIN, startGateway, type GatewayService } from '../../simulator/processes.js';
import { startRedisCluster, type RedisClusterProcess } from '../helpers/cluster.js';
import { startHaproxy, type HaproxyProcess } from '../helpers/haproxy.js';

const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');

interface Instance {
  name: string;
  gateway: GatewayService;
  /**
   * HAProxy checks /ready on a metrics port. Until `aircharge serve` serves its own (issue 7,
   * `--metrics-port`), this one stands in for it: ready while the gateway process lives.
   */
  readiness: OpsServer;
}

function run(file: string, args: string[], timeout: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * startGateway picks a port with listen(0) and the gateway binds it a moment later; on a machine
 * busy with loopback connections an outgoing connection can take it in between (EADDRINUSE).
 */
async function startGatewayRetrying(options: Parameters<typeof startGateway>[0]): Promise<GatewayService> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGateway(options);
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

describe('three gateways on a Redis Cluster behind HAProxy', () => {
  let cluster: RedisClusterProcess;
  let haproxy: HaproxyProcess;
  let work: string;
  const instances: Instance[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aircharge-scale-out-'));
    cluster = await startRedisCluster();
    for (const name of ['gw1', 'gw2', 'gw3']) {
      const gateway = await startGatewayRetrying({
        // One seed node: `serve --redis` does not take the comma-separated node list yet.
        redisUrl: `redis+cluster://127.0.0.1:${cluster.nodes[0]!.port}`,
        logFile: join(work, `${name}.log`),
        // Behind HAProxy every terminal has HAProxy's address: the per-address limit is HAProxy's.
        // Recovery every second, so a payment cut off by the kill is settled within the run.
        args: ['--instance-id', name, '--connection-rate', '0', '--recovery-interval', '1'],
      });
      const alive = () => gateway.process.exitCode === null && gateway.process.signalCode === null;
      const readiness = await startOpsServer({ port: 0, metrics: createMetrics({ processMetrics: false }), ready: alive });
      instances.push({ name, gateway, readiness });
    }
    haproxy = await startHaproxy({
      gateways: instances.map((i) => ({ name: i.name, host: '127.0.0.1', port: i.gateway.port, checkPort: i.readiness.port })),
      check: { intervalMs: 500, fall: 2, rise: 1 },
    });
    for (const i of instances) await haproxy.waitForServer(i.name, 'UP');
  });

  /** Requests a gateway has answered so far: it logs one "request" line per answer. */
  function requestsLogged(name: string): number {
    return readFileSync(join(work, `${name}.log`), 'utf8').split('"msg":"request"').length - 1;
  }

  afterAll(async () => {
    await haproxy?.stop();
    for (const i of instances) {
      await i.gateway.stop();
      await i.readiness.close();
    }
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('keeps every terminal going when one gateway is killed mid-run, and the books balance', async () => {
    const fleet = run(
      SIM,
      ['fleet', '--terminals', '24', '--duration', '8', '--link', 'good', '--think', '300', '--timeout', '2000',
        '--seed', '11', '--port', String(haproxy.port), '--redis', cluster.url, '--demo', '--quiet', '--accounts', '100'],
      120_000,
    );
    // Kill once gw2 is serving terminals (the fleet first seeds merchants, terminals and accounts).
    const deadline = Date.now() + 60_000;
    while (requestsLogged('gw2') < 20) {
      if (Date.now() > deadline) throw new Error(`gw2 answered no requests within 60 s: ${(await fleet).stderr}`);
      await sleep(100);
    }
    instances[1]!.gateway.process.kill('SIGKILL');
    await haproxy.waitForServer('gw2', 'DOWN');

    const { code, stdout, stderr } = await fleet;
    const figures = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      answers: number;
      counts: { pay: Record<string, number> };
      events: { reconnects: number };
      refused: unknown[];
      reconciliation: { ok: boolean; mismatches: string[]; unfinished: number; verify: boolean };
    };
    expect(figures.reconciliation.mismatches, stderr).toEqual([]);
    expect(code).toBe(0);
    expect(figures.reconciliation.ok).toBe(true);
    expect(figures.reconciliation.unfinished).toBe(0);
    expect(figures.refused).toEqual([]);
    expect(figures.counts.pay.APPROVED).toBeGreaterThan(0);
    // gw2's terminals lost their connection and came back through HAProxy.
    expect(figures.events.reconnects).toBeGreaterThan(0);

    const verify = await run(GATEWAY_BIN, ['verify', '--redis', cluster.url], 30_000);
    expect(verify.stdout + verify.stderr).toMatch(/verify: OK/);
    expect(verify.code).toBe(0);
    // The survivors are still in rotation.
    const states = await haproxy.serverStates();
    expect([states.get('gw1'), states.get('gw2'), states.get('gw3')]).toEqual(['UP', 'DOWN', 'UP']);
  }, 120_000);
});
