/**
 * vitest global set-up and teardown: every test stops what it started, even when it fails. The
 * run marks its environment with a unique id, which every process the tests start inherits
 * (workers, redis-server, gateways, HAProxy, the biller, Chromium), however it was orphaned. At
 * the end any process still carrying the mark is listed in one line, killed, and the run fails.
 * A process started with an environment of its own (not extending process.env) escapes the check.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';

const MARK = 'AIRCHARGE_TEST_RUN';

/** Processes, other than this one and vitest's own, whose environment holds `MARK=id`. */
function marked(id: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${MARK}=${id}`)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      if (command !== '' && !/\bvitest\b/.test(command)) found.push({ pid, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

export default function markTestProcesses(): () => Promise<void> {
  const id = randomBytes(8).toString('hex');
  process.env[MARK] = id;
  return async () => {
    // A process stopped just now may still be exiting.
    let left = marked(id);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = marked(id);
    }
    if (left.length === 0) return;
    process.stderr.write(`npm test: ${left.length} process(es) the tests started were still running, now killed: ${left.map((p) => `${p.pid} ${p.command.slice(0, 120)}`).join('; ')}\n`);
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exitCode = 1;
  };
}
