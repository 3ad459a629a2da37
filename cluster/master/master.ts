/**
 * The topology master (Heron's tmanager): starts the containers of one
 * topology, starts the run when every container is ready, watches
 * heartbeats and exits, restarts a container that dies or falls silent
 * (within a restart budget), relaunches every container for an update or an
 * EFFECTIVELY_ONCE rollback, records the plan and state, and ends the run
 * (FINISHED, KILLED or FAILED).
 *
 * Its phase (phase.ts) is one field, changed only by `#enter`, which checks
 * the transition against the table in phase.ts. The master is a class with
 * that one field rather than a pure `transition(phase, event)` reducer: most
 * of its work is a sequence that awaits I/O (drain, checkpoint, stop every
 * process, record the next generation, start them again), and as an async
 * method each sequence reads in order; after every await it checks that the
 * phase is still the one it started in, which is what a reducer's stale
 * effect would have to check too. Its parts have one job each: the
 * containers' state (container_slots.ts), the budgets and repeat schedules
 * (relaunch_policy.ts), checkpoints (checkpoint_coordinator.ts), its
 * record writes (record_writer.ts), the lease (lease.ts); its I/O goes through ports.ts, so tests drive it with
 * in-memory records and a fake clock.
 *
 * @module
 */
import {
  type ContainerEvent,
  type ContainerRecord,
  type ControlMessage,
  runEpoch,
  type TopologyRecord,
  WIRE_VERSION,
  wireMismatch,
} from "../../transport/wire/mod.ts";
import { CheckpointCoordinator } from "./checkpoint_coordinator.ts";
import { ContainerSlots, tasksOf } from "./container_slots.ts";
import { holdLease, LOST_HOLDER, MASTER_LOST } from "./lease.ts";
import {
  type After,
  canEnter,
  describePhase,
  hasStarted,
  isOver,
  isRelaunching,
  type Phase,
  type PhaseOf,
  type Terminal,
  wantsPaused,
} from "./phase.ts";
import type { CheckpointStore, Clock, ContainerProcess, ControlBus, MasterRecords, Spawn, Timer } from "./ports.ts";
import { sleep, systemClock } from "./ports.ts";
import { RecordWriter } from "./record_writer.ts";
import {
  DRAIN_MS,
  FINAL_CHECKPOINT_MS,
  KILL_GRACE_MS,
  RelaunchPolicy,
  ROLLBACK_BUDGET_MIN_MS,
  ROLLBACK_READY_MS,
  ROLLBACK_TICK_MS,
  sayRollbackAgain,
  STOP_AGAIN_MS,
  WATCH_MS,
} from "./relaunch_policy.ts";

/** What a master supervises with: its topology, its ports, its budgets and observers. */
export interface MasterParts {
  /** The submitted record (state SUBMITTED), or the running one of a takeover. */
  record: TopologyRecord;
  records: MasterRecords;
  bus: ControlBus;
  /** Starts container `index` as a process. */
  spawn: Spawn;
  /** Default: the system clock. */
  clock?: Clock;
  /** The state store of an EFFECTIVELY_ONCE topology (required for one, unused otherwise). */
  checkpoints?: CheckpointStore;
  log?: (line: string) => void;
  /** Restarts allowed per container before the topology FAILS (default 3). */
  maxRestarts?: number;
  /** Least time the EFFECTIVELY_ONCE rollbacks in a row take before their budget fails the run (default {@link ROLLBACK_BUDGET_MIN_MS}). */
  minRollbackMs?: number;
  /** A running container silent this long is restarted (default 10 s). */
  silenceMs?: number;
  /** Called when the state changes. */
  onState?: (state: TopologyRecord["state"], error?: string) => void;
  /** Called with each container record the master writes (on ready, then every 2 s with the last heartbeat's counters). */
  onContainer?: (record: ContainerRecord) => void;
  /** Called on each change of phase. */
  onPhase?: (next: Phase, previous: Phase) => void;
  /**
   * A takeover (the previous master is gone, the record RUNNING or PAUSED):
   * the containers still running, by index. The master follows them instead
   * of starting them, and starts the missing ones as after a death.
   */
  adopted?: ReadonlyMap<number, ContainerProcess>;
}

/**
 * Whether `rec`'s topology runs EFFECTIVELY_ONCE (the master then coordinates checkpoints).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * import { NatsStateBackend } from "../../state/nats_state_backend.ts";
 * declare const nc: NatsConnection;
 * declare const rec: TopologyRecord;
 * const checkpoints = effectivelyOnce(rec) ? new NatsStateBackend(nc) : undefined;
 * ```
 */
export function effectivelyOnce(rec: TopologyRecord): boolean {
  return rec.config["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
}

/**
 * Takes the master lease of `parts.record`'s topology (throws
 * `MASTER_EXISTS` when another live master holds it), supervises the run
 * until it ends, and gives the lease up; resolves with the final state (a
 * master that lost its lease to another resolves FAILED and leaves the
 * containers to it).
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * import type { ControlBus, MasterRecords, Spawn } from "./ports.ts";
 * declare const record: TopologyRecord;
 * declare const records: MasterRecords;
 * declare const bus: ControlBus;
 * declare const spawn: Spawn;
 * const state = await runMasterWith({ record, records, bus, spawn });
 * ```
 */
export async function runMasterWith(parts: MasterParts): Promise<Terminal> {
  const clock = parts.clock ?? systemClock;
  const lease = await holdLease(parts.records, parts.record.name, clock, parts.log ?? ((l) => console.error(l)));
  try {
    const master = new Master(parts);
    void lease.lost.then((by) => master.leaseLost(by));
    return await master.run();
  } finally {
    await lease.release();
  }
}

/**
 * The master of one topology.
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * import type { ControlBus, MasterRecords, Spawn } from "./ports.ts";
 * declare const record: TopologyRecord;
 * declare const records: MasterRecords;
 * declare const bus: ControlBus;
 * declare const spawn: Spawn;
 * const master = new Master({ record, records, bus, spawn });
 * const state = await master.run(); // "FINISHED" | "KILLED" | "FAILED"
 * ```
 */
export class Master {
  readonly #o: MasterParts;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #silenceMs: number;
  readonly #slots: ContainerSlots;
  readonly #policy: RelaunchPolicy;
  readonly #writer: RecordWriter;
  /** EFFECTIVELY_ONCE only. */
  readonly #checkpoints: CheckpointCoordinator | null;
  #phase: Phase = { kind: "starting", after: { paused: false, update: false }, rollback: null };
  #rec: TopologyRecord;
  #epoch: number;
  /** Whether the master's own connection is up: silence counts only then. */
  #connected = true;
  readonly #timers = new Set<Timer>();
  readonly #stops: Array<() => void> = [];
  #resolve!: (s: Terminal) => void;
  readonly #done = new Promise<Terminal>((r) => (this.#resolve = r));
  #running = false;

  constructor(parts: MasterParts) {
    this.#o = parts;
    this.#clock = parts.clock ?? systemClock;
    this.#log = parts.log ?? ((l: string) => console.error(l));
    this.#silenceMs = parts.silenceMs ?? 10_000;
    this.#rec = parts.record;
    this.#epoch = runEpoch(this.#rec.submittedAt, this.#rec.generation);
    this.#slots = new ContainerSlots(this.#rec.containers);
    this.#writer = new RecordWriter({
      records: parts.records,
      topology: this.#rec.name,
      clock: this.#clock,
      log: this.#log,
      onState: parts.onState,
      onContainer: parts.onContainer,
    });
    this.#policy = new RelaunchPolicy({
      maxRestarts: parts.maxRestarts ?? 3,
      maxRollbacks: Number(this.#rec.config["topology.supervisor.max.consecutive.failures"] ?? 20),
      minRollbackMs: parts.minRollbackMs ?? ROLLBACK_BUDGET_MIN_MS,
      now: () => this.#clock.now(),
    });
    if (!effectivelyOnce(this.#rec)) this.#checkpoints = null;
    else {
      if (parts.checkpoints === undefined) {
        throw new Error(`topology "${this.#rec.name}" runs EFFECTIVELY_ONCE: its master needs a checkpoint store`);
      }
      this.#checkpoints = new CheckpointCoordinator({
        store: parts.checkpoints,
        topology: this.#rec.name,
        config: this.#rec.config,
        containers: this.#rec.containers,
        clock: this.#clock,
        say: (m) => this.#say(m),
        log: this.#log,
        onCommitted: () => this.#policy.committed(),
      });
    }
  }

  /** The phase now. */
  get phase(): Phase {
    return this.#phase;
  }

  /** The topology record as the master holds it (its plan, generation). */
  get record(): TopologyRecord {
    return this.#rec;
  }

  /** Starts supervising (once); resolves with the final state. */
  run(): Promise<Terminal> {
    if (this.#running) return this.#done;
    this.#running = true;
    const { bus } = this.#o;
    this.#stops.push(bus.listen((e) => this.#onEvent(e), (m) => this.#onControl(m)));
    this.#connected = bus.connected();
    this.#stops.push(bus.onConnection((up) => this.#onConnection(up)));
    this.#every(WATCH_MS, () => this.#watch());
    const ck = this.#checkpoints;
    if (ck !== null) {
      this.#every(ck.every, () => ck.tick(this.#phase.kind === "running" || this.#phase.kind === "paused"));
    }
    void Promise.all([bus.flush(), ck?.learnNewest()]).then(() => this.#launch());
    return this.#done;
  }

  /**
   * Another holder took the lease. A lease taken to end the topology
   * ({@link endLostMaster}) ends it here too; another master (this one was
   * cut off and presumed dead) gets the containers: this one steps down.
   */
  leaseLost(by: string): void {
    if (isOver(this.#phase)) return;
    if (by.startsWith(LOST_HOLDER)) {
      return void this.#end(
        "FAILED",
        `${MASTER_LOST}: the lease expired and ${by.slice(LOST_HOLDER.length)} ended the topology`,
      );
    }
    this.#log(
      `[ardea] master: "${this.#rec.name}" has another master (${by}); this one steps down and leaves its containers running`,
    );
    this.#enter({ kind: "steppedDown", holder: by });
    this.#checkpoints?.close();
    this.#close();
    this.#resolve("FAILED");
  }

  // ------------------------------------------------------------ phase

  #enter(next: Phase): void {
    const previous = this.#phase;
    if (!canEnter(previous.kind, next.kind)) {
      throw new Error(
        `master of "${this.#rec.name}": no transition from ${describePhase(previous)} to ${describePhase(next)}`,
      );
    }
    this.#phase = next;
    this.#o.onPhase?.(next, previous);
  }

  /** What follows a relaunch out of the phase now: paused or not, an update pending or not. */
  #afterOf(p: Phase): After {
    return {
      paused: wantsPaused(p) ?? false,
      update: p.kind === "starting" || isRelaunching(p) ? p.after.update : false,
    };
  }

  // ------------------------------------------------------------ start

  #launch(): void {
    // Whatever came first (a kill, an update) started or ended the run its own way.
    if (this.#phase.kind !== "starting" || this.#slots.anyStarted()) return;
    const n = this.#slots.count;
    const adopted = this.#o.adopted;
    if (adopted === undefined) {
      for (let i = 0; i < n; i++) this.#start(i);
      return;
    }
    // A takeover: the run goes on; what was sent while nobody listened is lost.
    this.#enter(this.#rec.state === "PAUSED" ? { kind: "paused" } : { kind: "running" });
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const child = adopted.get(i);
      if (child !== undefined) this.#follow(i, child, true);
      else missing.push(i);
    }
    this.#log(
      `[ardea] master: took over "${this.#rec.name}" (generation ${this.#rec.generation ?? 0}): following ${
        n - missing.length
      } running container(s)${missing.length ? `, starting ${missing.join(", ")}` : ""}`,
    );
    if (this.#checkpoints !== null) {
      return this.#rollback("a new master took over (checkpoint events may be lost)", false);
    }
    for (const i of missing) {
      this.#slots.at(i)!.lostAt = this.#clock.now();
      this.#say({ type: "lost", container: i });
      this.#start(i);
    }
  }

  #start(i: number): void {
    this.#follow(i, this.#o.spawn(i), false);
  }

  /** Watches container `i`'s process `child` (just started, or adopted from a previous master: `ready`). */
  #follow(i: number, child: ContainerProcess, ready: boolean): void {
    this.#slots.follow(i, child, ready, this.#clock.now());
    child.exited.then(
      (exit) => this.#exited(i, child, exit),
      (e: Error) => void this.#end("FAILED", `container ${i} could not be started: ${e.message}`),
    );
  }

  /** Starts the containers of the generation the record holds that have no process (the others reset in place). */
  #startGeneration(after: After, rollback: PhaseOf<"starting">["rollback"]): void {
    this.#enter({ kind: "starting", after, rollback });
    for (const [i, s] of this.#slots.entries()) {
      if (s.child !== null) continue;
      this.#slots.renew(i);
      this.#start(i);
    }
  }

  // ------------------------------------------------------------ containers

  #exited(i: number, child: ContainerProcess, exit: { code: number | null; signal: string | null }): void {
    const s = this.#slots.at(i)!;
    if (s.child !== child) return;
    s.child = null;
    // A restart asked for is this death's only: the next process's counts again.
    const requested = s.requested;
    s.requested = false;
    const p = this.#phase;
    if (isOver(p) || p.kind === "killing") return this.#maybeKilled();
    if (isRelaunching(p)) return this.#stoppedOne();
    if (exit.code === 0 && s.finished) return this.#endIfAllGone();
    const why = `container ${i} exited (${exit.signal ?? `code ${exit.code}`})`;
    if (this.#checkpoints !== null) {
      // Every container restarts together from the checkpoint; a requested restart uses no budget.
      return this.#rollback(requested ? `container ${i} restarted as requested` : why, !requested);
    }
    if (requested) this.#log(`[ardea] master: restarting container ${i} as requested`);
    else {
      const verdict = this.#policy.died(s, why);
      if (!verdict.restart) return void this.#end("FAILED", verdict.error);
      this.#log(`[ardea] master: ${why}; restarting it (${s.restarts}/${this.#policy.maxRestarts})`);
      s.finished = false;
    }
    s.lostAt = this.#clock.now();
    if (hasStarted(p)) this.#say({ type: "lost", container: i });
    this.#start(i);
  }

  #onEvent(e: ContainerEvent): void {
    const s = this.#slots.at(e.container);
    // A container of another run (left over from an earlier submission of this name) is not ours.
    if (s === undefined || e.epoch !== this.#epoch) return;
    switch (e.type) {
      case "ready":
        return this.#ready(e);
      case "heartbeat":
        s.heartbeatAt = this.#clock.now();
        s.pid = e.pid;
        s.host = e.host;
        s.stats = e.stats;
        return;
      case "finished":
        s.finished = true;
        if (this.#slots.allFinished()) void this.#finish();
        return;
      case "saved":
        return this.#checkpoints?.saved(e.container, e.id, e.tasks);
      case "rollback":
        return this.#rollback(`container ${e.container}: ${e.error}`);
      case "failed":
        return void this.#end("FAILED", `container ${e.container}: ${e.error}`);
    }
  }

  #ready(e: Extract<ContainerEvent, { type: "ready" }>): void {
    if (e.wire !== WIRE_VERSION) return void this.#end("FAILED", wireMismatch(e));
    const s = this.#slots.at(e.container)!;
    s.ready = true;
    // A container without tasks (a plan with more containers than tasks) has nothing to finish.
    if (tasksOf(this.#rec, e.container).length === 0) s.finished = true;
    s.pid = e.pid;
    s.host = e.host;
    s.heartbeatAt = this.#clock.now();
    this.#writeContainer(e.container);
    const p = this.#phase;
    if (hasStarted(p) && s.lostAt > 0) {
      this.#say({ type: "rejoin", container: e.container });
      this.#log(
        `[ardea] master: container ${e.container} rejoined ${this.#clock.now() - s.lostAt} ms after it was lost`,
      );
      s.lostAt = 0;
    }
    // Processes being stopped get no start.
    if (p.kind === "stopping" || p.kind === "relaunching" || isOver(p)) return;
    if (!this.#slots.allReady() && !hasStarted(p)) return;
    this.#say({ type: "start" });
    // A topology paused by the user stays paused across restarts and relaunches.
    if (wantsPaused(p)) this.#say({ type: "deactivate" });
    if (!hasStarted(p)) this.#runStarts(p);
    // The others may have finished while this (empty) one restarted.
    if (this.#slots.allFinished()) void this.#finish();
  }

  /** Every container of the generation was told to start. */
  #runStarts(p: Phase): void {
    const paused = wantsPaused(p) ?? false;
    // Gives way to a final state, should the run end first.
    void this.#writer.state(paused ? "PAUSED" : "RUNNING", undefined, () => isOver(this.#phase));
    if (p.kind === "draining" || p.kind === "killing") return this.#enter({ ...p, started: true });
    if (p.kind !== "starting") return;
    this.#enter(paused ? { kind: "paused" } : { kind: "running" });
    if (p.after.update) void this.#update();
  }

  #watch(): void {
    if (!this.#connected) return;
    const now = this.#clock.now();
    const started = hasStarted(this.#phase);
    for (const [i, s] of this.#slots.entries()) {
      if (s.child === null) continue;
      if (started && !s.finished && now - s.heartbeatAt > this.#silenceMs) {
        this.#log(`[ardea] master: container ${i} silent for ${now - s.heartbeatAt} ms; killing it`);
        s.heartbeatAt = now;
        s.child.kill("SIGKILL");
      } else if (s.ready) this.#writeContainer(i);
    }
  }

  /**
   * Silence is measured only while the master itself is connected: its own
   * outage is no container's fault, and the clocks start again when it is
   * back. EFFECTIVELY_ONCE: events sent while the master was away (saved,
   * finished, ready) are lost: start over from the checkpoint.
   */
  #onConnection(up: boolean): void {
    this.#connected = up;
    if (!up) return;
    this.#slots.forgiveSilence(this.#clock.now());
    if (this.#checkpoints !== null) {
      this.#rollback(`the master's NATS connection to ${this.#o.bus.server()} was re-established`);
    }
  }

  #writeContainer(i: number): void {
    this.#writer.container(this.#slots.record(i, this.#rec));
  }

  // ------------------------------------------------------------ steering

  #onControl(m: ControlMessage): void {
    switch (m.type) {
      case "kill":
        return this.#kill();
      case "update":
        return void this.#update();
      case "restart":
        for (const [i, s] of this.#slots.entries()) {
          if ((m.container === undefined || m.container === i) && s.child !== null) {
            s.requested = true;
            s.child.kill("SIGTERM");
          }
        }
        return;
      case "deactivate":
        return this.#steer(true);
      case "activate":
        return this.#steer(false);
    }
  }

  /** `ardea deactivate` (`paused`) or `ardea activate`: remembered across relaunches, and recorded. */
  #steer(paused: boolean): void {
    const p = this.#phase;
    switch (p.kind) {
      case "running":
      case "paused":
        this.#enter({ kind: paused ? "paused" : "running" });
        break;
      case "finishing":
        this.#enter({ ...p, paused });
        break;
      case "starting":
        // Not yet started: an activate has nothing to undo.
        if (!paused) return;
        this.#enter({ ...p, after: { ...p.after, paused } });
        break;
      case "draining":
      case "stopping":
        // An update's own drain: a deactivate adds nothing; an activate applies once the update has started again.
        if (paused || (p.kind === "draining" ? !p.started : p.then !== "relaunch")) return;
        this.#enter({ ...p, after: { ...p.after, paused } });
        break;
      default:
        return;
    }
    void this.#writer.paused(paused, () => wantsPaused(this.#phase) === paused);
  }

  #kill(): void {
    const p = this.#phase;
    if (isOver(p) || p.kind === "killing") return;
    this.#enter({ kind: "killing", started: hasStarted(p) });
    this.#maybeKilled();
  }

  /** Killing: KILLED once every container is gone. */
  #maybeKilled(): void {
    if (this.#phase.kind === "killing") this.#endIfAllGone();
  }

  /** Every process gone: the run ends, KILLED when killing, FINISHED when every container finished, else FAILED. */
  #endIfAllGone(): void {
    if (this.#slots.anyAlive()) return;
    const p = this.#phase;
    if (!isOver(p)) void this.#end(p.kind === "killing" ? "KILLED" : this.#slots.allFinished() ? "FINISHED" : "FAILED");
  }

  // ------------------------------------------------------------ update and rollback

  /** `ardea update`: drain, stop every container, start them on the record's new plan. */
  async #update(): Promise<void> {
    const p = this.#phase;
    if (isOver(p) || p.kind === "killing" || p.kind === "finishing") return;
    if (isRelaunching(p)) {
      // A rollback or another update is under way: this one follows once the topology runs again.
      if (!p.after.update) {
        this.#log(`[ardea] master: "${this.#rec.name}": the update waits for the relaunch under way`);
      }
      this.#enter({ ...p, after: { ...p.after, update: true } });
      return;
    }
    this.#enter({
      kind: "draining",
      after: { paused: wantsPaused(p) ?? false, update: false },
      started: hasStarted(p),
    });
    this.#log(
      `[ardea] master: updating "${this.#rec.name}": draining, then restarting every container on the new plan`,
    );
    this.#say({ type: "deactivate" });
    const until = this.#clock.now() + DRAIN_MS;
    const draining = () => this.#phase.kind === "draining";
    while (draining() && this.#clock.now() < until && this.#slots.anyPending()) await sleep(this.#clock, 100);
    // EFFECTIVELY_ONCE: a fresh checkpoint of the drained topology, so the new
    // plan starts from it (keyed state repartitioned) with nothing to replay.
    const ck = this.#checkpoints;
    const q = this.#phase;
    if (ck !== null && q.kind === "draining" && q.started) await ck.checkpointNow(until, "the update");
    const fresh = draining() ? await this.#o.records.getTopology(this.#rec.name).catch(() => undefined) : undefined;
    const r = this.#phase;
    if (r.kind !== "draining") return;
    if (fresh) this.#rec = fresh;
    ck?.abandon();
    this.#enter({ kind: "stopping", after: r.after, then: "relaunch" });
    this.#stopAll();
    this.#stoppedOne();
  }

  /** Stopping: once every process is gone, the next step. */
  #stoppedOne(): void {
    const p = this.#phase;
    if (p.kind !== "stopping" || this.#slots.anyAlive()) return;
    if (p.then === "relaunch") void this.#relaunch(p.after);
    else this.#startGeneration(p.after, null);
  }

  /**
   * Every process is gone (an update): records the next generation, then
   * starts its containers. Still relaunching until every container is
   * started again: a rollback asked for meanwhile (the write of the
   * generation may take seconds) must not start a second set of containers
   * over the first.
   */
  async #relaunch(after: After): Promise<void> {
    this.#enter({ kind: "relaunching", after, inPlace: false });
    await this.#nextGeneration();
    const p = this.#phase;
    if (p.kind !== "relaunching") return this.#maybeKilled();
    this.#startGeneration(p.after, null);
  }

  /** EFFECTIVELY_ONCE failure: every container restarts from the last committed checkpoint. */
  #rollback(why: string, counted = true): void {
    const p = this.#phase;
    if (isOver(p) || isRelaunching(p) || p.kind === "killing") return;
    const error = this.#policy.rollback(why, counted);
    if (error !== null) return void this.#end("FAILED", error);
    this.#log(
      `[ardea] master: "${this.#rec.name}": ${why}; every container rolls back to the last committed checkpoint`,
    );
    this.#checkpoints?.abandon();
    void this.#rollbackInPlace(this.#afterOf(p));
  }

  /**
   * The next generation, in place: live containers reset their tasks from
   * the checkpoint without exiting (`rollback` on ctl, said again until
   * each is ready); only a container whose process is gone is started
   * again. One that stays unready is killed, and its death rolls back again.
   */
  async #rollbackInPlace(after: After): Promise<void> {
    this.#enter({ kind: "relaunching", after, inPlace: true });
    const plan = planOf(this.#rec);
    await this.#nextGeneration();
    const p = this.#phase;
    if (p.kind !== "relaunching") return this.#maybeKilled();
    if (planOf(this.#rec) !== plan) {
      // The generation also started a plan `ardea update` asked for: new processes run it.
      this.#log(
        `[ardea] master: "${this.#rec.name}": generation ${this.#rec.generation} runs a new plan; restarting every container`,
      );
      this.#enter({ kind: "stopping", after: p.after, then: "start" });
      this.#stopAll();
      return this.#stoppedOne();
    }
    const generation = this.#rec.generation ?? 0;
    const rollback = { generation, restoreFrom: this.#rec.restoreFrom ?? 0, since: this.#clock.now() };
    this.#slots.resetForRollback();
    this.#startGeneration(p.after, rollback);
    this.#announceRollback(rollback);
  }

  /**
   * Says `rollback` every 250 ms for 2 s (a container reconnecting after a
   * NATS restart may miss the first), then every 2 s, until every container
   * is ready or another phase came; kills the laggards after 30 s.
   */
  #announceRollback(r: NonNullable<PhaseOf<"starting">["rollback"]>): void {
    const say: ControlMessage = { type: "rollback", generation: r.generation, restoreFrom: r.restoreFrom };
    this.#say(say);
    let ticks = 0;
    const again = this.#every(ROLLBACK_TICK_MS, () => {
      const p = this.#phase;
      const current = p.kind === "starting" && p.rollback?.generation === r.generation;
      if (!current || this.#slots.allReady()) return this.#clear(again);
      if (!sayRollbackAgain(++ticks)) return;
      if (this.#clock.now() - r.since > ROLLBACK_READY_MS) {
        this.#clear(again);
        for (const [i, s] of this.#slots.entries()) {
          if (s.ready || s.child === null) continue;
          this.#log(`[ardea] master: container ${i} did not reset within ${ROLLBACK_READY_MS / 1000} s; killing it`);
          s.child.kill("SIGKILL");
        }
        return;
      }
      this.#say(say);
    });
  }

  /**
   * Stops every container: SIGTERM, then SIGKILL for one that is still there
   * after 10 s. Only the processes stopped now: by then their slots may hold
   * the next incarnation, which must live.
   */
  #stopAll(): void {
    const stopping = this.#slots.processes();
    for (const c of stopping) c.kill("SIGTERM");
    this.#timeout(KILL_GRACE_MS, () => {
      for (const c of stopping) if (this.#slots.holds(c)) c.kill("SIGKILL");
    });
  }

  /**
   * A new generation of the run, recorded before any container starts (they
   * read it): frames and events of the stopped processes no longer count.
   * If the record cannot be written, the generation stays (every container
   * still agrees on the epoch).
   */
  async #nextGeneration(): Promise<void> {
    const restoreFrom = this.#checkpoints === null ? undefined : await this.#checkpoints.restorePoint();
    const next = await this.#writer.generation((this.#rec.generation ?? 0) + 1, restoreFrom, () => isOver(this.#phase));
    if (next !== undefined) this.#adopt(next);
  }

  #adopt(rec: TopologyRecord): void {
    this.#rec = rec;
    this.#epoch = runEpoch(rec.submittedAt, rec.generation);
  }

  // ------------------------------------------------------------ the end

  /**
   * Every container finished: EFFECTIVELY_ONCE first commits one last
   * checkpoint of the final states (its `committed` reaches the containers
   * before `stop`, so two-phase sinks publish what came after the previous
   * one), then the run ends FINISHED.
   */
  async #finish(): Promise<void> {
    const p = this.#phase;
    if (isOver(p) || p.kind === "finishing" || p.kind === "relaunching") return;
    const ck = this.#checkpoints;
    if (ck === null) return void this.#end("FINISHED");
    // Killing: the containers drain and exit, the run ends KILLED. An update
    // under way goes on: its generation restores the final states and finishes in turn.
    if (p.kind === "killing" || p.kind === "draining" || p.kind === "stopping") return;
    this.#enter({ kind: "finishing", paused: wantsPaused(p) ?? false });
    await ck.checkpointNow(this.#clock.now() + FINAL_CHECKPOINT_MS, "the end of the run");
    await ck.committing();
    // A rollback meanwhile (a container died) starts the run again: it finishes later.
    if (this.#phase.kind === "finishing") void this.#end("FINISHED");
  }

  async #end(state: Terminal, error?: string): Promise<void> {
    if (isOver(this.#phase)) return;
    this.#enter({ kind: "ending", state });
    this.#checkpoints?.close();
    if (error) this.#log(`[ardea] topology "${this.#rec.name}" ${state}: ${error}`);
    const stop: ControlMessage = { type: "stop", state };
    this.#say(stop);
    // Recorded while the containers stop: with NATS away it may take until NATS is back.
    const recorded = this.#writer.state(state, error, () => false);
    // `stop` may be lost (a NATS server restart): say it again until every container is gone.
    const again = this.#every(STOP_AGAIN_MS, () => this.#say(stop));
    const grace = this.#timeout(KILL_GRACE_MS, () => {
      for (const c of this.#slots.processes()) c.kill("SIGKILL");
    });
    await Promise.allSettled(this.#slots.processes().map((c) => c.exited));
    this.#clear(grace);
    this.#clear(again);
    this.#close();
    await recorded;
    this.#enter({ kind: "ended", state });
    this.#resolve(state);
  }

  /** Stops listening and every timer. */
  #close(): void {
    for (const stop of this.#stops.splice(0)) stop();
    for (const t of this.#timers) this.#clock.clear(t);
    this.#timers.clear();
  }

  // ------------------------------------------------------------ plumbing

  #say(m: ControlMessage): void {
    this.#o.bus.say(m);
  }

  #every(ms: number, fn: () => void): Timer {
    const t = this.#clock.setInterval(fn, ms);
    this.#timers.add(t);
    return t;
  }

  #timeout(ms: number, fn: () => void): Timer {
    const t = this.#clock.setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #clear(t: Timer): void {
    this.#clock.clear(t);
    this.#timers.delete(t);
  }
}

/** The running plan of `rec`, comparable as a string. */
function planOf(rec: TopologyRecord): string {
  return JSON.stringify([rec.packing, rec.components, rec.parallelism]);
}
