/**
 * A manual clock for windowed bolts: time moves only when told to, and the
 * bolts using it re-check their windows on every move, so tests are exact
 * and fast.
 *
 * @module
 */

/**
 * A clock that only moves when told to; windowed bolts using it re-check
 * their windows on every move, so tests are exact and fast.
 *
 * @example
 * ```ts
 * import { BaseWindowedBolt, Duration, type OutputFieldsDeclarer, type TopologyBuilder, type TupleWindow } from "ardea";
 * declare const builder: TopologyBuilder;
 * declare class Sum extends BaseWindowedBolt {
 *   execute(w: TupleWindow): void;
 *   declareOutputFields(d: OutputFieldsDeclarer): void;
 * }
 * const clock = manualClock(0);
 * builder.setBolt("w", new Sum().withTumblingWindow(Duration.seconds(5)).withClock(clock)).shuffleGrouping("n");
 * clock.advance(5000); // windows ending by 5 s fire now
 * ```
 */
export interface ManualClock {
  (): number;
  /** Moves the clock forward by `ms` and wakes the bolts; returns the new time. */
  advance(ms: number): number;
  /** Sets the time (never backwards) and wakes the bolts. */
  set(time: number): void;
  /** Calls `fn` after every move; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void;
}

/**
 * A {@link ManualClock} starting at `start` ms.
 *
 * @example
 * ```ts
 * const clock = manualClock(1_000);
 * clock(); // 1000
 * clock.advance(500); // 1500
 * ```
 */
export function manualClock(start = 0): ManualClock {
  let now = start;
  const subs = new Set<() => void>();
  const clock = (() => now) as ManualClock;
  clock.set = (t: number) => {
    if (t > now) now = t;
    for (const fn of [...subs]) fn();
  };
  clock.advance = (ms: number) => {
    clock.set(now + ms);
    return now;
  };
  clock.subscribe = (fn) => {
    subs.add(fn);
    return () => subs.delete(fn);
  };
  return clock;
}
