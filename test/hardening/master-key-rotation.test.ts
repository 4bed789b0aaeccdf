/**
 * `aircharge master-key rotate` end to end (issue 13 finding 7): real redis-server, the gateway and
 * the admin CLI as processes, simulator terminals over real sockets. A gateway holding the new key
 * and the previous one keeps approving payments while the rotation runs; afterwards a gateway with
 * only the new key serves every terminal, one with only the old key refuses to start, and verify
 * proves the whole journal (entries MACed under the retired key included) with the new key alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/constants.js';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { checkMasterKey } from '../../src/store/key-check.js';
import { keys } from '../../src/store/keys.js';
import { sealedVersion } from '../../src/store/secrets.js';
import { startGateway, type GatewayService } from '../../simulator/processes.js';
import { MemoryStateStore, SignInRefused, Terminal } from '../../simulator/terminal/index.js';
import { runAircharge } from '../helpers/cli.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const OLD = randomBytes(32);
const NEW = randomBytes(32);
const MERCHANT = 'rot-shop';
const ACCOUNT = '7700000001';
/** Terminals that pay throughout; the rest are provisioned so the rotation has work to do. */
const PAYING = 4;
const IDLE = 300;

let redis: RedisProcess;
let client: Redis;
let admin: Admin;
let work: string;
const terminalKeys = new Map<string, Buffer>();
const gateways: GatewayService[] = [];

const idOf = (i: number) => `RT${String(i).padStart(6, '0')}`;

function cli(args: string[], masterKey: Buffer, previous?: Buffer) {
  return runAircharge(args, {
    REDIS_URL: redis.url,
    AIRCHARGE_MASTER_KEY: masterKey.toString('hex'),
    AIRCHARGE_MASTER_KEY_PREVIOUS: previous?.toString('hex') ?? '',
    AIRCHARGE_OPERATOR: 'ops-alice',
  });
}

function gateway(name: string, masterKey: Buffer, previous?: Buffer): Promise<GatewayService> {
  return startGateway({
    redisUrl: redis.url,
    logFile: join(work, `${name}.log`),
    args: ['--connection-rate', '0', '--max-connections-per-address', '0', '--request-rate', '0'],
    env: { ...process.env, AIRCHARGE_MASTER_KEY: masterKey.toString('hex'), AIRCHARGE_MASTER_KEY_PREVIOUS: previous?.toString('hex') ?? '' },
  }).then((g) => {
    gateways.push(g);
    return g;
  });
}

function terminal(id: string, port: number): Terminal {
  return new Terminal({ terminalId: id, key: terminalKeys.get(id)!, gateway: { host: '127.0.0.1', port }, store: new MemoryStateStore(id), heartbeatSec: 0, responseTimeoutMs: 5000 });
}

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  work = mkdtempSync(join(tmpdir(), 'aircharge-rotation-'));
  // A network that has run under its first master key: version 1 registered, terminal keys, bill
  // seals and journal entries all under it.
  const held = await checkMasterKey(client, OLD);
  admin = createAdmin({ redis: client, masterKey: held, operator: 'test' });
  await admin.addMerchant(MERCHANT, 'Rotation shop');
  for (let i = 0; i < PAYING + IDLE; i += 1) terminalKeys.set(idOf(i), Buffer.from((await admin.addTerminal(idOf(i), MERCHANT)).key, 'hex'));
  await admin.topUp(MERCHANT, 10_000_000, { reference: 'bank-1' });
  await admin.importAccounts(`account,name,bill_id,period,amount,issue_date,status\n${ACCOUNT},Wang Wu,B1,202611,90000.00,2026-11-05,open\n`);
}, 120_000);

afterAll(async () => {
  for (const g of gateways) await g.stop();
  client?.disconnect();
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('master-key rotate', () => {
  it('runs online: signed-in terminals keep paying throughout; then the new key alone serves every terminal, the old key alone does not start, verify is clean', async () => {
    const staleRecord = keys.terminal(MERCHANT, idOf(PAYING));
    const stale = await client.hgetall(staleRecord);
    const before = await cli(['journal', 'checkpoint', '--out', join(work, 'before.json')], OLD);
    expect(before.stderr).toBe('');

    // Step 1 of the procedure: the gateway restarted with the new key and the previous one.
    const both = await gateway('both', NEW, OLD);
    const payers = Array.from({ length: PAYING }, (_, i) => terminal(idOf(i), both.port));
    for (const t of payers) expect((await t.signIn()).code).toBe(ResultCode.APPROVED);

    const answers: Array<{ code: number; at: number }> = [];
    let paying = true;
    const loops = payers.map(async (t) => {
      while (paying) {
        const answer = await t.pay(ACCOUNT, 1);
        answers.push({ code: answer.code, at: Date.now() });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const rotated = await cli(['master-key', 'rotate', '--json'], NEW, OLD);
    const ended = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    paying = false;
    await Promise.all(loops);
    for (const t of payers) t.close();

    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.stdout) as { from: number; to: number; finished: boolean; terminals: { resealed: number }; accounts: { resealed: number }; journals: { marked: number }; problems: string[] };
    expect(result).toMatchObject({ from: 1, to: 2, finished: true, terminals: { resealed: PAYING + IDLE }, accounts: { resealed: 1 }, journals: { marked: 1 }, problems: [] });
    // Every payment was approved, before, during and after the rotation.
    expect(answers.filter((a) => a.code !== ResultCode.APPROVED)).toEqual([]);
    expect(answers.filter((a) => a.at >= started && a.at <= ended).length).toBeGreaterThan(0);
    for (let i = 0; i < PAYING + IDLE; i += 1) {
      expect(sealedVersion((await client.hget(keys.terminal(MERCHANT, idOf(i)), 'keyEnc'))!).version).toBe(2);
    }

    // Audited with its operator.
    const audit = JSON.parse((await cli(['audit', 'list', '--action', 'master-key.rotate', '--json'], NEW)).stdout) as { entries: Array<{ operator: string; after: { version: number; finished: boolean } }> };
    expect(audit.entries[0]).toMatchObject({ operator: 'ops-alice', after: { version: 2, finished: true } });

    // Run again: nothing left to move, and nothing moved.
    const again = JSON.parse((await cli(['master-key', 'rotate', '--json'], NEW, OLD)).stdout) as typeof result & { terminals: { already: number }; journals: { already: number } };
    expect(again).toMatchObject({ finished: true, terminals: { resealed: 0, already: PAYING + IDLE }, accounts: { resealed: 0 }, journals: { marked: 0, already: 1 } });
    await both.stop();

    // Only the new key: every terminal signs in (a sample of the idle ones too) and pays.
    const onlyNew = await gateway('only-new', NEW);
    for (const id of [...Array.from({ length: PAYING }, (_, i) => idOf(i)), idOf(PAYING), idOf(PAYING + IDLE - 1)]) {
      const t = terminal(id, onlyNew.port);
      expect((await t.signIn()).code).toBe(ResultCode.APPROVED);
      expect((await t.pay(ACCOUNT, 2)).code).toBe(ResultCode.APPROVED);
      t.close();
    }

    // Only the old key: refused at start, by the key check.
    await expect(gateway('only-old', OLD)).rejects.toThrow(/exited with 1/);
    expect(readFileSync(join(work, 'only-old.log'), 'utf8')).toContain('retired by a rotation to version 2');
    const oldCli = await cli(['verify'], OLD);
    expect(oldCli.code).toBe(1);
    expect(oldCli.stderr).toContain('retired');

    // verify with the new key alone proves the whole journal: the entries MACed under version 1
    // through the rotation's entry, the rest under version 2.
    const verified = await cli(['verify', '--json'], NEW);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, discrepancies: [] });
    expect(verified.code).toBe(0);
    // The checkpoint taken before the rotation still verifies, given the key it is MACed under.
    const againstBefore = await cli(['verify', '--checkpoint', join(work, 'before.json'), '--json'], NEW, OLD);
    expect(JSON.parse(againstBefore.stdout)).toMatchObject({ ok: true, discrepancies: [] });
    const withoutOld = await cli(['verify', '--checkpoint', join(work, 'before.json'), '--json'], NEW);
    expect(withoutOld.code).not.toBe(0);
    expect(withoutOld.stdout + withoutOld.stderr).toContain('master key version 1');

    // A terminal's record put back from before the rotation (its key sealed under version 1): a
    // gateway still given the old key as previous does not use it once the rotation has finished,
    // so the record does not sign in; verify names it.
    const rotatedRecord = await client.hgetall(staleRecord);
    await client.hset(staleRecord, stale);
    const lingering = await gateway('lingering', NEW, OLD);
    const restored = terminal(idOf(PAYING), lingering.port);
    await expect(restored.signIn()).rejects.toThrow(SignInRefused);
    restored.close();
    expect(readFileSync(join(work, 'lingering.log'), 'utf8')).toContain('AIRCHARGE_MASTER_KEY_PREVIOUS is not used');
    const named = JSON.parse((await cli(['verify', '--json'], NEW)).stdout) as { discrepancies: string[] };
    expect(named.discrepancies).toEqual([expect.stringMatching(new RegExp(`^terminal ${idOf(PAYING)}: its key is sealed under master key version 1, not the current 2`))]);
    await client.hset(staleRecord, rotatedRecord);
  }, 240_000);

  it('stops short of finishing when a key does not unseal (named, left as it is), and a second run after the fix finishes', async () => {
    const fresh = await startRedis();
    const redisB = fresh.client();
    try {
      const A = randomBytes(32);
      const B = randomBytes(32);
      const first = createAdmin({ redis: redisB, masterKey: await checkMasterKey(redisB, A), operator: 'test' });
      await first.addMerchant('M', 'Shop');
      await first.addTerminal('RS000001', 'M');
      await first.addTerminal('RS000002', 'M');
      // A blob copied from another terminal: it unseals nowhere but on its own record.
      await redisB.hset(keys.terminal('M', 'RS000002'), 'keyEnc', (await redisB.hget(keys.terminal('M', 'RS000001'), 'keyEnc'))!);
      const both = createAdmin({ redis: redisB, masterKey: await checkMasterKey(redisB, B, A), operator: 'ops-bob' });
      const stopped = await both.rotateMasterKey();
      expect(stopped).toMatchObject({ finished: false, terminals: { resealed: 1 } });
      expect(stopped.problems).toEqual([expect.stringMatching(/^terminal RS000002: its key does not unseal under master key version 1/)]);
      // Not finished: the old key still starts a process; the new one is still only `next`.
      expect((await checkMasterKey(redisB, A)).current.version).toBe(1);
      await expect(checkMasterKey(redisB, B)).rejects.toThrow(/not the one this Redis/);

      await both.rotateTerminalKey('RS000002');
      const finished = await both.rotateMasterKey();
      expect(finished).toMatchObject({ finished: true, problems: [], terminals: { resealed: 0, already: 2 } });
      await expect(checkMasterKey(redisB, A)).rejects.toThrow(/retired/);
      const audit = await both.listAudit({ action: 'master-key.rotate' });
      expect(audit.map((e) => [e.operator, (e.after as { finished: boolean }).finished])).toEqual([['ops-bob', true], ['ops-bob', false]]);
    } finally {
      redisB.disconnect();
      await fresh.stop();
    }
  });
});
