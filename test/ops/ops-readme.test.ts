/**
 * src/ops/README.md promises that every command in its `sh` blocks is run by a test or by CI.
 * This test holds it to that: each command must be one the table "Commands and their tests"
 * names, and the blocks that can run on any machine (HAProxy config, promtool) are run here as
 * written, with `aircharge` being this checkout's build.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'src/ops/README.md'), 'utf8');

/** The commands of every `sh` block, a backslash-continued line joined into one. */
function shCommands(): string[] {
  const blocks = [...README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.flatMap((block) => block.replace(/\\\n\s*/g, '').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')));
}

/** Commands, by their start, and the test file that runs them (as the README's table says). */
const RUN_BY: ReadonlyArray<[RegExp, string]> = [
  [/^npm ci && npm pack$/, 'test/ops/package.test.ts'],
  [/^npm install -g --omit=dev \.\/aircharge-[\d.]+\.tgz$/, 'test/ops/package.test.ts'],
  [/^aircharge --version$/, 'test/ops/package.test.ts'],
  [/^aircharge ops haproxy-config /, 'test/ops/ops-readme.test.ts'],
  [/^haproxy -c -f haproxy\.cfg$/, 'test/ops/ops-readme.test.ts'],
  [/^cd src\/ops\/prometheus && promtool check rules /, 'test/ops/ops-readme.test.ts'],
  [/^aircharge serve --redis redis\+cluster:\/\//, 'test/ops/scale-out.test.ts'],
];

function sh(command: string, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // `aircharge` is this checkout's build, as the installed bin would be.
    const line = command.replace(/^aircharge /, `${process.execPath} ${join(ROOT, 'dist/src/cli/main.js')} `);
    execFile('sh', ['-c', line], { cwd, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }));
  });
}

describe('src/ops/README.md commands', () => {
  it('every command in a sh block is one a named test runs, and the README table lists that test', () => {
    const commands = shCommands();
    expect(commands.length).toBeGreaterThanOrEqual(7);
    for (const command of commands) {
      const entry = RUN_BY.find(([pattern]) => pattern.test(command));
      expect(entry, `no test runs: ${command}`).toBeDefined();
      expect(README, `the table does not name ${entry![1]}`).toContain(entry![1]);
      expect(readFileSync(join(ROOT, entry![1]), 'utf8').length).toBeGreaterThan(0);
    }
  });

  it('the HAProxy block runs as written: render, then haproxy -c accepts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aircharge-ops-readme-'));
    try {
      const block = shCommands().filter((c) => c.startsWith('aircharge ops haproxy-config') || c.startsWith('haproxy -c'));
      expect(block).toHaveLength(2);
      for (const command of block) {
        const ran = await sh(command, dir);
        expect(ran.code, `${command}\n${ran.output}`).toBe(0);
      }
      expect(readFileSync(join(dir, 'haproxy.cfg'), 'utf8')).toContain('server gw2 10.0.1.6:7001 check port 9101');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the promtool block runs as written', async () => {
    const command = shCommands().find((c) => c.startsWith('cd src/ops/prometheus'))!;
    const ran = await sh(command, ROOT);
    expect(ran.code, ran.output).toBe(0);
    expect(ran.output).toMatch(/SUCCESS/);
  });
});
