/**
 * `aircharge-sim biller`: the reference billing system as its own process, and its tools.
 *   aircharge-sim biller --port P --data DIR [--secret-file F] [fault flags]   serve the API
 *   aircharge-sim biller import FILE (--data DIR | --url URL)                   take a bill extract
 *   aircharge-sim biller fault --url URL [--latency ms] [--down-for sec] ...    change faults live
 * Exit codes: 0 done, 1 refused (import conflict, biller answered an error), 2 usage or setup.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { authHeaders } from '../../src/biller/http-auth.js';
import type { ApiFaults } from '../../src/biller/http-api.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../src/log.js';
import { ExtractError, parseExtract } from './extract.js';
import { parseDownWindow } from './faults.js';
import { ImportConflictError, Ledger, type LedgerRecord } from './ledger.js';
import { AppendLog } from './log.js';
import { LEDGER_FILE, LOCK_FILE, startBillerServer } from './server.js';
import { UsageError } from '../cli/single.js';

type Run = (task: () => Promise<number>) => Promise<void>;

/** The shared secret: a file's contents, trimmed, or AIRCHARGE_BILLER_SECRET; never printed. */
export function readSecret(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Buffer | null {
  if (file !== undefined) {
    const secret = readText(file).trim();
    if (secret.length < 16) throw new UsageError(`the secret in ${file} is shorter than 16 characters`);
    return Buffer.from(secret, 'utf8');
  }
  const fromEnv = env.AIRCHARGE_BILLER_SECRET?.trim();
  return fromEnv ? Buffer.from(fromEnv, 'utf8') : null;
}

function number(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new UsageError(`${name} must be a number from ${min} to ${max}`);
    }
    return value;
  };
}

export function registerBiller(program: Command, run: Run): void {
  const biller = program
    .command('biller')
    // Its own flags (--data, --secret-file) mean the same to its subcommands: each parses its own.
    .enablePositionalOptions()
    .description('the reference billing system: serve its HTTP API (with faults), import bills, change faults live')
    .option('--port <port>', 'port to listen on (0: any free port; the chosen one is logged)', '7100')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'its own store: an append-only, fsynced ledger file (required)')
    .option('--secret-file <file>', 'shared secret for request signing (default: env AIRCHARGE_BILLER_SECRET; none: no auth)')
    .option('--clock-window <sec>', 'largest clock difference of a signed request', '300')
    .option('--latency <ms>', 'fault: added to every API answer', '0')
    .option('--error-rate <share>', 'fault: share of API requests answered 500 without doing anything', '0')
    .option('--book-no-answer <share>', 'fault: share of postings booked and then never answered', '0')
    .option('--down-window <HH:MM-HH:MM>', 'fault: daily window (UTC+8) answered 503, like the nightly batch; repeatable',
      (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--tls-cert <file>', 'serve https with this PEM certificate (chain); with --tls-key')
    .option('--tls-key <file>', "the certificate's PEM private key")
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, 'info')
    .action((flags: Record<string, string | string[] | undefined>) =>
      run(async () => {
        if (flags.data === undefined) throw new UsageError('--data <dir> is required');
        if (!(LOG_LEVELS as readonly string[]).includes(String(flags.logLevel))) throw new UsageError('bad --log-level');
        let windows;
        try {
          windows = (flags.downWindow as string[]).map(parseDownWindow);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
        const tls = flags.tlsCert === undefined ? undefined : { cert: Buffer.from(readText(String(flags.tlsCert))), key: Buffer.from(readText(String(flags.tlsKey))) };
        const logger = createLogger({ level: flags.logLevel as LogLevel, name: 'biller' });
        const server = await startBillerServer({
          port: number('--port', 0, 65535)(String(flags.port)),
          host: String(flags.host),
          dataDir: String(flags.data),
          secret: readSecret(flags.secretFile as string | undefined),
          clockWindowMs: number('--clock-window', 1, 86_400)(String(flags.clockWindow)) * 1000,
          faults: {
            latencyMs: number('--latency', 0, 600_000)(String(flags.latency)),
            errorRate: number('--error-rate', 0, 1)(String(flags.errorRate)),
            bookNoAnswerRate: number('--book-no-answer', 0, 1)(String(flags.bookNoAnswer)),
          },
          downWindows: windows,
          logger,
          ...(tls === undefined ? {} : { tls }),
        });
        await new Promise<void>((resolve) => {
          const stop = () => void server.close().then(resolve);
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        return 0;
      }),
    );

  biller
    .command('import')
    .argument('<file>', 'bill extract CSV: account,name,bill_id,period,amount,issue_date,status')
    .option('--data <dir>', "the stopped biller's data directory")
    .option('--url <url>', "a running biller's base URL (POST /v1/admin/bills)")
    .option('--secret-file <file>', 'shared secret (with --url; default: env AIRCHARGE_BILLER_SECRET)')
    .option('--json', 'print the result as one JSON object')
    .description('import a bill extract: idempotent by bill id; a change to a paid bill is a conflict and nothing is taken')
    .action((file: string, flags: { data?: string; url?: string; secretFile?: string; json?: boolean }) =>
      run(async () => {
        if ((flags.data === undefined) === (flags.url === undefined)) throw new UsageError('give one of --data <dir> or --url <url>');
        const text = readText(file);
        let result: unknown;
        if (flags.url !== undefined) {
          const answer = await adminCall(flags.url, readSecret(flags.secretFile), 'POST', '/v1/admin/bills', text, 'text/csv');
          if (answer.status !== 200) return refused(answer.body, flags.json);
          result = answer.body;
        } else {
          try {
            result = await importOffline(flags.data!, text);
          } catch (error) {
            if (!(error instanceof ImportConflictError || error instanceof ExtractError)) throw error;
            return refused({ code: error.code, message: error.message }, flags.json);
          }
        }
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
        return 0;
      }),
    );

  biller
    .command('fault')
    .option('--url <url>', "the running biller's base URL (required)")
    .option('--secret-file <file>', 'shared secret (default: env AIRCHARGE_BILLER_SECRET)')
    .option('--latency <ms>', 'added to every API answer')
    .option('--error-rate <share>', 'share of requests answered 500')
    .option('--book-no-answer <share>', 'share of postings booked and never answered')
    .option('--down-for <sec>', 'answer 503 for this many seconds from now (0: up again)')
    .option('--json', 'print the faults now in force as one JSON object')
    .description('show or change the faults of a running reference biller')
    .action((flags: Record<string, string | boolean | undefined>) =>
      run(async () => {
        if (typeof flags.url !== 'string') throw new UsageError('--url <url> is required');
        const change: Partial<ApiFaults> & { downForMs?: number } = {};
        if (typeof flags.latency === 'string') change.latencyMs = number('--latency', 0, 600_000)(flags.latency);
        if (typeof flags.errorRate === 'string') change.errorRate = number('--error-rate', 0, 1)(flags.errorRate);
        if (typeof flags.bookNoAnswer === 'string') change.bookNoAnswerRate = number('--book-no-answer', 0, 1)(flags.bookNoAnswer);
        if (typeof flags.downFor === 'string') change.downForMs = Math.round(number('--down-for', 0, 86_400)(flags.downFor) * 1000);
        const secret = readSecret(flags.secretFile as string | undefined);
        const answer = Object.keys(change).length === 0
          ? await adminCall(flags.url, secret, 'GET', '/v1/admin/faults', '', 'application/json')
          : await adminCall(flags.url, secret, 'PUT', '/v1/admin/faults', JSON.stringify(change), 'application/json');
        if (answer.status !== 200) return refused(answer.body, flags.json === true);
        process.stdout.write(`${JSON.stringify(answer.body)}\n`);
        return 0;
      }),
    );
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function importOffline(dataDir: string, text: string): Promise<unknown> {
  mkdirSync(dataDir, { recursive: true });
  const lock = join(dataDir, LOCK_FILE);
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (processAlive(pid)) throw new UsageError(`a biller (pid ${pid}) is serving ${dataDir}: import with --url instead`);
  }
  const { log, records } = await AppendLog.open<LedgerRecord>(join(dataDir, LEDGER_FILE));
  try {
    const ledger = new Ledger();
    for (const record of records) ledger.apply(record);
    const { records: bills, result } = ledger.planImport(parseExtract(text));
    await Promise.all(bills.map((b) => log.append(b)));
    return result;
  } finally {
    await log.close();
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One signed call to a running biller's admin API. */
async function adminCall(base: string, secret: Buffer | null, method: string, path: string, body: string, type: string) {
  const headers: Record<string, string> = { 'content-type': type };
  if (secret !== null) Object.assign(headers, authHeaders('hmac', secret, method, path, body, Date.now()));
  const response = await fetch(new URL(path, base), { method, headers, ...(method === 'GET' ? {} : { body }) });
  return { status: response.status, body: (await response.json()) as unknown };
}

function refused(body: unknown, json: boolean | undefined): number {
  const message = (body as { message?: string }).message ?? 'refused';
  process.stderr.write(json ? `${JSON.stringify(body)}\n` : `aircharge-sim: ${message}\n`);
  return 1;
}

function describe(result: unknown): string {
  const r = result as { bills: number; added: number; changed: number; unchanged: number; cancelled: number };
  return `${r.bills} bills: ${r.added} added, ${r.changed} changed, ${r.cancelled} cancelled, ${r.unchanged} unchanged`;
}
