/**
 * The pino logger every aircharge process uses. Keys and MACs never reach a log line: fields with
 * those names are censored wherever they appear, and frame dumps mask the MAC bytes.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { CRC_SIZE, MAC_SIZE } from '../protocol/index.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field names that could hold secret bytes, at the top level and one level down. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['key', 'keyEnc', 'terminalKey', 'sessionKey', 'masterKey', 'mac']);
const CENSOR = '[redacted]';

type Fields = Record<string, unknown>;

/**
 * `fields` with every secret field, at the top level and one level down, replaced by the censor.
 * The caller's objects are left as they are: copies are made only where something is censored,
 * so the usual line (a request's ids and numbers) costs one pass over its own keys. pino's
 * `redact` with `*.field` paths did this at several microseconds a line (its wildcard
 * stringifier runs on every value of every line); `redact` keeps only the top-level paths, which
 * also cover child bindings (pino formats those once, when the child is made, not here).
 */
function censored(fields: Fields): Fields {
  let out = fields;
  for (const name in fields) {
    if (!Object.hasOwn(fields, name)) continue;
    const value = fields[name];
    let replacement: unknown;
    if (SECRET_FIELDS.has(name)) replacement = CENSOR;
    else if (typeof value === 'object' && value !== null && holdsSecret(value)) replacement = censoredCopy(value);
    else continue;
    if (out === fields) out = { ...fields };
    out[name] = replacement;
  }
  return out;
}

function holdsSecret(value: object): boolean {
  for (const name of SECRET_FIELDS) if (Object.hasOwn(value, name)) return true;
  return false;
}

/** A copy of `value` (same prototype and properties, so an Error still serializes as one), its secret fields censored. */
function censoredCopy(value: object): object {
  const copy = Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value)) as object;
  for (const name of SECRET_FIELDS) {
    if (Object.hasOwn(copy, name)) Object.defineProperty(copy, name, { value: CENSOR, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/**
 * Errors as pino serializes them, less the failed command's arguments: an ioredis error carries
 * `command: {name, args}`, and a script's arguments hold journal MACs, account numbers and sealed
 * values. The command's name stays (it says which call failed); so for every error in the cause chain.
 */
function errorWithoutArguments(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  for (let e = out as Record<string, unknown> | undefined, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    const command = e.command as { name?: unknown } | undefined;
    if (command !== undefined) e.command = typeof command === 'object' && command !== null ? String(command.name) : '[command]';
    delete e.args;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return out;
}

export function createLogger(
  options: { level?: LogLevel; name?: string; base?: Record<string, unknown> } = {},
  destination?: DestinationStream,
): Logger {
  const settings = {
    level: options.level ?? 'info',
    ...(options.name === undefined ? {} : { name: options.name }),
    base: { pid: process.pid, ...options.base },
    redact: { paths: [...SECRET_FIELDS], censor: CENSOR },
    formatters: { log: censored },
    serializers: { err: errorWithoutArguments },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(settings, destination ?? boundedStdout());
}

/** The most log bytes held in memory while stdout cannot take them. */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;

let droppedLines = 0;
let stdout: ReturnType<typeof pino.destination> | undefined;

/** Log lines dropped since start because stdout was full for longer than the buffer lasts. */
export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * stdout, written asynchronously with at most LOG_BUFFER_BYTES held while the reader does not
 * keep up. Behind a slow pipe (journald, docker) pino's stream otherwise buffers without limit (a
 * 6 s flood grew the heap from 9 to 241 MB), and a synchronous write would stop the event loop,
 * and every terminal with it, until the pipe drains. Beyond the bound a line is dropped and counted
 * (aircharge_log_lines_dropped_total). At a normal exit pino flushes what is buffered; a SIGKILL
 * loses what is in the buffer then, at most LOG_BUFFER_BYTES.
 */
function boundedStdout(): DestinationStream {
  // One stream a process, so every logger shares the bound and the count.
  if (stdout === undefined) {
    stdout = pino.destination({ fd: 1, sync: false, maxLength: LOG_BUFFER_BYTES });
    stdout.on('drop', () => {
      droppedLines += 1;
    });
  }
  return stdout;
}

/**
 * `logger`, its lines naming the gateway instance: a child with the instance binding, or the
 * logger itself when it names that instance already (the serve CLI's does, in its base), so no
 * line carries the field twice.
 */
export function instanceLogger(logger: Logger, instanceId: string): Logger {
  return logger.bindings().instance === instanceId ? logger : logger.child({ instance: instanceId });
}

/** Hex of a whole frame for debug logs, its MAC bytes replaced by "**". */
export function maskedFrameHex(frame: Buffer): string {
  const hex = frame.toString('hex');
  const macStart = frame.length - CRC_SIZE - MAC_SIZE;
  if (macStart < 0) return hex;
  return hex.slice(0, macStart * 2) + '**'.repeat(MAC_SIZE) + hex.slice((macStart + MAC_SIZE) * 2);
}
