/**
 * What the gateway tests share: a real redis-server seeded through the operator API (a merchant
 * with float, terminals, accounts), and gateways run in-process on port 0 over the real core.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { createCore } from '../../src/core/index.js';
import type { BusinessDayOptions } from '../../src/core/business-day.js';
import { Gateway, type GatewayLimits } from '../../src/gateway/index.js';
import type { DestinationStream } from 'pino';
import { createLogger, type LogLevel } from '../../src/log.js';
import type { Metrics } from '../../src/metrics/index.js';
import type { RedisBackend } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { TestTerminal } from '../helpers/terminal.js';

export const MASTER_KEY = randomBytes(32);
export const MERCHANT = 'shop-1';
export const FLOAT_FEN = 1_000_000;
/** Accounts at the embedded biller: each owes ¥300.00. */
export const ACCOUNTS = ['0000000001', '0000000002', '0000000003'];
export const ARREARS_FEN = 30_000;

/** `B`: the store, a single redis-server unless a suite runs on a cluster (REDIS_BACKENDS). */
export interface Network<B extends RedisBackend = RedisProcess> {
  redis: B;
  /** Client the tests read state with. */
  client: Redis | Cluster;
  admin: Admin;
  /** Provisions one more terminal of MERCHANT and returns its id and clear key. */
  addTerminal(): Promise<{ terminalId: string; key: Buffer }>;
  stop(): Promise<void>;
}

let terminalCounter = 0;

export async function startNetwork(): Promise<Network>;
export async function startNetwork<B extends RedisBackend>(start: () => Promise<B>): Promise<Network<B>>;
export async function startNetwork(start: () => Promise<RedisBackend> = startRedis): Promise<Network<RedisBackend>> {
  const redis = await start();
  const client = redis.client();
  client.on('error', () => {}); // a test may stop Redis on purpose
  const admin = createAdmin({ redis: client, masterKey: MASTER_KEY, operator: 'test' });
  try {
    await admin.addMerchant(MERCHANT, 'Village shop');
    await admin.topUp(MERCHANT, FLOAT_FEN);
    await admin.importAccounts(
      ['account,name,bill_id,period,amount,issue_date,status', ...ACCOUNTS.map((account) => `${account},Zhang San Feng,B1,202609,300.00,2026-09-05,open`)].join('\n'),
    );
  } catch (error) {
    // The caller never gets the network to stop: stop its Redis here.
    client.disconnect();
    await redis.stop();
    throw error;
  }
  return {
    redis,
    client,
    admin,
    async addTerminal() {
      terminalCounter += 1;
      const terminalId = `T${String(terminalCounter).padStart(7, '0')}`;
      const provisioned = await admin.addTerminal(terminalId, MERCHANT);
      return { terminalId, key: Buffer.from(provisioned.key, 'hex') };
    },
    async stop() {
      client.disconnect();
      await redis.stop();
    },
  };
}

export interface RunningGateway {
  gateway: Gateway;
  server: Server;
  port: number;
  redis: Redis | Cluster;
  /** Opens a test terminal to this gateway. */
  connect(terminal: { terminalId: string; key: Buffer }, seq?: number): Promise<TestTerminal>;
  stop(): Promise<void>;
}

export async function startGateway(
  network: Network<RedisBackend>,
  options: {
    instanceId?: string;
    limits?: Partial<GatewayLimits>;
    logLevel?: LogLevel;
    businessDay?: BusinessDayOptions;
    /** Where log lines go (a test that counts them); default stdout. */
    logTo?: DestinationStream;
    metrics?: Metrics;
    /** Connections start with a PROXY v2 header (behind HAProxy's send-proxy-v2). */
    proxyProtocol?: boolean;
    /** The core's INQUIRY quota per terminal (default none). */
    inquiryQuota?: { perWindow: number; windowSec: number };
  } = {},
): Promise<RunningGateway> {
  const redis = network.redis.client();
  redis.on('error', () => {}); // a test may stop Redis on purpose; the gateway answers SYSTEM_BUSY
  const logger = createLogger({ level: options.logLevel ?? (process.env.TEST_LOG_LEVEL as LogLevel | undefined) ?? 'silent' }, options.logTo);
  const businessDay = options.businessDay === undefined ? {} : { businessDay: options.businessDay };
  const quota = options.inquiryQuota === undefined ? {} : { inquiryQuota: options.inquiryQuota };
  const { sessions, core } = await createCore({ redis, masterKey: MASTER_KEY, logger, ...businessDay, ...quota });
  const gateway = new Gateway({
    sessions,
    core,
    redis,
    instanceId: options.instanceId ?? `gw${randomBytes(3).toString('hex')}`,
    logger,
    // Tests open many connections from 127.0.0.1 and send bursts: no rate limit unless a test asks for one.
    limits: { connectionRatePerSec: 0, requestRatePerSec: 0, maxConnectionsPerAddress: 0, ...options.limits },
    ...businessDay,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.proxyProtocol === undefined ? {} : { proxyProtocol: options.proxyProtocol }),
  });
  await gateway.ready();
  const server = createServer(gateway.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    gateway,
    server,
    port,
    redis,
    connect: (terminal, seq) => TestTerminal.connect(port, terminal.terminalId, terminal.key, seq === undefined ? {} : { seq }),
    async stop() {
      server.close();
      await gateway.drain(1000);
      redis.disconnect();
    },
  };
}

/** The merchant's float, read straight from Redis through the operator API. */
export async function floatFen(network: Network<RedisBackend>): Promise<number> {
  return (await network.admin.showMerchant(MERCHANT)).floatFen;
}

export async function arrearsFen(network: Network<RedisBackend>, account: string): Promise<number> {
  return (await network.admin.showAccount(account)).arrearsFen;
}
