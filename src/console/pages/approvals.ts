/**
 * Maker-checker in the console: money actions above the approval limit wait here until a
 * supervisor other than their maker approves (the admin API applies them then, once) or rejects
 * them. Everyone sees the queue; only a supervisor gets the buttons, and the API refuses a maker
 * approving its own.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleAtLeast, type Approval } from '../../admin/index.js';
import { href, html, type Html } from '../html.js';
import { ago, csrfField, facts, localTime, pill, table, yuan, type Viewer } from '../layout.js';
import type { ConsoleContext } from '../server.js';

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^ap-[0-9a-f]{10}$' } } } as const;
const DECIDE_BODY = {
  type: 'object',
  required: ['_csrf'],
  properties: { _csrf: { type: 'string', maxLength: 64 }, reason: { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;
const NOTICE_QUERY = {
  type: 'object',
  properties: {
    done: { type: 'string', enum: ['approved', 'rejected'] },
    id: { type: 'string', pattern: '^ap-[0-9a-f]{10}$' },
    held: { type: 'string', pattern: '^ap-[0-9a-f]{10}$' },
  },
  additionalProperties: false,
} as const;

export function registerApprovals(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/approvals', { preValidation: context.requires('viewer'), schema: { querystring: NOTICE_QUERY } }, async (request: FastifyRequest<{ Querystring: { done?: string; id?: string; held?: string } }>, reply) => {
    const viewer = request.viewer!;
    const all = await context.admin(viewer).listApprovals({ all: true });
    const pending = all.filter((a) => a.state === 'pending');
    const decided = all.filter((a) => a.state !== 'pending').slice(0, 50);
    const held = request.query.held === undefined ? '' : html`<p class="notice ok" role="status">Above the approval limit: nothing moved yet. The top-up waits as <span class="mono">${request.query.held}</span> for another supervisor.</p>`;
    const notice = request.query.done === undefined ? held : html`<p class="notice ok" role="status">Approval <span class="mono">${request.query.id ?? ''}</span> ${request.query.done}.</p>`;
    const body = html`${notice}
<section class="card"><h2>Waiting for a second operator</h2>${table(
      ['Requested', 'Id', 'Action', 'Amount', 'What', 'Maker', ''],
      pending.map((a) => html`<tr><td title="${localTime(a.createdAt, viewer.utcOffsetMinutes)}">${ago(a.createdAt, viewer.now)}</td><td class="mono">${a.id}</td><td class="mono">${a.action}</td><td class="num">${yuan(a.amountFen)}</td><td>${target(a)}${facts(a.params, viewer.utcOffsetMinutes)}</td><td>${a.maker}</td><td>${decideForms(a, viewer)}</td></tr>`),
      'Nothing waits for approval.',
      { numeric: [3] },
    )}</section>
<section class="card"><h2>Decided</h2>${table(
      ['Requested', 'Id', 'Action', 'Amount', 'Maker', 'Checker', 'State', 'Outcome'],
      decided.map((a) => html`<tr><td>${localTime(a.createdAt, viewer.utcOffsetMinutes)}</td><td class="mono">${a.id}</td><td class="mono">${a.action}</td><td class="num">${yuan(a.amountFen)}</td><td>${a.maker}</td><td>${a.checker ?? '—'}</td><td>${statePill(a)}</td><td>${facts(a.outcome, viewer.utcOffsetMinutes)}</td></tr>`),
      'No approval decided yet.',
      { numeric: [3] },
    )}</section>`;
    return context.render(reply, viewer, '/approvals', 'Approvals', body);
  });

  app.post(
    '/approvals/:id/approve',
    { preValidation: context.requires('supervisor'), schema: { params: ID_PARAMS, body: DECIDE_BODY } },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const approval = await context.admin(request.viewer!).approve(request.params.id);
      request.log.info({ operator: request.viewer!.operator, approval: approval.id, state: approval.state }, 'console: approval approved');
      return reply.redirect(`/approvals?done=approved&id=${approval.id}`, 303);
    },
  );

  app.post(
    '/approvals/:id/reject',
    { preValidation: context.requires('supervisor'), schema: { params: ID_PARAMS, body: DECIDE_BODY } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: { reason?: string } }>, reply) => {
      const approval = await context.admin(request.viewer!).reject(request.params.id, request.body.reason ?? '');
      request.log.info({ operator: request.viewer!.operator, approval: approval.id }, 'console: approval rejected');
      return reply.redirect(`/approvals?done=rejected&id=${approval.id}`, 303);
    },
  );
}

function target(a: Approval): Html | string {
  const merchant = a.params.merchantId;
  return typeof merchant === 'string' ? html`<a href="${href('outlets', merchant)}">${merchant}</a> ` : '';
}

function statePill(a: Approval): Html {
  if (a.state === 'applied' || a.state === 'approved') return pill('ok', a.state);
  if (a.state === 'rejected') return pill('off', 'rejected');
  return pill('bad', a.state);
}

function decideForms(a: Approval, viewer: Viewer): Html | string {
  if (!roleAtLeast(viewer.role, 'supervisor')) return html`<span class="muted">needs a supervisor</span>`;
  if (a.maker === viewer.operator) return html`<span class="muted">yours: another supervisor approves it</span>`;
  return html`<form method="post" action="${href('approvals', a.id, 'approve')}" class="inline tight">${csrfField(viewer)}<button class="primary" type="submit">Approve</button></form>
<form method="post" action="${href('approvals', a.id, 'reject')}" class="inline tight">${csrfField(viewer)}<input name="reason" maxlength="200" placeholder="reason"><button type="submit">Reject</button></form>`;
}
