/** HttpBiller's metrics, registered on the gateway's registry (src/metrics) when it has one. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const BILLER_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
/** aircharge_biller_breaker_state values. */
export const BreakerGauge = { closed: 0, open: 1, half_open: 2 } as const;

export class BillerMetrics {
  readonly calls: Counter<'operation' | 'outcome'>;
  readonly duration: Histogram<'operation'>;
  readonly breaker: Gauge;

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: 'aircharge_biller_calls_total',
      help: 'Calls to the billing system, by operation and outcome (ok, or the BillerError code)',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'aircharge_biller_call_duration_seconds',
      help: 'Time of a call to the billing system, retries included, by operation',
      labelNames: ['operation'] as const,
      buckets: BILLER_BUCKETS_SEC,
      registers: [registry],
    });
    this.breaker = new Gauge({
      name: 'aircharge_biller_breaker_state',
      help: 'Circuit breaker in front of the billing system: 0 closed, 1 open, 2 half-open (probing)',
      registers: [registry],
    });
  }
}
