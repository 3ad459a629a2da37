/**
 * The user metrics of one task (what `TopologyContext.registerCounter` and
 * its siblings register) and their snapshot, per task and summed per
 * component. Recording is a field increment (counters, meters) or one
 * histogram record; the work happens in {@link TaskMetrics.tick} (about once
 * a second, by the container) and when a snapshot is taken.
 *
 * @module
 */
import { ArdeaError } from "../topology/errors.ts";
import type { Counter, Gauge, Histogram, IMetric, Meter, MetricRegistry } from "../topology/metrics.ts";
import { type HistogramBuckets, ValueHistogram, type ValueSummary } from "./latency.ts";
import { SlidingRate, SlidingValues, type WindowOptions } from "./sliding.ts";

/** A user histogram in a snapshot: run totals and the window's percentiles. */
export interface HistogramSnapshot {
  /** Values recorded over the run. */
  count: number;
  /** Their sum. */
  sum: number;
  /** Percentiles over the recent window (null when it holds no value). */
  window: ValueSummary | null;
  /** The window's histogram (a component's, when asked for), for a tracker to merge exactly. */
  buckets?: HistogramBuckets | null;
}

/** A user meter in a snapshot. */
export interface MeterSnapshot {
  /** Events over the run. */
  count: number;
  /** Events per second over the recent window. */
  ratePerSec: number;
}

/**
 * User metrics of a task, or of a component (summed over its tasks:
 * counters, gauges, meters and Storm 1 metrics add up; histograms merge).
 * Only kinds that were registered appear.
 */
export interface UserMetricsSnapshot {
  counters?: Record<string, number>;
  gauges?: Record<string, number>;
  histograms?: Record<string, HistogramSnapshot>;
  meters?: Record<string, MeterSnapshot>;
  /** Storm 1 `registerMetric`: the value of the last complete bucket. */
  metrics?: Record<string, number | Record<string, number>>;
}

type Kind = "counter" | "gauge" | "histogram" | "meter" | "metric";

class CounterImpl implements Counter {
  count = 0;
  inc(n = 1): void {
    this.count += n;
  }
  dec(n = 1): void {
    this.count -= n;
  }
  getCount(): number {
    return this.count;
  }
}

class HistogramImpl implements Histogram {
  count = 0;
  sum = 0;
  constructor(readonly values: SlidingValues) {}
  update(value: number): void {
    this.count++;
    this.sum += value;
    this.values.record(value);
  }
  getCount(): number {
    return this.count;
  }
}

class MeterImpl implements Meter {
  count = 0;
  constructor(readonly rate: SlidingRate) {}
  mark(n = 1): void {
    this.count += n;
  }
  getCount(): number {
    return this.count;
  }
}

interface BucketMetric {
  metric: IMetric;
  bucketMs: number;
  due: number;
  value: number | Record<string, number> | undefined;
}

/** A number, an object of numbers, or undefined for anything else. */
function numeric(v: unknown): number | Record<string, number> | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (v === null || typeof v !== "object") return undefined;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === "number" && Number.isFinite(x)) out[k] = x;
  }
  return out;
}

/**
 * The metric registry of one task.
 *
 * @example
 * ```ts
 * import { type StormTopology, TopologyContext } from "ardea";
 * declare const topology: StormTopology;
 * const m = new TaskMetrics({ startMs: performance.now() });
 * const ctx = new TopologyContext(topology, "wc", 1, 0, () => 0, m);
 * ctx.registerCounter("words").inc();
 * m.snapshot(performance.now())?.counters; // { words: 1 }
 * ```
 */
export class TaskMetrics implements MetricRegistry {
  readonly #opts: WindowOptions;
  readonly #kinds = new Map<string, Kind>();
  readonly counters = new Map<string, CounterImpl>();
  readonly gauges = new Map<string, () => unknown>();
  readonly histograms = new Map<string, HistogramImpl>();
  readonly meters = new Map<string, MeterImpl>();
  readonly metrics = new Map<string, BucketMetric>();
  #now: number;

  constructor(opts: WindowOptions = {}) {
    this.#opts = opts;
    this.#now = opts.startMs ?? 0;
  }

  /** Whether nothing was registered. */
  get empty(): boolean {
    return this.#kinds.size === 0;
  }

  #claim(name: string, kind: Kind): boolean {
    if (typeof name !== "string" || name === "") {
      throw new ArdeaError("BAD_METRIC_NAME", `a metric name must be a non-empty string (got ${JSON.stringify(name)})`);
    }
    const had = this.#kinds.get(name);
    if (had === undefined) {
      this.#kinds.set(name, kind);
      return false;
    }
    if (had !== kind) {
      throw new ArdeaError("METRIC_KIND", `metric "${name}" is already registered as a ${had}, not a ${kind}`);
    }
    return true;
  }

  counter(name: string): Counter {
    if (this.#claim(name, "counter")) return this.counters.get(name)!;
    const c = new CounterImpl();
    this.counters.set(name, c);
    return c;
  }

  gauge(name: string, gauge: Gauge<unknown> | (() => unknown)): void {
    this.#claim(name, "gauge");
    if (typeof gauge === "function") this.gauges.set(name, gauge);
    else if (gauge !== null && typeof gauge === "object" && typeof gauge.getValue === "function") {
      this.gauges.set(name, () => gauge.getValue());
    } else throw new ArdeaError("BAD_GAUGE", `gauge "${name}" must be a function or have getValue()`);
  }

  histogram(name: string): Histogram {
    if (this.#claim(name, "histogram")) return this.histograms.get(name)!;
    const h = new HistogramImpl(new SlidingValues({ ...this.#opts, startMs: this.#now }));
    this.histograms.set(name, h);
    return h;
  }

  meter(name: string): Meter {
    if (this.#claim(name, "meter")) return this.meters.get(name)!;
    const m = new MeterImpl(new SlidingRate({ ...this.#opts, startMs: this.#now }));
    this.meters.set(name, m);
    return m;
  }

  metric<M extends IMetric>(name: string, metric: M, timeBucketSizeInSecs: number): M {
    this.#claim(name, "metric");
    if (metric === null || typeof metric !== "object" || typeof metric.getValueAndReset !== "function") {
      throw new ArdeaError("BAD_METRIC", `metric "${name}" must have getValueAndReset()`);
    }
    if (!(timeBucketSizeInSecs > 0) || !Number.isFinite(timeBucketSizeInSecs)) {
      throw new ArdeaError(
        "BAD_METRIC_BUCKET",
        `metric "${name}": timeBucketSizeInSecs must be a positive number (got ${timeBucketSizeInSecs})`,
      );
    }
    const bucketMs = timeBucketSizeInSecs * 1000;
    const prev = this.metrics.get(name);
    // A restarted instance registers again: its metric replaces the old one, the bucket clock goes on.
    this.metrics.set(name, { metric, bucketMs, due: prev?.due ?? this.#now + bucketMs, value: prev?.value });
    return metric;
  }

  /**
   * Moves the windows to `now` and reports every Storm 1 metric whose bucket
   * ended (a `getValueAndReset` that throws reports nothing for that bucket).
   */
  tick(now: number): void {
    this.#now = now;
    for (const h of this.histograms.values()) h.values.tick(now);
    for (const m of this.meters.values()) m.rate.tick(now, m.count);
    for (const b of this.metrics.values()) {
      if (now < b.due) continue;
      b.due = now + b.bucketMs;
      try {
        b.value = numeric(b.metric.getValueAndReset());
      } catch {
        b.value = undefined;
      }
    }
  }

  /** The values at `now` (ticking first), or undefined when nothing is registered. */
  snapshot(now: number): UserMetricsSnapshot | undefined {
    if (this.empty) return undefined;
    this.tick(now);
    const out: UserMetricsSnapshot = {};
    if (this.counters.size > 0) {
      out.counters = {};
      for (const [k, c] of this.counters) out.counters[k] = c.count;
    }
    if (this.gauges.size > 0) {
      out.gauges = {};
      for (const [k, g] of this.gauges) {
        let v: unknown;
        try {
          v = g();
        } catch {
          continue;
        }
        if (typeof v === "number" && Number.isFinite(v)) out.gauges[k] = v;
      }
    }
    if (this.histograms.size > 0) {
      out.histograms = {};
      for (const [k, h] of this.histograms) {
        out.histograms[k] = { count: h.count, sum: h.sum, window: h.values.window() };
      }
    }
    if (this.meters.size > 0) {
      out.meters = {};
      for (const [k, m] of this.meters) out.meters[k] = { count: m.count, ratePerSec: m.rate.perSecond(now, m.count) };
    }
    if (this.metrics.size > 0) {
      out.metrics = {};
      for (const [k, b] of this.metrics) if (b.value !== undefined) out.metrics[k] = b.value;
    }
    return out;
  }
}

/**
 * The user metrics of a component: `snapshots` (its tasks', taken at the
 * same moment) summed, with the windows of `registries`' histograms merged
 * (and their buckets kept, with `buckets`).
 *
 * @example
 * ```ts
 * declare const tasks: TaskMetrics[];
 * const now = performance.now();
 * const c = sumUserMetrics(tasks.map((t) => t.snapshot(now)!), tasks);
 * ```
 */
export function sumUserMetrics(
  snapshots: readonly UserMetricsSnapshot[],
  registries: readonly TaskMetrics[],
  buckets = false,
): UserMetricsSnapshot | undefined {
  if (snapshots.length === 0) return undefined;
  const out: UserMetricsSnapshot = {};
  const add = (into: Record<string, number>, k: string, v: number) => (into[k] = (into[k] ?? 0) + v);
  for (const s of snapshots) {
    if (s.counters) { for (const [k, v] of Object.entries(s.counters)) add(out.counters ??= {}, k, v); }
    if (s.gauges) { for (const [k, v] of Object.entries(s.gauges)) add(out.gauges ??= {}, k, v); }
    if (s.meters) {
      for (const [k, v] of Object.entries(s.meters)) {
        const m = (out.meters ??= {})[k] ??= { count: 0, ratePerSec: 0 };
        m.count += v.count;
        m.ratePerSec += v.ratePerSec;
      }
    }
    if (s.histograms) {
      for (const [k, v] of Object.entries(s.histograms)) {
        const h = (out.histograms ??= {})[k] ??= { count: 0, sum: 0, window: null };
        h.count += v.count;
        h.sum += v.sum;
      }
    }
    if (s.metrics) {
      for (const [k, v] of Object.entries(s.metrics)) {
        const all = out.metrics ??= {};
        const had = all[k];
        if (typeof v === "number") all[k] = (typeof had === "number" ? had : 0) + v;
        else {
          const into = typeof had === "object" ? had : (all[k] = {});
          for (const [kk, x] of Object.entries(v)) add(into, kk, x);
        }
      }
    }
  }
  if (out.histograms) {
    for (const k of Object.keys(out.histograms)) {
      const merged = new ValueHistogram();
      for (const r of registries) r.histograms.get(k)?.values.addWindowTo(merged);
      out.histograms[k]!.window = merged.summary();
      if (buckets) out.histograms[k]!.buckets = merged.buckets();
    }
  }
  return out;
}

/**
 * The user metrics of one component over several processes (each part the
 * component's sum in one container): counters, gauges, meters and Storm 1
 * metrics add up; histogram windows merge exactly from their buckets when
 * every part carries them, else the merged window keeps exact count, mean,
 * min and max and count-weighted percentiles. No part carries buckets out.
 *
 * @example
 * ```ts
 * declare const a: UserMetricsSnapshot, b: UserMetricsSnapshot;
 * mergeUserMetrics([a, b])?.counters?.words; // a's words + b's
 * ```
 */
export function mergeUserMetrics(parts: readonly UserMetricsSnapshot[]): UserMetricsSnapshot | undefined {
  if (parts.length === 0) return undefined;
  const out = sumUserMetrics(parts, []) ?? {};
  if (out.histograms === undefined) return out;
  for (const [k, h] of Object.entries(out.histograms)) {
    const own = parts.map((p) => p.histograms?.[k]).filter((x): x is HistogramSnapshot =>
      x !== undefined && x.window !== null
    );
    if (own.length === 0) {
      h.window = null;
      continue;
    }
    if (own.every((x) => x.buckets != null)) {
      const merged = new ValueHistogram();
      for (const x of own) merged.addBuckets(x.buckets!);
      h.window = merged.summary();
      continue;
    }
    const ws = own.map((x) => x.window!);
    const n = ws.reduce((a, w) => a + w.count, 0);
    const w = (f: (v: ValueSummary) => number) =>
      Math.round(ws.reduce((a, v) => a + f(v) * v.count, 0) / n * 1000) / 1000;
    h.window = {
      count: n,
      mean: w((v) => v.mean),
      min: Math.min(...ws.map((v) => v.min)),
      p50: w((v) => v.p50),
      p99: w((v) => v.p99),
      p999: w((v) => v.p999),
      max: Math.max(...ws.map((v) => v.max)),
    };
  }
  return out;
}
