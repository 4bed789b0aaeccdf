/**
 * `npm run load -- --scenario throughput|connections|storm [options]`: load tests of the gateway
 * on this machine, with Redis and the load generator sharing it. Each scenario writes its figures
 * as JSON (and, for throughput, an HTML page with latency charts) to --out, and ends its output
 * with one JSON line.
 *
 *   throughput   --terminals 200 --duration 10 --warmup 2 --baseline 2
 *   connections  --terminals 1000 --hold 15 --heartbeat 10 --width 500
 *   storm        the same, then every connection cut at once and timed until all are back;
 *                --spread MS: terminals wait a random time up to MS before reconnecting
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseScriptArgs } from '../../src/cli/script-args.js';
import { renderHtml } from '../report/html.js';
import { connections } from './connections.js';
import { startStack } from './stack.js';
import { throughput } from './throughput.js';
import { throughputVsHttpBiller } from './biller.js';

const USAGE = `
usage: npm run load -- [--scenario throughput|connections|storm] [options]

  --scenario NAME     throughput (default), connections or storm
  --terminals N       terminals (throughput: 200; connections, storm: 1000)
  --duration SEC      throughput: measured seconds (10)
  --warmup SEC        throughput: warm-up seconds (2)
  --baseline SEC      throughput: seconds of the bench:core baseline (2)
  --hold SEC          connections, storm: seconds the connections are held (15)
  --heartbeat SEC     connections, storm: heartbeat interval (10)
  --width N           connections, storm: sign-ins in flight at once (500)
  --spread MS         storm: terminals wait a random time up to MS before reconnecting (0)
  --per-outlet N      terminals per outlet (100)
  --seed N            seed of the generated network (1)
  --biller KIND       throughput: embedded (default), or http: the same run again against the
                      reference biller process, reporting the ratio and every process's CPU
  --out DIR           where the JSON and HTML results go (load-results)
  --quiet             no progress lines
The last line of output is one JSON object with the figures.
`;

const values = parseScriptArgs('load', USAGE, {
    scenario: { type: 'string', default: 'throughput' },
    biller: { type: 'string', default: 'embedded' },
    terminals: { type: 'string' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    baseline: { type: 'string', default: '2' },
    hold: { type: 'string', default: '15' },
    heartbeat: { type: 'string', default: '10' },
    width: { type: 'string', default: '500' },
    spread: { type: 'string', default: '0' },
    'per-outlet': { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'load-results' },
    quiet: { type: 'boolean', default: false },
});

const log = (line: string) => process.stderr.write(`${line}\n`);

function whole(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) {
    log(`load: --${name} must be a whole number`);
    process.exit(2);
  }
  return Number(text);
}

async function main(): Promise<number> {
  const scenario = values.scenario!;
  if (!['throughput', 'connections', 'storm'].includes(scenario)) {
    log('load: --scenario must be throughput, connections or storm');
    return 2;
  }
  const seed = whole('seed', values.seed, 1);
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');

  if (values.biller !== 'embedded' && values.biller !== 'http') {
    log('load: --biller must be embedded or http');
    return 2;
  }
  if (scenario === 'throughput' && values.biller === 'http') {
    const terminals = whole('terminals', values.terminals, 200);
    const stack = await startStack({ outlets: terminals, terminalsPerOutlet: 1, accounts: 2000, gatewayArgs: [], seed, log });
    const work = mkdtempSync(join(tmpdir(), 'aircharge-load-biller-'));
    try {
      const result = await throughputVsHttpBiller(stack, {
        durationSec: whole('duration', values.duration, 10),
        warmupSec: whole('warmup', values.warmup, 2),
        baselineSec: 0,
        progress: !values.quiet,
        seed,
        work,
        log,
      });
      const base = join(out, `throughput-biller-http-${stamp}`);
      writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 1)}\n`);
      log(`results: ${base}.json`);
      process.stdout.write(`${JSON.stringify({ ...result.figures, files: [`${base}.json`] })}\n`);
      return 0;
    } finally {
      await stack.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  if (scenario === 'throughput') {
    const terminals = whole('terminals', values.terminals, 200);
    const stack = await startStack({ outlets: terminals, terminalsPerOutlet: 1, accounts: 2000, gatewayArgs: [], seed, log });
    try {
      const result = await throughput(stack, {
        durationSec: whole('duration', values.duration, 10),
        warmupSec: whole('warmup', values.warmup, 2),
        baselineSec: whole('baseline', values.baseline, 2),
        progress: !values.quiet,
        seed,
      });
      const base = join(out, `throughput-${stamp}`);
      writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 1)}\n`);
      writeFileSync(`${base}.html`, renderHtml({ title: `aircharge throughput, ${terminals} terminals`, ...result }));
      log(`results: ${base}.json, ${base}.html`);
      process.stdout.write(`${JSON.stringify({ ...result.figures, files: [`${base}.json`, `${base}.html`] })}\n`);
      return 0;
    } finally {
      await stack.stop();
    }
  }

  const terminals = whole('terminals', values.terminals, 1000);
  const perOutlet = Math.max(1, Math.min(terminals, whole('per-outlet', values['per-outlet'], 100)));
  const heartbeatSec = whole('heartbeat', values.heartbeat, 10);
  const stack = await startStack({
    outlets: Math.ceil(terminals / perOutlet),
    terminalsPerOutlet: perOutlet,
    accounts: 10,
    gatewayArgs: ['--max-connections', String(terminals + 100), '--heartbeat-interval', String(heartbeatSec)],
    seed,
    log,
  });
  try {
    stack.network.terminals.splice(terminals);
    const figures = await connections(stack, {
      holdSec: whole('hold', values.hold, 15),
      heartbeatSec,
      signInWidth: whole('width', values.width, 500),
      storm: scenario === 'storm',
      spreadMs: whole('spread', values.spread, 0),
      progress: !values.quiet,
      seed,
    });
    const file = join(out, `${scenario}-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(figures, null, 1)}\n`);
    log(`results: ${file}`);
    process.stdout.write(`${JSON.stringify({ ...figures, files: [file] })}\n`);
    return 0;
  } finally {
    await stack.stop();
  }
}

process.exitCode = await main();
