/**
 * The pino logger every aircharge process uses. Keys and MACs never reach a log line: fields with
 * those names are censored wherever they appear, and frame dumps mask the MAC bytes.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { CRC_SIZE, MAC_SIZE } from '../protocol/index.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field names that could hold secret bytes, at the top level and one level down. */
const SECRET_FIELDS = ['key', 'keyEnc', 'terminalKey', 'sessionKey', 'masterKey', 'mac'];
const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]);

export function createLogger(
  options: { level?: LogLevel; name?: string; base?: Record<string, unknown> } = {},
  destination?: DestinationStream,
): Logger {
  const settings = {
    level: options.level ?? 'info',
    ...(options.name === undefined ? {} : { name: options.name }),
    base: { pid: process.pid, ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // pino's default destination writes stdout synchronously, so nothing is lost at exit.
  return destination === undefined ? pino(settings) : pino(settings, destination);
}

/** Hex of a whole frame for debug logs, its MAC bytes replaced by "**". */
export function maskedFrameHex(frame: Buffer): string {
  const hex = frame.toString('hex');
  const macStart = frame.length - CRC_SIZE - MAC_SIZE;
  if (macStart < 0) return hex;
  return hex.slice(0, macStart * 2) + '**'.repeat(MAC_SIZE) + hex.slice((macStart + MAC_SIZE) * 2);
}
