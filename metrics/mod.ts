/**
 * Metrics: what every task measures (counters, latency histograms, sliding
 * windows, user metrics), the snapshot shapes, and the logical and physical
 * plans. The tracker that serves them lives in tracker/.
 *
 * @module
 */
export {
  type AllTimeLatency,
  type ComponentSnapshot,
  emptyComponentSnapshot,
  type StatsSnapshot,
  type TaskSnapshot,
} from "./snapshot.ts";
export {
  LatencyHistogram,
  type LatencySummary,
  type LatencyTotals,
  latencyTotals,
  ValueHistogram,
  type ValueSummary,
} from "./latency.ts";
export {
  DEFAULT_WINDOW_MS,
  DEFAULT_WINDOW_SLOTS,
  SlidingLatency,
  SlidingRate,
  SlidingValues,
  totals,
  type WindowOptions,
} from "./sliding.ts";
export {
  type HistogramSnapshot,
  type MeterSnapshot,
  sumUserMetrics,
  TaskMetrics,
  type UserMetricsSnapshot,
} from "./task_metrics.ts";
export {
  type ComponentPlan,
  type GroupingJson,
  groupingJson,
  jsonSafe,
  type LogicalPlan,
  logicalPlan,
  type StreamEdge,
} from "./plan.ts";
export {
  type BackpressureEpisode,
  BackpressureLog,
  type ContainerInfo,
  type ExceptionInfo,
  type PlacedTask,
} from "./physical.ts";
