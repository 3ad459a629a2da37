/**
 * Window lengths and sliding intervals: a number of tuples ({@link Count})
 * or a span of time ({@link Duration}, a number of milliseconds, or a dayjs
 * duration — anything with `asMilliseconds()`).
 *
 * @module
 */
import { InvalidTopologyError } from "../errors.ts";

/**
 * A number of tuples (Storm's `BaseWindowedBolt.Count`).
 *
 * @example
 * ```ts
 * import type { BaseWindowedBolt } from "ardea";
 * declare const bolt: BaseWindowedBolt;
 * bolt.withWindow(Count.of(10), Count.of(5)); // the last 10 tuples, every 5 tuples
 * ```
 */
export class Count {
  constructor(readonly count: number) {}
  /** `n` tuples. */
  static of(n: number): Count {
    return new Count(n);
  }
}

/**
 * A span of time in milliseconds (Storm's `BaseWindowedBolt.Duration`).
 *
 * @example
 * ```ts
 * import type { BaseWindowedBolt } from "ardea";
 * declare const bolt: BaseWindowedBolt;
 * bolt.withWindow(Duration.seconds(30), Duration.seconds(10));
 * ```
 */
export class Duration {
  constructor(readonly ms: number) {}
  /** `ms` milliseconds. */
  static of(ms: number): Duration {
    return new Duration(ms);
  }
  static milliseconds(ms: number): Duration {
    return new Duration(ms);
  }
  static seconds(s: number): Duration {
    return new Duration(s * 1000);
  }
  static minutes(m: number): Duration {
    return new Duration(m * 60_000);
  }
  static hours(h: number): Duration {
    return new Duration(h * 3_600_000);
  }
  static days(d: number): Duration {
    return new Duration(d * 86_400_000);
  }
}

/** A span of time: a {@link Duration}, milliseconds, or a dayjs duration. */
export type DurationLike = Duration | number | { asMilliseconds(): number };

/** A window length or sliding interval: a count of tuples or a span of time. */
export type WindowLength = Count | { count: number } | DurationLike;

/** A resolved length: tuples or milliseconds. */
export interface Extent {
  readonly kind: "count" | "time";
  readonly value: number;
}

function positive(what: string, v: unknown, integer: boolean): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new InvalidTopologyError(
      "BAD_WINDOW",
      `${what} must be ${integer ? "a positive integer count" : "a positive duration"}, got ${String(v)}`,
    );
  }
  return v;
}

/**
 * Milliseconds of a {@link DurationLike}; throws `InvalidTopologyError` naming `what`.
 *
 * @example
 * ```ts
 * durationMs(Duration.seconds(2), "lag"); // 2000
 * ```
 */
export function durationMs(d: DurationLike, what: string): number {
  if (typeof d === "number") return positiveOrZero(what, d);
  if (d instanceof Duration) return positiveOrZero(what, d.ms);
  if (d !== null && typeof d === "object" && typeof (d as { asMilliseconds?: unknown }).asMilliseconds === "function") {
    return positiveOrZero(what, (d as { asMilliseconds(): number }).asMilliseconds());
  }
  throw new InvalidTopologyError(
    "BAD_WINDOW",
    `${what} must be a Duration, milliseconds or a dayjs duration, got ${typeof d}`,
  );
}

function positiveOrZero(what: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) {
    throw new InvalidTopologyError("BAD_WINDOW", `${what} must be a duration ≥ 0, got ${v}`);
  }
  return v;
}

/**
 * Resolves a window length or sliding interval.
 *
 * @example
 * ```ts
 * toExtent({ count: 3 }, "window length"); // { kind: "count", value: 3 }
 * toExtent(Duration.seconds(1), "window length"); // { kind: "time", value: 1000 }
 * ```
 */
export function toExtent(length: WindowLength, what: string): Extent {
  if (length instanceof Count || (length !== null && typeof length === "object" && "count" in length)) {
    return { kind: "count", value: positive(what, (length as { count: unknown }).count, true) };
  }
  return { kind: "time", value: positive(what, durationMs(length as DurationLike, what), false) };
}
