/**
 * A gateway whose stdout is a slow pipe (journald, docker, a stuck `| tee`) must not grow without
 * limit: a process floods its logger while nobody reads its stdout, then reports how its heap
 * grew and how many lines it dropped. Before the log buffer was bounded the heap grew by ~230 MB
 * in such a flood and kept it.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LOG_BUFFER_BYTES } from '../../src/log.js';

const LOG = new URL('../../dist/src/log.js', import.meta.url).href;

const FLOOD = `
import { createLogger, droppedLogLines } from ${JSON.stringify(LOG)};
const logger = createLogger({ level: 'info' });
const filler = 'x'.repeat(1000);
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const until = Date.now() + 2500;
let lines = 0;
while (Date.now() < until) {
  for (let i = 0; i < 500; i++, lines++) logger.info({ conn: lines, filler }, 'request');
  await new Promise((resolve) => setImmediate(resolve));
}
globalThis.gc?.();
const growth = process.memoryUsage().heapUsed - before;
process.stderr.write(JSON.stringify({ lines, growth, dropped: droppedLogLines() }) + '\\n');
process.exit(0);
`;

describe('the log buffer', () => {
  it('stays bounded behind a stdout nobody reads, dropping and counting lines instead', async () => {
    const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', FLOOD], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause(); // the slow reader: the pipe fills and stays full
    let stderr = '';
    const reported = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('\n')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await Promise.race([reported, exited]);
      child.stdout.resume(); // the reader catches up, so the exit's flush of the buffer can finish
      expect(await exited, stderr).toBe(0);
    } finally {
      // A flood that hangs (a failed test, a timeout) must not outlive the test.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const report = JSON.parse(stderr.trim().split('\n').at(-1)!) as { lines: number; growth: number; dropped: number };
    // Far more was logged than the buffer holds, so most of it was dropped and counted.
    expect(report.lines * 1000).toBeGreaterThan(10 * LOG_BUFFER_BYTES);
    expect(report.dropped).toBeGreaterThan(report.lines / 2);
    // The heap held at most the buffer (its strings, some twice while they are joined) and slack.
    expect(report.growth).toBeLessThan(4 * LOG_BUFFER_BYTES);
  }, 30_000);
});
