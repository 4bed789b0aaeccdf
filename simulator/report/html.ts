/**
 * A load run as one self-contained HTML page: the figures, a latency-over-time chart (p50, p99
 * and answers per second for each second) and a latency distribution chart (latency by percentile
 * on the usual 1/(1−p) axis), both inline SVG. No scripts, fonts or other files.
 */
import type { Percentiles } from './latency.js';

export interface DistributionPoint {
  percentile: number;
  ms: number;
}

export interface HtmlReport {
  title: string;
  figures: Record<string, unknown>;
  timeline: Array<Percentiles & { second: number }>;
  distribution: DistributionPoint[];
}

const WIDTH = 760;
const HEIGHT = 280;
const PAD = { left: 60, right: 60, top: 20, bottom: 40 };

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function axis(yMax: number, label: string, side: 'left' | 'right'): string {
  const x = side === 'left' ? PAD.left : WIDTH - PAD.right;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = HEIGHT - PAD.bottom - f * (HEIGHT - PAD.top - PAD.bottom);
    const anchor = side === 'left' ? 'end' : 'start';
    const tx = side === 'left' ? x - 6 : x + 6;
    const grid = side === 'left' ? `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y}" y2="${y}" stroke="#eee"/>` : '';
    return `${grid}<text x="${tx}" y="${y + 4}" text-anchor="${anchor}" font-size="11">${+(yMax * f).toPrecision(3)}</text>`;
  });
  const lx = side === 'left' ? 14 : WIDTH - 10;
  return `${ticks.join('')}<text x="${lx}" y="${PAD.top + 80}" font-size="11" transform="rotate(-90 ${lx} ${PAD.top + 80})" text-anchor="middle">${escape(label)}</text>`;
}

function polyline(points: Array<[number, number]>, color: string, dashed = false): string {
  const path = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="4 3"' : ''} points="${path}"/>`;
}

function legend(items: Array<[string, string]>): string {
  return items
    .map(([name, color], i) => `<rect x="${PAD.left + 10 + i * 120}" y="${PAD.top}" width="12" height="3" fill="${color}"/><text x="${PAD.left + 28 + i * 120}" y="${PAD.top + 5}" font-size="11">${escape(name)}</text>`)
    .join('');
}

export function latencyOverTime(timeline: HtmlReport['timeline']): string {
  const seconds = Math.max(1, timeline.length);
  const yMax = niceMax(Math.max(...timeline.map((t) => t.p99), 0));
  const rateMax = niceMax(Math.max(...timeline.map((t) => t.count), 0));
  const xOf = (s: number) => PAD.left + ((s + 0.5) / seconds) * (WIDTH - PAD.left - PAD.right);
  const yOf = (v: number, max: number) => HEIGHT - PAD.bottom - (v / max) * (HEIGHT - PAD.top - PAD.bottom);
  const xTicks = Array.from({ length: Math.min(seconds, 10) + 1 }, (_, i) => Math.round((i * seconds) / Math.min(seconds, 10)))
    .map((s) => `<text x="${PAD.left + (s / seconds) * (WIDTH - PAD.left - PAD.right)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle" font-size="11">${s}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="latency over time">
${axis(yMax, 'latency, ms', 'left')}${axis(rateMax, 'answers per second', 'right')}${xTicks}
<text x="${WIDTH / 2}" y="${HEIGHT - 6}" text-anchor="middle" font-size="11">seconds since start</text>
${polyline(timeline.map((t) => [xOf(t.second), yOf(t.count, rateMax)]), '#999', true)}
${polyline(timeline.map((t) => [xOf(t.second), yOf(t.p50, yMax)]), '#1f77b4')}
${polyline(timeline.map((t) => [xOf(t.second), yOf(t.p99, yMax)]), '#d62728')}
${legend([['p50', '#1f77b4'], ['p99', '#d62728'], ['answers/s', '#999']])}
</svg>`;
}

export function latencyDistribution(points: DistributionPoint[]): string {
  // x = log10(1 / (1 − p)): 90% → 1, 99% → 2, 99.9% → 3; the tail gets the room it deserves.
  const xOfP = (p: number) => Math.log10(1 / (1 - Math.min(p, 99.999) / 100));
  const xMax = Math.max(3, ...points.map((pt) => xOfP(pt.percentile)));
  const yMax = niceMax(Math.max(...points.map((pt) => pt.ms), 0));
  const xOf = (p: number) => PAD.left + (xOfP(p) / xMax) * (WIDTH - PAD.left - PAD.right);
  const yOf = (v: number) => HEIGHT - PAD.bottom - (v / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  const ticks = [0, 90, 99, 99.9, 99.99]
    .filter((p) => xOfP(p) <= xMax)
    .map((p) => `<text x="${xOf(p)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle" font-size="11">${p}%</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="latency distribution">
${axis(yMax, 'latency, ms', 'left')}${ticks}
<text x="${WIDTH / 2}" y="${HEIGHT - 6}" text-anchor="middle" font-size="11">percentile</text>
${polyline(points.map((pt) => [xOf(pt.percentile), yOf(pt.ms)]), '#1f77b4')}
</svg>`;
}

export function renderHtml(report: HtmlReport): string {
  const rows = Object.entries(report.figures)
    .map(([name, value]) => `<tr><th>${escape(name)}</th><td><code>${escape(typeof value === 'object' ? JSON.stringify(value) : String(value))}</code></td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(report.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}th{text-align:left;padding-right:1em;vertical-align:top}td code{white-space:pre-wrap;word-break:break-all}</style>
</head><body>
<h1>${escape(report.title)}</h1>
<h2>Latency over time</h2>
${latencyOverTime(report.timeline)}
<h2>Latency distribution</h2>
${latencyDistribution(report.distribution)}
<h2>Figures</h2>
<table>
${rows}
</table>
</body></html>
`;
}
