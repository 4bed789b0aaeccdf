/**
 * The operator's web console: a fastify application over the admin API (src/admin), its own
 * process, never on the gateway's path. Pages are rendered on the server (html.ts templates);
 * every page needs a logged-in operator, every form post its session's CSRF token, and each
 * action a role (viewer reads, operator tops up, supervisor approves).
 *
 * The route modules under pages/ stay thin: they validate input with route schemas, call the
 * admin API and render.
 */
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAdmin, roleAtLeast, type Admin, type Role } from '../admin/index.js';
import { AdminError, AdminErrorCode } from '../admin/errors.js';
import { DEFAULT_BUSINESS_DAY, type BusinessDayOptions } from '../core/business-day.js';
import { document, page, STYLE, type Viewer } from './layout.js';
import { html, type Html } from './html.js';
import { DEFAULT_LOGIN_LIMITS, DEFAULT_SESSIONS, readSession, tokensMatch, type LoginLimits, type SessionSettings } from './sessions.js';
import { registerLogin } from './pages/login.js';
import { registerDashboard } from './pages/dashboard.js';
import { registerTerminals } from './pages/terminals.js';
import { registerOutlets } from './pages/outlets.js';
import { registerTransactions } from './pages/transactions.js';
import { registerReport } from './pages/report.js';
import { registerAudit } from './pages/audit.js';
import { registerApprovals } from './pages/approvals.js';
import type { MasterKeys } from '../store/secrets.js';

export interface ConsoleOptions {
  redis: Redis | Cluster;
  /** Top-ups append MACed journal entries and verify checks them: both need the master key. */
  masterKey: Buffer | MasterKeys;
  /** The gateway's business-day rule: which day "today" is and the time zone pages show. */
  businessDay?: BusinessDayOptions;
  /** Above this a top-up waits for a supervisor's approval (maker-checker), as with the CLI's --approval-limit. */
  approvalLimitFen?: number;
  sessions?: SessionSettings;
  loginLimits?: LoginLimits;
  /**
   * Cookies marked Secure (default true): sent only over HTTPS, and by browsers also to
   * http://127.0.0.1 and localhost, which they count as secure. Off only for plain HTTP on another address.
   */
  secureCookies?: boolean;
  logger?: Logger;
  /** Epoch milliseconds; tests may pin it. */
  now?: () => number;
}

/** What the route modules are given. */
export interface ConsoleContext {
  redis: Redis | Cluster;
  businessDay: BusinessDayOptions;
  sessions: SessionSettings;
  loginLimits: LoginLimits;
  cookies: { session: string; login: string; secure: boolean };
  now(): number;
  /** The admin API acting as this operator (the audit log's "who"). */
  admin(viewer: Viewer): Admin;
  /** The admin API before anyone is logged in: logins and sessions. */
  anonymous: Admin;
  /** preValidation hook: only an operator of at least `role` gets through; a post also needs the session's CSRF token. */
  requires(role: Role): (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  render(reply: FastifyReply, viewer: Viewer, current: string, title: string, body: Html, status?: number): FastifyReply;
}

declare module 'fastify' {
  interface FastifyRequest {
    viewer?: Viewer;
  }
}

/** Path and query to come back to after logging in: a local path only, never another site. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[A-Za-z0-9/_.~%?=&+-]{0,300}$/.test(value) ? value : '/';
}

export async function buildConsole(options: ConsoleOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger as FastifyBaseLogger }),
    bodyLimit: 16 * 1024,
    // Ids in paths are validated by schemas; nothing needs a long URL.
    maxParamLength: 100,
    trustProxy: false,
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);

  const secure = options.secureCookies ?? true;
  const base = createAdmin({ redis: options.redis, masterKey: options.masterKey, ...(options.approvalLimitFen === undefined ? {} : { approvalLimitFen: options.approvalLimitFen }), businessDay: options.businessDay ?? DEFAULT_BUSINESS_DAY, now: options.now ?? Date.now });
  const context: ConsoleContext = {
    redis: options.redis,
    businessDay: options.businessDay ?? DEFAULT_BUSINESS_DAY,
    sessions: options.sessions ?? DEFAULT_SESSIONS,
    loginLimits: options.loginLimits ?? DEFAULT_LOGIN_LIMITS,
    // __Host-: the browser keeps it only when Secure, path /, no Domain, so no other host can plant it.
    cookies: secure
      ? { session: '__Host-ac_session', login: '__Host-ac_login', secure }
      : { session: 'ac_session', login: 'ac_login', secure },
    now: options.now ?? Date.now,
    admin: (viewer) => base.as(viewer.operator),
    anonymous: base,
    requires: (role) => async (request, reply) => {
      const viewer = await viewerOf(context, request);
      if (viewer === null) {
        const next = request.method === 'GET' ? `?next=${encodeURIComponent(safeNext(request.url))}` : '';
        await reply.redirect(`/login${next}`, 303);
        return;
      }
      if (request.method === 'POST' && !tokensMatch((request.body as Record<string, unknown> | undefined)?._csrf, viewer.csrf)) {
        request.log.warn({ operator: viewer.operator, url: request.url }, 'console: form post without its session CSRF token refused');
        await context.render(reply, viewer, '', 'Refused', html`<p class="notice bad">This form was not sent from this session (its CSRF token is missing or wrong). Nothing was done. Reload the page and try again.</p>`, 403);
        return;
      }
      if (!roleAtLeast(viewer.role, role)) {
        request.log.warn({ operator: viewer.operator, role: viewer.role, needed: role, url: request.url }, 'console: role too low, refused');
        await context.render(reply, viewer, '', 'Not allowed', html`<p class="notice bad">This needs the ${role} role; you are ${viewer.role}. Nothing was done.</p>`, 403);
        return;
      }
      request.viewer = viewer;
    },
    render: (reply, viewer, current, title, body, status = 200) =>
      reply.code(status).type('text/html; charset=utf-8').send(page(viewer, current, title, body).toString()),
  };

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const { status, message } = explain(error);
    if (status >= 500) request.log.error({ err: error, url: request.url }, 'console: request failed');
    else request.log.info({ url: request.url, status, code: error instanceof AdminError ? error.code : error.code }, 'console: request refused');
    const body = html`<p class="notice bad">${message}</p><p><a href="/">Back to the dashboard</a></p>`;
    if (request.viewer !== undefined) return context.render(reply, request.viewer, '', status === 404 ? 'Not found' : 'Cannot do that', body, status);
    return reply.code(status).type('text/html; charset=utf-8').send(document('Error', html`<main>${body}</main>`).toString());
  });
  app.setNotFoundHandler(async (request, reply) => {
    const viewer = await viewerOf(context, request);
    if (viewer === null) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    return context.render(reply, viewer, '', 'Not found', html`<p class="empty">No page here.</p>`, 404);
  });

  app.get('/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(STYLE));

  registerLogin(app, context);
  registerDashboard(app, context);
  registerTerminals(app, context);
  registerOutlets(app, context);
  registerTransactions(app, context);
  registerReport(app, context);
  registerAudit(app, context);
  registerApprovals(app, context);
  return app;
}

/** The logged-in operator of this request, with its role as stored now; null when not logged in. */
async function viewerOf(context: ConsoleContext, request: FastifyRequest): Promise<Viewer | null> {
  const id = request.cookies[context.cookies.session];
  if (id === undefined) return null;
  const now = context.now();
  const session = await readSession(context.redis, id, context.sessions, now);
  if (session === null) return null;
  // A removed operator's sessions end with it; a changed role applies at once.
  const operator = await context.anonymous.findConsoleOperator(session.operator);
  if (operator === null) return null;
  return { operator: operator.name, role: operator.role, csrf: session.csrf, utcOffsetMinutes: context.businessDay.utcOffsetMinutes, now };
}

function explain(error: FastifyError | AdminError): { status: number; message: string } {
  if (error instanceof AdminError) {
    const status = error.code === AdminErrorCode.NOT_FOUND ? 404 : error.code === AdminErrorCode.INVALID || error.code === AdminErrorCode.AMOUNT ? 400 : 409;
    return { status, message: error.message };
  }
  if (error.validation !== undefined) return { status: 400, message: `Bad input: ${error.message}` };
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  return { status, message: status === 500 ? 'The console could not do that (see its log).' : error.message };
}

/** A fresh random token for the login form (double-submitted: cookie and hidden field). */
export function loginToken(): string {
  return randomBytes(24).toString('base64url');
}
