/**
 * When the master restarts, rolls back, says things again, and gives up:
 * the restart budget of each container, the budget of rollbacks in a row
 * without a new checkpoint (EFFECTIVELY_ONCE), and the schedules of the
 * messages it repeats (a NATS server restart may lose any one of them).
 *
 * @module
 */
import type { Slot } from "./container_slots.ts";

/** How long the containers of an in-place rollback have to say they are ready before the laggards are killed (ms). */
export const ROLLBACK_READY_MS = 30_000;
/** The tick of the in-place rollback's repeat (ms): `rollback` is said on the ticks {@link sayRollbackAgain} picks. */
export const ROLLBACK_TICK_MS = 250;
/** How often the master says `stop` again until every container is gone (ms). */
export const STOP_AGAIN_MS = 2000;
/** How long a process told to stop (SIGTERM, `stop`) has before SIGKILL (ms). */
export const KILL_GRACE_MS = 10_000;
/** How often the master checks silence and writes the container records (ms). */
export const WATCH_MS = 2000;
/** How long an update waits for what is in flight to drain (ms). */
export const DRAIN_MS = 10_000;
/**
 * The least time the rollbacks in a row must have taken before their budget
 * can fail a run (ms): a NATS cluster electing a new JetStream leader after
 * losing a server answers no saves for about 10 s, and a topology whose
 * bolts fail often can roll back 20 times in that while; it must not be
 * failed for an outage it would have survived.
 */
export const ROLLBACK_BUDGET_MIN_MS = 30_000;
/** How long the final checkpoint of a finished EFFECTIVELY_ONCE run may take before the run ends without it (ms). */
export const FINAL_CHECKPOINT_MS = 30_000;

/**
 * Whether tick `tick` (1, 2, … every {@link ROLLBACK_TICK_MS}) of an
 * in-place rollback says `rollback` again: every tick for the first 2 s (a
 * container reconnecting after a NATS restart may miss the first), then
 * every 2 s.
 *
 * @example
 * ```ts
 * [1, 8, 9, 16].map(sayRollbackAgain); // [true, true, false, true]
 * ```
 */
export function sayRollbackAgain(tick: number): boolean {
  return tick <= 8 || tick % 8 === 0;
}

/** What to do about a container that died on its own. */
export type DeathVerdict = { restart: true } | { restart: false; error: string };

/**
 * The budgets of one topology.
 *
 * @example
 * ```ts
 * import type { Slot } from "./container_slots.ts";
 * declare const slot: Slot;
 * const policy = new RelaunchPolicy({ maxRestarts: 3, maxRollbacks: 20, minRollbackMs: ROLLBACK_BUDGET_MIN_MS });
 * policy.died(slot, "container 1 exited (code 1)"); // { restart: true } while within 3
 * ```
 */
export class RelaunchPolicy {
  /** Restarts allowed per container before the topology fails. */
  readonly maxRestarts: number;
  /** EFFECTIVELY_ONCE rollbacks allowed in a row without a new checkpoint. */
  readonly maxRollbacks: number;
  /** Least time from the first of the rollbacks in a row before they can fail the run (ms). */
  readonly minRollbackMs: number;
  readonly #now: () => number;
  #rollbacks = 0;
  #firstRollbackAt = 0;

  constructor(o: { maxRestarts: number; maxRollbacks: number; minRollbackMs?: number; now?: () => number }) {
    this.maxRestarts = o.maxRestarts;
    this.maxRollbacks = o.maxRollbacks;
    this.minRollbackMs = o.minRollbackMs ?? 0;
    this.#now = o.now ?? Date.now;
  }

  /** Container `slot` died on its own (`why`): counts it; a restart, or the error the run fails with. */
  died(slot: Slot, why: string): DeathVerdict {
    if (++slot.restarts > this.maxRestarts) {
      return {
        restart: false,
        error: `${why}; it died ${slot.restarts} times, past the restart budget of ${this.maxRestarts}`,
      };
    }
    return { restart: true };
  }

  /**
   * A rollback (`counted`: not one the user asked for): null, or the error
   * the run fails with: past `maxRollbacks` in a row, once they have taken
   * `minRollbackMs`.
   */
  rollback(why: string, counted: boolean): string | null {
    if (!counted) return null;
    const now = this.#now();
    if (this.#rollbacks++ === 0) this.#firstRollbackAt = now;
    if (this.#rollbacks > this.maxRollbacks && now - this.#firstRollbackAt >= this.minRollbackMs) {
      return `${why}; ${this.#rollbacks - 1} rollbacks in a row without a new checkpoint`;
    }
    return null;
  }

  /** A checkpoint committed: the rollbacks in a row start again from 0. */
  committed(): void {
    this.#rollbacks = 0;
  }
}
