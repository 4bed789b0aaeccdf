/** The --redis URL forms: cluster credentials and TLS, unknown schemes refused, passwords redacted. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_URL, redisUrl } from '../../src/cli/redis.js';
import { parseRedisUrl, redactRedisUrl } from '../../src/redis-url.js';

describe('parseRedisUrl', () => {
  it('takes user, password and TLS for a cluster', () => {
    expect(parseRedisUrl('rediss+cluster://app:s%40cret@a:7000,b:7001')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }],
      auth: { username: 'app', password: 's@cret', tls: {} },
    });
  });
  it('refuses an unknown scheme without echoing the URL', () => {
    expect(() => parseRedisUrl('tls://u:hunter2@host:6379')).toThrow(/redis:\/\//);
    expect(() => parseRedisUrl('tls://u:hunter2@host:6379')).not.toThrow(/hunter2/);
  });
});

describe('redactRedisUrl', () => {
  it('replaces the password', () => {
    expect(redactRedisUrl('redis://user:pass@host:6379')).toBe('redis://user:***@host:6379');
    expect(redactRedisUrl('redis+cluster://:pass@a:1,b:2')).toBe('redis+cluster://:***@a:1,b:2');
    expect(redactRedisUrl('redis://host:6379')).toBe('redis://host:6379');
  });
});

describe('the default Redis', () => {
  /** What `redisUrl` writes on stderr while it runs. */
  function stderrOf(run: () => string): { url: string; stderr: string } {
    const write = process.stderr.write;
    let stderr = '';
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    try {
      return { url: run(), stderr };
    } finally {
      process.stderr.write = write;
    }
  }

  it('is said on stderr when neither --redis nor REDIS_URL names one', () => {
    expect(stderrOf(() => redisUrl(undefined, {}, 'aircharge-sim fleet'))).toEqual({
      url: DEFAULT_REDIS_URL,
      stderr: `aircharge-sim fleet: no --redis and no REDIS_URL: using the default ${DEFAULT_REDIS_URL}\n`,
    });
    expect(stderrOf(() => redisUrl(undefined, { REDIS_URL: '' }))).toMatchObject({ url: DEFAULT_REDIS_URL, stderr: /using the default/ });
  });

  it('is not mentioned when a URL is given', () => {
    expect(stderrOf(() => redisUrl('redis://10.0.0.1:6379', {}))).toEqual({ url: 'redis://10.0.0.1:6379', stderr: '' });
    expect(stderrOf(() => redisUrl(undefined, { REDIS_URL: 'redis://10.0.0.2:6379' }))).toEqual({ url: 'redis://10.0.0.2:6379', stderr: '' });
  });
});
