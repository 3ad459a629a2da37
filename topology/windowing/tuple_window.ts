/**
 * `TupleWindow`: what a windowed bolt's `execute` receives (Storm's names).
 *
 * @module
 */
import type { Tuple } from "../tuple.ts";

/**
 * The tuples of one window activation.
 *
 * @example
 * ```ts
 * import type { OutputCollector } from "ardea";
 * class Sum {
 *   collector!: OutputCollector; // set in prepare
 *   execute(window: TupleWindow) {
 *     let sum = 0;
 *     for (const t of window.get()) sum += t.getIntegerByField("n");
 *     this.collector.emit([sum, window.getNew().length, window.getEndTimestamp()]);
 *   }
 * }
 * ```
 */
export interface TupleWindow {
  /** Every tuple in the window, oldest first. */
  get(): Tuple[];
  /** Tuples that were in no earlier window. */
  getNew(): Tuple[];
  /** Tuples that left the windows (and were acked) since the previous activation. */
  getExpired(): Tuple[];
  /**
   * Start of the window: for time windows its inclusive start (ms); for
   * count windows the timestamp of its first tuple (arrival or event time).
   */
  getStartTimestamp(): number;
  /**
   * End of the window: for time windows its exclusive end (ms); for count
   * windows the timestamp of its last tuple.
   */
  getEndTimestamp(): number;
}

/**
 * The executor's {@link TupleWindow}.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * declare const a: Tuple, b: Tuple;
 * const w = new TupleWindowImpl([a, b], [b], [], 0, 1000);
 * w.get().length; // 2
 * ```
 */
export class TupleWindowImpl implements TupleWindow {
  constructor(
    readonly tuples: Tuple[],
    readonly fresh: Tuple[],
    readonly expired: Tuple[],
    readonly start: number,
    readonly end: number,
  ) {}
  get(): Tuple[] {
    return this.tuples;
  }
  getNew(): Tuple[] {
    return this.fresh;
  }
  getExpired(): Tuple[] {
    return this.expired;
  }
  getStartTimestamp(): number {
    return this.start;
  }
  getEndTimestamp(): number {
    return this.end;
  }
  toString(): string {
    return `TupleWindow[${this.start}, ${this.end}): ${this.tuples.length} tuples, ${this.fresh.length} new, ${this.expired.length} expired`;
  }
}
