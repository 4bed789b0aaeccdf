/**
 * vitest global set-up: the suite runs real redis-server, redis-cli and haproxy processes, and
 * checks the shipped systemd units and alert rules with systemd-analyze and promtool, and drives
 * the web console in Debian's Chromium (/usr/bin/chromium, test/console/browser.test.ts). When
 * one is missing, say so in one line with how to install it, instead of dozens of
 * `spawn … ENOENT` stack traces from the tests that need it.
 */
import { execFileSync } from 'node:child_process';

const PROGRAMS: ReadonlyArray<{ program: string; debian: string }> = [
  { program: 'redis-server', debian: 'redis-server' },
  { program: 'redis-cli', debian: 'redis-tools' },
  { program: 'haproxy', debian: 'haproxy' },
  { program: 'systemd-analyze', debian: 'systemd' },
  { program: 'promtool', debian: 'prometheus' },
  { program: 'chromium', debian: 'chromium' },
];

function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default function checkPrerequisites(): void {
  const missing = PROGRAMS.filter(({ program }) => !onPath(program));
  if (missing.length === 0) return;
  const names = missing.map((m) => m.program).join(', ');
  const packages = [...new Set(missing.map((m) => m.debian))].join(' ');
  process.stderr.write(`npm test: the tests need ${names} on PATH: on Debian or Ubuntu, apt-get install -y ${packages} (bash .ci/run does it)\n`);
  process.exit(1);
}
