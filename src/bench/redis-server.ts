/**
 * A throwaway redis-server for benchmarks: a free port, its own temp directory, AOF on with fsync
 * every second (the durability the gateway documents). src/ cannot import the test helpers, so
 * benchmarks start Redis with this.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface BenchRedis {
  port: number;
  client(): Redis;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'everysec', '--logfile', join(dir, 'redis.log')],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  const client = () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  for (let attempt = 0; ; attempt += 1) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (attempt > 200 || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error('redis-server did not start (is it installed and on PATH?)');
      }
      await sleep(50);
    }
  }
  return {
    port,
    client,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
