/** The operator API against a real redis-server: what the other engineers use to seed data. */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminErrorCode, createAdmin, type Admin } from '../../src/admin/index.js';
import { keys } from '../../src/store/keys.js';
import { DEMO_MASTER_KEY, unseal } from '../../src/store/secrets.js';
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
    expect(unseal(DEMO_MASTER_KEY, hash.keyEnc!).toString('hex')).toBe(provisioned.key);
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
    expect(unseal(DEMO_MASTER_KEY, hash.keyEnc!).toString('hex')).toBe(rotated.key);
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

describe('accounts import', () => {
  it('imports accounts with optional status and periods', async () => {
    const csv = [
      'account,name,arrears,status,periods',
      '0000000001,Zhang San,200.00,open,202609:120;202610:80.00',
      '0000000002,"Li, Si",0,closed,',
      '0000000003,王小明,35.5,,',
    ].join('\r\n');
    expect(await admin.importAccounts(csv)).toEqual({ imported: 3, unchanged: 0 });
    expect(await admin.showAccount('0000000001')).toEqual({
      account: '0000000001',
      name: 'Zhang San',
      status: 'open',
      arrearsFen: 20_000,
      periods: [
        { period: 202609, amountFen: 12_000 },
        { period: 202610, amountFen: 8_000 },
      ],
    });
    expect(await admin.showAccount('0000000002')).toMatchObject({ name: 'Li, Si', status: 'closed', arrearsFen: 0 });
    expect(await admin.showAccount('0000000003')).toMatchObject({ name: '王小明', status: 'open', arrearsFen: 3_550 });
    expect(await redis.sismember(keys.accounts(), '0000000003')).toBe(1);
  });

  it('reports every bad row by line number and imports nothing', async () => {
    const csv = [
      'account,name,arrears',
      '1000000001,Good Row,10',
      '12345,Short Number,10',
      '1000000003,Bad Amount,1.234',
      '1000000004,,5',
      '1000000001,Duplicate,5',
      '1000000006,Too,Many,Fields',
    ].join('\n');
    const error = await admin.importAccounts(csv).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: AdminErrorCode.CSV });
    const details = (error as { details: string[] }).details;
    expect(details.map((d) => /^line (\d+)/.exec(d)?.[1])).toEqual(['3', '4', '5', '6', '7']);
    expect(details[4]).toContain('4 fields');
    expect(await redis.exists(keys.account('1000000001'))).toBe(0);
  });

  it('checks the header and the periods', async () => {
    await rejectsWith(admin.importAccounts(''), AdminErrorCode.CSV);
    await rejectsWith(admin.importAccounts('account,name\n0000000001,x'), AdminErrorCode.CSV);
    await rejectsWith(admin.importAccounts('account,name,arrears,colour\n0000000001,x,1,red'), AdminErrorCode.CSV);
    const error = (await admin
      .importAccounts('account,name,arrears,periods\n2000000001,x,10,202609:5;202613:5\n2000000002,y,10,202609:4;202610:5')
      .catch((e: unknown) => e)) as { details: string[] };
    expect(error.details).toEqual([expect.stringMatching(/^line 2: period "202613:5"/), expect.stringMatching(/^line 3: periods add up to 9.00/)]);
  });
});
