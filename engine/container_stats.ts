/**
 * A container's metrics: the sampled latency windows of each task, its user
 * metrics, each bolt task's capacity, and the snapshot of every counter
 * (`stats()`) that the CLI, the tracker and the metrics reports read.
 *
 * @module
 */
import type { BoltActor } from "../actors/bolt_actor.ts";
import type { Pressure } from "../actors/mailbox.ts";
import { SpoutActor } from "../actors/spout_actor.ts";
import type { TaskActor } from "../actors/task_actor.ts";
import { LatencyHistogram } from "../metrics/latency.ts";
import { DEFAULT_WINDOW_MS, SlidingLatency, totals } from "../metrics/sliding.ts";
import { ComponentAggregator, topologySnapshot } from "../metrics/aggregate.ts";
import { emptyComponentSnapshot, type StatsSnapshot, type TaskSnapshot } from "../metrics/snapshot.ts";
import { sumUserMetrics, TaskMetrics, type UserMetricsSnapshot } from "../metrics/task_metrics.ts";

/** Capacity covers at least this much wall time (ms) since its previous measurement. */
const CAPACITY_INTERVAL_MS = 1000;

/** A task's latency windows: execute and process (bolts) or complete (spouts). */
type Windows = { execute?: SlidingLatency; process?: SlidingLatency; complete?: SlidingLatency };

/** What a snapshot reads of the container besides the tasks. */
export interface StatsSource {
  readonly name: string;
  readonly state: StatsSnapshot["state"];
  readonly tasks: readonly TaskActor[];
  readonly bolts: readonly BoltActor[];
  readonly pressure: Pressure;
  /** When the run started and ended (performance clock; 0: not yet). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** The component whose mailbox holds backpressure up here ("" when none). */
  pressureSource(): string;
}

/**
 * The metrics of one container's tasks.
 *
 * @example
 * ```ts
 * import type { TaskActor } from "../actors/task_actor.ts";
 * declare const actor: TaskActor, container: StatsSource;
 * const m = new ContainerStats();
 * m.track(actor); // before the run: windows and user metrics of a task
 * const snapshot = m.snapshot(container);
 * ```
 */
export class ContainerStats {
  /** Sampled latencies per task over a sliding window. */
  readonly #latency = new Map<number, Windows>();
  /** Where a component's latency windows are merged for a snapshot. */
  readonly #scratch = new LatencyHistogram();
  /** User metrics per task (what its context registers). */
  readonly #userMetrics = new Map<number, TaskMetrics>();
  /** Capacity per bolt task, and the busy time and clock of its last measurement. */
  readonly #capacity: number[] = [];
  readonly #capBusy: number[] = [];
  #capAt = 0;
  readonly #lastErrorAt: number[] = [];

  /** The user metrics of task `task` (made before its actor: its context registers into them). */
  userMetrics(task: number): TaskMetrics {
    let m = this.#userMetrics.get(task);
    if (m === undefined) this.#userMetrics.set(task, m = new TaskMetrics({ startMs: performance.now() }));
    return m;
  }

  /** Gives a task actor its latency windows. */
  track(a: TaskActor): void {
    const startMs = performance.now();
    if (a instanceof SpoutActor) {
      const complete = new SlidingLatency({ startMs });
      this.#latency.set(a.taskId, { complete });
      a.completeLatency = complete.current;
      return;
    }
    const b = a as BoltActor;
    const l = { execute: new SlidingLatency({ startMs }), process: new SlidingLatency({ startMs }) };
    this.#latency.set(b.taskId, l);
    b.executeLatency = l.execute.current;
    b.processLatency = l.process.current;
  }

  /** Task `task` reported an error at `at` (epoch ms). */
  errorAt(task: number, at: number): void {
    this.#lastErrorAt[task] = at;
  }

  /**
   * Moves every latency window and user metric to `now` (cheap between
   * intervals). The actors record straight into each window's current
   * interval (one call less per sample), so they are pointed at the new one.
   */
  tick(tasks: readonly TaskActor[], now: number): void {
    for (const a of tasks) {
      const l = this.#latency.get(a.taskId);
      if (l === undefined) continue;
      if (a instanceof SpoutActor) {
        l.complete!.tick(now);
        a.completeLatency = l.complete!.current;
      } else {
        const b = a as BoltActor;
        l.execute!.tick(now);
        l.process!.tick(now);
        b.executeLatency = l.execute!.current;
        b.processLatency = l.process!.current;
      }
    }
    for (const m of this.#userMetrics.values()) if (!m.empty) m.tick(now);
  }

  /** Measures each bolt task's capacity when the last measurement is at least an interval old. */
  measureCapacity(bolts: readonly BoltActor[], now: number): void {
    if (this.#capAt === 0) {
      this.#capAt = now;
      for (const b of bolts) this.#capBusy[b.taskId] = b.busyMs;
      return;
    }
    const dt = now - this.#capAt;
    if (dt < CAPACITY_INTERVAL_MS) return;
    this.#capAt = now;
    for (const b of bolts) {
      const busy = b.busyMs;
      this.#capacity[b.taskId] = Math.min(1, Math.max(0, (busy - (this.#capBusy[b.taskId] ?? 0)) / dt));
      this.#capBusy[b.taskId] = busy;
    }
  }

  /**
   * A snapshot of every counter; with `buckets`, each component's recent
   * latency and user-histogram windows as buckets too (a metrics report).
   */
  snapshot(src: StatsSource, opts: { buckets?: boolean } = {}): StatsSnapshot {
    const agg = new ComponentAggregator();
    const tasks: Record<string, TaskSnapshot> = {};
    /** Per component: its tasks' latency windows and user metrics. */
    const parts = new Map<string, { latency: Windows[]; user: TaskMetrics[]; snaps: UserMetricsSnapshot[] }>();
    const now = performance.now();
    if (src.startedAt !== 0 && src.endedAt === 0) this.measureCapacity(src.bolts, now);
    this.tick(src.tasks, now);
    for (const a of src.tasks) {
      const isSpout = a instanceof SpoutActor;
      const kind = isSpout ? "spout" : "bolt";
      const p = parts.get(a.component) ?? { latency: [], user: [], snaps: [] };
      parts.set(a.component, p);
      const l = this.#latency.get(a.taskId);
      if (l !== undefined) p.latency.push(l);
      const t: TaskSnapshot = tasks[a.taskId] = {
        component: a.component,
        kind,
        emitted: a.emitted,
        executed: 0,
        acked: a.acked,
        failed: a.failed,
        timedOut: 0,
        queued: 0,
        restarts: a.restarts,
        errors: a.errors,
        capacity: 0,
        stuckMs: Math.round(a.stuckMs(now)),
      };
      if (l !== undefined) {
        // Whole-run totals cost two sums per window: cheap enough for every task.
        t.allTime = isSpout
          ? { completeLatency: l.complete!.total() }
          : { executeLatency: l.execute!.total(), processLatency: l.process!.total() };
      }
      const user = this.#userMetrics.get(a.taskId);
      const snap = user?.snapshot(now);
      if (snap !== undefined) {
        t.userMetrics = snap;
        p.user.push(user!);
        p.snaps.push(snap);
      }
      if (isSpout) {
        t.timedOut = a.timedOut;
        t.nextTupleCount = a.nextTupleCalls;
      } else {
        const b = a as BoltActor;
        t.executed = b.executed;
        t.queued = b.mailbox.size;
        t.capacity = this.#capacity[b.taskId] ?? 0;
      }
      agg.add(a.component, {
        kind,
        tasks: 1,
        emitted: t.emitted,
        executed: t.executed,
        acked: t.acked,
        failed: t.failed,
        timedOut: t.timedOut,
        pending: isSpout ? a.pending : 0,
        restarts: t.restarts,
        errors: t.errors,
        queued: t.queued,
        capacity: t.capacity,
        nextTupleCount: t.nextTupleCount,
        lastError: a.lastError,
        lastErrorAt: this.#lastErrorAt[a.taskId] ?? null,
        stuckTasks: t.stuckMs! > 0 ? 1 : 0,
      }, () => ({
        ...emptyComponentSnapshot(kind),
        ...(isSpout ? { nextTupleCount: 0, completeLatency: null } : { executeLatency: null, processLatency: null }),
      }), isSpout ? { sum: a.latencySum, n: a.completed } : { sum: 0, n: 0 });
    }
    const components = agg.finish();
    for (const [name, p] of parts) {
      const c = components[name]!;
      const windows = (pick: (l: Windows) => SlidingLatency | undefined) =>
        p.latency.map(pick).filter((w) => w !== undefined);
      const merged = (ws: SlidingLatency[]) => {
        const h = this.#scratch;
        h.reset();
        for (const w of ws) w.addWindowTo(h);
        return h.summary();
      };
      const bucketsOf = () => (opts.buckets ? this.#scratch.buckets() : undefined);
      if (c.kind === "bolt") {
        const execute = windows((l) => l.execute);
        const process = windows((l) => l.process);
        c.executeLatency = merged(execute);
        const executeBuckets = bucketsOf();
        c.processLatency = merged(process);
        if (opts.buckets) c.latencyBuckets = { executeLatency: executeBuckets, processLatency: bucketsOf() };
        c.allTime = { executeLatency: totals(execute), processLatency: totals(process) };
      } else {
        const complete = windows((l) => l.complete);
        c.completeLatency = merged(complete);
        if (opts.buckets) c.latencyBuckets = { completeLatency: bucketsOf() };
        c.allTime = { completeLatency: totals(complete) };
      }
      const user = sumUserMetrics(p.snaps, p.user, opts.buckets);
      if (user !== undefined) c.userMetrics = user;
    }
    return topologySnapshot(src.name, src.state, components, tasks, {
      uptimeMs: src.startedAt === 0 ? 0 : (src.endedAt || now) - src.startedAt,
      backpressure: src.pressure.active,
      backpressureEpisodes: src.pressure.episodes,
      backpressureMs: src.pressure.throttledMs(now),
      backpressureBy: src.pressureSource(),
      latencyWindowMs: DEFAULT_WINDOW_MS,
    });
  }
}
