/**
 * The console's commands as processes: `aircharge console` refuses bad settings with exit 2 and
 * one line, and `aircharge operator add|list|remove` keep passwords out of Redis and output.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_BIN } from '../../simulator/processes.js';
import { keys } from '../../src/store/keys.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const PASSWORD = 'twelve chars or more';
let redis: RedisProcess;
let client: Redis;
let work: string;

function aircharge(args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [GATEWAY_BIN, ...args], { timeout: 30_000, env: { ...process.env, AIRCHARGE_MASTER_KEY: '', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  work = mkdtempSync(join(tmpdir(), 'aircharge-console-cli-'));
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('aircharge console', () => {
  it('exits 2 with one line on a bad setting or without a master key', async () => {
    const badPort = await aircharge(['console', '--port', 'http', '--demo', '--redis', redis.url]);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/^aircharge console: --port: "http" is not valid; expected an integer from 0 to 65535\n$/);
    const noKey = await aircharge(['console', '--redis', redis.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(noKey.stderr).toMatch(/^aircharge console: .*AIRCHARGE_MASTER_KEY/);
  }, 90_000);
});

describe('aircharge operator', () => {
  it('adds a login from standard input or a file, stores only a scrypt hash and never prints it', async () => {
    const added = await aircharge(['operator', 'add', 'vera', '--role', 'viewer', '--redis', redis.url, '--operator', 'root', '--json'], `${PASSWORD}\n`);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'vera', role: 'viewer' });
    const file = join(work, 'password');
    writeFileSync(file, `${PASSWORD}\n`);
    expect((await aircharge(['operator', 'add', 'sam', '--role', 'supervisor', '--password-file', file, '--redis', redis.url])).code).toBe(0);
    const stored = await client.hgetall(keys.consoleOperator('vera'));
    expect(stored.password).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(JSON.stringify(await client.hgetall(keys.consoleOperator('sam')))).not.toContain(PASSWORD);
    const listed = await aircharge(['operator', 'list', '--json', '--redis', redis.url]);
    expect(JSON.parse(listed.stdout)).toEqual({ operators: [expect.objectContaining({ name: 'sam', role: 'supervisor' }), expect.objectContaining({ name: 'vera', role: 'viewer' })] });
    expect(listed.stdout).not.toContain('scrypt');
    const audit = await client.xrevrange(keys.audit(), '+', '-');
    expect(JSON.stringify(audit)).toContain('console-operator.add');
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  }, 90_000);

  it('refuses a short password, a bad role, a bad name and an existing login, writing nothing', async () => {
    const short = await aircharge(['operator', 'add', 'tom', '--role', 'viewer', '--redis', redis.url], 'short\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/at least 12 characters/);
    expect((await aircharge(['operator', 'add', 'tom', '--role', 'root', '--redis', redis.url], `${PASSWORD}\n`)).stderr).toMatch(/bad role/);
    expect((await aircharge(['operator', 'add', '../x', '--role', 'viewer', '--redis', redis.url], `${PASSWORD}\n`)).stderr).toMatch(/bad operator name/);
    expect(await client.exists(keys.consoleOperator('tom'))).toBe(0);
    const again = await aircharge(['operator', 'add', 'vera', '--role', 'supervisor', '--redis', redis.url], `${PASSWORD}\n`);
    expect(again.code).toBe(1);
    expect(await client.hget(keys.consoleOperator('vera'), 'role')).toBe('viewer');
  }, 90_000);

  it('removes a login', async () => {
    expect((await aircharge(['operator', 'remove', 'sam', '--redis', redis.url])).code).toBe(0);
    expect(await client.exists(keys.consoleOperator('sam'))).toBe(0);
    expect((await aircharge(['operator', 'remove', 'sam', '--redis', redis.url])).code).toBe(1);
  }, 90_000);
});
