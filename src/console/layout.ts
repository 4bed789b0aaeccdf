/**
 * The frame of every page (navigation, who is logged in, the logout form), the style sheet, and
 * the small formatters pages share. Pages are plain HTML and forms: they read without JavaScript.
 */
import { formatLocalTime, formatYuan } from '../admin/index.js';
import { html, type Html, type Value } from './html.js';
import { roleAtLeast, type Role } from '../admin/index.js';

export interface Viewer {
  operator: string;
  role: Role;
  csrf: string;
  /** Local time zone of the business day, minutes east of UTC. */
  utcOffsetMinutes: number;
  now: number;
}

const NAV: ReadonlyArray<{ path: string; label: string; role: Role }> = [
  { path: '/', label: 'Dashboard', role: 'viewer' },
  { path: '/terminals', label: 'Terminals', role: 'viewer' },
  { path: '/outlets', label: 'Outlets', role: 'viewer' },
  { path: '/transactions', label: 'Transactions', role: 'viewer' },
  { path: '/report', label: 'Daily report', role: 'viewer' },
  { path: '/approvals', label: 'Approvals', role: 'viewer' },
  { path: '/audit', label: 'Audit log', role: 'viewer' },
];

export function page(viewer: Viewer, current: string, title: string, body: Html): Html {
  const nav = NAV.filter((item) => roleAtLeast(viewer.role, item.role)).map(
    (item) => html`<a href="${item.path}"${item.path === current ? html` aria-current="page"` : ''}>${item.label}</a>`,
  );
  return document(
    title,
    html`<header class="top">
  <a class="brand" href="/">aircharge</a>
  <nav>${nav}</nav>
  <form class="who" method="post" action="/logout">
    <span>${viewer.operator} <span class="role">${viewer.role}</span></span>
    ${csrfField(viewer)}<button type="submit" class="link">Log out</button>
  </form>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
<footer>Page read ${localTime(viewer.now, viewer.utcOffsetMinutes)}.</footer>`,
  );
}

/** A page without navigation (login, errors before login). */
export function document(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · aircharge console</title>
<link rel="stylesheet" href="/console.css">
</head>
<body>
${body}
</body>
</html>
`;
}

export function csrfField(viewer: Pick<Viewer, 'csrf'>): Html {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrf}">`;
}

/** "¥6,179,615.25" */
export function yuan(fen: number): string {
  return `¥${formatYuan(fen, { grouped: true })}`;
}

/** "2026-12-03 16:04:05 +08:00" in the business day's time zone (the admin CLI's form); "—" for no time. */
export function localTime(epochMs: number, utcOffsetMinutes: number): string {
  if (!Number.isFinite(epochMs) || epochMs <= 0) return '—';
  return formatLocalTime(epochMs, utcOffsetMinutes);
}

/** "4 s ago", "12 min ago", "3 h ago", "5 d ago". */
export function ago(epochMs: number, now: number): string {
  if (!Number.isFinite(epochMs) || epochMs <= 0) return 'never';
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** "1 payment", "2 payments". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * A stored state (audit before/after, an approval's parameters) as name-value lines, money read in yuan:
 * a field named …Fen holds fen, `at` an instant.
 */
export function facts(value: unknown, utcOffsetMinutes: number): Html {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`;
  if (typeof value !== 'object') return html`${String(value)}`;
  return html`<dl class="kv">${Object.entries(value as Record<string, unknown>).map(
    ([name, v]) => html`<dt>${name.endsWith('Fen') ? name.slice(0, -3) : name}</dt><dd class="mono">${readable(name, v, utcOffsetMinutes)}</dd>`,
  )}</dl>`;
}

function readable(name: string, value: unknown, utcOffsetMinutes: number): string {
  if (name.endsWith('Fen') && Number.isSafeInteger(Number(value)) && value !== '') return yuan(Number(value));
  if (name === 'at' && Number.isSafeInteger(Number(value))) return localTime(Number(value), utcOffsetMinutes);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A coloured label: ok (green), warn (amber), bad (red), off (grey). */
export function pill(kind: 'ok' | 'warn' | 'bad' | 'off', text: string): Html {
  return html`<span class="pill ${kind}">${text}</span>`;
}

/** A table with a header row, or a sentence when there are no rows. */
export function table(headers: readonly Value[], rows: readonly Html[], empty: string, options: { numeric?: readonly number[] } = {}): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  const numeric = new Set(options.numeric ?? []);
  return html`<table>
<thead><tr>${headers.map((h, i) => html`<th${numeric.has(i) ? html` class="num"` : ''}>${h}</th>`)}</tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

/** Big-number tiles at the top of the dashboard. */
export function tile(label: string, value: Value, detail: Value = '', kind: 'ok' | 'warn' | 'bad' | '' = ''): Html {
  return html`<div class="tile ${kind}"><div class="label">${label}</div><div class="value">${value}</div><div class="detail">${detail}</div></div>`;
}

export const STYLE = `
:root { --ink:#1d2733; --muted:#5f6b7a; --line:#d9dee5; --bg:#f4f6f8; --card:#fff; --accent:#1f5f9e;
  --ok:#1e7d3b; --ok-bg:#e3f3e7; --warn:#8a5a00; --warn-bg:#fdf0d2; --bad:#a4231c; --bad-bg:#fbe3e1; --off:#59636e; --off-bg:#eceff2; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color:var(--ink); background:var(--bg); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
header.top { display:flex; align-items:center; gap:24px; padding:0 24px; height:48px; background:#16212e; color:#dfe6ee; }
header.top .brand { color:#fff; font-weight:700; letter-spacing:.02em; }
header.top nav { display:flex; gap:4px; flex:1; }
header.top nav a { color:#c4cfdb; padding:14px 10px; border-bottom:3px solid transparent; }
header.top nav a[aria-current=page] { color:#fff; border-bottom-color:#5fa8ea; }
header.top nav a:hover { color:#fff; text-decoration:none; }
.who { display:flex; align-items:center; gap:10px; margin:0; }
.role { font-size:12px; padding:1px 6px; border-radius:8px; background:#2c3b4d; color:#c4cfdb; }
button.link { background:none; border:0; color:#9ccaf3; cursor:pointer; font:inherit; padding:0; }
main { max-width:1280px; margin:0 auto; padding:20px 24px 32px; }
h1 { font-size:22px; margin:4px 0 16px; } h2 { font-size:16px; margin:24px 0 8px; }
footer { max-width:1280px; margin:0 auto; padding:0 24px 24px; color:var(--muted); font-size:12px; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:12px 16px; margin-bottom:16px; }
section.card > h2:first-child { margin-top:0; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; margin-bottom:16px; }
.tile { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--line); border-radius:6px; padding:10px 14px; }
.tile .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.tile .value { font-size:22px; white-space:nowrap; font-weight:650; margin:2px 0; font-variant-numeric:tabular-nums; }
.tile .detail { color:var(--muted); font-size:12px; min-height:1em; }
.tile.ok { border-left-color:var(--ok); } .tile.warn { border-left-color:#d9a21b; } .tile.bad { border-left-color:var(--bad); }
table { width:100%; border-collapse:collapse; background:var(--card); font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.03em; background:#fafbfc; }
td.num, th.num { text-align:right; }
tbody tr:hover { background:#f7f9fb; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size:13px; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; }
.pill.ok { color:var(--ok); background:var(--ok-bg); } .pill.warn { color:var(--warn); background:var(--warn-bg); }
.pill.bad { color:var(--bad); background:var(--bad-bg); } .pill.off { color:var(--off); background:var(--off-bg); }
.empty { color:var(--muted); margin:6px 0; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:16px; } @media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:0 8px; margin:0; font-size:13px; }
dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; }
form.inline { display:flex; flex-wrap:wrap; gap:8px; align-items:flex-end; margin-bottom:16px; }
label { display:flex; flex-direction:column; gap:2px; font-size:12px; color:var(--muted); }
label.check { flex-direction:row; align-items:center; gap:6px; padding-bottom:8px; font-size:13px; }
label.check input { min-width:0; }
input, select { font:inherit; padding:6px 8px; border:1px solid #b9c2cc; border-radius:4px; background:#fff; color:var(--ink); min-width:120px; }
button.primary { font:inherit; font-weight:600; padding:7px 14px; border:0; border-radius:4px; background:var(--accent); color:#fff; cursor:pointer; }
.notice { padding:8px 12px; border-radius:4px; margin-bottom:16px; border:1px solid; }
.notice.ok { background:var(--ok-bg); border-color:#b8dfc2; color:var(--ok); } .notice.bad { background:var(--bad-bg); border-color:#efbcb7; color:var(--bad); }
.muted { color:var(--muted); }
.login { max-width:360px; margin:12vh auto; background:var(--card); border:1px solid var(--line); border-radius:8px; padding:24px 28px; }
.login h1 { margin-top:0; } .login form { display:flex; flex-direction:column; gap:12px; } .login input { width:100%; }
svg.chart { width:100%; height:auto; background:var(--card); }
svg.chart text { font: 11px system-ui, sans-serif; fill:#5f6b7a; }
svg.chart .bar { fill:#3b82c4; } svg.chart .bar.alt { fill:#d08a2e; } svg.chart .axis { stroke:#c8cfd8; }
.pager { margin-top:8px; }
`;
