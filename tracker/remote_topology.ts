/**
 * One distributed topology as the tracker shows it (a {@link TrackedTopology}):
 * its record, its counters merged from the containers' reports
 * (remote_stats.ts), the logical plan the record keeps, the physical plan
 * (containers → tasks, host, pid, state), exceptions with their stacks and
 * backpressure episodes; activate, deactivate and kill go through the
 * control client the CLI uses (cluster/control_client.ts).
 *
 * @module
 */
import type { ControlClient } from "../cluster/control_client.ts";
import { isLaterError } from "../metrics/aggregate.ts";
import {
  type BackpressureEpisode,
  BackpressureLog,
  type ContainerInfo,
  type ExceptionInfo,
  type PlacedTask,
} from "../metrics/physical.ts";
import type { LogicalPlan } from "../metrics/plan.ts";
import type { StatsSnapshot } from "../metrics/snapshot.ts";
import {
  type ContainerMetrics,
  type ContainerRecord,
  isTerminal,
  runEpoch,
  type TopologyRecord,
  type TopologyState,
} from "../transport/wire/mod.ts";
import { containerRecordsSnapshot, ContainerReports } from "./remote_stats.ts";
import type { TrackedTopology } from "./tracker.ts";

/** What a {@link RemoteTopology} needs of the tracking that found it: the control client of its cluster. */
export interface RemoteOwner {
  control(): Promise<ControlClient>;
}

/** How long a tracker's kill waits for a live master to record the end (s). */
const KILL_TIMEOUT_SECS = 15;
/** How long a tracker's kill waits, with no live master, before marking the record KILLED (s). */
const KILL_ORPHAN_SECS = 1;

/**
 * One distributed topology as the tracker sees it.
 *
 * @example
 * ```ts
 * import { decodeMetrics, type TopologyRecord } from "../transport/wire/mod.ts";
 * declare const record: TopologyRecord;
 * declare const remoteTracking: RemoteOwner;
 * declare const msg: { data: Uint8Array };
 * const t = new RemoteTopology(record, remoteTracking, 5000);
 * t.report(decodeMetrics(msg.data));
 * t.stats().acked;
 * ```
 */
export class RemoteTopology implements TrackedTopology {
  readonly mode = "distributed" as const;
  record: TopologyRecord;
  containerRecords: ContainerRecord[] = [];
  containersRead = false;
  /** When this tracker last steered it (a list read before that may be stale). */
  steeredAt = -Infinity;
  readonly #owner: RemoteOwner;
  readonly #silentMs: number;
  readonly #reports = new ContainerReports();
  readonly #pressure = new BackpressureLog();

  constructor(record: TopologyRecord, owner: RemoteOwner, silentMs: number) {
    this.record = record;
    this.#owner = owner;
    this.#silentMs = silentMs;
  }

  get name(): string {
    return this.record.name;
  }

  /** The epoch of the run's current generation (it changes when the master relaunches every container). */
  get epoch(): number {
    return runEpoch(this.record.submittedAt, this.record.generation);
  }

  get state(): TopologyState {
    return this.record.state;
  }

  get config(): Readonly<Record<string, unknown>> {
    return this.record.config;
  }

  /** A container's report (its epoch already checked). */
  report(m: ContainerMetrics): void {
    if (!this.#reports.add(m)) return;
    // Not held back at all: its own episode is over too (in case its `bp` off was missed).
    if (!m.backpressure) this.#pressure.off(m.container, Date.now());
  }

  /** A `bp` message of container `container`. */
  pressure(container: number, on: boolean, component: string, leaseMs: number): void {
    const now = Date.now();
    if (on) this.#pressure.on(container, component, now, leaseMs);
    else this.#pressure.off(container, now);
  }

  #kindOf(component: string): "spout" | "bolt" | null {
    const c = this.record.plan?.components.find((x) => x.id === component);
    return c !== undefined ? c.kind : this.#reports.kindOf(component);
  }

  /**
   * The counters of every container summed per component and task. When no
   * container has reported to this tracker (it started after the run
   * ended): the coarse counters of the containers' last heartbeats, kept in
   * their records ({@link containerRecordsSnapshot}).
   */
  stats(): StatsSnapshot {
    if (this.#reports.size === 0 && this.containerRecords.some((c) => c.stats !== undefined)) {
      return containerRecordsSnapshot(this.record, this.containerRecords, (id) => this.#kindOf(id));
    }
    return this.#reports.merged({
      name: this.name,
      state: this.state,
      components: this.record.components,
      kindOf: (id) => this.#kindOf(id),
      backpressure: this.#pressure.active,
      backpressureEpisodes: this.#pressure.episodes(Date.now()).length,
    });
  }

  /** Counters per container (Prometheus' `container` label). */
  containerStats(): Array<{ container: string; stats: StatsSnapshot }> {
    return this.#reports.sorted().map(([i, r]) => ({
      container: String(i),
      stats: this.#reports.snapshot(this.name, r),
    }));
  }

  /** The logical plan the record keeps, with the record's current tasks. */
  plan(): LogicalPlan | null {
    const rec = this.record;
    if (rec.plan === undefined) {
      const components = Object.entries(rec.components).sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, tasks]) => ({
        id,
        kind: this.#kindOf(id) ?? "bolt",
        parallelism: tasks.length,
        tasks: [...tasks],
        config: {},
        streams: [],
        inputs: [],
      }));
      return {
        spouts: components.filter((c) => c.kind === "spout").map((c) => c.id),
        bolts: components.filter((c) => c.kind === "bolt").map((c) => c.id),
        components,
        edges: [],
        taskCount: Object.keys(rec.packing).length,
      };
    }
    const components = rec.plan.components.map((c) => {
      const tasks = rec.components[c.id] ?? c.tasks;
      return { ...c, parallelism: tasks.length, tasks: [...tasks] };
    });
    return { ...rec.plan, components, taskCount: Object.keys(rec.packing).length } as LogicalPlan;
  }

  /** The physical plan: each container of the record, its tasks, and what it reported last. */
  containers(): ContainerInfo[] {
    const rec = this.record;
    const now = Date.now();
    const componentOf = new Map<number, string>();
    for (const [c, ids] of Object.entries(rec.components)) for (const id of ids) componentOf.set(id, c);
    const out: ContainerInfo[] = [];
    for (let i = 0; i < rec.containers; i++) {
      const kv = this.containerRecords.find((c) => c.container === i);
      const r = this.#reports.get(i);
      const m = r?.m;
      const tasks: PlacedTask[] = Object.entries(rec.packing)
        .filter(([, c]) => c === i)
        .map(([t]) => Number(t))
        .sort((a, b) => a - b)
        .map((id) => {
          const component = componentOf.get(id) ?? m?.tasks[String(id)]?.component ?? "";
          return { id, component, kind: this.#kindOf(component) };
        });
      const lastAt = Math.max(r?.at ?? 0, kv?.heartbeatAt ?? 0);
      let state: string;
      if (isTerminal(rec.state)) state = m !== undefined && isTerminal(m.state) ? m.state : rec.state;
      else if (lastAt === 0) state = "STARTING";
      else if (now - lastAt > this.#silentMs) state = "SILENT";
      else state = m?.state ?? "RUNNING";
      const mailboxes: Record<string, number> = {};
      for (const [id, t] of Object.entries(m?.tasks ?? {})) if (t.kind === "bolt") mailboxes[id] = t.queued;
      out.push({
        id: i,
        host: m?.host ?? kv?.host ?? "",
        pid: m?.pid ?? kv?.pid ?? 0,
        state,
        startedAt: kv?.startedAt ?? (m !== undefined ? Math.round(m.ts - m.uptimeMs) : null),
        reportAgeMs: lastAt === 0 ? null : Math.max(0, now - lastAt),
        restarts: kv?.restarts ?? 0,
        tasks,
        backpressure: m?.backpressure ?? false,
        backpressureBy: m?.backpressureBy ?? "",
        backpressureMs: m?.backpressureMs ?? 0,
        mailboxes,
        dropped: m?.dropped ?? 0,
        framesIn: m?.framesIn ?? 0,
        framesOut: m?.framesOut ?? 0,
        bytesIn: m?.bytesIn ?? 0,
        bytesOut: m?.bytesOut ?? 0,
      });
    }
    return out;
  }

  /** Per component: errors over every container, and the latest one with its stack and container. */
  exceptions(): ExceptionInfo[] {
    const out = new Map<string, ExceptionInfo>();
    for (const name of Object.keys(this.record.components)) {
      out.set(name, {
        component: name,
        count: 0,
        restarts: 0,
        lastError: null,
        lastErrorAt: null,
        stack: null,
        container: null,
      });
    }
    for (const [i, r] of this.#reports.sorted()) {
      const counted = this.#reports.snapshot(this.name, r).components;
      for (const [name, c] of Object.entries(r.m.components)) {
        const x = out.get(name) ??
          { component: name, count: 0, restarts: 0, lastError: null, lastErrorAt: null, stack: null, container: null };
        out.set(name, x);
        x.count += counted[name]?.errors ?? c.errors;
        x.restarts += counted[name]?.restarts ?? c.restarts;
        if (isLaterError(c, x)) {
          x.lastError = c.lastError;
          x.lastErrorAt = c.lastErrorAt ?? null;
          x.stack = c.lastErrorStack ?? null;
          x.container = i;
        }
      }
    }
    return [...out.values()].sort((a, b) => (a.component < b.component ? -1 : 1));
  }

  /** Backpressure episodes from the containers' `bp` announcements. */
  backpressureHistory(): BackpressureEpisode[] {
    return this.#pressure.episodes();
  }

  /** Resumes the spouts (the record goes RUNNING). */
  activate(): Promise<void> {
    return this.#steer("activate");
  }

  /** Holds the spouts (the record goes PAUSED). */
  deactivate(): Promise<void> {
    return this.#steer("deactivate");
  }

  async #steer(action: "activate" | "deactivate"): Promise<void> {
    const control = await this.#owner.control();
    this.steeredAt = performance.now();
    this.record = await control.steer(this.name, action);
  }

  /**
   * Kills it as `ardea kill --wait-secs 0` does: publishes `kill`, waits for
   * the master to mark the record (at most 15 s); with no live master,
   * marks it KILLED itself after a second.
   */
  async kill(): Promise<void> {
    const control = await this.#owner.control();
    this.record =
      (await control.kill(this.name, { timeoutSecs: KILL_TIMEOUT_SECS, orphanSecs: KILL_ORPHAN_SECS })).record;
  }
}
