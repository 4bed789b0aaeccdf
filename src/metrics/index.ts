export {
  CLOSE_REASONS,
  Metrics,
  REDIS_BUCKETS_SEC,
  REQUEST_BUCKETS_SEC,
  createMetrics,
  messageTypeLabel,
  resultLabel,
  type CloseReason,
  type MetricsOptions,
} from './metrics.js';
export { DEFAULT_FLEET_INTERVAL_MS, FleetGauges, type FleetGaugeOptions } from './fleet.js';
export { instrumentRedis } from './redis.js';
export { sampleStore, type StoreSample } from './store.js';
export { startOpsServer, type OpsServer, type OpsServerOptions } from './server.js';
