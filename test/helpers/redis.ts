/**
 * Real redis-server processes for the tests: each on a free port with its own data directory,
 * AOF on (the durability the gateway documents), stopped and removed by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/**
 * A port to listen on, taken below the kernel's ephemeral range: a port the kernel handed out for
 * `listen(0)` is an ephemeral one, and while a load run holds thousands of loopback connections
 * an outgoing connection can take it as its source port before our server binds it (EADDRINUSE).
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

export interface RedisProcess {
  port: number;
  url: string;
  dir: string;
  /** The running redis-server (after restart(), the new one). */
  readonly process: ChildProcess;
  /** A fresh client; the caller quits it. */
  client(): Redis;
  /** SIGKILL-free stop: SHUTDOWN NOSAVE is not used, so AOF is flushed as Redis does on SIGTERM. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /**
   * Stops and starts the server on the same port and data directory, in place: this handle (and
   * every copy of it a fixture captured) then stops the new process. Returns this handle.
   */
  restart(): Promise<RedisProcess>;
}

export interface RedisOptions {
  port?: number;
  dir?: string;
  appendfsync?: 'always' | 'everysec' | 'no';
  extraArgs?: string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'aircharge-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', options.appendfsync ?? 'everysec',
    '--daemonize', 'no',
    '--logfile', join(dir, 'redis.log'),
    ...(options.extraArgs ?? []),
  ];

  // The current server process. restart() replaces it here rather than returning a second handle:
  // a test that kept the first handle would otherwise "stop" the dead process, delete the data
  // directory and leave the restarted redis-server running with nobody to stop it.
  let server = await spawnServer(args, port);

  const handle: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get process() {
      return server.child;
    },
    client: () => new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 3 }),
    async stop({ keepData = false } = {}) {
      const { child, exited } = server;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      }
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await handle.stop({ keepData: true });
      server = await spawnServer(args, port);
      return handle;
    },
  };
  return handle;
}

async function spawnServer(args: string[], port: number): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPing(port, child);
  return { child, exited };
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') {
        probe.disconnect();
        return;
      }
    } catch {
      // not up yet
    }
    probe.disconnect();
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
}
