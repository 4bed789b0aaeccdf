/**
 * Heartbeats answered by the gateway alone never refresh the session in Redis, so the session
 * record must outlive that window (idle timeout, the guard's refresh throttle, one heartbeat),
 * and an answer in which the guard refused the session must not let later heartbeats be
 * approved locally. Real Redis, real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_UNKNOWN, MessageType, ResultCode } from '../../protocol/index.js';
import { SESSION_REFRESH_MS } from '../../src/core/index.js';
import { keys } from '../../src/store/keys.js';
import { ACCOUNTS, MERCHANT, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

let network: Network;
let gw: RunningGateway;

beforeAll(async () => {
  network = await startNetwork();
  gw = await startGateway(network, { limits: { heartbeatSec: 2, idleTimeoutMs: 2500 } });
});
afterAll(async () => {
  await gw?.stop();
  await network?.stop();
});

describe('session expiry', () => {
  it('gives the session record a TTL covering the idle timeout, the refresh throttle and one heartbeat', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    const ttl = await network.client.hget(keys.session(MERCHANT, terminal.terminalId), 'ttl');
    // ceil((2500 + 1000) / 1000) + 2 = 6; without the refresh throttle it would be 5.
    expect(SESSION_REFRESH_MS).toBe(1000);
    expect(ttl).toBe('6');
    t.cut();
  });
});

describe('heartbeats after a refusal', () => {
  it('sends the heartbeat after MERCHANT_DISABLED to the core, which refuses it too', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    // Confirmed by the core just now: without the fix the next heartbeat would be approved locally.
    expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.APPROVED);
    await network.admin.disableMerchant(MERCHANT);
    try {
      expect((await t.request(MessageType.INQUIRY, { account: ACCOUNTS[0]! })).response.result).toBe(ResultCode.MERCHANT_DISABLED);
      expect((await t.request(MessageType.HEARTBEAT, HEALTH_UNKNOWN)).response.result).toBe(ResultCode.MERCHANT_DISABLED);
    } finally {
      await network.admin.enableMerchant(MERCHANT);
      t.cut();
    }
  });
});
