/**
 * The bad-input matrix (issue 6, DESIGN "Bad input"): every case through real sockets against a
 * gateway over the real core and a real redis-server. For each: the documented code or close
 * (PROTOCOL.md §4, §8), nothing applied (float, arrears, high-water mark), the gateway alive
 * afterwards (a fresh terminal signs in and pays) and nothing left behind (connections back to
 * zero; the heap flat over many repetitions).
 *
 * | case                                         | test (file › name)                                                              |
 * |----------------------------------------------|---------------------------------------------------------------------------------|
 * | oversize length (and undersize)              | this › framing › an oversize or undersize length field …                         |
 * |                                              | gateway/lifecycle › closes at once on a length field above the maximum frame size |
 * | truncated frame then silence                 | this › framing › a truncated frame then silence …  (before and after sign-in)    |
 * | garbage before a sync marker                 | this › framing › garbage holding a false sync header before a real frame …       |
 * |                                              | gateway/lifecycle › skips garbage and a bad CRC without an answer …              |
 * | bad CRC                                      | this › framing › a PAY with a bad CRC is not answered and not applied            |
 * | a storm of false headers (CRC errors)        | this › framing › a storm of false frame headers …                               |
 * | terminal id not [0-9A-Z]{8} (CRC good)       | this › framing › a well-framed PAY whose terminal id is not [0-9A-Z]{8} …        |
 * | bad MAC                                      | this › refusals › … BAD_MAC (PAY under a wrong key, under an old session's key)  |
 * |                                              | gateway/exactly-once › a bad MAC after sign-in gets BAD_MAC …; gateway/lifecycle › counts bad MACs as bad frames |
 * | unknown type                                 | this › refusals › an unknown type …; gateway/lifecycle › answers an unknown message type with REJECT … |
 * | unknown version                              | this › framing › an unknown version closes …; gateway/lifecycle › closes at once on an unknown protocol version |
 * | unknown or disabled terminal                 | this › refusals › unknown and disabled terminals …; gateway/sign-in › refuses an unknown terminal / a disabled terminal |
 * | business frames before sign-in               | this › refusals › every business type before sign-in …; gateway/sign-in › answers a business frame before sign-in …; hardening/pre-auth |
 * | timestamp too old / too far ahead            | this › refusals › timestamps just outside the window …; gateway/exactly-once › a timestamp outside the window …; gateway/sign-in › refuses a clock outside the window … |
 * | replayed sequence number, same body          | this › refusals › the same number and the same body …                            |
 * | replayed sequence number, another body       | this › refusals › the same number with another body …; gateway/exactly-once › the same number with another body gets REPLAY; a stale number gets REPLAY |
 * | captured frames replayed on a new session    | this › refusals › a captured sign-in and PAY replayed byte for byte …           |
 * | one byte per second (slow loris)             | this › slow peers › a sign-in trickled …; a request trickled after sign-in …     |
 * | burst of connections from one address        | this › limits › a burst of connections from one address …; gateway/lifecycle › limits the connection rate of one address |
 * | connections beyond the maximum               | this › limits › connections beyond the maximum …; gateway/lifecycle › closes connections beyond the maximum at once |
 * | merchant A corrects / queries B's transaction| this › merchants › a terminal of merchant A …                                    |
 * | amounts at and past their limits             | this › limits of fields › amounts 0, 1, max, max+1, u32 max                      |
 * | account numbers at and past their limits     | this › limits of fields › account numbers …                                      |
 * | memory flat                                  | this › memory › 300 hostile connections leave no connection and no heap behind   |
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEALTH_UNKNOWN,
  MAX_FEN,
  MessageType,
  NoticeReason,
  ResultCode,
  TransactionState,
  crc16,
  decodePayload,
  encodePayload,
  hasZeroMac,
  type Frame,
} from '../../protocol/index.js';
import { keys } from '../../src/store/keys.js';
import { nowSec, type TestTerminal } from '../helpers/terminal.js';
import { startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';

const SHOP_A = 'shop-a';
const SHOP_B = 'shop-b';
const FLOAT = 5_000_000;
/** Owes ¥20,000.00: more than the per-payment limit, so the limit is what refuses. */
const RICH_ACCOUNT = '1000000001';
const ACCOUNT = '1000000002';
const MAX_PAYMENT_FEN = 500_000; // the core's default per-payment limit

let network: Network;
let gw: RunningGateway;
let terminalCounter = 0;

interface Provisioned {
  terminalId: string;
  key: Buffer;
  merchantId: string;
}

beforeAll(async () => {
  network = await startNetwork();
  for (const [id, name] of [[SHOP_A, 'Shop A'], [SHOP_B, 'Shop B']] as const) {
    await network.admin.addMerchant(id, name);
    await network.admin.topUp(id, FLOAT);
  }
  await network.admin.importAccounts(`account,name,bill_id,period,amount,issue_date,status\n${RICH_ACCOUNT},Wang Wu,B1,202609,20000.00,2026-09-05,open\n${ACCOUNT},Li Si,B1,202609,300.00,2026-09-05,open\n`);
  gw = await startGateway(network);
});
afterAll(async () => {
  await gw?.stop();
  await network?.stop();
});

async function provision(merchantId = SHOP_A): Promise<Provisioned> {
  terminalCounter += 1;
  const terminalId = `H${merchantId === SHOP_A ? 'A' : 'B'}${String(terminalCounter).padStart(6, '0')}`;
  const { key } = await network.admin.addTerminal(terminalId, merchantId);
  return { terminalId, key: Buffer.from(key, 'hex'), merchantId };
}

async function signedIn(on: RunningGateway, terminal: Provisioned, seq = 0): Promise<TestTerminal> {
  const t = await on.connect(terminal, seq);
  expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
  return t;
}

/** Everything a request could have changed: both floats, the accounts' arrears, a terminal's mark. */
async function books(terminal?: Provisioned): Promise<Record<string, number>> {
  const state: Record<string, number> = {
    floatA: (await network.admin.showMerchant(SHOP_A)).floatFen,
    floatB: (await network.admin.showMerchant(SHOP_B)).floatFen,
    rich: (await network.admin.showAccount(RICH_ACCOUNT)).arrearsFen,
    account: (await network.admin.showAccount(ACCOUNT)).arrearsFen,
  };
  if (terminal !== undefined) state.hwm = Number(await network.client.hget(keys.terminal(terminal.merchantId, terminal.terminalId), 'hwm'));
  return state;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The gateway still serves: a fresh terminal signs in and pays 1 fen; then its connection is gone too. */
async function stillServes(on: RunningGateway = gw): Promise<void> {
  const t = await signedIn(on, await provision());
  const before = (await network.admin.showMerchant(SHOP_A)).floatFen;
  const paid = await t.request(MessageType.PAY, { account: ACCOUNT, amountFen: 1 });
  expect(paid.response.result).toBe(ResultCode.APPROVED);
  expect((await network.admin.showMerchant(SHOP_A)).floatFen).toBe(before - 1);
  t.cut();
  await waitFor(() => on.gateway.connectionCount === 0, 'connections back to zero');
}

/** Rewrites a frame's CRC after a test changed its bytes, so only the change is wrong. */
function withCrc(frame: Buffer): Buffer {
  frame.writeUInt16BE(crc16(frame.subarray(0, frame.length - 2)), frame.length - 2);
  return frame;
}

function notice(frame: Frame): number {
  expect(frame.type).toBe(MessageType.NOTICE);
  return decodePayload(MessageType.NOTICE, frame.payload).reason;
}

/** A PAY frame with any payload bytes, MACed under the session key. */
function rawPay(t: TestTerminal, payload: Buffer, seq?: number): Buffer {
  return t.encode(MessageType.PAY, payload, seq === undefined ? {} : { seq });
}

describe('framing', () => {
  it.each([
    ['oversize', 1025],
    ['u16 max', 0xffff],
    ['undersize', 32],
    ['zero', 0],
  ])('an oversize or undersize length field (%s: %i) closes the connection, answering and applying nothing', async (_name, length) => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
    pay.writeUInt16BE(length, 3);
    t.sendRaw(Buffer.concat([withCrc(pay), Buffer.alloc(1100, 0x41)]));
    await t.closed;
    await expect(t.read(100)).rejects.toThrow(/closed/);
    expect(await books(terminal)).toEqual(before);
    await stillServes();
  });

  it('an unknown version closes the connection (CRC good), applying nothing', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
    pay[2] = 0x02;
    t.sendRaw(withCrc(pay));
    await t.closed;
    expect(await books(terminal)).toEqual(before);
    await stillServes();
  });

  it('a truncated frame then silence: closed by the sign-in timeout before sign-in, NOTICE IDLE_TIMEOUT after', async () => {
    const quick = await startGateway(network, { limits: { signInTimeoutMs: 1000, idleTimeoutMs: 600 } });
    try {
      const anonymous = await quick.connect(await provision());
      anonymous.sendRaw(anonymous.encode(MessageType.SIGN_IN, Buffer.alloc(24)).subarray(0, 20));
      await anonymous.closed;
      await expect(anonymous.read(50)).rejects.toThrow(/closed/);

      const terminal = await provision();
      const t = await signedIn(quick, terminal);
      const before = await books(terminal);
      const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
      t.sendRaw(pay.subarray(0, pay.length - 1)); // all but the last CRC byte
      expect(notice(await t.read(5000))).toBe(NoticeReason.IDLE_TIMEOUT);
      await t.closed;
      expect(await books(terminal)).toEqual(before);
      await stillServes(quick);
    } finally {
      await quick.stop();
    }
  });

  it('garbage holding a false sync header before a real frame: the real frame is still found and served once', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const falseHeader = (length: number) => Buffer.from([0xa5, 0x5a, 0x01, length >> 8, length & 0xff, 0x04]);
    // The false header claims 40 bytes, which swallow the start of the real frame; its CRC fails,
    // the decoder resyncs one byte after the false sync and finds the real frame.
    const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
    t.sendRaw(Buffer.concat([Buffer.from('noise from the modem '), falseHeader(40), pay]));
    const answer = await t.read();
    expect(answer.type).toBe(MessageType.PAY_RESPONSE);
    expect(answer.seq).toBe(pay.readUInt32BE(15));
    expect(decodePayload(MessageType.PAY_RESPONSE, answer.payload).result).toBe(ResultCode.APPROVED);
    const paid = { ...before, floatA: before.floatA! - 100, account: before.account! - 100, hwm: answer.seq };
    expect(await books(terminal)).toEqual(paid);

    // A false header claiming more than follows holds the real frame until more bytes come: the
    // terminal's retransmissions (on its response timeout) complete it, and every copy is
    // answered with the same stored response; the payment is applied once.
    const second = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 200 }));
    t.sendRaw(Buffer.concat([falseHeader(120), second]));
    await expect(t.read(300)).rejects.toThrow(/no frame/);
    const retransmitted = Buffer.from(second);
    t.sendRaw(Buffer.concat([retransmitted, retransmitted]));
    const answers = [await t.read(), await t.read(), await t.read()];
    expect(answers.map((f) => f.seq)).toEqual(Array(3).fill(second.readUInt32BE(15)));
    for (const later of answers.slice(1)) expect(later.payload.equals(answers[0]!.payload)).toBe(true);
    expect(decodePayload(MessageType.PAY_RESPONSE, answers[0]!.payload).result).toBe(ResultCode.APPROVED);
    expect(await books(terminal)).toEqual({ ...paid, floatA: paid.floatA - 200, account: paid.account! - 200, hwm: answers[0]!.seq });
    t.cut();
  });

  it('a PAY with a bad CRC is not answered and not applied; the same number, sent right, is', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
    const corrupted = Buffer.from(pay);
    corrupted[pay.length - 3]! ^= 0x01; // a MAC bit: the CRC no longer matches
    t.sendRaw(corrupted);
    await expect(t.read(300)).rejects.toThrow(/no frame/);
    expect(await books(terminal)).toEqual(before);
    t.sendRaw(pay);
    expect(decodePayload(MessageType.PAY_RESPONSE, (await t.read()).payload).result).toBe(ResultCode.APPROVED);
    expect((await books(terminal)).floatA).toBe(before.floatA! - 100);
    t.cut();
  });

  it('a storm of false frame headers (64 kB, a CRC error every 5 bytes): NOTICE TOO_MANY_BAD_FRAMES, closed, nothing applied', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const storm = Buffer.alloc(65_535);
    for (let at = 0; at + 5 <= storm.length; at += 5) Buffer.from([0xa5, 0x5a, 0x01, 0x00, 0x21]).copy(storm, at);
    t.sendRaw(storm);
    expect(notice(await t.read())).toBe(NoticeReason.TOO_MANY_BAD_FRAMES);
    await t.closed;
    expect(await books(terminal)).toEqual(before);
    await stillServes();
  });

  it('a well-framed PAY whose terminal id is not [0-9A-Z]{8}: no answer (none can be addressed), nothing applied, the connection serves on', async () => {
    // Found by the live fuzzer: the gateway echoed the id, its encoder threw, and it closed the
    // connection with an internal error. The decoder now skips such a frame (ERR_TERMINAL_ID).
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    for (const id of ['ha000001', 'HA\u00ce00001', 'HA 00001', 'HA\u000000001']) {
      const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
      pay.write(id, 7, 'latin1');
      t.sendRaw(withCrc(pay));
    }
    await expect(t.read(300)).rejects.toThrow(/no frame/);
    expect(t.isClosed).toBe(false);
    expect(await books(terminal)).toEqual(before);
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
    t.cut();
  });
});

describe('refusals', () => {
  it('an unknown type with a PAY body, MACed right: REJECT UNSUPPORTED_TYPE echoing the number, nothing applied', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    t.sendRaw(t.encode(0x44, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }), { seq: 9 }));
    const frame = await t.read();
    expect(frame.type).toBe(MessageType.REJECT);
    expect(frame.seq).toBe(9);
    expect(decodePayload(MessageType.REJECT, frame.payload).result).toBe(ResultCode.UNSUPPORTED_TYPE);
    expect(await books(terminal)).toEqual(before);
    t.cut();
  });

  it('a PAY under a wrong key, and under an old session\'s key: BAD_MAC, zero MAC, nothing applied', async () => {
    const terminal = await provision();
    const first = await signedIn(gw, terminal);
    const oldSessionKey = first.sessionKey!;
    first.cut();
    const t = await signedIn(gw, terminal, first.seq);
    const before = await books(terminal);
    for (const macKey of [terminal.key, oldSessionKey, Buffer.alloc(32)]) {
      const { frame, response } = await t.request(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }, { macKey });
      expect(response.result).toBe(ResultCode.BAD_MAC);
      expect(hasZeroMac(frame)).toBe(true);
    }
    expect(await books(terminal)).toEqual(before);
    t.cut();
  });

  it('unknown and disabled terminals: refused at sign-in, and their PAY gets NOT_SIGNED_IN', async () => {
    const disabled = await provision();
    await network.admin.disableTerminal(disabled.terminalId);
    for (const terminal of [{ terminalId: 'NOSUCH01', key: Buffer.alloc(32, 3), merchantId: SHOP_A }, disabled]) {
      const t = await gw.connect(terminal);
      const before = await books();
      const { response } = await t.signIn();
      expect(response.result).toBe(terminal === disabled ? ResultCode.TERMINAL_DISABLED : ResultCode.UNKNOWN_TERMINAL);
      const pay = await t.request(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }, { macKey: terminal.key });
      expect(pay.response.result).toBe(ResultCode.NOT_SIGNED_IN);
      expect(hasZeroMac(pay.frame)).toBe(true);
      expect(await books()).toEqual(before);
      t.cut();
    }
    expect(Number(await network.client.hget(keys.terminal(SHOP_A, disabled.terminalId), 'hwm'))).toBe(0);
  });

  it('every business type before sign-in gets NOT_SIGNED_IN with a zero MAC, the connection is closed, and nothing is applied', async () => {
    const terminal = await provision();
    const before = await books(terminal);
    const requests = [
      [MessageType.HEARTBEAT, HEALTH_UNKNOWN],
      [MessageType.INQUIRY, { account: ACCOUNT }],
      [MessageType.PAY, { account: ACCOUNT, amountFen: 100 }],
      [MessageType.CORRECT, { receipt: `${terminal.terminalId}0000000001`, account: ACCOUNT, amountFen: 100 }],
      [MessageType.STATUS, { querySeq: 1 }],
      [MessageType.SETTLE, { businessDay: network.admin.businessDay(), payCount: 0, payFen: 0, correctCount: 0, correctFen: 0 }],
      [MessageType.SIGN_OUT, {}],
    ] as const;
    for (const [type, value] of requests) {
      // One refusal a connection (PROTOCOL.md §8): each type on a connection of its own.
      const t = await gw.connect(terminal);
      const { frame, response } = await t.request(type, value as never, { macKey: terminal.key });
      expect((response as { result: number }).result).toBe(ResultCode.NOT_SIGNED_IN);
      expect(hasZeroMac(frame)).toBe(true);
      await t.closed;
    }
    expect(await books(terminal)).toEqual(before);
  });

  it('timestamps just outside the window, behind and ahead: CLOCK_SKEW, nothing applied, the number unused', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const window = gw.gateway.limits.clockWindowSec;
    const pay = { account: ACCOUNT, amountFen: 100 };
    for (const timestamp of [nowSec() - window - 2, nowSec() + window + 2, 0, MAX_FEN]) {
      const skewed = await t.request(MessageType.PAY, pay, { timestamp, seq: t.seq + 1 });
      expect(skewed.response.result).toBe(ResultCode.CLOCK_SKEW);
      expect(t.macValid(skewed.frame)).toBe(true);
    }
    expect(await books(terminal)).toEqual(before);
    t.cut();
  });

  it('the same number and the same body (no RETRANSMIT flag): the stored answer again, applied once', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const pay = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 250 }));
    t.sendRaw(pay);
    const first = await t.read();
    t.sendRaw(pay); // byte for byte, the old timestamp too: still inside the window
    const again = await t.read();
    expect(again.payload.equals(first.payload)).toBe(true);
    expect(await books(terminal)).toEqual({ ...before, floatA: before.floatA! - 250, account: before.account! - 250, hwm: first.seq });
    t.cut();
  });

  it('the same number with another body, with and without the flag: REPLAY, applied once', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const before = await books(terminal);
    const paid = await t.request(MessageType.PAY, { account: ACCOUNT, amountFen: 100 });
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    for (const retransmit of [false, true]) {
      const other = await t.request(MessageType.PAY, { account: ACCOUNT, amountFen: 200 }, { seq: paid.frame.seq, retransmit });
      expect(other.response.result).toBe(ResultCode.REPLAY);
      const inquiry = await t.request(MessageType.INQUIRY, { account: ACCOUNT }, { seq: paid.frame.seq, retransmit });
      expect(inquiry.response.result).toBe(ResultCode.REPLAY);
    }
    expect(await books(terminal)).toEqual({ ...before, floatA: before.floatA! - 100, account: before.account! - 100, hwm: paid.frame.seq });
    t.cut();
  });

  it('a captured sign-in and PAY replayed byte for byte on a new connection: REPLAY and NOT_SIGNED_IN, nothing applied', async () => {
    const terminal = await provision();
    const victim = await gw.connect(terminal);
    const signInBytes = victim.encode(MessageType.SIGN_IN, encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(16, 5), firmware: 'TEST-1.0' }));
    victim.sendRaw(signInBytes);
    expect(decodePayload(MessageType.SIGN_IN_RESPONSE, (await victim.read()).payload).result).toBe(ResultCode.APPROVED);
    const before = await books(terminal);
    // The attacker holds the frames but not the session key: the PAY below is never sent by the
    // victim, it is only captured (as if the link dropped it before the gateway).
    const captured = victim.encode(MessageType.PAY, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 300 }), {
      macKey: Buffer.alloc(32, 0x77), // the attacker's best guess at a session key
    });
    victim.cut();

    const attacker = await gw.connect(terminal);
    attacker.sendRaw(signInBytes);
    const refused = decodePayload(MessageType.SIGN_IN_RESPONSE, (await attacker.read()).payload);
    expect(refused.result).toBe(ResultCode.REPLAY);
    attacker.sendRaw(captured);
    const answer = await attacker.read();
    expect(decodePayload(MessageType.PAY_RESPONSE, answer.payload).result).toBe(ResultCode.NOT_SIGNED_IN);
    expect(await books(terminal)).toEqual(before);
    attacker.cut();
  });
});

describe('slow peers', () => {
  it('a sign-in trickled a byte at a time is closed by the sign-in timeout, not kept alive by the bytes', async () => {
    const slow = await startGateway(network, { limits: { signInTimeoutMs: 1500 } });
    try {
      const t = await slow.connect(await provision());
      const frame = t.encode(MessageType.SIGN_IN, encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(16, 1), firmware: 'TEST-1.0' }));
      let sent = 0;
      // Four bytes a second: faster than one a second, so it is the harder case for the timeout.
      while (!t.isClosed && sent < frame.length) {
        t.sendRaw(frame.subarray(sent, sent + 1));
        sent += 1;
        await Promise.race([sleep(250), t.closed]);
      }
      await t.closed;
      expect(sent).toBeLessThan(frame.length);
      await expect(t.read(50)).rejects.toThrow(/closed/);
      await stillServes(slow);
    } finally {
      await slow.stop();
    }
  });

  it('a request trickled a byte at a time after sign-in gets NOTICE IDLE_TIMEOUT and applies nothing', async () => {
    const slow = await startGateway(network, { limits: { idleTimeoutMs: 1500 } });
    try {
      const terminal = await provision();
      const t = await signedIn(slow, terminal);
      const before = await books(terminal);
      const frame = rawPay(t, encodePayload(MessageType.PAY, { account: ACCOUNT, amountFen: 100 }));
      let sent = 0;
      while (!t.isClosed && sent < frame.length) {
        t.sendRaw(frame.subarray(sent, sent + 1));
        sent += 1;
        await Promise.race([sleep(250), t.closed]);
      }
      expect(sent).toBeLessThan(frame.length);
      expect(notice(await t.read())).toBe(NoticeReason.IDLE_TIMEOUT);
      await t.closed;
      expect(await books(terminal)).toEqual(before);
      await stillServes(slow);
    } finally {
      await slow.stop();
    }
  });
});

describe('limits', () => {
  it('a burst of connections from one address: beyond the bucket they are closed at once; the address is served again after a refill', async () => {
    const rate = 1;
    const burst = 5;
    const limited = await startGateway(network, { limits: { connectionRatePerSec: rate, connectionBurst: burst } });
    try {
      const terminal = await provision();
      const started = Date.now();
      const sockets = await Promise.all(Array.from({ length: 30 }, () => limited.connect(terminal)));
      const elapsedSec = (Date.now() - started) / 1000;
      // Refused sockets are destroyed at once; accepted ones wait for a sign-in (15 s).
      const allowed = burst + Math.ceil(elapsedSec * rate) + 1;
      await waitFor(() => sockets.filter((s) => s.isClosed).length >= 30 - allowed, 'refused sockets closed');
      await sleep(200);
      const open = sockets.filter((s) => !s.isClosed);
      expect(open.length).toBeGreaterThanOrEqual(1);
      expect(open.length).toBeLessThanOrEqual(allowed);
      expect(limited.gateway.connectionCount).toBe(open.length);
      for (const s of sockets) s.cut();
      await waitFor(() => limited.gateway.connectionCount === 0, 'connections back to zero');
      await sleep(1000 / rate + 100);
      await stillServes(limited);
    } finally {
      await limited.stop();
    }
  });

  it('connections beyond the maximum are closed at once; a freed slot is usable again', async () => {
    const small = await startGateway(network, { limits: { maxConnections: 3 } });
    try {
      // Signed in: a full instance evicts a connection not signed in instead of refusing (connection-slots.test.ts).
      const held = [await signedIn(small, await provision()), await signedIn(small, await provision()), await signedIn(small, await provision())];
      await waitFor(() => small.gateway.connectionCount === 3, 'three connections held');
      const extra = await Promise.all([small.connect(await provision()), small.connect(await provision())]);
      await Promise.all(extra.map((t) => t.closed));
      expect(small.gateway.connectionCount).toBe(3);
      held[0]!.cut();
      await waitFor(() => small.gateway.connectionCount === 2, 'a slot freed');
      const t = await signedIn(small, await provision());
      expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
      for (const s of [...held, t]) s.cut();
      await waitFor(() => small.gateway.connectionCount === 0, 'connections back to zero');
    } finally {
      await small.stop();
    }
  });
});

describe('merchants', () => {
  it('a terminal of merchant A correcting or querying a transaction of merchant B gets ORIGINAL_NOT_FOUND / NOT_FOUND and learns nothing', async () => {
    const terminalB = await provision(SHOP_B);
    const b = await signedIn(gw, terminalB, 99);
    const paidB = await b.request(MessageType.PAY, { account: RICH_ACCOUNT, amountFen: 1_234 });
    expect(paidB.response.result).toBe(ResultCode.APPROVED);
    const receiptB = paidB.response.receipt;

    const terminalA = await provision(SHOP_A);
    const a = await signedIn(gw, terminalA);
    const before = await books();
    const correctB = await a.request(MessageType.CORRECT, { receipt: receiptB, account: RICH_ACCOUNT, amountFen: 1_234 });
    expect(correctB.response.result).toBe(ResultCode.ORIGINAL_NOT_FOUND);
    // A receipt that exists nowhere gets the very same answer: A cannot tell B's receipt is real.
    const correctNone = await a.request(MessageType.CORRECT, { receipt: 'ZZZZZZZZ0000000100', account: RICH_ACCOUNT, amountFen: 1_234 });
    expect(correctNone.frame.payload.equals(correctB.frame.payload)).toBe(true);
    expect(correctB.response).toMatchObject({ arrearsFen: 0, floatFen: 0 });
    expect(correctB.frame.payload.includes(Buffer.from(receiptB))).toBe(false);

    // STATUS asks by A's own numbering: B's sequence number names nothing of A's.
    const status = await a.request(MessageType.STATUS, { querySeq: paidB.frame.seq });
    expect(status.response).toMatchObject({ result: ResultCode.APPROVED, state: TransactionState.NOT_FOUND });
    expect(status.frame.payload.includes(paidB.frame.payload)).toBe(false);
    expect(await books()).toEqual(before);

    // Within one merchant the receipt is found, but belongs to another terminal.
    const sibling = await signedIn(gw, await provision(SHOP_B));
    const wrong = await sibling.request(MessageType.CORRECT, { receipt: receiptB, account: RICH_ACCOUNT, amountFen: 1_234 });
    expect(wrong.response.result).toBe(ResultCode.WRONG_TERMINAL);
    expect(await books()).toEqual(before);
    for (const t of [a, b, sibling]) t.cut();
  });
});

describe('limits of fields', () => {
  it('amounts 0, 1, max, max+1, u32 max: AMOUNT_INVALID, APPROVED, APPROVED, AMOUNT_OVER_LIMIT, AMOUNT_OVER_LIMIT', async () => {
    const terminal = await provision();
    const t = await signedIn(gw, terminal);
    const start = await books(terminal);
    const cases: Array<[number, number]> = [
      [0, ResultCode.AMOUNT_INVALID],
      [1, ResultCode.APPROVED],
      [MAX_PAYMENT_FEN, ResultCode.APPROVED],
      [MAX_PAYMENT_FEN + 1, ResultCode.AMOUNT_OVER_LIMIT],
      [MAX_FEN, ResultCode.AMOUNT_OVER_LIMIT],
    ];
    for (const [amountFen, result] of cases) {
      const before = await books(terminal);
      const { response } = await t.request(MessageType.PAY, { account: RICH_ACCOUNT, amountFen });
      expect({ amountFen, result: response.result }).toEqual({ amountFen, result });
      const moved = result === ResultCode.APPROVED ? amountFen : 0;
      const after = await books(terminal);
      expect(after.floatA).toBe(before.floatA! - moved);
      expect(after.rich).toBe(before.rich! - moved);
    }
    expect((await books(terminal)).floatA).toBe(start.floatA! - 1 - MAX_PAYMENT_FEN);
    t.cut();
  });

  it('account numbers: 10 digits are served; 9 digits, letters, 11 digits or a NUL are BAD_FORMAT and apply nothing', async () => {
    const lenient = await startGateway(network, { limits: { maxBadFrames: 100 } });
    try {
      const terminal = await provision();
      const t = await signedIn(lenient, terminal);
      expect((await t.request(MessageType.INQUIRY, { account: ACCOUNT })).response.result).toBe(ResultCode.APPROVED);
      expect((await t.request(MessageType.INQUIRY, { account: '9999999999' })).response.result).toBe(ResultCode.UNKNOWN_ACCOUNT);
      const before = await books(terminal);
      const amount = Buffer.alloc(4);
      amount.writeUInt32BE(100);
      for (const account of ['100000000', '100000000 ', '10000000A2', 'ABCDEFGHIJ', '10000000002', '100000000\0', '１00000002']) {
        const accountBytes = Buffer.from(account, 'utf8');
        for (const [type, payload] of [
          [MessageType.INQUIRY, accountBytes],
          [MessageType.PAY, Buffer.concat([accountBytes, amount])],
        ] as const) {
          t.sendRaw(t.encode(type, payload));
          const frame = await t.read();
          expect(frame.type).toBe(type | 0x80);
          expect({ account, result: frame.payload[0] }).toEqual({ account, result: ResultCode.BAD_FORMAT });
        }
      }
      expect(await books(terminal)).toEqual({ ...before, hwm: before.hwm });
      t.cut();
      await stillServes(lenient);
    } finally {
      await lenient.stop();
    }
  });
});

describe('memory', () => {
  it('300 hostile connections leave no connection and no heap behind', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const hostile = [
      Buffer.from([0xa5, 0x5a, 0x01, 0xff, 0xff]), // oversize
      Buffer.alloc(2000, 0x5a), // garbage, no sync
      Buffer.concat([Buffer.from([0xa5, 0x5a, 0x01, 0x04, 0x00]), Buffer.alloc(900, 1)]), // truncated 1024-byte frame
    ];
    const round = async (count: number) => {
      for (let i = 0; i < count; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => gw.connect(({ terminalId: 'HOSTILE1', key: Buffer.alloc(32) }))));
        batch.forEach((t, j) => {
          t.sendRaw(hostile[(i + j) % hostile.length]!);
          t.socket.end();
        });
        await Promise.all(batch.map((t) => t.closed));
      }
      await waitFor(() => gw.gateway.connectionCount === 0, 'connections back to zero');
    };
    await round(60); // warm up: JIT, pools, buffers
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    await round(300);
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    // A leaked connection (socket, decoder, timers, logger child) is tens of kB: 300 would be MBs.
    expect(growth).toBeLessThan(3 * 1024 * 1024);
    await stillServes();
  });
});
