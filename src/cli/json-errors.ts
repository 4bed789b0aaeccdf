/**
 * `--json` errors are JSON, on both CLIs: a command run with `--json` that fails prints one line
 * `{"error":{"code","message","details"}}` on stdout (the message also goes to stderr as text) and
 * exits non-zero, whether the failure is its own or commander's (unknown option or command,
 * missing argument), which never reaches the command's action.
 */
import type { Command } from 'commander';

/** Whether the command line asks for JSON output. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--json');
}

/** The error line a `--json` command prints on stdout. */
export function printJsonError(code: string, message: string, details: readonly unknown[] = []): void {
  process.stdout.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
}

/**
 * commander's usage errors as JSON too when `--json` was given. Set on the program before its
 * commands are added: `.command()` copies it to each.
 */
export function jsonUsageErrors(program: Command): Command {
  return program.configureOutput({
    outputError: (text, write) => {
      if (wantsJson()) printJsonError('ERR_USAGE', text.replace(/^error: /, '').trim());
      write(text);
    },
  });
}
