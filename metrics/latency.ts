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
import hdr, { type Histogram } from "hdr-histogram-js";

/** Totals of sampled latencies over a whole run (ms). */
export interface LatencyTotals {
  count: number;
  sumMs: number;
  meanMs: number;
  maxMs: number;
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
 * An hdr histogram of 32-bit counts that starts small and grows to the
 * largest value recorded. Plain typed arrays: merging and percentiles cost
 * tens of µs (the "packed" arrays cost ms), at a few KB each.
 */
function build(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 2,
    bitBucketSize: 32,
    autoResize: true,
    useWebAssembly: false,
  });
}

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
