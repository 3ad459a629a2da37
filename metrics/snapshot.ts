/**
 * The shape of the counters metrics/ reads. The engine's `TopologyStats`
 * (engine/container.ts) satisfies it; metrics/ declares only what it uses so
 * that it does not depend on the engine (cli → engine → metrics).
 *
 * @module
 */

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
}
