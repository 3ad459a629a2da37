/**
 * Time as the control plane's parts read it and wait on it: the master and
 * the container process take a {@link Clock}, so that their unit tests move
 * time themselves (tests/fixtures/master_fakes.ts `FakeClock`).
 *
 * @module
 */

/** A timer of a {@link Clock}. */
export type Timer = unknown;

/** Time, as read and waited on. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Calls `fn` every `ms`. */
  setInterval(fn: () => void, ms: number): Timer;
  /** Cancels a timeout or an interval. */
  clear(t: Timer): void;
}

/**
 * The real clock: `Date.now` and the runtime's timers.
 *
 * @example
 * ```ts
 * const t = systemClock.setTimeout(() => console.log("later"), 100);
 * systemClock.clear(t);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clear: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `ms` on `clock`.
 *
 * @example
 * ```ts
 * await sleep(systemClock, 500);
 * ```
 */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
}
