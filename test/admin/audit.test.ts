/**
 * The audit log as an operator meets it: admin actions run as CLI processes against a real
 * redis-server, then `aircharge audit list` shows who did what, before and after. Money actions
 * without a named operator are refused and change nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/admin/index.js';
import { MASTER_KEY, startNetwork, type Network } from '../core/network.js';



let net: Network;
let dir: string;

const aircharge = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => runAircharge(args, { REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex'), AIRCHARGE_OPERATOR: '', ...env });

async function audit(args: string[] = []): Promise<AuditEntry[]> {
  const run = await aircharge(['audit', 'list', '--json', ...args]);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return (JSON.parse(run.stdout) as { entries: AuditEntry[] }).entries;
}

beforeAll(async () => {
  net = await startNetwork();
  dir = mkdtempSync(join(tmpdir(), 'aircharge-audit-'));
});
afterAll(async () => {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit log', () => {
  it('records every admin action with its operator, before and after, and never a key', async () => {
    const alice = { AIRCHARGE_OPERATOR: 'alice' };
    expect((await aircharge(['merchant', 'add', 'shop-a', '--name', 'Store A'], alice)).code).toBe(0);
    const added = await aircharge(['terminal', 'add', 'AUD00001', '--merchant', 'shop-a', '--json', '--operator', 'bob']);
    expect(added.code).toBe(0);
    const key = (JSON.parse(added.stdout) as { key: string }).key;
    const rotated = await aircharge(['terminal', 'rotate-key', 'AUD00001', '--json'], alice);
    const newKey = (JSON.parse(rotated.stdout) as { key: string }).key;
    for (const args of [
      ['terminal', 'disable', 'AUD00001'],
      ['terminal', 'enable', 'AUD00001'],
      ['merchant', 'disable', 'shop-a'],
      ['merchant', 'enable', 'shop-a'],
      ['float', 'topup', 'shop-a', '100.50'],
    ]) {
      expect(await aircharge(args, alice)).toMatchObject({ code: 0 });
    }
    writeFileSync(join(dir, 'a.csv'), 'account,name,bill_id,period,amount,issue_date,status\n0000000001,Zhang San,B1,202609,20.00,2026-09-05,open\n');
    expect((await aircharge(['accounts', 'import', join(dir, 'a.csv')], alice)).code).toBe(0);

    const entries = await audit();
    expect(entries.map((e) => [e.operator, e.action, e.target])).toEqual([
      ['alice', 'accounts.import', expect.stringMatching(/^sha256:[0-9a-f]{16}$/)],
      ['alice', 'float.topup', 'shop-a'],
      ['alice', 'merchant.enable', 'shop-a'],
      ['alice', 'merchant.disable', 'shop-a'],
      ['alice', 'terminal.enable', 'AUD00001'],
      ['alice', 'terminal.disable', 'AUD00001'],
      ['alice', 'terminal.rotate-key', 'AUD00001'],
      ['bob', 'terminal.add', 'AUD00001'],
      ['alice', 'merchant.add', 'shop-a'],
    ]);
    const byAction = new Map(entries.map((e) => [e.action, e]));
    expect(byAction.get('float.topup')).toMatchObject({ before: { floatFen: 0 }, after: { floatFen: 10050, amountFen: 10050 } });
    expect(byAction.get('terminal.rotate-key')).toMatchObject({ before: { keyVersion: 1 }, after: { keyVersion: 2 } });
    expect(byAction.get('terminal.disable')).toMatchObject({ before: { status: 'active' }, after: { status: 'disabled' } });
    expect(byAction.get('merchant.disable')).toMatchObject({ before: { status: 'active' }, after: { status: 'disabled' } });
    expect(byAction.get('accounts.import')).toMatchObject({ before: null, after: { accounts: 1, billsAdded: 1 } });
    expect(entries.every((e) => e.at > 0 && e.at <= Date.now())).toBe(true);

    // No form of either key is anywhere in the stream.
    const raw = JSON.stringify(await net.redis.xrange('ac:audit', '-', '+'));
    for (const k of [key, newKey]) {
      expect(raw).not.toContain(k);
      expect(raw).not.toContain(k.toUpperCase());
      expect(raw).not.toContain(Buffer.from(k, 'hex').toString('base64'));
    }
  }, 180_000); // a dozen CLI processes one after another: slow on a loaded machine

  it('refuses a money action with no operator: exit 1, ERR_OPERATOR, float and log untouched', async () => {
    const before = await audit();
    const run = await aircharge(['float', 'topup', 'shop-a', '5', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'ERR_OPERATOR' } });
    expect(run.stderr).toMatch(/^aircharge: .*operator.*\n$/);
    expect(await net.redis.hget('ac:{m.shop-a}:merchant', 'floatFen')).toBe('10050');
    expect(await audit()).toEqual(before);
    // A malformed name is refused too (it would be "who" in the log).
    expect(await aircharge(['float', 'topup', 'shop-a', '5', '--operator', 'x y'])).toMatchObject({ code: 1, stderr: expect.stringContaining('bad operator name') });
    expect(await net.redis.hget('ac:{m.shop-a}:merchant', 'floatFen')).toBe('10050');
  }, 120_000);

  it('filters by action, operator, target and time, and prints local times in text', async () => {
    expect((await audit(['--action', 'terminal.add'])).map((e) => e.operator)).toEqual(['bob']);
    expect((await audit(['--operator', 'bob'])).map((e) => e.action)).toEqual(['terminal.add']);
    expect((await audit(['--target', 'AUD00001', '--limit', '2'])).map((e) => e.action)).toEqual(['terminal.enable', 'terminal.disable']);
    expect(await audit(['--since', '2099-01-01'])).toEqual([]);
    expect((await audit(['--since', '1h'])).length).toBe(9);
    const text = await aircharge(['audit', 'list', '--action', 'float.topup']);
    expect(text.stdout).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00 {2}alice {2}float\.topup {2}shop-a {2}\{"status":"active","floatFen":0\} -> \{"floatFen":10050,/);
    expect(await aircharge(['audit', 'list', '--since', 'yesterday'])).toMatchObject({ code: 1, stderr: expect.stringContaining('not a time') });
  }, 120_000);
});
