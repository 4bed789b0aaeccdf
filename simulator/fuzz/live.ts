/**
 * The live-gateway fuzzer: `aircharge serve` as a process over a real redis-server, and many
 * connections sending it seeded hostile frames: from signed-in terminals (mutated frames with a
 * good CRC and a bad MAC, frames with a good MAC and a garbage payload, replayed and edge
 * sequence numbers, sign-ins in mid-session, valid requests between them) and from anonymous
 * peers (random types, versions, lengths, keys, bytes).
 *
 * Afterwards it checks what must hold whatever the input (DESIGN "Bad input", "Money"):
 * - the process is alive and serves a fresh terminal (sign-in and a payment);
 * - it logged no error (an exception in a handler) and printed nothing but JSON log lines;
 * - it answered or closed every connection, and closed each one we half-closed;
 * - every frame it sent decodes, and carries a MAC under the session key or a zero MAC;
 * - money moved only for well-formed, properly MACed PAY and CORRECT frames we sent (every
 *   journal entry is one of them, amount included), and `verify` passes.
 * A failure is reported with the bytes the connection sent, as hex.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FrameDecoder,
  FrameError,
  MessageType,
  ResultCode,
  crc16,
  decodePayload,
  deriveRefusalKey,
  deriveSessionKey,
  encodeFrame,
  encodePayload,
  HEALTH_UNKNOWN,
  hasZeroMac,
  parseReceipt,
  verifyMac,
  type Frame,
} from '../../protocol/index.js';
import { Redis } from 'ioredis';
import { createAdmin } from '../../src/admin/index.js';
import { createRandom, type Random } from '../link/prng.js';
import { startGateway, startRedisServer, type GatewayService, type RedisServer } from '../processes.js';
import { fuzzInput, loadValidFrames } from './codec.js';

export interface LiveFuzzOptions {
  seed: number;
  /** Frames to send in all (each sign-in, request or chunk of garbage counts as one). */
  frames: number;
  /** Connections open at once. */
  concurrency?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

export interface LiveFailure {
  kind: 'hang' | 'gateway_error' | 'gateway_output' | 'bad_mac_from_gateway' | 'money' | 'not_alive' | 'verify';
  message: string;
  /** What the connection concerned had sent (the first 4 kB), as hex. */
  hex: string;
}

export interface LiveFuzzReport {
  seed: number;
  frames: number;
  connections: number;
  signedInConnections: number;
  anonymousConnections: number;
  framesReceived: number;
  closedByGateway: number;
  wellFormedPaysSent: number;
  journalEntries: number;
  moneyMovedFen: number;
  alive: boolean;
  verifyOk: boolean;
  ms: number;
  failures: LiveFailure[];
}

const MERCHANT = 'fuzz-shop';
const FLOAT_FEN = 1_000_000_000;
const ACCOUNTS = ['5000000001', '5000000002', '5000000003', '5000000004'];
const SIGN_IN_TIMEOUT_SEC = 1;
/** After our FIN, the gateway must have closed within this. */
const CLOSE_WITHIN_MS = 5_000;
/** A connection neither answered nor closed within this after our last byte has hung. */
const ANSWER_WITHIN_MS = SIGN_IN_TIMEOUT_SEC * 1000 + 5_000;
const QUIET_MS = 250;
const MAX_FAILURES_KEPT = 20;
const HEX_LIMIT = 4096;

interface TerminalState {
  terminalId: string;
  key: Buffer;
  /** Next sequence number to use. */
  nextSeq: number;
  /** Payments approved to it, for valid corrections. */
  receipts: Array<{ receipt: string; account: string; amountFen: number }>;
  retired: boolean;
}

export async function fuzzLive(options: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const started = Date.now();
  const progress = options.progress ?? (() => {});
  const concurrency = options.concurrency ?? 8;
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-fuzz-'));
  const masterKey = randomBytes(32);
  let redis: RedisServer | null = null;
  let gateway: GatewayService | null = null;
  let client: Redis | null = null;
  const report: LiveFuzzReport = {
    seed: options.seed, frames: 0, connections: 0, signedInConnections: 0, anonymousConnections: 0, framesReceived: 0,
    closedByGateway: 0, wellFormedPaysSent: 0, journalEntries: 0, moneyMovedFen: 0, alive: false, verifyOk: false, ms: 0,
    failures: [],
  };
  let failuresSeen = 0;
  const fail = (failure: LiveFailure) => {
    failuresSeen += 1;
    if (report.failures.length < MAX_FAILURES_KEPT) report.failures.push(failure);
  };

  try {
    redis = await startRedisServer({ dir: join(dir, 'redis') });
    client = new Redis(redis.url);
    const admin = createAdmin({ redis: client, masterKey, operator: 'fuzz' });
    await admin.addMerchant(MERCHANT, 'Fuzz shop');
    await admin.topUp(MERCHANT, FLOAT_FEN);
    await admin.importAccounts(['account,name,bill_id,period,amount,issue_date,status', ...ACCOUNTS.map((a) => `${a},Zhao Liu,B1,202609,1000000.00,2026-09-05,open`)].join('\n'));
    let provisioned = 0;
    const provision = async (): Promise<TerminalState> => {
      provisioned += 1;
      const terminalId = `FZ${String(provisioned).padStart(6, '0')}`;
      const { key } = await admin.addTerminal(terminalId, MERCHANT);
      return { terminalId, key: Buffer.from(key, 'hex'), nextSeq: 1, receipts: [], retired: false };
    };
    const pool: TerminalState[] = [];
    for (let i = 0; i < concurrency * 2; i++) pool.push(await provision());

    const logFile = join(dir, 'gateway.log');
    gateway = await startGateway({
      redisUrl: redis.url,
      logFile,
      args: ['--log-level', 'error', '--sign-in-timeout', String(SIGN_IN_TIMEOUT_SEC), '--idle-timeout', '5',
        '--heartbeat-interval', '2', '--max-bad-frames', '50', '--connection-rate', '0', '--max-connections-per-address', '0'],
      env: { ...process.env, AIRCHARGE_MASTER_KEY: masterKey.toString('hex') },
    });
    const port = gateway.port;
    progress(`live fuzz: gateway pid ${gateway.pid} on port ${port}, redis ${redis.url}`);

    /** Local port of each connection → the bytes it sent, to name the input behind a logged error. */
    const sentByPort = new Map<number, Buffer[]>();
    /**
     * `terminal:seq` of every well-formed, properly MACed PAY or CORRECT sent → what each carried
     * (a number may be reused, with another body: the gateway must apply at most one of them).
     */
    const wellFormed: WellFormed = new Map();
    const vectors = loadValidFrames();
    let nextProgress = 0;

    const loop = async (worker: number) => {
      const random = createRandom((options.seed ^ Math.imul(worker + 1, 0x9e3779b1)) >>> 0);
      while (report.frames < options.frames) {
        const anonymous = random.chance(0.3);
        let terminal: TerminalState | null = null;
        if (!anonymous) {
          const free = pool.findIndex((t) => !t.retired);
          terminal = pool.splice(free, 1)[0]!;
        }
        await oneConnection(random, port, terminal, vectors, report, wellFormed, sentByPort, fail);
        if (terminal !== null) pool.push(terminal.retired ? await provision() : terminal);
        if (report.frames >= nextProgress) {
          progress(`live fuzz: ${report.frames} frames, ${report.connections} connections, ${failuresSeen} failures`);
          nextProgress += 10_000;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, worker) => loop(worker)));

    // Alive: the process runs and serves a fresh terminal end to end.
    const fresh = await provision();
    const aliveError = await payOnce(port, fresh);
    report.alive = gateway.process.exitCode === null && gateway.process.signalCode === null && aliveError === null;
    if (!report.alive) fail({ kind: 'not_alive', message: aliveError ?? `gateway exited (${gateway.process.exitCode ?? gateway.process.signalCode})`, hex: '' });
    else wellFormed.set(`${fresh.terminalId}:${fresh.nextSeq - 1}`, [{ type: MessageType.PAY, amountFen: 1 }]);

    // Money: every journal movement is a well-formed, properly MACed request we sent.
    const journal = await admin.exportJournal();
    for (const entry of journal) {
      if (entry.kind === 'topup') continue;
      report.journalEntries += 1;
      report.moneyMovedFen += entry.kind === 'pay' ? Math.abs(entry.amountFen) : -Math.abs(entry.amountFen);
      const receipt = parseReceipt(entry.txn);
      const sent = receipt === null ? undefined : wellFormed.get(`${receipt.terminalId}:${receipt.seq}`);
      const type = entry.kind === 'pay' ? MessageType.PAY : MessageType.CORRECT;
      if (sent === undefined || !sent.some((s) => s.type === type && s.amountFen === Math.abs(entry.amountFen))) {
        fail({ kind: 'money', message: `journal ${entry.kind} ${entry.txn} of ${entry.amountFen} fen matches no well-formed MACed request sent`, hex: '' });
      }
    }
    const verified = await admin.verify();
    report.verifyOk = verified.ok;
    if (!verified.ok) fail({ kind: 'verify', message: verified.discrepancies.slice(0, 5).join('; '), hex: '' });
    report.wellFormedPaysSent = [...wellFormed.values()].reduce((sum, sent) => sum + sent.length, 0);

    // Errors the gateway logged (an exception in a handler), or anything that is not a log line.
    await gateway.stop(5_000);
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (line === '') continue;
      let entry: { level?: number; msg?: string; peer?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        fail({ kind: 'gateway_error', message: `not a log line: ${line.slice(0, 300)}`, hex: '' });
        continue;
      }
      if ((entry.level ?? 0) < 50) continue;
      const peerPort = Number(entry.peer?.split(':').pop());
      fail({ kind: 'gateway_error', message: `${entry.msg ?? ''}: ${entry.err?.message ?? line.slice(0, 300)}`, hex: hexOf(sentByPort.get(peerPort)) });
    }
  } finally {
    client?.disconnect();
    await gateway?.stop(2_000);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failuresSeen > report.failures.length) {
    report.failures.push({ kind: 'hang', message: `${failuresSeen - report.failures.length} more failures not kept`, hex: '' });
  }
  report.ms = Date.now() - started;
  return report;
}

function hexOf(parts: Buffer[] | undefined): string {
  return parts === undefined ? '' : Buffer.concat(parts).subarray(0, HEX_LIMIT).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// One connection

/** A client socket that collects the gateway's frames and checks each one. */
class FuzzSocket {
  readonly socket: Socket;
  readonly received: Frame[] = [];
  readonly sent: Buffer[] = [];
  closed = false;
  /** The gateway closed first (or reset): we had not half-closed. */
  closedByGateway = false;
  lastActivity = Date.now();
  sessionKey: Buffer | null = null;
  /** Sign-ins sent on this connection: seq → terminal nonce, to follow a session key change. */
  private readonly signIns = new Map<number, Array<{ nonce: Buffer; terminal: TerminalState }>>();
  /** Valid PAYs sent on this connection: seq → what was paid, to learn receipts for corrections. */
  readonly sentPays = new Map<number, { account: string; amountFen: number }>();
  private ended = false;
  private readonly decoder = new FrameDecoder();
  private readonly closedPromise: Promise<void>;

  /** Records a sign-in sent (a number may carry several: the gateway approves at most one). */
  sentSignIn(seq: number, nonce: Buffer, terminal: TerminalState): void {
    this.signIns.set(seq, [...(this.signIns.get(seq) ?? []), { nonce, terminal }]);
  }

  constructor(port: number, private readonly onBadOutput: (message: string) => void) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closedPromise = new Promise((resolve) => this.socket.once('close', () => {
      this.closed = true;
      if (!this.ended) this.closedByGateway = true;
      resolve();
    }));
  }

  connected(): Promise<boolean> {
    return new Promise((resolve) => {
      this.socket.once('connect', () => resolve(true));
      this.socket.once('close', () => resolve(false));
    });
  }

  write(bytes: Buffer): void {
    this.sent.push(bytes);
    if (!this.closed) this.socket.write(bytes);
    this.lastActivity = Date.now();
  }

  end(): void {
    this.ended = true;
    this.socket.end();
  }

  /** Resolves true once closed, false after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closedPromise.then(() => true), sleep(ms).then(() => false)]);
  }

  /** Waits for the next frame (or close) up to `ms`. */
  async nextFrame(ms: number): Promise<Frame | null> {
    const deadline = Date.now() + ms;
    const seen = this.received.length;
    while (this.received.length === seen && !this.closed && Date.now() < deadline) await sleep(5);
    return this.received[seen] ?? null;
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    for (const item of this.decoder.push(chunk)) {
      if (item instanceof FrameError) {
        this.onBadOutput(`the gateway sent bytes that do not decode: ${item.code} ${item.message}`);
        continue;
      }
      const frame = { ...item, raw: Buffer.from(item.raw), payload: Buffer.from(item.payload) };
      this.received.push(frame);
      if (!hasZeroMac(frame) && (this.sessionKey === null || !verifyMac(frame, this.sessionKey))) {
        // The answer to a sign-in carries the new session's key: derive it from the nonce of
        // whichever sign-in with that number the gateway approved, then check.
        const signIns = frame.type === MessageType.SIGN_IN_RESPONSE ? this.signIns.get(frame.seq) ?? [] : [];
        const gatewayNonce = signIns.length === 0 ? null : decodePayload(MessageType.SIGN_IN_RESPONSE, frame.payload).nonce;
        const key = gatewayNonce === null ? undefined : signIns
          .map(({ nonce, terminal }) => deriveSessionKey(terminal.key, terminal.terminalId, nonce, gatewayNonce))
          .find((candidate) => verifyMac(frame, candidate));
        // A refusal after the sign-in's MAC verified is MACed with that sign-in's refusal key (§5.4).
        const refusal = signIns.some(({ nonce, terminal }) => verifyMac(frame, deriveRefusalKey(terminal.key, terminal.terminalId, nonce)));
        if (key !== undefined) this.sessionKey = key;
        else if (!refusal) this.onBadOutput(`frame type 0x${frame.type.toString(16)} seq ${frame.seq} has neither a zero MAC nor the session's MAC: ${frame.raw.toString('hex')}`);
      }
    }
  }
}

/** Connects, signs in (unless anonymous), sends a batch of fuzz frames, then checks the ending. */
async function oneConnection(
  random: Random,
  port: number,
  terminal: TerminalState | null,
  vectors: readonly Buffer[],
  report: LiveFuzzReport,
  wellFormed: WellFormed,
  sentByPort: Map<number, Buffer[]>,
  fail: (failure: LiveFailure) => void,
): Promise<void> {
  let conn: FuzzSocket | null = null;
  conn = new FuzzSocket(port, (message) => fail({ kind: 'gateway_output', message, hex: hexOf(conn?.sent) }));
  if (!(await conn.connected())) return;
  report.connections += 1;
  if (conn.socket.localPort !== undefined) sentByPort.set(conn.socket.localPort, conn.sent);
  // Half the connections get no frame that closes them at once (bad version or length), so the
  // gateway handles the whole batch; the other half get anything.
  const ctx: FrameContext = { random, terminal, conn, vectors, wellFormed, unframed: random.chance(0.5) };

  if (terminal !== null) {
    report.signedInConnections += 1;
    const approved = await signIn(ctx, report);
    if (!approved) {
      conn.end();
      await conn.closedWithin(CLOSE_WITHIN_MS);
      return;
    }
  } else {
    report.anonymousConnections += 1;
  }

  const count = random.int(1, 60);
  const batch: Buffer[] = [];
  for (let i = 0; i < count && !conn.closed; i++) {
    batch.push(nextFrame(ctx));
    report.frames += 1;
  }
  // Sent at random split points, sometimes with a pause between the pieces.
  const bytes = Buffer.concat(batch);
  for (let at = 0; at < bytes.length && !conn.closed; ) {
    const size = random.chance(0.5) ? bytes.length : random.int(1, 200);
    conn.write(bytes.subarray(at, at + size));
    at += size;
    if (random.chance(0.1)) await sleep(random.int(1, 20));
  }

  // Answered or closed: wait until the gateway goes quiet after answering, or closes.
  const answeredBefore = terminal === null ? 0 : 1;
  const deadline = Date.now() + ANSWER_WITHIN_MS;
  while (!conn.closed && Date.now() < deadline) {
    if (conn.received.length > answeredBefore && Date.now() - conn.lastActivity > QUIET_MS) break;
    if (terminal !== null && Date.now() - conn.lastActivity > QUIET_MS * 4) break; // answered at sign-in
    await sleep(20);
  }
  report.framesReceived += conn.received.length;
  if (!conn.closed && conn.received.length === 0) {
    fail({ kind: 'hang', message: `connection neither answered nor closed ${ANSWER_WITHIN_MS} ms after its last byte`, hex: hexOf(conn.sent) });
  }
  learnReceipts(conn, terminal);
  if (conn.closedByGateway) report.closedByGateway += 1;
  conn.end();
  if (!(await conn.closedWithin(CLOSE_WITHIN_MS))) {
    fail({ kind: 'hang', message: `the gateway did not close the connection within ${CLOSE_WITHIN_MS} ms of our FIN`, hex: hexOf(conn.sent) });
    conn.socket.destroy();
  }
}

/** Signs in with the terminal's next number, jumping past the stored mark on REPLAY. */
async function signIn(ctx: FrameContext, report: LiveFuzzReport): Promise<boolean> {
  const terminal = ctx.terminal!;
  for (let attempt = 0; attempt < 2; attempt++) {
    const nonce = randomBytes(16);
    const seq = terminal.nextSeq++;
    ctx.conn.sentSignIn(seq, nonce, terminal);
    ctx.conn.write(encodeFrame({ type: MessageType.SIGN_IN, terminalId: terminal.terminalId, seq, timestamp: nowSec() },
      encodePayload(MessageType.SIGN_IN, { nonce, firmware: 'FUZZ-1' }), terminal.key));
    report.frames += 1;
    const frame = await ctx.conn.nextFrame(5_000);
    if (frame === null || frame.type !== MessageType.SIGN_IN_RESPONSE) return false;
    const response = decodePayload(MessageType.SIGN_IN_RESPONSE, frame.payload);
    if (response.result === ResultCode.APPROVED) {
      ctx.conn.sessionKey = deriveSessionKey(terminal.key, terminal.terminalId, nonce, response.nonce);
      return true;
    }
    if (response.result !== ResultCode.REPLAY) return false;
    // A fuzzed frame with a good MAC took a large number: jump past it, or retire the terminal.
    if (response.lastSeq >= 0xffff0000) {
      terminal.retired = true;
      return false;
    }
    terminal.nextSeq = response.lastSeq + 1;
  }
  return false;
}

function learnReceipts(conn: FuzzSocket, terminal: TerminalState | null): void {
  if (terminal === null) return;
  for (const frame of conn.received) {
    if (frame.type !== MessageType.PAY_RESPONSE) continue;
    const response = decodePayload(MessageType.PAY_RESPONSE, frame.payload);
    const sent = conn.sentPays.get(frame.seq);
    if (response.result === ResultCode.APPROVED && sent !== undefined && terminal.receipts.length < 50) {
      terminal.receipts.push({ receipt: response.receipt, ...sent });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Frames

interface FrameContext {
  random: Random;
  terminal: TerminalState | null;
  conn: FuzzSocket;
  vectors: readonly Buffer[];
  wellFormed: WellFormed;
  /** Frames with a broken version, length or sync may be sent. */
  unframed: boolean;
}

type WellFormed = Map<string, Array<{ type: number; amountFen: number }>>;

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

const REQUEST_TYPES = [MessageType.SIGN_IN, MessageType.HEARTBEAT, MessageType.INQUIRY, MessageType.PAY, MessageType.CORRECT,
  MessageType.STATUS, MessageType.SETTLE, MessageType.SIGN_OUT];

function bytesOf(random: Random, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = random.int(0, 255);
  return bytes;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.int(0, items.length - 1)]!;
}

/** A sequence number: mostly the next one, sometimes a replay or an edge value. */
function seqFor(ctx: FrameContext): number {
  const { random, terminal } = ctx;
  const next = terminal?.nextSeq ?? random.int(1, 1000);
  if (random.chance(0.9)) {
    if (terminal !== null) terminal.nextSeq += 1;
    return next;
  }
  return pick(random, [0, 1, Math.max(0, next - 1), Math.max(0, next - 2), next + 1000, random.chance(0.05) ? 0xffffffff : next + 1]);
}

function timestampFor(random: Random): number {
  return random.chance(0.92) ? nowSec() : pick(random, [0, 1, nowSec() - 301, nowSec() + 301, 0xffffffff, random.int(0, 0xffffffff)]);
}

function terminalIdFor(ctx: FrameContext): string {
  const { random, terminal } = ctx;
  if (terminal !== null && random.chance(0.95)) return terminal.terminalId;
  return pick(random, ['FZ000001', 'FZ000002', 'ZZZZZZZZ', '00000000', 'FZ999999']);
}

/** A well-formed request of the session, as firmware would send it. */
function validRequest(ctx: FrameContext): { type: number; payload: Buffer } {
  const { random, terminal } = ctx;
  const account = pick(random, ACCOUNTS);
  switch (random.int(0, 6)) {
    case 0: return { type: MessageType.HEARTBEAT, payload: encodePayload(MessageType.HEARTBEAT, HEALTH_UNKNOWN) };
    case 1: return { type: MessageType.INQUIRY, payload: encodePayload(MessageType.INQUIRY, { account }) };
    case 2: case 3: return { type: MessageType.PAY, payload: encodePayload(MessageType.PAY, { account, amountFen: random.int(0, 1000) }) };
    case 4: {
      const paid = terminal === null || terminal.receipts.length === 0 ? null : pick(random, terminal.receipts);
      const value = paid ?? { receipt: `${terminal?.terminalId ?? 'FZ000001'}${String(random.int(1, 99)).padStart(10, '0')}`, account, amountFen: random.int(1, 1000) };
      return { type: MessageType.CORRECT, payload: encodePayload(MessageType.CORRECT, value) };
    }
    case 5: return { type: MessageType.STATUS, payload: encodePayload(MessageType.STATUS, { querySeq: random.int(0, (terminal?.nextSeq ?? 10) + 2) }) };
    default: return {
      type: MessageType.SETTLE,
      payload: encodePayload(MessageType.SETTLE, { businessDay: 20261127, payCount: random.int(0, 5), payFen: random.int(0, 5000), correctCount: 0, correctFen: 0 }),
    };
  }
}

/** Fixes the CRC of a frame whose bytes were changed after encoding. */
function withCrc(frame: Buffer): Buffer {
  if (frame.length >= 2) frame.writeUInt16BE(crc16(frame.subarray(0, frame.length - 2)), frame.length - 2);
  return frame;
}

/** One fuzz frame for this connection; records it when it could move money. */
function nextFrame(ctx: FrameContext): Buffer {
  const { random, terminal, conn } = ctx;
  const sessionKey = conn.sessionKey;
  const kind = ctx.unframed ? random.next() : random.next() * 0.65;
  const header = { flags: random.chance(0.9) ? 0 : random.int(0, 255), terminalId: terminalIdFor(ctx), seq: seqFor(ctx), timestamp: timestampFor(random) };
  const record = (type: number, payload: Buffer, macKey: Buffer | null): Buffer => {
    const frame = encodeFrame({ ...header, type }, payload, macKey);
    // Anything the gateway could take as a payment: the session's MAC on a PAY/CORRECT that decodes.
    if (macKey !== null && macKey === sessionKey && (type === MessageType.PAY || type === MessageType.CORRECT)) {
      try {
        const value = decodePayload(type, payload) as { amountFen: number; account: string };
        const key = `${header.terminalId}:${header.seq}`;
        ctx.wellFormed.set(key, [...(ctx.wellFormed.get(key) ?? []), { type, amountFen: value.amountFen }]);
        if (type === MessageType.PAY) conn.sentPays.set(header.seq, { account: value.account, amountFen: value.amountFen });
      } catch {
        // not well-formed: it must move nothing
      }
    }
    return frame;
  };

  if (kind < 0.25 && sessionKey !== null) {
    // Valid, properly MACed: keeps the session doing real work between the hostile frames.
    const { type, payload } = validRequest(ctx);
    return record(type, payload, sessionKey);
  }
  if (kind < 0.45) {
    // Mutated valid frame, CRC good again, MAC now wrong.
    const { type, payload } = validRequest(ctx);
    const frame = encodeFrame({ ...header, type }, payload, sessionKey ?? terminal?.key ?? null);
    const original = Buffer.from(frame);
    // Flips at random; two flips of one bit cancel out, so flip until the frame has changed.
    do {
      for (let m = random.int(1, 3); m > 0; m--) frame[random.int(5, frame.length - 3)]! ^= 1 << random.int(0, 7);
    } while (frame.equals(original));
    return withCrc(frame);
  }
  if (kind < 0.65) {
    // Good MAC (the session's, or the terminal key's on a sign-in), garbage payload.
    const type = random.chance(0.8) ? pick(random, REQUEST_TYPES) : random.int(0, 255);
    const key = type === MessageType.SIGN_IN ? (terminal?.key ?? null) : sessionKey;
    const payload = random.chance(0.5) ? bytesOf(random, random.int(0, 80)) : mutatePayload(random, validRequest(ctx).payload);
    if (type === MessageType.SIGN_IN && terminal !== null && payload.length === 24) conn.sentSignIn(header.seq, payload.subarray(0, 16), terminal);
    return record(type, payload, key);
  }
  if (kind < 0.8) {
    // Random type, version, length and key.
    const type = random.int(0, 255);
    const key = pick(random, [sessionKey, terminal?.key ?? null, null, randomBytes(32)]);
    const frame = encodeFrame({ ...header, type }, bytesOf(random, random.int(0, 60)), key);
    if (random.chance(0.3)) frame[2] = random.int(0, 255);
    if (random.chance(0.3)) frame.writeUInt16BE(random.int(0, 0xffff), 3);
    return random.chance(0.8) ? withCrc(frame) : frame;
  }
  if (kind < 0.85 && terminal !== null) {
    // A sign-in in mid-session (a new session key from here on, if approved).
    const nonce = randomBytes(16);
    conn.sentSignIn(header.seq, nonce, terminal);
    return encodeFrame({ ...header, type: MessageType.SIGN_IN }, encodePayload(MessageType.SIGN_IN, { nonce, firmware: 'FUZZ-2' }), terminal.key);
  }
  // Whatever the codec fuzzer makes: random bytes, mutated streams of the golden vectors.
  return fuzzInput(random, ctx.vectors);
}

function mutatePayload(random: Random, payload: Buffer): Buffer {
  const bytes = Buffer.from(payload);
  if (bytes.length === 0) return bytesOf(random, random.int(1, 8));
  for (let m = random.int(1, 3); m > 0; m--) bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
  return random.chance(0.2) ? bytes.subarray(0, random.int(0, bytes.length)) : bytes;
}

/** Signs a fresh terminal in and pays 1 fen: null when that worked, else what went wrong. */
async function payOnce(port: number, terminal: TerminalState): Promise<string | null> {
  let problem: string | null = null;
  const conn = new FuzzSocket(port, (message) => (problem = message));
  if (!(await conn.connected())) return 'connection refused';
  const random = createRandom(1);
  const ctx: FrameContext = { random, terminal, conn, vectors: [], wellFormed: new Map(), unframed: false };
  const report = { frames: 0 } as LiveFuzzReport;
  try {
    if (!(await signIn(ctx, report))) return 'sign-in not approved';
    const seq = terminal.nextSeq++;
    conn.write(encodeFrame({ type: MessageType.PAY, terminalId: terminal.terminalId, seq, timestamp: nowSec() },
      encodePayload(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 1 }), conn.sessionKey));
    const frame = await conn.nextFrame(5_000);
    if (frame === null || frame.type !== MessageType.PAY_RESPONSE) return 'no answer to a payment';
    const result = decodePayload(MessageType.PAY_RESPONSE, frame.payload).result;
    return result === ResultCode.APPROVED ? problem : `payment answered ${result}`;
  } finally {
    conn.end();
    await conn.closedWithin(CLOSE_WITHIN_MS);
  }
}
