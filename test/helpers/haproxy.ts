/**
 * A real HAProxy for the tests: the shipped configuration (renderHaproxyConfig) for the given
 * gateways, with its frontend and stats page on free ports, run in the foreground as a child
 * process, stopped by `stop()`. Server states come from HAProxy's own stats CSV, so tests wait
 * for what HAProxy decided instead of sleeping.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderHaproxyConfig, type HaproxyOptions } from '../../src/ops/haproxy.js';
import { freePort } from './redis.js';

export interface HaproxyProcess {
  /** The terminal port (the frontend). */
  port: number;
  statsPort: number;
  configPath: string;
  /** Each gateway's state as HAProxy sees it: "UP", "DOWN", "UP 1/2" (going down), "MAINT", ... */
  serverStates(): Promise<Map<string, string>>;
  /** Resolves once HAProxy reports `server` in `state` (exactly, so "UP" excludes "UP 1/2"). */
  waitForServer(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export type HaproxyTestOptions = Omit<HaproxyOptions, 'bind' | 'stats' | 'adminSocket'>;

export async function startHaproxy(options: HaproxyTestOptions): Promise<HaproxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-haproxy-'));
  const port = await freePort();
  const statsPort = await freePort();
  const configPath = join(dir, 'haproxy.cfg');
  writeFileSync(
    configPath,
    // maxconn sizes HAProxy's file-descriptor limit (two per connection); keep it under the
    // test machine's ulimit unless a test asks for more.
    renderHaproxyConfig({ maxConnections: 1_000, ...options, bind: { host: '127.0.0.1', port }, stats: { host: '127.0.0.1', port: statsPort } }),
  );

  // -db: stay in the foreground, so the child is HAProxy itself and stop() reaches it.
  const child = spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

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
    const response = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
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
    await waitForFrontend(port, () => child.exitCode !== null, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, statsPort, configPath, serverStates, waitForServer, stop };
}

/** HAProxy binds every listener before it serves any, so an accepted connection means it is up. */
async function waitForFrontend(port: number, hasExited: () => boolean, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`haproxy exited: ${stderr()}`);
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
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
