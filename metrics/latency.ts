/**
 * Histograms: HdrHistogram (hdr-histogram-js) of sampled latencies,
 * recorded in microseconds with two significant digits (1 % error), and
 * their percentiles; and of plain values (user histograms). Means are
 * exact (running sums). The actors sample one tuple in N (actors/task_actor.ts
 * `LATENCY_SAMPLE_EVERY`), so the hot path pays a counter per tuple; a
 * histogram keeps no per-value memory (buckets of 32-bit counts, a few KB).
 *
 * @module
 */
import type { Histogram } from "hdr-histogram-js";
// The class alone: the package's index also loads its log writer (an
// Intl.NumberFormat built at load), wasm and compression, ~50 ms of every
// process's start-up.
import int32Module from "hdr-histogram-js/dist/Int32Histogram.js";

/** Totals of sampled latencies over a whole run (ms). */
export interface LatencyTotals {
  count: number;
  sumMs: number;
  meanMs: number;
  maxMs: number;
}

/**
 * The totals of `count` samples summing to `sumMs` with the largest `maxMs`
 * (ms, rounded to µs), or null when there are none: one run, or several
 * runs' totals added together.
 *
 * @example
 * ```ts
 * latencyTotals(4, 10, 5); // { count: 4, sumMs: 10, meanMs: 2.5, maxMs: 5 }
 * ```
 */
export function latencyTotals(count: number, sumMs: number, maxMs: number): LatencyTotals | null {
  if (count === 0) return null;
  const r = (ms: number) => Math.round(ms * 1000) / 1000;
  return { count, sumMs: r(sumMs), meanMs: r(sumMs / count), maxMs: r(maxMs) };
}

/** Percentiles of sampled latencies (ms); `count` is the number of samples. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Largest latency kept (1 hour, in µs); longer ones count as this. */
const HIGHEST_US = 3_600_000_000;

/**
 * A histogram's non-empty buckets, compact enough to ship each second (a
 * container's recent window, merged exactly by a tracker). `counts` is flat:
 * the gap from the previous non-empty bucket's index (the first one's is its
 * index + 1), then that bucket's count, for every non-empty bucket in order; the
 * indexes are those of the histograms built here (two significant digits,
 * lowest value 1), a few bytes per bucket in msgpack. `max` is the largest
 * recorded value (µs for latencies), `sum` the values' sum (ms for
 * latencies).
 */
export interface HistogramBuckets {
  sum: number;
  max: number;
  counts: number[];
}

/** Most non-empty buckets a {@link HistogramBuckets} may name (the whole range to an hour at 1 %). */
export const MAX_BUCKETS = 4096;

/** What the buckets need of a (plain JS) hdr histogram. */
interface Indexed {
  maxValue: number;
  getCountAtIndex(i: number): number;
  countsArrayIndex(v: number): number;
  valueFromIndex(i: number): number;
  recordValueWithCount(v: number, n: number): void;
}

function bucketsOf(h: Histogram, sum: number): HistogramBuckets | null {
  if (h.totalCount === 0) return null;
  const x = h as unknown as Indexed;
  const last = x.countsArrayIndex(x.maxValue);
  const counts: number[] = [];
  let prev = -1;
  for (let i = 0; i <= last; i++) {
    const n = x.getCountAtIndex(i);
    if (n === 0) continue;
    counts.push(i - prev, n);
    prev = i;
  }
  return { sum, max: x.maxValue, counts };
}

/**
 * Adds `b` (read from the network: anything malformed is skipped) to `h`;
 * returns the count added.
 */
function addBucketsTo(h: Histogram, b: HistogramBuckets, highest: number): number {
  const x = h as unknown as Indexed;
  const c = b.counts;
  if (!Array.isArray(c) || c.length % 2 !== 0 || c.length > 2 * MAX_BUCKETS) return 0;
  const max = Number.isInteger(b.max) && b.max >= 0 && b.max <= highest ? b.max : -1;
  const maxIndex = max >= 0 ? x.countsArrayIndex(max) : -1;
  let index = -1;
  let added = 0;
  for (let k = 0; k < c.length; k += 2) {
    const gap = c[k]!;
    const n = c[k + 1]!;
    if (!Number.isInteger(gap) || gap < 1 || !Number.isInteger(n) || n < 1) return added;
    index += gap;
    const v = index === maxIndex ? max : x.valueFromIndex(index);
    if (!(v <= highest)) return added;
    x.recordValueWithCount(v, n);
    added += n;
  }
  return added;
}

/**
 * An hdr histogram of 32-bit counts that starts small and grows to the
 * largest value recorded. Plain typed arrays: merging and percentiles cost
 * tens of µs (the "packed" arrays cost ms), at a few KB each.
 */
function build(): Histogram {
  const h = new Int32Histogram(1, 2, 2);
  h.autoResize = true;
  return h;
}

type HistogramClass = new (lowest: number, highest: number, significantDigits: number) => Histogram;
/** A CommonJS module's `exports.default`: Node and Deno import the whole `exports` as the default. */
const Int32Histogram: HistogramClass =
  ((int32Module as unknown as { default?: HistogramClass }).default ?? int32Module) as HistogramClass;

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * A histogram of latencies in milliseconds. The mean is exact (a running
 * sum): hdr's own mean walks every bucket.
 *
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * h.record(0.25); h.record(1.5);
 * h.summary()?.p99Ms; // 1.5
 * ```
 */
export class LatencyHistogram {
  readonly #h: Histogram = build();
  #sumMs = 0;

  /** Records one latency (ms; negative counts as 0). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.#h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
    if (ms > 0) this.#sumMs += ms;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.#h.totalCount;
  }

  /** Sum of the recorded values (ms). */
  get sum(): number {
    return this.#sumMs;
  }

  /** Largest recorded value (ms, 1 % precision), 0 when none. */
  get max(): number {
    return this.#h.maxValue / 1000;
  }

  /** Adds every value of `other` to this one. */
  add(other: LatencyHistogram): void {
    if (other.count === 0) return;
    this.#h.add(other.#h);
    this.#sumMs += other.#sumMs;
  }

  /** Forgets every value. */
  reset(): void {
    this.#h.reset();
    this.#sumMs = 0;
  }

  /**
   * The non-empty buckets (µs), or null when nothing was recorded; a
   * {@link LatencyHistogram.addBuckets} elsewhere gets the same percentiles.
   *
   * @example
   * ```ts
   * declare const h: LatencyHistogram, other: LatencyHistogram;
   * other.addBuckets(h.buckets()!);
   * ```
   */
  buckets(): HistogramBuckets | null {
    return bucketsOf(this.#h, this.#sumMs);
  }

  /** Adds buckets made by {@link LatencyHistogram.buckets} (malformed ones are skipped). */
  addBuckets(b: HistogramBuckets): void {
    if (addBucketsTo(this.#h, b, HIGHEST_US) > 0 && Number.isFinite(b.sum) && b.sum > 0) this.#sumMs += b.sum;
  }

  /** Percentiles, or null when nothing was recorded. */
  summary(): LatencySummary | null {
    const h = this.#h;
    if (h.totalCount === 0) return null;
    // A percentile is the top of its bucket, which may pass the largest value recorded.
    const max = h.maxValue;
    const at = (p: number) => round3(Math.min(h.getValueAtPercentile(p), max) / 1000);
    return {
      count: h.totalCount,
      meanMs: round3(this.#sumMs / h.totalCount),
      p50Ms: at(50),
      p99Ms: at(99),
      p999Ms: at(99.9),
      maxMs: round3(max / 1000),
    };
  }

  /**
   * The summary of several histograms merged (e.g. the tasks of a component).
   *
   * @example
   * ```ts
   * declare const a: LatencyHistogram, b: LatencyHistogram;
   * LatencyHistogram.merged([a, b])?.p50Ms;
   * ```
   */
  static merged(hs: Iterable<LatencyHistogram>): LatencySummary | null {
    const all = [...hs].filter((h) => h.count > 0);
    if (all.length === 0) return null;
    if (all.length === 1) return all[0]!.summary();
    const m = new LatencyHistogram();
    for (const h of all) m.add(h);
    return m.summary();
  }
}

/** Percentiles of the values of a user histogram; `count` is the number of values. */
export interface ValueSummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * A histogram of non-negative values (rounded to integers, negative ones
 * count as 0) with two significant digits, growing as larger values come.
 *
 * @example
 * ```ts
 * const h = new ValueHistogram();
 * h.record(3); h.record(700);
 * h.summary()?.max; // 700
 * ```
 */
export class ValueHistogram {
  readonly #h: Histogram = build();
  #sum = 0;

  /** Records one value. */
  record(v: number): void {
    const n = Math.round(v);
    const x = n > 0 ? n : 0;
    this.#h.recordValue(x);
    this.#sum += x;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.#h.totalCount;
  }

  /** Sum of the recorded values. */
  get sum(): number {
    return this.#sum;
  }

  /** Largest recorded value, 0 when none. */
  get max(): number {
    return this.#h.maxValue;
  }

  /** Adds every value of `other` to this one. */
  add(other: ValueHistogram): void {
    if (other.count === 0) return;
    this.#h.add(other.#h);
    this.#sum += other.#sum;
  }

  /** Forgets every value. */
  reset(): void {
    this.#h.reset();
    this.#sum = 0;
  }

  /**
   * The non-empty buckets, or null when nothing was recorded.
   *
   * @example
   * ```ts
   * declare const h: ValueHistogram, other: ValueHistogram;
   * other.addBuckets(h.buckets()!);
   * ```
   */
  buckets(): HistogramBuckets | null {
    return bucketsOf(this.#h, this.#sum);
  }

  /** Adds buckets made by {@link ValueHistogram.buckets} (malformed ones are skipped). */
  addBuckets(b: HistogramBuckets): void {
    if (addBucketsTo(this.#h, b, Number.MAX_SAFE_INTEGER) > 0 && Number.isFinite(b.sum) && b.sum > 0) {
      this.#sum += b.sum;
    }
  }

  /** Percentiles, or null when nothing was recorded. */
  summary(): ValueSummary | null {
    const h = this.#h;
    if (h.totalCount === 0) return null;
    const max = h.maxValue;
    const at = (p: number) => Math.min(h.getValueAtPercentile(p), max);
    return {
      count: h.totalCount,
      mean: Math.round((this.#sum / h.totalCount) * 1000) / 1000,
      min: at(0),
      p50: at(50),
      p99: at(99),
      p999: at(99.9),
      max,
    };
  }
}
