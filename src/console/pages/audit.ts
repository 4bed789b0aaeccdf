/**
 * The audit log: who did what, when, with the state before and after, newest first, filtered
 * like `aircharge audit list`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseSince, type AuditEntry } from '../../admin/index.js';
import { html, query, type Html } from '../html.js';
import { facts, localTime, table } from '../layout.js';
import type { ConsoleContext } from '../server.js';

interface AuditQuerystring {
  operator?: string;
  action?: string;
  target?: string;
  since?: string;
  limit?: number;
}

const QUERY = {
  type: 'object',
  properties: {
    operator: { type: 'string', maxLength: 64 },
    action: { type: 'string', maxLength: 64, pattern: '^[a-z0-9.-]*$' },
    target: { type: 'string', maxLength: 100 },
    since: { type: 'string', maxLength: 32 },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  additionalProperties: false,
} as const;

export function registerAudit(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/audit', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: AuditQuerystring }>, reply) => {
    const viewer = request.viewer!;
    const q = request.query;
    const limit = q.limit ?? 100;
    const filters = {
      ...(q.operator ? { operator: q.operator } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(q.since ? { since: parseSince(q.since, viewer.now, viewer.utcOffsetMinutes) } : {}),
    };
    const entries = await context.admin(viewer).listAudit({ ...filters, limit });
    const body = html`<form method="get" action="/audit" class="inline">
<label>Operator <input name="operator" value="${q.operator ?? ''}" maxlength="64"></label>
<label>Action <input name="action" value="${q.action ?? ''}" maxlength="64" placeholder="float.topup"></label>
<label>Target <input name="target" value="${q.target ?? ''}" maxlength="100" placeholder="SHOP01"></label>
<label>Since <input name="since" value="${q.since ?? ''}" maxlength="32" placeholder="1h, 7d, 2026-12-03"></label>
<button class="primary" type="submit">Filter</button>
</form>
<section class="card">${table(
      ['Time', 'Operator', 'Action', 'Target', 'Before', 'After', 'Reason', 'Ticket'],
      entries.map(row(viewer.utcOffsetMinutes)),
      'No audit entry matches.',
    )}${entries.length === limit ? html`<p class="pager"><a href="${query('/audit', { ...q, limit: Math.min(1000, limit * 2) })}">Show more</a></p>` : ''}</section>`;
    return context.render(reply, viewer, '/audit', 'Audit log', body);
  });
}

const row = (utcOffsetMinutes: number) => (e: AuditEntry): Html =>
  html`<tr><td>${localTime(e.at, utcOffsetMinutes)}</td><td>${e.operator === '' ? html`<span class="muted">unnamed</span>` : e.operator}</td><td class="mono">${e.action}</td><td class="mono">${e.target}</td><td>${facts(e.before, utcOffsetMinutes)}</td><td>${facts(e.after, utcOffsetMinutes)}</td><td>${e.reason}</td><td>${e.ticket}</td></tr>`;
