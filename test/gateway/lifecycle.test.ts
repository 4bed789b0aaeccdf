/**
 * Connection lifecycle and bad input: timeouts, bad frames and their documented outcomes, limits,
 * sign-out, half-closed and cut peers, pipelined requests, drain. The gateway stays up throughout.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEALTH_UNKNOWN,
  MessageType,
  NoticeReason,
  ResultCode,
  decodePayload,
  encodePayload,
  hasZeroMac,
  type Frame,
} from '../../protocol/index.js';
import { keys } from '../../src/store/keys.js';
import { TestTerminal } from '../helpers/terminal.js';
import { MERCHANT, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

let network: Network;
const running: RunningGateway[] = [];

beforeAll(async () => {
  network = await startNetwork();
});
afterAll(async () => {
  for (const gw of running) await gw.stop();
  await network?.stop();
});

async function gateway(limits: Parameters<typeof startGateway>[1] = {}): Promise<RunningGateway> {
  const gw = await startGateway(network, limits);
  running.push(gw);
  return gw;
}

function notice(frame: Frame): number {
  expect(frame.type).toBe(MessageType.NOTICE);
  expect(frame.seq).toBe(0);
  return decodePayload(MessageType.NOTICE, frame.payload).reason;
}

/** A well-formed heartbeat frame whose CRC is then broken. */
function badCrc(t: TestTerminal): Buffer {
  const bytes = t.encode(MessageType.HEARTBEAT, encodePayload(MessageType.HEARTBEAT, HEALTH_UNKNOWN));
  bytes[bytes.length - 1]! ^= 0xff;
  return bytes;
}

describe('timeouts', () => {
  it('closes a connection that does not sign in within the sign-in timeout', async () => {
    const gw = await gateway({ limits: { signInTimeoutMs: 200 } });
    const t = await gw.connect(await network.addTerminal());
    await t.closed;
    await expect(t.read(100)).rejects.toThrow(/closed/);
  });

  it('keeps a signed-in connection past the sign-in timeout, and closes it after the idle timeout with NOTICE IDLE_TIMEOUT', async () => {
    const gw = await gateway({ limits: { signInTimeoutMs: 200, idleTimeoutMs: 400 } });
    const t = await gw.connect(await network.addTerminal());
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    // Heartbeats keep it alive well beyond both timeouts.
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
    }
    const frame = await t.read(5000);
    expect(notice(frame)).toBe(NoticeReason.IDLE_TIMEOUT);
    expect(t.macValid(frame)).toBe(true);
    await t.closed;
  });
});

describe('bad frames', () => {
  it('skips garbage and a bad CRC without an answer, then serves the next good frame', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    t.sendRaw(Buffer.from('this is not a frame at all, just noise from a modem', 'ascii'));
    t.sendRaw(badCrc(t));
    const { response } = await t.signIn();
    expect(response.result).toBe(ResultCode.APPROVED);
    expect(t.isClosed).toBe(false);
    t.cut();
  });

  it('answers an unknown message type with REJECT UNSUPPORTED_TYPE echoing the number', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    t.sendRaw(t.encode(0x42, Buffer.alloc(0), { seq: 77 }));
    const frame = await t.read();
    expect(frame.type).toBe(MessageType.REJECT);
    expect(frame.seq).toBe(77);
    expect(decodePayload(MessageType.REJECT, frame.payload).result).toBe(ResultCode.UNSUPPORTED_TYPE);
    t.cut();
  });

  it('answers a response type sent to the gateway with REJECT and a zero MAC, counting it as a bad frame', async () => {
    const gw = await gateway({ limits: { maxBadFrames: 2 } });
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    t.sendRaw(t.encode(MessageType.HEARTBEAT_RESPONSE, encodePayload(MessageType.HEARTBEAT_RESPONSE, { result: 0, serverTime: 0 })));
    const frame = await t.read();
    expect(frame.type).toBe(MessageType.REJECT);
    expect(hasZeroMac(frame)).toBe(true);
    expect(decodePayload(MessageType.REJECT, frame.payload).result).toBe(ResultCode.UNSUPPORTED_TYPE);
    t.sendRaw(t.encode(MessageType.NOTICE, encodePayload(MessageType.NOTICE, { reason: 1, retryAfterSec: 0 })));
    expect((await t.read()).type).toBe(MessageType.REJECT);
    expect(notice(await t.read())).toBe(NoticeReason.TOO_MANY_BAD_FRAMES);
    await t.closed;
  });

  it('answers a frame naming another terminal than the session\'s with NOT_SIGNED_IN and a zero MAC', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    const { frame, response } = await t.request(MessageType.INQUIRY, { account: '0000000001' }, { terminalId: 'OTHER001' });
    expect(response.result).toBe(ResultCode.NOT_SIGNED_IN);
    expect(frame.terminalId).toBe('OTHER001');
    expect(hasZeroMac(frame)).toBe(true);
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
    t.cut();
  });

  it('answers a payload not of its layout with that type\'s response and BAD_FORMAT, applying nothing', async () => {
    const gw = await gateway();
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn();
    t.sendRaw(t.encode(MessageType.PAY, Buffer.from('0000000001'))); // the amount is missing
    const frame = await t.read();
    expect(frame.type).toBe(MessageType.PAY_RESPONSE);
    expect(decodePayload(MessageType.PAY_RESPONSE, frame.payload).result).toBe(ResultCode.BAD_FORMAT);
    expect(await network.client.exists(keys.request(MERCHANT, terminal.terminalId, frame.seq))).toBe(0);
    t.cut();
  });

  it('closes at once on a length field above the maximum frame size, answering nothing', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    const header = Buffer.from([0xa5, 0x5a, 0x01, 0xff, 0xff]);
    t.sendRaw(Buffer.concat([header, randomBytes(64)]));
    await t.closed;
    await expect(t.read(100)).rejects.toThrow(/closed/);
  });

  it('closes at once on an unknown protocol version', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    const frame = t.encode(MessageType.HEARTBEAT, encodePayload(MessageType.HEARTBEAT, HEALTH_UNKNOWN));
    frame[2] = 0x02;
    t.sendRaw(frame);
    await t.closed;
  });

  it('sends NOTICE TOO_MANY_BAD_FRAMES and closes after the maximum of bad frames', async () => {
    const gw = await gateway({ limits: { maxBadFrames: 3 } });
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    for (let i = 0; i < 3; i++) t.sendRaw(badCrc(t));
    const frame = await t.read();
    expect(notice(frame)).toBe(NoticeReason.TOO_MANY_BAD_FRAMES);
    expect(t.macValid(frame)).toBe(true);
    await t.closed;
  });

  it('counts bad MACs as bad frames', async () => {
    const gw = await gateway({ limits: { maxBadFrames: 2 } });
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    for (let i = 0; i < 2; i++) t.send(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { macKey: Buffer.alloc(32) });
    expect(decodePayload(MessageType.HEARTBEAT_RESPONSE, (await t.read()).payload).result).toBe(ResultCode.BAD_MAC);
    expect(decodePayload(MessageType.HEARTBEAT_RESPONSE, (await t.read()).payload).result).toBe(ResultCode.BAD_MAC);
    expect(notice(await t.read())).toBe(NoticeReason.TOO_MANY_BAD_FRAMES);
    await t.closed;
  });

  it('keeps serving other terminals after all of that', async () => {
    const gw = await gateway({ limits: { maxBadFrames: 1 } });
    const hostile = await gw.connect(await network.addTerminal());
    hostile.sendRaw(randomBytes(4096));
    const t = await gw.connect(await network.addTerminal());
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
    await hostile.closed;
    t.cut();
  });
});

describe('limits', () => {
  it('closes connections beyond the maximum at once when every one held is signed in', async () => {
    const gw = await gateway({ limits: { maxConnections: 2 } });
    const [x, y] = [await gw.connect(await network.addTerminal()), await gw.connect(await network.addTerminal())];
    expect((await x.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect((await y.signIn()).response.result).toBe(ResultCode.APPROVED);
    const z = await gw.connect(await network.addTerminal());
    await z.closed;
    expect((await x.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
    x.cut();
    y.cut();
  });

  it('limits the connection rate of one address (token bucket)', async () => {
    const gw = await gateway({ limits: { connectionRatePerSec: 1, connectionBurst: 2 } });
    const terminal = await network.addTerminal();
    const first = await gw.connect(terminal);
    const second = await gw.connect(terminal);
    const third = await gw.connect(terminal);
    await third.closed;
    expect(first.isClosed).toBe(false);
    expect(second.isClosed).toBe(false);
    first.cut();
    second.cut();
  });
});

describe('connection end', () => {
  it('SIGN_OUT is answered, then the connection and its session are closed', async () => {
    const gw = await gateway();
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn();
    const { response } = await t.request(MessageType.SIGN_OUT, {});
    expect(response.result).toBe(ResultCode.APPROVED);
    await t.closed;
    await waitFor(async () => (await network.client.exists(keys.session(MERCHANT, terminal.terminalId))) === 0);
  });

  it('a peer that half-closes or vanishes is fully closed and forgotten', async () => {
    const gw = await gateway();
    const halfClosed = await gw.connect(await network.addTerminal());
    const cut = await gw.connect(await network.addTerminal());
    await halfClosed.signIn();
    await waitFor(async () => gw.gateway.connectionCount === 2);
    halfClosed.socket.end(); // FIN only: the gateway must not sit in CLOSE_WAIT
    cut.cut();
    await halfClosed.closed;
    await waitFor(async () => gw.gateway.connectionCount === 0);
  });

  it('answers pipelined requests one at a time, in order', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    const batch = Array.from({ length: 50 }, () => t.encode(MessageType.HEARTBEAT, encodePayload(MessageType.HEARTBEAT, HEALTH_UNKNOWN)));
    t.sendRaw(Buffer.concat(batch));
    for (const sent of batch) {
      const frame = await t.read();
      expect(frame.seq).toBe(sent.readUInt32BE(15));
      expect(decodePayload(MessageType.HEARTBEAT_RESPONSE, frame.payload).result).toBe(ResultCode.APPROVED);
    }
    t.cut();
  });

  it('drain: NOTICE SHUTTING_DOWN to every terminal, connections closed, new ones refused', async () => {
    const gw = await startGateway(network);
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    const drained = gw.gateway.drain(2000);
    const frame = await t.read();
    expect(notice(frame)).toBe(NoticeReason.SHUTTING_DOWN);
    expect(t.macValid(frame)).toBe(true);
    await t.closed;
    await drained;
    expect(gw.gateway.connectionCount).toBe(0);
    const late = await TestTerminal.connect(gw.port, 'LATE0001', Buffer.alloc(32));
    await late.closed;
    gw.server.close();
    gw.redis.disconnect();
  });
});

describe('drain with a request in flight', () => {
  it('answers the request in flight first, then sends NOTICE SHUTTING_DOWN; the payment is applied once', async () => {
    const gw = await startGateway(network);
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn();
    const before = (await network.admin.showMerchant(MERCHANT)).floatFen;
    // Redis holds every command for a moment, so the payment is still in flight when the drain begins.
    await network.client.call('CLIENT', 'PAUSE', '400', 'ALL');
    const seq = t.send(MessageType.PAY, { account: '0000000001', amountFen: 300 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drained = gw.gateway.drain(5000);
    const answer = await t.read();
    expect(answer.type).toBe(MessageType.PAY_RESPONSE);
    expect(answer.seq).toBe(seq);
    expect(decodePayload(MessageType.PAY_RESPONSE, answer.payload).result).toBe(ResultCode.APPROVED);
    expect(notice(await t.read())).toBe(NoticeReason.SHUTTING_DOWN);
    await t.closed;
    await drained;
    expect((await network.admin.showMerchant(MERCHANT)).floatFen).toBe(before - 300);
    gw.server.close();
    gw.redis.disconnect();
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

