#!/usr/bin/env node
/**
 * `aircharge-sim`: a terminal that behaves like field firmware, the GPRS link it lives on, a
 * frame explainer for captures, and fleets of terminals for reconciliation runs.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { extractFrameBytes, explainFrame, formatExplanation } from './explain.js';
import { registerFleet } from './fleet-command.js';
import { EXIT_FAILURE, UsageError, registerSingleCommands } from './single.js';

const program = new Command('aircharge-sim')
  .description('Terminal simulator for the aircharge gateway')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander's own usage errors (unknown option, missing argument) exit 2 like ours.
    process.exit(error.exitCode === 0 ? 0 : EXIT_FAILURE);
  });

async function run(task: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await task();
  } catch (error) {
    // A usage mistake or a refused setup reads best as its message; a bug needs its stack.
    const known = error instanceof UsageError || (error instanceof Error && error.name !== 'Error' && error.name !== 'TypeError');
    process.stderr.write(`aircharge-sim: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

registerSingleCommands(program, run);

program
  .command('explain')
  .argument('[hex]', "a frame's hex, or a hex dump or log line holding one (default: read stdin)")
  .option('--key <hex>', 'check the MAC under this key (the terminal key for SIGN_IN, else the session key)')
  .option('--session-key <hex>', 'check the MAC under this session key')
  .option('--json', 'print one JSON object')
  .description('decode a frame field by field, with the CRC and MAC checks')
  .action((hex: string | undefined, flags: { key?: string; sessionKey?: string; json?: boolean }) =>
    run(async () => {
      const text = hex ?? readFileSync(0, 'utf8');
      const bytes = extractFrameBytes(text);
      if (!bytes) throw new UsageError('no frame found: expected hex starting A5 5A');
      const keyHex = flags.sessionKey ?? flags.key;
      if (keyHex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(keyHex)) throw new UsageError('the key must be hex');
      let explanation;
      try {
        explanation = explainFrame(bytes, keyHex === undefined ? null : Buffer.from(keyHex, 'hex'));
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(explanation)}\n` : `${formatExplanation(explanation)}\n`);
      return explanation.ok ? 0 : 1;
    }),
  );


registerFleet(program, run);

await program.parseAsync(process.argv);
