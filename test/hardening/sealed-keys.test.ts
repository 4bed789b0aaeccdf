/**
 * Sealed terminal keys are bound to where they belong (issue 13 finding 7), played as someone with
 * write access to Redis: a sealed key copied onto another terminal's record (another merchant's,
 * whose float it would pay from) or an old sealed key restored after a rotation must not unseal,
 * so neither terminal key signs in there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/store/keys.js';
import { seedMerchant, startNetwork, type Network } from '../core/network.js';

let net: Network;

beforeAll(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'RICH', 10_000_000, ['RICH0001', 'RICH0002']);
  await seedMerchant(net.admin, 'THIEF', 0, ['THIEF001']);
});
afterAll(() => net.stop());

const sealedKey = (merchant: string, terminal: string) => net.redis.hget(keys.terminal(merchant, terminal), 'keyEnc');

describe('a sealed terminal key', () => {
  it('unseals on its own record', async () => {
    expect(await net.sessions.lookupTerminal('RICH0001')).toMatchObject({ merchantId: 'RICH', terminalActive: true });
  });

  it("copied onto another merchant's terminal record does not unseal: the thief's key cannot sign in there", async () => {
    await net.redis.hset(keys.terminal('RICH', 'RICH0002'), 'keyEnc', (await sealedKey('THIEF', 'THIEF001'))!);
    expect(await net.sessions.lookupTerminal('RICH0002')).toBeNull();
    // The same with the key version set to match the copied blob's.
    await net.redis.hset(keys.terminal('RICH', 'RICH0002'), 'keyVersion', 1);
    expect(await net.sessions.lookupTerminal('RICH0002')).toBeNull();
  });

  it("copied onto another terminal of the same merchant does not unseal either", async () => {
    const { key } = await net.admin.addTerminal('RICH0003', 'RICH');
    await net.redis.hset(keys.terminal('RICH', 'RICH0003'), 'keyEnc', (await sealedKey('RICH', 'RICH0001'))!);
    expect(await net.sessions.lookupTerminal('RICH0003')).toBeNull();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('restored from before a rotation does not unseal: the rotation cannot be undone', async () => {
    const old = (await sealedKey('RICH', 'RICH0001'))!;
    const rotated = await net.admin.rotateTerminalKey('RICH0001');
    expect(rotated.keyVersion).toBe(2);
    expect((await net.sessions.lookupTerminal('RICH0001'))?.key.toString('hex')).toBe(rotated.key);
    await net.redis.hset(keys.terminal('RICH', 'RICH0001'), 'keyEnc', old);
    expect(await net.sessions.lookupTerminal('RICH0001')).toBeNull();
  });

  it('restored whole (sealed key and key version) from before a rotation: verify names the terminal, its record older than its journaled rotate-key', async () => {
    const { key: oldKey } = await net.admin.addTerminal('RICH0009', 'RICH');
    const record = keys.terminal('RICH', 'RICH0009');
    const before = await net.redis.hgetall(record);
    const rotated = await net.admin.rotateTerminalKey('RICH0009');
    expect((await net.admin.verify()).discrepancies.filter((d) => d.includes('RICH0009'))).toEqual([]);
    // The whole record put back: the old blob unseals again under the old version's associated data.
    await net.redis.hset(record, before);
    expect((await net.sessions.lookupTerminal('RICH0009'))?.key.toString('hex')).toBe(oldKey);
    const found = (await net.admin.verify()).discrepancies;
    expect(found).toContainEqual(expect.stringMatching(/^terminal RICH0009: its key record is at version 1, older than its rotation to version 2 journaled in entry \S+: rolled back/));
    expect(rotated.keyVersion).toBe(2);
  });

  it('rotates under concurrent rotations: each one seals for the version it creates', async () => {
    const results = await Promise.all([1, 2, 3].map(() => net.admin.rotateTerminalKey('THIEF001')));
    expect(results.map((r) => r.keyVersion).sort()).toEqual([2, 3, 4]);
    const last = results.find((r) => r.keyVersion === 4)!;
    expect((await net.sessions.lookupTerminal('THIEF001'))?.key.toString('hex')).toBe(last.key);
  });
});

describe('the session record', () => {
  it('holds no session key, sealed or not: only the connection that signed in needs it', async () => {
    await net.sessions.openSession({ terminalId: 'THIEF001', merchantId: 'THIEF', seq: 1, connectionId: 'c1', instanceId: 'i1', peer: 'p', now: Date.now(), ttlSec: 60, firmware: 'TEST-1' });
    expect(Object.keys(await net.redis.hgetall(keys.session('THIEF', 'THIEF001'))).sort()).toEqual(['conn', 'instance', 'lastSeen', 'peer', 'signedInAt', 'ttl']);
  });
});
