/**
 * The processes a demo or a load run stands up on one machine: a private redis-server (AOF,
 * fsync every second, as the README documents for production) and the gateway as a child
 * process (`aircharge serve`), each logging to a file in a work directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../src/ops/redis-server.js';

export {
  freePort,
  MissingRedisServer,
  startRedisServer,
  type RedisServer,
} from '../src/ops/redis-server.js';

/**
 * The built gateway CLI: dist/simulator/processes.js → dist/src/cli/main.js. Tests run this module
 * from source (simulator/processes.ts); they use the build too, as the suite builds first.
 */
export const GATEWAY_BIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../dist/src/cli/main.js' : '../src/cli/main.js', import.meta.url),
);

/** The built simulator CLI (`aircharge-sim`), found the same way. */
export const SIM_BIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../dist/simulator/cli/main.js' : './cli/main.js', import.meta.url),
);

export interface ChildService {
  process: ChildProcess;
  pid: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
}

function service(child: ChildProcess, logFile: string): ChildService {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    process: child,
    pid: child.pid ?? -1,
    logFile,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if ((await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) === false) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * With AIRCHARGE_CPU_PROF=DIR every node process started here (gateway, reference biller) writes a
 * V8 CPU profile there when it exits (node --cpu-prof, which NODE_OPTIONS does not take): how the
 * load run's processes were profiled.
 */
function profiled(command: string, args: string[]): string[] {
  const dir = process.env.AIRCHARGE_CPU_PROF;
  return dir && command === process.execPath ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...args] : args;
}

/** Runs detached from this process when `detached`: it keeps running after we exit (demo --keep). */
function spawnLogged(command: string, args: string[], logFile: string, detached: boolean, env?: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, profiled(command, args), { stdio: ['ignore', fd, fd], detached, env: env ?? process.env });
    if (detached) child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

export interface GatewayService extends ChildService {
  port: number;
}

/**
 * `aircharge serve --demo` on a free port; resolves once it logs its "listening" line. Extra
 * arguments (limits, log level) are passed through.
 */
export async function startGateway(options: {
  redisUrl: string;
  logFile: string;
  args?: string[];
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<GatewayService> {
  const port = await freePort();
  const args = [GATEWAY_BIN, 'serve', '--demo', '--allow-unauthenticated-redis', '--host', '127.0.0.1', '--port', String(port), '--redis', options.redisUrl, ...(options.args ?? [])];
  const child = spawnLogged(process.execPath, args, options.logFile, options.detached ?? false, options.env);
  const handle = service(child, options.logFile);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}; see ${options.logFile}`);
    // The "listening" log line, or (with --log-level above info) the port taking connections.
    if (listening(options.logFile) || (await accepts(port))) return { ...handle, port };
    if (Date.now() > deadline) {
      await handle.stop(1000);
      throw new Error(`the gateway did not log "listening" within 30 s; see ${options.logFile}`);
    }
    await sleep(50);
  }
}

export interface BillerService extends ChildService {
  port: number;
  url: string;
}

/**
 * The reference billing system (`aircharge-sim biller`) on `port` (default: a free one; give the
 * old port to restart it where the gateway looks), over `dataDir`; resolves once it listens.
 */
export async function startReferenceBiller(options: {
  dataDir: string;
  logFile: string;
  port?: number;
  secretFile?: string;
  args?: string[];
}): Promise<BillerService> {
  const port = options.port ?? (await freePort());
  const args = [SIM_BIN, 'biller', '--host', '127.0.0.1', '--port', String(port), '--data', options.dataDir,
    ...(options.secretFile === undefined ? [] : ['--secret-file', options.secretFile]), ...(options.args ?? [])];
  const child = spawnLogged(process.execPath, args, options.logFile, false);
  const handle = service(child, options.logFile);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the biller exited with ${child.exitCode}; see ${options.logFile}`);
    if (await accepts(port)) return { ...handle, port, url: `${(options.args ?? []).includes('--tls-cert') ? 'https' : 'http'}://127.0.0.1:${port}` };
    if (Date.now() > deadline) {
      await handle.stop(1000);
      throw new Error(`the biller did not listen within 30 s; see ${options.logFile}`);
    }
    await sleep(50);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listening(logFile: string): boolean {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return false;
  }
  return text.split('\n').some((line) => {
    if (!line.startsWith('{')) return false;
    try {
      return (JSON.parse(line) as { msg?: string }).msg === 'listening';
    } catch {
      return false;
    }
  });
}

/** Resident set size of a process, in bytes, from /proc/<pid>/status (Linux). */
export function residentBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used, in seconds, from /proc/<pid>/stat (Linux, 100 Hz ticks). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100;
