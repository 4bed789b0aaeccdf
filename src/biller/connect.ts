/**
 * The HttpBiller a process builds from its biller configuration (--biller URL and friends,
 * src/config.ts BILLER_SETTINGS): one keep-alive pool, the secret from --biller-secret-file or
 * AIRCHARGE_BILLER_SECRET read once and never logged, the CA file for a private TLS chain. The
 * gateway and the admin commands that reach the biller (verify, reconcile, txn reverse, txn
 * reenter) build it the same way.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Pool } from 'undici';
import { ConfigError, type BillerConfig } from '../config.js';
import { billerPool, HttpBiller } from './http-biller.js';

export interface ConnectedBiller {
  biller: HttpBiller;
  pool: Pool;
}

export function connectBiller(config: BillerConfig, options: { logger?: Logger; registry?: Registry; env?: NodeJS.ProcessEnv } = {}): ConnectedBiller {
  const { logger } = options;
  const env = options.env ?? process.env;
  const secretText = config.secretFile === undefined ? env.AIRCHARGE_BILLER_SECRET : readable(config.secretFile, '--biller-secret-file');
  if (config.caFile !== undefined) readable(config.caFile, '--biller-ca-file');
  const secret = secretText === undefined || secretText.trim() === '' ? null : Buffer.from(secretText.trim(), 'utf8');
  if (secret === null) logger?.warn('no biller secret (--biller-secret-file or AIRCHARGE_BILLER_SECRET): requests to the biller are not authenticated');
  const pool = billerPool(config.url, config.caFile === undefined ? {} : { caFile: config.caFile });
  const biller = new HttpBiller({
    url: config.url,
    pool,
    secret,
    auth: config.auth,
    timeoutMs: config.timeoutMs,
    breakerThreshold: config.breakerThreshold,
    breakerCooldownMs: config.breakerCooldownMs,
    ...(logger === undefined ? {} : { logger }),
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  logger?.info({ biller: new URL(config.url).origin, auth: secret === null ? 'none' : config.auth }, 'billing system over HTTP');
  return { biller, pool };
}

function readable(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
