/**
 * Restart policy of one task: one-for-one restarts with exponential backoff
 * that resets after a success, and a budget per time window. A component
 * that fails now and then is restarted at once and for ever; one that fails
 * on (nearly) every tuple exhausts the budget and the container gives up.
 *
 * @module
 */

/** Settings of a {@link RestartPolicy}. */
export interface RestartSettings {
  /** Consecutive failures (no success between) that exhaust the budget. */
  maxConsecutive: number;
  /** Restarts within one window that, with a failure ratio ≥ `maxFailureRatio`, exhaust the budget. */
  maxRestarts: number;
  /** Window length (ms). */
  windowMs: number;
  /** Share of failures among attempts in the window, from 0 to 1. */
  maxFailureRatio: number;
  /** Backoff of the second consecutive failure (ms); the first restarts at once. */
  backoffInitialMs: number;
  /** Longest backoff (ms). */
  backoffMaxMs: number;
}

/** What to do after a failure. */
export type RestartDecision = { readonly restart: true; readonly delayMs: number } | {
  readonly restart: false;
  readonly reason: string;
};

/**
 * Decides restarts for one task.
 *
 * @example
 * ```ts
 * const p = new RestartPolicy({ maxConsecutive: 3, maxRestarts: 100, windowMs: 60000, maxFailureRatio: 0.5, backoffInitialMs: 1, backoffMaxMs: 100 });
 * p.onFailure(0); // { restart: true, delayMs: 0 }
 * p.onFailure(1); // { restart: true, delayMs: 1 }
 * p.onFailure(2); // { restart: false, reason: "failed 3 times in a row" }
 * ```
 */
export class RestartPolicy {
  /** Failures since the last success. */
  consecutive = 0;
  /** Restarts so far. */
  restarts = 0;
  #windowStart = -Infinity;
  #windowFailures = 0;
  #windowSuccesses = 0;

  constructor(readonly settings: RestartSettings) {}

  /** Records `n` successful calls. */
  onSuccess(n = 1): void {
    if (n <= 0) return;
    this.consecutive = 0;
    this.#windowSuccesses += n;
  }

  /** Records a failure at time `now` (ms) and decides. */
  onFailure(now: number): RestartDecision {
    const s = this.settings;
    if (now - this.#windowStart > s.windowMs) {
      this.#windowStart = now;
      this.#windowFailures = 0;
      this.#windowSuccesses = 0;
    }
    this.consecutive++;
    this.#windowFailures++;
    if (this.consecutive >= s.maxConsecutive) {
      return { restart: false, reason: `failed ${this.consecutive} times in a row` };
    }
    const attempts = this.#windowFailures + this.#windowSuccesses;
    if (this.#windowFailures >= s.maxRestarts && this.#windowFailures / attempts >= s.maxFailureRatio) {
      return {
        restart: false,
        reason: `failed ${this.#windowFailures} of ${attempts} times within ${Math.round(s.windowMs / 1000)} s`,
      };
    }
    this.restarts++;
    const delayMs = this.consecutive <= 1
      ? 0
      : Math.min(s.backoffMaxMs, s.backoffInitialMs * 2 ** (this.consecutive - 2));
    return { restart: true, delayMs };
  }
}
