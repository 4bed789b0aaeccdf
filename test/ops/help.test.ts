/**
 * Every npm script and every CLI command answers `--help` with its usage and exit 0, without
 * starting anything (a benchmark, a gateway, a redis-server). The CLIs' commands are found by
 * walking their own help, so a command added later is checked too.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLIS = { aircharge: 'dist/src/cli/main.js', 'aircharge-sim': 'dist/simulator/cli/main.js' };

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** The subcommand names listed under "Commands:" in commander's help. */
function subcommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

/** Every command path of a CLI, breadth first, a few processes at a time (the machine is shared). */
async function walk(file: string): Promise<string[][]> {
  const found: string[][] = [];
  const queue: string[][] = [[]];
  const visit = async (path: string[]) => {
    const ran = await run(file, [...path, '--help']);
    expect(ran, `${path.join(' ')} --help`).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout).toMatch(/^Usage: /);
    found.push(path);
    queue.push(...subcommands(ran.stdout).map((name) => [...path, name]));
  };
  const worker = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) await visit(path);
  };
  await visit(queue.shift()!);
  await Promise.all([worker(), worker(), worker()]);
  return found;
}

describe('--help everywhere', () => {
  for (const [name, file] of Object.entries(CLIS)) {
    it(`${name}: every command and subcommand prints its usage and exits 0`, async () => {
      const found = await walk(file);
      // The walk reached the leaves, not just the top level.
      expect(found.filter((path) => path.length >= 1).length).toBeGreaterThan(5);
      if (name === 'aircharge') expect(found).toContainEqual(['terminal', 'add']);
    }, 240_000);

    it(`${name} --version prints the version and the commit`, async () => {
      const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
      const ran = await run(file, ['--version']);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')} \\(commit ([0-9a-f]{12}|unknown)\\)\\n$`));
    });
  }

  // Scripts that hand --help to a tool (tsc, vitest) rather than to a program of ours.
  const TOOL_SCRIPTS = new Set(['build', 'typecheck', 'test', 'prepare', 'prepack']);
  const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;

  it('every npm script is a tool or one node program after the build', () => {
    for (const [name, line] of Object.entries(scripts)) {
      if (TOOL_SCRIPTS.has(name)) continue;
      expect(line, name).toMatch(/^npm run build && node dist\/\S+\.js$/);
    }
  });

  // The program of each script is run directly: `npm run X -- --help` would rebuild dist under
  // the other test files running from it.
  for (const [name, line] of Object.entries(scripts).filter(([name]) => !TOOL_SCRIPTS.has(name))) {
    it(`npm run ${name} -- --help prints its usage and exits 0 without starting`, async () => {
      const program = line.replace(/^npm run build && node /, '');
      const ran = await run(program, ['--help']);
      expect(ran, name).toMatchObject({ code: 0, stderr: '' });
      expect(ran.stdout.toLowerCase()).toMatch(/usage/);
      // Nothing measured: no figures, and none of the JSON line every run of these ends with.
      expect(ran.stdout).not.toMatch(/^\{.*\}$/m);
    });

  }

  // bench:codec and vectors take positional arguments only.
  for (const [name, line] of Object.entries(scripts).filter(([name]) => !TOOL_SCRIPTS.has(name) && name !== 'vectors' && name !== 'bench:codec')) {
    it(`npm run ${name} -- --no-such-flag is refused in one line, without a stack trace`, async () => {
      const ran = await run(line.replace(/^npm run build && node /, ''), ['--no-such-flag']);
      expect(ran.code, name).not.toBe(0);
      expect(ran.stderr.trim().split('\n')[0]).toMatch(/no-such-flag/);
      expect(ran.stderr).not.toMatch(/^\s+at /m);
    });
  }
});
