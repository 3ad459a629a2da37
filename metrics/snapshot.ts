/**
 * The stats snapshot: the counters of a topology, per component and per
 * task, as the engine's `stats()` returns them (engine/container.ts; its
 * public names `TopologyStats`, `ComponentStats`, `TaskStats` are these
 * types) and as metrics/ reads them. Fields beyond the first counters are
 * optional so that other producers (a tracker fed over NATS, tests) may
 * leave them out; new fields are only ever added, optional.
 *
 * Latency percentiles (`executeLatency`, `processLatency`,
 * `completeLatency`) cover the recent window (`latencyWindowMs`, a minute
 * by default), per component; `allTime` has the count, mean and maximum
 * over the whole run.
 *
 * @module
 */
import type { HistogramBuckets, LatencySummary, LatencyTotals } from "./latency.ts";
import type { UserMetricsSnapshot } from "./task_metrics.ts";
import type { TopologyState } from "../transport/wire/states.ts";

/** Sampled latencies over the whole run: count, sum, mean, maximum (no percentiles). */
export interface AllTimeLatency {
  executeLatency?: LatencyTotals | null;
  processLatency?: LatencyTotals | null;
  completeLatency?: LatencyTotals | null;
}

/**
 * The recent window's latency histograms of a component, for a tracker to
 * merge over containers exactly (keys as the summaries they come from).
 */
export interface LatencyBuckets {
  executeLatency?: HistogramBuckets | null;
  processLatency?: HistogramBuckets | null;
  completeLatency?: HistogramBuckets | null;
}

/** Counters of one component, summed over its tasks. */
export interface ComponentSnapshot {
  kind: "spout" | "bolt";
  tasks: number;
  emitted: number;
  executed: number;
  acked: number;
  failed: number;
  timedOut: number;
  pending: number;
  restarts: number;
  errors: number;
  lastError: string | null;
  /** When `lastError` happened (ms since the epoch), or null. */
  lastErrorAt?: number | null;
  /** Mean complete latency over the run (spouts, ms). */
  completeLatencyMs: number;
  /** Tuples waiting in mailboxes (bolts). */
  queued: number;
  /** Busiest task's share of wall time spent executing over the last interval (bolts; Storm's `__capacity`). */
  capacity?: number;
  /** Calls of `nextTuple` (spouts; Heron's `__next-tuple-count`). */
  nextTupleCount?: number;
  /** Sampled execute latencies over the recent window (bolts; `__execute-latency`); null before a sample. */
  executeLatency?: LatencySummary | null;
  /** Sampled time from a tuple's execute to its ack, over the recent window (bolts; `__process-latency`). */
  processLatency?: LatencySummary | null;
  /** Sampled complete latencies over the recent window (spouts, ATLEAST_ONCE; `__complete-latency`). */
  completeLatency?: LatencySummary | null;
  /** The same latencies over the whole run. */
  allTime?: AllTimeLatency;
  /** User metrics (`context.registerCounter` …), summed over the tasks. */
  userMetrics?: UserMetricsSnapshot;
  /** The windows' histograms, only when asked for (a container's metrics report). */
  latencyBuckets?: LatencyBuckets;
  /** Tasks whose awaited call has not settled for `topology.task.stuck.warn.secs` (see `TaskSnapshot.stuckMs`). */
  stuckTasks?: number;
}

/**
 * A component's counters before any task adds to them.
 *
 * @example
 * ```ts
 * const c = emptyComponentSnapshot("bolt"); // every count 0, no error
 * ```
 */
export function emptyComponentSnapshot(kind: "spout" | "bolt"): ComponentSnapshot & { lastErrorAt: number | null } {
  return {
    kind,
    tasks: 0,
    emitted: 0,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    errors: 0,
    lastError: null,
    lastErrorAt: null,
    completeLatencyMs: 0,
    queued: 0,
    capacity: 0,
  };
}

/** Counters of one task. */
export interface TaskSnapshot {
  component: string;
  kind: "spout" | "bolt";
  emitted: number;
  executed: number;
  acked: number;
  failed: number;
  timedOut: number;
  /** Tuples waiting in the task's mailbox (bolts). */
  queued: number;
  restarts: number;
  errors: number;
  /** Share of wall time spent executing over the last interval (bolts; 0 for spouts). */
  capacity: number;
  /** Calls of `nextTuple` (spouts). */
  nextTupleCount?: number;
  /** This task's user metrics. */
  userMetrics?: UserMetricsSnapshot;
  /** This task's sampled latencies over the whole run (count, mean, max): execute and process (bolts), complete (spouts). */
  allTime?: AllTimeLatency;
  /**
   * How long the task's awaited call (a Promise-returning execute, prepare,
   * open, …) has not settled (ms), once past `topology.task.stuck.warn.secs`;
   * 0 otherwise. Past `topology.task.stuck.restart.secs` the instance is restarted.
   */
  stuckMs?: number;
}

/** Counters of one topology at one moment. */
export interface StatsSnapshot {
  name: string;
  /** `RUNNING`, `PAUSED`, or how the run ended (`FINISHED`, `KILLED`, `FAILED`); a tracker's view may be `SUBMITTED`. */
  state: TopologyState;
  uptimeMs: number;
  /** Tuples emitted by spouts. */
  spoutEmitted?: number;
  /** Tuples emitted by all components. */
  emitted: number;
  executed: number;
  /** Tuple trees completed (spout acks). */
  acked: number;
  /** Tuple trees failed (explicit fails, timeouts, crashes). */
  failed: number;
  timedOut: number;
  /** Tuple trees in flight. */
  pending: number;
  restarts: number;
  backpressure: boolean;
  backpressureEpisodes: number;
  backpressureMs: number;
  /** The component whose queues hold this process's backpressure up ("" when none). */
  backpressureBy?: string;
  /** Length of the window the latency percentiles cover (ms). */
  latencyWindowMs?: number;
  components: Record<string, ComponentSnapshot>;
  /** Counters per task id (absent from producers that keep none). */
  tasks?: Record<string, TaskSnapshot>;
}

/**
 * A topology's counters before anything ran: every count 0, no components.
 *
 * @example
 * ```ts
 * const s = emptyStatsSnapshot("word-count", "RUNNING");
 * s.components.count = emptyComponentSnapshot("bolt");
 * ```
 */
export function emptyStatsSnapshot(name: string, state: TopologyState): StatsSnapshot & { spoutEmitted: number } {
  return {
    name,
    state,
    uptimeMs: 0,
    spoutEmitted: 0,
    emitted: 0,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    backpressure: false,
    backpressureEpisodes: 0,
    backpressureMs: 0,
    components: {},
    tasks: {},
  };
}
