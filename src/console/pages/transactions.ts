/**
 * Transaction search: by receipt, account or terminal, on a business day's journal (completed
 * payments, corrections and top-ups).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDate, type JournalEntry } from '../../admin/index.js';
import { href, html } from '../html.js';
import { localTime, table, yuan, type Viewer } from '../layout.js';
import type { ConsoleContext } from '../server.js';

interface SearchQuery {
  receipt?: string;
  terminal?: string;
  date?: string;
}

const QUERY = {
  type: 'object',
  properties: {
    receipt: { type: 'string', pattern: '^([0-9A-Z]{8}[0-9]{10})?$' },
    terminal: { type: 'string', pattern: '^([0-9A-Z]{8})?$' },
    date: { type: 'string', pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$' },
  },
  additionalProperties: false,
} as const;

const RECEIPT_PARAMS = { type: 'object', required: ['receipt'], properties: { receipt: { type: 'string', pattern: '^[0-9A-Z]{8}[0-9]{10}$' } } } as const;

export function registerTransactions(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/transactions', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: SearchQuery }>, reply) => {
    const viewer = request.viewer!;
    const admin = context.admin(viewer);
    const q = request.query;
    const day = q.date ? parseDate(q.date) : admin.businessDay(viewer.now);
    const searching = Boolean(q.receipt || q.terminal);
    const entries = searching
      ? (await admin.journalOfDay(day)).filter((e) => (!q.receipt || e.txn === q.receipt || e.original === q.receipt) && (!q.terminal || e.terminal === q.terminal))
      : [];
    const body = html`<form method="get" action="/transactions" class="inline">
<label>Receipt <input name="receipt" value="${q.receipt ?? ''}" maxlength="18" pattern="[0-9A-Z]{8}[0-9]{10}" placeholder="DON000010000000042" class="mono"></label>
<label>Terminal <input name="terminal" value="${q.terminal ?? ''}" maxlength="8" pattern="[0-9A-Z]{8}" class="mono"></label>
<label>Business day <input type="date" name="date" value="${q.date ?? ''}"></label>
<button class="primary" type="submit">Search</button>
</form>
<section class="card">${searching ? results(entries, viewer) : html`<p class="empty">Type a receipt or a terminal id.</p>`}</section>`;
    return context.render(reply, viewer, '/transactions', 'Transactions', body);
  });

  app.get('/transactions/:receipt', { preValidation: context.requires('viewer'), schema: { params: RECEIPT_PARAMS } }, async (request: FastifyRequest<{ Params: { receipt: string } }>, reply) =>
    reply.redirect(`/transactions?receipt=${encodeURIComponent(request.params.receipt)}`, 303),
  );
}

function results(entries: JournalEntry[], viewer: Viewer) {
  return table(
    ['Time', 'Kind', 'Receipt', 'Outlet', 'Terminal', 'Amount', 'Float after'],
    entries.map(
      (e) =>
        html`<tr><td>${localTime(e.ts, viewer.utcOffsetMinutes)}</td><td>${e.kind}${e.original ? html` of <span class="mono">${e.original}</span>` : ''}</td><td class="mono">${e.txn}</td><td><a href="${href('outlets', e.merchant)}">${e.merchant}</a></td><td class="mono">${e.terminal}</td><td class="num">${yuan(e.amountFen)}</td><td class="num">${yuan(e.floatFen)}</td></tr>`,
    ),
    'No transaction found.',
    { numeric: [5, 6] },
  );
}
