/**
 * The operator's view for the simulator: the admin API over its own Redis connection, the same
 * interface the admin CLI wraps.
 */
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { connectRedis } from '../../src/cli/redis.js';
import { loadMasterKey } from '../../src/store/secrets.js';

export interface Operator {
  admin: Admin;
  close(): Promise<void>;
}

export function openOperator(redisUrl: string, options: { demo: boolean }): Operator {
  const redis = connectRedis(redisUrl, { failFast: true });
  redis.on('error', () => {});
  const admin = createAdmin({ redis, masterKey: loadMasterKey(process.env, options), operator: 'simulator' });
  return {
    admin,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
