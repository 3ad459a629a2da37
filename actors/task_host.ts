/**
 * What a task actor needs from the container that hosts it. The engine
 * implements these; the actor layer only depends on the shapes.
 *
 * @module
 */
import type { KeyValueState } from "../topology/stateful.ts";
import type { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import type { Pressure } from "./mailbox.ts";
import type { Scheduler } from "./scheduler.ts";
import type { XorLedger } from "./xor_ledger.ts";
import type { RestartSettings } from "./supervisor.ts";

/**
 * Where the tuples of one stream of one task go: the grouping of every
 * subscriber, compiled into a target selection.
 */
export interface Route {
  readonly info: StreamInfo;
  /** Number of declared fields. */
  readonly arity: number;
  /** Whether the stream is direct. */
  readonly direct: boolean;
  /** Writes the target task ids for `values` into `out`; returns how many. */
  select(values: readonly unknown[], out: number[]): number;
  /** Whether `task` subscribes to this (direct) stream. */
  acceptsDirect(task: number): boolean;
}

/**
 * A marker that follows a task's last tuple into each downstream mailbox.
 * End of input has two phases (bounded topologies under ATLEAST_ONCE):
 * a *drain* marker (`final` false) says the task has emitted all of its new
 * input while some of its tuple trees are still open, so bolts that hold
 * tuples (windows, batches) must emit and ack them now; replays of failed
 * trees may still follow it. The *final* marker says the task will emit
 * nothing more, ever.
 *
 * @example
 * ```ts
 * declare const host: TaskHost;
 * host.deliver(7, new EndOfInput(3, false)); // task 3 drained: flush what you hold
 * host.deliver(7, new EndOfInput(3)); // task 3 finished
 * ```
 */
export class EndOfInput {
  constructor(readonly fromTask: number, readonly final = true) {}
}

/**
 * A checkpoint barrier (EFFECTIVELY_ONCE): it follows the tuples a task
 * emitted before checkpoint `id` into each downstream mailbox.
 */
export class CheckpointMarker {
  constructor(readonly id: number, readonly fromTask: number) {}
}

/** An item of a mailbox: a tuple or a control marker. */
export type Message = TupleImpl | EndOfInput | CheckpointMarker;

/** Checks and copies values as they would cross a process boundary. */
export type RoundTrip = (values: unknown[], route: Route) => unknown[];

/** The container services a task actor uses. */
export interface TaskHost {
  readonly scheduler: Scheduler;
  readonly pressure: Pressure;
  readonly ledger: XorLedger;
  /** Whether tuple trees are tracked (ATLEAST_ONCE). */
  readonly tracking: boolean;
  readonly restart: RestartSettings;
  /** Set when every emit must be serialised (topology.testing.always.try.serialize). */
  readonly roundTrip: RoundTrip | null;
  /** Called with every emit when someone watches (tests, tap). */
  readonly tap: ((component: string, stream: string, task: number, values: readonly unknown[]) => void) | null;
  /**
   * Added to this container's local root ids so that a root names its
   * ledger: container index × 2^30 (root ids below 2^30 are local slots).
   */
  readonly rootBase: number;
  /** XORs an ack delta into the tree of `root`, wherever its ledger lives. */
  xorTree(root: number, hi: number, lo: number): void;
  /** Fails the tree of `root`, wherever its ledger lives. */
  failTree(root: number): void;
  /** Restarts the timeout of the tree of `root`. */
  touchTree(root: number): void;
  /** The tuple-tree clock: milliseconds not counting time under backpressure. */
  treeClock(): number;
  /**
   * Hands a message to task `task`: a tuple for an idle co-located bolt is
   * executed at once on the caller's stack (a bounded depth of such calls;
   * see `BoltActor.takesNow`), anything else goes into its mailbox (or to
   * its container). Callers must not rely on it returning before the
   * target has run: nested emits may happen inside it.
   */
  deliver(task: number, msg: Message): void;
  /**
   * While above zero, {@link deliver} queues instead of executing at once:
   * set around a timed (sampled) execute so that its time is its own.
   */
  directHold: number;
  /**
   * Busy time (ms) every bolt has counted so far (a direct hand-over's
   * estimated from samples): a bolt's `run` subtracts what accrued while it
   * ran, the time of the tasks it handed tuples to.
   */
  busyMs: number;
  /** `task` will emit nothing more: tells every downstream task. */
  endOfInput(task: number): void;
  /** `task` has emitted all its new input, with trees still open: tells every downstream task. */
  drained(task: number): void;
  /** `task` has finished (bounded topologies). */
  taskFinished(task: number): void;
  /** The container cannot go on. */
  fatal(error: Error): void;
  /** An error a task reported or a crash it survived. */
  reportError(component: string, task: number, error: unknown, crashed: boolean): void;
  /** Writes a line to the engine's log (a multilang subprocess's `log` command). */
  log?(line: string): void;
  /** Wait strategy of an idle spout (ms). */
  readonly spoutSleepMs: number;
  /** EFFECTIVELY_ONCE: state, checkpoints and rollback instead of acking. */
  readonly effectivelyOnce: boolean;
  /** The state a stateful task starts from (restored from the last committed checkpoint, or empty). */
  openState(task: number): KeyValueState;
  /** Task `task` has saved its part of checkpoint `id` (null: it keeps no state). */
  stateSaved(task: number, id: number, state: KeyValueState | null): void;
  /** Sends checkpoint marker `id` from `task` to every downstream task. */
  forwardMarker(task: number, id: number): void;
  /** A failure in EFFECTIVELY_ONCE mode: every task rolls back to the last committed checkpoint. */
  rollback(error: unknown): void;
}
