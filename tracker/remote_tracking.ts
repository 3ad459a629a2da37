/**
 * The tracker's view of the topologies on a NATS cluster (`ardea ui --nats`):
 * lists them from the KV records (a topology submitted or deleted while it
 * runs shows up or goes away within a poll), reads what every container
 * publishes on its `metrics` subject and the `bp` messages on `ctl`, and
 * hands each to its {@link RemoteTopology} (remote_topology.ts), which the
 * tracker shows: counters merged over containers (remote_stats.ts), plans,
 * exceptions, backpressure episodes, and steering through the CLI's control
 * client (cluster/control_client.ts).
 *
 * Anything read from the network is checked at the boundary (transport/wire/); a
 * malformed message is dropped and counted, never thrown.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import { ControlClient } from "../cluster/control_client.ts";
import { Records } from "../cluster/records.ts";
import {
  type ContainerMetrics,
  CONTROL_WILDCARD,
  decodeControl,
  decodeMetrics,
  isTerminal,
  METRICS_WILDCARD,
  subjects,
  subjectToken,
  WireError,
} from "../transport/wire/mod.ts";
import { RemoteTopology } from "./remote_topology.ts";
import type { TrackedTopology } from "./tracker.ts";

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
 * import { Tracker } from "./tracker.ts";
 * import { serveTracker, uiAssets } from "./server.ts";
 * declare const nc: NatsConnection;
 * const tracker = new Tracker({ assets: uiAssets() });
 * const remote = await RemoteTracking.start(nc, tracker);
 * const server = await serveTracker(tracker, { port: 8889 });
 * await server.close();
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
    r.#subs.push(
      nc.subscribe(one?.metrics ?? METRICS_WILDCARD, {
        callback: (err, msg) => !err && r.#onMetrics(msg.subject, msg.data),
      }),
    );
    r.#subs.push(
      nc.subscribe(one?.ctl ?? CONTROL_WILDCARD, {
        callback: (err, msg) => !err && r.#onControl(msg.subject, msg.data),
      }),
    );
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
    this.#polling = this.#poll().catch((e) =>
      this.#log(`[ardea] ui: cannot read the topology records: ${(e as Error).message}`)
    )
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
      } else if (performance.now() - t.steeredAt > STEER_GRACE_MS || rec.updatedAt >= t.record.updatedAt) {
        t.record = rec;
      }
      if (only === undefined && (!isTerminal(rec.state) || !t.containersRead)) {
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

  /** The control client of this cluster (the topologies' activate, deactivate and kill). */
  async control(): Promise<ControlClient> {
    this.#records ??= await Records.bind(this.#nc);
    return new ControlClient(this.#nc, this.#records);
  }
}
