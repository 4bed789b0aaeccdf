/**
 * Runs the codec fuzzer off the main thread so a hang can be caught: before each input the
 * worker publishes the input's bytes and number in shared memory; the main thread's watchdog
 * (runCodecFuzz) terminates a worker whose number stops moving and reports that input.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzCodec, type CodecFuzzOptions } from './codec.js';

interface WorkerInput {
  options: Omit<CodecFuzzOptions, 'onInput'>;
  /** [0]: inputs started, [1]: length of the current input; then its bytes from byte 8. */
  shared: SharedArrayBuffer;
}

const { options, shared } = workerData as WorkerInput;
const header = new Int32Array(shared, 0, 2);
const current = new Uint8Array(shared, 8);
const report = fuzzCodec({
  ...options,
  onInput(index, bytes) {
    const length = Math.min(bytes.length, current.length);
    current.set(bytes.subarray(0, length));
    Atomics.store(header, 1, length);
    Atomics.store(header, 0, index + 1);
  },
});
parentPort!.postMessage(report);
