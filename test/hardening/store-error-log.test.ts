/**
 * Store errors are logged without the failed command's arguments (issue 13 finding 9): ioredis
 * errors carry the command with its arguments, and the gateway logs a store failure's cause. A
 * real redis-server refuses a write whose arguments carry a secret-looking value; the log line
 * keeps the error and the command's name, never the arguments.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { LogSink } from '../helpers/log-sink.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

it('logs the error and the command name, not its arguments, also through the cause chain', async () => {
  const client = redis.client();
  const secret = 'f00dfeedf00dfeedf00dfeedf00dfeed';
  try {
    await client.set('ac:not-a-hash', 'x');
    const failure = await client.hset('ac:not-a-hash', 'journalMac', secret).then(() => null, (err: unknown) => err);
    expect(failure).toMatchObject({ command: { name: 'hset', args: expect.arrayContaining([secret]) } });

    const sink = new LogSink();
    const logger = createLogger({ level: 'info' }, sink);
    const wrapped = new StoreUnavailableError(failure);
    logger.warn({ err: wrapped.cause }, 'store unavailable');
    logger.error({ err: wrapped }, 'handler failed');
    await new Promise((resolve) => setImmediate(resolve));

    expect(sink.text).not.toContain(secret);
    const [first, second] = sink.lines as Array<{ err: { message: string; command: unknown; cause?: { command: unknown } } }>;
    expect(first!.err).toMatchObject({ message: expect.stringContaining('WRONGTYPE'), command: 'hset' });
    expect(second!.err.message).toContain('store unavailable');
  } finally {
    client.disconnect();
  }
});
