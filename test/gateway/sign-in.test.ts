/**
 * Sign-in: the handshake, each refusal, and business frames before it. Real Redis (single and
 * Cluster), real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_UNKNOWN, Defaults, MAX_SEQ_STEP, MessageType, NoticeReason, ResultCode, decodePayload, emptyResponse, encodePayload, hasZeroMac } from '../../protocol/index.js';
import { keys } from '../../src/store/keys.js';
import { REDIS_BACKENDS, type RedisBackend } from '../helpers/cluster.js';
import { nowSec } from '../helpers/terminal.js';
import { ACCOUNTS, FLOAT_FEN, MERCHANT, floatFen, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

let network: Network<RedisBackend>;
let gw: RunningGateway;

/** The terminal's sequence high-water mark (0 when provisioned). */
async function hwm(terminalId: string): Promise<number> {
  return Number(await network.client.hget(keys.terminal(MERCHANT, terminalId), 'hwm'));
}

describe.each(REDIS_BACKENDS)('on $name', ({ start }) => {
  beforeAll(async () => {
    network = await startNetwork(start);
    gw = await startGateway(network);
  });
  afterAll(async () => {
    await gw?.stop();
    await network?.stop();
  });

  describe('sign-in', () => {
    it('approves a provisioned terminal: session key from both nonces, server time, heartbeat, business day', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      const { frame, response } = await t.signIn();
      expect(response.result).toBe(ResultCode.APPROVED);
      // MACed with the session key the terminal derives on its side: both ends agree on it.
      expect(t.macValid(frame)).toBe(true);
      expect(Math.abs(response.serverTime - nowSec())).toBeLessThanOrEqual(2);
      expect(response.heartbeatSec).toBe(Defaults.HEARTBEAT_SEC);
      expect(response.lastSeq).toBe(1);
      expect(response.businessDay).toBe(network.admin.businessDay());
      const session = await network.client.hgetall(keys.session(MERCHANT, terminal.terminalId));
      expect(session.instance).toBe(gw.gateway.instanceId);
      expect(session.conn?.startsWith(gw.gateway.instanceId)).toBe(true);

      const heartbeat = await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN);
      expect(heartbeat.response.result).toBe(ResultCode.APPROVED);
      expect(t.macValid(heartbeat.frame)).toBe(true);
      t.cut();
    });

    it('refuses an unknown terminal with a zero MAC', async () => {
      const t = await gw.connect({ terminalId: 'ZZZZ9999', key: Buffer.alloc(32, 7) });
      const { frame, response } = await t.signIn();
      expect(response.result).toBe(ResultCode.UNKNOWN_TERMINAL);
      expect(hasZeroMac(frame)).toBe(true);
      expect(t.sessionKey).toBeNull();
      t.cut();
    });

    it('refuses a disabled terminal, MACed with the refusal key once its MAC verified', async () => {
      const terminal = await network.addTerminal();
      await network.admin.disableTerminal(terminal.terminalId);
      const t = await gw.connect(terminal);
      const { response, authenticated } = await t.signIn();
      expect(response.result).toBe(ResultCode.TERMINAL_DISABLED);
      expect(authenticated).toBe(true);
      expect(await hwm(terminal.terminalId)).toBe(0);
      t.cut();
    });

    it('refuses a bad MAC as it refuses an unknown terminal, counts it, and advances nothing', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      const { frame, response } = await t.signIn({ macKey: Buffer.alloc(32, 1) });
      expect(response.result).toBe(ResultCode.UNKNOWN_TERMINAL);
      expect(hasZeroMac(frame)).toBe(true);
      expect(await network.client.hget(keys.terminal(MERCHANT, terminal.terminalId), 'badMacs')).toBe('1');
      expect(await hwm(terminal.terminalId)).toBe(0);
      expect(await network.client.exists(keys.session(MERCHANT, terminal.terminalId))).toBe(0);
      // The same number, MACed right, is still new: the bad frame advanced nothing.
      const retry = await t.signIn({ seq: 1 });
      expect(retry.response.result).toBe(ResultCode.APPROVED);
      t.cut();
    });

    it('refuses a clock outside the window and tells the server time', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      const { response, authenticated } = await t.signIn({ timestamp: nowSec() - Defaults.CLOCK_WINDOW_SEC - 60 });
      expect(response.result).toBe(ResultCode.CLOCK_SKEW);
      // The terminal sets its clock from this answer only because it can check who sent it.
      expect(authenticated).toBe(true);
      expect(Math.abs(response.serverTime - nowSec())).toBeLessThanOrEqual(2);
      expect(await hwm(terminal.terminalId)).toBe(0);
      t.cut();
    });

    it('refuses a sign-in that reuses an old number, telling the last one', async () => {
      const terminal = await network.addTerminal();
      const first = await gw.connect(terminal);
      expect((await first.signIn({ seq: 40 })).response.result).toBe(ResultCode.APPROVED);
      first.cut();
      const second = await gw.connect(terminal);
      const { response, authenticated } = await second.signIn({ seq: 40 });
      expect(response.result).toBe(ResultCode.REPLAY);
      expect(response.lastSeq).toBe(40);
      expect(authenticated).toBe(true);
      second.cut();
    });

    it('refuses a disabled merchant', async () => {
      const other = await network.admin.addMerchant('shop-off', 'Closed shop');
      const provisioned = await network.admin.addTerminal('OFF00001', other.id);
      await network.admin.disableMerchant(other.id);
      const t = await gw.connect({ terminalId: 'OFF00001', key: Buffer.from(provisioned.key, 'hex') });
      const { response, authenticated } = await t.signIn();
      expect(response.result).toBe(ResultCode.MERCHANT_DISABLED);
      expect(authenticated).toBe(true);
      t.cut();
    });

    it('tells a keyless peer nothing: unknown, wrong key, disabled, merchant disabled all get the same zero-MAC UNKNOWN_TERMINAL', async () => {
      const active = await network.addTerminal();
      const disabled = await network.addTerminal();
      await network.admin.disableTerminal(disabled.terminalId);
      const other = await network.admin.addMerchant('shop-keyless', 'Closed shop');
      await network.admin.addTerminal('KEYLESS1', other.id);
      await network.admin.disableMerchant(other.id);
      const guessedKey = Buffer.alloc(32, 9);
      const payloads = new Set<string>();
      for (const terminalId of ['ZZZZ0001', active.terminalId, disabled.terminalId, 'KEYLESS1']) {
        const t = await gw.connect({ terminalId, key: guessedKey });
        const { frame } = await t.signIn({ seq: 7 });
        expect(hasZeroMac(frame)).toBe(true);
        payloads.add(frame.payload.toString('hex'));
        t.cut();
      }
      expect([...payloads]).toEqual([encodePayload(MessageType.SIGN_IN_RESPONSE, emptyResponse(MessageType.SIGN_IN_RESPONSE, ResultCode.UNKNOWN_TERMINAL)).toString('hex')]);
    });

    it('moves the mark by at most MAX_SEQ_STEP: a sign-in or a PAY further ahead is SEQ_OUT_OF_RANGE, authenticated, nothing applied', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      const far = await t.signIn({ seq: MAX_SEQ_STEP + 1 });
      expect(far.response.result).toBe(ResultCode.SEQ_OUT_OF_RANGE);
      expect(far.response.lastSeq).toBe(0);
      expect(far.authenticated).toBe(true);
      expect(await hwm(terminal.terminalId)).toBe(0);
      // One forged answer used to be enough for this: a jump to the last number a terminal has.
      expect((await t.signIn({ seq: 0xffffffff })).response.result).toBe(ResultCode.SEQ_OUT_OF_RANGE);
      expect((await t.signIn({ seq: MAX_SEQ_STEP })).response.result).toBe(ResultCode.APPROVED);
      const pay = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { seq: 2 * MAX_SEQ_STEP + 1 });
      expect(pay.response.result).toBe(ResultCode.SEQ_OUT_OF_RANGE);
      expect(t.macValid(pay.frame)).toBe(true);
      expect(await floatFen(network)).toBe(FLOAT_FEN);
      expect(await hwm(terminal.terminalId)).toBe(MAX_SEQ_STEP);
      // A heartbeat that far ahead is not answered locally either: the guard refuses it.
      const heartbeat = await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: 2 * MAX_SEQ_STEP + 1 });
      expect(heartbeat.response.result).toBe(ResultCode.SEQ_OUT_OF_RANGE);
      expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN, { seq: MAX_SEQ_STEP + 1 })).response.result).toBe(ResultCode.APPROVED);
      t.cut();
    });

    it('answers a business frame before sign-in with NOT_SIGNED_IN and applies nothing', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      const { frame, response } = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 }, { macKey: terminal.key });
      expect(response.result).toBe(ResultCode.NOT_SIGNED_IN);
      expect(hasZeroMac(frame)).toBe(true);
      expect(await floatFen(network)).toBe(FLOAT_FEN);
      expect(await hwm(terminal.terminalId)).toBe(0);
      t.cut();
    });

    it('closes the older connection when the terminal signs in again (NOTICE SESSION_REPLACED)', async () => {
      const terminal = await network.addTerminal();
      const old = await gw.connect(terminal);
      expect((await old.signIn()).response.result).toBe(ResultCode.APPROVED);
      const fresh = await gw.connect(terminal, old.seq);
      expect((await fresh.signIn()).response.result).toBe(ResultCode.APPROVED);
      const notice = await old.read();
      expect(notice.type).toBe(MessageType.NOTICE);
      expect(old.macValid(notice)).toBe(true);
      expect(decodePayload(MessageType.NOTICE, notice.payload).reason).toBe(NoticeReason.SESSION_REPLACED);
      await old.closed;
      // The old connection's close did not remove the newer session (compare-and-delete).
      const heartbeat = await fresh.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN);
      expect(heartbeat.response.result).toBe(ResultCode.APPROVED);
      fresh.cut();
    });

    it('closes a connected terminal when an operator disables it (NOTICE TERMINAL_DISABLED), and refuses its sign-in', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
      await network.admin.disableTerminal(terminal.terminalId);
      const notice = await t.read();
      expect(notice.type).toBe(MessageType.NOTICE);
      expect(t.macValid(notice)).toBe(true);
      expect(decodePayload(MessageType.NOTICE, notice.payload)).toEqual({ reason: NoticeReason.TERMINAL_DISABLED, retryAfterSec: 600 });
      await t.closed;
      const again = await gw.connect(terminal, t.seq);
      expect((await again.signIn()).response.result).toBe(ResultCode.TERMINAL_DISABLED);
      again.cut();
      await network.admin.enableTerminal(terminal.terminalId);
      const enabled = await gw.connect(terminal, again.seq);
      expect((await enabled.signIn()).response.result).toBe(ResultCode.APPROVED);
      enabled.cut();
    });

    it('a connection that missed its kick hears TERMINAL_DISABLED on its next request, then the NOTICE', async () => {
      const terminal = await network.addTerminal();
      const t = await gw.connect(terminal);
      expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
      // What disableTerminal writes, without the kick it publishes.
      await network.client.hset(keys.terminal(MERCHANT, terminal.terminalId), 'status', 'disabled');
      await network.client.del(keys.session(MERCHANT, terminal.terminalId));
      const inquiry = await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! });
      expect(inquiry.response.result).toBe(ResultCode.TERMINAL_DISABLED);
      const notice = await t.read();
      expect(decodePayload(MessageType.NOTICE, notice.payload).reason).toBe(NoticeReason.TERMINAL_DISABLED);
      await t.closed;
    });

    it('a connection that signs in as another terminal ends the first terminal\'s session', async () => {
      const first = await network.addTerminal();
      const second = await network.addTerminal();
      const t = await gw.connect(first);
      expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
      expect(await network.client.exists(keys.session(MERCHANT, first.terminalId))).toBe(1);
      t.sendRaw(t.encode(MessageType.SIGN_IN, encodePayload(MessageType.SIGN_IN, { nonce: Buffer.alloc(16, 3), firmware: 'X' }),
        { terminalId: second.terminalId, macKey: second.key, seq: 1 }));
      expect(decodePayload(MessageType.SIGN_IN_RESPONSE, (await t.read()).payload).result).toBe(ResultCode.APPROVED);
      await waitFor(async () => (await network.client.exists(keys.session(MERCHANT, first.terminalId))) === 0);
      expect(await network.client.exists(keys.session(MERCHANT, second.terminalId))).toBe(1);
      t.cut();
    });
  });

  async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
});
