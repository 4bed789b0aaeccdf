/**
 * `aircharge console`: the operator's web console (src/console) as its own process. It reads and
 * writes Redis only through the admin API, never on the gateway's path, and listens on 127.0.0.1
 * unless told otherwise. Exit codes: 0 after SIGTERM/SIGINT, 1 on a runtime failure (port in
 * use, Redis), 2 on bad configuration.
 */
import type { Command } from 'commander';
import { ConfigError, CONSOLE_SETTINGS, resolveConsoleConfig, type ConsoleConfig } from '../config.js';
import { checkMasterKey } from '../store/key-check.js';
import { MasterKeyError, takeMasterKey, takePreviousMasterKey, type MasterKeys } from '../store/secrets.js';
import { buildConsole } from '../console/server.js';
import { createLogger } from '../log.js';
import { connectRedis } from './redis.js';

export function registerConsole(program: Command): void {
  const command = program.command('console').description("Run the operator's web console (HTTP, server-rendered pages; log in with `aircharge operator add`)");
  for (const setting of CONSOLE_SETTINGS) {
    const shown = setting.default === undefined ? '' : ` (default: ${setting.default})`;
    command.option(setting.flag, `${setting.description}; env ${setting.env}${shown}`);
  }
  command.action(async (flags: Record<string, unknown>) => {
    let config: ConsoleConfig;
    let masterKey: Buffer;
    let previousKey: Buffer | null;
    try {
      config = resolveConsoleConfig(flags, process.env);
      masterKey = takeMasterKey({ demo: config.demo });
      previousKey = takePreviousMasterKey();
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof MasterKeyError)) throw err;
      process.stderr.write(`aircharge console: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    await run(config, masterKey, previousKey);
  });
}

async function run(config: ConsoleConfig, masterKey: Buffer, previousKey: Buffer | null): Promise<void> {
  const logger = createLogger({ level: config.logLevel, name: 'console' });
  const redis = connectRedis(config.redisUrl);
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'));
  let masterKeys: MasterKeys;
  try {
    masterKeys = await checkMasterKey(redis, masterKey, previousKey);
  } catch (err) {
    logger.fatal({ err }, 'cannot check the master key against Redis');
    process.exit(1);
  }
  const app = await buildConsole({ redis, masterKey: masterKeys, ...(config.approvalLimitFen === undefined ? {} : { approvalLimitFen: config.approvalLimitFen }), businessDay: config.businessDay, logger });
  try {
    const address = await app.listen({ port: config.port, host: config.host });
    logger.info({ address, host: config.host, port: Number(new URL(address).port) }, 'console listening');
  } catch (err) {
    logger.fatal({ err }, 'console cannot listen');
    process.exit(1);
  }
  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'console shutting down');
    await app.close();
    await redis.quit().catch(() => redis.disconnect());
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}
