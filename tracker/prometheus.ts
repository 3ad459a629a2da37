/**
 * Prometheus text exposition (format 0.0.4) of topology counters, with
 * Heron's metric names kept in each series' help text (`__emit-count` is
 * `ardea_emit_count`, and so on).
 *
 * @module
 */
import type { LatencySummary, LatencyTotals } from "../metrics/latency.ts";
import type { ContainerInfo } from "../metrics/physical.ts";
import type { ComponentSnapshot, StatsSnapshot, TaskSnapshot } from "../metrics/snapshot.ts";
import { isRunning, RunStates } from "../transport/wire/mod.ts";

/** The Content-Type of {@link renderPrometheus}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge" | "summary";

interface ComponentMetric {
  name: string;
  type: Kind;
  help: string;
  /** The value, or undefined when the metric does not apply to this kind of component. */
  value: (c: ComponentSnapshot) => number | undefined;
}

const spoutOnly = (f: (c: ComponentSnapshot) => number) => (c: ComponentSnapshot) =>
  c.kind === "spout" ? f(c) : undefined;
const boltOnly = (f: (c: ComponentSnapshot) => number) => (c: ComponentSnapshot) =>
  c.kind === "bolt" ? f(c) : undefined;

/** Per-component series, in output order. */
export const COMPONENT_METRICS: readonly ComponentMetric[] = [
  { name: "ardea_emit_count", type: "counter", help: "Tuples emitted (Heron __emit-count).", value: (c) => c.emitted },
  {
    name: "ardea_execute_count",
    type: "counter",
    help: "Tuples executed by a bolt (Heron __execute-count).",
    value: boltOnly((c) => c.executed),
  },
  {
    name: "ardea_ack_count",
    type: "counter",
    help: "Spouts: tuple trees completed; bolts: tuples acked (Heron __ack-count).",
    value: (c) => c.acked,
  },
  {
    name: "ardea_fail_count",
    type: "counter",
    help: "Spouts: tuple trees failed, timeouts included; bolts: tuples failed (Heron __fail-count).",
    value: (c) => c.failed,
  },
  {
    name: "ardea_timeout_count",
    type: "counter",
    help: "Tuple trees timed out (Heron __timeout-count).",
    value: spoutOnly((c) => c.timedOut),
  },
  {
    name: "ardea_complete_latency_ms",
    type: "gauge",
    help: "Mean time from a spout's emit to its tree's ack, in ms (Heron __complete-latency).",
    value: spoutOnly((c) => c.completeLatencyMs),
  },
  {
    name: "ardea_next_tuple_count",
    type: "counter",
    help: "Calls of a spout's nextTuple (Heron __next-tuple-count).",
    value: spoutOnly((c) => c.nextTupleCount ?? 0),
  },
  {
    name: "ardea_pending",
    type: "gauge",
    help: "Tuple trees in flight from a spout.",
    value: spoutOnly((c) => c.pending),
  },
  {
    name: "ardea_queue_depth",
    type: "gauge",
    help: "Tuples waiting in a bolt's mailboxes.",
    value: boltOnly((c) => c.queued),
  },
  {
    name: "ardea_restarts",
    type: "counter",
    help: "Restarts of a component's tasks by their supervisors.",
    value: (c) => c.restarts,
  },
  {
    name: "ardea_error_count",
    type: "counter",
    help: "Errors a component reported (collector.reportError and similar).",
    value: (c) => c.errors,
  },
  { name: "ardea_tasks", type: "gauge", help: "Tasks (instances) of a component.", value: (c) => c.tasks },
  {
    name: "ardea_component_stuck_tasks",
    type: "gauge",
    help: "Tasks of a component whose awaited call has not settled for topology.task.stuck.warn.secs (0 when none).",
    value: (c) => c.stuckTasks ?? 0,
  },
  {
    name: "ardea_capacity",
    type: "gauge",
    help:
      "Busiest task's share of wall time spent executing over the last interval (Storm __capacity); near 1: add tasks.",
    value: (c) => (c.kind === "bolt" ? c.capacity : undefined),
  },
];

interface TaskMetric {
  name: string;
  type: Kind;
  help: string;
  value: (t: TaskSnapshot) => number | undefined;
}

/** Per-task series (label `task`), in output order. */
export const TASK_METRICS: readonly TaskMetric[] = [
  {
    name: "ardea_task_emit_count",
    type: "counter",
    help: "Tuples a task emitted (Heron __emit-count per instance).",
    value: (t) => t.emitted,
  },
  {
    name: "ardea_task_execute_count",
    type: "counter",
    help: "Tuples a bolt task executed.",
    value: (t) => (t.kind === "bolt" ? t.executed : undefined),
  },
  {
    name: "ardea_task_ack_count",
    type: "counter",
    help: "Spout task: trees completed; bolt task: tuples acked.",
    value: (t) => t.acked,
  },
  {
    name: "ardea_task_fail_count",
    type: "counter",
    help: "Spout task: trees failed; bolt task: tuples failed.",
    value: (t) => t.failed,
  },
  {
    name: "ardea_task_timeout_count",
    type: "counter",
    help: "Trees of a spout task that timed out.",
    value: (t) => (t.kind === "spout" ? t.timedOut : undefined),
  },
  {
    name: "ardea_task_next_tuple_count",
    type: "counter",
    help: "Calls of a spout task's nextTuple (Heron __next-tuple-count).",
    value: (t) => (t.kind === "spout" ? t.nextTupleCount ?? 0 : undefined),
  },
  {
    name: "ardea_task_queue_depth",
    type: "gauge",
    help: "Tuples waiting in a bolt task's mailbox.",
    value: (t) => (t.kind === "bolt" ? t.queued : undefined),
  },
  {
    name: "ardea_task_restarts",
    type: "counter",
    help: "Restarts of a task by its supervisor.",
    value: (t) => t.restarts,
  },
  { name: "ardea_task_error_count", type: "counter", help: "Errors a task reported.", value: (t) => t.errors },
  {
    name: "ardea_task_capacity",
    type: "gauge",
    help: "Share of wall time a bolt task spent executing over the last interval (Storm __capacity).",
    value: (t) => (t.kind === "bolt" ? t.capacity : undefined),
  },
  {
    name: "ardea_task_execute_latency_mean_ms",
    type: "gauge",
    help:
      "Mean sampled execute latency of a bolt task over the whole run, in ms (Heron __execute-latency per instance).",
    value: (t) => t.allTime?.executeLatency?.meanMs,
  },
  {
    name: "ardea_task_process_latency_mean_ms",
    type: "gauge",
    help:
      "Mean sampled time from a bolt task's execute of a tuple to its ack over the whole run, in ms (Heron __process-latency per instance).",
    value: (t) => t.allTime?.processLatency?.meanMs,
  },
  {
    name: "ardea_task_complete_latency_mean_ms",
    type: "gauge",
    help:
      "Mean sampled complete latency of a spout task's trees over the whole run, in ms (Heron __complete-latency per instance).",
    value: (t) => t.allTime?.completeLatency?.meanMs,
  },
];

interface LatencyMetric {
  name: string;
  help: string;
  /** Percentiles over the recent window. */
  value: (c: ComponentSnapshot) => LatencySummary | null | undefined;
  /** Totals over the whole run (for `_sum` and `_count`, which must not go down). */
  total: (c: ComponentSnapshot) => LatencyTotals | null | undefined;
}

/**
 * Summaries of sampled latencies: quantiles 0.5, 0.99, 0.999 (in seconds)
 * over the recent window; `_sum` and `_count` over the whole run, as
 * Prometheus client summaries do.
 */
export const LATENCY_METRICS: readonly LatencyMetric[] = [
  {
    name: "ardea_execute_latency_seconds",
    help:
      "Sampled time a bolt's execute took (Heron __execute-latency); quantiles over the recent window, _count counts samples.",
    value: (c) => (c.kind === "bolt" ? c.executeLatency : undefined),
    total: (c) => (c.kind === "bolt" ? c.allTime?.executeLatency : undefined),
  },
  {
    name: "ardea_process_latency_seconds",
    help:
      "Sampled time from a bolt's execute of a tuple to its ack (Heron __process-latency); quantiles over the recent window.",
    value: (c) => (c.kind === "bolt" ? c.processLatency : undefined),
    total: (c) => (c.kind === "bolt" ? c.allTime?.processLatency : undefined),
  },
  {
    name: "ardea_complete_latency_seconds",
    help:
      "Sampled time from a spout's emit to its tree's ack (Heron __complete-latency); quantiles over the recent window.",
    value: (c) => (c.kind === "spout" ? c.completeLatency : undefined),
    total: (c) => (c.kind === "spout" ? c.allTime?.completeLatency : undefined),
  },
];

const QUANTILES: ReadonlyArray<readonly [string, (l: LatencySummary) => number]> = [
  ["0.5", (l) => l.p50Ms],
  ["0.99", (l) => l.p99Ms],
  ["0.999", (l) => l.p999Ms],
];

interface TopologyMetric {
  name: string;
  type: Kind;
  help: string;
  value: (s: StatsSnapshot) => number;
}

/** Per-topology (per-container) series, in output order. */
export const TOPOLOGY_METRICS: readonly TopologyMetric[] = [
  {
    name: "ardea_uptime_seconds",
    type: "gauge",
    help: "Seconds since the topology started.",
    value: (s) => s.uptimeMs / 1000,
  },
  {
    name: "ardea_backpressure_active",
    type: "gauge",
    help: "1 while backpressure holds the spouts back.",
    value: (s) => (s.backpressure ? 1 : 0),
  },
  {
    name: "ardea_backpressure_time_ms",
    type: "counter",
    help: "Milliseconds the spouts were held back by backpressure (Heron __time_spent_back_pressure).",
    value: (s) => s.backpressureMs,
  },
  {
    name: "ardea_backpressure_episodes",
    type: "counter",
    help: "Times backpressure was raised.",
    value: (s) => s.backpressureEpisodes,
  },
];

/** Escapes a label value as the text format requires. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
}

/**
 * Renders snapshots of one or more topologies as Prometheus text. Every
 * series has the labels `topology` and `component` (where it applies) plus
 * `labels` (e.g. `{ container: "0" }`).
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const handle: TopologyHandle;
 * const text = renderPrometheus(handle.stats(), { container: "0" });
 * // # HELP ardea_emit_count Tuples emitted (Heron __emit-count).
 * // # TYPE ardea_emit_count counter
 * // ardea_emit_count{topology="wc",component="split",container="0"} 3000
 * ```
 */
export function renderPrometheus(
  stats: StatsSnapshot | readonly StatsSnapshot[],
  labels: Readonly<Record<string, string>> = {},
): string {
  const all: readonly StatsSnapshot[] = Array.isArray(stats) ? stats : [stats as StatsSnapshot];
  return renderPrometheusSeries(all.map((s) => ({ stats: s, labels })));
}

/**
 * Like {@link renderPrometheus}, with labels of their own for each snapshot:
 * a distributed topology renders one snapshot per container, labelled with
 * its `container`.
 *
 * @example
 * ```ts
 * import type { StatsSnapshot } from "../metrics/snapshot.ts";
 * declare const c0: StatsSnapshot, c1: StatsSnapshot;
 * renderPrometheusSeries([{ stats: c0, labels: { container: "0" } }, { stats: c1, labels: { container: "1" } }]);
 * ```
 */
export function renderPrometheusSeries(
  entries: ReadonlyArray<{ stats: StatsSnapshot; labels: Readonly<Record<string, string>> }>,
): string {
  const lines: string[] = [];
  const head = (name: string, type: Kind, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  head("ardea_topology_state", "gauge", "1 for the state the topology is in, 0 for the others.");
  for (const { stats: s, labels } of entries) {
    for (const st of RunStates) {
      lines.push(
        `ardea_topology_state${labelText({ topology: s.name, ...labels, state: st })} ${s.state === st ? 1 : 0}`,
      );
    }
  }
  for (const m of TOPOLOGY_METRICS) {
    head(m.name, m.type, m.help);
    for (const { stats: s, labels } of entries) {
      lines.push(`${m.name}${labelText({ topology: s.name, ...labels })} ${num(m.value(s))}`);
    }
  }
  for (const m of COMPONENT_METRICS) {
    const rows: string[] = [];
    for (const { stats: s, labels } of entries) {
      for (const [component, c] of Object.entries(s.components)) {
        const v = m.value(c);
        if (v !== undefined) rows.push(`${m.name}${labelText({ topology: s.name, component, ...labels })} ${num(v)}`);
      }
    }
    if (rows.length === 0) continue;
    head(m.name, m.type, m.help);
    lines.push(...rows);
  }
  for (const m of LATENCY_METRICS) {
    const rows: string[] = [];
    for (const { stats: s, labels } of entries) {
      for (const [component, c] of Object.entries(s.components)) {
        const l = m.value(c);
        const t = m.total(c);
        // A producer without totals: the window's figures stand in.
        const count = t?.count ?? l?.count;
        if (count === undefined) continue;
        const sumMs = t?.sumMs ?? (l ? l.meanMs * l.count : 0);
        const base = { topology: s.name, component, ...labels };
        for (const [q, f] of QUANTILES) {
          rows.push(`${m.name}${labelText({ ...base, quantile: q })} ${l ? num(f(l) / 1000) : "NaN"}`);
        }
        rows.push(`${m.name}_sum${labelText(base)} ${num(sumMs / 1000)}`);
        rows.push(`${m.name}_count${labelText(base)} ${count}`);
      }
    }
    if (rows.length === 0) continue;
    head(m.name, "summary", m.help);
    lines.push(...rows);
  }
  for (const m of TASK_METRICS) {
    const rows: string[] = [];
    for (const { stats: s, labels } of entries) {
      for (const [task, t] of Object.entries(s.tasks ?? {})) {
        const v = m.value(t);
        if (v !== undefined) {
          rows.push(`${m.name}${labelText({ topology: s.name, component: t.component, task, ...labels })} ${num(v)}`);
        }
      }
    }
    if (rows.length === 0) continue;
    head(m.name, m.type, m.help);
    lines.push(...rows);
  }
  lines.push(...userMetricLines(entries));
  return `${lines.join("\n")}\n`;
}

/**
 * The Prometheus name of user metric `name`: `ardea_user_` and the name with
 * every character outside `[a-zA-Z0-9_]` turned into `_`.
 *
 * @example
 * ```ts
 * userMetricName("cache-hits.ok"); // "ardea_user_cache_hits_ok"
 * ```
 */
export function userMetricName(name: string): string {
  return `ardea_user_${name.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/**
 * Series of the user metrics of every task (labels `topology`, `component`,
 * `task` and the entry's, e.g. `container`): counters and meters as
 * counters (a meter's rate as `<name>_rate`, a gauge), gauges and Storm 1
 * metrics as gauges (an object-valued one with a `key` label), histograms as
 * summaries. Two kinds under one name keep the first; the other gets its
 * kind as a suffix.
 */
function userMetricLines(
  entries: ReadonlyArray<{ stats: StatsSnapshot; labels: Readonly<Record<string, string>> }>,
): string[] {
  const families = new Map<string, { type: Kind; help: string; rows: string[] }>();
  /** The family `name` of `type` (suffixed with the type when `name` is taken by another); its rows and series name. */
  const family = (name: string, type: Kind, help: string): { rows: string[]; name: string } => {
    let f = families.get(name);
    if (f !== undefined && f.type !== type) return family(`${name}_${type}`, type, help);
    if (f === undefined) {
      families.set(name, f = { type, help: help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n"), rows: [] });
    }
    return { rows: f.rows, name };
  };
  for (const { stats: s, labels } of entries) {
    for (const [task, t] of Object.entries(s.tasks ?? {})) {
      const u = t.userMetrics;
      if (u === undefined) continue;
      const base = { topology: s.name, component: t.component, task, ...labels };
      const row = (name: string, type: Kind, help: string, v: number, extra: Record<string, string> = {}) => {
        const f = family(name, type, help);
        f.rows.push(`${f.name}${labelText({ ...base, ...extra })} ${num(v)}`);
      };
      for (const [k, v] of Object.entries(u.counters ?? {})) {
        row(userMetricName(k), "counter", `User counter "${k}" (context.registerCounter).`, v);
      }
      for (const [k, v] of Object.entries(u.gauges ?? {})) {
        row(userMetricName(k), "gauge", `User gauge "${k}" (context.registerGauge).`, v);
      }
      for (const [k, v] of Object.entries(u.meters ?? {})) {
        row(userMetricName(k), "counter", `User meter "${k}": events (context.registerMeter).`, v.count);
        row(
          `${userMetricName(k)}_rate`,
          "gauge",
          `User meter "${k}": events per second over the recent window.`,
          v.ratePerSec,
        );
      }
      for (const [k, v] of Object.entries(u.metrics ?? {})) {
        const help = `User metric "${k}": value of the last bucket (context.registerMetric).`;
        if (typeof v === "number") row(userMetricName(k), "gauge", help, v);
        else for (const [key, x] of Object.entries(v)) row(userMetricName(k), "gauge", help, x, { key });
      }
      for (const [k, h] of Object.entries(u.histograms ?? {})) {
        const f = family(
          userMetricName(k),
          "summary",
          `User histogram "${k}" (context.registerHistogram); quantiles over the recent window.`,
        );
        const w = h.window;
        for (const [q, v] of [["0.5", w?.p50], ["0.99", w?.p99], ["0.999", w?.p999]] as const) {
          f.rows.push(`${f.name}${labelText({ ...base, quantile: q })} ${v === undefined ? "NaN" : num(v)}`);
        }
        f.rows.push(`${f.name}_sum${labelText(base)} ${num(h.sum)}`, `${f.name}_count${labelText(base)} ${h.count}`);
      }
    }
  }
  const lines: string[] = [];
  for (const [name, f] of families) lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.rows);
  return lines;
}

interface ContainerMetric {
  name: string;
  type: Kind;
  help: string;
  value: (c: ContainerInfo) => number;
}

/** Per-container series of the physical plan (labels `topology`, `container`, `host`). */
export const CONTAINER_METRICS: readonly ContainerMetric[] = [
  {
    name: "ardea_container_up",
    type: "gauge",
    help: "1 while the container reports (RUNNING or PAUSED), else 0.",
    value: (c) => (isRunning(c.state) ? 1 : 0),
  },
  {
    name: "ardea_container_restarts",
    type: "counter",
    help: "Times the scheduler restarted the container's process.",
    value: (c) => c.restarts,
  },
  { name: "ardea_container_tasks", type: "gauge", help: "Tasks the container hosts.", value: (c) => c.tasks.length },
  {
    name: "ardea_container_queued",
    type: "gauge",
    help: "Tuples waiting in the container's bolt mailboxes.",
    value: (c) => Object.values(c.mailboxes).reduce((a, b) => a + b, 0),
  },
  {
    name: "ardea_container_backpressure_active",
    type: "gauge",
    help: "1 while the container's spouts are held back.",
    value: (c) => (c.backpressure ? 1 : 0),
  },
  {
    name: "ardea_container_dropped_count",
    type: "counter",
    help: "Malformed frames and messages the container dropped.",
    value: (c) => c.dropped,
  },
  {
    name: "ardea_container_frames_in",
    type: "counter",
    help: "Data and ack frames the container received.",
    value: (c) => c.framesIn,
  },
  {
    name: "ardea_container_frames_out",
    type: "counter",
    help: "Data and ack frames the container sent.",
    value: (c) => c.framesOut,
  },
  {
    name: "ardea_container_bytes_in",
    type: "counter",
    help: "Bytes of frames the container received.",
    value: (c) => c.bytesIn,
  },
  {
    name: "ardea_container_bytes_out",
    type: "counter",
    help: "Bytes of frames the container sent.",
    value: (c) => c.bytesOut,
  },
];

/**
 * Prometheus text of each topology's containers (the physical plan).
 *
 * @example
 * ```ts
 * import type { TrackedTopology } from "./tracker.ts";
 * declare const tracked: TrackedTopology;
 * renderContainerPrometheus([{ topology: "wc", containers: tracked.containers?.() ?? [] }]);
 * // ardea_container_frames_out{topology="wc",container="1",host="h1"} 812
 * ```
 */
export function renderContainerPrometheus(
  topologies: ReadonlyArray<{ topology: string; containers: readonly ContainerInfo[] }>,
): string {
  const lines: string[] = [];
  for (const m of CONTAINER_METRICS) {
    const rows: string[] = [];
    for (const t of topologies) {
      for (const c of t.containers) {
        rows.push(
          `${m.name}${labelText({ topology: t.topology, container: String(c.id), host: c.host })} ${num(m.value(c))}`,
        );
      }
    }
    if (rows.length === 0) continue;
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...rows);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
