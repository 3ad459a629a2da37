/**
 * What spout and bolt actors share: identity, counters, supervision (crash →
 * fail what the instance held → restart with backoff, or give up), the rule
 * that only a returned Promise is awaited, and the watch on awaited calls
 * that never settle (a stuck task is warned about, then restarted).
 *
 * @module
 */
import { EmitError } from "../topology/errors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { ComponentDef } from "../topology/topology.ts";
import type { TupleImpl } from "../topology/tuple.ts";
import { thrownByConstructor } from "../topology/instantiate.ts";
import { isStateful, type IStatefulComponent, type KeyValueState } from "../topology/stateful.ts";
import type { Runnable } from "./scheduler.ts";
import { RestartPolicy } from "./supervisor.ts";
import type { Route, TaskHost } from "./task_host.ts";

/** A component failed past its restart budget; the container gives up. */
export class ComponentFailedError extends Error {
  readonly code = "COMPONENT_FAILED";
  constructor(
    readonly component: string,
    readonly task: number,
    reason: string,
    cause: unknown,
  ) {
    super(
      `${component} (task ${task}) ${reason}; giving up: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = "ComponentFailedError";
  }
}

/**
 * An awaited component call (execute, prepare, open, …) has not settled
 * within `topology.task.stuck.restart.secs`: the instance is restarted as if
 * it had crashed with this error.
 *
 * @example
 * ```ts
 * new StuckTaskError("split", 3, "execute", 61_000).message;
 * // "execute has not settled for 61.0 s (topology.task.stuck.restart.secs); restarting the instance"
 * ```
 */
export class StuckTaskError extends Error {
  readonly code = "TASK_STUCK";
  constructor(
    readonly component: string,
    readonly task: number,
    readonly phase: string,
    readonly stuckMs: number,
  ) {
    super(
      `${phase} has not settled for ${
        (stuckMs / 1000).toFixed(1)
      } s (topology.task.stuck.restart.secs); restarting the instance`,
    );
    this.name = "StuckTaskError";
  }
}

/** Whether a value is a thenable. */
export function isPromise(v: unknown): v is PromiseLike<unknown> {
  return v !== undefined && v !== null && typeof (v as { then?: unknown }).then === "function";
}

/** Where an actor records its sampled latencies (ms); metrics/latency.ts has one. */
export interface LatencySink {
  record(ms: number): void;
}

/**
 * One tuple in this many has its latency measured (bolts: execute; spouts:
 * complete); a power of two, so that the choice is a mask on the counts the
 * actors keep anyway. Two clock reads per sample: the hot path stays free of
 * per-tuple clock reads.
 */
export const LATENCY_SAMPLE_EVERY = 64;

/** Lifecycle of a task actor. */
export type ActorState = "created" | "starting" | "running" | "restarting" | "finished" | "stopped";

/**
 * Base of spout and bolt actors.
 *
 * @example
 * ```ts
 * class MyActor extends TaskActor {
 *   protected readonly startPhase = "open";
 *   run(_deadline: number) {}
 *   protected start() {}
 *   protected failHeld() {}
 *   async shutdown() {}
 *   protected discard() {}
 * }
 * ```
 */
export abstract class TaskActor implements Runnable {
  scheduled = false;
  /** An awaited call (Promise-returning component method) is in progress. */
  busy = false;
  state: ActorState = "created";
  emitted = 0;
  acked = 0;
  failed = 0;
  restarts = 0;
  errors = 0;
  lastError: string | null = null;
  /** Incremented at every (re)start; settles and emits of older incarnations are ignored. */
  incarnation = 0;
  /** Emits dropped because a dead instance or a finished task made them. */
  staleEmits = 0;
  /** The stateful instance and its state (EFFECTIVELY_ONCE), or null. */
  #stateful: IStatefulComponent | null = null;
  #state: KeyValueState | null = null;
  readonly held = new Set<TupleImpl>();
  readonly policy: RestartPolicy;
  readonly component: string;
  #restartTimer: ReturnType<typeof setTimeout> | null = null;
  /** The current instance's open/prepare while it runs (see {@link afterStart}). */
  #starting: Promise<void> | null = null;
  /**
   * When the awaited call in progress began (`performance.now()`), 0 when
   * none: set only when a component method returned a Promise, read by
   * {@link checkStuck} from the host's periodic timer.
   */
  awaitingSince = 0;
  /** The lifecycle call being awaited (execute, prepare, …), for messages. */
  awaitingPhase = "";
  /** Whether the awaited call in progress was warned about already. */
  #stuckWarned = false;
  /** `topology.task.stuck.warn.secs` and `….restart.secs` in ms (0: off). */
  readonly #stuckWarnMs: number;
  readonly #stuckRestartMs: number;

  constructor(
    readonly host: TaskHost,
    readonly def: ComponentDef,
    readonly taskId: number,
    readonly conf: TopologyConfig,
    readonly context: TopologyContext,
    readonly routes: ReadonlyMap<string, Route>,
  ) {
    this.component = def.id;
    this.policy = new RestartPolicy(host.restart);
    const stuck = stuckBounds(conf);
    this.#stuckWarnMs = stuck.warnMs;
    this.#stuckRestartMs = stuck.restartMs;
  }

  abstract run(deadline: number): void;
  /** Makes a fresh component object and runs its open/prepare. */
  protected abstract start(): void;
  /** Fails what the dead instance held. */
  protected abstract failHeld(): void;
  /** Runs close/cleanup on the current instance. */
  abstract shutdown(): Promise<void>;
  /** Best-effort close/cleanup of the instance that just crashed (its timers must stop). */
  protected abstract discard(): void;

  dropStale(stream: string): void {
    if (this.staleEmits++ === 0) {
      this.host.reportError(
        this.component,
        this.taskId,
        new Error(`an emit on stream "${stream}" by a crashed instance or after the task finished was dropped`),
        false,
      );
    }
  }

  /**
   * Gives a stateful instance its state before open/prepare (EFFECTIVELY_ONCE);
   * subclasses call it in `start`.
   */
  protected attachState(instance: unknown): void {
    if (!this.host.effectivelyOnce || !isStateful(instance)) return;
    this.#state ??= this.host.openState(this.taskId);
    this.#stateful = instance;
    instance.initState(this.#state);
  }

  /** Saves this task's part of checkpoint `id` (after `preSave`). */
  snapshot(id: number): void {
    const inst = this.#stateful;
    if (inst !== null) {
      try {
        inst.preSave?.(id);
      } catch (e) {
        this.host.rollback(e);
        return;
      }
    }
    this.host.stateSaved(this.taskId, id, this.#state);
  }

  /** Checkpoint `id` is committed everywhere: a two-phase sink commits now. */
  postSave(id: number): void {
    try {
      this.#stateful?.postSave?.(id);
    } catch (e) {
      this.host.rollback(e);
    }
  }

  /** Before a rollback: a two-phase sink drops what it has not committed. */
  preRestore(): void {
    try {
      this.#stateful?.preRestore?.();
    } catch {
      // Rolling back anyway.
    }
  }

  /**
   * Awaits the instance's open/prepare result `r` like {@link await}, and
   * remembers it until it settles so that {@link afterStart} can wait for it.
   */
  protected awaitStart(r: PromiseLike<unknown>, ready: () => void, phase: string): void {
    const started = Promise.resolve(r).then(() => {}, () => {});
    this.#starting = started;
    void started.then(() => {
      if (this.#starting === started) this.#starting = null;
    });
    this.await(r, ready, phase);
  }

  /**
   * Runs `end` (close/cleanup) once the current instance's open/prepare has
   * settled: closing an instance whose open still runs would miss what that
   * open makes afterwards (a connection that then outlives the task).
   */
  protected afterStart(end: () => unknown): unknown {
    const starting = this.#starting;
    this.#starting = null;
    return starting === null ? end() : starting.then(end);
  }

  /** Calls `cleanup`/`close`-like `fn` and ignores what it throws or rejects with. */
  protected quietly(fn: () => unknown): void {
    try {
      const r = fn();
      if (isPromise(r)) r.then(undefined, () => {});
    } catch {
      // The instance is being replaced; its cleanup errors are not ours to raise.
    }
  }

  /** Begins the task: creates and opens/prepares the instance. */
  boot(): void {
    this.state = "starting";
    try {
      this.start();
    } catch (e) {
      this.crash(e, this.startPhaseOf(e));
    }
  }

  /** Name of the lifecycle call `start` makes, for error messages. */
  protected abstract readonly startPhase: string;

  /** Where `start` failed with `e`: making the instance, or its open/prepare. */
  private startPhaseOf(e: unknown): string {
    return thrownByConstructor(e) ? "its constructor" : this.startPhase;
  }

  /**
   * Awaits a component call that returned a Promise: the actor runs nothing
   * else until it settles, then `then` runs, or a crash is handled. Unless
   * `watched` is false (a call that may wait for input as long as it likes:
   * a spout's `nextTuple`), {@link checkStuck} watches it.
   */
  protected await(p: PromiseLike<unknown>, then: () => void, phase: string, watched = true): void {
    const inc = this.awaiting(phase, watched);
    p.then(
      () => {
        if (!this.settled(inc)) return;
        this.host.scheduler.now = performance.now();
        try {
          then();
        } catch (e) {
          this.crash(e, phase);
          return;
        }
        this.host.scheduler.schedule(this);
      },
      (e) => {
        if (!this.settled(inc)) return;
        this.crash(e, phase);
      },
    );
  }

  /**
   * Marks the actor busy with an awaited `phase` call from now on (watched by
   * {@link checkStuck} unless `watched` is false); returns the incarnation to
   * hand to {@link settled}.
   */
  protected awaiting(phase: string, watched = true): number {
    this.busy = true;
    this.awaitingSince = watched ? performance.now() : 0;
    this.awaitingPhase = phase;
    this.#stuckWarned = false;
    return this.incarnation;
  }

  /**
   * The awaited call of incarnation `inc` settled: false when it is to be
   * ignored (the actor stopped, or that instance crashed or was restarted as
   * stuck: its late emits and acks are dropped), else the actor is free again.
   */
  protected settled(inc: number): boolean {
    if (this.state === "stopped" || inc !== this.incarnation) return false;
    this.busy = false;
    this.awaitingSince = 0;
    return true;
  }

  /** How long the awaited call in progress has not settled at `now` (ms), once past the warning bound; else 0. */
  stuckMs(now: number): number {
    const since = this.awaitingSince;
    if (since === 0 || this.#stuckWarnMs <= 0) return 0;
    const ms = now - since;
    return ms >= this.#stuckWarnMs ? ms : 0;
  }

  /**
   * The stuck-task watch, called from the host's periodic timer (never per
   * tuple): when the awaited call in progress has not settled for
   * `topology.task.stuck.warn.secs`, returns a warning line (once per call);
   * past `topology.task.stuck.restart.secs` the instance is restarted as if it
   * had crashed with a {@link StuckTaskError} (its tuples fail and replay;
   * EFFECTIVELY_ONCE rolls back), which the host reports. Else null.
   *
   * @example
   * ```ts
   * declare const actor: TaskActor;
   * const warning = actor.checkStuck(performance.now());
   * if (warning !== null) console.error(`[ardea] topology "wc": ${warning}`);
   * ```
   */
  checkStuck(now: number): string | null {
    const since = this.awaitingSince;
    if (since === 0 || this.state === "stopped" || this.state === "finished") return null;
    const ms = now - since;
    const phase = this.awaitingPhase;
    if (this.#stuckRestartMs > 0 && ms >= this.#stuckRestartMs) {
      this.awaitingSince = 0;
      this.crash(new StuckTaskError(this.component, this.taskId, phase, ms), phase);
      return null;
    }
    if (this.#stuckWarned || this.#stuckWarnMs <= 0 || ms < this.#stuckWarnMs) return null;
    this.#stuckWarned = true;
    const restart = this.#stuckRestartMs > 0 ? `; it is restarted at ${this.#stuckRestartMs / 1000} s` : "";
    return `${this.component} (task ${this.taskId}): ${phase} has not settled for ${
      (ms / 1000).toFixed(1)
    } s (stuck?)${restart}`;
  }

  /** A component method threw or rejected. */
  crash(error: unknown, phase: string): void {
    if (this.state === "stopped") return;
    if (error instanceof EmitError) {
      this.state = "stopped";
      this.host.fatal(error);
      return;
    }
    if (this.host.effectivelyOnce && !this.retryInPlace()) {
      this.errors++;
      this.lastError = error instanceof Error ? error.message : String(error);
      this.host.reportError(this.component, this.taskId, error, true);
      this.host.rollback(error);
      return;
    }
    this.errors++;
    this.lastError = error instanceof Error ? error.message : String(error);
    this.host.reportError(this.component, this.taskId, error, true);
    this.failHeld();
    this.incarnation++;
    this.awaitingSince = 0;
    this.discard();
    const decision = this.policy.onFailure(performance.now());
    if (!decision.restart) {
      this.state = "stopped";
      this.host.fatal(new ComponentFailedError(this.component, this.taskId, `${decision.reason} (in ${phase})`, error));
      return;
    }
    this.restarts++;
    this.state = "restarting";
    this.busy = true;
    const go = () => {
      this.#restartTimer = null;
      if (this.state === "stopped") return;
      this.busy = false;
      this.state = "starting";
      try {
        this.start();
      } catch (e) {
        this.crash(e, this.startPhaseOf(e));
      }
    };
    if (decision.delayMs <= 0) go();
    else this.#restartTimer = setTimeout(go, decision.delayMs);
  }

  /**
   * EFFECTIVELY_ONCE: whether this failure can be repaired by restarting the
   * instance and retrying its input (no state, nothing emitted), rather than
   * rolling every task back.
   */
  protected retryInPlace(): boolean {
    return false;
  }

  /** Stops the actor for good (no more runs, no restart). */
  halt(): void {
    this.state = "stopped";
    this.awaitingSince = 0;
    if (this.#restartTimer !== null) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
  }
}

/** The stuck-task bounds of a configuration in ms (0: off): `topology.task.stuck.warn.secs` and `….restart.secs`. */
function stuckBounds(conf: TopologyConfig): { warnMs: number; restartMs: number } {
  return {
    warnMs: (conf["topology.task.stuck.warn.secs"] ?? 0) * 1000,
    restartMs: (conf["topology.task.stuck.restart.secs"] ?? 0) * 1000,
  };
}
