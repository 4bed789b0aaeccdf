/**
 * The dashboard: is the network healthy right now? Terminals, today's takings and their pace,
 * outlets running out of float, transactions not settled, and when the books were last proved.
 */
import type { FastifyInstance } from 'fastify';
import type { JournalEntry, Merchant, PendingTransaction, VerifyRecord } from '../../admin/index.js';
import { href, html, type Html } from '../html.js';
import { ago, count, csrfField, localTime, pill, table, tile, yuan, type Viewer } from '../layout.js';
import { roleAtLeast } from '../../admin/index.js';
import type { ConsoleContext } from '../server.js';

/** A pending transaction older than this has outlived the core's recovery threshold: it is in doubt. */
export const IN_DOUBT_AFTER_MS = 10_000;
const HOUR_MS = 3_600_000;

export function registerDashboard(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/', { preValidation: context.requires('viewer') }, async (request, reply) => {
    const viewer = request.viewer!;
    const admin = context.admin(viewer);
    const today = admin.businessDay(viewer.now);
    const [report, journal, merchants, terminals, pending, verify] = await Promise.all([
      admin.dailyReport(today),
      admin.journalOfDay(today),
      admin.listMerchants(),
      admin.listTerminals(),
      admin.listPending(),
      admin.lastVerify(),
    ]);
    const lastHour = journal.filter((e) => e.kind === 'pay' && e.ts > viewer.now - HOUR_MS);
    const low = merchants.filter((m) => m.kind !== 'collector' && m.status === 'active' && m.lowFloat).sort((x, y) => x.floatFen - y.floatFen);
    // A collector in the near-cash-limit state (the gateway's rule, as his terminal shows it) is about to be refused payments (CASH_LIMIT): time to hand cash in.
    const nearLimit = merchants.filter((m) => m.kind === 'collector' && m.nearCashLimit).sort((x, y) => y.cashFen / y.cashLimitFen - x.cashFen / x.cashLimitFen);
    const inDoubt = pending.filter((p) => viewer.now - p.createdAt >= IN_DOUBT_AFTER_MS);
    const disabled = terminals.filter((t) => t.status === 'disabled').length;
    const online = terminals.filter((t) => t.online).length;
    const offline = terminals.length - online;
    const { total } = report;

    const body = html`<div class="tiles">
${tile('Terminals online', online, html`<a href="/terminals">${offline} offline</a> of ${terminals.length}, ${disabled} disabled`, offline > 0 ? 'warn' : 'ok')}
${tile("Today's payments", total.payments.count.toLocaleString('en-US'), `${report.date} · ${total.outlets} of ${merchants.length} outlets`)}
${tile('Collected today', yuan(total.netFen), `${yuan(total.payments.amountFen)} paid, ${yuan(total.corrections.amountFen)} corrected`)}
${tile('Last hour', count(lastHour.length, 'payment'), `${yuan(lastHour.reduce((sum, e) => sum + e.amountFen, 0))} collected`)}
${tile('Low floats', low.length, `outlets under their threshold`, low.length > 0 ? 'warn' : 'ok')}
${tile('Collectors', nearLimit.length, 'near their cash limit', nearLimit.length > 0 ? 'warn' : 'ok')}
${tile('Pending', pending.length, `${inDoubt.length} in doubt`, inDoubt.length > 0 ? 'bad' : pending.length > 0 ? 'warn' : 'ok')}
${verifyTile(verify, viewer.now)}
</div>
<div class="grid2">
<section class="card"><h2>Low floats</h2>${lowFloats(low)}<h2>Collectors near their cash limit</h2>${collectors(nearLimit)}</section>
<section class="card"><h2>Pending and in-doubt transactions</h2>${pendingTable(pending, viewer)}</section>
</div>
<section class="card"><h2>Latest payments and corrections</h2>${latest(journal, viewer)}</section>
<section class="card"><h2>The books</h2>${verifySection(verify, viewer)}</section>`;
    return context.render(reply, viewer, '/', 'Dashboard', body);
  });

  app.post('/verify', { preValidation: context.requires('operator') }, async (request, reply) => {
    await context.admin(request.viewer!).verify();
    return reply.redirect('/#books', 303);
  });
}

const LATEST = 10;

function latest(journal: JournalEntry[], viewer: Viewer): Html {
  const moves = journal.filter((e) => e.kind === 'pay' || e.kind === 'correct').sort((x, y) => y.ts - x.ts).slice(0, LATEST);
  return table(
    ['Time', 'Receipt', 'Kind', 'Outlet', 'Terminal', 'Amount'],
    moves.map(
      (e) =>
        html`<tr><td title="${ago(e.ts, viewer.now)}">${localTime(e.ts, viewer.utcOffsetMinutes)}</td><td><a class="mono" href="${href('transactions', e.txn)}">${e.txn}</a></td><td>${e.kind === 'pay' ? 'payment' : 'correction'}</td><td><a href="${href('outlets', e.merchant)}">${e.merchant}</a></td><td class="mono">${e.terminal}</td><td class="num">${e.kind === 'pay' ? '' : '−'}${yuan(e.amountFen)}</td></tr>`,
    ),
    'No payment yet today.',
    { numeric: [5] },
  );
}

function verifyTile(verify: VerifyRecord | null, now: number): Html {
  if (verify === null) return tile('Books', 'unchecked', 'verify has never run here', 'warn');
  if (verify.ok) return tile('Books', 'balance', `verified ${ago(verify.at, now)}`, 'ok');
  return tile('Books', `${verify.discrepancyCount} discrepancies`, `verified ${ago(verify.at, now)}`, 'bad');
}

function lowFloats(low: Merchant[]): Html {
  return table(
    ['Outlet', 'Name', 'Float'],
    low.map((m) => html`<tr><td><a href="${href('outlets', m.id)}">${m.id}</a></td><td>${m.name}</td><td class="num">${pill(m.floatFen <= 0 ? 'bad' : 'warn', yuan(m.floatFen))}</td></tr>`),
    'Every active outlet has enough float.',
    { numeric: [2] },
  );
}

function collectors(near: Merchant[]): Html {
  return table(
    ['Collector', 'Name', 'Cash held', 'Limit'],
    near.map((m) => html`<tr><td><a href="${href('outlets', m.id)}">${m.id}</a></td><td>${m.name}</td><td class="num">${pill(m.cashFen >= m.cashLimitFen ? 'bad' : 'warn', yuan(m.cashFen))}</td><td class="num">${yuan(m.cashLimitFen)}</td></tr>`),
    'No collector is near its cash limit.',
    { numeric: [2, 3] },
  );
}

function pendingTable(pending: PendingTransaction[], viewer: Viewer): Html {
  return table(
    ['Receipt', 'Kind', 'Outlet', 'Account', 'Amount', 'Since'],
    pending.map((p) => {
      const doubt = viewer.now - p.createdAt >= IN_DOUBT_AFTER_MS;
      return html`<tr><td><a class="mono" href="${href('transactions', p.receipt)}">${p.receipt}</a></td><td>${p.kind} ${doubt ? pill('bad', 'in doubt') : pill('warn', 'in flight')}</td><td><a href="${href('outlets', p.merchantId)}">${p.merchantId}</a></td><td class="mono">${p.account}</td><td class="num">${yuan(p.amountFen)}</td><td title="${localTime(p.createdAt, viewer.utcOffsetMinutes)}">${ago(p.createdAt, viewer.now)}</td></tr>`;
    }),
    'Nothing pending: every transaction has settled.',
    { numeric: [4] },
  );
}

function verifySection(verify: VerifyRecord | null, viewer: Viewer): Html {
  const run = roleAtLeast(viewer.role, 'operator')
    ? html`<form method="post" action="/verify" class="inline" id="books">${csrfField(viewer)}<button class="primary" type="submit">Verify the books now</button></form>`
    : '';
  if (verify === null) return html`<p class="empty">verify has not run against this Redis yet.</p>${run}`;
  const c = verify.checked;
  return html`<p>${verify.ok ? pill('ok', 'the books balance') : pill('bad', `${verify.discrepancyCount} discrepancies`)}
 last verified ${localTime(verify.at, viewer.utcOffsetMinutes)} (${ago(verify.at, viewer.now)}): ${c.merchants} merchants, ${c.journalEntries} journal entries, ${c.transactions} transactions, ${c.postings} postings, ${c.accounts} accounts.</p>
${verify.discrepancies.length > 0 ? html`<ul>${verify.discrepancies.map((d) => html`<li class="mono">${d}</li>`)}</ul>` : ''}
${run}`;
}
