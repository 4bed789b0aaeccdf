/**
 * measureCoreRate, the load test's same-run baseline: it pays through the core against the Redis it
 * is given, in a network of its own beside whatever is there, and leaves the books balanced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../src/admin/index.js';
import { measureCoreRate } from '../../src/bench/core-rate.js';
import { keys } from '../../src/store/keys.js';
import { MASTER_KEY, startNetwork, type Network } from './network.js';

let net: Network;

beforeAll(async () => {
  net = await startNetwork();
  await net.admin.addMerchant('SHOP', 'Village shop');
  await net.admin.topUp('SHOP', 50_000);
});
afterAll(() => net.stop());

describe('measureCoreRate', () => {
  it('pays in a network of its own, twice without a clash, and verify passes afterwards', async () => {
    const first = await measureCoreRate({ redisUrl: net.redisProcess.url, concurrency: 3, seconds: 0.3, masterKey: MASTER_KEY });
    const second = await measureCoreRate({ redisUrl: net.redisProcess.url, concurrency: 3, seconds: 0.3, masterKey: MASTER_KEY });
    for (const figures of [first, second]) {
      expect(figures.payments).toBeGreaterThan(0);
      expect(figures.perSec).toBeGreaterThan(0);
      expect(figures.p99Ms).toBeGreaterThanOrEqual(figures.p50Ms);
    }

    const merchants = (await net.redis.smembers(keys.merchants())).filter((id) => id.startsWith('core-rate-'));
    expect(merchants).toHaveLength(2);
    // Every payment approved moved the float by its amount: ¥1.00 each, one warm-up per terminal.
    const moved = await Promise.all(
      merchants.map(async (id) => 4_000_000_000 - Number(await net.redis.hget(keys.merchant(id), 'floatFen'))),
    );
    expect(moved.reduce((x, y) => x + y, 0)).toBe((first.payments + second.payments + 6) * 100);
    expect((await net.admin.showMerchant('SHOP')).floatFen).toBe(50_000);
    // Its journal entries are MACed under the network's master key, so verify accepts them.
    expect(await createAdmin({ redis: net.redis, masterKey: MASTER_KEY, operator: 'test' }).verify()).toMatchObject({ ok: true });
  });
});
