/**
 * Metrics: Prometheus text of topology counters, a short history per
 * component, the tracker's REST API and its web page.
 *
 * @module
 */
export { type AllTimeLatency, type ComponentSnapshot, emptyComponentSnapshot, type StatsSnapshot, type TaskSnapshot } from "./snapshot.ts";
export {
  COMPONENT_METRICS,
  CONTAINER_METRICS,
  LATENCY_METRICS,
  PROMETHEUS_CONTENT_TYPE,
  renderContainerPrometheus,
  renderPrometheus,
  renderPrometheusSeries,
  TASK_METRICS,
  TOPOLOGY_METRICS,
  userMetricName,
} from "./prometheus.ts";
export { LatencyHistogram, type LatencySummary, type LatencyTotals, latencyTotals, ValueHistogram, type ValueSummary } from "./latency.ts";
export { DEFAULT_WINDOW_MS, DEFAULT_WINDOW_SLOTS, SlidingLatency, SlidingRate, SlidingValues, totals, type WindowOptions } from "./sliding.ts";
export { type HistogramSnapshot, type MeterSnapshot, sumUserMetrics, TaskMetrics, type UserMetricsSnapshot } from "./task_metrics.ts";
export { type ComponentSeries, MetricsHistory, SERIES_FIELDS, type SeriesField, type TopologySeries } from "./history.ts";
export { type ComponentPlan, type GroupingJson, groupingJson, jsonSafe, type LogicalPlan, logicalPlan, type StreamEdge } from "./plan.ts";
export { type BackpressureEpisode, BackpressureLog, type ContainerInfo, type ExceptionInfo, type PlacedTask } from "./physical.ts";
export { isLoopbackInterface, type TrackedTopology, Tracker, type TrackerOptions } from "./tracker.ts";
export { DEFAULT_UI_PORT, serveTracker, type ServeTrackerOptions, type TrackerServer, uiAssets } from "./server.ts";
