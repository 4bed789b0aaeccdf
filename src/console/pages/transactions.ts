/**
 * Finding a payment: by receipt (every fact of it, as `aircharge txn show`), or by account or
 * terminal, optionally one business day and declines only, newest first and paged (as `txn find`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatDate, parseDate, postingFacts, requestInWords, type Txn, type TxnDetail } from '../../admin/index.js';
import { href, html, query, type Html } from '../html.js';
import { localTime, pill, table, yuan } from '../layout.js';
import type { ConsoleContext } from '../server.js';

interface SearchQuery {
  receipt?: string;
  account?: string;
  terminal?: string;
  date?: string;
  declined?: string;
  cursor?: string;
}

const PAGE = 50;
const QUERY = {
  type: 'object',
  properties: {
    receipt: { type: 'string', pattern: '^ *([0-9A-Z]{8}[0-9]{10})? *$' },
    account: { type: 'string', pattern: '^ *([0-9]{10})? *$' },
    terminal: { type: 'string', pattern: '^ *([0-9A-Z]{8})? *$' },
    date: { type: 'string', pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$' },
    declined: { type: 'string', enum: ['', 'on'] },
    cursor: { type: 'string', maxLength: 40 },
  },
  additionalProperties: false,
} as const;
const RECEIPT_PARAMS = { type: 'object', required: ['receipt'], properties: { receipt: { type: 'string', pattern: '^[0-9A-Z]{8}[0-9]{10}$' } } } as const;

export function registerTransactions(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/transactions', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: SearchQuery }>, reply) => {
    const viewer = request.viewer!;
    const q = Object.fromEntries(Object.entries(request.query).map(([k, v]) => [k, v.trim()])) as SearchQuery;
    if (q.receipt) return reply.redirect(href('transactions', q.receipt), 303);
    const searching = Boolean(q.account || q.terminal);
    const page = searching
      ? await context.admin(viewer).findTxns({
          ...(q.account ? { account: q.account } : {}),
          ...(q.terminal ? { terminal: q.terminal } : {}),
          ...(q.date ? { day: parseDate(q.date) } : {}),
          ...(q.declined === 'on' ? { declined: true } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
          limit: PAGE,
        })
      : null;
    const body = html`${searchForm(q)}
<section class="card">${page === null ? html`<p class="empty">Type a receipt (it opens the transaction), or an account or a terminal id to list its transactions, declines included.</p>` : html`${txnTable(page.transactions)}${
      page.cursor === null ? '' : html`<p class="pager"><a href="${query('/transactions', { ...q, cursor: page.cursor })}">Older transactions →</a></p>`
    }`}</section>`;
    return context.render(reply, viewer, '/transactions', 'Transactions', body);
  });

  app.get('/transactions/:receipt', { preValidation: context.requires('viewer'), schema: { params: RECEIPT_PARAMS } }, async (request: FastifyRequest<{ Params: { receipt: string } }>, reply) => {
    const viewer = request.viewer!;
    const txn = await context.admin(viewer).showTxn(request.params.receipt);
    const body = html`${searchForm({})}${detail(txn, viewer.utcOffsetMinutes)}`;
    return context.render(reply, viewer, '/transactions', `Transaction ${txn.receipt}`, body);
  });
}

function searchForm(q: SearchQuery): Html {
  return html`<form method="get" action="/transactions" class="inline search">
<label>Receipt <input name="receipt" value="${q.receipt ?? ''}" maxlength="18" pattern="[0-9A-Z]{8}[0-9]{10}" placeholder="terminal id + 10 digits" class="mono"></label>
<label>Account <input name="account" value="${q.account ?? ''}" maxlength="10" pattern="[0-9]{10}" class="mono"></label>
<label>Terminal <input name="terminal" value="${q.terminal ?? ''}" maxlength="8" pattern="[0-9A-Z]{8}" class="mono"></label>
<label>Business day <input type="date" name="date" value="${q.date ?? ''}"></label>
<label class="check"><span><input type="checkbox" name="declined" value="on"${q.declined === 'on' ? html` checked` : ''}> declined only</span></label>
<button class="primary" type="submit">Search</button>
</form>`;
}

export function statePill(t: Pick<Txn, 'state' | 'result' | 'correctedBy' | 'reversedBy'>): Html {
  if (t.state === 'pending') return pill('warn', 'pending');
  if (t.state === 'declined') return pill('bad', `declined ${t.result?.name ?? ''}`.trim());
  if (t.correctedBy !== null) return pill('off', 'corrected');
  if (t.reversedBy !== null) return pill('off', 'reversed');
  return pill('ok', 'approved');
}

function txnTable(txns: Txn[]): Html {
  return table(
    ['Time', 'Receipt', 'Kind', 'State', 'Outlet', 'Terminal', 'Account', 'Amount'],
    txns.map(
      (t) =>
        html`<tr><td>${t.createdLocal}</td><td><a class="mono" href="${href('transactions', t.receipt)}">${t.receipt}</a></td><td>${t.kind}</td><td>${statePill(t)}</td><td><a href="${href('outlets', t.merchantId)}">${t.merchantId}</a></td><td class="mono">${t.terminalId}</td><td class="mono">${t.account}</td><td class="num">${yuan(t.amountFen)}</td></tr>`,
    ),
    'No transaction found.',
    { numeric: [7] },
  );
}

const receiptLink = (receipt: string | null): Html | string => (receipt === null ? '—' : html`<a class="mono" href="${href('transactions', receipt)}">${receipt}</a>`);
const money = (fen: number | null): string => (fen === null ? '—' : yuan(fen));

function detail(t: TxnDetail, utcOffsetMinutes: number): Html {
  const lines: Array<[string, Html | string]> = [
    ['State', html`${statePill(t)} ${t.result === null ? '' : html`<span class="mono">${t.result.name}</span>`}${t.declinedEarly ? ' (declined before it became a transaction)' : ''}`],
    ['Kind', `${t.kind}${t.origin === 'terminal' ? '' : ` (${t.origin})`}`],
    ['Amount', yuan(t.amountFen)],
    ['Outlet', html`<a href="${href('outlets', t.merchantId)}">${t.merchantId}</a> ${t.merchantName}`],
    ['Terminal', html`<a class="mono" href="${query('/transactions', { terminal: t.terminalId })}">${t.terminalId}</a>, request seq ${t.seq}`],
    ['Account', html`<a class="mono" href="${query('/transactions', { account: t.account })}">${t.account}</a> ${t.accountName ?? ''}`],
    ['Business day', formatDate(t.businessDay)],
    ['Received', t.createdLocal],
    ['Completed', t.completedLocal ?? '—'],
    ['Float after', money(t.floatAfterFen)],
    ['Arrears after', money(t.arrearsAfterFen)],
  ];
  if (t.original !== null) lines.push(['Original payment', receiptLink(t.original)]);
  if (t.correctedBy !== null) lines.push(['Corrected by', receiptLink(t.correctedBy)]);
  if (t.reversedBy !== null) lines.push(['Reversed by', receiptLink(t.reversedBy)]);
  if (t.operator !== null) lines.push(['Operator', `${t.operator.name}: ${t.operator.reason}${t.operator.ticket === '' ? '' : ` (ticket ${t.operator.ticket})`}`]);
  const posting = t.posting === null
    ? html`<p class="empty">No posting at the embedded biller for this receipt.</p>`
    : html`<dl class="facts">${postingFacts(t.posting, (at) => localTime(at, utcOffsetMinutes)).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
  return html`<div class="grid2">
<section class="card"><h2>Transaction</h2><dl class="facts">${lines.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl></section>
<section class="card"><h2>At the biller</h2>${posting}
<h2>Terminal's request record</h2>${t.request === null ? html`<p class="empty">Past the replay retention (the transaction record above is kept for good).</p>` : html`<p>${requestInWords(t.request, t.seq)}</p>`}</section>
</div>`;
}
