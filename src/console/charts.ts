/**
 * Charts as SVG drawn on the server: no script, no image files, readable with JavaScript off and
 * printable. Labels go through the html template like any other text.
 */
import { html, type Html } from './html.js';

export interface Bar {
  label: string;
  value: number;
  /** What the bar's end says, e.g. "¥1,234.00 · 12". */
  caption: string;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** One horizontal bar per row (outlets): long labels stay readable however many rows there are. */
export function horizontalBars(title: string, bars: readonly Bar[]): Html {
  const rowHeight = 22;
  const labelWidth = 150;
  const captionWidth = 170;
  const width = 760;
  const plot = width - labelWidth - captionWidth;
  const height = bars.length * rowHeight + 8;
  const max = Math.max(1, ...bars.map((b) => b.value));
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg">
<title>${title}</title>
${bars.map((bar, i) => {
  const y = i * rowHeight + 4;
  const w = bar.value <= 0 ? 0 : Math.max(1, round((bar.value / max) * plot));
  return html`<g><text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${bar.label}</text><rect class="bar" x="${labelWidth}" y="${y + 3}" width="${w}" height="${rowHeight - 7}"></rect><text x="${labelWidth + w + 6}" y="${y + 15}">${bar.caption}</text></g>`;
})}
<line class="axis" x1="${labelWidth}" y1="0" x2="${labelWidth}" y2="${height}"></line>
</svg>`;
}

/** Vertical columns in order (the hours of a day), with the value above each non-empty one. */
export function columns(title: string, bars: readonly Bar[]): Html {
  const width = 760;
  const height = 220;
  const left = 10;
  const bottom = 24;
  const top = 18;
  const slot = (width - left * 2) / Math.max(1, bars.length);
  const plot = height - bottom - top;
  const max = Math.max(1, ...bars.map((b) => b.value));
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg">
<title>${title}</title>
${bars.map((bar, i) => {
  const x = round(left + i * slot);
  const h = bar.value <= 0 ? 0 : Math.max(1, round((bar.value / max) * plot));
  const y = round(height - bottom - h);
  return html`<g><rect class="bar" x="${round(x + slot * 0.15)}" y="${y}" width="${round(slot * 0.7)}" height="${h}"><title>${bar.label}: ${bar.caption}</title></rect>${
    bar.value > 0 ? html`<text x="${round(x + slot / 2)}" y="${y - 4}" text-anchor="middle">${bar.caption}</text>` : ''
  }<text x="${round(x + slot / 2)}" y="${height - 8}" text-anchor="middle">${bar.label}</text></g>`;
})}
<line class="axis" x1="${left}" y1="${height - bottom}" x2="${width - left}" y2="${height - bottom}"></line>
</svg>`;
}
