/**
 * The spout actor: delivers completions (`ack`/`fail`) first, then asks the
 * spout for tuples while it is active, under `topology.max.spout.pending`
 * and not throttled by backpressure. An idle spout sleeps (Storm's wait
 * strategy); a finished one waits for its pending trees and then ends.
 *
 * @module
 */
import type { ISpout } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { ComponentDef } from "../topology/topology.ts";
import { SpoutCollector, type SpoutCollectorOwner } from "./collectors.ts";
import { isPromise, LATENCY_SAMPLE_EVERY, type LatencySink, TaskActor } from "./task_actor.ts";
import type { Route, TaskHost } from "./task_host.ts";

/** Most `nextTuple` calls in one run before other actors get a turn. */
const CALLS_PER_RUN = 64;

/**
 * One spout task.
 *
 * @example
 * ```ts
 * import type { TopologyConfig, TopologyContext } from "ardea";
 * import type { ComponentDef } from "../topology/topology.ts";
 * import type { Route, TaskHost } from "./task_host.ts";
 * declare const host: TaskHost, def: ComponentDef, conf: TopologyConfig, ctx: TopologyContext;
 * declare const routes: ReadonlyMap<string, Route>;
 * const a = new SpoutActor(host, def, 1, conf, ctx, routes, 0);
 * a.boot();
 * ```
 */
export class SpoutActor extends TaskActor implements SpoutCollectorOwner {
  collector: SpoutCollector;
  pending = 0;
  protected readonly startPhase = "open";
  finishRequested = false;
  active = true;
  timedOut = 0;
  completed = 0;
  /** Sum and count of complete latencies (ms), for the mean. */
  latencySum = 0;
  nextTupleCalls = 0;
  /** Sampled complete latencies (set by the container), one tree in {@link LATENCY_SAMPLE_EVERY}. */
  completeLatency: LatencySink | null = null;
  readonly maxPending: number;
  #spout: ISpout | null = null;
  #done: unknown[] = [];
  #doneOk: boolean[] = [];
  #doneHead = 0;
  /** The emit count when the last drain marker went out (-1: none yet). */
  #drainedAt = -1;
  #sleep: ReturnType<typeof setTimeout> | null = null;
  /** A checkpoint to take at the next turn (0: none). */
  #checkpoint = 0;
  /** Whether the instance was last told it is active (activate/deactivate that could not run at once run later). */
  #told = true;

  constructor(
    host: TaskHost,
    def: ComponentDef,
    taskId: number,
    conf: TopologyConfig,
    context: TopologyContext,
    routes: ReadonlyMap<string, Route>,
    /** This task's index in the ledger's owner table. */
    readonly ownerIndex: number,
  ) {
    super(host, def, taskId, conf, context, routes);
    this.collector = new SpoutCollector(this);
    this.maxPending = conf["topology.max.spout.pending"];
  }

  protected start(): void {
    this.collector = new SpoutCollector(this);
    const spout = this.def.create() as ISpout;
    this.#spout = spout;
    this.#told = true;
    this.attachState(spout);
    this.finishRequested = false;
    const r = spout.open?.(this.conf, this.context, this.collector);
    const ready = () => {
      this.state = "running";
    };
    if (isPromise(r)) this.awaitStart(r, ready, "open");
    else {
      ready();
      this.host.scheduler.schedule(this);
    }
  }

  /** EFFECTIVELY_ONCE: save state and emit the marker of checkpoint `id` at the next turn. */
  requestCheckpoint(id: number): void {
    this.#checkpoint = id;
    this.host.scheduler.schedule(this);
  }

  /** The ledger completed (`ok`) or failed a tree of this task. */
  complete(msgId: unknown, ok: boolean, latencyMs: number, timedOut: boolean): void {
    this.pending--;
    if (ok) {
      // Sampling reads the completion count kept anyway (LATENCY_SAMPLE_EVERY is a power of two).
      if ((this.completed++ & (LATENCY_SAMPLE_EVERY - 1)) === 0 && this.host.tracking) {
        this.completeLatency?.record(latencyMs);
      }
      this.latencySum += latencyMs;
    } else if (timedOut) this.timedOut++;
    this.#done.push(msgId);
    this.#doneOk.push(ok);
    this.host.scheduler.schedule(this);
  }

  ackNow(msgId: unknown): void {
    this.complete(msgId, true, 0, false);
  }

  /** Activates or deactivates the spout (`activate`/`deactivate` run on the instance). */
  setActive(on: boolean): void {
    if (on === this.active || this.state === "stopped" || this.state === "finished") return;
    this.active = on;
    const spout = this.#spout;
    // While open, a restart or an awaited call is in progress, only the flag
    // changes: the next run tells the instance (see #tell).
    if (spout === null || this.busy || this.state !== "running") {
      this.host.scheduler.schedule(this);
      return;
    }
    this.#tell(spout);
  }

  /** Calls activate or deactivate on the instance to match the flag; false when that call is awaited. */
  #tell(spout: ISpout): boolean {
    const on = this.active;
    this.#told = on;
    try {
      const r = on ? spout.activate?.() : spout.deactivate?.();
      if (isPromise(r)) {
        this.await(r, () => {}, on ? "activate" : "deactivate");
        return false;
      }
      this.host.scheduler.schedule(this);
    } catch (e) {
      this.crash(e, on ? "activate" : "deactivate");
      return false;
    }
    return true;
  }

  run(deadline: number): void {
    if (this.busy || this.state !== "running") return;
    const spout = this.#spout!;
    if (this.#told !== this.active && !this.#tell(spout)) return;
    const host = this.host;
    let phase = "ack";
    try {
      while (this.#doneHead < this.#done.length) {
        const i = this.#doneHead++;
        const msgId = this.#done[i];
        phase = this.#doneOk[i] ? "ack" : "fail";
        const r = this.#doneOk[i] ? spout.ack?.(msgId) : spout.fail?.(msgId);
        if (this.#doneOk[i]) this.acked++;
        else this.failed++;
        if (isPromise(r)) {
          this.await(r, () => {}, this.#doneOk[i] ? "ack" : "fail");
          return;
        }
      }
      this.#done.length = 0;
      this.#doneOk.length = 0;
      this.#doneHead = 0;
      if (this.#checkpoint !== 0) {
        const id = this.#checkpoint;
        this.#checkpoint = 0;
        this.snapshot(id);
        host.forwardMarker(this.taskId, id);
      }
      if (!this.active || this.#sleep !== null) return;
      const tracking = host.tracking;
      phase = "nextTuple";
      for (let calls = 0; calls < CALLS_PER_RUN; calls++) {
        if (host.pressure.count > 0) return; // woken when the pressure drops
        if (tracking && this.pending >= this.maxPending) return; // woken by a completion
        const before = this.emitted;
        this.nextTupleCalls++;
        const r = spout.nextTuple();
        if (isPromise(r)) {
          // Not watched for being stuck: an async nextTuple may wait for input (an async iterable's next item).
          this.await(
            r,
            () => {
              if (this.emitted === before) this.#idle();
            },
            "nextTuple",
            false,
          );
          return;
        }
        if (this.state !== "running") return; // a task it handed a tuple to ended the run
        if (this.emitted === before) {
          this.#idle();
          return;
        }
        if ((calls & 7) === 7 && performance.now() >= deadline) break;
      }
    } catch (e) {
      this.crash(e, phase);
      return;
    }
    host.scheduler.schedule(this);
  }

  /**
   * `nextTuple` emitted nothing: end, wait for completions, or sleep. A
   * finished spout whose trees are still open first sends a drain marker
   * (once per batch of emits, so again after replays): bolts that hold
   * tuples until their input ends release them, and the trees can complete.
   */
  #idle(): void {
    if (this.finishRequested) {
      if (this.pending === 0 && this.#done.length === 0) {
        this.state = "finished";
        this.incarnation++; // later emits (a stray timer) are dropped and reported
        this.host.endOfInput(this.taskId);
        this.host.taskFinished(this.taskId);
      } else if (this.#drainedAt !== this.emitted) {
        this.#drainedAt = this.emitted;
        this.host.drained(this.taskId);
      }
      return; // a completion wakes us
    }
    const ms = this.host.spoutSleepMs;
    this.#sleep = setTimeout(() => {
      this.#sleep = null;
      this.host.scheduler.schedule(this);
    }, ms);
  }

  protected discard(): void {
    const spout = this.#spout;
    this.#spout = null;
    if (spout) this.quietly(() => this.afterStart(() => spout.close?.()));
  }

  protected failHeld(): void {
    this.host.ledger.failOwner(this.ownerIndex);
  }

  override halt(): void {
    super.halt();
    if (this.#sleep !== null) clearTimeout(this.#sleep);
    this.#sleep = null;
  }

  /** Runs `close` on the current instance. */
  async shutdown(): Promise<void> {
    this.halt();
    const spout = this.#spout;
    await this.afterStart(() => spout?.close?.());
  }
}
