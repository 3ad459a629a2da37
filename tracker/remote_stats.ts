/**
 * A distributed topology's counters from what its containers report: the
 * latest {@link ContainerMetrics} of each container, the counts of its
 * earlier processes carried over (a restarted process counts from 0 again),
 * and the sum over containers through the one aggregator of metrics/
 * (metrics/aggregate.ts): counters summed per component and task, latency
 * percentiles merged exactly from the containers' window histograms, run
 * totals and user metrics summed. Before any report reaches a tracker (it
 * started after the run ended), {@link containerRecordsSnapshot} gives the
 * coarse counters the containers' records keep from their last heartbeat.
 *
 * @module
 */
import { LatencyHistogram } from "../metrics/latency.ts";
import {
  ComponentAggregator,
  isLaterError,
  mergeWindows,
  topologySnapshot,
  type WindowPart,
  withoutBuckets,
} from "../metrics/aggregate.ts";
import {
  type ComponentSnapshot,
  emptyComponentSnapshot,
  emptyStatsSnapshot,
  type StatsSnapshot,
  type TaskSnapshot,
} from "../metrics/snapshot.ts";
import type { UserMetricsSnapshot } from "../metrics/task_metrics.ts";
import {
  type ContainerMetrics,
  type ContainerRecord,
  isRunning,
  type TopologyRecord,
  type TopologyState,
} from "../transport/wire/mod.ts";

/** Task counters that only grow, carried over when a container's process is replaced. */
const TASK_COUNTERS = [
  "emitted",
  "executed",
  "acked",
  "failed",
  "timedOut",
  "restarts",
  "errors",
  "nextTupleCount",
] as const;
type TaskCounters = Record<(typeof TASK_COUNTERS)[number], number>;

/** The latest report of one container, and what earlier processes of it counted. */
export interface Reported {
  m: ContainerMetrics;
  /** Local time it arrived. */
  at: number;
  /** Counters of earlier processes of this container (restarts), per task. */
  retired: Map<string, TaskCounters>;
  /** User counters of earlier processes of this container, per task. */
  retiredUser: Map<string, Record<string, number>>;
}

/** A component of the distributed view before any container adds to it. */
function zeroComponent(kind: "spout" | "bolt"): ComponentSnapshot & { lastErrorAt: number | null } {
  return { ...emptyComponentSnapshot(kind), executeLatency: null, completeLatency: null };
}

/** The user counters of `component`'s tasks in a container's earlier processes, summed (null: none). */
function retiredCounters(r: Reported, component: string): Record<string, number> | null {
  let out: Record<string, number> | null = null;
  for (const [id, counters] of r.retiredUser) {
    if (r.m.tasks[id]?.component !== component) continue;
    out ??= {};
    for (const [k, v] of Object.entries(counters)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

/** What {@link ContainerReports.merged} reads of the topology besides the reports. */
export interface MergeContext {
  name: string;
  state: TopologyState;
  /** Component → task ids (the record's current plan). */
  components: Readonly<Record<string, readonly number[]>>;
  kindOf(component: string): "spout" | "bolt" | null;
  /** Whether a container's `bp` lease holds the spouts back now, and the episodes so far. */
  backpressure: boolean;
  backpressureEpisodes: number;
}

/**
 * The latest report of each container of one run, with the counts of the
 * processes each replaced.
 *
 * @example
 * ```ts
 * import { decodeMetrics } from "../transport/wire/mod.ts";
 * declare const msg: { data: Uint8Array };
 * const reports = new ContainerReports();
 * reports.add(decodeMetrics(msg.data));
 * const kindOf = (c: string): "spout" | "bolt" => (c === "spout" ? "spout" : "bolt");
 * reports.merged({ name: "wc", state: "RUNNING", components: { spout: [1], split: [2] }, kindOf, backpressure: false, backpressureEpisodes: 0 }).acked;
 * ```
 */
export class ContainerReports {
  readonly #reports = new Map<number, Reported>();

  /** How many containers have reported. */
  get size(): number {
    return this.#reports.size;
  }

  /** The latest report of container `i`. */
  get(i: number): Reported | undefined {
    return this.#reports.get(i);
  }

  /** Every container's latest report, by container index. */
  sorted(): Array<[number, Reported]> {
    return [...this.#reports].sort((a, b) => a[0] - b[0]);
  }

  /** The kind of `component` as some container reported it, or null. */
  kindOf(component: string): "spout" | "bolt" | null {
    for (const r of this.#reports.values()) {
      const k = r.m.components[component]?.kind;
      if (k !== undefined) return k;
    }
    return null;
  }

  /** Takes a container's report (its epoch already checked); false when it is older than the one kept. */
  add(m: ContainerMetrics): boolean {
    const prev = this.#reports.get(m.container);
    if (prev !== undefined && m.ts < prev.m.ts && m.pid === prev.m.pid) return false; // out of order
    const retired = prev?.retired ?? new Map<string, TaskCounters>();
    const retiredUser = prev?.retiredUser ?? new Map<string, Record<string, number>>();
    if (
      prev !== undefined && (prev.m.pid !== m.pid || prev.m.epoch !== m.epoch || m.uptimeMs < prev.m.uptimeMs - 1000)
    ) {
      // A new process of this container, or a new generation in the same
      // process (an in-place rollback): its counters start again from 0.
      for (const [id, t] of Object.entries(prev.m.tasks)) {
        const r = retired.get(id) ??
          { emitted: 0, executed: 0, acked: 0, failed: 0, timedOut: 0, restarts: 0, errors: 0, nextTupleCount: 0 };
        for (const f of TASK_COUNTERS) r[f] += t[f] ?? 0;
        retired.set(id, r);
        const counters = t.userMetrics?.counters;
        if (counters !== undefined) {
          const u = retiredUser.get(id) ?? {};
          for (const [k, v] of Object.entries(counters)) u[k] = (u[k] ?? 0) + v;
          retiredUser.set(id, u);
        }
      }
    }
    this.#reports.set(m.container, { m, at: Date.now(), retired, retiredUser });
    return true;
  }

  /** Counters of one container (its retired processes included), as a snapshot of topology `name`. */
  snapshot(name: string, r: Reported): StatsSnapshot {
    const m = r.m;
    const tasks: Record<string, TaskSnapshot> = {};
    const components: Record<string, ComponentSnapshot> = {};
    for (const [id, c] of Object.entries(m.components)) {
      const x: ComponentSnapshot = { ...c };
      delete x.latencyBuckets;
      if (x.userMetrics !== undefined) x.userMetrics = withoutBuckets(x.userMetrics);
      components[id] = x;
    }
    for (const [id, t] of Object.entries(m.tasks)) {
      const x: TaskSnapshot = { ...t };
      const old = r.retired.get(id);
      if (old !== undefined) {
        const add = (into: Partial<TaskCounters>) => {
          for (const f of TASK_COUNTERS) if (into[f] !== undefined || old[f] !== 0) into[f] = (into[f] ?? 0) + old[f];
        };
        add(x);
        const c = components[x.component];
        if (c !== undefined) add(c);
      }
      const oldUser = r.retiredUser.get(id);
      if (oldUser !== undefined) {
        // User counters count on across processes too (gauges, histograms and meters are the new process's).
        const add = (into: { userMetrics?: UserMetricsSnapshot }) => {
          const um = into.userMetrics = { ...into.userMetrics };
          const counters = um.counters = { ...um.counters };
          for (const [k, v] of Object.entries(oldUser)) counters[k] = (counters[k] ?? 0) + v;
        };
        add(x);
        const c = components[x.component];
        if (c !== undefined) add(c);
      }
      tasks[id] = x;
    }
    return topologySnapshot(name, m.state, components, tasks, {
      uptimeMs: m.uptimeMs,
      backpressure: m.backpressure,
      backpressureEpisodes: m.backpressureEpisodes,
      backpressureMs: m.backpressureMs,
    });
  }

  /**
   * The counters of every container summed per component and task; every
   * task of the plan is there (zeros until its container reports).
   */
  merged(o: MergeContext): StatsSnapshot {
    const reports = [...this.#reports.values()];
    const perContainer = reports.map((r) => this.snapshot(o.name, r));
    const agg = new ComponentAggregator();
    for (const id of Object.keys(o.components)) {
      const kind = o.kindOf(id);
      if (kind !== null) agg.component(id, () => zeroComponent(kind));
    }
    const tasks: Record<string, TaskSnapshot> = {};
    /** Per component: what each container's report holds of its windows (summaries with their buckets, user metrics). */
    const windows = new Map<string, WindowPart[]>();
    perContainer.forEach((cs, i) => {
      Object.assign(tasks, cs.tasks);
      const r = reports[i]!;
      for (const [name, c] of Object.entries(cs.components)) {
        agg.add(name, c, () => zeroComponent(c.kind));
        let parts = windows.get(name);
        if (parts === undefined) windows.set(name, parts = []);
        parts.push(r.m.components[name]!);
        // User counters of this container's earlier processes count on.
        const retired = retiredCounters(r, name);
        if (retired !== null) parts.push({ userMetrics: { counters: retired } });
      }
    });
    const components = agg.finish();
    const scratch = new LatencyHistogram();
    for (const [name, parts] of windows) mergeWindows(components[name]!, parts, scratch);
    for (const [component, ids] of Object.entries(o.components)) {
      const kind = o.kindOf(component) ?? "bolt";
      for (const id of ids) {
        tasks[String(id)] ??= {
          component,
          kind,
          emitted: 0,
          executed: 0,
          acked: 0,
          failed: 0,
          timedOut: 0,
          queued: 0,
          restarts: 0,
          errors: 0,
          capacity: 0,
        };
      }
    }
    return topologySnapshot(o.name, o.state, components, tasks, {
      uptimeMs: Math.max(0, ...perContainer.map((c) => c.uptimeMs)),
      backpressure: perContainer.some((c) => c.backpressure) || o.backpressure,
      backpressureEpisodes: o.backpressureEpisodes,
      backpressureMs: Math.max(0, ...perContainer.map((c) => c.backpressureMs)),
    });
  }
}

const TUPLE_COUNTERS = ["emitted", "executed", "acked", "failed", "timedOut", "pending", "restarts"] as const;

/**
 * A topology's counters from the coarse counters of its containers' last
 * heartbeats, as their records keep them: totals, errors per component and,
 * while it runs (RUNNING or PAUSED), backpressure and stuck tasks. Without
 * `kindOf`, a component's kind comes from the record's logical plan.
 *
 * @example
 * ```ts
 * import type { Records } from "../cluster/records.ts";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const records: Records;
 * declare const record: TopologyRecord;
 * const s = containerRecordsSnapshot(record, await records.listContainers(record.name));
 * s.acked;
 * ```
 */
export function containerRecordsSnapshot(
  record: TopologyRecord,
  containers: Iterable<ContainerRecord>,
  kindOf: (component: string) => "spout" | "bolt" | null = (id) =>
    record.plan?.components.find((x) => x.id === id)?.kind ?? null,
): StatsSnapshot {
  const s = emptyStatsSnapshot(record.name, record.state);
  const running = isRunning(record.state);
  const components: Record<string, ComponentSnapshot & { lastErrorAt: number | null }> = {};
  for (const id of Object.keys(record.components)) {
    const kind = kindOf(id);
    if (kind !== null) components[id] = { ...zeroComponent(kind), tasks: record.components[id]!.length };
  }
  for (const c of containers) {
    const st = c.stats;
    if (st === undefined) continue;
    for (const k of TUPLE_COUNTERS) s[k] += st[k];
    s.uptimeMs = Math.max(s.uptimeMs, c.heartbeatAt - c.startedAt);
    if (running) s.backpressure ||= st.backpressure;
    for (const [name, e] of Object.entries(st.components ?? {})) {
      const x = components[name];
      if (x === undefined) continue;
      x.errors += e.errors;
      x.restarts += e.restarts;
      if (isLaterError(e, x)) {
        x.lastError = e.lastError;
        x.lastErrorAt = e.lastErrorAt;
      }
      if (running && (e.stuckTasks ?? 0) > 0) x.stuckTasks = (x.stuckTasks ?? 0) + e.stuckTasks!;
    }
  }
  s.components = components;
  return s;
}
