/**
 * A real HAProxy as a child process: the shipped configuration (renderHaproxyConfig) written to a
 * private directory and run in the foreground, stopped by `stop()`. Server states come from
 * HAProxy's own stats CSV, so callers wait for what HAProxy decided instead of sleeping. The tests
 * (test/helpers/haproxy.ts) and `npm run bench:workers` both run HAProxy through this.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderHaproxyConfig, type HaproxyOptions } from '../../src/ops/haproxy.js';

export interface HaproxyProcess {
  /** The terminal port (the frontend). */
  port: number;
  statsPort: number;
  pid: number;
  configPath: string;
  /** Each gateway's state as HAProxy sees it: "UP", "DOWN", "UP 1/2" (going down), "MAINT", ... */
  serverStates(): Promise<Map<string, string>>;
  /** Resolves once HAProxy reports `server` in `state` (exactly, so "UP" excludes "UP 1/2"). */
  waitForServer(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The configuration to run; the frontend and the stats page must be on ports the caller chose. */
export type HaproxyRunOptions = Omit<HaproxyOptions, 'stats' | 'adminSocket'> & { stats: { host: string; port: number } };

export async function runHaproxy(options: HaproxyRunOptions): Promise<HaproxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-haproxy-'));
  const configPath = join(dir, 'haproxy.cfg');
  writeFileSync(configPath, renderHaproxyConfig(options));

  // -db: stay in the foreground, so the child is HAProxy itself and stop() reaches it.
  const child = spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { port } = options.bind;
  const statsPort = options.stats.port;

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // hard stop: HAProxy closes every connection and exits
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }

  async function serverStates(): Promise<Map<string, string>> {
    const response = await fetch(`http://${options.stats.host}:${statsPort}/stats;csv`);
    const [header = '', ...rows] = (await response.text()).trim().split('\n');
    const columns = header.replace(/^# /, '').split(',');
    const proxy = columns.indexOf('pxname');
    const server = columns.indexOf('svname');
    const status = columns.indexOf('status');
    const states = new Map<string, string>();
    for (const row of rows) {
      const fields = row.split(',');
      if (fields[proxy] === 'gateways' && fields[server] !== 'BACKEND') states.set(fields[server] ?? '', fields[status] ?? '');
    }
    return states;
  }

  async function waitForServer(server: string, state: 'UP' | 'DOWN', timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen: string | undefined;
    while (Date.now() < deadline) {
      seen = (await serverStates()).get(server);
      if (seen === state) return;
      await sleep(50);
    }
    throw new Error(`HAProxy server ${server} still ${seen ?? 'unknown'} after ${timeoutMs} ms, not ${state}`);
  }

  try {
    await waitForFrontend(options.bind.host, port, () => child.exitCode !== null, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, statsPort, pid: child.pid ?? -1, configPath, serverStates, waitForServer, stop };
}

/** HAProxy binds every listener before it serves any, so an accepted connection means it is up. */
async function waitForFrontend(host: string, port: number, hasExited: () => boolean, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  const address = host === '0.0.0.0' ? '127.0.0.1' : host;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`haproxy exited: ${stderr()}`);
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, address);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    await sleep(50);
  }
  throw new Error(`haproxy did not accept on port ${port} within 10 s: ${stderr()}`);
}
