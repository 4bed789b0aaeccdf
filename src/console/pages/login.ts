/**
 * Logging in and out. The login form is protected against cross-site posting by a token that is
 * both in a cookie and in the form (the session's token does not exist yet); failures are
 * counted per name and per address and refused past the limit; a new session id is made at
 * every login.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../html.js';
import { document } from '../layout.js';
import { loginToken, safeNext, type ConsoleContext } from '../server.js';
import { clearLoginFailures, createSession, endSession, loginBlockedFor, recordLoginFailure, tokensMatch } from '../sessions.js';

interface LoginBody {
  name: string;
  password: string;
  _csrf: string;
  next?: string;
}

const LOGIN_BODY = {
  type: 'object',
  required: ['name', 'password', '_csrf'],
  properties: {
    name: { type: 'string', maxLength: 64 },
    password: { type: 'string', maxLength: 1024 },
    _csrf: { type: 'string', maxLength: 64 },
    next: { type: 'string', maxLength: 300 },
  },
} as const;

export function registerLogin(app: FastifyInstance, context: ConsoleContext): void {
  const form = (request: FastifyRequest, reply: FastifyReply, next: string, problem: string | null, status = 200) => {
    // One token per browser while it lasts, so two login tabs (or a reload) do not void each other.
    const current = request.cookies[context.cookies.login];
    const token = current !== undefined && /^[A-Za-z0-9_-]{32}$/.test(current) ? current : loginToken();
    void reply.setCookie(context.cookies.login, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: context.cookies.secure,
      maxAge: 600,
    });
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        document(
          'Log in',
          html`<div class="login">
<h1>aircharge console</h1>
${problem === null ? '' : html`<p class="notice bad" role="alert">${problem}</p>`}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${token}">
<input type="hidden" name="next" value="${next}">
<label>Operator <input name="name" autocomplete="username" required maxlength="64" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button class="primary" type="submit">Log in</button>
</form>
</div>`,
        ).toString(),
      );
  };

  app.get('/login', { schema: { querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 300 } } } } }, async (request, reply) =>
    form(request, reply, safeNext((request.query as { next?: string }).next), null),
  );

  app.post('/login', { schema: { body: LOGIN_BODY } }, async (request: FastifyRequest<{ Body: LoginBody }>, reply) => {
    const { name, password, _csrf: token } = request.body;
    const next = safeNext(request.body.next);
    const address = request.ip;
    if (!tokensMatch(token, request.cookies[context.cookies.login] ?? '')) {
      request.log.warn({ address }, 'console: login form without its token refused');
      return form(request, reply, next, 'The login form expired or was not sent from this page. Try again.', 403);
    }
    const blockedMs = await loginBlockedFor(context.redis, name, address, context.loginLimits);
    if (blockedMs > 0) {
      request.log.warn({ operator: name, address }, 'console: login refused, too many failures');
      void reply.header('retry-after', String(Math.ceil(blockedMs / 1000)));
      return form(request, reply, next, `Too many failed logins. Try again in ${Math.ceil(blockedMs / 60_000)} min.`, 429);
    }
    const operator = await context.anonymous.authenticateConsoleOperator(name, password);
    if (operator === null) {
      await recordLoginFailure(context.redis, name, address, context.loginLimits);
      request.log.warn({ operator: name, address }, 'console: login failed');
      return form(request, reply, next, 'Wrong operator name or password.', 401);
    }
    await clearLoginFailures(context.redis, name);
    const session = await createSession(context.redis, operator.name, context.sessions, context.now());
    request.log.info({ operator: operator.name, role: operator.role, address }, 'console: logged in');
    void reply.clearCookie(context.cookies.login, { path: '/', secure: context.cookies.secure, httpOnly: true, sameSite: 'strict' });
    void reply.setCookie(context.cookies.session, session.id, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: context.cookies.secure,
      maxAge: Math.floor(context.sessions.maxAgeMs / 1000),
    });
    return reply.redirect(next, 303);
  });

  app.post('/logout', { preValidation: context.requires('viewer') }, async (request, reply) => {
    await endSession(context.redis, request.cookies[context.cookies.session] ?? '');
    request.log.info({ operator: request.viewer?.operator }, 'console: logged out');
    void reply.clearCookie(context.cookies.session, { path: '/', secure: context.cookies.secure, httpOnly: true, sameSite: 'strict' });
    return reply.redirect('/login', 303);
  });
}
