/**
 * Flags of the npm scripts (benchmarks, load, demo): node's parseArgs with the two answers every
 * command owes its user. `--help` (or `-h`) prints the usage on stdout and exits 0 before anything
 * starts; an unknown or malformed flag is one line on stderr and exit 2, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export const EXIT_USAGE = 2;

export function parseScriptArgs<O extends Options>(name: string, usage: string, options: O, argv = process.argv.slice(2)) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message.split('\n')[0]} (see --help)\n`);
    process.exit(EXIT_USAGE);
  }
}
