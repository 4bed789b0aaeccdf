/**
 * The master key as an attacker or a tired operator gets it wrong: a guessable key, the public demo
 * key, or another network's key started against this Redis. Each is refused before anything is
 * served or sealed; the CLIs run as processes against a real redis-server.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/store/keys.js';
import { DEMO_MASTER_KEY, terminalKeyAad, unseal } from '../../src/store/secrets.js';
import { startNetwork, type Network } from '../core/network.js';

const MAIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let net: Network;

function aircharge(args: string[], masterKeyHex: string, timeout = 10_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { timeout, env: { ...process.env, REDIS_URL: net.redisProcess.url, AIRCHARGE_MASTER_KEY: masterKeyHex } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  net = await startNetwork();
  await net.admin.addMerchant('shop-k', 'Key Shop');
});
afterAll(async () => {
  await net.stop();
});

describe('the master key', () => {
  it('refuses an all-zero, a repeated-pattern and the demo key given as the real one', async () => {
    for (const guessable of ['00'.repeat(32), 'ab'.repeat(32), '0123456789abcdef'.repeat(4), DEMO_MASTER_KEY.toString('hex')]) {
      const run = await aircharge(['terminal', 'add', 'TK000009', '--merchant', 'shop-k'], guessable);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/too few distinct bytes|public demo master key/);
    }
    expect(await net.redis.exists(keys.terminalMerchant('TK000009'))).toBe(0);
  });

  it('demo mode on a fresh Redis seals under the demo key; then a real key is refused there, and so is a gateway started with it', async () => {
    const demo = await aircharge(['terminal', 'add', 'TK000001', '--merchant', 'shop-k', '--demo', '--json'], '');
    expect(demo.code).toBe(0);
    const sealed = await net.redis.hget(keys.terminal('shop-k', 'TK000001'), 'keyEnc');
    expect(unseal(DEMO_MASTER_KEY, sealed!, terminalKeyAad('shop-k', 'TK000001', 1)).toString('hex')).toBe((JSON.parse(demo.stdout) as { key: string }).key);

    const other = randomBytes(32).toString('hex');
    const refused = await aircharge(['terminal', 'add', 'TK000002', '--merchant', 'shop-k'], other);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('not the one this Redis') });
    expect(refused.stderr).not.toContain(other);
    expect(await net.redis.exists(keys.terminalMerchant('TK000002'))).toBe(0);

    // Before, such a gateway reported ready and answered UNKNOWN_TERMINAL to every terminal.
    const gateway = await aircharge(['serve', '--allow-unauthenticated-redis', '--port', '0', '--metrics-port', '0'], other);
    expect(gateway.code).toBe(1);
    expect(gateway.stdout).toContain('not the one this Redis');
    expect(gateway.stdout).not.toContain('"msg":"listening"');
    expect(gateway.stdout).not.toContain(other);
  });
});
