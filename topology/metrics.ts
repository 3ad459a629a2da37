/**
 * User-defined metrics, as a component sees them through its
 * `TopologyContext`: Storm 2's counters, gauges, histograms and meters
 * (`registerCounter` and so on), and Storm 1's `IMetric` reported every
 * `timeBucketSizeInSecs` (`registerMetric`, with `CountMetric` and
 * `MultiCountMetric`). The engine keeps the values per task (metrics/
 * implements {@link MetricRegistry}); they show in the stats snapshot, the
 * tracker and Prometheus.
 *
 * @module
 */

/**
 * A count that only the task changes (Storm 2's `Counter`). `inc` costs
 * about as much as `n++`.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const words = context.registerCounter("words");
 * words.inc();
 * ```
 */
export interface Counter {
  /** Adds `n` (default 1). */
  inc(n?: number): void;
  /** Subtracts `n` (default 1). */
  dec(n?: number): void;
  /** The count now. */
  getCount(): number;
}

/**
 * A value read when the metrics are sampled (Storm 2's `Gauge`).
 *
 * @example
 * ```ts
 * const cache = new Map<string, string>();
 * const g: Gauge<number> = { getValue: () => cache.size };
 * ```
 */
export interface Gauge<T = number> {
  getValue(): T;
}

/**
 * A distribution of values (Storm 2's `Histogram`): percentiles over the
 * recent window (the last minute) and the whole run.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const batch = ["a", "b"];
 * const sizes = context.registerHistogram("batch-size");
 * sizes.update(batch.length);
 * ```
 */
export interface Histogram {
  /** Records one value (non-negative; rounded to an integer). */
  update(value: number): void;
  /** Values recorded so far. */
  getCount(): number;
}

/**
 * Events and their rate per second over the recent window (Storm 2's `Meter`).
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const hits = context.registerMeter("cache-hits");
 * hits.mark();
 * ```
 */
export interface Meter {
  /** Notes `n` events (default 1). */
  mark(n?: number): void;
  /** Events so far. */
  getCount(): number;
}

/**
 * Storm 1's metric: the engine calls `getValueAndReset` every bucket and
 * reports the value (a number, or an object of numbers).
 *
 * @example
 * ```ts
 * class Max implements IMetric { max = 0; update(v: number) { this.max = Math.max(this.max, v); } getValueAndReset() { const m = this.max; this.max = 0; return m; } }
 * ```
 */
export interface IMetric {
  getValueAndReset(): unknown;
}

/**
 * Storm 1's `CountMetric`: a count reported and reset every bucket.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const emitted = context.registerMetric("emitted", new CountMetric(), 10);
 * emitted.incr();
 * ```
 */
export class CountMetric implements IMetric {
  #value = 0;
  /** Adds 1. */
  incr(): void {
    this.#value++;
  }
  /** Adds `n`. */
  incrBy(n: number): void {
    this.#value += n;
  }
  getValueAndReset(): number {
    const v = this.#value;
    this.#value = 0;
    return v;
  }
}

/**
 * Storm 1's `MultiCountMetric`: a count per key, reported and reset every
 * bucket as `{ key: count }`.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const byLang = context.registerMetric("by-lang", new MultiCountMetric(), 10);
 * byLang.scope("en").incr();
 * ```
 */
export class MultiCountMetric implements IMetric {
  #counts = new Map<string, CountMetric>();
  /** The count of `key` (created at first use). */
  scope(key: string): CountMetric {
    let c = this.#counts.get(key);
    if (c === undefined) this.#counts.set(key, c = new CountMetric());
    return c;
  }
  getValueAndReset(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, c] of this.#counts) out[k] = c.getValueAndReset();
    return out;
  }
}

/**
 * Where a task's metrics are registered; the engine gives each task's
 * context one. Registering a name again returns the metric already there (a
 * restarted instance keeps counting); a name registered as another kind is
 * an error.
 *
 * @example
 * ```ts
 * declare const registry: MetricRegistry;
 * const c = registry.counter("words");
 * ```
 */
export interface MetricRegistry {
  counter(name: string): Counter;
  gauge(name: string, gauge: Gauge<unknown> | (() => unknown)): void;
  histogram(name: string): Histogram;
  meter(name: string): Meter;
  metric<M extends IMetric>(name: string, metric: M, timeBucketSizeInSecs: number): M;
}
