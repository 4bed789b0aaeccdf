/**
 * Exactly once across connections and instances (DESIGN "Exactly once, and no replay"): a
 * retransmission gets the stored response and changes nothing; replays, stale numbers, bad MACs
 * and skewed clocks are refused with their codes and apply nothing. On a single Redis and on a
 * Redis Cluster (one of each per file).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEALTH_UNKNOWN,
  MessageType,
  NoticeReason,
  ResultCode,
  TransactionState,
  decodePayload,
  encodePayload,
  formatReceipt,
  hasZeroMac,
  requestFingerprint,
} from '../../protocol/index.js';
import { createCore } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { REDIS_BACKENDS, type RedisBackend } from '../helpers/cluster.js';
import { nowSec, type TestTerminal } from '../helpers/terminal.js';
import { ACCOUNTS, MASTER_KEY, MERCHANT, floatFen, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

let network: Network<RedisBackend>;
let a: RunningGateway;
let b: RunningGateway;

/** Polls until the float has moved to `expected` (the core applied a request whose answer we did not read). */
async function floatBecomes(expected: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await floatFen(network)) !== expected) {
    if (Date.now() > deadline) throw new Error(`float did not become ${expected}`);
    await sleep(10);
  }
}

async function signedIn(gw: RunningGateway, terminal: { terminalId: string; key: Buffer }, seq = 0): Promise<TestTerminal> {
  const t = await gw.connect(terminal, seq);
  const { response } = await t.signIn();
  expect(response.result).toBe(ResultCode.APPROVED);
  return t;
}

describe.each(REDIS_BACKENDS)('exactly once on $name', ({ start }) => {
  beforeAll(async () => {
    network = await startNetwork(start);
    a = await startGateway(network, { instanceId: 'gw-a' });
    b = await startGateway(network, { instanceId: 'gw-b' });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await network?.stop();
  });

  describe('retransmission', () => {
    it('after a lost response, on a new connection: the same response, one effect', async () => {
      const terminal = await network.addTerminal();
      const before = await floatFen(network);
      const first = await signedIn(a, terminal);
      const pay = { account: ACCOUNTS[0]!, amountFen: 1_000 };
      const original = await first.request(MessageType.PAY, pay);
      expect(original.response.result).toBe(ResultCode.APPROVED);
      expect(original.response.receipt).toBe(formatReceipt(terminal.terminalId, original.frame.seq));
      first.cut(); // the response "never arrived"

      const second = await signedIn(a, terminal, first.seq);
      const again = await second.request(MessageType.PAY, pay, { seq: original.frame.seq, retransmit: true });
      expect(second.macValid(again.frame)).toBe(true);
      expect(again.frame.payload.equals(original.frame.payload)).toBe(true);
      expect(await floatFen(network)).toBe(before - 1_000);
      second.cut();
    });

    it('two instances on one Redis: pay on A, cut before the response, retransmit on B: same response, one effect', async () => {
      const terminal = await network.addTerminal();
      const before = await floatFen(network);
      const onA = await signedIn(a, terminal);
      const pay = { account: ACCOUNTS[1]!, amountFen: 2_500 };
      const paySeq = onA.send(MessageType.PAY, pay);
      onA.cut();
      await floatBecomes(before - 2_500);

      const onB = await signedIn(b, terminal, onA.seq);
      const retransmitted = await onB.request(MessageType.PAY, pay, { seq: paySeq, retransmit: true });
      expect(retransmitted.response.result).toBe(ResultCode.APPROVED);
      expect(retransmitted.response.receipt).toBe(formatReceipt(terminal.terminalId, paySeq));
      expect(retransmitted.response.floatFen).toBe(before - 2_500);
      const twice = await onB.request(MessageType.PAY, pay, { seq: paySeq, retransmit: true });
      expect(twice.frame.payload.equals(retransmitted.frame.payload)).toBe(true);
      expect(await floatFen(network)).toBe(before - 2_500);
      onB.cut();
    });

    it('a sign-in on B closes the connection the terminal still holds on A', async () => {
      const terminal = await network.addTerminal();
      const onA = await signedIn(a, terminal);
      await signedIn(b, terminal, onA.seq);
      const notice = await onA.read();
      expect(notice.type).toBe(MessageType.NOTICE);
      expect(decodePayload(MessageType.NOTICE, notice.payload).reason).toBe(NoticeReason.SESSION_REPLACED);
      await onA.closed;
      expect(await network.client.hget(keys.session(MERCHANT, terminal.terminalId), 'instance')).toBe('gw-b');
    });
  });

  describe('the same sequence number on two connections at once', () => {
    it('two sign-ins racing with one number: one approved, the other REPLAY', async () => {
      const terminal = await network.addTerminal();
      const [x, y] = await Promise.all([a.connect(terminal), b.connect(terminal)]);
      const results = await Promise.all([x.signIn({ seq: 7 }), y.signIn({ seq: 7 })]);
      expect(results.map((r) => r.response.result).sort()).toEqual([ResultCode.APPROVED, ResultCode.REPLAY]);
      x.cut();
      y.cut();
    });

    it('a pay sent on the replaced and the current connection at once is applied once', async () => {
      const terminal = await network.addTerminal();
      const before = await floatFen(network);
      const old = await signedIn(a, terminal);
      const current = await signedIn(b, terminal, old.seq);
      const pay = { account: ACCOUNTS[2]!, amountFen: 700 };
      const seq = current.seq + 1;
      const answers = await Promise.allSettled([
        old.request(MessageType.PAY, pay, { seq }),
        current.request(MessageType.PAY, pay, { seq }),
      ]);
      const approved = answers.filter((r) => r.status === 'fulfilled' && r.value.response.result === ResultCode.APPROVED);
      expect(approved).toHaveLength(1);
      expect(answers[1].status === 'fulfilled' && answers[1].value.response.result).toBe(ResultCode.APPROVED);
      expect(await floatFen(network)).toBe(before - 700);
      current.cut();
    });
  });

  describe('refusals apply nothing', () => {
    it('a stale number gets REPLAY', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal, 20);
      await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN);
      const before = await floatFen(network);
      const { response } = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq: 5 });
      expect(response.result).toBe(ResultCode.REPLAY);
      expect(await floatFen(network)).toBe(before);
      t.cut();
    });

    it('the same number with another body gets REPLAY', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const before = await floatFen(network);
      const paid = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 });
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      const other = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 9_900 }, { seq: paid.frame.seq, retransmit: true });
      expect(other.response.result).toBe(ResultCode.REPLAY);
      expect(await floatFen(network)).toBe(before - 100);
      t.cut();
    });

    it('a timestamp outside the window gets CLOCK_SKEW and does not use up the number', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const before = await floatFen(network);
      const pay = { account: ACCOUNTS[0]!, amountFen: 100 };
      const skewed = await t.request(MessageType.PAY, pay, { timestamp: nowSec() + 3600 });
      expect(skewed.response.result).toBe(ResultCode.CLOCK_SKEW);
      expect(t.macValid(skewed.frame)).toBe(true);
      expect(await floatFen(network)).toBe(before);
      const hwm = await network.client.hget(keys.terminal(MERCHANT, terminal.terminalId), 'hwm');
      expect(Number(hwm)).toBe(skewed.frame.seq - 1);
      t.cut();
    });

    it('a bad MAC after sign-in gets BAD_MAC with a zero MAC, is counted, and does not use up the number', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const before = await floatFen(network);
      const pay = { account: ACCOUNTS[0]!, amountFen: 100 };
      const forged = await t.request(MessageType.PAY, pay, { macKey: Buffer.alloc(32, 9) });
      expect(forged.response.result).toBe(ResultCode.BAD_MAC);
      expect(hasZeroMac(forged.frame)).toBe(true);
      expect(await network.client.hget(keys.terminal(MERCHANT, terminal.terminalId), 'badMacs')).toBe('1');
      expect(await floatFen(network)).toBe(before);
      // The number is still free: the terminal, MACing right, pays with it.
      const paid = await t.request(MessageType.PAY, pay, { seq: forged.frame.seq });
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      expect(await floatFen(network)).toBe(before - 100);
      t.cut();
    });
  });

  describe('heartbeats answered by the gateway', () => {
    it('a number a heartbeat used is refused to any other request, and nothing is applied', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const before = await floatFen(network);
      const beat = await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN);
      expect(beat.response.result).toBe(ResultCode.APPROVED);
      const pay = { account: ACCOUNTS[0]!, amountFen: 100 };
      const reused = await t.request(MessageType.PAY, pay, { seq: beat.frame.seq });
      expect(reused.response.result).toBe(ResultCode.REPLAY);
      expect(t.macValid(reused.frame)).toBe(true);
      expect(await floatFen(network)).toBe(before);
      const paid = await t.request(MessageType.PAY, pay);
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      // The guard has now seen a larger number: the heartbeat's is stale to it too.
      const stale = await t.request(MessageType.PAY, pay, { seq: beat.frame.seq });
      expect(stale.response.result).toBe(ResultCode.REPLAY);
      expect(await floatFen(network)).toBe(before - 100);
      t.cut();
    });

    it('numbers strictly increase past a heartbeat answered here: a PAY under a skipped lower number and a lower heartbeat are REPLAY', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const before = await floatFen(network);
      const signInSeq = t.seq;
      const beat = await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: signInSeq + 10 });
      expect(beat.response.result).toBe(ResultCode.APPROVED);
      // Never used by any request, but below a number already used: not new (PROTOCOL.md §6.1).
      const skipped = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq: signInSeq + 5 });
      expect(skipped.response.result).toBe(ResultCode.REPLAY);
      expect(await floatFen(network)).toBe(before);
      const lower = await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: signInSeq + 7 });
      expect(lower.response.result).toBe(ResultCode.REPLAY);
      // The same heartbeat again is answered afresh; the next number is served.
      expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: signInSeq + 10 })).response.result).toBe(ResultCode.APPROVED);
      expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq: signInSeq + 11 })).response.result).toBe(ResultCode.APPROVED);
      expect(await floatFen(network)).toBe(before - 100);
      t.cut();
    });

    it('a sign-in on another connection after a heartbeat answered here hears a lastSeq at or above it', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const beat = await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: t.seq + 1 });
      expect(beat.response.result).toBe(ResultCode.APPROVED);
      // Firmware that lost its counter signs in with 1 elsewhere and continues above lastSeq.
      const other = await a.connect(terminal, 0);
      const refused = await other.signIn({ seq: 1 });
      expect(refused.response.result).toBe(ResultCode.REPLAY);
      expect(refused.response.lastSeq).toBe(beat.frame.seq);
      expect(Number(await network.client.hget(keys.terminal(MERCHANT, terminal.terminalId), 'hwm'))).toBe(beat.frame.seq);
      // And on another instance too (it reads the same mark).
      const elsewhere = await b.connect(terminal, 0);
      expect((await elsewhere.signIn({ seq: beat.frame.seq })).response).toMatchObject({ result: ResultCode.REPLAY, lastSeq: beat.frame.seq });
      t.cut();
      other.cut();
      elsewhere.cut();
    });

    it('go through Redis once the last confirmation is a heartbeat interval old, refreshing the session', async () => {
      const gw = await startGateway(network, { limits: { heartbeatSec: 1, idleTimeoutMs: 10_000 } });
      try {
        const terminal = await network.addTerminal();
        const t = await signedIn(gw, terminal);
        const session = keys.session(MERCHANT, terminal.terminalId);
        const signedInSeen = await network.client.hget(session, 'lastSeen');
        await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN);
        expect(await network.client.hget(session, 'lastSeen')).toBe(signedInSeen);
        await sleep(1100);
        expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
        expect(Number(await network.client.hget(session, 'lastSeen'))).toBeGreaterThan(Number(signedInSeen));
        expect(Number(await network.client.hget(keys.terminal(MERCHANT, terminal.terminalId), 'hwm'))).toBe(t.seq);
        t.cut();
      } finally {
        await gw.stop();
      }
    });
  });

  describe('a repeat while the first is still in flight', () => {
    it('gets IN_PROGRESS (STATUS says so too), and the stored answer once it is finished', async () => {
      const terminal = await network.addTerminal();
      const t = await signedIn(a, terminal);
      const before = await floatFen(network);
      // The first attempt is half-way: reserved by the core, not yet completed (a slow biller, say).
      const { core } = await createCore({ redis: network.client, masterKey: MASTER_KEY });
      const pay = { account: ACCOUNTS[1]!, amountFen: 800 };
      const seq = t.seq + 1;
      const connectionId = (await network.client.hget(keys.session(MERCHANT, terminal.terminalId), 'conn'))!;
      const reserved = await core.steps.reservePay({
        terminalId: terminal.terminalId, merchantId: MERCHANT, connectionId, seq,
        fingerprint: requestFingerprint(MessageType.PAY, encodePayload(MessageType.PAY, pay)), now: Date.now(),
      }, pay);
      expect('pending' in reserved).toBe(true);

      const repeat = await t.request(MessageType.PAY, pay, { seq, retransmit: true });
      expect(repeat.response.result).toBe(ResultCode.IN_PROGRESS);
      const status = await t.request(MessageType.STATUS, { querySeq: seq });
      expect(status.response.state).toBe(TransactionState.IN_PROGRESS);

      expect(await core.recover(Date.now() + 60_000)).toEqual({ completed: 1, rolledBack: 0, inDoubt: 0 });
      const finished = await t.request(MessageType.PAY, pay, { seq, retransmit: true });
      expect(finished.response.result).toBe(ResultCode.APPROVED);
      expect(finished.response.receipt).toBe(formatReceipt(terminal.terminalId, seq));
      expect(await floatFen(network)).toBe(before - 800);
      t.cut();
    });
  });
});
