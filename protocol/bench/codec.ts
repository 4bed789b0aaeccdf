/**
 * `npm run bench:codec`: throughput of the protocol codec on PAY request frames, beside
 * mqtt-packet on PUBLISH packets of the same size (PROTOCOL.md §2, STYLE.md: benchmarks are code).
 *
 *   decode  FrameDecoder.push over chunks of back-to-back frames (CRC checked) + decodePayload
 *   encode  encodePayload + encodeFrame (CRC, zero MAC: the MAC is measured on its own)
 *   mac     verifyMac (HMAC-SHA256), and encodeFrame with a session key
 *   peer    mqtt-packet parser.parse / generate on PUBLISH packets of the same total length
 *
 * Each case is warmed up, then measured in several rounds interleaved with the others, so a
 * burst of load from other processes does not fall on one case only. Rates are the best round;
 * ratios are the median over rounds of ours/peer measured back to back, which a shared machine
 * disturbs least.
 * Usage: node dist/protocol/bench/codec.js [seconds per case, default 2]
 * The last line of output is one JSON object with every figure and ratio.
 */
import { generate, parser as mqttParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import {
  FrameDecoder,
  MessageType,
  decodePayload,
  encodeFrame,
  encodePayload,
  verifyMac,
  type Frame,
} from '../index.js';

const USAGE = 'usage: npm run bench:codec -- [SECONDS]   seconds per case (2); the last line of output is one JSON object';
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const seconds = Number(process.argv[2] ?? 2);
if (!(seconds > 0)) {
  process.stderr.write(`bench:codec: SECONDS must be a positive number\n${USAGE}\n`);
  process.exit(2);
}
const ROUNDS = 10;
const ROUND_MS = (seconds * 1000) / ROUNDS;
const WARMUP_MS = Math.min(300, ROUND_MS);
const FRAMES_PER_CHUNK = 256; // ~12 KB of frames per push, a busy TCP read
const PER_BATCH = 64; // encodes and MAC checks per timed call

const sessionKey = Buffer.alloc(32, 0x5c);
const header = { type: MessageType.PAY, terminalId: 'AC000001', seq: 1, timestamp: 1_795_741_200 };
const pay = { account: '3100012345', amountFen: 5_000 };
const payFrame = encodeFrame(header, encodePayload(MessageType.PAY, pay), sessionKey);
const payChunk = Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, () => payFrame));

// A PUBLISH (QoS 0) whose whole packet is as long as a PAY frame: 2-byte fixed header,
// 2-byte topic length, topic, payload.
const topic = 'aircharge/pay';
const publish: IPublishPacket = {
  cmd: 'publish',
  qos: 0,
  dup: false,
  retain: false,
  topic,
  payload: Buffer.alloc(payFrame.length - 4 - topic.length, 0x42),
};
const publishPacket = generate(publish);
if (publishPacket.length !== payFrame.length) throw new Error('peer packet size differs from the PAY frame');
const publishChunk = Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, () => publishPacket));

let sink = 0; // results feed this, so no case can be optimised away

const decoder = new FrameDecoder();
const parser = mqttParser({ protocolVersion: 4 });
let peerPackets = 0;
parser.on('packet', (packet: Packet) => {
  peerPackets += 1;
  if (packet.cmd === 'publish') sink += packet.payload.length;
});
const [sampleFrame] = new FrameDecoder().push(payFrame) as Frame[];
if (sampleFrame === undefined || !verifyMac(sampleFrame, sessionKey)) throw new Error('sample PAY frame does not decode');

/** Each case runs a batch and says how many frames it handled. */
const cases = {
  decode: () => {
    const out = decoder.push(payChunk);
    if (out.length !== FRAMES_PER_CHUNK) throw new Error(`decoded ${out.length} of ${FRAMES_PER_CHUNK}`);
    for (const item of out) sink += decodePayload(MessageType.PAY, (item as Frame).payload).amountFen;
    return out.length;
  },
  peerDecode: () => {
    const before = peerPackets;
    parser.parse(publishChunk);
    return peerPackets - before;
  },
  encode: () => {
    for (let i = 0; i < PER_BATCH; i++) sink += encodeFrame(header, encodePayload(MessageType.PAY, pay), null).length;
    return PER_BATCH;
  },
  peerEncode: () => {
    for (let i = 0; i < PER_BATCH; i++) sink += generate(publish).length;
    return PER_BATCH;
  },
  macVerify: () => {
    for (let i = 0; i < PER_BATCH; i++) if (verifyMac(sampleFrame, sessionKey)) sink += 1;
    return PER_BATCH;
  },
  encodeWithMac: () => {
    for (let i = 0; i < PER_BATCH; i++) sink += encodeFrame(header, encodePayload(MessageType.PAY, pay), sessionKey).length;
    return PER_BATCH;
  },
};
type Case = keyof typeof cases;
const LABEL: Record<Case, string> = {
  decode: `decode PAY (${payFrame.length} B: CRC + payload)`,
  peerDecode: 'peer: mqtt-packet parse PUBLISH',
  encode: 'encode PAY (payload + CRC)',
  peerEncode: 'peer: mqtt-packet generate PUBLISH',
  macVerify: 'verifyMac (HMAC-SHA256)',
  encodeWithMac: 'encode PAY with MAC',
};

/** Frames per second of `batch` run for `ms`. */
function rate(batch: () => number, ms: number): number {
  let frames = 0;
  const start = process.hrtime.bigint();
  const stop = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < stop) {
    frames += batch();
    now = process.hrtime.bigint();
  }
  return frames / (Number(now - start) / 1e9);
}

const names = Object.keys(cases) as Case[];
for (const name of names) rate(cases[name], WARMUP_MS);
const rounds: Array<Record<Case, number>> = [];
for (let round = 0; round < ROUNDS; round++) {
  const rates = {} as Record<Case, number>;
  for (const name of names) rates[name] = rate(cases[name], ROUND_MS);
  rounds.push(rates);
}
const best = Object.fromEntries(names.map((name) => [name, Math.max(...rounds.map((r) => r[name]))])) as Record<Case, number>;

function medianRatio(ours: Case, peer: Case): number {
  const ratios = rounds.map((r) => r[ours] / r[peer]).sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  return ratios.length % 2 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
}

console.log(`node ${process.version}, ${payFrame.length}-byte frames, best of ${ROUNDS} rounds of ${ROUND_MS} ms per case`);
for (const name of names) {
  console.log(`${LABEL[name].padEnd(36)} ${Math.round(best[name]).toLocaleString('en-US').padStart(12)} frames/s`);
}
const decodeRatio = medianRatio('decode', 'peerDecode');
const encodeRatio = medianRatio('encode', 'peerEncode');
console.log(`ours/peer (median of ${ROUNDS} back-to-back pairs): decode ${decodeRatio.toFixed(2)}x, encode ${encodeRatio.toFixed(2)}x`);
if (sink === 0) throw new Error('no work was done');

console.log(
  JSON.stringify({
    bench: 'codec',
    node: process.version,
    frameBytes: payFrame.length,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    decodePerSec: Math.round(best.decode),
    peerDecodePerSec: Math.round(best.peerDecode),
    encodePerSec: Math.round(best.encode),
    peerEncodePerSec: Math.round(best.peerEncode),
    macVerifyPerSec: Math.round(best.macVerify),
    encodeWithMacPerSec: Math.round(best.encodeWithMac),
    decodeRatio: Number(decodeRatio.toFixed(2)),
    encodeRatio: Number(encodeRatio.toFixed(2)),
    decodeTargetMet: best.decode >= 1_000_000 && decodeRatio >= 1,
  }),
);
