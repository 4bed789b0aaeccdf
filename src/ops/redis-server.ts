/**
 * A private redis-server process: the one launcher behind the demo, the benchmarks, the load and
 * chaos scripts and the tests. A free port, its own data directory, AOF on with the fsync policy
 * the README documents (everysec unless asked otherwise), logs in `<dir>/redis.log`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export class MissingRedisServer extends Error {
  constructor() {
    super(
      'redis-server is not installed (not found on PATH). Install it (Debian/Ubuntu: sudo apt-get install redis-server; ' +
        'macOS: brew install redis), or point the demo at a Redis you run: REDIS_URL=redis://host:6379 npm run demo',
    );
    this.name = 'MissingRedisServer';
  }
}

/**
 * A port to listen on, taken below the kernel's ephemeral range: a port the kernel hands out for
 * `listen(0)` is an ephemeral one, and while a load run holds thousands of loopback connections an
 * outgoing connection can take it as its source port before our server binds it (EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const ephemeralLow = ephemeralRangeStart();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (ephemeralLow - 10_000));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found below ${ephemeralLow}`);
}

function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768; // Linux's default; other systems start theirs higher still
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface RedisServerOptions {
  port?: number;
  /** Data directory; created when missing. Without one a temporary directory is made, and removed by stop(). */
  dir?: string;
  appendfsync?: 'always' | 'everysec' | 'no';
  extraArgs?: string[];
  /** Keep running after this process exits (demo --keep). */
  detached?: boolean;
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  logFile: string;
  /** The running redis-server (after restart(), the new one). */
  readonly process: ChildProcess;
  readonly pid: number;
  /** A fresh client; the caller quits it. */
  client(): Redis;
  /**
   * SIGTERM (Redis flushes its AOF), SIGKILL after `graceMs`. The data directory is removed when
   * this launcher made it, unless `keepData`.
   */
  stop(options?: { keepData?: boolean; graceMs?: number }): Promise<void>;
  /**
   * Stops the server with `signal` (SIGKILL: a crash) and starts it again on the same port and data
   * directory, in place: this handle, and every copy of it, then refers to the new process.
   */
  restart(options?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<RedisServer>;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new MissingRedisServer();
  const port = options.port ?? (await freePort());
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'aircharge-redis-'));
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'redis.log');
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', options.appendfsync ?? 'everysec',
    '--daemonize', 'no',
    '--logfile', logFile,
    ...(options.extraArgs ?? []),
  ];
  const detached = options.detached ?? false;

  // The current server process. restart() replaces it here rather than returning a second handle:
  // a caller that kept the first handle would otherwise "stop" the dead process and leave the
  // restarted redis-server running with nobody to stop it.
  let server = await spawnServer(args, port, logFile, detached);

  const terminate = async (signal: 'SIGTERM' | 'SIGKILL', graceMs: number) => {
    const { child, exited } = server;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([exited, sleep(graceMs)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };

  const handle: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    logFile,
    get process() {
      return server.child;
    },
    get pid() {
      return server.child.pid ?? -1;
    },
    client: () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3 }),
    async stop({ keepData = !ownsDir, graceMs = 5000 } = {}) {
      await terminate('SIGTERM', graceMs);
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
    async restart({ signal = 'SIGTERM' } = {}) {
      await terminate(signal, 5000);
      server = await spawnServer(args, port, logFile, detached);
      return handle;
    },
  };
  return handle;
}

async function spawnServer(
  args: string[],
  port: number,
  logFile: string,
  detached: boolean,
): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn('redis-server', args, { stdio: 'ignore', detached });
  if (detached) child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}; see ${logFile}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    const up = await probe
      .connect()
      .then(() => probe.ping())
      .then((pong) => pong === 'PONG')
      .catch(() => false);
    probe.disconnect();
    if (up) return { child, exited };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s; see ${logFile}`);
    }
    await sleep(50);
  }
}
