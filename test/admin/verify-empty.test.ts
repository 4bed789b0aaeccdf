/**
 * `aircharge verify` against a Redis with no aircharge data (a forgotten REDIS_URL) used to say
 * OK and exit 0. Now it says the Redis is empty and exits 1, unless told --allow-empty.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const MAIN = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
/** verify checks the journal's MACs, so it needs the master key. */
const MASTER_KEY = randomBytes(32).toString('hex');
let redis: RedisProcess;

function verify(args: string[]): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, AIRCHARGE_MASTER_KEY: MASTER_KEY };
  return new Promise((resolve) =>
    execFile(process.execPath, [MAIN, 'verify', '--redis', redis.url, ...args], { env }, (error, stdout) =>
      resolve({ code: error ? Number(error.code) : 0, stdout })),
  );
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('verify on an empty Redis', () => {
  it('exits 1 saying the Redis holds no aircharge data; --allow-empty accepts it', async () => {
    const refused = await verify([]);
    expect(refused).toMatchObject({ code: 1, stdout: expect.stringContaining('holds no aircharge data') });
    const asJson = await verify(['--json']);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ ok: false, empty: true });
    expect(await verify(['--allow-empty'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^verify: OK/) });
  });
});
