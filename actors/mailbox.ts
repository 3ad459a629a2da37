/**
 * A bounded mailbox: a growable ring buffer whose bound is soft. A push always
 * succeeds (emits are synchronous); passing the high-water mark raises the
 * shared {@link Pressure} gauge, which throttles spouts, until the mailbox
 * drains to its low-water mark.
 *
 * @module
 */

/**
 * Why spouts are held back: a mailbox over its high-water mark, tuples
 * parked behind a checkpoint marker over it, another container's
 * backpressure lease, a lost container, a destination out of credit.
 */
export type PressureSource = "mailbox" | "parked" | "lease" | "lost" | "credit";

/**
 * Counts the causes of backpressure, by source. While any is on, spouts
 * are not asked for tuples. The time spent throttled is accounted so that
 * tuple timeouts do not count it.
 *
 * @example
 * ```ts
 * declare function wakeSpouts(): void;
 * const p = new Pressure(() => wakeSpouts());
 * p.raise("mailbox"); p.active; // true
 * p.own; // true: this process's own queues
 * p.lower("mailbox"); // calls wakeSpouts()
 * ```
 */
export class Pressure {
  /** Number of causes on, every source together. */
  count = 0;
  /** Number of causes on, per source. */
  readonly by: Record<PressureSource, number> = { mailbox: 0, parked: 0, lease: 0, lost: 0, credit: 0 };
  /** Total milliseconds spent under backpressure, not counting an active episode. */
  totalMs = 0;
  /** Start of the current episode (ms). */
  since = 0;
  /** Number of episodes so far. */
  episodes = 0;
  /** Called when an episode begins (distributed mode announces it at once). */
  onRaise: (() => void) | null = null;

  constructor(
    private readonly onRelease: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether spouts are throttled. */
  get active(): boolean {
    return this.count > 0;
  }

  /**
   * Whether this process's own queues hold the spouts back (a mailbox or
   * parked tuples over the mark), not what it waits for elsewhere.
   */
  get own(): boolean {
    return this.by.mailbox + this.by.parked > 0;
  }

  /** A cause of backpressure from `source` began (a queue passed its high-water mark, …). */
  raise(source: PressureSource): void {
    this.by[source]++;
    if (this.count++ === 0) {
      this.since = this.now();
      this.episodes++;
      this.onRaise?.();
    }
  }

  /** A cause of backpressure from `source` ended (a queue drained to its low-water mark, …). */
  lower(source: PressureSource): void {
    this.by[source]--;
    if (--this.count === 0) {
      this.totalMs += this.now() - this.since;
      this.onRelease();
    }
  }

  /** Milliseconds spent throttled so far, the current episode included. */
  throttledMs(now: number): number {
    return this.count > 0 ? this.totalMs + (now - this.since) : this.totalMs;
  }
}

/**
 * FIFO ring buffer with soft high/low-water marks.
 *
 * @example
 * ```ts
 * const pressure = new Pressure(() => {});
 * const box = new Mailbox<string>(pressure, 2048, 1024);
 * box.push("a");
 * box.shift(); // "a"
 * ```
 */
export class Mailbox<T> {
  #buf: Array<T | undefined>;
  #mask: number;
  #head = 0;
  #tail = 0;
  /** Number of queued items. */
  size = 0;
  /** Whether this mailbox holds the pressure gauge up. */
  over = false;
  /** Largest size seen. */
  peak = 0;

  constructor(
    private readonly pressure: Pressure,
    readonly highWater: number,
    readonly lowWater: number = Math.floor(highWater / 2),
    initialCapacity = 64,
  ) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.#buf = new Array(cap);
    this.#mask = cap - 1;
  }

  /** Appends an item; always succeeds. */
  push(item: T): void {
    if (this.size > this.#mask) this.#grow();
    this.#buf[this.#tail] = item;
    this.#tail = (this.#tail + 1) & this.#mask;
    if (++this.size > this.highWater && !this.over) {
      this.over = true;
      if (this.size > this.peak) this.peak = this.size;
      this.pressure.raise("mailbox");
    }
  }

  /** Removes and returns the oldest item (undefined when empty). */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    if (--this.size <= this.lowWater && this.over) {
      this.over = false;
      this.pressure.lower("mailbox");
    }
    return item;
  }

  /** Puts `items` before everything queued, in their order (rare: parked tuples after a checkpoint). */
  unshiftAll(items: readonly T[]): void {
    const rest = this.clear();
    for (const x of items) this.push(x);
    for (const x of rest) this.push(x);
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.size === 0 ? undefined : this.#buf[this.#head];
  }

  /** Removes every item, releasing the pressure gauge if held. */
  clear(): T[] {
    const out: T[] = [];
    while (this.size > 0) out.push(this.shift()!);
    return out;
  }

  #grow(): void {
    const old = this.#buf;
    const cap = old.length * 2;
    const buf = new Array<T | undefined>(cap);
    for (let i = 0; i < this.size; i++) buf[i] = old[(this.#head + i) & this.#mask];
    this.#buf = buf;
    this.#head = 0;
    this.#tail = this.size;
    this.#mask = cap - 1;
    if (this.size > this.peak) this.peak = this.size;
  }
}
