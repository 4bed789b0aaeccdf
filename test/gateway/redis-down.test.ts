/**
 * Redis unreachable: requests are answered SYSTEM_BUSY (MACed, nothing applied), the connection
 * and the process stay up, and service resumes when Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/index.js';
import { ACCOUNTS, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

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

describe('Redis down', () => {
  it('answers SYSTEM_BUSY while Redis is away and serves again once it is back', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    const inquiry = { account: ACCOUNTS[0]! };

    await network.redis.stop({ keepData: true });
    const busy = await t.request(MessageType.INQUIRY, inquiry);
    expect(busy.response.result).toBe(ResultCode.SYSTEM_BUSY);
    expect(t.macValid(busy.frame)).toBe(true);
    expect(t.isClosed).toBe(false);

    network.redis = await network.redis.restart();
    let answer = busy;
    for (let attempt = 0; attempt < 50 && answer.response.result !== ResultCode.APPROVED; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await t.request(MessageType.INQUIRY, inquiry);
    }
    expect(answer.response.result).toBe(ResultCode.APPROVED);
    t.cut();
  });
});
