/**
 * `--json` errors are JSON (issue 15, item 6): every CLI command run with `--json` and a bad
 * argument, or a Redis it cannot reach, prints one JSON line with an `error` on stdout and exits
 * non-zero, whether the command itself or commander (unknown option, missing argument) refuses.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const AIRCHARGE = join(ROOT, 'dist/src/cli/main.js');
const SIM = join(ROOT, 'dist/simulator/cli/main.js');
/** Nothing listens on port 1: connecting is refused at once. */
const NO_REDIS = 'redis://127.0.0.1:1';
const KEY = randomBytes(32).toString('hex');

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30_000, env: { ...process.env, AIRCHARGE_MASTER_KEY: KEY } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

const CASES: Array<[string, string, string[]]> = [
  ['aircharge', AIRCHARGE, ['merchant', 'add', 'SHOP1', '--json']],
  ['aircharge', AIRCHARGE, ['merchant', 'add', 'SHOP1', '--name', 'Shop', '--json', '--redis', NO_REDIS]],
  ['aircharge', AIRCHARGE, ['float', 'topup', 'SHOP1', 'ten', '--json', '--redis', NO_REDIS]],
  ['aircharge', AIRCHARGE, ['terminal', 'import', '/nonexistent/terminals.csv', '--json', '--redis', NO_REDIS]],
  ['aircharge', AIRCHARGE, ['verify', '--json', '--redis', NO_REDIS]],
  ['aircharge', AIRCHARGE, ['report', 'daily', '--json', '--no-such-flag']],
  ['aircharge', AIRCHARGE, ['serve', '--json', '--port', 'abc']],
  ['aircharge', AIRCHARGE, ['console', '--json', '--port', 'abc']],
  ['aircharge', AIRCHARGE, ['ops', 'haproxy-config', '--json', '--gateways', 'bad']],
  ['aircharge', AIRCHARGE, ['no-such-command', '--json']],
  ['aircharge-sim', SIM, ['pay', '--json']],
  ['aircharge-sim', SIM, ['pay', '3430000001', 'ten', '--json', '--terminal', 'T0000001', '--key', KEY, '--port', '1']],
  ['aircharge-sim', SIM, ['inquiry', '3430000001', '--json', '--terminal', 'T0000001', '--key', 'not-hex', '--port', '1']],
  ['aircharge-sim', SIM, ['correct', '--json']],
  ['aircharge-sim', SIM, ['signin', '--json', '--terminal', 'T0000001', '--key', KEY, '--port', '1', '--deadline', '500', '--timeout', '200']],
  ['aircharge-sim', SIM, ['fleet', '--json', '--terminals', 'many']],
  ['aircharge-sim', SIM, ['explain', 'zz', '--json']],
  ['aircharge-sim', SIM, ['biller', '--json', '--port', 'abc']],
  ['aircharge-sim', SIM, ['biller', 'import', '--json']],
];

describe('--json errors are JSON', () => {
  it.each(CASES.map(([name, bin, args]) => [`${name} ${args.join(' ')}`, bin, args] as const))('%s', async (_command, bin, args) => {
    const { code, stdout, stderr } = await run(bin, args);
    expect(code, stderr).not.toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines, stdout + stderr).toHaveLength(1);
    // The admin commands' {"error":{"code","message","details"}}, or a simulator answer's
    // {"ok":false,"code","error":"..."}: either way an error that says what went wrong.
    const parsed = JSON.parse(lines[0]!) as { error?: string | { code?: unknown; message?: unknown } };
    const error = typeof parsed.error === 'string' ? { code: (parsed as { code?: unknown }).code, message: parsed.error } : parsed.error;
    expect(error, stdout).toBeDefined();
    expect(typeof error!.code, stdout).toBe('string');
    expect(error!.message, stdout).toMatch(/\S/);
  }, 40_000);
});
