/**
 * The codec fuzzer under a watchdog: runs fuzzCodec in a worker and, when the worker's input
 * counter stops moving for longer than the hang limit, terminates it and reports the input it
 * was stuck on (a hang in the decoder is otherwise invisible: the loop never returns).
 */
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CodecFuzzOptions, CodecFuzzReport } from './codec.js';

/** The built worker, whether this module runs from the build or (in tests) from source. */
const WORKER = new URL(import.meta.url.endsWith('.ts') ? '../../dist/simulator/fuzz/codec-worker.js' : './codec-worker.js', import.meta.url);
/** Largest input kept for a hang report (inputs are a few kB). */
const MAX_INPUT_BYTES = 64 * 1024;
const POLL_MS = 100;

export async function runCodecFuzz(options: Omit<CodecFuzzOptions, 'onInput'> & { hangMs: number }): Promise<CodecFuzzReport> {
  const shared = new SharedArrayBuffer(8 + MAX_INPUT_BYTES);
  const header = new Int32Array(shared, 0, 2);
  const { hangMs, ...fuzzOptions } = options;
  const worker = new Worker(WORKER, { workerData: { options: fuzzOptions, shared } });
  let done: CodecFuzzReport | Error | null = null;
  worker.once('message', (report: CodecFuzzReport) => (done = report));
  worker.once('error', (err) => (done = err));
  worker.once('exit', (code) => (done ??= new Error(`the codec fuzz worker exited with ${code} before reporting`)));

  let seen = -1;
  let movedAt = Date.now();
  while (done === null) {
    await sleep(POLL_MS);
    const started = Atomics.load(header, 0);
    if (started !== seen) {
      seen = started;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > hangMs) {
      const length = Atomics.load(header, 1);
      const hex = Buffer.from(new Uint8Array(shared, 8, length)).toString('hex');
      await worker.terminate();
      return {
        seed: options.seed, inputs: started, bytes: 0, frames: 0, frameErrors: 0, payloadsDecoded: 0, payloadErrors: 0,
        maxBuffered: 0, slowestMs: Date.now() - movedAt,
        failures: [{ input: started - 1, kind: 'hang', message: `no progress for ${hangMs} ms`, hex }],
      };
    }
  }
  const result = done as CodecFuzzReport | Error;
  if (result instanceof Error) throw result;
  return result;
}
