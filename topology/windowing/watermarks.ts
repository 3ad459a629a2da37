/**
 * Event time: tracks the latest timestamp of every input stream, computes
 * the watermark (the smallest of those minus the allowed lag, once every
 * stream has been heard from, as Storm's `WaterMarkEventGenerator`), and
 * holds tuples until the watermark passes them, so windows see them in
 * timestamp order. A tuple older than the watermark is late.
 *
 * @module
 */

/** What {@link Watermarks} hold, as plain data, for a checkpoint. */
export interface WatermarksSnapshot<E> {
  watermark: number;
  maxTs: Array<[string, number]>;
  held: Array<[E, number]>;
}

interface Held<T> {
  readonly item: T;
  readonly ts: number;
}

/**
 * Reorders timestamped items behind a watermark.
 *
 * @example
 * ```ts
 * const w = new Watermarks<string>(0, null);
 * w.track("s", 5); w.hold("a", 5);
 * w.track("s", 9); w.hold("b", 9);
 * w.advance((item, ts) => console.log(item, ts)); // a 5 (the watermark is now 9)
 * ```
 */
export class Watermarks<T> {
  /** Every item older than this is late. */
  watermark = -Infinity;
  readonly #maxTs = new Map<string, number>();
  #held: Held<T>[] = [];

  constructor(
    /** Allowed lag in ms. */
    readonly lagMs: number,
    /** The input streams ("component:stream") that must all be heard from; null: whichever were seen. */
    readonly streams: readonly string[] | null,
  ) {}

  /** Items waiting for the watermark. */
  get size(): number {
    return this.#held.length;
  }

  /** The items waiting, oldest first. */
  heldItems(): T[] {
    return this.#held.map((h) => h.item);
  }

  /** Notes a timestamp seen on `stream`. */
  track(stream: string, ts: number): void {
    const cur = this.#maxTs.get(stream);
    if (cur === undefined || ts > cur) this.#maxTs.set(stream, ts);
  }

  /** Whether `ts` is older than the watermark. */
  isLate(ts: number): boolean {
    return ts < this.watermark;
  }

  /** Holds an item until the watermark passes it (stable for equal timestamps). */
  hold(item: T, ts: number): void {
    const h = this.#held;
    let lo = 0;
    let hi = h.length;
    if (hi === 0 || h[hi - 1]!.ts <= ts) {
      h.push({ item, ts });
      return;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (h[mid]!.ts <= ts) lo = mid + 1;
      else hi = mid;
    }
    h.splice(lo, 0, { item, ts });
  }

  /** The watermark the tracked timestamps allow now (-Infinity until every stream was heard from). */
  compute(): number {
    let min = Infinity;
    if (this.streams !== null && this.streams.length > 0) {
      for (const s of this.streams) {
        const ts = this.#maxTs.get(s);
        if (ts === undefined) return -Infinity;
        if (ts < min) min = ts;
      }
    } else {
      if (this.#maxTs.size === 0) return -Infinity;
      for (const ts of this.#maxTs.values()) if (ts < min) min = ts;
    }
    return min - this.lagMs;
  }

  /**
   * What the watermarks hold, for a checkpoint: the watermark, the newest
   * timestamp per stream and the items waiting (`encode` makes them plain).
   */
  snapshot<E>(encode: (item: T) => E): WatermarksSnapshot<E> {
    return {
      watermark: this.watermark,
      maxTs: [...this.#maxTs],
      held: this.#held.map((h) => [encode(h.item), h.ts]),
    };
  }

  /** Replaces the watermarks' contents with a {@link snapshot}'s. */
  restore<E>(snap: WatermarksSnapshot<E>, decode: (data: E) => T): void {
    this.watermark = snap.watermark;
    this.#maxTs.clear();
    for (const [k, v] of snap.maxTs) this.#maxTs.set(k, v);
    this.#held = snap.held.map(([d, ts]) => ({ item: decode(d), ts }));
  }

  /**
   * Raises the watermark to what the timestamps allow (or to `to`) and hands
   * every held item older than it to `release`, oldest first. Returns
   * whether the watermark moved.
   */
  advance(release: (item: T, ts: number) => void, to: number = this.compute()): boolean {
    if (!(to > this.watermark)) return false;
    this.watermark = to;
    const h = this.#held;
    let n = 0;
    while (n < h.length && h[n]!.ts < to) n++;
    if (n > 0) {
      const out = h.splice(0, n);
      for (const x of out) release(x.item, x.ts);
    }
    return true;
  }
}
