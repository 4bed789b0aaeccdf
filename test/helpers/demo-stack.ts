/**
 * A demo gateway (`aircharge serve --demo`, a process) on its own redis-server, with an admin API
 * on the same Redis under the demo master key: what the fleet tests drive their simulators
 * against. The gateway runs without connection-rate and per-address limits (every simulated
 * terminal comes from 127.0.0.1). stop() stops what start started, whatever of it did start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { startGateway, type GatewayService } from '../../simulator/processes.js';
import { startRedis, type RedisProcess } from './redis.js';

export interface DemoStack {
  redis: RedisProcess;
  client: Redis;
  admin: Admin;
  gateway: GatewayService;
  stop(): Promise<void>;
}

export async function startDemoStack(name: string): Promise<DemoStack> {
  const work = mkdtempSync(join(tmpdir(), `aircharge-${name}-`));
  let redis: RedisProcess | undefined;
  let client: Redis | undefined;
  let gateway: GatewayService | undefined;
  const stop = async () => {
    await gateway?.stop();
    client?.disconnect();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    redis = await startRedis();
    client = redis.client();
    const admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'test' });
    gateway = await startGateway({ redisUrl: redis.url, logFile: join(work, 'gateway.log'), args: ['--connection-rate', '0', '--max-connections-per-address', '0'] });
    return { redis, client, admin, gateway, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
