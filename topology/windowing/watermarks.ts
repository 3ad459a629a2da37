/**
 * Event time: tracks the latest timestamp of every input stream, computes
 * the watermark (the smallest of those minus the allowed lag, once every
 * stream has been heard from, as Storm's `WaterMarkEventGenerator`), and
 * holds tuples until the watermark passes them, so windows see them in
 * timestamp order. A tuple older than the watermark is late.
 *
 * Within a stream, the latest timestamp is tracked per sending task (as
 * Flink does per input channel): a stream's mark is the smallest of its
 * tasks' newest timestamps, so one task running behind another (a
 * container that started late, a slower partition) holds the watermark
 * back instead of having its tuples dropped as late. A task that has sent
 * nothing for `idleMs` (wall time) is idle and does not hold it back; a
 * task that never sent counts as idle `idleMs` after the tracking started.
 * When every task of a stream is idle, the stream's mark is its newest
 * timestamp.
 *
 * @module
 */

/** What {@link Watermarks} hold, as plain data, for a checkpoint. */
export interface WatermarksSnapshot<E> {
  watermark: number;
  /** Newest timestamp per stream. */
  maxTs: Array<[string, number]>;
  /** Newest timestamp per stream and sending task (absent in snapshots from before per-task marks). */
  taskTs?: Array<[string, number, number]>;
  held: Array<[E, number]>;
}

/** One sending task of a stream: its newest timestamp, and when it was last heard from (wall ms). */
interface TaskMark {
  ts: number;
  at: number;
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
  readonly #tasks = new Map<string, Map<number, TaskMark>>();
  #held: Held<T>[] = [];

  constructor(
    /** Allowed lag in ms. */
    readonly lagMs: number,
    /** The input streams ("component:stream") that must all be heard from; null: whichever were seen. */
    readonly streams: readonly string[] | null,
    /** The sending tasks of each stream, expected to be heard from (see the module doc); null: whichever sent. */
    readonly senders: ReadonlyMap<string, readonly number[]> | null = null,
    /** Wall time without a tuple after which a sending task is idle, in ms. */
    readonly idleMs: number = Infinity,
    /** When tracking started (wall ms): a task never heard from is idle `idleMs` after it. */
    startedAt = 0,
  ) {
    if (senders !== null) {
      for (const [stream, tasks] of senders) {
        const marks = new Map<number, TaskMark>();
        for (const task of tasks) marks.set(task, { ts: -Infinity, at: startedAt });
        this.#tasks.set(stream, marks);
      }
    }
  }

  /** Items waiting for the watermark. */
  get size(): number {
    return this.#held.length;
  }

  /** The items waiting, oldest first. */
  heldItems(): T[] {
    return this.#held.map((h) => h.item);
  }

  /** Notes a timestamp seen on `stream` from task `task` (-1: unknown) at wall time `now`. */
  track(stream: string, ts: number, task = -1, now = 0): void {
    const cur = this.#maxTs.get(stream);
    if (cur === undefined || ts > cur) this.#maxTs.set(stream, ts);
    let marks = this.#tasks.get(stream);
    if (marks === undefined) this.#tasks.set(stream, marks = new Map());
    const m = marks.get(task);
    if (m === undefined) marks.set(task, { ts, at: now });
    else {
      if (ts > m.ts) m.ts = ts;
      m.at = now;
    }
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

  /**
   * The watermark the tracked timestamps allow at wall time `now`
   * (-Infinity until every stream was heard from). Without `now`, every
   * task that sent counts, idle or not.
   */
  compute(now?: number): number {
    let min = Infinity;
    if (this.streams !== null && this.streams.length > 0) {
      for (const s of this.streams) {
        if (!this.#maxTs.has(s)) return -Infinity;
        const ts = this.#streamMark(s, now);
        if (ts < min) min = ts;
      }
    } else {
      if (this.#maxTs.size === 0) return -Infinity;
      for (const s of this.#maxTs.keys()) {
        const ts = this.#streamMark(s, now);
        if (ts < min) min = ts;
      }
    }
    return min - this.lagMs;
  }

  /** A heard-from stream's mark: the oldest newest timestamp of its busy tasks, or its newest when all are idle. */
  #streamMark(stream: string, now: number | undefined): number {
    const newest = this.#maxTs.get(stream)!;
    const marks = this.#tasks.get(stream);
    if (marks === undefined) return newest;
    let min = Infinity;
    for (const m of marks.values()) {
      const idle = now !== undefined ? now - m.at > this.idleMs : m.ts === -Infinity;
      if (!idle && m.ts < min) min = m.ts;
    }
    return min === Infinity ? newest : min;
  }

  /**
   * What the watermarks hold, for a checkpoint: the watermark, the newest
   * timestamp per stream and the items waiting (`encode` makes them plain).
   */
  snapshot<E>(encode: (item: T) => E): WatermarksSnapshot<E> {
    const taskTs: Array<[string, number, number]> = [];
    for (const [stream, marks] of this.#tasks) {
      for (const [task, m] of marks) if (m.ts !== -Infinity) taskTs.push([stream, task, m.ts]);
    }
    return {
      watermark: this.watermark,
      maxTs: [...this.#maxTs],
      taskTs,
      held: this.#held.map((h) => [encode(h.item), h.ts]),
    };
  }

  /**
   * Replaces the watermarks' contents with a {@link snapshot}'s; the tasks
   * in it count as heard from at wall time `now`.
   */
  restore<E>(snap: WatermarksSnapshot<E>, decode: (data: E) => T, now = 0): void {
    this.watermark = snap.watermark;
    this.#maxTs.clear();
    for (const [k, v] of snap.maxTs) this.#maxTs.set(k, v);
    for (const [stream, task, ts] of snap.taskTs ?? []) {
      let marks = this.#tasks.get(stream);
      if (marks === undefined) this.#tasks.set(stream, marks = new Map());
      marks.set(task, { ts, at: now });
    }
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
