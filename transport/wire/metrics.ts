/**
 * Metrics: the {@link ContainerMetrics} every container publishes on
 * `metrics` each second for trackers, msgpack.
 *
 * Its tasks and components are the engine's stats snapshot
 * (metrics/snapshot.ts `TaskSnapshot`, `ComponentSnapshot`, and the latency
 * and user-metric types in them) plus `lastErrorStack`: the two are kept
 * field for field the same by tests/metrics_wire_test.ts (at compile time
 * both ways, and against a real snapshot at run time).
 *
 * @module
 */
import { z } from "zod";
import { WIRE_VERSION } from "./names.ts";
import { decodeWith, fromFields as from, kindSchema, packr, tupleCounters } from "./_shared.ts";
import { topologyStateSchema } from "./states.ts";

const latencySummarySchema = z.object({
  count: z.number(),
  meanMs: z.number(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  p999Ms: z.number(),
  maxMs: z.number(),
}).passthrough();

/** Run totals of sampled latencies (`allTime`). */
const latencyTotalsSchema = z.object({ count: z.number(), sumMs: z.number(), meanMs: z.number(), maxMs: z.number() })
  .passthrough();

/** The three latencies' run totals (metrics/snapshot.ts `AllTimeLatency`). */
const allTimeSchema = z.object({
  executeLatency: latencyTotalsSchema.nullable().optional(),
  processLatency: latencyTotalsSchema.nullable().optional(),
  completeLatency: latencyTotalsSchema.nullable().optional(),
});

/**
 * A histogram's non-empty buckets (metrics/latency.ts `HistogramBuckets`):
 * `counts` holds pairs (gap from the previous bucket index, count).
 */
const bucketsSchema = z.object({
  sum: z.number(),
  max: z.number(),
  counts: z.array(z.number()).max(2 * 4096),
});

const userMetricsSchema = z.object({
  counters: z.record(z.string(), z.number()).optional(),
  gauges: z.record(z.string(), z.number()).optional(),
  histograms: z.record(
    z.string(),
    z.object({
      count: z.number(),
      sum: z.number(),
      window: z.object({
        count: z.number(),
        mean: z.number(),
        min: z.number(),
        p50: z.number(),
        p99: z.number(),
        p999: z.number(),
        max: z.number(),
      }).nullable(),
      /** The window's buckets (components only). */
      buckets: bucketsSchema.nullable().optional(),
    }),
  ).optional(),
  meters: z.record(z.string(), z.object({ count: z.number(), ratePerSec: z.number() })).optional(),
  metrics: z.record(z.string(), z.union([z.number(), z.record(z.string(), z.number())])).optional(),
});

/** Counters of one task (the engine's `TaskStats`); fields added later pass through. */
const taskMetricsSchema = z.object({
  component: z.string(),
  kind: kindSchema,
  emitted: z.number(),
  executed: z.number(),
  acked: z.number(),
  failed: z.number(),
  timedOut: z.number(),
  queued: z.number(),
  restarts: z.number(),
  errors: z.number(),
  capacity: z.number(),
  nextTupleCount: z.number().optional(),
  userMetrics: userMetricsSchema.optional(),
  /** The task's sampled latencies over the whole run. */
  allTime: allTimeSchema.optional(),
  /** How long the task's awaited call has not settled (ms), once past `topology.task.stuck.warn.secs`; else 0. */
  stuckMs: z.number().optional(),
}).passthrough();

/** Counters of one component over this container's tasks (the engine's `ComponentStats`). */
const componentMetricsSchema = z.object({
  kind: kindSchema,
  tasks: z.number(),
  ...tupleCounters,
  errors: z.number(),
  lastError: z.string().nullable(),
  lastErrorAt: z.number().nullable().optional(),
  /** Stack of the last error, when it had one. */
  lastErrorStack: z.string().nullable().optional(),
  completeLatencyMs: z.number(),
  queued: z.number(),
  capacity: z.number().optional(),
  nextTupleCount: z.number().optional(),
  executeLatency: latencySummarySchema.nullable().optional(),
  processLatency: latencySummarySchema.nullable().optional(),
  completeLatency: latencySummarySchema.nullable().optional(),
  allTime: allTimeSchema.optional(),
  /** The recent window's histograms behind the three latency summaries, for trackers to merge exactly. */
  latencyBuckets: z.object({
    executeLatency: bucketsSchema.nullable().optional(),
    processLatency: bucketsSchema.nullable().optional(),
    completeLatency: bucketsSchema.nullable().optional(),
  }).optional(),
  userMetrics: userMetricsSchema.optional(),
  /** Tasks whose awaited call has not settled for `topology.task.stuck.warn.secs` (absent when none). */
  stuckTasks: z.number().optional(),
}).passthrough();

/**
 * The schema {@link decodeMetrics} checks a {@link ContainerMetrics} with;
 * exported for the test that keeps it and the engine's snapshot types the
 * same (tests/metrics_wire_test.ts), not for parsing elsewhere.
 *
 * @example
 * ```ts
 * const componentSchema = containerMetricsSchema.shape.components.valueType;
 * Object.keys(componentSchema.shape); // ["kind", "tasks", "emitted", …]
 * ```
 */
export const containerMetricsSchema = z.object({
  version: z.literal(WIRE_VERSION),
  topology: z.string(),
  ...from,
  pid: z.number().int(),
  host: z.string(),
  /** Ms since the epoch when sent. */
  ts: z.number(),
  /** The container's run state (RUNNING, PAUSED, or how it ended). */
  state: topologyStateSchema,
  uptimeMs: z.number(),
  tasks: z.record(z.string(), taskMetricsSchema),
  components: z.record(z.string(), componentMetricsSchema),
  /** Spouts here are held back (by this container's queues, another's, or a lost container). */
  backpressure: z.boolean(),
  /** The component whose mailbox holds this container's own backpressure up ("" when none). */
  backpressureBy: z.string(),
  backpressureEpisodes: z.number(),
  backpressureMs: z.number(),
  /** Malformed frames and messages dropped. */
  dropped: z.number(),
  /** Frames (data and ack batches) and their bytes, in and out. */
  framesIn: z.number(),
  framesOut: z.number(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  /** Destinations out of credit now, and how many times one ran out (flow control). */
  creditBlocked: z.number().optional(),
  creditStalls: z.number().optional(),
}).passthrough();

/** What a container publishes on `metrics` each second. */
export type ContainerMetrics = z.infer<typeof containerMetricsSchema>;

/**
 * Encodes a {@link ContainerMetrics} (msgpack).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { subjects } from "./names.ts";
 * declare const nc: NatsConnection, m: ContainerMetrics;
 * nc.publish(subjects("wc").metrics, encodeMetrics(m));
 * ```
 */
export function encodeMetrics(m: ContainerMetrics): Uint8Array {
  return packr.pack(m);
}

/**
 * Decodes and checks a {@link ContainerMetrics}; throws `WireError`.
 *
 * @example
 * ```ts
 * import type { Msg } from "nats";
 * declare const msg: Msg;
 * const m = decodeMetrics(msg.data);
 * ```
 */
export function decodeMetrics(bytes: Uint8Array): ContainerMetrics {
  return decodeWith(containerMetricsSchema, bytes, "container metrics");
}
