/**
 * The points PROTOCOL.md left open until issue 13 settled them, each as the spec now states it:
 * which refused requests leave their number unused (§6.1), several sign-ins on one connection
 * (§5.2), decline precedence (§3.4), the retry delay of each NOTICE reason (§3.9), and a frame
 * whose terminal id is malformed (§1, §8). Real Redis, real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_UNKNOWN, Defaults, MAX_SEQ_STEP, MessageType, NoticeReason, ResultCode, crc16, decodePayload, encodePayload, type Frame } from '../../protocol/index.js';
import { keys } from '../../src/store/keys.js';
import { nowSec } from '../helpers/terminal.js';
import { ACCOUNTS, MERCHANT, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

let network: Network;
let gw: RunningGateway;

beforeAll(async () => {
  network = await startNetwork();
  gw = await startGateway(network);
});
afterAll(async () => {
  await gw?.stop();
  await network?.stop();
});

function noticeOf(frame: Frame): { reason: number; retryAfterSec: number } {
  expect(frame.type).toBe(MessageType.NOTICE);
  return decodePayload(MessageType.NOTICE, frame.payload);
}

describe('a refused request does not use up its number (§6.1)', () => {
  it('BAD_FORMAT, REJECT, BAD_MAC, CLOCK_SKEW and SEQ_OUT_OF_RANGE leave the seq free: the same number then pays', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn({ seq: 1 });
    const seq = 2;
    t.sendRaw(t.encode(MessageType.PAY, Buffer.from(ACCOUNTS[0]!), { seq })); // amount missing
    expect(decodePayload(MessageType.PAY_RESPONSE, (await t.read()).payload).result).toBe(ResultCode.BAD_FORMAT);
    t.sendRaw(t.encode(0x42, Buffer.alloc(0), { seq }));
    expect((await t.read()).type).toBe(MessageType.REJECT);
    const pay = { account: ACCOUNTS[0]!, amountFen: 100 };
    expect((await t.request(MessageType.PAY, pay, { seq, macKey: Buffer.alloc(32, 4) })).response.result).toBe(ResultCode.BAD_MAC);
    expect((await t.request(MessageType.PAY, pay, { seq, timestamp: nowSec() - Defaults.CLOCK_WINDOW_SEC - 60 })).response.result).toBe(ResultCode.CLOCK_SKEW);
    expect(Number(await network.client.hget(keys.terminal(MERCHANT, terminal.terminalId), 'hwm'))).toBe(1);
    const paid = await t.request(MessageType.PAY, pay, { seq });
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    expect(paid.response.receipt).toBe(`${terminal.terminalId}${String(seq).padStart(10, '0')}`);
    t.cut();
  });

  it('a decline uses its number: the same number with another payload is REPLAY', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn({ seq: 1 });
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 0 }, { seq: 2 })).response.result).toBe(ResultCode.AMOUNT_INVALID);
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq: 2 })).response.result).toBe(ResultCode.REPLAY);
    t.cut();
  });
});

describe('several sign-ins on one connection (§5.2)', () => {
  it('the latest sign-in\'s key is the session key from its answer on; the earlier key gets BAD_MAC', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn();
    const firstKey = t.sessionKey!;
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect(t.sessionKey!.equals(firstKey)).toBe(false);
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { macKey: firstKey })).response.result).toBe(ResultCode.BAD_MAC);
    expect((await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! })).response.result).toBe(ResultCode.APPROVED);
    expect(t.isClosed).toBe(false);
    t.cut();
  });
});

describe('decline precedence (§3.4)', () => {
  it('AMOUNT_INVALID, then AMOUNT_OVER_LIMIT, then FLOAT_SHORT, then the account\'s answers', async () => {
    const other = await network.admin.addMerchant('shop-poor', 'Poor shop');
    await network.admin.topUp(other.id, 50);
    const provisioned = await network.admin.addTerminal('POOR0001', other.id);
    const t = await gw.connect({ terminalId: 'POOR0001', key: Buffer.from(provisioned.key, 'hex') });
    await t.signIn();
    // Over the per-payment limit and above the float at once: the limit is named.
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 600_000 })).response.result).toBe(ResultCode.AMOUNT_OVER_LIMIT);
    // Above the float and to an account that does not exist: the float is named.
    expect((await t.request(MessageType.PAY, { account: '9999999999', amountFen: 100 })).response.result).toBe(ResultCode.FLOAT_SHORT);
    // Above the float and above what the account owes: the float is named.
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 400_000 })).response.result).toBe(ResultCode.FLOAT_SHORT);
    expect((await t.request(MessageType.PAY, { account: '9999999999', amountFen: 10 })).response.result).toBe(ResultCode.UNKNOWN_ACCOUNT);
    expect((await t.request(MessageType.PAY, { account: '9999999999', amountFen: 0 })).response.result).toBe(ResultCode.AMOUNT_INVALID);
    expect((await network.admin.showMerchant(other.id)).floatFen).toBe(50);
    t.cut();
  });
});

describe('NOTICE retry delays (§3.9)', () => {
  it('TOO_MANY_BAD_FRAMES 30 s, SESSION_REPLACED 0 s, SHUTTING_DOWN 1 s', async () => {
    const terminal = await network.addTerminal();
    const noisy = await gw.connect(terminal);
    await noisy.signIn();
    for (let i = 0; i < Defaults.MAX_BAD_FRAMES; i++) noisy.sendRaw(noisy.encode(0x42, Buffer.alloc(0)));
    let frame = await noisy.read();
    while (frame.type === MessageType.REJECT) frame = await noisy.read();
    expect(noticeOf(frame)).toEqual({ reason: NoticeReason.TOO_MANY_BAD_FRAMES, retryAfterSec: 30 });

    await noisy.closed;
    const first = await gw.connect(terminal, noisy.seq);
    await first.signIn();
    const second = await gw.connect(terminal, first.seq);
    await second.signIn();
    expect(noticeOf(await first.read())).toEqual({ reason: NoticeReason.SESSION_REPLACED, retryAfterSec: 0 });

    const draining = await startGateway(network);
    const last = await draining.connect(terminal, second.seq);
    await last.signIn();
    const stopped = draining.stop();
    expect(noticeOf(await last.read())).toEqual({ reason: NoticeReason.SHUTTING_DOWN, retryAfterSec: 1 });
    await stopped;
    second.cut();
  });
});

describe('a malformed terminal id (§1, §8)', () => {
  it('gets no answer, counts as a bad frame, and the connection carries on', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    const bytes = t.encode(MessageType.SIGN_IN, Buffer.alloc(24));
    bytes.write('ac', 7, 'latin1');
    bytes.writeUInt16BE(crc16(bytes, 0, bytes.length - 2), bytes.length - 2);
    t.sendRaw(bytes);
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect(t.isClosed).toBe(false);
    t.cut();
  });
});

describe('the high-water mark', () => {
  it('is capped per request, also for a heartbeat answered by the gateway itself', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    await t.signIn({ seq: 1 });
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: 1 + MAX_SEQ_STEP + 1 })).response.result).toBe(ResultCode.SEQ_OUT_OF_RANGE);
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: 1 + MAX_SEQ_STEP })).response.result).toBe(ResultCode.APPROVED);
    t.cut();
  });
});
