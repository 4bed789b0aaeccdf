/**
 * The `--redis` URL forms, parsed once for the config check and for connecting:
 *   redis://[user:password@]host:port[/db]                a single Redis (rediss:// for TLS)
 *   redis+cluster://[user:password@]host:port,host:port   a Redis Cluster, from any of its nodes
 *                                                         (rediss+cluster:// for TLS)
 * Any other scheme is refused: ioredis would read `tls://host` as a plain-text redis:// URL.
 */
import type { RedisOptions } from 'ioredis';

export const REDIS_URL_FORMS =
  'a redis://, rediss://, redis+cluster:// or rediss+cluster://[user:password@]host:port[,host:port...] URL';

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; auth: Pick<RedisOptions, 'username' | 'password' | 'tls'> };

/** Throws an Error naming the accepted forms, never echoing the URL (it may carry a password). */
export function parseRedisUrl(text: string): RedisTarget {
  const cluster = /^(rediss?)\+cluster:\/\/(?:([^@]*)@)?([^@]*)$/.exec(text);
  if (cluster) {
    const [, scheme, userinfo, hosts = ''] = cluster;
    const nodes = hosts.split(',').map((node) => {
      const match = /^([^\s,:/]+):([0-9]{1,5})$/.exec(node);
      if (!match) throw new Error(REDIS_URL_FORMS);
      return { host: match[1]!, port: Number(match[2]) };
    });
    return { kind: 'cluster', nodes, auth: { ...credentials(userinfo), ...(scheme === 'rediss' ? { tls: {} } : {}) } };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(REDIS_URL_FORMS);
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') throw new Error(REDIS_URL_FORMS);
  return { kind: 'single', url: text };
}

/** `user:password` as in a URL (percent-encoded); a lone `password` is not taken, as ioredis does not either. */
function credentials(userinfo: string | undefined): Pick<RedisOptions, 'username' | 'password'> {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  if (colon < 0) return { username: decodeURIComponent(userinfo) };
  const username = decodeURIComponent(userinfo.slice(0, colon));
  return { ...(username === '' ? {} : { username }), password: decodeURIComponent(userinfo.slice(colon + 1)) };
}

/** The URL as it may appear in a log line or an error: any password replaced by `***`. */
export function redactRedisUrl(text: string): string {
  return text.replace(/^([^:/]*:\/\/[^:@/]*):[^@]*@/, '$1:***@');
}
