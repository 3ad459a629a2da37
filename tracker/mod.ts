/**
 * The tracker (Heron's tracker and UI): one topology's figures kept with a
 * short history, served as REST, Prometheus text and the web page, from the
 * embedded engine or from a NATS cluster's reports (remote_tracking.ts).
 *
 * @module
 */
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
export {
  type ComponentSeries,
  MetricsHistory,
  SERIES_FIELDS,
  type SeriesField,
  type TopologySeries,
} from "./history.ts";
export { isLoopbackInterface, type TrackedTopology, Tracker, type TrackerOptions } from "./tracker.ts";
export { DEFAULT_UI_PORT, serveTracker, type ServeTrackerOptions, type TrackerServer, uiAssets } from "./server.ts";
