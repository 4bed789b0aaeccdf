/** The operator API against a real redis-server: what the other engineers use to seed data. */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminErrorCode, createAdmin, type Admin } from '../../src/admin/index.js';
import { keys } from '../../src/store/keys.js';
import { DEMO_MASTER_KEY, terminalKeyAad, unseal } from '../../src/store/secrets.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

let server: RedisProcess;
let redis: Redis;
let admin: Admin;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  admin = createAdmin({ redis, masterKey: DEMO_MASTER_KEY, operator: 'test' });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  expect(promise).rejects.toMatchObject({ code });

describe('merchants', () => {
  it('adds, shows, lists and disables a merchant', async () => {
    const added = await admin.addMerchant('shop-1', 'Village Store No. 1');
    expect(added).toMatchObject({ id: 'shop-1', status: 'active', floatFen: 0 });
    expect(await admin.showMerchant('shop-1')).toMatchObject({ name: 'Village Store No. 1', floatFen: 0, terminals: [] });
    expect((await admin.listMerchants()).map((m) => m.id)).toContain('shop-1');
    await admin.disableMerchant('shop-1');
    expect((await admin.showMerchant('shop-1')).status).toBe('disabled');
    expect(await redis.hget(keys.merchant('shop-1'), 'status')).toBe('disabled');
    expect((await admin.enableMerchant('shop-1')).status).toBe('active');
    expect(await redis.hget(keys.merchant('shop-1'), 'status')).toBe('active');
  });

  it('never overwrites an existing merchant or its float', async () => {
    await admin.addMerchant('shop-2', 'Second');
    await admin.topUp('shop-2', 500);
    await rejectsWith(admin.addMerchant('shop-2', 'Impostor'), AdminErrorCode.EXISTS);
    expect(await admin.showMerchant('shop-2')).toMatchObject({ name: 'Second', floatFen: 500 });
  });

  it('refuses bad ids and names, and unknown merchants', async () => {
    await rejectsWith(admin.addMerchant('a:b', 'x'), AdminErrorCode.INVALID);
    await rejectsWith(admin.addMerchant('{tag}', 'x'), AdminErrorCode.INVALID);
    await rejectsWith(admin.addMerchant('ok', ' '), AdminErrorCode.INVALID);
    await rejectsWith(admin.showMerchant('nobody'), AdminErrorCode.NOT_FOUND);
    await rejectsWith(admin.disableMerchant('nobody'), AdminErrorCode.NOT_FOUND);
    await rejectsWith(admin.enableMerchant('nobody'), AdminErrorCode.NOT_FOUND);
    expect(await redis.exists(keys.merchant('nobody'))).toBe(0);
  });
});

describe('terminals', () => {
  it('stores the key sealed, returns it once, and indexes the terminal', async () => {
    await admin.addMerchant('shop-t', 'Terminal shop');
    const provisioned = await admin.addTerminal('T0000001', 'shop-t');
    expect(provisioned.key).toMatch(/^[0-9a-f]{64}$/);
    const hash = await redis.hgetall(keys.terminal('shop-t', 'T0000001'));
    expect(hash).toMatchObject({ status: 'active', keyVersion: '1', hwm: '0', merchant: 'shop-t' });
    expect(hash.keyEnc).not.toContain(provisioned.key);
    expect(unseal(DEMO_MASTER_KEY, hash.keyEnc!, terminalKeyAad('shop-t', 'T0000001', 1)).toString('hex')).toBe(provisioned.key);
    expect(await redis.get(keys.terminalMerchant('T0000001'))).toBe('shop-t');
    expect((await admin.showMerchant('shop-t')).terminals).toEqual(['T0000001']);
    const listed = await admin.listTerminals();
    expect(listed.find((t) => t.terminalId === 'T0000001')).toEqual(expect.objectContaining({ merchantId: 'shop-t', status: 'active' }));
    expect(JSON.stringify(listed)).not.toContain(provisioned.key);
  });

  it('takes a given key, refuses duplicates across merchants', async () => {
    await admin.addMerchant('shop-u', 'Other shop');
    const key = Buffer.alloc(32, 7);
    expect((await admin.addTerminal('T0000002', 'shop-t', key)).key).toBe(key.toString('hex'));
    await rejectsWith(admin.addTerminal('T0000002', 'shop-u'), AdminErrorCode.EXISTS);
    await rejectsWith(admin.addTerminal('T0000002', 'shop-t'), AdminErrorCode.EXISTS);
    await rejectsWith(admin.addTerminal('T0000003', 'nobody'), AdminErrorCode.NOT_FOUND);
    await rejectsWith(admin.addTerminal('t0000003', 'shop-t'), AdminErrorCode.INVALID);
  });

  it('needs the master key to add or rotate', async () => {
    const keyless = createAdmin({ redis });
    await rejectsWith(keyless.addTerminal('T0000009', 'shop-t'), AdminErrorCode.MASTER_KEY);
    await rejectsWith(keyless.rotateTerminalKey('T0000001'), AdminErrorCode.MASTER_KEY);
  });

  it('rotates one key without touching the session or other terminals', async () => {
    await redis.hset(keys.session('shop-t', 'T0000001'), 'conn', 'c1');
    const before2 = await redis.hget(keys.terminal('shop-t', 'T0000002'), 'keyEnc');
    const rotated = await admin.rotateTerminalKey('T0000001');
    expect(rotated.keyVersion).toBe(2);
    const hash = await redis.hgetall(keys.terminal('shop-t', 'T0000001'));
    expect(unseal(DEMO_MASTER_KEY, hash.keyEnc!, terminalKeyAad('shop-t', 'T0000001', 2)).toString('hex')).toBe(rotated.key);
    expect(await redis.hget(keys.session('shop-t', 'T0000001'), 'conn')).toBe('c1');
    expect(await redis.hget(keys.terminal('shop-t', 'T0000002'), 'keyEnc')).toBe(before2);
  });

  it('disables a terminal, ends its session and tells its gateway instance to close it', async () => {
    await redis.hset(keys.session('shop-t', 'T0000002'), { conn: 'c2', instance: 'gw-a' });
    const listener = redis.duplicate();
    const kicked = new Promise<[string, string]>((resolve) => listener.on('message', (channel: string, message: string) => resolve([channel, message])));
    await listener.subscribe(keys.kickChannel('gw-a'));
    expect((await admin.disableTerminal('T0000002')).status).toBe('disabled');
    expect(await redis.exists(keys.session('shop-t', 'T0000002'))).toBe(0);
    expect(await kicked).toEqual([keys.kickChannel('gw-a'), 'disabled c2']);
    listener.disconnect();
    await rejectsWith(admin.disableTerminal('ZZZZZZZZ'), AdminErrorCode.NOT_FOUND);
    expect((await admin.enableTerminal('T0000002')).status).toBe('active');
    expect(await redis.hget(keys.terminal('shop-t', 'T0000002'), 'status')).toBe('active');
    await rejectsWith(admin.enableTerminal('ZZZZZZZZ'), AdminErrorCode.NOT_FOUND);
  });
});

describe('float', () => {
  it('credits the float and journals the top-up in one step', async () => {
    await admin.addMerchant('shop-f', 'Float shop');
    const first = await admin.topUp('shop-f', 10_000);
    const second = await admin.topUp('shop-f', 2_550);
    expect(second.floatFen).toBe(12_550);
    expect((await admin.showMerchant('shop-f')).floatFen).toBe(12_550);
    const journal = await redis.xrange(keys.journal('shop-f'), '-', '+');
    expect(journal.map(([id]) => id)).toEqual([first.entry, second.entry]);
    const fields = Object.fromEntries(
      (journal[1]?.[1] ?? []).flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])),
    );
    expect(fields).toMatchObject({ kind: 'topup', amountFen: '2550', floatFen: '12550', day: String(admin.businessDay()) });
  });

  it('refuses unknown merchants, zero, fractions and a float past u32', async () => {
    await rejectsWith(admin.topUp('nobody', 100), AdminErrorCode.NOT_FOUND);
    await rejectsWith(admin.topUp('shop-f', 0), AdminErrorCode.AMOUNT);
    await rejectsWith(admin.topUp('shop-f', 1.5), AdminErrorCode.AMOUNT);
    await rejectsWith(admin.topUp('shop-f', 0xffffffff), AdminErrorCode.FLOAT_LIMIT);
    expect((await admin.showMerchant('shop-f')).floatFen).toBe(12_550);
    expect(await redis.xlen(keys.journal('shop-f'))).toBe(2);
  });
});
