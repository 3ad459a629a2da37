/**
 * The shape of the counters metrics/ reads. The engine's `TopologyStats`
 * (engine/container.ts) satisfies it; metrics/ declares only what it uses so
 * that it does not depend on the engine (cli → engine → metrics).
 *
 * @module
 */
import type { LatencySummary } from "./latency.ts";

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
  completeLatencyMs: number;
  queued: number;
  /** Busiest task's share of wall time spent executing over the last interval (bolts). */
  capacity?: number;
  /** Percentiles of sampled execute latencies (bolts). */
  executeLatency?: LatencySummary | null;
  /** Percentiles of sampled complete latencies (spouts). */
  completeLatency?: LatencySummary | null;
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
  queued: number;
  restarts: number;
  errors: number;
  capacity: number;
}

/** Counters of one topology at one moment. */
export interface StatsSnapshot {
  name: string;
  state: string;
  uptimeMs: number;
  emitted: number;
  executed: number;
  acked: number;
  failed: number;
  timedOut: number;
  pending: number;
  restarts: number;
  backpressure: boolean;
  backpressureEpisodes: number;
  backpressureMs: number;
  components: Record<string, ComponentSnapshot>;
  /** Counters per task id (absent from producers that keep none). */
  tasks?: Record<string, TaskSnapshot>;
}
