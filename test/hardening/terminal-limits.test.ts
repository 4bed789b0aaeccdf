/**
 * One terminal cannot fill Redis or enumerate accounts (issue 13 finding 3), played as a terminal
 * whose key was stolen: read-only requests leave no key in Redis (each used to store a 24 h
 * record), a terminal past its request rate gets RATE_LIMITED and is closed, and its inquiries
 * stop at the quota (QUOTA_EXCEEDED) across reconnections while its payments go on. Every
 * UNKNOWN_ACCOUNT answer is counted for the enumeration alert. Real redis-server, real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, NoticeReason, ResultCode, decodePayload, encodePayload } from '../../protocol/index.js';
import { Metrics } from '../../src/metrics/index.js';
import { keys } from '../../src/store/keys.js';
import { ACCOUNTS, MERCHANT, startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';

let network: Network;
const running: RunningGateway[] = [];

beforeAll(async () => {
  network = await startNetwork();
});
afterAll(async () => {
  for (const gw of running) await gw.stop();
  await network?.stop();
});

async function gateway(options: Parameters<typeof startGateway>[1] = {}): Promise<RunningGateway> {
  const gw = await startGateway(network, options);
  running.push(gw);
  return gw;
}

describe('read-only requests', () => {
  it('leave no key in Redis, however many; a PAY still leaves its record', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    const before = await network.client.dbsize();
    for (let i = 0; i < 100; i++) {
      expect((await t.request(MessageType.INQUIRY, { account: ACCOUNTS[i % 3]! })).response.result).toBe(ResultCode.APPROVED);
      expect((await t.request(MessageType.INQUIRY, { account: String(9_000_000_000 + i) })).response.result).toBe(ResultCode.UNKNOWN_ACCOUNT);
      expect((await t.request(MessageType.STATUS, { querySeq: 1 })).response.result).toBe(ResultCode.APPROVED);
      expect((await t.request(MessageType.SETTLE, { businessDay: 20260101, payCount: 0, payFen: 0, correctCount: 0, correctFen: 0 })).response.result).toBe(ResultCode.APPROVED);
    }
    expect(await network.client.dbsize()).toBe(before);
    const paid = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 });
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    expect(await network.client.exists(keys.request(MERCHANT, t.terminalId, paid.frame.seq))).toBe(1);
    t.cut();
  });

  it('the last inquiry sent again is answered afresh; another request under its number, or an older inquiry, is REPLAY', async () => {
    const gw = await gateway();
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    const asked = await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! });
    const seq = asked.frame.seq;
    expect((await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! }, { seq, retransmit: true })).response.result).toBe(ResultCode.APPROVED);
    expect((await t.request(MessageType.INQUIRY, { account: ACCOUNTS[1]! }, { seq })).response.result).toBe(ResultCode.REPLAY);
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq })).response.result).toBe(ResultCode.REPLAY);
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 })).response.result).toBe(ResultCode.APPROVED);
    expect((await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! }, { seq })).response.result).toBe(ResultCode.REPLAY);
    t.cut();
  });
});

describe('request rate per terminal', () => {
  it('a burst past the bucket gets RATE_LIMITED (MACed), counted as bad frames, then NOTICE and a close', async () => {
    const gw = await gateway({ limits: { requestRatePerSec: 1, requestBurst: 10 } });
    const t = await gw.connect(await network.addTerminal());
    await t.signIn();
    const burst: Buffer[] = [];
    for (let i = 0; i < 200; i++) burst.push(t.encode(MessageType.INQUIRY, encodePayload(MessageType.INQUIRY, { account: ACCOUNTS[0]! })));
    t.sendRaw(Buffer.concat(burst));
    const results: number[] = [];
    let notice: number | null = null;
    for (;;) {
      const frame = await t.read().catch(() => null);
      if (frame === null) break;
      if (frame.type === MessageType.NOTICE) {
        notice = decodePayload(MessageType.NOTICE, frame.payload).reason;
        continue;
      }
      expect(t.macValid(frame)).toBe(true);
      results.push(decodePayload(MessageType.INQUIRY_RESPONSE, frame.payload).result);
    }
    const approved = results.filter((r) => r === ResultCode.APPROVED).length;
    // The bucket's 10, and at most one more refilled while they were answered.
    expect(approved).toBeGreaterThanOrEqual(10);
    expect(approved).toBeLessThanOrEqual(11);
    expect(results.slice(approved)).toEqual(Array<number>(5).fill(ResultCode.RATE_LIMITED));
    expect(notice).toBe(NoticeReason.TOO_MANY_BAD_FRAMES);
  });
});

describe('inquiry quota per terminal', () => {
  it('stops enumeration at the quota, across reconnections, leaving the number unused; payments go on; UNKNOWN_ACCOUNT is counted', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const gw = await gateway({ inquiryQuota: { perWindow: 20, windowSec: 3600 }, metrics });
    const terminal = await network.addTerminal();
    let t = await gw.connect(terminal);
    await t.signIn();
    const results: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 15) {
        // A reconnection does not refill the quota: it is the terminal's, kept in Redis.
        t.cut();
        t = await gw.connect(terminal, t.seq);
        await t.signIn();
      }
      results.push((await t.request(MessageType.INQUIRY, { account: String(8_000_000_000 + i) })).response.result);
    }
    expect(results.filter((r) => r === ResultCode.UNKNOWN_ACCOUNT)).toHaveLength(20);
    expect(results.slice(20)).toEqual(Array<number>(10).fill(ResultCode.QUOTA_EXCEEDED));
    // The refused inquiry's number is unused: a PAY takes it.
    const refused = await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! });
    expect(refused.response.result).toBe(ResultCode.QUOTA_EXCEEDED);
    expect(t.macValid(refused.frame)).toBe(true);
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq: refused.frame.seq })).response.result).toBe(ResultCode.APPROVED);
    const counted = (await metrics.unknownAccountAnswers.get()).values.find((v) => v.labels.type === 'INQUIRY')?.value;
    expect(counted).toBe(20);
    // Another terminal has its own quota.
    const other = await gw.connect(await network.addTerminal());
    await other.signIn();
    expect((await other.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! })).response.result).toBe(ResultCode.APPROVED);
    t.cut();
    other.cut();
  });
});
