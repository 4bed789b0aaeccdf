/**
 * `serve` refuses a Redis that answers clients who did not authenticate (issue 13 finding 9),
 * unless told --allow-unauthenticated-redis, and serves a Redis with requirepass given the
 * password in the URL (never logging it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const MAIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
const env = { ...process.env, AIRCHARGE_MASTER_KEY: randomBytes(32).toString('hex') };
let open: RedisProcess;
let locked: RedisProcess;
const PASSWORD = 'p4ss-w0rd-for-test';

beforeAll(async () => {
  open = await startRedis();
  locked = await startRedis();
  const client = locked.client();
  await client.config('SET', 'requirepass', PASSWORD);
  client.disconnect();
});
afterAll(async () => {
  await open?.stop();
  await locked?.stop();
});

/** Runs serve until it logs "listening" (then stops it) or exits; resolves with its output and exit code. */
function serve(args: string[]): Promise<{ code: number | null; out: string; listened: boolean }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', ...args], { env });
    let out = '';
    let listened = false;
    const take = (chunk: Buffer) => {
      out += chunk.toString();
      if (!listened && out.includes('"msg":"listening"')) {
        listened = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('exit', (code) => resolve({ code, out, listened }));
  });
}

it('refuses a Redis without AUTH, naming the way out', async () => {
  const run = await serve(['--redis', open.url]);
  expect(run).toMatchObject({ code: 1, listened: false });
  expect(run.out).toContain('Redis answers clients that did not authenticate');
  expect(run.out).toContain('--allow-unauthenticated-redis');
}, 60_000);

it('serves it when told --allow-unauthenticated-redis', async () => {
  expect(await serve(['--redis', open.url, '--allow-unauthenticated-redis'])).toMatchObject({ listened: true });
}, 60_000);

it('serves a Redis with requirepass given the password in the URL, and never logs it', async () => {
  const run = await serve(['--redis', `redis://:${PASSWORD}@127.0.0.1:${locked.port}`]);
  expect(run.listened).toBe(true);
  expect(run.out).not.toContain(PASSWORD);
}, 60_000);
