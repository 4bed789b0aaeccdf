import { describe, expect, it } from 'vitest';
import { LatencyRecorder, distributionOf } from '../../simulator/report/latency.js';
import { renderHtml } from '../../simulator/report/html.js';

describe('load report', () => {
  it('takes percentiles from the HDR histogram in milliseconds', () => {
    const recorder = new LatencyRecorder();
    const start = Date.now();
    for (let i = 1; i <= 1000; i++) recorder.record(i / 10, start + (i < 500 ? 0 : 1500));
    const p = recorder.percentiles();
    expect(p.count).toBe(1000);
    expect(p.p50).toBeCloseTo(50, 0);
    expect(p.p99).toBeCloseTo(99, 0);
    expect(p.max).toBeCloseTo(100, 0);
    const timeline = recorder.timeline();
    expect(timeline.map((t) => t.count)).toEqual([499, 501]);
    expect(timeline[1]!.p50).toBeGreaterThan(timeline[0]!.p99);
  });

  it('renders one self-contained page with both charts and the figures', () => {
    const recorder = new LatencyRecorder();
    for (let i = 1; i <= 200; i++) recorder.record(i % 37);
    const html = renderHtml({
      title: 'throughput <200 terminals>',
      figures: { approvedPerSec: 1234, latencyMs: recorder.percentiles() },
      timeline: recorder.timeline(),
      distribution: distributionOf(recorder.total),
    });
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('aria-label="latency over time"');
    expect(html).toContain('aria-label="latency distribution"');
    expect(html).toContain('throughput &lt;200 terminals&gt;');
    expect(html).toContain('1234');
    // Nothing to fetch: no scripts, stylesheets or images from elsewhere.
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:/);
    expect(html).toMatch(/<polyline [^>]*points="[0-9., ]+"/);
  });
});
