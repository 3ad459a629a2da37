/**
 * A container: one process's share of a topology. It hosts the task actors,
 * hands tuples between them (same container: executed at once by an idle,
 * fast bolt, else into its mailbox; other containers: to the stream
 * manager), routes acks to the ledger that holds their root, sweeps
 * timeouts, sends ticks, and ends the run when every task has finished, is
 * killed, or cannot go on. Beside it, each with one job: checkpoint
 * coordination (`container_checkpoints.ts`), backpressure between
 * containers (`container_pressure.ts`) and its metrics (`container_stats.ts`).
 *
 * @module
 */
import { BoltActor } from "../actors/bolt_actor.ts";
import { Pressure } from "../actors/mailbox.ts";
import { Scheduler, type Yielder } from "../actors/scheduler.ts";
import { SpoutActor } from "../actors/spout_actor.ts";
import type { RestartSettings } from "../actors/supervisor.ts";
import type { TaskActor } from "../actors/task_actor.ts";
import {
  CheckpointMarker,
  EndOfInput,
  type Message,
  type RoundTrip,
  type Route,
  type TaskHost,
} from "../actors/task_host.ts";
import { XorLedger } from "../actors/xor_ledger.ts";
import { tickIntervalMs, type TopologyConfig } from "../topology/config.ts";
import { TopologyContext } from "../topology/context.ts";
import { Fields } from "../topology/fields.ts";
import type { StormTopology } from "../topology/topology.ts";
import { StreamInfo, SYSTEM_COMPONENT, TICK_STREAM, TupleImpl } from "../topology/tuple.ts";
import { assertSerializable, createPackr } from "../transport/codec.ts";
import { AckOp, type RunState, type TerminalState } from "../transport/wire/mod.ts";
import { compileRoutes, downstreamTasks, inputTasks, upstreamTasks } from "./groupings.ts";
import { ArdeaError } from "../topology/errors.ts";
import type { KeyValueState } from "../topology/stateful.ts";
import type { StatsSnapshot } from "../metrics/snapshot.ts";
import { type CheckpointSetup, ContainerCheckpoints, RollbackRequest } from "./container_checkpoints.ts";
import { RemotePressure } from "./container_pressure.ts";
import { ContainerStats } from "./container_stats.ts";

export { type CheckpointSetup, RollbackRequest, stateKey } from "./container_checkpoints.ts";
export { PRESSURE_LEASE_MS } from "./container_pressure.ts";

/** How a run stands or ended (one list, the wire contract's: transport/wire/states.ts). */
export type { RunState };

/**
 * The stats snapshot's public names: `TopologyStats` is metrics/'s
 * `StatsSnapshot`, and so on (one definition, in metrics/snapshot.ts).
 */
export type {
  ComponentSnapshot as ComponentStats,
  StatsSnapshot as TopologyStats,
  TaskSnapshot as TaskStats,
} from "../metrics/snapshot.ts";

/** What a container reports at the end. */
export interface RunSummary {
  name: string;
  state: RunState;
  durationMs: number;
  stats: StatsSnapshot;
}

/**
 * What a container of a distributed topology sends to the others; the NATS
 * stream manager implements it (`cluster/stream_manager.ts`).
 */
export interface RemoteLink {
  /** A tuple for task `dest`, hosted by `container`. */
  sendTuple(container: number, dest: number, t: TupleImpl): void;
  /** `from` has ended: tells task `dest` in `container`. */
  sendEnd(container: number, dest: number, from: number, final?: boolean): void;
  /** An ack-frame operation (transport/wire/acks.ts `AckOp`) for a root held by `container`. */
  sendAck(container: number, op: number, localRoot: number, hi: number, lo: number): void;
  /** This container's queues passed (true) or drained below (false) their watermarks. */
  announcePressure(on: boolean, component: string): void;
  /** Every task of this container has finished. */
  finished(): void;
  /** This container cannot go on. */
  failed(error: Error): void;
  /** A checkpoint marker from `from` for task `dest` in `container`. */
  sendMarker(container: number, dest: number, from: number, id: number): void;
  /** Every local task saved its part of checkpoint `id` (state keys saved). */
  checkpointSaved(id: number, tasks: string[]): void;
  /** EFFECTIVELY_ONCE failure: every container must roll back. */
  requestRollback(error: Error): void;
  /** Destinations this container is holding its spouts for, out of credit (flow control). */
  readonly creditBlocked: number;
  /** This container's mailboxes drained below their marks: credit what was held back. */
  grantCredits(): void;
  /** Container `c` was lost or rejoined: what was in flight to it is forgotten. */
  resetCredits(c: number): void;
}

/** Root ids of one container's ledger are below this; the container index is the quotient. */
export const ROOT_SPACE = 2 ** 30;

/** Options of a {@link Container}. */
export interface ContainerOptions {
  name: string;
  topology: StormTopology;
  config: TopologyConfig;
  /** Next-macrotask scheduling (runtime adapter). */
  yielder: Yielder;
  /** Receives every emit (testing helper, tap). */
  tap?: (component: string, stream: string, task: number, values: readonly unknown[]) => void;
  /** Log sink (default: console.error). */
  log?: (line: string) => void;
  /** Index of this container (default 0). */
  containerIndex?: number;
  /** Task id → container index (default: every task here). */
  packing?: ReadonlyMap<number, number>;
  /** How to reach the other containers (distributed mode). */
  remote?: RemoteLink;
  /** EFFECTIVELY_ONCE: where checkpoints go and what to restore. */
  checkpoints?: CheckpointSetup;
  /** Sees every error a task reports or crashes with (the tracker's exceptions). */
  onError?: (component: string, task: number, error: unknown, crashed: boolean) => void;
}

/** How often finished tasks repeat their end-of-input markers to other containers (ms). */
const END_RESEND_MS = 2000;

const TICK_INFO = new StreamInfo(SYSTEM_COMPONENT, TICK_STREAM, new Fields("rate_secs"), false);
/** How often latency windows move and Storm 1 metric buckets are checked (ms). */
const METRICS_TICK_MS = 1000;
/**
 * Most direct hand-overs (a tuple executed on its emitter's stack) nested in
 * one another; deeper ones are queued. Bounds the stack along a chain.
 */
const MAX_DIRECT_DEPTH = 8;
/** Crashes logged in full per component before only counting. */
const LOGGED_CRASHES = 3;

/**
 * Hosts every task of a topology in this process (the embedded mode).
 *
 * @example
 * ```ts
 * import { parseConfig, type StormTopology } from "ardea";
 * import { yieldNow } from "../runtime/mod.ts";
 * declare const topology: StormTopology;
 * const c = new Container({ name: "wc", topology, config: parseConfig({}), yielder: yieldNow });
 * c.start();
 * const summary = await c.done;
 * ```
 */
export class Container implements TaskHost {
  readonly scheduler: Scheduler;
  readonly pressure: Pressure;
  readonly ledger: XorLedger;
  readonly tracking: boolean;
  readonly restart: RestartSettings;
  readonly roundTrip: RoundTrip | null;
  /** Sees every emit while set; may be set and unset while the topology runs (`ardea tap`). */
  tap: TaskHost["tap"];
  readonly spoutSleepMs: number;
  readonly done: Promise<RunSummary>;
  readonly spouts: SpoutActor[] = [];
  readonly bolts: BoltActor[] = [];
  state: RunState = "RUNNING";
  readonly index: number;
  readonly rootBase: number;
  readonly #remote: RemoteLink | null;
  /** Container index of each remote task (-1 or undefined: local). */
  readonly #remoteOf: number[] = [];
  /** Other containers' leases and lost containers; this one's announcements (distributed). */
  readonly #remotePressure: RemotePressure;
  readonly effectivelyOnce: boolean;
  readonly #checkpoints: ContainerCheckpoints;
  readonly #stats = new ContainerStats();
  readonly #opts: ContainerOptions;
  readonly #byTask: Array<BoltActor | undefined> = [];
  readonly #all: TaskActor[] = [];
  readonly #downstream: number[][] = [];
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  readonly #crashesLogged = new Map<string, number>();
  readonly #log: (line: string) => void;
  #unfinished = 0;
  #started = 0;
  /** When the run ended (0: running); the uptime stops there. */
  #endedAt = 0;
  #ended = false;
  #resolve!: (s: RunSummary) => void;
  #reject!: (e: Error) => void;

  constructor(opts: ContainerOptions) {
    this.#opts = opts;
    this.index = opts.containerIndex ?? 0;
    this.rootBase = this.index * ROOT_SPACE;
    this.#remote = opts.remote ?? null;
    const conf = opts.config;
    this.#log = opts.log ?? ((l) => console.error(l));
    this.scheduler = new Scheduler(opts.yielder, 5, (e) => this.fatal(e instanceof Error ? e : new Error(String(e))));
    this.pressure = new Pressure(() => {
      for (const s of this.spouts) this.scheduler.schedule(s);
      if (this.pressure?.onRaise) this.#remotePressure.announceSoon(); // distributed, started
      this.#remote?.grantCredits();
    });
    // deno-lint-ignore no-this-alias -- the getter below has its own `this`
    const container = this;
    this.#remotePressure = new RemotePressure({
      index: this.index,
      pressure: this.pressure,
      get ended() {
        return container.#ended;
      },
      announce: (on, component) => this.#remote!.announcePressure(on, component),
      source: () => this.pressureSource(),
    });
    this.ledger = new XorLedger({
      onComplete: (owner, msgId, latency) => this.spouts[owner]!.complete(msgId, true, latency, false),
      onFail: (owner, msgId, timedOut) => this.spouts[owner]!.complete(msgId, false, 0, timedOut),
    });
    this.tracking = conf["topology.reliability.mode"] === "ATLEAST_ONCE";
    this.effectivelyOnce = conf["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
    if (this.effectivelyOnce && opts.checkpoints === undefined) {
      throw new ArdeaError("NO_STATE_BACKEND", "EFFECTIVELY_ONCE needs a state backend");
    }
    const remote = this.#remote;
    this.#checkpoints = new ContainerCheckpoints({
      name: opts.name,
      topology: opts.topology,
      config: conf,
      tasks: this.#all,
      spouts: this.spouts,
      get ended() {
        return container.#ended;
      },
      rollback: (e) => this.rollback(e),
      reportSaved: opts.checkpoints?.coordinated && remote !== null
        ? (id, keys) => remote.checkpointSaved(id, keys)
        : null,
      log: this.#log,
    }, opts.checkpoints);
    this.restart = {
      maxConsecutive: conf["topology.supervisor.max.consecutive.failures"],
      maxRestarts: conf["topology.supervisor.max.restarts"],
      windowMs: conf["topology.supervisor.restart.window.secs"] * 1000,
      maxFailureRatio: conf["topology.supervisor.max.failure.ratio"],
      backoffInitialMs: conf["topology.supervisor.backoff.initial.ms"],
      backoffMaxMs: conf["topology.supervisor.backoff.max.ms"],
    };
    this.roundTrip = conf["topology.testing.always.try.serialize"] ? makeRoundTrip() : null;
    this.tap = opts.tap ?? null;
    this.spoutSleepMs = conf["topology.sleep.spout.wait.strategy.time.ms"];
    this.done = new Promise((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
    // The run's outcome is reported through `done`; an unobserved failure must not crash the process.
    this.done.catch(() => {});
    this.#build();
  }

  #build(): void {
    const { topology, config, name } = this.#opts;
    const packing = this.#opts.packing;
    const taskContainer = (t: number) => packing?.get(t) ?? 0;
    for (const [task, component] of topology.taskToComponent) {
      const where = taskContainer(task);
      if (where !== this.index) {
        this.#remoteOf[task] = where;
        continue;
      }
      const def = topology.components.get(component)!;
      const conf = { ...config, ...def.config } as TopologyConfig;
      const userMetrics = this.#stats.userMetrics(task);
      const context = new TopologyContext(topology, name, task, this.index, taskContainer, userMetrics);
      const routes: Map<string, Route> = compileRoutes(task, { topology, taskContainer, context });
      this.#downstream[task] = downstreamTasks(topology, task);
      if (def.kind === "spout") {
        const a = new SpoutActor(this, def, task, conf, context, routes, this.spouts.length);
        this.#stats.track(a);
        this.spouts.push(a);
        this.#all.push(a);
      } else {
        const a = new BoltActor(
          this,
          def,
          task,
          conf,
          context,
          routes,
          upstreamTasks(topology, component),
          inputTasks(topology, component),
        );
        this.#stats.track(a);
        this.bolts.push(a);
        this.#byTask[task] = a;
        this.#all.push(a);
      }
    }
    this.#unfinished = this.#all.length;
  }

  /**
   * Warns about tasks whose awaited call (execute, prepare, …) has not
   * settled for `topology.task.stuck.warn.secs`; past `….restart.secs` the
   * actor restarts its instance itself (actors/task_actor.ts `checkStuck`).
   */
  #checkStuck(now: number): void {
    for (const a of this.#all) {
      const warning = a.checkStuck(now);
      if (warning !== null) this.#log(`[ardea] topology "${this.#opts.name}": ${warning}`);
    }
  }

  /** Prepares bolts, opens spouts, starts the timers. */
  start(): void {
    this.#started = performance.now();
    this.#stats.measureCapacity(this.bolts, this.#started);
    const conf = this.#opts.config;
    for (const b of this.bolts) if (!this.#ended) b.boot();
    for (const s of this.spouts) if (!this.#ended) s.boot();
    if (this.#ended) return;
    this.#checkpoints.resumed();
    this.#timers.push(setInterval(() => {
      const now = performance.now();
      this.#stats.tick(this.#all, now);
      this.#checkStuck(now);
    }, METRICS_TICK_MS));
    if (this.#remote !== null) {
      // Changes are announced as they happen (after the current task, so the
      // remote and lost tallies are settled); the interval renews the lease.
      this.pressure.onRaise = () => this.#remotePressure.announceSoon();
      this.#timers.push(setInterval(() => this.#remotePressure.announce(), 25));
      // Markers crossing NATS can be lost (a server fails over); bolts count
      // each upstream task once, so finished tasks repeat theirs.
      this.#timers.push(setInterval(() => this.#resendEnds(-1), END_RESEND_MS));
    }
    if (this.effectivelyOnce && !this.#checkpoints.coordinated) {
      const every = conf["topology.stateful.checkpoint.interval.seconds"] * 1000;
      this.#timers.push(setInterval(() => this.#checkpoints.begin(this.#checkpoints.id + 1), every));
    }
    if (this.tracking) {
      const timeoutMs = conf["topology.message.timeout.secs"] * 1000;
      const every = Math.max(20, Math.min(1000, timeoutMs / 4));
      this.#timers.push(setInterval(() => {
        const now = performance.now();
        this.scheduler.now = now;
        this.ledger.expire(now - this.pressure.throttledMs(now) - timeoutMs);
      }, every));
    }
    const byInterval = new Map<number, BoltActor[]>();
    for (const b of this.bolts) {
      const ms = tickIntervalMs(b.conf);
      if (ms !== undefined) byInterval.set(ms, [...(byInterval.get(ms) ?? []), b]);
    }
    for (const [ms, bolts] of byInterval) {
      const secs = ms / 1000;
      this.#timers.push(setInterval(() => {
        this.scheduler.now = performance.now();
        for (const b of bolts) {
          if (b.state === "running" || b.state === "restarting") {
            this.deliver(b.taskId, new TupleImpl([secs], TICK_INFO, -1));
          }
        }
      }, ms));
    }
  }

  openState(task: number): KeyValueState {
    return this.#checkpoints.openState(task);
  }

  forwardMarker(task: number, id: number): void {
    for (const t of this.#downstream[task]!) this.deliver(t, new CheckpointMarker(id, task));
  }

  stateSaved(task: number, id: number, state: KeyValueState | null): void {
    this.#checkpoints.stateSaved(task, id, state);
  }

  /** Settles once every checkpoint write this container started has ended (before a rollback restarts). */
  checkpointWrites(): Promise<void> {
    return this.#checkpoints.writes();
  }

  /** Checkpoints committed by this container (embedded) or committed by the master and heard of here. */
  get checkpointsCommitted(): number {
    return this.#checkpoints.committedCount;
  }

  rollback(error: unknown): void {
    if (this.#ended) return;
    for (const a of this.#all) a.preRestore();
    this.#remote?.requestRollback(error instanceof Error ? error : new Error(String(error)));
    void this.#end("FAILED", new RollbackRequest(error));
  }

  /** Begins checkpoint `id` unless one is in progress (the master's trigger, distributed). */
  beginCheckpoint(id: number): void {
    this.#checkpoints.begin(id);
  }

  /** The master committed checkpoint `id` (distributed): two-phase sinks commit now. */
  checkpointCommitted(id: number): void {
    this.#checkpoints.committed(id);
  }

  xorTree(root: number, hi: number, lo: number): void {
    const local = root - this.rootBase;
    if (local >= 0 && local < ROOT_SPACE) this.ledger.xor(local, hi, lo, this.treeClock());
    else this.#remoteAck(root, AckOp.XOR, hi, lo);
  }

  failTree(root: number): void {
    const local = root - this.rootBase;
    if (local >= 0 && local < ROOT_SPACE) this.ledger.fail(local);
    else this.#remoteAck(root, AckOp.FAIL, 0, 0);
  }

  touchTree(root: number): void {
    const local = root - this.rootBase;
    if (local >= 0 && local < ROOT_SPACE) this.ledger.touch(local, this.treeClock());
    else this.#remoteAck(root, AckOp.TOUCH, 0, 0);
  }

  #remoteAck(root: number, op: number, hi: number, lo: number): void {
    const c = Math.floor(root / ROOT_SPACE);
    if (this.#remote !== null) this.#remote.sendAck(c, op, root - c * ROOT_SPACE, hi, lo);
  }

  /** Applies an ack-frame operation from another container to this ledger. */
  applyAck(op: number, localRoot: number, hi: number, lo: number): void {
    if (this.#ended) return;
    if (op === AckOp.XOR) this.ledger.xor(localRoot, hi, lo, this.treeClock());
    else if (op === AckOp.FAIL) this.ledger.fail(localRoot);
    else this.ledger.touch(localRoot, this.treeClock());
  }

  /** Whether `task` runs in this container. */
  isLocal(task: number): boolean {
    return this.#byTask[task] !== undefined || this.spouts.some((s) => s.taskId === task);
  }

  /** The local bolt task `task`, if it runs here. */
  localBolt(task: number): BoltActor | undefined {
    return this.#byTask[task];
  }

  /** Another container's backpressure lease: on (renewed for `leaseMs`) or off. */
  setRemotePressure(container: number, on: boolean, leaseMs: number): void {
    this.#remotePressure.lease(container, on, leaseMs);
  }

  /** Container `c` died: hold the spouts until it rejoins. */
  containerLost(c: number): void {
    if (c === this.index || this.#ended) return;
    this.#remote?.resetCredits(c);
    this.#remotePressure.lost(c);
  }

  /**
   * Container `c` runs again: re-send it the end-of-input markers of tasks
   * finished here, fail every pending tree (it may have had a tuple in the
   * dead process) so spouts replay now, and release the spouts.
   */
  containerRejoined(c: number): void {
    if (c === this.index || this.#ended) return;
    this.#remote?.resetCredits(c);
    this.#resendEnds(c);
    this.scheduler.now = performance.now();
    this.ledger.expire(Infinity);
    this.#remotePressure.rejoined(c);
  }

  /** Re-sends the end-of-input markers of finished local tasks to container `only` (-1: every remote one). */
  #resendEnds(only: number): void {
    for (const a of this.#all) {
      if (a.state !== "finished") continue;
      for (const t of this.#downstream[a.taskId]!) {
        const c = this.#remoteOf[t];
        if (c !== undefined && (only < 0 || c === only)) this.#remote!.sendEnd(c, t, a.taskId);
      }
    }
  }

  /** The component whose mailbox holds backpressure up here ("" when none). */
  pressureSource(): string {
    return this.bolts.find((b) => b.mailbox.over)?.component ?? "";
  }

  /**
   * Whether this container's own queues are over their marks (not counting
   * what it holds its spouts for: other containers' leases, lost containers,
   * destinations out of credit).
   */
  ownPressure(): boolean {
    return this.pressure.own;
  }

  treeClock(): number {
    const now = this.scheduler.now;
    return now - this.pressure.throttledMs(now);
  }

  directHold = 0;
  busyMs = 0;
  /** Direct hand-overs on the stack now (at most {@link MAX_DIRECT_DEPTH}). */
  #directDepth = 0;

  deliver(task: number, msg: Message): void {
    const a = this.#byTask[task];
    if (a === undefined) return this.#deliverRemote(task, msg);
    if (this.#directDepth < MAX_DIRECT_DEPTH && this.directHold === 0 && msg instanceof TupleImpl && a.takesNow()) {
      this.#directDepth++;
      if (a.mailbox.size === 0) a.executeNow(msg);
      else {
        // Behind what waits (it was held back or arrived early): run it all now, in order.
        a.mailbox.push(msg);
        a.run(this.scheduler.deadline);
      }
      this.#directDepth--;
      return;
    }
    if (a.state === "finished" || a.state === "stopped") return this.#undeliverable(a, msg);
    a.mailbox.push(msg);
    if (!a.scheduled) this.scheduler.schedule(a);
  }

  #deliverRemote(task: number, msg: Message): void {
    const c = this.#remoteOf[task];
    if (c === undefined || this.#remote === null) throw new Error(`no task ${task} in topology "${this.#opts.name}"`);
    if (msg instanceof TupleImpl) this.#remote.sendTuple(c, task, msg);
    else if (msg instanceof EndOfInput) this.#remote.sendEnd(c, task, msg.fromTask, msg.final);
    else this.#remote.sendMarker(c, task, msg.fromTask, msg.id);
  }

  /** A tuple for a task that has finished: dropped, its trees failed, reported once. */
  #undeliverable(a: BoltActor, msg: Message): void {
    if (!(msg instanceof TupleImpl) || this.#ended) return;
    if (msg.root !== -1) this.failTree(msg.root);
    const more = msg.more;
    if (more) { for (let i = 0; i < more.length; i += 3) this.failTree(more[i]!); }
    if (a.staleEmits++ === 0) {
      this.reportError(
        a.component,
        a.taskId,
        new Error(`a tuple from "${msg.src.component}" arrived after this task finished and was dropped`),
        false,
      );
    }
  }

  endOfInput(task: number): void {
    for (const t of this.#downstream[task]!) this.deliver(t, new EndOfInput(task));
  }

  drained(task: number): void {
    for (const t of this.#downstream[task]!) this.deliver(t, new EndOfInput(task, false));
  }

  taskFinished(task: number): void {
    this.#checkpoints.taskFinished(task);
    if (--this.#unfinished > 0) return;
    if (this.#remote !== null) this.#remote.finished();
    else if (this.effectivelyOnce) void this.#checkpoints.final().then(() => this.#end("FINISHED"));
    else void this.#end("FINISHED");
  }

  fatal(error: Error): void {
    if (this.#ended) return;
    this.#log(`[ardea] topology "${this.#opts.name}" failed: ${error.message}`);
    this.#remote?.failed(error);
    void this.#end("FAILED", error);
  }

  /** Ends the run as the master says (distributed mode). */
  stop(state: TerminalState, error?: Error): Promise<RunSummary> {
    void this.#end(state, error);
    return this.done;
  }

  log(line: string): void {
    this.#log(line);
  }

  reportError(component: string, task: number, error: unknown, crashed: boolean): void {
    this.#stats.errorAt(task, Date.now());
    this.#opts.onError?.(component, task, error, crashed);
    const n = (this.#crashesLogged.get(component) ?? 0) + 1;
    this.#crashesLogged.set(component, n);
    const debug = this.#opts.topology.components.get(component)?.config["topology.debug"] ??
      this.#opts.config["topology.debug"];
    if (n <= LOGGED_CRASHES || debug === true) {
      const what = crashed ? "crashed (restarting)" : "reported an error";
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.#log(`[ardea] ${component} (task ${task}) ${what}: ${detail}`);
      if (n === LOGGED_CRASHES) this.#log(`[ardea] further errors of ${component} are counted, not logged`);
    }
    if (!crashed) {
      const a = this.#all.find((x) => x.taskId === task);
      if (a) {
        a.errors++;
        a.lastError = error instanceof Error ? error.message : String(error);
      }
    }
  }

  /** Activates (true) or deactivates (false) every spout. */
  setActive(on: boolean): void {
    if (this.#ended) return;
    this.state = on ? "RUNNING" : "PAUSED";
    for (const s of this.spouts) s.setActive(on);
  }

  /** Stops at once: nothing more is processed; close/cleanup run. */
  kill(): Promise<RunSummary> {
    void this.#end("KILLED");
    return this.done;
  }

  /**
   * Deactivates the spouts, waits until nothing is in flight (or `timeoutMs`
   * passes), then stops.
   */
  async drain(timeoutMs = this.#opts.config["topology.drain.timeout.secs"] * 1000): Promise<RunSummary> {
    if (this.#ended) return this.done;
    this.setActive(false);
    const until = performance.now() + timeoutMs;
    while (!this.#ended && performance.now() < until && !this.#quiet()) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.kill();
  }

  #quiet(): boolean {
    if (!this.scheduler.idle) return false;
    for (const s of this.spouts) if (s.pending > 0 || s.busy) return false;
    for (const b of this.bolts) if (b.mailbox.size > 0 || b.busy) return false;
    return true;
  }

  async #end(state: RunState, error?: Error): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#endedAt = performance.now();
    this.state = state;
    for (const t of this.#timers) clearInterval(t);
    this.#remotePressure.close();
    this.scheduler.stop();
    for (const a of this.#all) a.halt();
    // The end may be asked for from inside a direct hand-over: the tasks on
    // the stack (halted now) run close/cleanup only once it has unwound.
    await null;
    const closing = Promise.allSettled(this.#all.map(async (a) => {
      try {
        await a.shutdown();
      } catch (e) {
        this.#log(`[ardea] ${a.component} (task ${a.taskId}) failed to close: ${(e as Error).message}`);
      }
    }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closing, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    // Checkpoint writes in flight finish before the run reports its end.
    await this.checkpointWrites();
    const summary: RunSummary = {
      name: this.#opts.name,
      state,
      durationMs: performance.now() - this.#started,
      stats: this.stats(),
    };
    if (error) this.#reject(error);
    else this.#resolve(summary);
  }

  /**
   * A snapshot of every counter; with `buckets`, each component's recent
   * latency and user-histogram windows as buckets too (a metrics report).
   */
  stats(opts: { buckets?: boolean } = {}): StatsSnapshot {
    // deno-lint-ignore no-this-alias -- the getter below has its own `this`
    const container = this;
    return this.#stats.snapshot({
      name: this.#opts.name,
      state: this.state,
      tasks: this.#all,
      bolts: this.bolts,
      pressure: this.pressure,
      startedAt: this.#started,
      get endedAt() {
        return container.#endedAt;
      },
      pressureSource: () => this.pressureSource(),
    }, opts);
  }
}

function makeRoundTrip(): RoundTrip {
  const packr = createPackr();
  return (values, route) => {
    const info = route.info;
    assertSerializable(values, (i) => info.fields.get(i), `"${info.component}" emitting on stream "${info.stream}"`);
    return packr.unpack(packr.pack(values)) as unknown[];
  };
}
