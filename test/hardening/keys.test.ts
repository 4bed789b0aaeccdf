/**
 * Keys at rest and key rotation (issue 6 "Security"): terminal keys are stored
 * only sealed under the master key, so neither a DUMP of any Redis key nor the AOF file on disk
 * holds one in clear; and a terminal's key rotates with no downtime for the other terminals.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode, hasZeroMac } from '../../protocol/index.js';
import { keys } from '../../src/store/keys.js';
import { ACCOUNTS, MASTER_KEY, MERCHANT, floatFen, startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';

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

/** The byte strings a clear key could be stored as. */
function forms(key: Buffer): Buffer[] {
  return [key, Buffer.from(key.toString('hex')), Buffer.from(key.toString('hex').toUpperCase()), Buffer.from(key.toString('base64'))];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('keys at rest', () => {
  it('no terminal key, session key or the master key in clear in any Redis value (DUMP, HGETALL) or in the AOF on disk', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect((await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 100 })).response.result).toBe(ResultCode.APPROVED);
    const rotated = await network.admin.rotateTerminalKey(terminal.terminalId);
    const secrets = [terminal.key, t.sessionKey!, Buffer.from(rotated.key, 'hex'), MASTER_KEY];

    // The terminal's record holds the key sealed, and the session its key sealed: present, not clear.
    const record = await network.client.hgetall(keys.terminal(MERCHANT, terminal.terminalId));
    expect(record.keyEnc).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(record.keyEnc!, 'base64').length).toBeGreaterThan(32);
    const session = await network.client.hgetall(keys.session(MERCHANT, terminal.terminalId));
    expect(Object.keys(session).length).toBeGreaterThan(0);

    const dumps: Array<{ key: string; bytes: Buffer }> = [];
    for (const key of await network.client.keys('*')) {
      const dumped = await network.client.dumpBuffer(key);
      if (dumped !== null) dumps.push({ key, bytes: dumped });
      if ((await network.client.type(key)) === 'hash') {
        dumps.push({ key: `${key} (HGETALL)`, bytes: Buffer.from(JSON.stringify(await network.client.hgetall(key))) });
      }
    }
    expect(dumps.some((d) => d.key === keys.terminal(MERCHANT, terminal.terminalId))).toBe(true);
    await network.client.call('BGREWRITEAOF').catch(() => undefined); // the rewritten AOF, too
    await sleep(300);
    const files = filesUnder(network.redis.dir).map((path) => ({ key: path, bytes: readFileSync(path) }));
    expect(files.some((f) => f.bytes.includes(Buffer.from(terminal.terminalId)))).toBe(true); // the AOF holds the data

    const found: string[] = [];
    for (const { key, bytes } of [...dumps, ...files]) {
      secrets.forEach((secret, i) => forms(secret).forEach((form, j) => {
        if (bytes.includes(form)) found.push(`secret ${i} (form ${j}) in ${key}`);
      }));
    }
    expect(found).toEqual([]);
    t.cut();
  });
});

describe('key rotation', () => {
  it('terminal A rotates while B keeps paying on its open connection; A\'s old key is refused afterwards, the new one signs in', async () => {
    const terminalA = await network.addTerminal();
    const terminalB = await network.addTerminal();
    const a = await gw.connect(terminalA);
    const b = await gw.connect(terminalB);
    expect((await a.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect((await b.signIn()).response.result).toBe(ResultCode.APPROVED);
    const before = await floatFen(network);

    // B pays without pause on one connection while A's key is rotated in the middle.
    let paying = true;
    let bPaid = 0;
    const bLoop = (async () => {
      while (paying) {
        const { response } = await b.request(MessageType.PAY, { account: ACCOUNTS[1]!, amountFen: 1 });
        expect(response.result).toBe(ResultCode.APPROVED);
        bPaid += 1;
      }
    })();
    await sleep(100);
    const paidBeforeRotation = bPaid;
    const rotated = await network.admin.rotateTerminalKey(terminalA.terminalId);
    const newKey = Buffer.from(rotated.key, 'hex');
    expect(newKey.equals(terminalA.key)).toBe(false);
    // A's open session carries on until it signs in again (documented: rotate-key).
    expect((await a.request(MessageType.PAY, { account: ACCOUNTS[1]!, amountFen: 10 })).response.result).toBe(ResultCode.APPROVED);
    a.cut();

    // The old key no longer signs in; the new one does, on a new connection.
    const old = await gw.connect(terminalA, a.seq);
    const refused = await old.signIn();
    expect(refused.response.result).toBe(ResultCode.UNKNOWN_TERMINAL);
    expect(hasZeroMac(refused.frame)).toBe(true);
    old.cut();
    const fresh = await gw.connect({ terminalId: terminalA.terminalId, key: newKey }, old.seq);
    expect((await fresh.signIn()).response.result).toBe(ResultCode.APPROVED);
    expect((await fresh.request(MessageType.PAY, { account: ACCOUNTS[1]!, amountFen: 10 })).response.result).toBe(ResultCode.APPROVED);
    fresh.cut();

    await sleep(100);
    paying = false;
    await bLoop;
    // B never reconnected and was never refused: payments before, during and after the rotation.
    expect(b.isClosed).toBe(false);
    expect(paidBeforeRotation).toBeGreaterThan(0);
    expect(bPaid).toBeGreaterThan(paidBeforeRotation);
    expect(await floatFen(network)).toBe(before - bPaid - 20);
    b.cut();
  });
});
