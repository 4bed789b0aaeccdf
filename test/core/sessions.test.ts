/** Sign-in, the last-sign-in-wins rule, the replay guard and the read-only requests. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode, TransactionState } from '../../protocol/constants.js';
import { HEALTH_UNKNOWN } from '../../protocol/index.js';
import { createCore } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from './network.js';

let net: Network;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'M1', 1_000_000, ['T0000001', 'T0000002']);
  await seedMerchant(net.admin, 'M2', 1_000_000, ['T0000009']);
  await seedAccounts(net.admin, [
    { account: '1000000001', name: '王小明', arrearsFen: 12_345, periods: [[202609, 10_000], [202610, 2_345]] },
    { account: '1000000002', name: 'Li', arrearsFen: 500, status: 'closed' },
  ]);
});
afterAll(() => net.stop());

describe('lookupTerminal', () => {
  it('finds the merchant, the clear key and both statuses', async () => {
    const record = await net.sessions.lookupTerminal('T0000001');
    expect(record).toMatchObject({ terminalId: 'T0000001', merchantId: 'M1', terminalActive: true, merchantActive: true });
    expect(record?.key).toHaveLength(32);
    expect(await net.sessions.lookupTerminal('T9999999')).toBeNull();
  });

  it('finds no usable terminal when its key does not unseal under the master key', async () => {
    const { sessions } = await createCore({ redis: net.redis, masterKey: randomBytes(32) });
    expect(await sessions.lookupTerminal('T0000001')).toBeNull();
  });

  it('counts bad MACs against the terminal', async () => {
    await net.sessions.countBadMac('T0000002', 'M1');
    await net.sessions.countBadMac('T0000002', 'M1');
    expect(await net.redis.hget(keys.terminal('M1', 'T0000002'), 'badMacs')).toBe('2');
  });
});

describe('openSession', () => {
  it('approves a new sequence number and refuses an old one with the last one accepted', async () => {
    const t = new TerminalSession(net, 'T0000001', 'M1');
    expect(await t.signIn(5)).toEqual({ result: ResultCode.APPROVED, lastSeq: 5, replaced: null });
    const again = new TerminalSession(net, 'T0000001', 'M1');
    expect(await again.signIn(5)).toEqual({ result: ResultCode.REPLAY, lastSeq: 5, replaced: null });
    expect(await again.signIn(3)).toEqual({ result: ResultCode.REPLAY, lastSeq: 5, replaced: null });
  });

  it('lets the last sign-in win and names the connection it replaced', async () => {
    const first = new TerminalSession(net, 'T0000001', 'M1');
    await first.signIn(100);
    const second = first.reconnect();
    const opened = await second.signIn();
    expect(opened.result).toBe(ResultCode.APPROVED);
    expect(opened.replaced).toEqual({ instanceId: 'test', connectionId: first.connectionId });
    // The old connection's requests are refused, and its close does not remove the new session.
    expect((await first.heartbeat()).response.result).toBe(ResultCode.SESSION_REPLACED);
    expect(await net.sessions.closeSession('T0000001', 'M1', first.connectionId)).toBe(false);
    expect((await second.heartbeat()).response.result).toBe(ResultCode.APPROVED);
    expect(await net.sessions.closeSession('T0000001', 'M1', second.connectionId)).toBe(true);
    expect((await second.heartbeat()).response.result).toBe(ResultCode.SESSION_REPLACED);
  });

  it('refuses unknown and disabled terminals and merchants', async () => {
    await seedMerchant(net.admin, 'M3', 0, ['T0000031', 'T0000032']);
    const unknown = new TerminalSession(net, 'T0000033', 'M3');
    expect((await unknown.signIn(1)).result).toBe(ResultCode.UNKNOWN_TERMINAL);
    await net.admin.disableTerminal('T0000031');
    expect((await new TerminalSession(net, 'T0000031', 'M3').signIn(1)).result).toBe(ResultCode.TERMINAL_DISABLED);
    const t32 = new TerminalSession(net, 'T0000032', 'M3');
    await t32.signIn(1);
    await net.admin.disableMerchant('M3');
    expect((await new TerminalSession(net, 'T0000032', 'M3').signIn(2)).result).toBe(ResultCode.MERCHANT_DISABLED);
    // A session opened before the merchant was disabled is refused on its next request.
    expect((await t32.heartbeat()).response.result).toBe(ResultCode.MERCHANT_DISABLED);
    const record = await net.sessions.lookupTerminal('T0000031');
    expect(record).toMatchObject({ terminalActive: false, merchantActive: false });
  });

  it('stores no session key (only the signed-in connection holds it) and gives the session an expiry', async () => {
    const t = new TerminalSession(net, 'T0000002', 'M1');
    await t.signIn(1);
    const session = await net.redis.hgetall(keys.session('M1', 'T0000002'));
    expect(session.conn).toBe(t.connectionId);
    expect(session.keyEnc).toBeUndefined();
    expect(await net.redis.ttl(keys.session('M1', 'T0000002'))).toBeGreaterThan(500);
  });
});

describe('read-only requests', () => {
  it('heartbeat returns server time and refreshes the session', async () => {
    const t = new TerminalSession(net, 'T0000002', 'M1');
    await t.signIn();
    await net.redis.expire(keys.session('M1', 'T0000002'), 5);
    // Within a second of the last request the session is not written again (a payment burst costs less).
    await net.core.heartbeat(t.ctx(2, HEALTH_UNKNOWN));
    expect(await net.redis.ttl(keys.session('M1', 'T0000002'))).toBeLessThanOrEqual(5);
    const now = Date.now() + 2_000;
    const beat = await net.core.heartbeat(t.ctx(2, HEALTH_UNKNOWN, { now }));
    expect(beat).toEqual({ response: { result: ResultCode.APPROVED, serverTime: Math.floor(now / 1000) }, replayed: false });
    expect(await net.redis.ttl(keys.session('M1', 'T0000002'))).toBeGreaterThan(500);
    expect(await net.redis.hget(keys.session('M1', 'T0000002'), 'lastSeen')).toBe(String(now));
  });

  it('inquiry masks the holder name and lists the bill periods; unknown and closed accounts have their codes', async () => {
    const t = new TerminalSession(net, 'T0000009', 'M2');
    await t.signIn();
    expect((await t.inquiry('1000000001')).response).toEqual({
      result: ResultCode.APPROVED,
      arrearsFen: 12_345,
      holderName: '王*明',
      periods: [
        { period: 202609, amountFen: 10_000 },
        { period: 202610, amountFen: 2_345 },
      ],
    });
    expect((await t.inquiry('1000000009')).response).toMatchObject({ result: ResultCode.UNKNOWN_ACCOUNT, holderName: '' });
    expect((await t.inquiry('1000000002')).response).toMatchObject({ result: ResultCode.ACCOUNT_CLOSED, arrearsFen: 0 });
  });

  it('answers a repeat of a read-only request afresh, and refuses the same number with another body', async () => {
    const t = new TerminalSession(net, 'T0000009', 'M2');
    await t.signIn();
    const first = await t.inquiry('1000000001');
    const repeat = await t.inquiry('1000000001', { seq: t.seq });
    expect(repeat).toEqual(first);
    expect((await t.inquiry('1000000002', { seq: t.seq })).response.result).toBe(ResultCode.REPLAY);
    expect((await t.heartbeat({ seq: t.seq - 5 })).response.result).toBe(ResultCode.REPLAY);
  });

  it('status of a sequence number that carried no transaction is NOT_FOUND', async () => {
    const t = new TerminalSession(net, 'T0000009', 'M2');
    await t.signIn();
    await t.heartbeat();
    const outcome = await t.status(t.seq);
    expect(outcome.response).toEqual({ result: ResultCode.APPROVED, state: TransactionState.NOT_FOUND, original: null });
    expect((await t.status(999_999)).response.state).toBe(TransactionState.NOT_FOUND);
  });

  it('sign-out removes the session; the connection is then refused', async () => {
    const t = new TerminalSession(net, 'T0000009', 'M2');
    await t.signIn();
    expect((await t.signOut()).response.result).toBe(ResultCode.APPROVED);
    expect(await net.redis.exists(keys.session('M2', 'T0000009'))).toBe(0);
    expect((await t.heartbeat()).response.result).toBe(ResultCode.SESSION_REPLACED);
  });
});
