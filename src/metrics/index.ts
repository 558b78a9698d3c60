/**
 * `statewire/metrics`: Prometheus metrics through prom-client. Kept out of `statewire` so that
 * apps without metrics never load prom-client.
 */
export { metrics, workerLabel } from "./metrics.js";
export type { MetricsOptions, MetricsPlugin } from "./metrics.js";
export { serveClusterMetrics } from "./aggregate.js";
export type { ClusterMetricsServer } from "./aggregate.js";
