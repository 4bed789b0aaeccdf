/**
 * The fleet: every terminal on one page, the ones that need a look first (Traccar's device list
 * is the model): which outlet it serves, whether it may sign in, its key version and last
 * sequence number.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { href, html } from '../html.js';
import { pill, table } from '../layout.js';
import type { ConsoleContext } from '../server.js';

const QUERY = {
  type: 'object',
  properties: { merchant: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' } },
  additionalProperties: false,
} as const;

export function registerTerminals(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/terminals', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: { merchant?: string } }>, reply) => {
    const viewer = request.viewer!;
    const { merchant } = request.query;
    const terminals = await context.admin(viewer).listTerminals(merchant);
    // Disabled terminals first: they are the ones an operator acts on.
    terminals.sort((x, y) => (x.status === y.status ? 0 : x.status === 'disabled' ? -1 : 1));
    const body = html`${merchant === undefined ? '' : html`<p>Outlet <a href="${href('outlets', merchant)}">${merchant}</a> · <a href="/terminals">all terminals</a></p>`}
<section class="card">${table(
      ['Terminal', 'Outlet', 'Status', 'Key', 'Last seq'],
      terminals.map(
        (t) =>
          html`<tr><td class="mono">${t.terminalId}</td><td><a href="${href('outlets', t.merchantId)}">${t.merchantId}</a></td><td>${t.status === 'active' ? pill('ok', 'active') : pill('bad', 'disabled')}</td><td>v${t.keyVersion}</td><td class="num">${t.hwm}</td></tr>`,
      ),
      'No terminals yet: `aircharge terminal add` provisions one.',
      { numeric: [4] },
    )}</section>`;
    return context.render(reply, viewer, '/terminals', 'Terminals', body);
  });
}
