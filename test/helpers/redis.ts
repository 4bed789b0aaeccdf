/**
 * Real redis-server processes for the tests, from the project's one launcher
 * (src/ops/redis-server.ts): a free port, its own data directory, AOF on; `stop()` removes both.
 */
export {
  freePort,
  startRedisServer as startRedis,
  type RedisServer as RedisProcess,
  type RedisServerOptions as RedisOptions,
} from '../../src/ops/redis-server.js';
