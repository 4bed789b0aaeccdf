/**
 * The keys file of a bulk import (`aircharge terminal import --keys-out FILE`): CSV
 * `terminal_id,merchant_id,key` (key: 64 hex digits, the clear terminal key), created with mode
 * 0600 and never over an existing file, so one import's keys can neither be read by other users
 * nor overwrite another's. The simulator reads a terminal's key from it (`--keys-file`).
 */
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { TERMINAL_KEY_SIZE } from '../../protocol/constants.js';
import { parseCsv } from './csv.js';
import { AdminError, AdminErrorCode } from './errors.js';
import type { NewTerminalKey } from './provision.js';

export const KEYS_FILE_HEADER = 'terminal_id,merchant_id,key';

export class KeysFile {
  private constructor(readonly path: string, private fd: number | null) {}

  /** Creates the file (mode 0600); ERR_EXISTS when something is already there. */
  static create(path: string): KeysFile {
    try {
      return new KeysFile(path, openSync(path, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new AdminError(AdminErrorCode.EXISTS, `${path} exists: keys are never written over another file; name a new one`);
      }
      throw error;
    }
  }

  /** Writes every key and makes it durable before the caller provisions the terminals. */
  write(created: NewTerminalKey[]): void {
    if (this.fd === null) throw new Error('keys file already closed');
    const lines = created.map((k) => `${k.terminalId},${k.merchantId},${k.key}\n`);
    writeSync(this.fd, `${KEYS_FILE_HEADER}\n${lines.join('')}`);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }

  /** Removes the file if nothing was written to it (the import was refused before any key). */
  discardIfEmpty(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    rmSync(this.path, { force: true });
  }
}

/** A terminal's key from a keys file; the last line naming it wins (a re-run's file appended to it). */
export function readTerminalKey(path: string, terminalId: string): Buffer {
  const { records } = parseCsv(readFileSync(path, 'utf8'));
  if (records[0]?.fields.join(',') !== KEYS_FILE_HEADER) throw new Error(`${path}: not a keys file (first line ${KEYS_FILE_HEADER})`);
  const line = records.slice(1).reverse().find((record) => record.fields[0] === terminalId);
  const hex = line?.fields[2] ?? '';
  if (line === undefined) throw new Error(`${path}: no key for terminal ${terminalId}`);
  if (!/^[0-9a-f]+$/i.test(hex) || hex.length !== TERMINAL_KEY_SIZE * 2) throw new Error(`${path}: line ${line.line}: the key is not ${TERMINAL_KEY_SIZE * 2} hex digits`);
  return Buffer.from(hex, 'hex');
}

/**
 * A terminal key given without putting it on a command line, where `ps` and the shell history show
 * it: `-` reads it from stdin, a path reads a file holding either the key alone (64 hex digits) or
 * a keys file (the terminal's line is taken). One mechanism for the simulator and the admin CLI.
 */
export function readKeySource(source: string, terminalId: string): Buffer {
  const text = readFileSync(source === '-' ? 0 : source, 'utf8');
  if (text.startsWith(KEYS_FILE_HEADER)) return readTerminalKey(source, terminalId);
  const hex = text.trim();
  if (!/^[0-9a-f]+$/i.test(hex) || hex.length !== TERMINAL_KEY_SIZE * 2) {
    throw new Error(`${source === '-' ? 'stdin' : source}: not a terminal key (${TERMINAL_KEY_SIZE * 2} hex digits) or a keys file`);
  }
  return Buffer.from(hex, 'hex');
}
