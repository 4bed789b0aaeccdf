/**
 * The console through fastify's inject() on a real redis-server: every route refuses an
 * unauthenticated request (redirect to login), every form post needs its own session's CSRF
 * token, roles are enforced, inputs are validated, and a hostile merchant name prints as text.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { buildConsole } from '../../src/console/server.js';
import { keys } from '../../src/store/keys.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>&"Co"`;
const PASSWORD = 'correct horse battery';
const SHOP = 'SHOP01';

let redis: RedisProcess;
let client: Redis;
let admin: Admin;
let app: FastifyInstance;
let clock = Date.now();

interface Login {
  cookie: string;
  csrf: string;
}

/** The console's pages and forms, as an attacker would list them. */
const GETS = ['/', '/approvals', '/terminals', '/outlets', `/outlets/${SHOP}`, '/transactions', '/transactions/SHOPT0010000000001', '/report', '/report.csv', '/audit'];
const POSTS = [`/outlets/${SHOP}/topup`, '/verify', '/logout', '/approvals/ap-0123456789/approve', '/approvals/ap-0123456789/reject'];

function cookieHeader(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
  return all.map((c) => c.split(';')[0]).join('; ');
}

async function login(name: string, password = PASSWORD): Promise<Login & { status: number }> {
  const form = await app.inject({ method: 'GET', url: '/login' });
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: cookieHeader(form.headers['set-cookie']) },
    payload: { name, password, _csrf: token },
  });
  const sessionCookie = (Array.isArray(res.headers['set-cookie']) ? res.headers['set-cookie'] : [res.headers['set-cookie'] ?? '']).find((c) => c.startsWith('__Host-ac_session='));
  if (sessionCookie === undefined) return { status: res.statusCode, cookie: '', csrf: '' };
  const cookie = sessionCookie.split(';')[0]!;
  const page = await app.inject({ method: 'GET', url: '/', headers: { cookie } });
  return { status: res.statusCode, cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]! };
}

const float = async () => (await admin.showMerchant(SHOP)).floatFen;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'seed' });
  await admin.addMerchant(SHOP, HOSTILE);
  await admin.addTerminal('SHOPT001', SHOP);
  await admin.topUp(SHOP, 50_000);
  await admin.addConsoleOperator('vera', 'viewer', PASSWORD);
  await admin.addConsoleOperator('otto', 'operator', PASSWORD);
  await admin.addConsoleOperator('sue', 'supervisor', PASSWORD);
  await admin.addConsoleOperator('lock', 'viewer', PASSWORD);
  app = await buildConsole({ redis: client, masterKey: DEMO_MASTER_KEY, now: () => clock, sessions: { idleMs: 30 * 60_000, maxAgeMs: 3_600_000 } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  client?.disconnect();
  await redis?.stop();
});

describe('without a session', () => {
  it('every page redirects to the login, keeping where it was going', async () => {
    for (const url of GETS) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(303);
      expect(res.headers.location, url).toBe(`/login?next=${encodeURIComponent(url)}`);
    }
  });

  it('every form post is refused and changes nothing', async () => {
    const before = await float();
    for (const url of POSTS) {
      const res = await app.inject({ method: 'POST', url, payload: { amount: '100', _csrf: 'x' } });
      expect(res.statusCode, url).toBe(303);
      expect(res.headers.location, url).toBe('/login');
    }
    expect(await float()).toBe(before);
  });

  it('a made-up or malformed session cookie is no session', async () => {
    for (const cookie of ['__Host-ac_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '__Host-ac_session=../../x', '__Host-ac_session=']) {
      expect((await app.inject({ method: 'GET', url: '/', headers: { cookie } })).statusCode).toBe(303);
    }
  });

  it('the login page never sends the operator to another site after logging in', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const form = await app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent(next)}` });
      expect(form.body).toContain('name="next" value="/"');
    }
  });
});

describe('logging in', () => {
  it('sets a server-side session in a Secure, HttpOnly, SameSite=Strict __Host- cookie', async () => {
    const form = await app.inject({ method: 'GET', url: '/login' });
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    const res = await app.inject({ method: 'POST', url: '/login', headers: { cookie: cookieHeader(form.headers['set-cookie']) }, payload: { name: 'vera', password: PASSWORD, _csrf: token, next: '/report' } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/report');
    const cookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('__Host-ac_session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    // Redis holds the session under the id's digest, never the id itself.
    const id = cookie.split(';')[0]!.split('=')[1]!;
    expect(await client.keys(`*${id}*`)).toEqual([]);
  });

  it('refuses a wrong password and an unknown name alike', async () => {
    expect((await login('vera', 'wrong password!!')).status).toBe(401);
    expect((await login('nobody', PASSWORD)).status).toBe(401);
  });

  it('refuses a login form posted without its token (login CSRF)', async () => {
    const res = await app.inject({ method: 'POST', url: '/login', payload: { name: 'vera', password: PASSWORD, _csrf: 'forged' } });
    expect(res.statusCode).toBe(403);
    expect([res.headers['set-cookie']].flat().some((c) => c?.startsWith('__Host-ac_session='))).toBe(false);
  });

  it('locks a name out after 5 failures, even with the right password, and says when to retry', async () => {
    for (let i = 0; i < 5; i++) expect((await login('lock', `guess number ${i}`)).status).toBe(401);
    const blocked = await login('lock', PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.cookie).toBe('');
    // Another operator from the same address is not locked out by it.
    expect((await login('vera')).status).toBe(303);
  });

  it('rejects malformed login input by schema', async () => {
    const res = await app.inject({ method: 'POST', url: '/login', payload: { name: 'x'.repeat(65), password: 'p', _csrf: 't' } });
    expect(res.statusCode).toBe(400);
  });
});

describe('forged form posts', () => {
  it('a top-up without the CSRF token, with a wrong one or with another session\'s is refused and moves no money', async () => {
    const otto = await login('otto');
    const sue = await login('sue');
    const before = await float();
    const audit = await client.xlen(keys.audit());
    for (const payload of [{ amount: '100', reference: 'F1' }, { amount: '100', reference: 'F2', _csrf: 'wrong' }, { amount: '100', reference: 'F3', _csrf: sue.csrf }, { amount: '100', reference: 'F4', _csrf: '' }]) {
      const res = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload });
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('CSRF');
    }
    expect(await float()).toBe(before);
    expect(await client.xlen(keys.audit())).toBe(audit);
  });

  it('logout needs the token too (no forced logout from another site)', async () => {
    const vera = await login('vera');
    expect((await app.inject({ method: 'POST', url: '/logout', headers: { cookie: vera.cookie }, payload: {} })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie: vera.cookie } })).statusCode).toBe(200);
  });
});

describe('roles', () => {
  it('a viewer reads every page but cannot top up or run verify', async () => {
    const vera = await login('vera');
    for (const url of GETS.filter((u) => !u.startsWith('/transactions/'))) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie: vera.cookie } });
      expect(res.statusCode, url).toBe(200);
    }
    const before = await float();
    const topup = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: vera.cookie }, payload: { amount: '100', reference: 'BANK-0002', _csrf: vera.csrf } });
    expect(topup.statusCode).toBe(403);
    expect(topup.body).toContain('needs the operator role');
    expect(await float()).toBe(before);
    expect((await app.inject({ method: 'POST', url: '/verify', headers: { cookie: vera.cookie }, payload: { _csrf: vera.csrf } })).statusCode).toBe(403);
    // The page offers no top-up form to a viewer.
    const page = await app.inject({ method: 'GET', url: `/outlets/${SHOP}`, headers: { cookie: vera.cookie } });
    expect(page.body).not.toContain('/topup');
  });

  it('an operator tops up through the admin API: float, journal and audit log under its name', async () => {
    const otto = await login('otto');
    const before = await float();
    const res = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload: { amount: '1234.50', reference: 'BANK-0001', _csrf: otto.csrf } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(new RegExp(`^/outlets/${SHOP}\\?done=topup&entry=\\d+-\\d+$`));
    expect(await float()).toBe(before + 123_450);
    const [entry] = await admin.listAudit({ action: 'float.topup', limit: 1 });
    expect(entry).toMatchObject({ operator: 'otto', target: SHOP, after: { amountFen: 123_450, floatFen: before + 123_450 } });
    const page = await app.inject({ method: 'GET', url: res.headers.location as string, headers: { cookie: otto.cookie } });
    expect(page.body).toContain('Top-up recorded');
    expect(page.body).toContain('+¥1,234.50');
  });

  it('a role lowered in Redis applies to open sessions at once; a removed operator is logged out', async () => {
    await admin.addConsoleOperator('temp', 'operator', PASSWORD);
    const temp = await login('temp');
    await admin.addConsoleOperator('temp', 'viewer', PASSWORD, { replace: true });
    const res = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: temp.cookie }, payload: { amount: '1', reference: 'BANK-0003', _csrf: temp.csrf } });
    expect(res.statusCode).toBe(403);
    await admin.removeConsoleOperator('temp');
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie: temp.cookie } })).statusCode).toBe(303);
  });
});

describe('approvals', () => {
  it('only a supervisor other than the maker approves a top-up held above the limit; it is applied once', async () => {
    const maker = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'otto', approvalLimitFen: 100_000 });
    const held = await maker.topUp(SHOP, 200_000, { reference: 'BANK-BIG' }).catch((e: { details: string[] }) => e.details[0]!);
    expect(held).toMatch(/^ap-[0-9a-f]{10}$/);
    const before = await float();
    const vera = await login('vera');
    const otto = await login('otto');
    const sue = await login('sue');
    const list = await app.inject({ method: 'GET', url: '/approvals', headers: { cookie: vera.cookie } });
    expect(list.body).toContain(held);
    expect(list.body).not.toContain(`/approvals/${held}/approve`);
    for (const who of [vera, otto]) {
      const res = await app.inject({ method: 'POST', url: `/approvals/${held}/approve`, headers: { cookie: who.cookie }, payload: { _csrf: who.csrf } });
      expect(res.statusCode).toBe(403);
    }
    expect((await app.inject({ method: 'POST', url: `/approvals/${held}/approve`, headers: { cookie: sue.cookie }, payload: {} })).statusCode).toBe(403);
    expect(await float()).toBe(before);
    const ok = await app.inject({ method: 'POST', url: `/approvals/${held}/approve`, headers: { cookie: sue.cookie }, payload: { _csrf: sue.csrf } });
    expect(ok.statusCode).toBe(303);
    expect(await float()).toBe(before + 200_000);
    const again = await app.inject({ method: 'POST', url: `/approvals/${held}/approve`, headers: { cookie: sue.cookie }, payload: { _csrf: sue.csrf } });
    expect(again.statusCode).toBeGreaterThanOrEqual(400);
    expect(await float()).toBe(before + 200_000);
  });

  it('a console top-up above its approval limit moves nothing and waits in the queue', async () => {
    const limited = await buildConsole({ redis: client, masterKey: DEMO_MASTER_KEY, approvalLimitFen: 100_000 });
    try {
      const otto = await login('otto');
      const before = await float();
      const res = await limited.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload: { amount: '5000', reference: 'BANK-HELD', _csrf: otto.csrf } });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toMatch(/^\/approvals\?held=ap-[0-9a-f]{10}$/);
      expect(await float()).toBe(before);
    } finally {
      await limited.close();
    }
  });
});

describe('validation', () => {
  it('refuses amounts that are not yuan with at most two decimals, and moves nothing', async () => {
    const otto = await login('otto');
    const before = await float();
    for (const amount of ['12.345', '-5', '1e3', '0', '', '99999999999', '1,000']) {
      const res = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload: { amount, reference: `BAD-${amount}`, _csrf: otto.csrf } });
      expect(res.statusCode, amount).toBe(400);
    }
    expect(await float()).toBe(before);
  });

  it('refuses a top-up without a bank reference, and applies one reference once', async () => {
    const otto = await login('otto');
    const before = await float();
    const none = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload: { amount: '10', _csrf: otto.csrf } });
    expect(none.statusCode).toBe(400);
    const first = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload: { amount: '10', reference: 'BANK-ONCE', _csrf: otto.csrf } });
    expect(first.statusCode).toBe(303);
    const again = await app.inject({ method: 'POST', url: `/outlets/${SHOP}/topup`, headers: { cookie: otto.cookie }, payload: { amount: '10', reference: 'BANK-ONCE', _csrf: otto.csrf } });
    expect(again.statusCode).toBe(409);
    expect(await float()).toBe(before + 1000);
  });

  it('refuses bad ids in paths and queries, and says an unknown outlet is not found', async () => {
    const vera = await login('vera');
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie: vera.cookie } });
    expect((await get('/outlets/bad%20id')).statusCode).toBe(400);
    expect((await get('/outlets/NOSUCH')).statusCode).toBe(404);
    expect((await get('/report?date=2026-13-40')).statusCode).toBe(400);
    expect((await get('/report?date=yesterday')).statusCode).toBe(400);
    expect((await get('/transactions?receipt=%3Cscript%3E')).statusCode).toBe(400);
    expect((await get('/audit?limit=100000')).statusCode).toBe(400);
    expect((await get('/terminals?merchant=a%7Bb')).statusCode).toBe(400);
  });

  it('refuses a top-up of an unknown outlet without writing anything', async () => {
    const otto = await login('otto');
    const audit = await client.xlen(keys.audit());
    const res = await app.inject({ method: 'POST', url: '/outlets/NOSUCH/topup', headers: { cookie: otto.cookie }, payload: { amount: '10', reference: 'BANK-0004', _csrf: otto.csrf } });
    expect(res.statusCode).toBe(404);
    expect(await client.xlen(keys.audit())).toBe(audit);
  });
});

describe('pages', () => {
  it('print a hostile merchant name as text everywhere it appears', async () => {
    const vera = await login('vera');
    for (const url of ['/outlets', `/outlets/${SHOP}`, '/audit']) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie: vera.cookie } });
      expect(res.body, url).not.toContain('<script>alert');
      expect(res.body, url).not.toContain('<img src=x');
    }
    const outlets = await app.inject({ method: 'GET', url: '/outlets', headers: { cookie: vera.cookie } });
    expect(outlets.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&quot;Co&quot;');
  });

  it('carry a strict content security policy and are not cached or framed', async () => {
    const vera = await login('vera');
    const res = await app.inject({ method: 'GET', url: '/', headers: { cookie: vera.cookie } });
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toContain('<script');
  });

  it('the report draws its charts as SVG on the server', async () => {
    const vera = await login('vera');
    const res = await app.inject({ method: 'GET', url: '/report', headers: { cookie: vera.cookie } });
    expect(res.body).toContain('<svg class="chart"');
    expect(res.body).toMatch(/Daily report \d{4}-\d{2}-\d{2}: /);
  });
});

describe('sessions', () => {
  it('end at logout: the old cookie no longer works', async () => {
    const vera = await login('vera');
    const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: vera.cookie }, payload: { _csrf: vera.csrf } });
    expect(out.statusCode).toBe(303);
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie: vera.cookie } })).statusCode).toBe(303);
  });

  it('expire after the idle time in Redis, and at the maximum age whatever the activity', async () => {
    const vera = await login('vera');
    const [key] = await client.keys(keys.consoleSession('*'));
    expect(key).toBeDefined();
    const ttl = await client.pttl(key!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30 * 60_000);
    clock += 3_600_000;
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie: vera.cookie } })).statusCode).toBe(303);
  });
});
