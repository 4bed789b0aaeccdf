/**
 * `npm test` on a machine without haproxy or redis-server: one line saying what is missing and
 * how to install it, exit 1 (it used to end in `spawn haproxy ENOENT` stack traces).
 */
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const VITEST = new URL('../../node_modules/vitest/vitest.mjs', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;

describe('the test suite on a machine without its programs', () => {
  it('names what is missing in one line and exits 1', async () => {
    // PATH with node and /bin only: Debian installs haproxy in /usr/sbin, so it is missing there.
    const bare = `${dirname(process.execPath) === '/usr/bin' ? '' : `${dirname(process.execPath)}:`}/bin`;
    const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [VITEST, 'run', '--config', 'test/vitest.config.ts', 'test/protocol/fields.test.ts'],
        { cwd: ROOT, env: { ...process.env, PATH: bare } },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr })),
    );
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('npm test:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the tests need .*haproxy.* on PATH: on Debian or Ubuntu, apt-get install -y .*haproxy/);
    expect(run.stderr).not.toContain('ENOENT');
  });
});
