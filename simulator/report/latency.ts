/**
 * Latency recording with HDR histograms: values in microseconds, percentiles reported in
 * milliseconds, plus one histogram per second of the run for latency-over-time charts.
 */
import * as hdr from 'hdr-histogram-js';

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

function histogram(): hdr.Histogram {
  // Up to an hour, three significant digits: ample for GPRS retries and for sub-ms LAN answers.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export class LatencyRecorder {
  readonly total = histogram();
  /** Histograms of consecutive one-second windows from the start. */
  readonly perSecond: hdr.Histogram[] = [];
  private readonly startedAt = Date.now();

  record(latencyMs: number, at = Date.now()): void {
    const micros = Math.max(1, Math.round(latencyMs * 1000));
    this.total.recordValue(micros);
    const second = Math.max(0, Math.floor((at - this.startedAt) / 1000));
    while (this.perSecond.length <= second) this.perSecond.push(histogram());
    this.perSecond[second]!.recordValue(micros);
  }

  percentiles(): Percentiles {
    return percentilesOf(this.total);
  }

  /** Per second: how many answers, and their percentiles. */
  timeline(): Array<Percentiles & { second: number }> {
    return this.perSecond.map((h, second) => ({ second, ...percentilesOf(h) }));
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function percentilesOf(h: hdr.Histogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const ms = (p: number) => round(h.getValueAtPercentile(p) / 1000);
  return {
    count: h.totalCount,
    p50: ms(50),
    p90: ms(90),
    p99: ms(99),
    p999: ms(99.9),
    max: round(h.maxValue / 1000),
    mean: round(h.mean / 1000),
  };
}

/** Latency at percentiles from 0 to 99.99, for the distribution chart. */
export function distributionOf(h: hdr.Histogram): Array<{ percentile: number; ms: number }> {
  if (h.totalCount === 0) return [];
  const percentiles = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99];
  return percentiles.map((percentile) => ({ percentile, ms: round(h.getValueAtPercentile(percentile) / 1000) }));
}
