/**
 * The one way counters add up into a component's and a topology's snapshot,
 * whoever holds the parts: a container adds up its tasks
 * (engine/container_stats.ts), the distributed tracker adds up what each
 * container reported for a component (tracker/remote_stats.ts). Counters
 * add up; capacity is the busiest part's; the latest error wins; the mean
 * complete latency is weighted by the trees it covers; the topology's totals
 * come from its components (spouts' acks, fails and pending trees; bolts'
 * executes; everyone's emits and restarts). Numeric fields this module does
 * not name (counters added to the engine later) add up too.
 *
 * Latency windows merge per holder (a container merges its tasks'
 * histograms, {@link mergeWindows} merges the containers' summaries and
 * window buckets).
 *
 * @module
 */
import { LatencyHistogram, type LatencySummary, type LatencyTotals, latencyTotals } from "./latency.ts";
import {
  type AllTimeLatency,
  type ComponentSnapshot,
  emptyStatsSnapshot,
  type LatencyBuckets,
  type StatsSnapshot,
  type TaskSnapshot,
} from "./snapshot.ts";
import { mergeUserMetrics, type UserMetricsSnapshot } from "./task_metrics.ts";
import type { TopologyState } from "../transport/wire/states.ts";

/** The three latency summaries of a component. */
const LATENCIES = ["executeLatency", "processLatency", "completeLatency"] as const;

/** What one part adds to a component: one task's counters, or one container's sums for the component. */
export type ComponentPart =
  & Pick<
    ComponentSnapshot,
    | "kind"
    | "tasks"
    | "emitted"
    | "executed"
    | "acked"
    | "failed"
    | "timedOut"
    | "pending"
    | "restarts"
    | "errors"
    | "queued"
    | "lastError"
  >
  & Partial<
    Pick<ComponentSnapshot, "lastErrorAt" | "capacity" | "nextTupleCount" | "stuckTasks" | "completeLatencyMs">
  >;

/** The tuple counters a part adds to its component. */
const COUNTERS = [
  "tasks",
  "emitted",
  "executed",
  "acked",
  "failed",
  "timedOut",
  "pending",
  "restarts",
  "errors",
  "queued",
] as const;

/** Component fields {@link ComponentAggregator.add} handles by name (others that are numbers add up). */
const NAMED = new Set<string>([
  ...COUNTERS,
  "kind",
  "capacity",
  "nextTupleCount",
  "lastError",
  "lastErrorAt",
  "lastErrorStack",
  "stuckTasks",
  "completeLatencyMs",
  ...LATENCIES,
  "allTime",
  "latencyBuckets",
  "userMetrics",
]);

/** A component's last error as a snapshot keeps it. */
interface LastError {
  lastError: string | null;
  lastErrorAt?: number | null;
}

/**
 * Whether `e` replaces `current` as the last error: it has one, and it
 * happened no earlier (an error without a time counts as at 0).
 *
 * @example
 * ```ts
 * isLaterError({ lastError: "b", lastErrorAt: 2 }, { lastError: "a", lastErrorAt: 1 }); // true
 * ```
 */
export function isLaterError(e: LastError, current: LastError): boolean {
  return e.lastError !== null && (current.lastError === null || (e.lastErrorAt ?? 0) >= (current.lastErrorAt ?? 0));
}

/**
 * Adds parts into components, by component name.
 *
 * @example
 * ```ts
 * import { type ComponentSnapshot, emptyComponentSnapshot } from "./snapshot.ts";
 * declare const containerA: { components: Record<string, ComponentSnapshot> };
 * declare const containerB: { components: Record<string, ComponentSnapshot> };
 * const agg = new ComponentAggregator();
 * for (const [name, c] of Object.entries(containerA.components)) agg.add(name, c, () => emptyComponentSnapshot(c.kind));
 * for (const [name, c] of Object.entries(containerB.components)) agg.add(name, c, () => emptyComponentSnapshot(c.kind));
 * const components = agg.finish();
 * ```
 */
export class ComponentAggregator {
  readonly #components: Record<string, ComponentSnapshot> = {};
  /** Per component: the complete latency's sum and the trees it covers. */
  readonly #complete = new Map<string, { sum: number; n: number }>();

  /** Component `name`, made by `make` when it is not there yet. */
  component(name: string, make: () => ComponentSnapshot): ComponentSnapshot {
    return this.#components[name] ??= make();
  }

  /**
   * Adds `part` to component `name` (made by `make` if new). `complete` is
   * the part's complete latency as a sum over `n` trees (default: its mean
   * over its acked trees).
   */
  add(
    name: string,
    part: ComponentPart,
    make: () => ComponentSnapshot,
    complete: { sum: number; n: number } = { sum: (part.completeLatencyMs ?? 0) * part.acked, n: part.acked },
  ): ComponentSnapshot {
    const x = this.component(name, make);
    for (const k of COUNTERS) x[k] += part[k];
    x.capacity = Math.max(x.capacity ?? 0, part.capacity ?? 0);
    if (part.nextTupleCount !== undefined) x.nextTupleCount = (x.nextTupleCount ?? 0) + part.nextTupleCount;
    if (isLaterError(part, x)) {
      x.lastError = part.lastError;
      x.lastErrorAt = part.lastErrorAt ?? null;
    }
    if ((part.stuckTasks ?? 0) > 0) x.stuckTasks = (x.stuckTasks ?? 0) + part.stuckTasks!;
    const m = this.#complete.get(name);
    if (m === undefined) this.#complete.set(name, { ...complete });
    else {
      m.sum += complete.sum;
      m.n += complete.n;
    }
    // Counters this module does not know (added to the engine's stats later) add up.
    const xr = x as unknown as Record<string, unknown>;
    for (const [key, v] of Object.entries(part)) {
      if (NAMED.has(key) || typeof v !== "number") continue;
      xr[key] = (typeof xr[key] === "number" ? xr[key] as number : 0) + v;
    }
    return x;
  }

  /** The components, each with its mean complete latency over every part added. */
  finish(): Record<string, ComponentSnapshot> {
    for (const [name, m] of this.#complete) this.#components[name]!.completeLatencyMs = m.n > 0 ? m.sum / m.n : 0;
    return this.#components;
  }
}

/** What a topology's snapshot has besides its components and tasks. */
export interface TopologyExtras {
  uptimeMs: number;
  backpressure: boolean;
  backpressureEpisodes: number;
  backpressureMs: number;
  backpressureBy?: string;
  latencyWindowMs?: number;
}

/**
 * A topology's snapshot: its components and tasks, and the totals summed
 * from the components (emits and restarts of all; acks, fails, timeouts and
 * pending trees of spouts; executes of bolts).
 *
 * @example
 * ```ts
 * import type { TaskSnapshot } from "./snapshot.ts";
 * declare const agg: ComponentAggregator;
 * declare const tasks: Record<string, TaskSnapshot>;
 * const s = topologySnapshot("wc", "RUNNING", agg.finish(), tasks, { uptimeMs: 1000, backpressure: false, backpressureEpisodes: 0, backpressureMs: 0 });
 * s.acked; // the spouts' acks
 * ```
 */
export function topologySnapshot(
  name: string,
  state: TopologyState,
  components: Record<string, ComponentSnapshot>,
  tasks: Record<string, TaskSnapshot>,
  extras: TopologyExtras,
): StatsSnapshot & { spoutEmitted: number } {
  const s = { ...emptyStatsSnapshot(name, state), ...extras, components, tasks };
  for (const c of Object.values(components)) {
    s.emitted += c.emitted;
    s.restarts += c.restarts;
    if (c.kind === "spout") {
      s.spoutEmitted += c.emitted;
      s.acked += c.acked;
      s.failed += c.failed;
      s.timedOut += c.timedOut;
      s.pending += c.pending;
    } else s.executed += c.executed;
  }
  return s;
}

/**
 * Run totals of several parts: counts and sums add up, the max is the
 * largest. One part with samples is kept as it is (its mean was rounded
 * from its exact sum, which a mean of the rounded sum could miss by 1 µs).
 */
function mergeTotals(parts: ReadonlyArray<LatencyTotals | null | undefined>): LatencyTotals | null {
  const withSamples = parts.filter((p) => p != null && p.count > 0);
  if (withSamples.length === 1) return { ...withSamples[0]! };
  let count = 0;
  let sumMs = 0;
  let maxMs = 0;
  for (const p of parts) {
    if (p == null || p.count === 0) continue;
    count += p.count;
    sumMs += p.sumMs;
    maxMs = Math.max(maxMs, p.maxMs);
  }
  return latencyTotals(count, sumMs, maxMs);
}

/** A summary and the window histogram behind it (absent from older containers). */
type SummaryPart = { summary: LatencySummary | null | undefined; buckets: LatencyBuckets[keyof LatencyBuckets] };

/**
 * Merges latency summaries, exactly from their window histograms when every
 * part with samples has its buckets. Otherwise (an older container) counts
 * add up, the mean and max are exact and the percentiles are the
 * count-weighted means of the parts'.
 */
function mergeLatency(parts: readonly SummaryPart[], scratch: LatencyHistogram): LatencySummary | null {
  const withSamples = parts.filter((p) => p.summary != null && p.summary.count > 0);
  if (withSamples.length === 0) return null;
  if (withSamples.length === 1) return { ...withSamples[0]!.summary! };
  if (withSamples.every((p) => p.buckets != null)) {
    scratch.reset();
    for (const p of withSamples) scratch.addBuckets(p.buckets!);
    return scratch.summary();
  }
  const ps = withSamples.map((p) => p.summary!);
  const n = ps.reduce((a, p) => a + p.count, 0);
  const w = (f: (p: LatencySummary) => number) =>
    Math.round(ps.reduce((a, p) => a + f(p) * p.count, 0) / n * 1000) / 1000;
  return {
    count: n,
    meanMs: w((p) => p.meanMs),
    p50Ms: w((p) => p.p50Ms),
    p99Ms: w((p) => p.p99Ms),
    p999Ms: w((p) => p.p999Ms),
    maxMs: Math.max(...ps.map((p) => p.maxMs)),
  };
}

/**
 * User metrics without the histograms' buckets (they are for merging, not
 * for showing).
 *
 * @example
 * ```ts
 * import type { UserMetricsSnapshot } from "./task_metrics.ts";
 * declare const component: { userMetrics: UserMetricsSnapshot };
 * withoutBuckets(component.userMetrics).histograms?.sizes?.buckets; // undefined
 * ```
 */
export function withoutBuckets(u: UserMetricsSnapshot): UserMetricsSnapshot {
  if (u.histograms === undefined) return u;
  const histograms: NonNullable<UserMetricsSnapshot["histograms"]> = {};
  for (const [k, h] of Object.entries(u.histograms)) histograms[k] = { count: h.count, sum: h.sum, window: h.window };
  return { ...u, histograms };
}

/** What {@link mergeWindows} reads of one part: a component's windows as one holder reported them. */
export type WindowPart = Partial<
  Pick<ComponentSnapshot, (typeof LATENCIES)[number] | "allTime" | "latencyBuckets" | "userMetrics">
>;

/**
 * Merges one component's latency summaries, run totals and user metrics
 * from several holders (each container's report, with the window
 * histograms behind its summaries) into `into`: a summary only from the
 * parts that have it; percentiles exactly from the buckets
 * ({@link LatencyHistogram}); user metrics summed, histogram windows
 * merged, buckets left out.
 *
 * @example
 * ```ts
 * import type { ComponentSnapshot } from "./snapshot.ts";
 * declare const components: Record<string, ComponentSnapshot>;
 * declare const reportA: { components: Record<string, ComponentSnapshot> };
 * declare const reportB: { components: Record<string, ComponentSnapshot> };
 * mergeWindows(components.split, [reportA.components.split, reportB.components.split]);
 * components.split.executeLatency?.p99Ms; // over both containers' windows
 * ```
 */
export function mergeWindows(
  into: ComponentSnapshot,
  parts: readonly WindowPart[],
  scratch = new LatencyHistogram(),
): void {
  for (const key of LATENCIES) {
    const list = parts.filter((p) => key in p).map((p) => ({ summary: p[key], buckets: p.latencyBuckets?.[key] }));
    if (list.length > 0) into[key] = mergeLatency(list, scratch);
  }
  const allTimes = parts.map((p) => p.allTime).filter((a): a is AllTimeLatency => a !== undefined);
  if (allTimes.length > 0) {
    const all: AllTimeLatency = {};
    for (const key of LATENCIES) {
      const list = allTimes.filter((a) => key in a).map((a) => a[key]);
      if (list.length > 0) all[key] = mergeTotals(list);
    }
    into.allTime = all;
  }
  const user = mergeUserMetrics(
    parts.map((p) => p.userMetrics).filter((u): u is UserMetricsSnapshot => u !== undefined),
  );
  if (user !== undefined) into.userMetrics = withoutBuckets(user);
}
