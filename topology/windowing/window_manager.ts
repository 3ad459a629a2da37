/**
 * The windowing core, free of tuples, timers and collectors: items arrive at
 * non-decreasing positions (an arrival index for count windows, a time in
 * milliseconds for time windows); windows are the half-open ranges
 * `[end - length, end)` whose `end` is a multiple of the sliding interval,
 * and a window fires once the position reaches its end. After each window
 * the items no later window can hold are released at once (the executor
 * acks them), so a tuple waits at most length + slide.
 *
 * Count and time windows are the same machine: a count window of 10 sliding
 * by 5 is a time window of 10 sliding by 5 over positions 0, 1, 2, …
 *
 * @module
 */

/** A window as it fires. */
export interface FiredWindow<T> {
  /** Items in the window, in position order. */
  readonly items: T[];
  /** Items not in any earlier window. */
  readonly fresh: T[];
  /** Items released since the previous window fired. */
  readonly expired: T[];
  /** Start position (inclusive). */
  readonly start: number;
  /** End position (exclusive). */
  readonly end: number;
  /** Timestamps of the first and last item. */
  readonly firstTs: number;
  readonly lastTs: number;
}

/** What the manager tells its owner. */
export interface WindowListener<T> {
  /** A non-empty window fired. */
  onWindow(window: FiredWindow<T>): void;
  /** Items left every window for good. */
  onRelease(items: T[]): void;
}

interface Entry<T> {
  readonly item: T;
  readonly pos: number;
  readonly ts: number;
  seen: boolean;
}

/**
 * What a {@link WindowManager} holds, as plain data (items as `encode` made
 * them), for a checkpoint.
 */
export interface WindowManagerSnapshot<E> {
  /** Held items: [item, position, timestamp, seen in a window]. */
  entries: Array<[E, number, number, boolean]>;
  nextEnd: number | null;
  lastPos: number;
  /** Items released since the last window fired. */
  expired: E[];
}

/**
 * Sliding and tumbling windows over positions.
 *
 * @example
 * ```ts
 * const fired: number[][] = [];
 * const m = new WindowManager<number>(3, 3, { onWindow: (w) => fired.push(w.items), onRelease() {} });
 * for (let i = 0; i < 7; i++) { m.add(i, i, 0); m.advanceTo(i + 1); }
 * m.flush(); // fired: [[0,1,2],[3,4,5],[6]]
 * ```
 */
export class WindowManager<T> {
  #buf: Entry<T>[] = [];
  #head = 0;
  #nextEnd: number | null = null;
  #expired: T[] = [];
  #lastPos = -Infinity;

  constructor(
    /** Window length, in positions. */
    readonly length: number,
    /** Sliding interval, in positions. */
    readonly slide: number,
    readonly listener: WindowListener<T>,
  ) {}

  /** Items held (not yet released). */
  get size(): number {
    return this.#buf.length - this.#head;
  }

  /** End of the next window that may fire, or null when nothing is held. */
  get nextEnd(): number | null {
    return this.#nextEnd;
  }

  /** The items held, oldest first. */
  held(): T[] {
    const out: T[] = [];
    for (let i = this.#head; i < this.#buf.length; i++) out.push(this.#buf[i]!.item);
    return out;
  }

  /**
   * Adds an item at `pos` (clamped to the last position, so positions never
   * go back). Call {@link advanceTo} with `pos` first so windows ending at or
   * before it fire without the item.
   */
  add(item: T, pos: number, ts: number): void {
    if (pos < this.#lastPos) pos = this.#lastPos;
    this.#lastPos = pos;
    this.#buf.push({ item, pos, ts, seen: false });
    if (this.#nextEnd === null) this.#nextEnd = this.#alignUp(pos);
  }

  /** Fires every window whose end is at or before `pos`. */
  advanceTo(pos: number): void {
    while (this.#nextEnd !== null && this.#nextEnd <= pos) this.#process(this.#nextEnd);
  }

  /**
   * What the manager holds, for a checkpoint; `encode` turns an item into
   * plain data.
   */
  snapshot<E>(encode: (item: T) => E): WindowManagerSnapshot<E> {
    const entries: Array<[E, number, number, boolean]> = [];
    for (let i = this.#head; i < this.#buf.length; i++) {
      const e = this.#buf[i]!;
      entries.push([encode(e.item), e.pos, e.ts, e.seen]);
    }
    return { entries, nextEnd: this.#nextEnd, lastPos: this.#lastPos, expired: this.#expired.map(encode) };
  }

  /** Replaces what the manager holds with a {@link snapshot}'s contents. */
  restore<E>(snap: WindowManagerSnapshot<E>, decode: (data: E) => T): void {
    this.#buf = snap.entries.map(([d, pos, ts, seen]) => ({ item: decode(d), pos, ts, seen }));
    this.#head = 0;
    this.#nextEnd = snap.nextEnd;
    this.#lastPos = snap.lastPos;
    this.#expired = snap.expired.map(decode);
  }

  /** End of input: fires every remaining window that holds an item, releasing everything. */
  flush(): void {
    while (this.#nextEnd !== null) this.#process(this.#nextEnd);
  }

  /** Smallest window end strictly after `pos`. */
  #alignUp(pos: number): number {
    return Math.floor(pos / this.slide) * this.slide + this.slide;
  }

  #process(end: number): void {
    const buf = this.#buf;
    const start = end - this.length;
    let i = this.#head;
    while (i < buf.length && buf[i]!.pos < start) i++;
    let j = i;
    while (j < buf.length && buf[j]!.pos < end) j++;
    if (j > i) {
      const items: T[] = [];
      const fresh: T[] = [];
      for (let k = i; k < j; k++) {
        const e = buf[k]!;
        items.push(e.item);
        if (!e.seen) {
          e.seen = true;
          fresh.push(e.item);
        }
      }
      const expired = this.#expired;
      this.#expired = [];
      this.listener.onWindow({ items, fresh, expired, start, end, firstTs: buf[i]!.ts, lastTs: buf[j - 1]!.ts });
    }
    // The next window starts at end + slide - length: anything before it is done.
    const keepFrom = end + this.slide - this.length;
    const released: T[] = [];
    while (this.#head < buf.length && buf[this.#head]!.pos < keepFrom) released.push(buf[this.#head++]!.item);
    if (this.#head === buf.length) {
      this.#buf = [];
      this.#head = 0;
      this.#nextEnd = null;
    } else {
      if (this.#head > 1024 && this.#head * 2 > buf.length) {
        this.#buf = buf.slice(this.#head);
        this.#head = 0;
      }
      this.#nextEnd = Math.max(end + this.slide, this.#alignUp(this.#buf[this.#head]!.pos));
    }
    if (released.length > 0) {
      for (const r of released) this.#expired.push(r);
      this.listener.onRelease(released);
    }
  }
}
