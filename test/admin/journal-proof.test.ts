/**
 * Tamper-evident books (issue 13 finding 8), played as someone with write access to Redis but not
 * the master key: every attack writes Redis directly and keeps whatever it can consistent (the
 * float moved with the forged entry, the chain and the head recomputed, since the chain is a
 * keyless hash), and verify must still name it. A rollback to an older dump is consistent in
 * itself: only a checkpoint kept outside Redis finds it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAircharge } from '../helpers/cli.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { AdminErrorCode } from '../../src/admin/index.js';
import { HEAD_FIELDS, nextChain } from '../../src/store/journal.js';
import { keys } from '../../src/store/keys.js';
import { randomBytes } from 'node:crypto';
import { createAdmin } from '../../src/admin/index.js';
import { checkMasterKey } from '../../src/store/key-check.js';
import { MasterKeys } from '../../src/store/secrets.js';
import { MASTER_KEY, seedAccounts, seedMerchant, startNetwork, TerminalSession, type Network } from '../core/network.js';

let net: Network;
let dir: string;
/** M1's payments, oldest first. */
let receipts: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aircharge-journal-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  net = await startNetwork();
  await seedMerchant(net.admin, 'M1', 100_000, ['T1000001']);
  await seedMerchant(net.admin, 'M2', 50_000, []);
  await seedAccounts(net.admin, [{ account: '3000000001', name: 'Wang Wu', arrearsFen: 90_000 }]);
  const terminal = new TerminalSession(net, 'T1000001', 'M1');
  await terminal.signIn();
  receipts = [];
  for (const fen of [5_000, 7_000]) {
    const paid = await terminal.pay('3000000001', fen);
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    receipts.push(paid.response.receipt);
  }
  await net.admin.topUp('M1', 20_000);
  // M1: topup 1000.00, pay 50.00, pay 70.00, topup 200.00
});
afterEach(() => net.stop());

type Entry = [id: string, fields: string[]];

const journal = (m: string) => net.redis.xrange(keys.journal(m), '-', '+') as Promise<Entry[]>;
const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1];
function withField(fields: string[], name: string, value: string): string[] {
  const copy = [...fields];
  for (let i = 0; i + 1 < copy.length; i += 2) if (copy[i] === name) copy[i + 1] = value;
  return copy;
}
const problems = async () => (await net.admin.verify()).discrepancies;

/** What an attacker can do without the key: rewrite a stream with the same ids, the chain and head recomputed. */
async function rewrite(m: string, entries: Entry[]): Promise<void> {
  await net.redis.del(keys.journal(m));
  let chain = '';
  for (const [id, fields] of entries) {
    const at = fields.indexOf('chain');
    const body = at < 0 ? fields : [...fields.slice(0, at), ...fields.slice(at + 2)];
    const macAt = body.indexOf('mac');
    const derived = macAt < 0 ? [] : body.slice(macAt + 2);
    chain = nextChain(chain, macAt < 0 ? '' : body[macAt + 1]!, derived.flatMap((_, i) => (i % 2 === 0 ? [[derived[i]!, derived[i + 1]!] as const] : [])));
    await net.redis.xadd(keys.journal(m), id, ...body, 'chain', chain);
  }
  await net.redis.hset(keys.merchant(m), HEAD_FIELDS.id, entries.at(-1)?.[0] ?? '', HEAD_FIELDS.chain, chain, HEAD_FIELDS.count, entries.length);
}

/** Appends an entry as JOURNAL_APPEND would, chain and head included. */
async function append(m: string, fields: string[]): Promise<void> {
  const entries = await journal(m);
  await rewrite(m, [...entries, [`${Date.now() + 1000}-0`, fields]]);
}

describe('verify', () => {
  it('passes honest books, with every entry MACed and chained', async () => {
    expect(await net.admin.verify()).toMatchObject({ ok: true, discrepancies: [] });
    const entries = await journal('M1');
    expect(entries.map(([, f]) => field(f, 'kind'))).toEqual(['topup', 'pay', 'pay', 'topup']);
    for (const [, f] of entries) expect(field(f, 'mac')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('finds a forged top-up with a matching journal entry and float', async () => {
    const [lastId, last] = (await journal('M1')).at(-1)!;
    await append('M1', ['kind', 'topup', 'txn', '', 'terminal', '', 'amountFen', '500000', 'day', field(last, 'day')!,
      'ts', String(Date.now()), 'seen', lastId, 'mac', '0123456789abcdef0123456789abcdef', 'floatFen', '618000']);
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', 500_000);
    const found = await problems();
    expect(found).toEqual([expect.stringMatching(/^merchant M1: journal entry \S+ \(topup 500000 fen\): MAC does not verify/)]);
  });

  it('finds a genuine top-up copied to the end, and one copied to another merchant', async () => {
    const entries = await journal('M1');
    await append('M1', entries[3]![1]);
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', 20_000);
    await append('M2', entries[0]![1]);
    await net.redis.hincrby(keys.merchant('M2'), 'floatFen', 100_000);
    const found = await problems();
    expect(found).toContainEqual(expect.stringMatching(/^merchant M1: journal entry \S+ \(topup 20000 fen\) repeats entry /));
    expect(found).toContainEqual(expect.stringMatching(/^merchant M2: journal entry \S+ \(topup 100000 fen\)/));
    expect(found.filter((p) => !p.includes('journal'))).toEqual([]);
  });

  it('finds an edited amount, even with the chain, the head and the float made to match, and names that entry alone', async () => {
    const entries = await journal('M1');
    entries[0] = [entries[0]![0], withField(entries[0]![1], 'amountFen', '900000')];
    await rewrite('M1', entries);
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', 800_000);
    const found = await problems();
    // The chain hashes each entry's MAC, which the edit could not change: the entries after it still
    // vouch for the same chain, so the edit is named where it is and nowhere else.
    expect(found).toEqual([expect.stringMatching(/^merchant M1: journal entry \S+ \(topup 900000 fen\): MAC does not verify/)]);
  });

  it('finds a deleted entry: the chain breaks; with the chain recomputed, a later entry no longer vouches', async () => {
    const [payId] = (await journal('M1'))[1]!;
    await net.redis.xdel(keys.journal('M1'), payId);
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', 5_000);
    expect(await problems()).toContainEqual(expect.stringMatching(/^merchant M1: journal entry \S+ \(pay 7000 fen\): the chain breaks here/));

    await rewrite('M1', await journal('M1'));
    const found = await problems();
    expect(found.some((p) => p.includes('chain breaks'))).toBe(false);
    // The second payment was reserved after the first was journaled: its MAC vouches for that entry.
    expect(found).toContainEqual(`merchant M1: journal entry ${(await journal('M1'))[1]![0]} (pay 7000 fen) vouches for ${payId}, which is no earlier entry`);
  });

  it('finds reordered entries', async () => {
    const entries = await journal('M1');
    const swapped: Entry[] = [entries[0]!, [entries[1]![0], entries[2]![1]], [entries[2]![0], entries[1]![1]], entries[3]!];
    await rewrite('M1', swapped);
    expect(await problems()).toContainEqual(expect.stringMatching(/^merchant M1: journal entry \S+ \(pay 7000 fen\) vouches for \S+, which is no earlier entry/));
  });

  it('finds a float bumped behind the journal', async () => {
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', 1);
    expect(await problems()).toEqual([expect.stringMatching(/^merchant M1: float is 1,?080\.01 but /)]);
  });

  it('finds a field appended after an entry\'s chain', async () => {
    const entries = await journal('M1');
    const [id, fields] = entries.at(-1)!;
    await net.redis.del(keys.journal('M1'));
    for (const [i, f] of entries.slice(0, -1)) await net.redis.xadd(keys.journal('M1'), i, ...f);
    await net.redis.xadd(keys.journal('M1'), id, ...fields, 'floatFen', '999999');
    expect(await problems()).toEqual([expect.stringMatching(/^merchant M1: journal entry \S+ \(\S+ \d+ fen\) has fields after its chain/)]);
  });

  it('finds a head record that no longer matches its journal', async () => {
    await net.redis.hset(keys.merchant('M1'), HEAD_FIELDS.count, 3);
    expect(await problems()).toEqual([expect.stringMatching(/^merchant M1: journal head record \(\S+, 3 entries\) does not match the journal there/)]);
  });
});

describe('checkpoint', () => {
  it('holds each head and the totals per kind, and passes verify on unchanged books', async () => {
    const checkpoint = await net.admin.checkpointJournal();
    const [headId] = (await journal('M1')).at(-1)!;
    expect(checkpoint.merchants).toContainEqual({
      merchant: 'M1',
      id: headId,
      chain: expect.stringMatching(/^[0-9a-f]{40}$/),
      count: 4,
      totals: { topup: { count: 2, fen: 120_000 }, pay: { count: 2, fen: 12_000 } },
    });
    await net.admin.topUp('M2', 1_000);
    expect(await net.admin.verify({ checkpoint })).toMatchObject({ ok: true });
  });

  it('finds a rollback to an older dump, which verify alone cannot', async () => {
    const saved = ['M1', 'M2'].flatMap((m) => [keys.journal(m), keys.merchant(m)]);
    const dump = await Promise.all(saved.map((k) => net.redis.dumpBuffer(k)));
    await net.admin.topUp('M2', 30_000);
    const checkpoint = await net.admin.checkpointJournal();
    await Promise.all(saved.map((k, i) => net.redis.restore(k, 0, dump[i]!, 'REPLACE')));

    expect(await net.admin.verify()).toMatchObject({ ok: true });
    expect((await net.admin.verify({ checkpoint })).discrepancies).toEqual([
      'merchant M2: journal has 1 entries, fewer than the 2 at the checkpoint: rolled back to before it',
    ]);
  });

  it('finds the newest entries rewritten before the checkpoint, which no later entry vouches for', async () => {
    const checkpoint = await net.admin.checkpointJournal();
    const entries = await journal('M1');
    // The last top-up removed (a truncation, consistent in itself), then business goes on.
    await rewrite('M1', entries.slice(0, -1));
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', -20_000);
    await net.admin.topUp('M1', 20_000);
    expect(await net.admin.verify()).toMatchObject({ ok: true });
    expect((await net.admin.verify({ checkpoint })).discrepancies).toEqual([
      `merchant M1: journal no longer holds the checkpoint's entry ${entries.at(-1)![0]}: history before the checkpoint was rewritten`,
    ]);
  });

  it('refuses a checkpoint file altered or made under another key, and refuses to vouch for a tampered journal', async () => {
    const checkpoint = await net.admin.checkpointJournal();
    const altered = { ...checkpoint, merchants: checkpoint.merchants.map((m) => ({ ...m, count: m.count - 1 })) };
    expect(() => net.admin.readCheckpoint(JSON.stringify(altered))).toThrow(expect.objectContaining({ code: AdminErrorCode.CHECKPOINT }));
    expect(() => net.admin.readCheckpoint('{')).toThrow(expect.objectContaining({ code: AdminErrorCode.CHECKPOINT }));
    expect(net.admin.readCheckpoint(JSON.stringify(checkpoint))).toEqual(checkpoint);

    const [payId] = (await journal('M1'))[1]!;
    await net.redis.xdel(keys.journal('M1'), payId);
    await expect(net.admin.checkpointJournal()).rejects.toMatchObject({ code: AdminErrorCode.JOURNAL });
  });
});

// Several CLI processes each, on a shared machine: more than the default 30 s.
describe('master key versions', () => {
  it('after a rotation, an entry forged under the retired key is named by verify holding only the new key', async () => {
    await checkMasterKey(net.redis, MASTER_KEY);
    const NEW = randomBytes(32);
    const rotating = createAdmin({ redis: net.redis, masterKey: await checkMasterKey(net.redis, NEW, MASTER_KEY), operator: 'test' });
    expect(await rotating.rotateMasterKey()).toMatchObject({ from: 1, to: 2, finished: true, journals: { marked: 2 } });
    const newOnly = createAdmin({ redis: net.redis, masterKey: new MasterKeys({ version: 2, key: NEW }), operator: 'test' });
    expect(await newOnly.verify()).toMatchObject({ ok: true, discrepancies: [] });

    // Someone with Redis and the old key (leaked, hence the rotation): a top-up with its entry
    // MACed under version 1, chained and with the float moved, as an honest one would be.
    const oldOnly = createAdmin({ redis: net.redis, masterKey: MASTER_KEY, operator: 'test' });
    await oldOnly.topUp('M1', 99_900, { reference: 'forged' });
    const found = (await newOnly.verify()).discrepancies;
    expect(found).toContainEqual(expect.stringMatching(/^merchant M1: journal has 1 entry from \S+ on MACed under master key version 1, which verify was not given/));
    // A later entry under the new key vouches for the chain, not for the forged entry's MAC:
    // still named, since the entry itself is checked only by a key verify holds.
    expect(found).toHaveLength(1);
  });

  it('a checkpoint MACed under the previous version is read with that key given, and refused without it', async () => {
    await checkMasterKey(net.redis, MASTER_KEY);
    const before = await net.admin.checkpointJournal();
    const NEW = randomBytes(32);
    const both = await checkMasterKey(net.redis, NEW, MASTER_KEY);
    await createAdmin({ redis: net.redis, masterKey: both, operator: 'test' }).rotateMasterKey();
    const withBoth = createAdmin({ redis: net.redis, masterKey: both, operator: 'test' });
    expect(await withBoth.verify({ checkpoint: withBoth.readCheckpoint(JSON.stringify(before)) })).toMatchObject({ ok: true });
    const newOnly = createAdmin({ redis: net.redis, masterKey: new MasterKeys({ version: 2, key: NEW }), operator: 'test' });
    expect(() => newOnly.readCheckpoint(JSON.stringify(before))).toThrow(/master key version 1, which is not given/);
  });
});

describe('the CLI', () => {
  const aircharge = (args: string[]) => runAircharge(args, { REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex') });

  it('journal checkpoint --out writes a new file that verify --checkpoint reads', async () => {
    const file = join(dir, `checkpoint-${Date.now()}.json`);
    const taken = await aircharge(['journal', 'checkpoint', '--out', file]);
    expect(taken).toMatchObject({ code: 0, stdout: `checkpoint of 2 merchants, 5 journal entries written to ${file}: keep it outside Redis\n` });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'aircharge-journal-checkpoint/1' });
    expect(await aircharge(['journal', 'checkpoint', '--out', file])).toMatchObject({ code: 1, stderr: expect.stringContaining('EEXIST') });
    expect(await aircharge(['verify', '--checkpoint', file])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^verify: OK/) });

    const [lastId] = (await journal('M1')).at(-1)!;
    await net.redis.xdel(keys.journal('M1'), lastId);
    await net.redis.hincrby(keys.merchant('M1'), 'floatFen', -20_000);
    await rewrite('M1', await journal('M1'));
    const run = await aircharge(['verify', '--checkpoint', file, '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, discrepancies: [expect.stringContaining('rolled back to before it')] });

    const forged = join(dir, `forged-${Date.now()}.json`);
    writeFileSync(forged, readFileSync(file, 'utf8').replace('"count": 4', '"count": 3'));
    expect(await aircharge(['verify', '--checkpoint', forged])).toMatchObject({ code: 1, stderr: expect.stringContaining('does not verify under this master key') });
  }, 120_000);

  it('verify and top-ups need the master key', async () => {
    const run = (args: string[]) => runAircharge(args, { REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: '' });
    for (const args of [['verify'], ['float', 'topup', 'M1', '1'], ['journal', 'checkpoint']]) {
      expect(await run(args)).toMatchObject({ code: 1, stderr: expect.stringContaining('AIRCHARGE_MASTER_KEY is not set') });
    }
  }, 120_000);
});
