/**
 * The fleet: every terminal on one page, the ones that need a look first (Traccar's device list
 * is the model): which outlet it serves, whether it may sign in, whether it is connected now and
 * when it was last heard from, the health of its last heartbeat, its key version and last
 * sequence number.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HealthView, Terminal } from '../../admin/index.js';
import { href, html, type Html } from '../html.js';
import { ago, localTime, pill, table, type Viewer } from '../layout.js';
import type { ConsoleContext } from '../server.js';

const QUERY = {
  type: 'object',
  properties: { merchant: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' } },
  additionalProperties: false,
} as const;

/** Disabled, then offline, then the rest, each by id: the ones an operator acts on come first. */
function needsALook(t: Terminal): number {
  return t.status === 'disabled' ? 0 : t.online ? 2 : 1;
}

export function registerTerminals(app: FastifyInstance, context: ConsoleContext): void {
  app.get('/terminals', { preValidation: context.requires('viewer'), schema: { querystring: QUERY } }, async (request: FastifyRequest<{ Querystring: { merchant?: string } }>, reply) => {
    const viewer = request.viewer!;
    const { merchant } = request.query;
    const terminals = await context.admin(viewer).listTerminals(merchant);
    terminals.sort((x, y) => needsALook(x) - needsALook(y) || (x.terminalId < y.terminalId ? -1 : 1));
    const online = terminals.filter((t) => t.online).length;
    const body = html`${merchant === undefined ? '' : html`<p>Outlet <a href="${href('outlets', merchant)}">${merchant}</a> · <a href="/terminals">all terminals</a></p>`}
<p class="summary">${online} online, ${terminals.length - online} offline</p>
<section class="card">${table(
      ['Terminal', 'Outlet', 'Status', 'Connection', 'Last seen', 'Health', 'Firmware', 'Bad MACs', 'Key', 'Last seq'],
      terminals.map(
        (t) =>
          html`<tr data-terminal="${t.terminalId}"><td class="mono">${t.terminalId}</td><td><a href="${href('outlets', t.merchantId)}">${t.merchantId}</a></td><td>${statusCell(t)}</td><td>${connectionCell(t)}</td><td>${seenCell(t, viewer)}</td><td>${healthCell(t.health)}</td><td class="mono">${t.firmware ?? '—'}</td><td class="num">${t.badMacs}</td><td>v${t.keyVersion}</td><td class="num">${t.hwm}</td></tr>`,
      ),
      'No terminals yet: `aircharge terminal add` provisions one.',
      { numeric: [7, 9] },
    )}</section>`;
    return context.render(reply, viewer, '/terminals', 'Terminals', body);
  });
}

export function statusCell(t: Terminal): Html {
  return t.status === 'active' ? pill('ok', 'active') : pill('bad', 'disabled');
}

/** online (on which gateway instance) or offline. */
export function connectionCell(t: Terminal): Html {
  return t.online ? html`${pill('ok', 'online')} <span class="muted mono">${t.instance ?? ''}</span>` : pill('off', 'offline');
}

export function seenCell(t: Terminal, viewer: Viewer): Html {
  if (t.lastSeen === null) return html`<span class="muted">never</span>`;
  return html`<span title="${localTime(t.lastSeen, viewer.utcOffsetMinutes)}">${ago(t.lastSeen, viewer.now)}</span>`;
}

/** The last heartbeat's report: signal (weak in amber), power and battery, printer (not ok in red). */
export function healthCell(h: HealthView | null): Html {
  if (h === null) return html`<span class="muted">not reported</span>`;
  const signal = h.signal === null ? pill('off', 'signal ?') : pill(h.signalClass === 'weak' ? 'warn' : 'ok', `signal ${h.signal}`);
  const power = h.power === 'battery' ? pill(h.battery !== null && h.battery < 20 ? 'bad' : 'warn', `battery${h.battery === null ? '' : ` ${h.battery}%`}`) : html`<span class="muted">${h.power}</span>`;
  const printer = h.printer === 'ok' ? pill('ok', 'printer ok') : h.printer === 'unknown' ? pill('off', 'printer ?') : pill(h.printer === 'paper-low' ? 'warn' : 'bad', h.printer);
  return html`${signal} ${power} ${printer}`;
}
