/**
 * `npm run fuzz`: the codec fuzzer (in a worker, under a watchdog) and then the live-gateway
 * fuzzer, both from one seed. Prints progress and failures (with the input as hex) to stderr,
 * a summary table to stdout, and ends with one JSON line of the figures. Exit 1 on any failure.
 *
 *   npm run fuzz -- --seed 7 --codec-inputs 1000000 --live-frames 100000
 */
import { Command, InvalidArgumentError } from 'commander';
import { runCodecFuzz } from './codec-run.js';
import { fuzzLive } from './live.js';

function integer(min: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return value;
  };
}

const program = new Command('fuzz')
  .description('Seeded mutation fuzzing of the codec and of a live gateway (aircharge serve over a real redis-server)')
  .option('--seed <n>', 'seed of every random choice (a failing run reproduces from it)', integer(0), 1)
  .option('--codec-inputs <n>', 'inputs for the codec fuzzer (0: skip)', integer(0), 1_000_000)
  .option('--live-frames <n>', 'frames sent to the live gateway (0: skip)', integer(0), 100_000)
  .option('--concurrency <n>', 'live connections at once', integer(1), 8)
  .option('--budget-ms <n>', 'time budget of one codec input; over it is a hang', integer(1), 1000)
  .parse();

const options = program.opts<{ seed: number; codecInputs: number; liveFrames: number; concurrency: number; budgetMs: number }>();
const log = (line: string) => process.stderr.write(`${line}\n`);

const codec = options.codecInputs === 0 ? null : await runCodecFuzz({
  seed: options.seed, inputs: options.codecInputs, budgetMs: options.budgetMs, hangMs: Math.max(5_000, options.budgetMs * 5),
});
if (codec !== null) log(`codec fuzz: ${codec.inputs} inputs, ${codec.frames} frames, ${codec.frameErrors} frame errors, ${codec.failures.length} failures`);
const live = options.liveFrames === 0 ? null : await fuzzLive({
  seed: options.seed, frames: options.liveFrames, concurrency: options.concurrency, progress: log,
});

for (const failure of [...(codec?.failures ?? []), ...(live?.failures ?? [])]) {
  log(`FAILURE ${failure.kind}: ${failure.message}${failure.hex === '' ? '' : `\n  input (hex): ${failure.hex}`}`);
}
const rows: Array<[string, string | number | boolean]> = [];
if (codec !== null) {
  rows.push(['codec inputs', codec.inputs], ['codec input bytes', codec.bytes], ['codec frames decoded', codec.frames],
    ['codec frame errors', codec.frameErrors], ['codec payloads decoded / refused', `${codec.payloadsDecoded} / ${codec.payloadErrors}`],
    ['codec max bytes buffered', codec.maxBuffered], ['codec slowest input (ms)', Math.round(codec.slowestMs)],
    ['codec failures', codec.failures.length]);
}
if (live !== null) {
  rows.push(['live frames sent', live.frames], ['live connections (signed-in / anonymous)', `${live.connections} (${live.signedInConnections} / ${live.anonymousConnections})`],
    ['live frames received', live.framesReceived], ['live closed by the gateway', live.closedByGateway],
    ['live well-formed MACed PAY/CORRECT sent', live.wellFormedPaysSent], ['live journal movements', live.journalEntries],
    ['live gateway alive afterwards', live.alive], ['live verify', live.verifyOk ? 'ok' : 'FAILED'], ['live failures', live.failures.length],
    ['live seconds', Math.round(live.ms / 100) / 10]);
}
const width = Math.max(...rows.map(([name]) => name.length));
for (const [name, value] of rows) process.stdout.write(`${name.padEnd(width)}  ${value}\n`);

const ok = (codec?.failures.length ?? 0) === 0 && (live === null || (live.failures.length === 0 && live.alive && live.verifyOk));
process.stdout.write(`${JSON.stringify({
  seed: options.seed,
  ok,
  codec: codec === null ? null : { inputs: codec.inputs, bytes: codec.bytes, frames: codec.frames, frameErrors: codec.frameErrors,
    payloadsDecoded: codec.payloadsDecoded, payloadErrors: codec.payloadErrors, maxBuffered: codec.maxBuffered,
    slowestMs: Math.round(codec.slowestMs * 10) / 10, failures: codec.failures.length },
  live: live === null ? null : { frames: live.frames, connections: live.connections, signedIn: live.signedInConnections,
    anonymous: live.anonymousConnections, framesReceived: live.framesReceived, closedByGateway: live.closedByGateway,
    wellFormedPaysSent: live.wellFormedPaysSent, journalEntries: live.journalEntries, moneyMovedFen: live.moneyMovedFen,
    alive: live.alive, verify: live.verifyOk, failures: live.failures.length, seconds: Math.round(live.ms / 100) / 10 },
})}\n`);
process.exitCode = ok ? 0 : 1;
