#!/usr/bin/env node
/**
 * `aircharge-sim`: a terminal that behaves like field firmware, the GPRS link it lives on, a
 * frame explainer for captures, and fleets of terminals for reconciliation runs.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { versionLine } from '../../src/build-info.js';
import { jsonUsageErrors, printJsonError, wantsJson } from '../../src/cli/json-errors.js';
import { Offset, TERMINAL_ID_SIZE, deriveSessionKey } from '../../protocol/index.js';
import { explainFrame, formatExplanation, readCapture, type Capture } from './explain.js';
import { registerFleet } from './fleet-command.js';
import { registerBiller } from '../biller/command.js';
import { EXIT_FAILURE, UsageError, registerSingleCommands } from './single.js';

const program = new Command('aircharge-sim')
  .description('Terminal simulator for the aircharge gateway')
  .version(versionLine(), '-V, --version', 'print the version and the commit it was built from')
  .showHelpAfterError()
  // A subcommand's flags belong to it even when its parent has one of the same name (biller --data).
  .enablePositionalOptions()
  .exitOverride((error) => {
    // commander's own usage errors (unknown option, missing argument) exit 2 like ours.
    process.exit(error.exitCode === 0 ? 0 : EXIT_FAILURE);
  });
jsonUsageErrors(program);

async function run(task: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await task();
  } catch (error) {
    // A usage mistake or a refused setup reads best as its message; a bug needs its stack.
    const known = error instanceof UsageError || (error instanceof Error && error.name !== 'Error' && error.name !== 'TypeError');
    if (wantsJson()) printJsonError(error instanceof UsageError ? 'ERR_USAGE' : 'ERR_FAILED', error instanceof Error ? error.message : String(error));
    process.stderr.write(`aircharge-sim: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

registerSingleCommands(program, run);

program
  .command('explain')
  .argument('[hex]', "a frame's hex, or a hex dump or log line holding one (default: --file, else stdin)")
  .option('--file <path>', 'read the capture from this file: hex, `xxd` or `hexdump -C` output, or gateway log lines')
  .option('--key <hex>', 'check the MAC under this key (the terminal key for SIGN_IN, else the session key)')
  .option('--session-key <hex>', 'check the MAC under this session key')
  .option('--terminal-nonce <hex>', 'with --key (the terminal key) and --gateway-nonce: derive the session key of that sign-in')
  .option('--gateway-nonce <hex>', "the gateway's nonce from that sign-in's response")
  .option('--json', 'print one JSON object')
  .description("decode a frame field by field, with the CRC and MAC checks: hex, xxd or hexdump -C output, or the gateway's `frame in` log line")
  .action((hex: string | undefined, flags: { file?: string; key?: string; sessionKey?: string; terminalNonce?: string; gatewayNonce?: string; json?: boolean }) =>
    run(async () => {
      if (hex !== undefined && flags.file !== undefined) throw new UsageError('give the hex or --file, not both');
      let text: string;
      try {
        text = hex ?? readFileSync(flags.file ?? 0, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read ${flags.file}: ${(error as Error).message}`);
      }
      const capture = readCapture(text);
      if (!capture) throw new UsageError('no frame found: expected hex starting A5 5A, xxd or hexdump -C output, or a "frame in" log line');
      for (const value of [flags.key, flags.sessionKey, flags.terminalNonce, flags.gatewayNonce]) {
        if (value !== undefined && !/^([0-9a-fA-F]{2})+$/.test(value)) throw new UsageError('keys and nonces must be hex');
      }
      let explanation;
      try {
        explanation = explainFrame(capture.bytes, macKeyOf(capture.bytes, flags), { macMasked: capture.macMasked });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const from = { source: capture.source, ...(capture.log === undefined ? {} : { log: capture.log }) };
      process.stdout.write(flags.json ? `${JSON.stringify({ ...explanation, ...from })}\n` : `${captureLine(capture)}\n${formatExplanation(explanation)}\n`);
      return explanation.ok ? 0 : 1;
    }),
  );

/** What the bytes were read from, first in the text output. */
function captureLine(capture: Capture): string {
  if (capture.source !== 'log') return `from      ${capture.source === 'hex' ? 'hex' : `${capture.source} output`}`;
  const facts = Object.entries(capture.log ?? {}).map(([name, value]) => `${name} ${String(value)}`).join(', ');
  return `from      the gateway's log line (${facts})${capture.macMasked ? '; its MAC is masked there, so the MAC and CRC are not checked' : ''}`;
}

registerFleet(program, run);
registerBiller(program, run);

/**
 * The key to check the MAC with: a session key as given, or derived from the terminal key and the
 * two nonces of the sign-in (the frame's terminal id completes the derivation), or the key as given.
 */
function macKeyOf(frame: Buffer, flags: { key?: string; sessionKey?: string; terminalNonce?: string; gatewayNonce?: string }): Buffer | null {
  if (flags.sessionKey) return Buffer.from(flags.sessionKey, 'hex');
  if (!flags.key) return null;
  const key = Buffer.from(flags.key, 'hex');
  if (!flags.terminalNonce && !flags.gatewayNonce) return key;
  if (!flags.terminalNonce || !flags.gatewayNonce) throw new UsageError('give both --terminal-nonce and --gateway-nonce');
  const terminalId = frame.toString('latin1', Offset.TERMINAL_ID, Offset.TERMINAL_ID + TERMINAL_ID_SIZE);
  return deriveSessionKey(key, terminalId, Buffer.from(flags.terminalNonce, 'hex'), Buffer.from(flags.gatewayNonce, 'hex'));
}

await program.parseAsync(process.argv);
