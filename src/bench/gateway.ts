/**
 * `npm run bench:gateway`: what the gateway costs in front of the work it fronts.
 *
 * Heartbeats/s and inquiries/s with p50/p99 latency for 1, 100 and 1,000 terminals, each keeping
 * one request in flight as firmware does. Baselines, measured in the same run:
 *   heartbeat  a bare Node TCP server (its own process, like the gateway) that answers every
 *              33-byte request with a 38-byte frame, decoding nothing;
 *   inquiry    the same Redis work (replay guard script + account read) issued through the core
 *              on a plain ioredis client, with no gateway in front.
 * Targets: gateway heartbeats >= 60% and inquiries >= 70% of their baselines.
 *
 * Inquiries also get a ceiling: a relay that cuts frames by their length and hands them to the
 * same core, doing no protocol work at all. Its ratio to the baseline is the most any gateway
 * reached over TCP could show on this machine, so the gateway's distance from the target splits
 * into what the TCP hop costs (relay against baseline) and what the gateway's own work costs
 * (gateway against relay).
 *
 * Every side runs in alternating slices, each reported by its best slice. The gateway, the bare
 * server and the relay are child processes; the gateway logs at warn (per-request lines off) over
 * a redis-server this script starts on a free port with AOF everysec, as production runs it.
 * Terminal clients run in this process, the same code (MACs included) for every side.
 * Ends with one JSON line of figures and ratios.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import { EXIT_USAGE, parseScriptArgs } from '../cli/script-args.js';
import {
  FrameDecoder,
  FrameError,
  MIN_FRAME_SIZE,
  MessageType,
  ResultCode,
  ACCOUNT_SIZE,
  Offset,
  deriveSessionKey,
  decodePayload,
  emptyResponse,
  encodeFrame,
  encodePayload,
  HEALTH_UNKNOWN,
  requestFingerprint,
} from '../../protocol/index.js';
import type { Frame } from '../../protocol/index.js';
import { createAdmin } from '../admin/index.js';
import { coalesceWrites } from '../coalesce-writes.js';
import { createCore } from '../core/index.js';
import type { TransactionCore } from '../core/types.js';
import { Gateway } from '../gateway/index.js';
import { createLogger } from '../log.js';
import { startRedisServer } from '../ops/redis-server.js';

const DEFAULT_SIZES = [1, 100, 1000];
const WARMUP_MS = 200;
const DEFAULT_SLICE_MS = 400;
const DEFAULT_ROUNDS = 5;
const MERCHANT = 'bench';
const TARGETS = { heartbeat: 0.6, inquiry: 0.7 };
const SELF = fileURLToPath(import.meta.url);

export interface Figures {
  perSec: number;
  p50us: number;
  p99us: number;
  errors: number;
}

// ---------------------------------------------------------------------------------------------
// Child processes: the gateway and the bare TCP baseline. Each prints its port on one line.

async function gatewayServer(redisUrl: string, masterKeyHex: string): Promise<void> {
  const redis = new Redis(redisUrl);
  redis.on('error', () => {}); // Redis stops before this process at the end of the run
  const logger = createLogger({ level: 'warn' });
  const { sessions, core } = await createCore({ redis, masterKey: Buffer.from(masterKeyHex, 'hex'), logger });
  const gateway = new Gateway({ sessions, core, redis, instanceId: 'bench', logger,
    limits: { connectionRatePerSec: 0, requestRatePerSec: 0, maxConnectionsPerAddress: 0, maxConnections: 5000 } });
  await gateway.ready();
  const server = createServer(gateway.handle);
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify(server.address())}\n`));
}

/** Answers every 33-byte request with one 38-byte frame, decoding nothing. */
function bareServer(): void {
  const answer = encodeFrame({ type: MessageType.HEARTBEAT_RESPONSE, terminalId: 'BARE0000', seq: 1, timestamp: 0 },
    encodePayload(MessageType.HEARTBEAT_RESPONSE, { result: ResultCode.APPROVED, serverTime: 0 }), null);
  const server = createServer((socket) => {
    let pending = 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.length;
      while (pending >= MIN_FRAME_SIZE) {
        pending -= MIN_FRAME_SIZE;
        socket.write(answer);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify(server.address())}\n`));
}

/**
 * The inquiry ceiling: the TCP hop with the core behind it and no protocol work. Frames are cut
 * by their length field; the terminal id, sequence number and account are read at fixed offsets
 * and handed to the core exactly as the direct baseline hands them; the answer is one of two
 * frames encoded up front. No CRC, MAC, payload decoding or response encoding: what the gateway
 * could reach if all of its own work cost nothing.
 */
async function relayServer(redisUrl: string, masterKeyHex: string): Promise<void> {
  const redis = new Redis(redisUrl);
  redis.on('error', () => {});
  const { core } = await createCore({ redis, masterKey: Buffer.from(masterKeyHex, 'hex') });
  const answerFrame = (result: number) => encodeFrame({ type: MessageType.INQUIRY_RESPONSE, terminalId: 'RELAY000', seq: 1, timestamp: 0 },
    encodePayload(MessageType.INQUIRY_RESPONSE, { ...emptyResponse(MessageType.INQUIRY_RESPONSE, result as ResultCode) }), null);
  const approved = answerFrame(ResultCode.APPROVED);
  const declined = answerFrame(ResultCode.SYSTEM_BUSY);
  const server = createServer((socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.setNoDelay(true);
    // Answers leave together at the end of the loop turn, as the gateway's do.
    const answer = (frame: Buffer) => {
      coalesceWrites(socket);
      socket.write(frame);
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= Offset.PAYLOAD && pending.length >= pending.readUInt16BE(Offset.LENGTH)) {
        const frame = pending.subarray(0, pending.readUInt16BE(Offset.LENGTH));
        pending = pending.subarray(frame.length);
        const terminalId = frame.toString('latin1', Offset.TERMINAL_ID, Offset.TERMINAL_ID + 8);
        const payload = frame.subarray(Offset.PAYLOAD, Offset.PAYLOAD + ACCOUNT_SIZE);
        directInquiry(core, terminalId, frame.readUInt32BE(Offset.SEQ), payload).then(
          (ok) => answer(ok ? approved : declined),
          () => answer(declined));
      }
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify(server.address())}\n`));
}

async function startChild(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  // Node flags (--cpu-prof, say) reach the servers too.
  const child = spawn(process.execPath, [...process.execArgv, SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return { port, child };
}

// ---------------------------------------------------------------------------------------------
// A lean terminal: one request in flight, the frame codec both ways.

class BenchTerminal {
  private readonly decoder = new FrameDecoder();
  private waiting: ((frame: Frame) => void) | null = null;
  sessionKey: Buffer | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly terminalId: string,
    readonly key: Buffer,
    readonly seqs: { next(): number },
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) {
        if (item instanceof FrameError) throw item;
        const resolve = this.waiting;
        this.waiting = null;
        resolve?.(item);
      }
    });
    socket.on('error', () => {});
  }

  static open(port: number, terminalId: string, key: Buffer, seqs: { next(): number }): Promise<BenchTerminal> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => resolve(new BenchTerminal(socket, terminalId, key, seqs)));
      socket.once('error', reject);
    });
  }

  request(type: number, payload: Buffer): Promise<Frame> {
    const macKey = type === MessageType.SIGN_IN ? this.key : this.sessionKey;
    const frame = encodeFrame({ type, terminalId: this.terminalId, seq: this.seqs.next(), timestamp: Math.floor(Date.now() / 1000) },
      payload, macKey);
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(frame);
    });
  }

  async signIn(): Promise<void> {
    const nonce = randomBytes(16);
    const frame = await this.request(MessageType.SIGN_IN, encodePayload(MessageType.SIGN_IN, { nonce, firmware: 'BENCH' }));
    const response = decodePayload(MessageType.SIGN_IN_RESPONSE, frame.payload);
    if (response.result !== ResultCode.APPROVED) throw new Error(`sign-in of ${this.terminalId}: result ${response.result}`);
    this.sessionKey = deriveSessionKey(this.key, this.terminalId, nonce, response.nonce);
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement. The machine is shared, so gateway and baseline run in alternating short slices:
// a load swing hits both alike.

type Worker = (worker: number) => Promise<boolean>;

/** N workers, each looping one request at a time for `ms`. */
async function slice(workers: number, once: Worker, ms: number): Promise<Figures> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let completed = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await once(worker);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      completed += 1;
      if (!ok) errors += 1;
    }
  }));
  const figures = {
    perSec: Math.round(completed / ((performance.now() - started) / 1000)),
    p50us: histogram.getValueAtPercentile(50),
    p99us: histogram.getValueAtPercentile(99),
    errors,
  };
  histogram.destroy();
  return figures;
}

/** One size of one kind, as the JSON line reports it. */
export interface Row {
  gateway: Figures;
  baseline: Figures;
  ratio: number;
  /** Inquiries only: the relay (the TCP hop with no protocol work) and its ratio to the baseline. */
  relay?: Figures;
  ceiling?: number;
  /** The gateway against the relay: what the gateway's own work leaves of the TCP hop's rate. */
  ofRelay?: number;
}

/**
 * Alternating slices of every side (gateway, baseline, and the relay for inquiries); each side is
 * reported by its best slice (the one least disturbed by whatever else the machine ran), as the
 * other benchmarks of this project do.
 */
async function compare(plan: Plan, workers: number, sides: { gateway: Worker; baseline: Worker; relay?: Worker }): Promise<Row> {
  const names = Object.keys(sides) as Array<keyof typeof sides>;
  const slices = new Map(names.map((name) => [name, [] as Figures[]]));
  for (const name of names) await slice(workers, sides[name]!, WARMUP_MS);
  for (let round = 0; round < plan.rounds; round++) {
    for (const name of names) slices.get(name)!.push(await slice(workers, sides[name]!, plan.sliceMs));
  }
  // The best slice's figures, with the errors of every slice.
  const best = (name: keyof typeof sides): Figures => {
    const all = slices.get(name)!;
    return { ...all.reduce((a, b) => (b.perSec > a.perSec ? b : a)), errors: all.reduce((sum, f) => sum + f.errors, 0) };
  };
  const row: Row = { gateway: best('gateway'), baseline: best('baseline'), ratio: 0 };
  row.ratio = ratio(row.gateway, row.baseline);
  if (sides.relay !== undefined) {
    row.relay = best('relay');
    row.ceiling = ratio(row.relay, row.baseline);
    row.ofRelay = ratio(row.gateway, row.relay);
  }
  return row;
}

function resultOf(frame: Frame): number {
  return frame.payload[0] ?? -1;
}

async function main(argv: string[]): Promise<void> {
  const plan = parsePlan(argv);
  const { sizes, kinds } = plan;
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url);
  const masterKey = randomBytes(32);
  const maxTerminals = Math.max(...sizes);

  // The network: one merchant with float; terminals that use the gateway, and as many that the
  // direct baseline uses (its sessions are opened without a gateway); an account per terminal.
  const admin = createAdmin({ redis, masterKey, operator: 'bench' });
  await admin.addMerchant(MERCHANT, 'Bench shop');
  await admin.topUp(MERCHANT, 100_000_000);
  const accounts = Array.from({ length: maxTerminals }, (_, i) => String(1_000_000_000 + i));
  await admin.importAccounts(['account,name,bill_id,period,amount,issue_date,status', ...accounts.map((a) => `${a},Wang Xiao Ming,B1,202609,120.50,2026-09-05,open`)].join('\n'));
  const provision = async (prefix: string) => {
    const provisioned: Array<{ terminalId: string; key: Buffer; seq: number }> = [];
    for (let i = 0; i < maxTerminals; i++) {
      const terminalId = `${prefix}${String(i).padStart(7, '0')}`;
      const { key } = await admin.addTerminal(terminalId, MERCHANT);
      provisioned.push({ terminalId, key: Buffer.from(key, 'hex'), seq: 0 });
    }
    return provisioned;
  };
  const viaGateway = await provision('G');
  const direct = await provision('D');
  const seqs = (terminal: { seq: number }) => ({ next: () => ++terminal.seq });

  const gatewayChild = await startChild(['gateway-server', redisServer.url, masterKey.toString('hex')]);
  const bareChild = await startChild(['bare-server']);
  const relayChild = await startChild(['relay-server', redisServer.url, masterKey.toString('hex')]);
  const heartbeatPayload = encodePayload(MessageType.HEARTBEAT, HEALTH_UNKNOWN);
  const inquiryPayloads = accounts.map((account) => encodePayload(MessageType.INQUIRY, { account }));

  // The inquiry baseline: the core itself over a plain ioredis client, no gateway in front.
  const { sessions, core } = await createCore({ redis, masterKey });
  const baselineInquiry: Worker = (i) => directInquiry(core, direct[i]!.terminalId, ++direct[i]!.seq, inquiryPayloads[i]!);

  const results: Record<Kind, Record<number, Row>> = { heartbeat: {}, inquiry: {} };
  for (const size of sizes) {
    const gatewayTerminals = await Promise.all(viaGateway.slice(0, size).map((t) =>
      BenchTerminal.open(gatewayChild.port, t.terminalId, t.key, seqs(t))));
    await Promise.all(gatewayTerminals.map((t) => t.signIn()));
    const bareTerminals = await Promise.all(viaGateway.slice(0, size).map((t) =>
      BenchTerminal.open(bareChild.port, t.terminalId, t.key, seqs({ seq: 0 }))));
    // Relay terminals send as the direct ones: their numbers continue the same count.
    const relayTerminals = await Promise.all(direct.slice(0, size).map((t) =>
      BenchTerminal.open(relayChild.port, t.terminalId, t.key, seqs(t))));
    // Neither server checks a MAC, but the terminals compute one all the same: every side's
    // client does the same work per request, so the ratios compare the servers alone.
    for (const t of [...bareTerminals, ...relayTerminals]) t.sessionKey = randomBytes(32);
    await Promise.all(direct.slice(0, size).map((t) => sessions.openSession({
      terminalId: t.terminalId, merchantId: MERCHANT, seq: ++t.seq, connectionId: directConnection(t.terminalId),
      instanceId: 'direct', peer: 'bench', now: Date.now(), ttlSec: 600, firmware: 'BENCH' })));

    const approved = (terminals: BenchTerminal[], type: number, payload: (i: number) => Buffer): Worker =>
      async (i) => resultOf(await terminals[i]!.request(type, payload(i))) === ResultCode.APPROVED;
    if (kinds.includes('heartbeat')) results.heartbeat[size] = await compare(plan, size, {
      gateway: approved(gatewayTerminals, MessageType.HEARTBEAT, () => heartbeatPayload),
      baseline: approved(bareTerminals, MessageType.HEARTBEAT, () => heartbeatPayload),
    });
    if (kinds.includes('inquiry')) results.inquiry[size] = await compare(plan, size, {
      gateway: approved(gatewayTerminals, MessageType.INQUIRY, (i) => inquiryPayloads[i]!),
      baseline: baselineInquiry,
      relay: approved(relayTerminals, MessageType.INQUIRY, (i) => inquiryPayloads[i]!),
    });
    for (const t of [...gatewayTerminals, ...bareTerminals, ...relayTerminals]) t.close();

    for (const kind of kinds) {
      const row = results[kind][size]!;
      console.log(`${kind.padEnd(9)} ${String(size).padStart(4)} terminals: gateway ${row.gateway.perSec}/s ` +
        `p50 ${row.gateway.p50us} us p99 ${row.gateway.p99us} us | baseline ${row.baseline.perSec}/s ` +
        `p50 ${row.baseline.p50us} us p99 ${row.baseline.p99us} us | ratio ${row.ratio}` +
        (row.relay === undefined ? '' : ` | relay ${row.relay.perSec}/s p50 ${row.relay.p50us} us: ceiling ${row.ceiling}, gateway/relay ${row.ofRelay}`));
    }
  }

  await Promise.all([gatewayChild.child, bareChild.child, relayChild.child].map((child) => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  }));
  redis.disconnect();
  await redisServer.stop();

  const worst = (kind: Kind) => Math.min(...sizes.map((size) => results[kind][size]?.ratio ?? Number.NaN));
  console.log(JSON.stringify({
    bench: 'gateway',
    sliceMs: plan.sliceMs,
    rounds: plan.rounds,
    results,
    targets: TARGETS,
    worstRatio: { heartbeat: worst('heartbeat'), inquiry: worst('inquiry') },
    met: { heartbeat: worst('heartbeat') >= TARGETS.heartbeat, inquiry: worst('inquiry') >= TARGETS.inquiry },
    // The relay's worst ratio: below the inquiry target, no gateway over TCP could meet it here.
    worstCeiling: { inquiry: Math.min(...sizes.map((size) => results.inquiry[size]?.ceiling ?? Number.NaN)) },
  }));
}

/**
 * One inquiry straight to the core, as the baseline and the relay both make it: under the direct
 * terminal's session, the account read from the payload at its fixed place (the payload is the
 * account). True when APPROVED.
 */
async function directInquiry(core: TransactionCore, terminalId: string, seq: number, payload: Buffer): Promise<boolean> {
  const { response } = await core.inquiry({
    terminalId, merchantId: MERCHANT, connectionId: directConnection(terminalId), seq,
    fingerprint: requestFingerprint(MessageType.INQUIRY, payload), now: Date.now(),
  }, { account: payload.toString('latin1', 0, ACCOUNT_SIZE) });
  return response.result === ResultCode.APPROVED;
}

/** The baseline's connection id for a direct terminal (D0000042 → direct-42). */
function directConnection(terminalId: string): string {
  return `direct-${Number(terminalId.slice(1))}`;
}

function ratio(gateway: Figures, baseline: Figures): number {
  return Math.round((gateway.perSec / baseline.perSec) * 100) / 100;
}

type Kind = 'heartbeat' | 'inquiry';

interface Plan {
  sizes: number[];
  kinds: Kind[];
  sliceMs: number;
  rounds: number;
}

const USAGE = `
usage: npm run bench:gateway -- [--sizes 1,100,1000] [--kinds heartbeat,inquiry] [--slice-ms 400] [--rounds 5]

Heartbeats/s and inquiries/s through the gateway against a bare TCP server, the core alone and a
relay, for each number of terminals. The defaults are the recorded run (about 45 s).
  --sizes LIST     numbers of terminals (1,100,1000)
  --kinds LIST     heartbeat, inquiry or both (both)
  --slice-ms MS    length of one measured slice (400)
  --rounds N       slices per side (5)
The last line of output is one JSON object with the figures and ratios.
`;

/**
 * `--sizes 100` and `--kinds inquiry` narrow the run (to profile one case, say); `--slice-ms` and
 * `--rounds` set how long each side is measured. The defaults are the recorded run.
 */
function parsePlan(argv: string[]): Plan {
  const flags = parseScriptArgs('bench:gateway', USAGE, {
    sizes: { type: 'string' },
    kinds: { type: 'string' },
    'slice-ms': { type: 'string' },
    rounds: { type: 'string' },
  }, argv);
  const positive = (flag: string, text: string | undefined, fallback: number) => {
    const number = Number(text ?? fallback);
    if (!Number.isInteger(number) || number < 1) usageError(`${flag} takes a positive integer`);
    return number;
  };
  const sizes = (flags.sizes?.split(',') ?? DEFAULT_SIZES).map(Number);
  const kinds = (flags.kinds?.split(',') ?? ['heartbeat', 'inquiry']) as Kind[];
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) usageError('--sizes takes positive integers');
  if (kinds.some((kind) => kind !== 'heartbeat' && kind !== 'inquiry')) usageError('--kinds takes heartbeat,inquiry');
  return {
    sizes,
    kinds,
    sliceMs: positive('--slice-ms', flags['slice-ms'], DEFAULT_SLICE_MS),
    rounds: positive('--rounds', flags.rounds, DEFAULT_ROUNDS),
  };
}

function usageError(message: string): never {
  process.stderr.write(`bench:gateway: ${message} (see --help)\n`);
  process.exit(EXIT_USAGE);
}

const [mode, ...args] = process.argv.slice(2);
// A server child exits normally on SIGTERM, so profilers (--cpu-prof) get to write their output.
if (mode === 'gateway-server' || mode === 'bare-server' || mode === 'relay-server') process.once('SIGTERM', () => process.exit(0));
if (mode === 'gateway-server') await gatewayServer(args[0]!, args[1]!);
else if (mode === 'bare-server') bareServer();
else if (mode === 'relay-server') await relayServer(args[0]!, args[1]!);
else await main(process.argv.slice(2));
