/**
 * Waiting in tests and benchmarks: a pause, a condition polled until it
 * holds, a promise given a deadline. Every timer here is cleared once it is
 * no longer needed, so none outlives the wait (the leak check of
 * testing/harness.ts would count it).
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { sleep } from "./wait.ts";
 * await sleep(50);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How often {@link until} polls: quickly at first, then less often. */
const FAST_POLL_MS = 50;
const SLOW_POLL_MS = 200;
const FAST_FOR_MS = 2000;

/**
 * Polls `check` until it returns something other than `undefined` or
 * `false`, and resolves with that. A check that throws counts as "not yet";
 * if the wait times out, the error names `what` and the check's last error.
 * Polls every 50 ms for the first 2 s, then every 200 ms; gives up after
 * `ms` (default 60 s).
 *
 * @example
 * ```ts
 * import { until } from "./wait.ts";
 * const started = Date.now();
 * const at = await until("100 ms to pass", () => Date.now() - started >= 100 && Date.now(), 5000);
 * console.log(at - started >= 100); // true
 * ```
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    const waited = Date.now() - start;
    if (waited >= ms) {
      const why = last === undefined ? "" : `: ${last instanceof Error ? last.message : String(last)}`;
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await sleep(Math.min(waited < FAST_FOR_MS ? FAST_POLL_MS : SLOW_POLL_MS, ms - waited));
  }
}

/**
 * Resolves with `promise`'s value, or rejects with "timed out: `what`"
 * after `ms`; the timer never outlives it.
 *
 * @example
 * ```ts
 * import { sleep, within } from "./wait.ts";
 * await within(sleep(10), 1000, "a short sleep");
 * ```
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with `promise`'s value, or with `null` after `ms`; the timer
 * never outlives it.
 *
 * @example
 * ```ts
 * import { sleep, withinOrNull } from "./wait.ts";
 * console.log(await withinOrNull(sleep(1000), 10)); // null
 * ```
 */
export async function withinOrNull<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)))]);
  } finally {
    clearTimeout(timer);
  }
}
