/**
 * Keyless amplification before sign-in (issue 13 finding 4), played as the attacker on the
 * carrier's network who holds no terminal key: a connection that floods frames gets one answer
 * (or a handful of sign-in refusals) and is closed; its frames cost a bounded number of Redis
 * commands and one log line for the whole connection; a good terminal beside it is served in
 * full. Counts, not timings. Real redis-server, real sockets, the gateway in process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Defaults, MessageType, ResultCode, encodeFrame, encodePayload } from '../../protocol/index.js';
import { Metrics } from '../../src/metrics/index.js';
import { TestTerminal, nowSec } from '../helpers/terminal.js';
import { ACCOUNTS, startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';
import { LogSink } from '../helpers/log-sink.js';

let network: Network;
let gw: RunningGateway;
const log = new LogSink();
const lines = log.lines;
const metrics = new Metrics({ processMetrics: false });

beforeAll(async () => {
  network = await startNetwork();
  gw = await startGateway(network, { logLevel: 'info', logTo: log, metrics });
});
afterAll(async () => {
  await gw?.stop();
  await network?.stop();
});

/** Every frame the gateway sends on a connection until it closes it. */
async function answersUntilClosed(t: TestTerminal): Promise<number[]> {
  const types: number[] = [];
  for (;;) {
    try {
      types.push((await t.read(10_000)).type);
    } catch {
      return types;
    }
  }
}

/** Commands the Redis server has executed so far (INFO stats). */
async function redisCommands(): Promise<number> {
  const info = await network.client.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

/** Log lines about a connection from this local port (every line names `peer`). */
const linesOf = (port: number) => lines.filter((line) => String(line.peer).endsWith(`:${port}`));

async function badFrameCount(code: string): Promise<number> {
  const metric = await metrics.badFrames.get();
  return metric.values.find((v) => v.labels.code === code)?.value ?? 0;
}

describe('before sign-in, as a peer without a key', () => {
  it('2,000 business frames in one burst get one NOT_SIGNED_IN, then the connection is closed; one log line, no Redis command', async () => {
    const attacker = await TestTerminal.connect(gw.port, 'AC000001', Buffer.alloc(32));
    const port = attacker.socket.localPort!;
    const commandsBefore = await redisCommands();
    const notSignedInBefore = await badFrameCount('NOT_SIGNED_IN');
    const burst: Buffer[] = [];
    for (let seq = 1; seq <= 2000; seq++) {
      burst.push(encodeFrame({ type: MessageType.INQUIRY, terminalId: 'AC000001', seq, timestamp: nowSec() }, encodePayload(MessageType.INQUIRY, { account: ACCOUNTS[0]! }), null));
    }
    attacker.sendRaw(Buffer.concat(burst));
    expect(await answersUntilClosed(attacker)).toEqual([MessageType.INQUIRY_RESPONSE]);
    await attacker.closed;
    // INFO itself is one command.
    expect((await redisCommands()) - commandsBefore).toBeLessThanOrEqual(1);
    expect(await badFrameCount('NOT_SIGNED_IN')).toBe(notSignedInBefore + 1);
    await waitFor(() => linesOf(port).length > 0);
    expect(linesOf(port)).toEqual([expect.objectContaining({ msg: 'connection closed', reason: 'not_signed_in', badFrames: 1 })]);
  });

  it('a flood of SIGN_INs under a guessed key: at most MAX_BAD_FRAMES identical refusals, a NOTICE, a close; a good terminal beside it gets every answer', async () => {
    const victim = await network.addTerminal();
    const good = await gw.connect(await network.addTerminal());
    expect((await good.signIn()).response.result).toBe(ResultCode.APPROVED);
    const fiftyInquiries = async () => {
      let approved = 0;
      for (let i = 0; i < 50; i++) if ((await good.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! })).response.result === ResultCode.APPROVED) approved += 1;
      return approved;
    };
    // What the good terminal's 50 inquiries cost Redis on their own.
    let commandsBefore = await redisCommands();
    expect(await fiftyInquiries()).toBe(50);
    const goodCommands = (await redisCommands()) - commandsBefore - 1;

    const attacker = await TestTerminal.connect(gw.port, victim.terminalId, Buffer.alloc(32, 7));
    const port = attacker.socket.localPort!;
    commandsBefore = await redisCommands();
    const burst: Buffer[] = [];
    for (let i = 0; i < 2000; i++) burst.push(attacker.encode(MessageType.SIGN_IN, encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(16, i), firmware: 'X' })));
    attacker.sendRaw(Buffer.concat(burst));
    // The good terminal's requests, sent while the flood is handled: every one answered APPROVED.
    expect(await fiftyInquiries()).toBe(50);
    const answers = await answersUntilClosed(attacker);
    expect(answers).toEqual([...Array<number>(Defaults.MAX_BAD_FRAMES).fill(MessageType.SIGN_IN_RESPONSE), MessageType.NOTICE]);
    // Each refused sign-in costs the lookup and the count of its bad MAC: a few commands, not 2,000 answers' worth.
    const commands = (await redisCommands()) - commandsBefore;
    expect(commands - goodCommands).toBeLessThanOrEqual(Defaults.MAX_BAD_FRAMES * 5 + 1);
    await waitFor(() => linesOf(port).length > 0);
    expect(linesOf(port)).toEqual([expect.objectContaining({ msg: 'connection closed', reason: 'bad_frames', badFrames: Defaults.MAX_BAD_FRAMES })]);
    good.cut();
  });

  it('a frame of a type the gateway does not serve gets REJECT, then the connection is closed', async () => {
    const attacker = await TestTerminal.connect(gw.port, 'AC000001', Buffer.alloc(32));
    attacker.sendRaw(Buffer.concat([attacker.encode(0x42, Buffer.alloc(0), { macKey: null }), attacker.encode(MessageType.HEARTBEAT_RESPONSE, Buffer.alloc(5), { macKey: null })]));
    expect(await answersUntilClosed(attacker)).toEqual([MessageType.REJECT]);
  });
});

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
