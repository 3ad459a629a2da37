/**
 * The tracker's view of the topologies on a NATS cluster (`ardea ui --nats`):
 * lists them from the KV records (a topology submitted or deleted while it
 * runs shows up or goes away within a poll), reads what every container
 * publishes on its `metrics` subject and the `bp` messages on `ctl`, and
 * presents each topology as a metrics/ `TrackedTopology`: counters summed
 * per component, per task and per container (a component's latency
 * percentiles merged exactly from the containers' window histograms, its
 * run totals and user metrics summed), the logical plan the record
 * keeps, the physical plan (containers → tasks, host, pid, state),
 * exceptions with their stacks, backpressure episodes. Activate, deactivate
 * and kill send the same control messages as the CLI commands.
 *
 * Anything read from the network is checked at the boundary (transport/wire/); a
 * malformed message is dropped and counted, never thrown.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import { LatencyHistogram, type LatencySummary, type LatencyTotals, latencyTotals } from "../metrics/latency.ts";
import { BackpressureLog, type BackpressureEpisode, type ContainerInfo, type ExceptionInfo, type PlacedTask } from "../metrics/physical.ts";
import type { LogicalPlan } from "../metrics/plan.ts";
import { type AllTimeLatency, type ComponentSnapshot, emptyComponentSnapshot, emptyStatsSnapshot, type LatencyBuckets, type StatsSnapshot, type TaskSnapshot } from "../metrics/snapshot.ts";
import { mergeUserMetrics, type UserMetricsSnapshot } from "../metrics/task_metrics.ts";
import type { TrackedTopology } from "./tracker.ts";
import { ArdeaError } from "../topology/errors.ts";
import {
  CONTROL_WILDCARD,
  type ContainerMetrics,
  type ContainerRecord,
  decodeControl,
  decodeMetrics,
  encodeMessage,
  METRICS_WILDCARD,
  runEpoch,
  subjects,
  subjectToken,
  type TopologyRecord,
  WireError,
} from "../transport/wire/mod.ts";
import { Records } from "../cluster/records.ts";

/** Where a {@link RemoteTracking} puts the topologies it finds (a metrics/ `Tracker`). */
export interface TrackerSink {
  add(t: TrackedTopology): void;
  remove(name: string): boolean;
}

/** Options of {@link RemoteTracking.start}. */
export interface RemoteTrackingOptions {
  /** How often the KV records are read (default 1000 ms). */
  pollMs?: number;
  /** A container silent this long is shown `SILENT` (default 5000 ms). */
  silentMs?: number;
  log?: (line: string) => void;
  /**
   * Only this topology, from its reports (one record read per poll, no
   * container records): the live view of `ardea submit --wait`.
   */
  topology?: string;
}

const TERMINAL = new Set(["FINISHED", "KILLED", "FAILED"]);
/** Counters that only grow, carried over when a container's process is replaced. */
const TASK_COUNTERS = ["emitted", "executed", "acked", "failed", "timedOut", "restarts", "errors", "nextTupleCount"] as const;
/** The three latency summaries of a component. */
const LATENCIES = ["executeLatency", "processLatency", "completeLatency"] as const;

/**
 * For this long after a steer (ms), a listed record older than the steered
 * one is a read that started before the steer landed, and is ignored.
 */
const STEER_GRACE_MS = 3000;

/**
 * Watches the topologies of a NATS cluster and keeps `sink` up to date.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { serveTracker, Tracker, uiAssets } from "./mod.ts";
 * declare const nc: NatsConnection;
 * const tracker = new Tracker({ assets: uiAssets() });
 * const remote = await RemoteTracking.start(nc, tracker);
 * const server = await serveTracker(tracker, { port: 8889 });
 * // …
 * await remote.close();
 * ```
 */
export class RemoteTracking {
  /** Malformed or stale messages dropped. */
  dropped = 0;
  readonly #nc: NatsConnection;
  readonly #sink: TrackerSink;
  readonly #o: RemoteTrackingOptions;
  readonly #byToken = new Map<string, RemoteTopology>();
  /** Reports of topologies not listed yet (by subject token, then container). */
  readonly #early = new Map<string, Map<number, ContainerMetrics>>();
  readonly #subs: Subscription[] = [];
  #records: Records | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling: Promise<void> | null = null;
  #closed = false;
  #lastDropLog = 0;
  #lastEarlyPoll = 0;

  private constructor(nc: NatsConnection, sink: TrackerSink, o: RemoteTrackingOptions) {
    this.#nc = nc;
    this.#sink = sink;
    this.#o = o;
  }

  /** Subscribes, reads the records once, and keeps polling them until {@link RemoteTracking.close}. */
  static async start(nc: NatsConnection, sink: TrackerSink, o: RemoteTrackingOptions = {}): Promise<RemoteTracking> {
    const r = new RemoteTracking(nc, sink, o);
    const one = o.topology === undefined ? undefined : subjects(o.topology);
    r.#subs.push(nc.subscribe(one?.metrics ?? METRICS_WILDCARD, { callback: (err, msg) => !err && r.#onMetrics(msg.subject, msg.data) }));
    r.#subs.push(nc.subscribe(one?.ctl ?? CONTROL_WILDCARD, { callback: (err, msg) => !err && r.#onControl(msg.subject, msg.data) }));
    await nc.flush();
    await r.poll();
    r.#schedule();
    return r;
  }

  /** The topologies found so far, by name. */
  topologies(): TrackedTopology[] {
    return [...this.#byToken.values()];
  }

  /** Reads the KV records now (the timer does it every `pollMs`). */
  poll(): Promise<void> {
    if (this.#polling !== null) return this.#polling;
    this.#polling = this.#poll().catch((e) => this.#log(`[ardea] ui: cannot read the topology records: ${(e as Error).message}`))
      .finally(() => (this.#polling = null));
    return this.#polling;
  }

  /** Stops polling and unsubscribes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const s of this.#subs) s.unsubscribe();
    await this.#polling;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.poll().then(() => this.#schedule()), this.#o.pollMs ?? 1000);
  }

  #log(line: string): void {
    (this.#o.log ?? ((l: string) => console.error(l)))(line);
  }

  #drop(why: string): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.#lastDropLog > 5000) {
      this.#lastDropLog = now;
      this.#log(`[ardea] ui: dropped a malformed message (${this.dropped} so far): ${why}`);
    }
  }

  async #poll(): Promise<void> {
    this.#records ??= await Records.bind(this.#nc);
    const records = this.#records;
    if (records === undefined || this.#closed) return;
    const only = this.#o.topology;
    const recs = only === undefined
      ? await records.listTopologies((e) => this.#log(`[ardea] ui: skipping ${e.message}`))
      : [await records.getTopology(only)].filter((r) => r !== undefined);
    const seen = new Set<string>();
    for (const rec of recs) {
      const token = subjectToken(rec.name);
      seen.add(token);
      let t = this.#byToken.get(token);
      if (t === undefined || t.record.submittedAt !== rec.submittedAt) {
        t = new RemoteTopology(rec, this, this.#o.silentMs ?? 5000);
        this.#byToken.set(token, t);
        const early = this.#early.get(token);
        this.#early.delete(token);
        for (const m of early?.values() ?? []) if (m.epoch === t.epoch) t.report(m);
        this.#sink.add(t);
      } else if (performance.now() - t.steeredAt > STEER_GRACE_MS || rec.updatedAt >= t.record.updatedAt) t.record = rec;
      if (only === undefined && (!TERMINAL.has(rec.state) || !t.containersRead)) {
        try {
          t.containerRecords = await records.listContainers(rec.name);
          t.containersRead = true;
        } catch (e) {
          this.#log(`[ardea] ui: cannot read the containers of "${rec.name}": ${(e as Error).message}`);
        }
      }
    }
    for (const [token, t] of this.#byToken) {
      if (seen.has(token)) continue;
      this.#byToken.delete(token);
      this.#sink.remove(t.name);
    }
  }

  #onMetrics(subject: string, data: Uint8Array): void {
    const token = subject.split(".")[1] ?? "";
    let m: ContainerMetrics;
    try {
      m = decodeMetrics(data);
    } catch (e) {
      if (e instanceof WireError) return this.#drop(e.message);
      return this.#drop(String(e));
    }
    if (subjectToken(m.topology) !== token) return this.#drop(`metrics of "${m.topology}" on ${subject}`);
    const t = this.#byToken.get(token);
    if (t !== undefined && m.epoch === t.epoch) return t.report(m);
    // A topology (or run) submitted since the last poll: keep its reports until the poll finds its record.
    if (this.#early.size >= 64 && !this.#early.has(token)) return;
    let early = this.#early.get(token);
    if (early === undefined) this.#early.set(token, early = new Map());
    early.set(m.container, m);
    const now = Date.now();
    if (now - this.#lastEarlyPoll > 500) {
      this.#lastEarlyPoll = now;
      void this.poll();
    }
  }

  #onControl(subject: string, data: Uint8Array): void {
    const t = this.#byToken.get(subject.split(".")[1] ?? "");
    if (t === undefined) return;
    try {
      const m = decodeControl(data);
      if (m.type === "bp") t.pressure(m.container, m.on, m.component, m.leaseMs);
    } catch (e) {
      this.#drop(e instanceof WireError ? e.message : String(e));
    }
  }

  /** Steering (used by the topologies). */
  async steer(t: RemoteTopology, action: "activate" | "deactivate"): Promise<void> {
    const records = this.#records ?? await Records.bind(this.#nc);
    if (records === undefined) throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${t.name}" on this NATS`);
    const target = action === "activate" ? "RUNNING" : "PAUSED";
    let refused: string | undefined;
    t.steeredAt = performance.now();
    t.record = await records.updateTopology(t.name, (r) => {
      refused = undefined;
      if (r.state === "RUNNING" || r.state === "PAUSED") return r.state === target ? undefined : { ...r, state: target };
      refused = r.state;
      return undefined;
    });
    if (refused !== undefined) throw new ArdeaError("ENDED", `topology "${t.name}" is ${refused}`);
    this.#nc.publish(subjects(t.name).ctl, encodeMessage({ type: action }));
    await this.#nc.flush();
  }

  /**
   * Kills `t` as `ardea kill --wait-secs 0` does: publishes `kill`, waits for
   * the master to mark the record (at most 15 s); with no live master, marks
   * it KILLED itself.
   */
  async kill(t: RemoteTopology): Promise<void> {
    const records = this.#records ?? await Records.bind(this.#nc);
    if (records === undefined) throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${t.name}" on this NATS`);
    const lease = await records.getLease(t.name);
    const masterAlive = lease !== undefined && lease.expiresAt > Date.now();
    this.#nc.publish(subjects(t.name).ctl, encodeMessage({ type: "kill", drainMs: 0 }));
    await this.#nc.flush();
    const deadline = Date.now() + (masterAlive ? 15_000 : 1000);
    while (Date.now() < deadline) {
      const rec = await records.getTopology(t.name);
      if (rec === undefined) return;
      t.record = rec;
      if (TERMINAL.has(rec.state)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const lease2 = await records.getLease(t.name);
    if (lease2 !== undefined && lease2.expiresAt > Date.now()) {
      throw new ArdeaError("KILL_TIMEOUT", `topology "${t.name}" is still ${t.record.state} 15 s after kill`);
    }
    t.record = await records.updateTopology(t.name, (r) => (TERMINAL.has(r.state) ? undefined : { ...r, state: "KILLED" }));
  }
}

/** Component fields summed or chosen by name in {@link RemoteTopology.stats}; others are handled by their type. */
const KNOWN_COMPONENT_FIELDS = new Set([
  "kind", "tasks", "emitted", "executed", "acked", "failed", "timedOut", "pending", "restarts", "errors", "queued", "capacity",
  "lastError", "lastErrorAt", "lastErrorStack", "completeLatencyMs", "nextTupleCount", ...LATENCIES, "allTime", "latencyBuckets",
  "userMetrics",
]);

/** Run totals of several containers: counts and sums add up, the max is the largest. */
function mergeTotals(parts: ReadonlyArray<LatencyTotals | null | undefined>): LatencyTotals | null {
  let count = 0;
  let sumMs = 0;
  let maxMs = 0;
  for (const p of parts) {
    if (p == null || p.count === 0) continue;
    count += p.count;
    sumMs += p.sumMs;
    maxMs = Math.max(maxMs, p.maxMs);
  }
  return latencyTotals(count, sumMs, maxMs);
}

/** A component's user metrics without the histograms' buckets (they are for merging, not for showing). */
function withoutBuckets(u: UserMetricsSnapshot): UserMetricsSnapshot {
  if (u.histograms === undefined) return u;
  const histograms: NonNullable<UserMetricsSnapshot["histograms"]> = {};
  for (const [k, h] of Object.entries(u.histograms)) histograms[k] = { count: h.count, sum: h.sum, window: h.window };
  return { ...u, histograms };
}

/** The latest report of one container, and what earlier processes of it counted. */
interface Reported {
  m: ContainerMetrics;
  /** Local time it arrived. */
  at: number;
  /** Counters of earlier processes of this container (restarts), per task. */
  retired: Map<string, Record<(typeof TASK_COUNTERS)[number], number>>;
  /** User counters of earlier processes of this container, per task. */
  retiredUser: Map<string, Record<string, number>>;
}

const TUPLE_COUNTERS = ["emitted", "executed", "acked", "failed", "timedOut", "pending", "restarts"] as const;
type TupleCounters = Record<(typeof TUPLE_COUNTERS)[number], number>;

/** Adds `from`'s tuple counters into `into`. */
function addCounters(into: TupleCounters, from: TupleCounters): void {
  for (const k of TUPLE_COUNTERS) into[k] += from[k];
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

function zeroComponent(kind: "spout" | "bolt"): ComponentSnapshot & { lastErrorAt: number | null } {
  return { ...emptyComponentSnapshot(kind), executeLatency: null, completeLatency: null };
}

/**
 * Merges the latency summaries of several containers, exactly from their
 * window histograms when every container with samples sent its buckets.
 * Otherwise (an older container) counts add up, the mean and max are exact
 * and the percentiles are the count-weighted means of the containers'.
 */
function mergeLatency(parts: ReadonlyArray<{ summary: LatencySummary | null | undefined; buckets: LatencyBuckets[keyof LatencyBuckets] }>, scratch: LatencyHistogram): LatencySummary | null {
  const withSamples = parts.filter((p) => p.summary != null && p.summary.count > 0);
  if (withSamples.length === 0) return null;
  if (withSamples.length === 1) return { ...withSamples[0]!.summary! };
  if (withSamples.every((p) => p.buckets != null)) {
    scratch.reset();
    for (const p of withSamples) scratch.addBuckets(p.buckets!);
    return scratch.summary();
  }
  const ps = withSamples.map((p) => p.summary!);
  const n = ps.reduce((a, p) => a + p.count, 0);
  const w = (f: (p: LatencySummary) => number) => Math.round(ps.reduce((a, p) => a + f(p) * p.count, 0) / n * 1000) / 1000;
  return { count: n, meanMs: w((p) => p.meanMs), p50Ms: w((p) => p.p50Ms), p99Ms: w((p) => p.p99Ms), p999Ms: w((p) => p.p999Ms), maxMs: Math.max(...ps.map((p) => p.maxMs)) };
}

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
 * declare const record: TopologyRecord, records: Records;
 * const s = containerRecordsSnapshot(record, await records.listContainers(record.name));
 * s.acked;
 * ```
 */
export function containerRecordsSnapshot(
  record: TopologyRecord,
  containers: Iterable<ContainerRecord>,
  kindOf: (component: string) => "spout" | "bolt" | null = (id) => record.plan?.components.find((x) => x.id === id)?.kind ?? null,
): StatsSnapshot {
  const s = emptyStatsSnapshot(record.name, record.state);
  const running = record.state === "RUNNING" || record.state === "PAUSED";
  const components: Record<string, ComponentSnapshot & { lastErrorAt: number | null }> = {};
  for (const id of Object.keys(record.components)) {
    const kind = kindOf(id);
    if (kind !== null) components[id] = { ...zeroComponent(kind), tasks: record.components[id]!.length };
  }
  for (const c of containers) {
    const st = c.stats;
    if (st === undefined) continue;
    addCounters(s, st);
    s.uptimeMs = Math.max(s.uptimeMs, c.heartbeatAt - c.startedAt);
    if (running) s.backpressure ||= st.backpressure;
    for (const [name, e] of Object.entries(st.components ?? {})) {
      const x = components[name];
      if (x === undefined) continue;
      x.errors += e.errors;
      x.restarts += e.restarts;
      if (e.lastError !== null && (x.lastError === null || (e.lastErrorAt ?? 0) >= (x.lastErrorAt ?? 0))) {
        x.lastError = e.lastError;
        x.lastErrorAt = e.lastErrorAt;
      }
      if (running && (e.stuckTasks ?? 0) > 0) x.stuckTasks = (x.stuckTasks ?? 0) + e.stuckTasks!;
    }
  }
  s.components = components;
  return s;
}

/** One distributed topology as the tracker sees it. */
export class RemoteTopology implements TrackedTopology {
  readonly mode = "distributed" as const;
  record: TopologyRecord;
  containerRecords: ContainerRecord[] = [];
  containersRead = false;
  /** When this tracker last steered it (a list read before that may be stale). */
  steeredAt = -Infinity;
  readonly #owner: RemoteTracking;
  readonly #silentMs: number;
  readonly #reports = new Map<number, Reported>();
  readonly #pressure = new BackpressureLog();

  constructor(record: TopologyRecord, owner: RemoteTracking, silentMs: number) {
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

  get state(): string {
    return this.record.state;
  }

  get config(): Readonly<Record<string, unknown>> {
    return this.record.config;
  }

  /** A container's report (its epoch already checked). */
  report(m: ContainerMetrics): void {
    const prev = this.#reports.get(m.container);
    if (prev !== undefined && m.ts < prev.m.ts && m.pid === prev.m.pid) return; // out of order
    const retired = prev?.retired ?? new Map<string, Record<(typeof TASK_COUNTERS)[number], number>>();
    const retiredUser = prev?.retiredUser ?? new Map<string, Record<string, number>>();
    if (prev !== undefined && (prev.m.pid !== m.pid || prev.m.epoch !== m.epoch || m.uptimeMs < prev.m.uptimeMs - 1000)) {
      // A new process of this container, or a new generation in the same
      // process (an in-place rollback): its counters start again from 0.
      for (const [id, t] of Object.entries(prev.m.tasks)) {
        const r = retired.get(id) ?? { emitted: 0, executed: 0, acked: 0, failed: 0, timedOut: 0, restarts: 0, errors: 0, nextTupleCount: 0 };
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
    if (c !== undefined) return c.kind;
    for (const r of this.#reports.values()) {
      const k = r.m.components[component]?.kind;
      if (k !== undefined) return k;
    }
    return null;
  }

  /**
   * No container has reported to this tracker (it started after the run
   * ended): the coarse counters of the containers' last heartbeats, kept in
   * their records ({@link containerRecordsSnapshot}).
   */
  #fromRecords(): StatsSnapshot {
    return containerRecordsSnapshot(this.record, this.containerRecords, (id) => this.#kindOf(id));
  }

  /** Counters of one container (retired processes included), as a snapshot. */
  #containerSnapshot(r: Reported): StatsSnapshot {
    const m = r.m;
    const tasks: Record<string, TaskSnapshot> = {};
    const components: Record<string, ComponentSnapshot> = {};
    for (const [name, c] of Object.entries(m.components)) {
      const x = { ...c } as ComponentSnapshot;
      delete x.latencyBuckets;
      if (x.userMetrics !== undefined) x.userMetrics = withoutBuckets(x.userMetrics);
      components[name] = x;
    }
    for (const [id, t] of Object.entries(m.tasks)) {
      const x = { ...t } as TaskSnapshot;
      const old = r.retired.get(id);
      if (old !== undefined) {
        const add = (into: Partial<Record<(typeof TASK_COUNTERS)[number], number>>) => {
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
    return this.#totals(m.state, m.uptimeMs, components, tasks, {
      backpressure: m.backpressure,
      backpressureEpisodes: m.backpressureEpisodes,
      backpressureMs: m.backpressureMs,
    });
  }

  #totals(
    state: string,
    uptimeMs: number,
    components: Record<string, ComponentSnapshot>,
    tasks: Record<string, TaskSnapshot>,
    bp: { backpressure: boolean; backpressureEpisodes: number; backpressureMs: number },
  ): StatsSnapshot {
    const s = { ...emptyStatsSnapshot(this.name, state), uptimeMs, ...bp, components, tasks };
    for (const c of Object.values(components)) {
      s.emitted += c.emitted;
      s.restarts += c.restarts;
      if (c.kind === "spout") {
        s.spoutEmitted += c.emitted;
        s.acked += c.acked;
        s.failed += c.failed;
        s.timedOut += c.timedOut;
        s.pending += c.pending;
      } else s.executed += c.executed;
    }
    return s;
  }

  /** The counters of every container summed per component and task. */
  stats(): StatsSnapshot {
    const reports = [...this.#reports.values()];
    if (reports.length === 0 && this.containerRecords.some((c) => c.stats !== undefined)) return this.#fromRecords();
    const perContainer = reports.map((r) => this.#containerSnapshot(r));
    const components: Record<string, ComponentSnapshot & { lastErrorAt?: number | null }> = {};
    const tasks: Record<string, TaskSnapshot> = {};
    /** Per component: what is merged rather than summed, one entry per container. */
    interface Parts {
      sum: number;
      n: number;
      latency: Map<(typeof LATENCIES)[number], Array<{ summary: LatencySummary | null | undefined; buckets: LatencyBuckets[keyof LatencyBuckets] }>>;
      allTime: Array<AllTimeLatency>;
      user: UserMetricsSnapshot[];
    }
    const parts = new Map<string, Parts>();
    for (const id of Object.keys(this.record.components)) {
      const kind = this.#kindOf(id);
      if (kind !== null) components[id] = zeroComponent(kind);
    }
    perContainer.forEach((cs, i) => {
      Object.assign(tasks, cs.tasks);
      const raw = reports[i]!.m.components;
      for (const [name, c] of Object.entries(cs.components)) {
        const x = components[name] ??= zeroComponent(c.kind);
        x.tasks += c.tasks;
        addCounters(x, c);
        x.errors += c.errors;
        x.queued += c.queued;
        x.capacity = Math.max(x.capacity ?? 0, c.capacity ?? 0);
        if (c.nextTupleCount !== undefined) x.nextTupleCount = (x.nextTupleCount ?? 0) + c.nextTupleCount;
        const at = (c as { lastErrorAt?: number | null }).lastErrorAt ?? null;
        if (c.lastError !== null && (x.lastError === null || (at ?? 0) >= (x.lastErrorAt ?? 0))) {
          x.lastError = c.lastError;
          x.lastErrorAt = at;
        }
        let p = parts.get(name);
        if (p === undefined) parts.set(name, p = { sum: 0, n: 0, latency: new Map(), allTime: [], user: [] });
        p.sum += c.completeLatencyMs * c.acked;
        p.n += c.acked;
        const buckets = (raw[name] as { latencyBuckets?: LatencyBuckets } | undefined)?.latencyBuckets;
        for (const key of LATENCIES) {
          if (!(key in c)) continue;
          const list = p.latency.get(key) ?? [];
          list.push({ summary: c[key], buckets: buckets?.[key] });
          p.latency.set(key, list);
        }
        if (c.allTime !== undefined) p.allTime.push(c.allTime);
        const user = (raw[name] as { userMetrics?: UserMetricsSnapshot } | undefined)?.userMetrics;
        if (user !== undefined) p.user.push(user);
        // User counters of this container's earlier processes count on.
        const retired = retiredCounters(reports[i]!, name);
        if (retired !== null) p.user.push({ counters: retired });
        // Fields this module does not know (added to the engine's stats later): numbers are
        // summed (counters); other shapes stay in the per-container views.
        const xr = x as unknown as Record<string, unknown>;
        for (const [key, v] of Object.entries(c)) {
          if (KNOWN_COMPONENT_FIELDS.has(key)) continue;
          if (typeof v === "number") xr[key] = (typeof xr[key] === "number" ? xr[key] as number : 0) + v;
        }
      }
    });
    const scratch = new LatencyHistogram();
    for (const [name, p] of parts) {
      const x = components[name]!;
      x.completeLatencyMs = p.n > 0 ? p.sum / p.n : 0;
      for (const [key, list] of p.latency) x[key] = mergeLatency(list, scratch);
      if (p.allTime.length > 0) {
        const all: AllTimeLatency = {};
        for (const key of LATENCIES) {
          const list = p.allTime.filter((a) => key in a).map((a) => a[key]);
          if (list.length > 0) all[key] = mergeTotals(list);
        }
        x.allTime = all;
      }
      const user = mergeUserMetrics(p.user);
      if (user !== undefined) x.userMetrics = withoutBuckets(user);
    }
    // Tasks not reported yet show as zeros, so the plan's every task is there.
    for (const [component, ids] of Object.entries(this.record.components)) {
      const kind = this.#kindOf(component) ?? "bolt";
      for (const id of ids) {
        tasks[String(id)] ??= { component, kind, emitted: 0, executed: 0, acked: 0, failed: 0, timedOut: 0, queued: 0, restarts: 0, errors: 0, capacity: 0 };
      }
    }
    const now = Date.now();
    return this.#totals(
      this.state,
      Math.max(0, ...perContainer.map((c) => c.uptimeMs)),
      components,
      tasks,
      {
        backpressure: perContainer.some((c) => c.backpressure) || this.#pressure.active,
        backpressureEpisodes: this.#pressure.episodes(now).length,
        backpressureMs: Math.max(0, ...perContainer.map((c) => c.backpressureMs)),
      },
    );
  }

  /** Counters per container (Prometheus' `container` label). */
  containerStats(): Array<{ container: string; stats: StatsSnapshot }> {
    return [...this.#reports].sort((a, b) => a[0] - b[0]).map(([i, r]) => ({ container: String(i), stats: this.#containerSnapshot(r) }));
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
      if (TERMINAL.has(rec.state)) state = m !== undefined && TERMINAL.has(m.state) ? m.state : rec.state;
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
      out.set(name, { component: name, count: 0, restarts: 0, lastError: null, lastErrorAt: null, stack: null, container: null });
    }
    for (const [i, r] of [...this.#reports].sort((a, b) => a[0] - b[0])) {
      const counted = this.#containerSnapshot(r).components;
      for (const [name, c] of Object.entries(r.m.components)) {
        const x = out.get(name) ?? { component: name, count: 0, restarts: 0, lastError: null, lastErrorAt: null, stack: null, container: null };
        out.set(name, x);
        x.count += counted[name]?.errors ?? c.errors;
        x.restarts += counted[name]?.restarts ?? c.restarts;
        const at = c.lastErrorAt ?? null;
        if (c.lastError !== null && (x.lastError === null || (at ?? 0) >= (x.lastErrorAt ?? 0))) {
          x.lastError = c.lastError;
          x.lastErrorAt = at;
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

  activate(): Promise<void> {
    return this.#owner.steer(this, "activate");
  }

  deactivate(): Promise<void> {
    return this.#owner.steer(this, "deactivate");
  }

  kill(): Promise<void> {
    return this.#owner.kill(this);
  }
}
