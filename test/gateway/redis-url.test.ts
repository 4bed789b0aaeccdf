/** The --redis URL forms: cluster credentials and TLS, unknown schemes refused, passwords redacted. */
import { describe, expect, it } from 'vitest';
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
