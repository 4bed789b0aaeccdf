/**
 * `aircharge serve`: the gateway process. It owns what the Gateway does not: flags and
 * environment, the Redis connection, the listening socket, periodic recovery and signals.
 * Exit codes: 0 after a graceful drain, 1 on a runtime failure (Redis, port in use), 2 on bad
 * configuration.
 */
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import type { Cluster, Redis } from 'ioredis';
import type { ConnectedBiller } from '../biller/connect.js';
import type { Command } from 'commander';
import { buildInfo } from '../build-info.js';
import { ConfigError, SERVE_SETTINGS, resolveServeConfig } from '../config.js';
import type { BillerConfig, ServeConfig } from '../config.js';
import { createCore } from '../core/index.js';
import { Gateway } from '../gateway/index.js';
import { RedisHealth } from '../gateway/redis-health.js';
import { createLogger } from '../log.js';
import { createMetrics, instrumentRedis, startOpsServer, type Metrics } from '../metrics/index.js';
import { checkMasterKey, masterKeyVersions } from '../store/key-check.js';
import { keys } from '../store/keys.js';
import { DEMO_MASTER_KEY, MasterKeyError, MasterKeys, PREVIOUS_MASTER_KEY_ENV, takeMasterKey, takePreviousMasterKey } from '../store/secrets.js';
import { acceptsAnonymous, connectRedis, warnDefaultRedis } from './redis.js';
import { redactRedisUrl } from '../redis-url.js';

/** How often postings queued while the biller was down are forwarded (only queued ones cost a call). */
const BILLER_QUEUE_INTERVAL_MS = 2_000;

/** The HttpBiller (connect.ts), loaded only when asked for: every admin command starts through the same CLI, and undici is heavy. */
async function createBiller(config: BillerConfig, metrics: Metrics | undefined, logger: Logger): Promise<ConnectedBiller> {
  const { connectBiller } = await import('../biller/connect.js');
  return connectBiller(config, { logger, ...(metrics === undefined ? {} : { registry: metrics.registry }) });
}

/** Beyond the drain timeout, the time Redis gets to quit before the process exits anyway. */
export const EXIT_GRACE_MS = 3000;

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('Run the gateway: terminals connect over TCP, state lives in Redis');
  for (const setting of SERVE_SETTINGS) {
    const shown = setting.default === undefined ? '' : ` (default: ${setting.default})`;
    command.option(setting.flag, `${setting.description}; env ${setting.env}${shown}`);
  }
  command.action(async (flags: Record<string, unknown>) => {
    let config: ServeConfig;
    let masterKey: Buffer;
    let previousKey: Buffer | null;
    try {
      config = resolveServeConfig(flags, process.env);
      masterKey = takeMasterKey({ demo: config.demo });
      previousKey = takePreviousMasterKey();
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof MasterKeyError)) throw err;
      process.stderr.write(`aircharge serve: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (flags.redis === undefined && process.env.REDIS_URL === undefined) warnDefaultRedis('aircharge serve');
    await serve(config, masterKey, previousKey);
  });
}

/**
 * The master keys the gateway unseals with: the previous one only while a rotation is under way.
 * Once it has finished every terminal key is under the current version, and one under the previous
 * is a record put back from before the rotation: left unsealed, so it cannot sign in.
 */
async function servingKeys(redis: Redis | Cluster, checked: MasterKeys, logger: Logger): Promise<MasterKeys> {
  if (checked.previous === null || (await masterKeyVersions(redis)).next !== 0) return checked;
  logger.warn({ previousMasterKeyVersion: checked.previous.version }, `no master key rotation is under way: ${PREVIOUS_MASTER_KEY_ENV} is not used; unset it`);
  return new MasterKeys(checked.current);
}

async function serve(config: ServeConfig, masterKey: Buffer, previousKey: Buffer | null): Promise<void> {
  const logger = createLogger({ level: config.logLevel, base: { instance: config.instanceId } });
  if (masterKey.equals(DEMO_MASTER_KEY)) {
    logger.warn('demo mode: terminal keys are sealed under the public demo master key; never use it for money');
  }
  const fail = (err: unknown, msg: string): undefined => {
    logger.fatal({ err }, msg);
    process.exit(1);
  };

  if (!config.allowUnauthenticatedRedis && (await acceptsAnonymous(config.redisUrl))) {
    logger.fatal(
      { redis: redactRedisUrl(config.redisUrl) },
      'Redis answers clients that did not authenticate: anyone who reaches it can rewrite floats and journals. ' +
        'Set requirepass (or an ACL user) and give the password in --redis, or pass --allow-unauthenticated-redis (demo and tests only)',
    );
    process.exit(1);
  }
  const redis = connectRedis(config.redisUrl);
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'));
  const metrics = config.metrics === null ? undefined : createMetrics();
  if (metrics !== undefined && config.metrics !== null) {
    instrumentRedis(redis, metrics);
  }
  let biller: Awaited<ReturnType<typeof createBiller>> | null = null;
  try {
    biller = config.biller === null ? null : await createBiller(config.biller, metrics, logger);
  } catch (err) {
    process.stderr.write(`aircharge serve: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const checked = await checkMasterKey(redis, masterKey, previousKey).catch((err: unknown) => fail(err, 'cannot check the master key against Redis'));
  if (!checked) return;
  const masterKeys = await servingKeys(redis, checked, logger);
  logger.info({ masterKeyVersion: masterKeys.current.version, previousMasterKeyVersion: masterKeys.previous?.version }, 'master key checked');
  if (biller !== null) {
    // verify reads it: completed payments may be booked at this biller, not in Redis.
    const url = new URL(config.biller!.url);
    await redis.multi().hset(keys.billerHttp(), 'url', `${url.origin}${url.pathname}`, 'lastStart', Date.now()).hsetnx(keys.billerHttp(), 'since', Date.now()).exec();
  }
  const created = await createCore({
    redis,
    masterKey: masterKeys,
    instanceId: config.instanceId,
    logger,
    businessDay: config.businessDay,
    recoveryAfterMs: config.recoveryAfterMs,
    maxPaymentFen: config.maxPaymentFen,
    lowFloat: config.lowFloat,
    cashNear: config.cashNear,
    replayRetentionSec: config.replayRetentionSec,
    inquiryQuota: config.inquiryQuota,
    billerDown: config.billerDown,
    ...(biller === null
      ? {}
      : {
          biller: biller.biller,
          // The biller's own timeout decides a posting's fate; the core's deadline stays behind it.
          storeTimeoutMs: Math.max(2_000, (config.biller?.timeoutMs ?? 0) + 500),
        }),
  })
    .catch((err: unknown) => fail(err, 'cannot start the core: is Redis reachable at --redis?'));
  if (!created) return;
  const { sessions, core } = created;

  let recovering = false;
  const recover = async () => {
    if (recovering) return;
    recovering = true;
    try {
      const { completed, rolledBack } = await core.recover(Date.now());
      metrics?.recoveryRun({ completed, rolledBack });
      if (completed + rolledBack > 0) logger.info({ completed, rolledBack }, 'recovered pending transactions');
    } catch (err) {
      logger.warn({ err }, 'recovery pass failed; retried at the next interval');
    } finally {
      recovering = false;
    }
  };
  // Transactions left pending by a crash are settled before the first terminal is served.
  await recover();
  const recoveryTimer = setInterval(() => void recover(), config.recoveryIntervalMs);
  let forwarding = false;
  const forwardTimer = setInterval(() => {
    if (forwarding) return;
    forwarding = true;
    core
      .forwardBillerQueue(config.billerQueue, Date.now())
      .catch((err: unknown) => logger.warn({ err }, 'biller queue pass failed; retried at the next one'))
      .finally(() => (forwarding = false));
  }, BILLER_QUEUE_INTERVAL_MS);

  const gateway = new Gateway({
    sessions,
    core,
    redis,
    instanceId: config.instanceId,
    logger,
    limits: config.limits,
    businessDay: config.businessDay,
    proxyProtocol: config.proxyProtocol,
    ...(metrics === undefined ? {} : { metrics }),
  });
  await gateway.ready();
  const redisHealth = new RedisHealth(redis, { unreadyAfterMs: config.unreadyAfterMs, logger });
  const ops = config.metrics === null || metrics === undefined ? null : await startOpsServer({
    port: config.metrics.port,
    host: config.metrics.host,
    metrics,
    // Not ready once draining (for good) or while Redis does not answer (until it does), so a
    // load balancer sends new terminals to an instance that can serve them.
    ready: () => gateway.accepting && redisHealth.reachable(),
  }).catch((err: unknown) => fail(err, 'metrics endpoint failed'));
  if (ops) logger.info({ port: ops.port, host: config.metrics?.host }, 'metrics listening');
  // Fleet-wide gauges: one instance (the lease holder) walks the store for the whole fleet.
  const fleet = config.metrics === null ? undefined : metrics?.watchFleet(redis, {
    instanceId: config.instanceId,
    onError: (err) => logger.warn({ err }, 'fleet gauges not refreshed'),
  });

  const server = createServer({ allowHalfOpen: false }, gateway.handle);
  server.on('error', (err) => fail(err, 'listening socket failed'));
  // A deep accept queue: after a network outage every terminal of a region reconnects at once.
  server.listen({ port: config.port, host: config.host, backlog: config.listenBacklog }, () => {
    const address = server.address();
    const port = address !== null && typeof address === 'object' ? address.port : config.port;
    const { version, commit } = buildInfo();
    logger.info({ port, host: config.host, version, commit, limits: config.limits, businessDay: config.businessDay }, 'listening');
  });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.drainTimeoutMs + EXIT_GRACE_MS).unref();
    clearInterval(recoveryTimer);
    fleet?.stop();
    clearInterval(forwardTimer);
    redisHealth.stop();
    server.close();
    await gateway.drain(config.drainTimeoutMs);
    await ops?.close();
    await redis.quit().catch(() => redis.disconnect());
    await biller?.pool.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}
