/**
 * Sliding windows over histograms and counts: percentiles of the recent past
 * instead of the whole run. A window is a ring of per-interval histograms;
 * recording touches only the current one, and {@link SlidingHistogram.tick}
 * (the container calls it about every second, with its clock) moves to the
 * next interval and forgets the oldest. Percentiles merge the intervals of
 * the window, so a window of 60 s in 6 intervals covers the last 50-60 s.
 * The whole run is kept too, cheaply: each interval is added to a running
 * total as it closes.
 *
 * @module
 */
import {
  LatencyHistogram,
  type LatencySummary,
  type LatencyTotals,
  latencyTotals,
  ValueHistogram,
  type ValueSummary,
} from "./latency.ts";

/** Default length of a sliding window (ms). */
export const DEFAULT_WINDOW_MS = 60_000;
/** Default number of intervals a window is cut into. */
export const DEFAULT_WINDOW_SLOTS = 6;

/** Options of a sliding window. */
export interface WindowOptions {
  /** Length of the window (default {@link DEFAULT_WINDOW_MS}). */
  windowMs?: number;
  /** Intervals the window is cut into (default {@link DEFAULT_WINDOW_SLOTS}). */
  slots?: number;
  /** Where the window starts (ms on the clock {@link SlidingHistogram.tick} is given; default 0). */
  startMs?: number;
}

/** What a histogram of the ring must do (both histogram kinds of latency.ts do). */
interface Mergeable<H> {
  readonly count: number;
  readonly sum: number;
  readonly max: number;
  record(v: number): void;
  add(other: H): void;
  reset(): void;
}

/**
 * A sliding window of histograms; see {@link SlidingLatency} and
 * {@link SlidingValues} for the two kinds.
 */
abstract class SlidingHistogram<H extends Mergeable<H>, S> {
  readonly #slots: H[];
  /** The intervals of the window but the current one, merged (kept between ticks). */
  readonly #closed: H;
  readonly #scratch: H;
  /** Count, sum and largest of the values of the intervals forgotten so far. */
  #goneCount = 0;
  #goneSum = 0;
  #goneMax = 0;
  readonly #slotMs: number;
  #head = 0;
  #current: H;
  #slotStart: number;

  constructor(make: () => H, opts: WindowOptions = {}) {
    const n = Math.max(1, Math.floor(opts.slots ?? DEFAULT_WINDOW_SLOTS));
    this.#slotMs = Math.max(1, (opts.windowMs ?? DEFAULT_WINDOW_MS) / n);
    this.#slots = Array.from({ length: n }, make);
    this.#closed = make();
    this.#scratch = make();
    this.#current = this.#slots[0]!;
    this.#slotStart = opts.startMs ?? 0;
  }

  /** The window's length (ms). */
  get windowMs(): number {
    return this.#slotMs * this.#slots.length;
  }

  /** Records one value into the current interval (no clock read). */
  record(v: number): void {
    this.#current.record(v);
  }

  /**
   * The current interval's histogram: recording into it is recording into
   * the window (one call less), until the next {@link SlidingHistogram.tick}
   * that moves to another interval.
   */
  get current(): H {
    return this.#current;
  }

  /** Values recorded over the run. */
  get count(): number {
    let n = this.#goneCount;
    for (const h of this.#slots) n += h.count;
    return n;
  }

  /** Their sum. */
  get sum(): number {
    let n = this.#goneSum;
    for (const h of this.#slots) n += h.sum;
    return n;
  }

  /** The largest of them (0 when none). */
  get max(): number {
    let m = this.#goneMax;
    for (const h of this.#slots) if (h.max > m) m = h.max;
    return m;
  }

  /**
   * Moves the window to `now`: every interval that ended since the last
   * tick closes, and intervals older than the window are forgotten. Cheap
   * when no interval ended.
   */
  tick(now: number): void {
    const steps = Math.floor((now - this.#slotStart) / this.#slotMs);
    if (steps <= 0) return;
    this.#slotStart += steps * this.#slotMs;
    const n = this.#slots.length;
    for (let i = 0; i < Math.min(steps, n); i++) {
      this.#head = (this.#head + 1) % n;
      const next = this.#slots[this.#head]!;
      // Leaving the window: what the run's totals must keep of it.
      if (next.count > 0) {
        this.#goneCount += next.count;
        this.#goneSum += next.sum;
        if (next.max > this.#goneMax) this.#goneMax = next.max;
        next.reset();
      }
      this.#current = next;
    }
    this.#closed.reset();
    for (const h of this.#slots) if (h !== this.#current && h.count > 0) this.#closed.add(h);
  }

  /** Adds the window's values to `into`. */
  addWindowTo(into: H): void {
    if (this.#closed.count > 0) into.add(this.#closed);
    if (this.#current.count > 0) into.add(this.#current);
  }

  /** Summary of the window, or null when it holds nothing. */
  window(): S | null {
    const h = this.#scratch;
    h.reset();
    this.addWindowTo(h);
    return this.summarize(h);
  }

  protected abstract summarize(h: H): S | null;
}

/**
 * Sampled latencies (ms) over a sliding window; an actor's `LatencySink`.
 *
 * @example
 * ```ts
 * const l = new SlidingLatency({ windowMs: 60_000, startMs: performance.now() });
 * l.record(1.5);
 * l.tick(performance.now());
 * l.window()?.p99Ms; // 1.5
 * ```
 */
export class SlidingLatency extends SlidingHistogram<LatencyHistogram, LatencySummary> {
  constructor(opts: WindowOptions = {}) {
    super(() => new LatencyHistogram(), opts);
  }

  protected summarize(h: LatencyHistogram): LatencySummary | null {
    return h.summary();
  }

  /** Count, sum, mean and maximum over the whole run, or null when nothing was recorded. */
  total(): LatencyTotals | null {
    return totals([this]);
  }
}

/**
 * Whole-run totals of several latency windows (e.g. a component's tasks),
 * or null when none recorded anything.
 *
 * @example
 * ```ts
 * declare const a: SlidingLatency, b: SlidingLatency;
 * totals([a, b])?.meanMs;
 * ```
 */
export function totals(ls: Iterable<SlidingLatency>): LatencyTotals | null {
  let count = 0;
  let sum = 0;
  let max = 0;
  for (const l of ls) {
    count += l.count;
    sum += l.sum;
    if (l.max > max) max = l.max;
  }
  return latencyTotals(count, sum, max);
}

/**
 * Values (non-negative; rounded to integers) over a sliding window: a user
 * histogram (`context.registerHistogram`).
 *
 * @example
 * ```ts
 * const v = new SlidingValues();
 * v.record(120); v.record(80);
 * v.window()?.p50; // 80
 * ```
 */
export class SlidingValues extends SlidingHistogram<ValueHistogram, ValueSummary> {
  constructor(opts: WindowOptions = {}) {
    super(() => new ValueHistogram(), opts);
  }

  protected summarize(h: ValueHistogram): ValueSummary | null {
    return h.summary();
  }
}

/**
 * The rate of a growing count over a sliding window: a ring of the count at
 * each interval boundary.
 *
 * @example
 * ```ts
 * const r = new SlidingRate({ startMs: 0 });
 * r.tick(10_000, 500);
 * r.perSecond(10_000, 500); // 50
 * ```
 */
export class SlidingRate {
  readonly #counts: number[];
  readonly #times: number[];
  readonly #slotMs: number;
  #head = 0;
  #filled = 1;
  #slotStart: number;

  constructor(opts: WindowOptions = {}) {
    const n = Math.max(1, Math.floor(opts.slots ?? DEFAULT_WINDOW_SLOTS));
    this.#slotMs = Math.max(1, (opts.windowMs ?? DEFAULT_WINDOW_MS) / n);
    this.#slotStart = opts.startMs ?? 0;
    this.#counts = new Array<number>(n + 1).fill(0);
    this.#times = new Array<number>(n + 1).fill(this.#slotStart);
  }

  /** Notes `count` at `now` when an interval has ended since the last note. */
  tick(now: number, count: number): void {
    if (now - this.#slotStart < this.#slotMs) return;
    this.#slotStart = now;
    this.#head = (this.#head + 1) % this.#counts.length;
    this.#counts[this.#head] = count;
    this.#times[this.#head] = now;
    if (this.#filled < this.#counts.length) this.#filled++;
  }

  /** Per-second rate of `count` (now) since the oldest note of the window. */
  perSecond(now: number, count: number): number {
    const oldest = (this.#head - this.#filled + 1 + this.#counts.length) % this.#counts.length;
    const dt = now - this.#times[oldest]!;
    return dt <= 0 ? 0 : ((count - this.#counts[oldest]!) * 1000) / dt;
  }
}
