import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType } from '../../protocol/constants.js';
import { LinkProxy, PROFILES, type FaultPlan, type LinkProfile } from '../../simulator/link/index.js';

/** A frame-shaped unit: sync, version, length and type are what the link reads; the rest is filler. */
function frameLike(type: number, length: number, fill: number): Buffer {
  const frame = Buffer.alloc(length, fill);
  frame[0] = 0xa5;
  frame[1] = 0x5a;
  frame[2] = 0x01;
  frame.writeUInt16BE(length, 3);
  frame[5] = type;
  return frame;
}

interface Echo {
  server: Server;
  port: number;
  /** Everything the echo server received, per connection. */
  received: Buffer[][];
  sockets: Socket[];
}

async function startEcho(): Promise<Echo> {
  const echo: Echo = { server: createServer(), port: 0, received: [], sockets: [] };
  echo.server.on('connection', (socket) => {
    const chunks: Buffer[] = [];
    echo.received.push(chunks);
    echo.sockets.push(socket);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      socket.write(chunk);
    });
    socket.on('error', () => {});
  });
  echo.server.listen(0, '127.0.0.1');
  await once(echo.server, 'listening');
  const address = echo.server.address();
  echo.port = typeof address === 'object' && address ? address.port : 0;
  return echo;
}

const quiet: LinkProfile = PROFILES.good!;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup(profile: LinkProfile, seed: number, faults: FaultPlan[] = []) {
  const echo = await startEcho();
  const proxy = new LinkProxy({ target: { host: '127.0.0.1', port: echo.port }, profile, seed, faults });
  const address = await proxy.listen();
  cleanup.push(() => new Promise<void>((resolve) => {
    for (const socket of echo.sockets) socket.destroy();
    echo.server.close(() => resolve());
  }));
  cleanup.push(() => proxy.close());
  const client = connect(address.port, address.host);
  client.on('error', () => {});
  await once(client, 'connect');
  cleanup.push(() => void client.destroy());
  const received: Buffer[] = [];
  client.on('data', (chunk) => received.push(chunk));
  const closed = once(client, 'close').then(() => true);
  return { echo, proxy, client, received, closed, address };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const splitting: LinkProfile = {
  name: 'splitting',
  up: { ...quiet.up, maxSegment: 5, jitterMs: 3, coalesceProbability: 0.3, bytesPerSec: 200_000 },
  down: { ...quiet.down, maxSegment: 7, jitterMs: 3, coalesceProbability: 0.3, bytesPerSec: 200_000 },
  cutProbability: 0,
  halfOpenProbability: 0,
  signal: 25,
};

describe('GPRS link emulator', () => {
  it('splits and coalesces segments but delivers every byte in order, both ways', async () => {
    const { client, received, proxy, echo } = await setup(splitting, 7);
    const frames = Array.from({ length: 40 }, (_, i) => frameLike(MessageType.INQUIRY, 33 + (i % 9) * 7, i));
    const stream = Buffer.concat([...frames, Buffer.from('noise between frames'), frameLike(MessageType.PAY, 47, 0xee)]);
    // Writes that cut frames at odd places and hold several frames at once.
    for (let offset = 0; offset < stream.length; offset += 97) {
      client.write(stream.subarray(offset, offset + 97));
      await sleep(1);
    }
    await until(() => Buffer.concat(received).length >= stream.length);
    expect(Buffer.concat(received).equals(stream)).toBe(true);
    expect(Buffer.concat(echo.received[0]!).equals(stream)).toBe(true);

    const up = proxy.schedule.filter((s) => s.direction === 'up').map((s) => s.segment.bytes);
    expect(Math.max(...up)).toBeLessThanOrEqual(5);
    expect(up.reduce((a, b) => a + b, 0)).toBe(stream.length);
    // Coalescing: the echo server saw fewer reads than there were planned segments.
    expect(echo.received[0]!.length).toBeLessThan(up.length);
    expect(echo.received[0]!.length).toBeGreaterThan(1);
  });

  it('applies latency in each direction', async () => {
    const slow: LinkProfile = {
      ...quiet,
      up: { ...quiet.up, latencyMs: 120 },
      down: { ...quiet.down, latencyMs: 80 },
    };
    const { client, received } = await setup(slow, 1);
    const started = Date.now();
    client.write(frameLike(MessageType.HEARTBEAT, 33, 1));
    await until(() => Buffer.concat(received).length === 33);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('caps bandwidth', async () => {
    const narrow: LinkProfile = { ...quiet, up: { ...quiet.up, bytesPerSec: 2000 } };
    const { client, received } = await setup(narrow, 1);
    const started = Date.now();
    const payload = Buffer.concat(Array.from({ length: 10 }, (_, i) => frameLike(MessageType.INQUIRY, 50, i)));
    client.write(payload);
    await until(() => Buffer.concat(received).length === payload.length);
    // 500 bytes at 2000 B/s cannot arrive in less than 250 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it("delivers a side's last bytes before passing on its FIN, both ways", async () => {
    // Latency holds the bytes in the link while the FIN right behind them closes that side's
    // socket: the drain's NOTICE, written just before the gateway closes, must still arrive.
    const slow: LinkProfile = { ...quiet, up: { ...quiet.up, latencyMs: 60 }, down: { ...quiet.down, latencyMs: 60 } };
    const { client, echo, received, closed } = await setup(slow, 1);
    await until(() => echo.sockets.length === 1);
    let clientEnded = false;
    client.on('end', () => (clientEnded = true));
    const notice = frameLike(MessageType.NOTICE, 36, 9);
    echo.sockets[0]!.end(notice);
    expect(await closed).toBe(true);
    expect(clientEnded).toBe(true);
    expect(Buffer.concat(received).equals(notice)).toBe(true);

    const second = await setup(slow, 2);
    await until(() => second.echo.sockets.length === 1);
    const farEnded = once(second.echo.sockets[0]!, 'end');
    const request = frameLike(MessageType.PAY, 47, 3);
    second.client.end(request);
    await farEnded;
    expect(Buffer.concat(second.echo.received[0]!).equals(request)).toBe(true);
  });

  it('cuts before the chosen request reaches the far end', async () => {
    const { client, echo, closed, proxy } = await setup(quiet, 1, [
      { mode: 'cut', at: 'before-request', type: MessageType.PAY, nth: 2 },
    ]);
    const inquiry = frameLike(MessageType.INQUIRY, 40, 1);
    const pay1 = frameLike(MessageType.PAY, 47, 2);
    const pay2 = frameLike(MessageType.PAY, 47, 3);
    client.write(inquiry);
    client.write(pay1);
    await until(() => Buffer.concat(echo.received[0] ?? []).length === 87);
    client.write(pay2);
    expect(await closed).toBe(true);
    expect(Buffer.concat(echo.received[0]!).equals(Buffer.concat([inquiry, pay1]))).toBe(true);
    expect(proxy.events.filter((e) => e.event === 'cut')).toEqual([
      { connection: 1, event: 'cut', at: 'before-request', type: MessageType.PAY },
    ]);
  });

  it('cuts after the request arrived and before its response gets back', async () => {
    const { client, echo, received, closed } = await setup(quiet, 1, [
      { mode: 'cut', at: 'after-request-before-response', type: MessageType.PAY },
    ]);
    const inquiry = frameLike(MessageType.INQUIRY, 40, 1);
    client.write(inquiry);
    await until(() => Buffer.concat(received).length === 40);
    const pay = frameLike(MessageType.PAY, 47, 2);
    client.write(pay);
    expect(await closed).toBe(true);
    // The far end got the payment; the terminal never saw its answer.
    expect(Buffer.concat(echo.received[0]!).equals(Buffer.concat([inquiry, pay]))).toBe(true);
    expect(Buffer.concat(received).equals(inquiry)).toBe(true);
  });

  it('goes silent both ways without a FIN on a half-open link', async () => {
    const { client, echo, received, proxy } = await setup(quiet, 1, [
      { mode: 'half-open', at: 'after-request-before-response', type: MessageType.PAY },
    ]);
    let clientEnded = false;
    client.on('end', () => (clientEnded = true));
    client.write(frameLike(MessageType.PAY, 47, 2));
    await until(() => Buffer.concat(echo.received[0] ?? []).length === 47);
    client.write(frameLike(MessageType.HEARTBEAT, 33, 3));
    await sleep(200);
    expect(received).toEqual([]);
    expect(clientEnded).toBe(false);
    expect(client.destroyed).toBe(false);
    expect(echo.sockets[0]!.destroyed).toBe(false);
    // Nothing after the fault reached the far end either.
    expect(Buffer.concat(echo.received[0]!).length).toBe(47);
    expect(proxy.events.map((e) => e.event)).toEqual(['open', 'half-open']);
  });

  it('replays the same schedule from the same seed, and another from another seed', async () => {
    const lossy: LinkProfile = {
      ...splitting,
      up: { ...splitting.up, lossProbability: 0.2, retransmitDelayMs: 5 },
      cutProbability: 0.05,
      halfOpenProbability: 0.05,
    };
    async function run(seed: number) {
      const { client, proxy, received, closed } = await setup(lossy, seed);
      let open = true;
      void closed.then(() => (open = false));
      let expected = 0;
      for (let i = 0; i < 30 && open && proxy.events.length === 1; i++) {
        const frame = frameLike(MessageType.INQUIRY, 33 + i, i);
        client.write(frame);
        expected += frame.length;
        await until(() => Buffer.concat(received).length === expected || !open || proxy.events.length > 1).catch(() => {});
      }
      const result = {
        events: [...proxy.events.filter((e) => e.event !== 'close')],
        schedule: proxy.schedule.map((s) => `${s.direction}:${s.segment.bytes}:${s.segment.delayMs > 0 ? 'late' : ''}`),
      };
      for (const step of cleanup.splice(0).reverse()) await step();
      return result;
    }
    const first = await run(42);
    const second = await run(42);
    const other = await run(43);
    expect(second.events).toEqual(first.events);
    expect(second.schedule).toEqual(first.schedule);
    expect(other.schedule).not.toEqual(first.schedule);
  });
  it('in a coverage hole goes silent without a FIN, refuses new connections, and drops the silent ones when coverage is back', async () => {
    const { client, received, proxy, closed, address } = await setup(quiet, 1);
    const frame = frameLike(MessageType.INQUIRY, 40, 1);
    client.write(frame);
    await until(() => Buffer.concat(received).length === frame.length);

    proxy.enterHole();
    client.write(frameLike(MessageType.PAY, 47, 2));
    let gone = false;
    void closed.then(() => (gone = true));
    await sleep(300);
    expect(Buffer.concat(received).length).toBe(frame.length);
    expect(gone).toBe(false);
    // No carrier: a connection attempted in the hole closes before anything moves.
    const attempt = connect(address.port, address.host);
    attempt.on('error', () => {});
    const attemptData: Buffer[] = [];
    attempt.on('data', (chunk) => attemptData.push(chunk));
    attempt.write(frame);
    await once(attempt, 'close');
    expect(attemptData).toEqual([]);

    proxy.leaveHole();
    expect(await closed).toBe(true);
    expect(proxy.events.filter((e) => e.event === 'hole')).toEqual([{ connection: 0, event: 'hole' }]);
    const after = connect(address.port, address.host);
    after.on('error', () => {});
    const afterData: Buffer[] = [];
    after.on('data', (chunk) => afterData.push(chunk));
    after.write(frame);
    await until(() => Buffer.concat(afterData).length === frame.length);
    after.destroy();
  });

  it('walks through holes at seeded moments while the link is open, and stops with it', async () => {
    const echo = await startEcho();
    const proxy = new LinkProxy({ target: { host: '127.0.0.1', port: echo.port }, profile: quiet, seed: 3, holes: { everyMs: 100, lengthMs: 40 } });
    await proxy.listen();
    await sleep(700);
    await proxy.close();
    const holes = proxy.events.filter((e) => e.event === 'hole').length;
    expect(holes).toBeGreaterThanOrEqual(3);
    await sleep(300);
    expect(proxy.events.filter((e) => e.event === 'hole').length).toBe(holes);
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });
});
