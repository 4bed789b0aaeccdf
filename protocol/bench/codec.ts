/**
 * `npm run bench:codec`: throughput of the protocol codec on PAY request frames, beside
 * mqtt-packet on PUBLISH packets of the same size (PROTOCOL.md §2, STYLE.md: benchmarks are code).
 *
 *   decode  FrameDecoder.push over chunks of back-to-back frames (CRC checked) + decodePayload
 *   encode  encodePayload + encodeFrame (CRC, zero MAC: the MAC is measured on its own)
 *   mac     verifyMac (HMAC-SHA256) and encodeFrame with a session key
 *   peer    mqtt-packet parser.parse / generate on PUBLISH packets of the same total length
 *
 * Each case warms up, then runs for a fixed time. Usage: node dist/protocol/bench/codec.js [seconds]
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

const seconds = Number(process.argv[2] ?? 2);
if (!(seconds > 0)) throw new Error('usage: codec.js [seconds per case]');
const WARMUP_MS = Math.min(500, seconds * 250);
const FRAMES_PER_CHUNK = 256; // ~12 KB of frames per push, a busy TCP read

const sessionKey = Buffer.alloc(32, 0x5c);
const header = { type: MessageType.PAY, terminalId: 'T0000001', seq: 1, timestamp: 1_764_000_000 };
const pay = { account: '3100012345', amountFen: 12_345 };
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

/** Runs `batch` (which reports how many items it handled) for `ms`; items per second. */
function rate(batch: () => number, ms: number): number {
  let items = 0;
  const start = process.hrtime.bigint();
  const stop = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < stop) {
    items += batch();
    now = process.hrtime.bigint();
  }
  return items / (Number(now - start) / 1e9);
}

function measure(name: string, batch: () => number): number {
  rate(batch, WARMUP_MS);
  const perSecond = rate(batch, seconds * 1000);
  console.log(`${name.padEnd(34)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} /s`);
  return perSecond;
}

let sink = 0; // keeps results observable so no case is optimised away

const decoder = new FrameDecoder();
const decode = measure(`decode PAY (${payFrame.length} B, CRC, payload)`, () => {
  const out = decoder.push(payChunk);
  for (const item of out) {
    const frame = item as Frame;
    sink += decodePayload(MessageType.PAY, frame.payload).amountFen;
  }
  if (out.length !== FRAMES_PER_CHUNK) throw new Error(`decoded ${out.length} of ${FRAMES_PER_CHUNK}`);
  return out.length;
});

const parser = mqttParser({ protocolVersion: 4 });
let peerPackets = 0;
parser.on('packet', (packet: Packet) => {
  peerPackets += 1;
  if (packet.cmd === 'publish') sink += packet.payload.length;
});
const peerDecode = measure(`peer mqtt-packet parse PUBLISH`, () => {
  const before = peerPackets;
  parser.parse(publishChunk);
  return peerPackets - before;
});

const encode = measure('encode PAY (payload, CRC)', () => {
  for (let i = 0; i < 64; i++) {
    sink += encodeFrame(header, encodePayload(MessageType.PAY, pay), null).length;
  }
  return 64;
});

const peerEncode = measure('peer mqtt-packet generate PUBLISH', () => {
  for (let i = 0; i < 64; i++) sink += generate(publish).length;
  return 64;
});

const [sampleFrame] = new FrameDecoder().push(payFrame) as Frame[];
const macVerify = measure('verifyMac (HMAC-SHA256)', () => {
  for (let i = 0; i < 64; i++) if (verifyMac(sampleFrame!, sessionKey)) sink += 1;
  return 64;
});
const encodeWithMac = measure('encode PAY with MAC', () => {
  for (let i = 0; i < 64; i++) {
    sink += encodeFrame(header, encodePayload(MessageType.PAY, pay), sessionKey).length;
  }
  return 64;
});

const figures = {
  bench: 'codec',
  frameBytes: payFrame.length,
  seconds,
  node: process.version,
  decodePerSec: Math.round(decode),
  encodePerSec: Math.round(encode),
  peerDecodePerSec: Math.round(peerDecode),
  peerEncodePerSec: Math.round(peerEncode),
  macVerifyPerSec: Math.round(macVerify),
  encodeWithMacPerSec: Math.round(encodeWithMac),
  decodeRatio: Number((decode / peerDecode).toFixed(2)),
  encodeRatio: Number((encode / peerEncode).toFixed(2)),
  decodeTargetMet: decode >= 1_000_000 && decode >= peerDecode,
  sink: sink > 0,
};
console.log(`decode ${figures.decodeRatio}x peer, encode ${figures.encodeRatio}x peer`);
console.log(JSON.stringify(figures));
