/**
 * The daily report: the same figures as `aircharge report daily`, with the operator's sentence,
 * a chart of what each outlet collected and one of payments per hour of the day.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { businessDayRange, parseDate, reportCsv, reportSummary } from '../../admin/index.js';
import { columns, horizontalBars } from '../charts.js';
import { href, html, query } from '../html.js';
import { table, yuan } from '../layout.js';
import type { ConsoleContext } from '../server.js';

const QUERY = {
  type: 'object',
  properties: { date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } },
  additionalProperties: false,
} as const;

export function registerReport(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/report.csv', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: { date?: string } }>, reply) => {
    const admin = context.admin(request.viewer!);
    const day = request.query.date === undefined ? admin.businessDay(request.viewer!.now) : parseDate(request.query.date);
    const report = await admin.dailyReport(day);
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="aircharge-report-${report.date}.csv"`).send(reportCsv(report));
  });

  app.get('/report', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: { date?: string } }>, reply) => {
    const viewer = request.viewer!;
    const admin = context.admin(viewer);
    const day = request.query.date === undefined ? admin.businessDay(viewer.now) : parseDate(request.query.date);
    const [report, journal] = await Promise.all([admin.dailyReport(day), admin.journalOfDay(day)]);

    // Payments per local hour since the business day began (its cut-off may not be midnight).
    const [startMs] = businessDayRange(day, context.businessDay);
    const hours = Array.from({ length: 24 }, () => ({ count: 0, fen: 0 }));
    for (const e of journal) {
      if (e.kind !== 'pay') continue;
      const hour = Math.min(23, Math.max(0, Math.floor((e.ts - startMs) / 3_600_000)));
      hours[hour]!.count += 1;
      hours[hour]!.fen += e.amountFen;
    }
    const startHour = Math.floor(((startMs / 60_000 + context.businessDay.utcOffsetMinutes) % 1440 + 1440) % 1440 / 60);
    const hourBars = hours.map((h, i) => ({ label: String((startHour + i) % 24).padStart(2, '0'), value: h.count, caption: String(h.count) }));
    const outletBars = report.outlets
      .filter((o) => o.payments.count > 0 || o.corrections.count > 0)
      .sort((x, y) => y.netFen - x.netFen)
      .map((o) => ({ label: o.merchant, value: o.netFen, caption: `${yuan(o.netFen)} · ${o.payments.count}` }));

    const body = html`<form method="get" action="/report" class="inline">
<label>Business day <input type="date" name="date" value="${report.date}" required></label>
<button class="primary" type="submit">Show</button>
<a href="${query('/report.csv', { date: report.date })}">Download CSV</a>
</form>
<p class="summary"><strong>Daily report ${report.date}: ${reportSummary(report)}</strong>${report.total.corrections.count > 0 ? html` (after ${report.total.corrections.count} corrections, ${yuan(report.total.corrections.amountFen)})` : ''}.</p>
<section class="card"><h2>Collected per outlet</h2>${outletBars.length === 0 ? html`<p class="empty">No payments on this day.</p>` : horizontalBars(`Net collected per outlet on ${report.date}`, outletBars)}</section>
<section class="card"><h2>Payments per hour</h2>${columns(`Payments per hour on ${report.date}`, hourBars)}</section>
<section class="card"><h2>Per outlet</h2>${table(
      ['Outlet', 'Payments', 'Paid', 'Corrections', 'Corrected', 'Net'],
      [
        ...report.outlets.map(
          (o) =>
            html`<tr><td><a href="${href('outlets', o.merchant)}">${o.merchant}</a></td><td class="num">${o.payments.count}</td><td class="num">${yuan(o.payments.amountFen)}</td><td class="num">${o.corrections.count}</td><td class="num">${yuan(o.corrections.amountFen)}</td><td class="num">${yuan(o.netFen)}</td></tr>`,
        ),
        html`<tr class="total"><th>Total</th><th class="num">${report.total.payments.count}</th><th class="num">${yuan(report.total.payments.amountFen)}</th><th class="num">${report.total.corrections.count}</th><th class="num">${yuan(report.total.corrections.amountFen)}</th><th class="num">${yuan(report.total.netFen)}</th></tr>`,
      ],
      'No outlets.',
      { numeric: [1, 2, 3, 4, 5] },
    )}</section>`;
    return context.render(reply, viewer, '/report', 'Daily report', body);
  });
}
