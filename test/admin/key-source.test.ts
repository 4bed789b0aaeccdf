/**
 * Terminal keys given without a command line that `ps` shows (issue 13 finding 9): `--key -` reads
 * the key from stdin and `--key-file FILE` from a file holding the key alone or a keys file, in the
 * admin CLI (terminal add) and the simulator alike (one function, readKeySource).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readKeySource } from '../../src/admin/keys-file.js';
import { MASTER_KEY, startNetwork, type Network } from '../core/network.js';

const MAIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
let net: Network;
let dir: string;

beforeAll(async () => {
  net = await startNetwork();
  await net.admin.addMerchant('shop-k', 'Key shop');
  dir = mkdtempSync(join(tmpdir(), 'aircharge-keys-'));
});
afterAll(async () => {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
});

function aircharge(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MAIN, ...args, '--json'], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex'), AIRCHARGE_OPERATOR: 'test' },
  });
}

it('terminal add --key - takes the key from stdin, and --key-file from a file', async () => {
  const fromStdin = randomBytes(32).toString('hex');
  const added = aircharge(['terminal', 'add', 'KS000001', '--merchant', 'shop-k', '--key', '-'], `${fromStdin}\n`);
  expect(added.stderr).toBe('');
  expect(JSON.parse(added.stdout)).toMatchObject({ key: fromStdin });
  expect((await net.sessions.lookupTerminal('KS000001'))?.key.toString('hex')).toBe(fromStdin);

  const fromFile = randomBytes(32).toString('hex');
  const file = join(dir, 'key');
  writeFileSync(file, fromFile, { mode: 0o600 });
  expect(JSON.parse(aircharge(['terminal', 'add', 'KS000002', '--merchant', 'shop-k', '--key-file', file]).stdout)).toMatchObject({ key: fromFile });

  const bad = aircharge(['terminal', 'add', 'KS000003', '--merchant', 'shop-k', '--key', '-'], 'not a key');
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('stdin: not a terminal key');
  expect(bad.stderr).not.toContain('not a key\n');
}, 120_000);

it('terminal rotate-key takes the new key from stdin or a file too (a terminal that makes its own key), never echoing it', async () => {
  const added = JSON.parse(aircharge(['terminal', 'add', 'KS000020', '--merchant', 'shop-k']).stdout) as { key: string };
  const fromStdin = randomBytes(32).toString('hex');
  const rotated = aircharge(['terminal', 'rotate-key', 'KS000020', '--key', '-'], `${fromStdin}\n`);
  expect(rotated.stderr).toBe('');
  expect(JSON.parse(rotated.stdout)).toMatchObject({ key: fromStdin, keyVersion: 2 });
  expect((await net.sessions.lookupTerminal('KS000020'))?.key.toString('hex')).toBe(fromStdin);

  const fromFile = randomBytes(32).toString('hex');
  const file = join(dir, 'rotated');
  writeFileSync(file, fromFile, { mode: 0o600 });
  expect(JSON.parse(aircharge(['terminal', 'rotate-key', 'KS000020', '--key-file', file]).stdout)).toMatchObject({ key: fromFile, keyVersion: 3 });
  expect((await net.sessions.lookupTerminal('KS000020'))?.key.toString('hex')).toBe(fromFile);

  const both = aircharge(['terminal', 'rotate-key', 'KS000020', '--key', '-', '--key-file', file], fromStdin);
  expect(both.status).toBe(1);
  expect(both.stderr).toContain('give --key or --key-file, not both');
  const bad = aircharge(['terminal', 'rotate-key', 'KS000020', '--key', '-'], 'zz');
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('stdin: not a terminal key');
  // Nothing moved on a refusal: still the key from the file, at version 3.
  expect((await net.sessions.lookupTerminal('KS000020'))?.key.toString('hex')).toBe(fromFile);
  expect(added.key).not.toBe(fromFile);
}, 120_000);

it('reads a keys file by terminal, and a bare key', () => {
  const [a, b] = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
  const keys = join(dir, 'keys.csv');
  writeFileSync(keys, `terminal_id,merchant_id,key\nKS000010,shop-k,${a}\nKS000011,shop-k,${b}\n`);
  expect(readKeySource(keys, 'KS000011').toString('hex')).toBe(b);
  const bare = join(dir, 'bare');
  writeFileSync(bare, `  ${a}\n`);
  expect(readKeySource(bare, 'anything').toString('hex')).toBe(a);
});
