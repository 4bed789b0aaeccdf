/**
 * The firmware-like terminal in process, against `aircharge serve --demo` as a process on a real
 * redis-server: heartbeats, a session taken over by another connection, a counter behind the
 * gateway's, a terminal disabled while connected, a forged decline from the carrier's network,
 * and payments over the bad link applied exactly once each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { FrameDecoder, FrameError, MessageType, emptyResponse, NoticeReason, ResultCode, decodePayload, encodeFrame, encodePayload, type Frame } from '../../protocol/index.js';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { openLink, linkProfile, createRandom } from '../../simulator/link/index.js';
import { startGateway, type GatewayService } from '../../simulator/processes.js';
import { MemoryStateStore, Terminal, UNAUTHENTICATED_NOTICE_MAX_SEC, type TerminalEvent } from '../../simulator/terminal/index.js';
import { crc16 } from '../../protocol/crc.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const ACCOUNT = '7700000001';
/** Paid only by the forged-decline test, so the other tests' arrears stay as they expect. */
const FORGED_ACCOUNT = '7700000005';
let redis: RedisProcess;
let client: Redis;
let admin: Admin;
let gateway: GatewayService;
let work: string;
const keys = new Map<string, Buffer>();
const open: Terminal[] = [];

function terminal(id: string, events: TerminalEvent[] = [], extra: Partial<ConstructorParameters<typeof Terminal>[0]> = {}): Terminal {
  const t = new Terminal({
    terminalId: id,
    key: keys.get(id)!,
    gateway: { host: '127.0.0.1', port: gateway.port },
    store: new MemoryStateStore(id),
    responseTimeoutMs: 3000,
    random: createRandom(1),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  open.push(t);
  return t;
}

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'test' });
  await admin.addMerchant('TSHOP', 'Terminal test shop');
  await admin.topUp('TSHOP', 1_000_000);
  for (const id of ['TERM0001', 'TERM0002', 'TERM0003', 'TERM0004', 'TERM0005', 'TERM0006']) keys.set(id, Buffer.from((await admin.addTerminal(id, 'TSHOP')).key, 'hex'));
  await admin.importAccounts(`account,name,bill_id,period,amount,issue_date,status\n${ACCOUNT},Wang Wu,B1,202609,5000.00,2026-09-05,open\n${FORGED_ACCOUNT},Zhou Qi,B1,202609,100.00,2026-09-05,open\n`);
  work = mkdtempSync(join(tmpdir(), 'aircharge-terminal-test-'));
  gateway = await startGateway({ redisUrl: redis.url, logFile: join(work, 'gateway.log'), args: ['--connection-rate', '0', '--max-connections-per-address', '0'] });
}, 90_000);

afterAll(async () => {
  for (const t of open) t.close();
  await gateway?.stop();
  client?.disconnect();
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

/**
 * Between the terminal and the gateway, as anyone on the carrier's network can be: passes every
 * frame from the gateway through `rewrite` (by default unchanged), and keeps the terminal-side
 * sockets so a test can write forged frames of its own.
 */
interface Relay {
  server: Server;
  port: number;
  terminals: Socket[];
}
async function relay(rewrite: (frame: Frame) => Buffer = (frame) => frame.raw): Promise<Relay> {
  const terminals: Socket[] = [];
  const server = createServer((downstream) => {
    terminals.push(downstream);
    const upstream = connect(gateway.port, '127.0.0.1');
    const decoder = new FrameDecoder();
    downstream.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) if (!(item instanceof FrameError)) downstream.write(rewrite(item));
    });
    const close = () => {
      downstream.destroy();
      upstream.destroy();
    };
    upstream.on('close', close).on('error', close);
    downstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, terminals };
}

/** A relay that replaces the first PAY's real answer by `forge(realAnswer)`. */
function forgingFirstPayAnswer(forge: (real: Frame) => Buffer): Promise<Relay> {
  let forged = false;
  return relay((frame) => {
    const forgeThis = frame.type === MessageType.PAY_RESPONSE && !forged;
    forged ||= forgeThis;
    return forgeThis ? forge(frame) : frame.raw;
  });
}

const zeroMac = (real: Frame, type: number, payload: Buffer) =>
  encodeFrame({ type, terminalId: real.terminalId, seq: real.seq, timestamp: real.timestamp }, payload, null);

const FORGERIES: Array<[string, (real: Frame) => Buffer]> = [
  ['a FLOAT_SHORT decline', (real) =>
    zeroMac(real, real.type, encodePayload(MessageType.PAY_RESPONSE, { ...decodePayload(MessageType.PAY_RESPONSE, real.payload), result: ResultCode.FLOAT_SHORT }))],
  // This one crashed the simulated terminal: it decoded the REJECT as a PAY answer.
  ['a REJECT', (real) => zeroMac(real, MessageType.REJECT, encodePayload(MessageType.REJECT, { result: ResultCode.BAD_FORMAT }))],
];

describe('firmware-like terminal', () => {
  it.each(FORGERIES)('takes no forged answer (%s) to a payment the gateway applied: retransmits and gets the real one, the float debited once', async (_, forge) => {
    const forger = await forgingFirstPayAnswer(forge);
    try {
      const events: TerminalEvent[] = [];
      const t = terminal('TERM0005', events, { gateway: { host: '127.0.0.1', port: forger.port } });
      const before = (await admin.showMerchant('TSHOP')).floatFen;
      const paid = await t.pay(FORGED_ACCOUNT, 250);
      expect(paid.code).toBe(ResultCode.APPROVED);
      expect(events.some((e) => e.kind === 'retransmit')).toBe(true);
      expect(t.snapshot.receipts.map((r) => r.receipt)).toEqual([paid.response.receipt]);
      expect((await admin.showMerchant('TSHOP')).floatFen).toBe(before - 250);
      t.close();
    } finally {
      forger.server.close();
    }
  });

  it('is not silenced by a forged NOTICE TERMINAL_DISABLED: its delay is capped and the terminal keeps paying', async () => {
    const forger = await relay();
    try {
      const events: TerminalEvent[] = [];
      const t = terminal('TERM0005', events, { gateway: { host: '127.0.0.1', port: forger.port } });
      expect((await t.signIn()).code).toBe(ResultCode.APPROVED);
      const forged = Buffer.from(
        encodeFrame({ type: MessageType.NOTICE, terminalId: 'TERM0005', seq: 0, timestamp: Math.floor(Date.now() / 1000) },
          encodePayload(MessageType.NOTICE, { reason: NoticeReason.TERMINAL_DISABLED, retryAfterSec: 65_535 }), null),
      );
      // A garbage MAC under a good CRC: what a forger who knows the frame layout but not Ks sends.
      forged.fill(0x5a, forged.length - 10, forged.length - 2);
      forged.writeUInt16BE(crc16(forged, 0, forged.length - 2), forged.length - 2);
      forger.terminals[0]!.end(forged);
      await sleep(300);
      expect(events).toContainEqual({ kind: 'notice', reason: NoticeReason.TERMINAL_DISABLED, retryAfterSec: UNAUTHENTICATED_NOTICE_MAX_SEC });
      expect((await t.pay(FORGED_ACCOUNT, 100)).code).toBe(ResultCode.APPROVED);
      t.close();
    } finally {
      forger.server.close();
    }
  });

  it('takes no lastSeq or serverTime from a forged sign-in refusal: its counter is not used up, and it signs in and pays', async () => {
    // The first two sign-in answers are replaced by zero-MAC refusals, as anyone on the carrier's
    // network can send: a REPLAY that names the last number a terminal has, and a CLOCK_SKEW.
    let forged = 0;
    const forger = await relay((frame) => {
      if (frame.type !== MessageType.SIGN_IN_RESPONSE || forged >= 2) return frame.raw;
      forged += 1;
      const refusal = forged === 1
        ? { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, ResultCode.REPLAY), lastSeq: 0xfffffffe }
        : { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, ResultCode.CLOCK_SKEW), serverTime: 4_000_000_000 };
      return zeroMac(frame, frame.type, encodePayload(MessageType.SIGN_IN_RESPONSE, refusal));
    });
    try {
      const t = terminal('TERM0006', [], { gateway: { host: '127.0.0.1', port: forger.port } });
      expect((await t.pay(FORGED_ACCOUNT, 100)).code).toBe(ResultCode.APPROVED);
      expect(forged).toBe(2);
      expect(t.snapshot.nextSeq).toBeLessThan(10);
      expect((await admin.showTerminal('TERM0006')).hwm).toBeLessThan(10);
      t.close();
    } finally {
      forger.server.close();
    }
  });

  it('heartbeats while idle', async () => {
    const events: TerminalEvent[] = [];
    const t = terminal('TERM0001', events, { heartbeatSec: 1 });
    expect((await t.signIn()).code).toBe(ResultCode.APPROVED);
    await sleep(2600);
    const beats = events.filter((e) => e.kind === 'heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.every((e) => e.kind === 'heartbeat' && e.code === ResultCode.APPROVED)).toBe(true);
    expect(t.signedIn).toBe(true);
    t.close();
  });

  it('jumps past the gateway counter on REPLAY, and signs in again after its session is taken over', async () => {
    const firstEvents: TerminalEvent[] = [];
    const first = terminal('TERM0002', firstEvents);
    await first.pay(ACCOUNT, 100);
    await first.pay(ACCOUNT, 100);
    const firstSeq = first.snapshot.nextSeq;

    // Same terminal, flash lost: its counter starts at 1, behind the gateway's.
    const second = terminal('TERM0002');
    const signIn = await second.signIn();
    expect(signIn.code).toBe(ResultCode.APPROVED);
    expect(signIn.seq).toBeGreaterThanOrEqual(firstSeq);

    // The gateway tells the first connection its session was replaced and closes it.
    await sleep(300);
    expect(first.signedIn).toBe(false);
    expect(firstEvents).toContainEqual({ kind: 'notice', reason: NoticeReason.SESSION_REPLACED, retryAfterSec: expect.any(Number) });

    const again = await first.inquiry(ACCOUNT);
    expect(again.code).toBe(ResultCode.APPROVED);
    expect(again.response.arrearsFen).toBe(500_000 - 200);
  });

  it('stops when an operator disables it: NOTICE TERMINAL_DISABLED, then its payments are refused without a sign-in', async () => {
    const events: TerminalEvent[] = [];
    const t = terminal('TERM0004', events);
    expect((await t.signIn()).code).toBe(ResultCode.APPROVED);
    await admin.disableTerminal('TERM0004');
    await sleep(300);
    expect(t.signedIn).toBe(false);
    expect(events).toContainEqual({ kind: 'notice', reason: NoticeReason.TERMINAL_DISABLED, retryAfterSec: 600 });
    const connects = events.filter((e) => e.kind === 'connected').length;
    await expect(t.pay(ACCOUNT, 100)).rejects.toMatchObject({ name: 'SignInRefused', result: ResultCode.TERMINAL_DISABLED });
    // Refused by the terminal itself for the notice's delay: it did not even reconnect.
    expect(events.filter((e) => e.kind === 'connected').length).toBe(connects);
    await admin.enableTerminal('TERM0004');
    // Rebooted, the terminal signs in again at once.
    expect((await terminal('TERM0004').signIn()).code).toBe(ResultCode.APPROVED);
  });

  it('pays over the bad link, each payment applied exactly once', async () => {
    const link = await openLink({
      target: { host: '127.0.0.1', port: gateway.port },
      profile: linkProfile('bad'),
      seed: 5,
      faults: [
        { mode: 'cut', at: 'after-request-before-response', type: 0x04, nth: 1, connection: 1 },
        { mode: 'half-open', at: 'after-request-before-response', type: 0x04, nth: 1, connection: 2 },
      ],
    });
    try {
      const events: TerminalEvent[] = [];
      const t = terminal('TERM0003', events, { gateway: { host: link.host, port: link.port }, responseTimeoutMs: 2000 });
      const before = (await admin.showMerchant('TSHOP')).floatFen;
      const receipts: string[] = [];
      for (let i = 0; i < 4; i++) {
        const answer = await t.pay(ACCOUNT, 10 + i);
        expect(answer.name).toBe('APPROVED');
        receipts.push(answer.response.receipt);
      }
      expect(new Set(receipts).size).toBe(4);
      expect(events.some((e) => e.kind === 'retransmit')).toBe(true);
      expect(before - (await admin.showMerchant('TSHOP')).floatFen).toBe(10 + 11 + 12 + 13);
      const journal = (await admin.exportJournal()).filter((e) => e.terminal === 'TERM0003');
      expect(journal.map((e) => e.txn).sort()).toEqual([...receipts].sort());
    } finally {
      await link.proxy.close();
    }
  });
});
