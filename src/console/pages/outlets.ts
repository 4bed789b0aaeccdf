/**
 * Outlets: the list (float, today's takings) and a page per outlet answering "how is this shop
 * doing": its float, today's figures, its statement (the journal, newest first), its terminals,
 * and for an operator the top-up form, which goes through the admin API like `float topup`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AdminError, AdminErrorCode, parseYuan } from '../../admin/index.js';
import type { JournalEntry, Merchant } from '../../admin/index.js';
import { href, html, type Html } from '../html.js';
import { csrfField, localTime, pill, table, yuan, type Viewer } from '../layout.js';
import { roleAtLeast } from '../../admin/index.js';
import type { ConsoleContext } from '../server.js';
import { connectionCell, healthCell, seenCell, statusCell } from './terminals.js';

const STATEMENT_LENGTH = 50;
const MERCHANT_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' } },
} as const;
const NOTICE_QUERY = {
  type: 'object',
  properties: { done: { type: 'string', enum: ['topup'] }, entry: { type: 'string', pattern: '^[0-9]{1,20}-[0-9]{1,20}$' } },
  additionalProperties: false,
} as const;
const TOPUP_BODY = {
  type: 'object',
  required: ['amount', 'reference', '_csrf'],
  properties: {
    amount: { type: 'string', minLength: 1, maxLength: 16 },
    reference: { type: 'string', minLength: 1, maxLength: 64 },
    reason: { type: 'string', maxLength: 200 },
    _csrf: { type: 'string', maxLength: 64 },
  },
  additionalProperties: false,
} as const;

export function registerOutlets(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/outlets', { preValidation: context.requires('viewer') }, async (request, reply) => {
    const viewer = request.viewer!;
    const admin = context.admin(viewer);
    const [merchants, report] = await Promise.all([admin.listMerchants(), admin.dailyReport(admin.businessDay(viewer.now))]);
    const today = new Map(report.outlets.map((o) => [o.merchant, o]));
    const rows = merchants.map((m) => {
      const t = today.get(m.id);
      return html`<tr><td><a href="${href('outlets', m.id)}">${m.id}</a></td><td>${m.name}</td><td>${statusPill(m)}</td><td>${m.kind}</td><td class="num">${balanceCell(m)}</td><td class="num">${m.terminals.length}</td><td class="num">${t?.payments.count ?? 0}</td><td class="num">${yuan(t?.netFen ?? 0)}</td></tr>`;
    });
    const body = html`<section class="card">${table(['Outlet', 'Name', 'Status', 'Kind', 'Float or cash held', 'Terminals', 'Payments today', 'Collected today'], rows, 'No outlets yet: `aircharge merchant add` makes one.', { numeric: [4, 5, 6, 7] })}</section>`;
    return context.render(reply, viewer, '/outlets', 'Outlets', body);
  });

  app.get(
    '/outlets/:id',
    { preValidation: context.requires('viewer'), schema: { params: MERCHANT_PARAMS, querystring: NOTICE_QUERY } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { done?: string; entry?: string } }>, reply) => {
      const viewer = request.viewer!;
      const admin = context.admin(viewer);
      const merchant = await admin.showMerchant(request.params.id);
      const day = admin.businessDay(viewer.now);
      const [statement, terminals, report] = await Promise.all([
        admin.statement(merchant.id, STATEMENT_LENGTH),
        admin.listTerminals(merchant.id),
        admin.dailyReport(day),
      ]);
      const figures = report.outlets.find((o) => o.merchant === merchant.id);
      const notice = request.query.done === 'topup' ? html`<p class="notice ok" role="status">Top-up recorded${request.query.entry === undefined ? '' : html` (journal entry <span class="mono">${request.query.entry}</span>)`}.</p>` : '';
      const body = html`${notice}
<div class="grid2">
<section class="card"><h2>Balance</h2>
<dl class="facts">
<dt>Name</dt><dd>${merchant.name}</dd>
<dt>Status</dt><dd>${statusPill(merchant)}</dd>
<dt>Kind</dt><dd>${merchant.kind}</dd>
${merchant.kind === 'collector' ? html`<dt>Cash held</dt><dd>${balanceCell(merchant)} of a ${yuan(merchant.cashLimitFen)} limit</dd>` : html`<dt>Float</dt><dd>${balanceCell(merchant)}</dd>`}
<dt>Today (${report.date})</dt><dd>${figures?.payments.count ?? 0} payments ${yuan(figures?.payments.amountFen ?? 0)}, ${figures?.corrections.count ?? 0} corrections ${yuan(figures?.corrections.amountFen ?? 0)}, net ${yuan(figures?.netFen ?? 0)}</dd>
</dl>
${topUpForm(merchant, viewer)}
</section>
<section class="card"><h2>Terminals</h2>${table(
        ['Terminal', 'Status', 'Connection', 'Last seen', 'Health', 'Last seq'],
        terminals.map((t) => html`<tr data-terminal="${t.terminalId}"><td class="mono">${t.terminalId}</td><td>${statusCell(t)}</td><td>${connectionCell(t)}</td><td>${seenCell(t, viewer)}</td><td>${healthCell(t.health)}</td><td class="num">${t.hwm}</td></tr>`),
        'No terminal provisioned for this outlet.',
        { numeric: [5] },
      )}</section>
</div>
<section class="card"><h2>Statement <span class="muted">(last ${STATEMENT_LENGTH} movements, newest first)</span></h2>${statementTable(statement, viewer)}</section>`;
      return context.render(reply, viewer, '/outlets', `Outlet ${merchant.id}`, body);
    },
  );

  app.post(
    '/outlets/:id/topup',
    { preValidation: context.requires('operator'), schema: { params: MERCHANT_PARAMS, body: TOPUP_BODY } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: { amount: string; reference: string; reason?: string } }>, reply) => {
      const viewer = request.viewer!;
      const amountFen = parseYuan(request.body.amount.trim());
      const { reference, reason } = request.body;
      const result = await context
        .admin(viewer)
        .topUp(request.params.id, amountFen, { reference: reference.trim(), ...(reason ? { reason } : {}) })
        .catch((error: unknown) => {
          // Above the approval limit nothing moved: the top-up waits in the approvals queue.
          if (error instanceof AdminError && error.code === AdminErrorCode.PENDING_APPROVAL) return error.details[0] ?? '';
          throw error;
        });
      if (typeof result === 'string') return reply.redirect(`/approvals?held=${encodeURIComponent(result)}`, 303);
      request.log.info({ operator: viewer.operator, merchant: result.merchantId, amountFen, floatFen: result.floatFen }, 'console: float topped up');
      return reply.redirect(`${href('outlets', result.merchantId)}?done=topup&entry=${encodeURIComponent(result.entry)}`, 303);
    },
  );
}

function statusPill(m: Merchant): Html {
  return m.status === 'active' ? pill('ok', 'active') : pill('bad', 'disabled');
}

/** An outlet's float (amber in the low-float warning state, red when empty) or a collector's cash held (amber in the near-cash-limit state, red at the limit). */
function balanceCell(m: Merchant): Html {
  if (m.kind === 'collector') {
    if (m.cashLimitFen > 0 && m.cashFen >= m.cashLimitFen) return pill('bad', yuan(m.cashFen));
    if (m.nearCashLimit) return pill('warn', yuan(m.cashFen));
    return html`${yuan(m.cashFen)}`;
  }
  if (m.floatFen <= 0) return pill('bad', yuan(m.floatFen));
  if (m.lowFloat) return pill('warn', yuan(m.floatFen));
  return html`${yuan(m.floatFen)}`;
}

function topUpForm(merchant: Merchant, viewer: Viewer): Html {
  if (merchant.kind === 'collector') return html`<p class="muted">A collector hands cash in with \`aircharge collector remit\`; it has no float to top up.</p>`;
  if (!roleAtLeast(viewer.role, 'operator')) return html`<p class="muted">Top-ups need the operator role.</p>`;
  return html`<h2>Top up the float</h2>
<form method="post" action="${href('outlets', merchant.id, 'topup')}" class="inline">
${csrfField(viewer)}
<label>Amount (yuan) <input name="amount" inputmode="decimal" pattern="(0|[1-9][0-9]*)(\\.[0-9]{1,2})?" required maxlength="16" placeholder="5000.00"></label>
<label>Reference (bank transfer) <input name="reference" required maxlength="64" pattern="[!-~]{1,64}" placeholder="BANK-20261203-001"></label>
<label>Reason <input name="reason" maxlength="200"></label>
<button class="primary" type="submit">Top up</button>
</form>`;
}

const KIND_LABEL: Record<string, string> = { topup: 'top-up', pay: 'payment', correct: 'correction' };

function statementTable(entries: JournalEntry[], viewer: Viewer): Html {
  return table(
    ['Time', 'Movement', 'Receipt', 'Terminal', 'Amount', 'Float after'],
    entries.map((e) => {
      const credit = e.kind !== 'pay';
      return html`<tr><td>${localTime(e.ts, viewer.utcOffsetMinutes)}</td><td>${KIND_LABEL[e.kind] ?? e.kind}</td><td>${e.txn === '' ? '' : html`<a class="mono" href="${href('transactions', e.txn)}">${e.txn}</a>`}</td><td class="mono">${e.terminal}</td><td class="num">${credit ? '+' : '−'}${yuan(e.amountFen)}</td><td class="num">${yuan(e.floatFen)}</td></tr>`;
    }),
    'No movement yet.',
    { numeric: [4, 5] },
  );
}
