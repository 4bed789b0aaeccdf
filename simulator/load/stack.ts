/**
 * What a load scenario runs against, all on this machine: Redis (private, AOF everysec, unless
 * REDIS_URL), a network seeded through the operator API, and the gateway as a child process
 * (request logs off: at thousands of requests a second they would measure the log writer).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOperator, type Operator } from '../fleet/operator.js';
import { seedNetwork, type SeededNetwork } from '../fleet/seed.js';
import { startGateway, startRedisServer, type GatewayService, type RedisServer } from '../processes.js';

export interface Stack {
  redisUrl: string;
  /** The private redis-server's pid (null with REDIS_URL), for its CPU time. */
  redisPid: number | null;
  gateway: GatewayService;
  operator: Operator;
  network: SeededNetwork;
  stop(): Promise<void>;
}

export async function startStack(options: {
  outlets: number;
  terminalsPerOutlet: number;
  accounts: number;
  gatewayArgs: string[];
  seed: number;
  log: (line: string) => void;
}): Promise<Stack> {
  const work = mkdtempSync(join(tmpdir(), 'aircharge-load-'));
  let redis: RedisServer | null = null;
  let gateway: GatewayService | null = null;
  let operator: Operator | null = null;
  try {
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      redis = await startRedisServer({ dir: join(work, 'redis') });
      redisUrl = redis.url;
    }
    operator = openOperator(redisUrl, { demo: true });
    const started = Date.now();
    const tag = `L${(Date.now() % 36 ** 2).toString(36).toUpperCase().padStart(2, '0')}`;
    const network = await seedNetwork(operator.admin, {
      tag,
      outlets: options.outlets,
      terminalsPerOutlet: options.terminalsPerOutlet,
      accounts: options.accounts,
      floatFen: 100_000_000,
      seed: options.seed,
    });
    options.log(`seeded ${network.terminals.length} terminals at ${options.outlets} outlets in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    gateway = await startGateway({
      redisUrl,
      logFile: join(work, 'gateway.log'),
      args: ['--log-level', 'warn', '--connection-rate', '0', '--max-connections-per-address', '0', '--request-rate', '0', ...options.gatewayArgs],
    });
    options.log(`gateway pid ${gateway.pid} on port ${gateway.port}, Redis ${redisUrl}`);
    const stack: Stack = {
      redisUrl,
      redisPid: redis?.pid ?? null,
      gateway,
      operator,
      network,
      async stop() {
        // The gateway now: the biller comparison restarts it (biller.ts), and the first one is gone.
        await stack.gateway.stop();
        await operator?.close();
        await redis?.stop();
        rmSync(work, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (error) {
    await gateway?.stop();
    await operator?.close();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}
