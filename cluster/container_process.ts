/**
 * A container process of a distributed topology: loads the topology's
 * bundle, lets the script build the topology (its `submit()` is intercepted),
 * runs the tasks the packing plan gives this container, and talks to the
 * other containers and the master over NATS (transport/wire/ describes the
 * sequence). Resolves with the process exit code.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { hostname, pid, setScriptArgs, watchParent, yieldNow } from "../runtime/mod.ts";
import { parseConfig, type TopologyConfig } from "../topology/config.ts";
import type { StormTopology } from "../topology/topology.ts";
import { ArdeaError } from "../topology/errors.ts";
import {
  type ContainerStats,
  type ControlMessage,
  decodeControl,
  decodeObservation,
  encodeMetrics,
  encodeObservation,
  runEpoch,
  subjects,
  type TopologyRecord,
  WireError,
} from "../transport/wire/mod.ts";
import { importBundle, loadBundle } from "./bundle.ts";
import { LogRing } from "./log_ring.ts";
import { ErrorLog, metricsReport } from "./metrics_report.ts";
import { Taps } from "./taps.ts";
import { type CheckpointSetup, Container, RollbackRequest, type RunSummary, type TopologyStats } from "../engine/container.ts";
import { emptyStatsSnapshot } from "../metrics/snapshot.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import type { CommittedCheckpoint } from "../state/state_backend.ts";
import { restoreStates } from "../engine/restore.ts";
import { rescale } from "./packing.ts";
import { Records } from "./records.ts";
import { endLostMaster, MASTER_LEASE_MS } from "./master.ts";
import { StreamManager } from "./stream_manager.ts";
import { interceptSubmit, type SubmitRequest, type TopologyHandle } from "../engine/submit.ts";

/** Options of {@link runContainer}. */
export interface ContainerProcessOptions {
  nc: NatsConnection;
  topology: string;
  index: number;
  log?: (line: string) => void;
  /** Log lines kept for `ardea logs` (default 2000). */
  logLines?: number;
  /** How long the script may take to call submit() (ms). */
  submitTimeoutMs?: number;
}


/**
 * Runs container `index` of `topology` until the master stops it.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const code = await runContainer({ nc, topology: "word-count", index: 1 });
 * ```
 */
export async function runContainer(opts: ContainerProcessOptions): Promise<number> {
  const ring = new LogRing(opts.logLines ?? 2000);
  const restoreConsole = captureConsole(ring);
  try {
    return await runCapturing(opts, ring);
  } finally {
    restoreConsole();
  }
}

/**
 * Copies what the components print through `console` into `ring` (they
 * still print as before).
 */
function captureConsole(ring: LogRing): () => void {
  const c = console as unknown as Record<string, (...a: unknown[]) => void>;
  const methods = ["log", "info", "warn", "error", "debug"] as const;
  const originals = methods.map((m) => c[m]!);
  methods.forEach((m, i) => {
    const original = originals[i]!;
    c[m] = (...a: unknown[]) => {
      try {
        ring.push(a.map((x) => (typeof x === "string" ? x : x instanceof Error ? (x.stack ?? x.message) : safeText(x))).join(" "));
      } catch {
        // Never let logging break the caller.
      }
      original.apply(console, a);
    };
  });
  return () => methods.forEach((m, i) => (c[m] = originals[i]!));
}

function safeText(x: unknown): string {
  try {
    return typeof x === "object" && x !== null ? JSON.stringify(x) ?? String(x) : String(x);
  } catch {
    return String(x);
  }
}

async function runCapturing(opts: ContainerProcessOptions, ring: LogRing): Promise<number> {
  const sink = opts.log;
  // Without a sink of its own a line goes to console.error, which copies it into the ring.
  const log = sink === undefined ? (l: string) => console.error(l) : (l: string) => {
    ring.push(l);
    sink(l);
  };
  const { nc, index } = opts;
  const records = await patiently("opening the records", log, () => Records.bind(nc));
  const rec = await patiently("reading the topology record", log, async () => records?.getTopology(opts.topology));
  if (records === undefined || rec === undefined) throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${opts.topology}" is submitted on this NATS`);
  if (index < 0 || index >= rec.containers) {
    throw new ArdeaError("BAD_CONTAINER", `topology "${rec.name}" has ${rec.containers} containers; there is no container ${index}`);
  }
  const file = await patiently("loading the bundle", log, () => loadBundle(nc, rec.bundle));

  // The script builds its topology and calls submit(): capture it here.
  let container: Container | null = null;
  let settle!: { resolve: (s: RunSummary) => void; reject: (e: Error) => void };
  const done = new Promise<RunSummary>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => {});
  let captured!: (r: SubmitRequest) => void;
  const request = new Promise<SubmitRequest>((r) => (captured = r));
  const handle: TopologyHandle = {
    name: rec.name,
    get state() {
      return container?.state ?? "RUNNING";
    },
    done,
    stats: () => container?.stats() ?? emptyStatsSnapshot(rec.name, "RUNNING"),
    kill: () => container?.kill() ?? done,
    drain: (ms?: number) => container?.drain(ms) ?? done,
    activate: () => container?.setActive(true),
    deactivate: () => container?.setActive(false),
  };
  const off = interceptSubmit((req) => {
    captured(req);
    return handle;
  });
  setScriptArgs(file, rec.args);
  // Thrown while loading: a ScriptError naming the script and its frame; loaded without submit(): NO_SUBMIT.
  const { request: req, loaded } = await importBundle(file, request, opts.submitTimeoutMs).finally(off);
  loaded.catch((e) => log(`[ardea] ${(e as Error).message}`));

  if (req.name !== rec.name) {
    throw new ArdeaError("WRONG_TOPOLOGY", `the script submitted "${req.name}", but this container belongs to "${rec.name}"`);
  }
  const subj = subjects(rec.name);
  const errors = new ErrorLog();
  const eo = parseConfig({ ...req.config, ...rec.config })["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
  // EFFECTIVELY_ONCE rollback in place: the master names a new generation and
  // its checkpoint; this process resets its tasks without exiting. (Only
  // then: every message on ctl would be decoded a second time for nothing.)
  const rollbacks = eo ? new RollbackWatch(nc, subj.ctl, rec.generation ?? 0) : null;
  try {
    let current = rec;
    for (;;) {
      const generation: Generation = { rec: current, ...planOf(current, req) };
      const checkpoints = eo ? await restoreFor(nc, generation, index, log) : undefined;
      const outcome = await runGeneration({ nc, index, log, ring, req, errors, records, generation, checkpoints, rollbacks, set: (c) => (container = c) });
      if (outcome.kind === "exit") {
        if (outcome.error === undefined) settle.resolve(outcome.summary!);
        else settle.reject(outcome.error);
        return outcome.code;
      }
      log(`[ardea] ${rec.name} container ${index}: rolling back in place to checkpoint ${outcome.restoreFrom} (generation ${outcome.generation})`);
      current = await patiently("reading the topology record", log, async () => {
        const next = await records.getTopology(rec.name);
        if (next === undefined) throw new ArdeaError("UNKNOWN_TOPOLOGY", `topology "${rec.name}" is gone`);
        return next;
      });
      // The record holds the generation the master announced (written before it said so); a later one is fine too.
      if ((current.generation ?? 0) < outcome.generation) current = { ...current, generation: outcome.generation, restoreFrom: outcome.restoreFrom };
      rollbacks!.running = current.generation ?? 0;
    }
  } finally {
    rollbacks?.close();
  }
}

/** What one generation of this container runs: the record it started from and its plan. */
interface Generation {
  rec: TopologyRecord;
  packing: Map<number, number>;
  topology: StormTopology;
  config: TopologyConfig;
}

/** The plan of `rec` for the topology the script built; throws when they disagree. */
function planOf(rec: TopologyRecord, req: SubmitRequest): Omit<Generation, "rec"> {
  const packing = new Map<number, number>(Object.entries(rec.packing).map(([t, c]) => [Number(t), c]));
  const topology = rec.parallelism ? rescale(req.topology, rec.parallelism) : req.topology;
  for (const [id, tasks] of topology.componentTasks) {
    if (JSON.stringify(rec.components[id] ?? []) !== JSON.stringify(tasks)) {
      throw new ArdeaError("PLAN_MISMATCH", `component "${id}" has tasks [${tasks}] here but [${rec.components[id] ?? []}] in the submitted plan`);
    }
  }
  return { packing, topology, config: parseConfig({ ...req.config, ...rec.config }) };
}

/** EFFECTIVELY_ONCE: this container's tasks' states in the checkpoint its generation restores. */
async function restoreFor(nc: NatsConnection, g: Generation, index: number, log: (line: string) => void): Promise<CheckpointSetup> {
  const { rec, packing, topology } = g;
  const backend = new NatsStateBackend(nc);
  // After a relaunch the master names the checkpoint every container restores.
  const last = await patiently("reading the last checkpoint", log, async () => {
    if (rec.restoreFrom === undefined) return await backend.lastCommitted(rec.name);
    if (rec.restoreFrom === 0) return undefined;
    let pinned: CommittedCheckpoint | undefined;
    // A listing right after a server restart may still miss it: look again a few times.
    for (let attempt = 0; attempt < 6 && pinned === undefined; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      pinned = (await backend.committed(rec.name)).find((c) => c.checkpointId === rec.restoreFrom);
    }
    if (pinned === undefined) {
      throw new ArdeaError("CHECKPOINT_GONE", `topology "${rec.name}": checkpoint ${rec.restoreFrom}, which this generation restores, is not committed in the state store`);
    }
    return pinned;
  });
  const mine = [...packing].filter(([, where]) => where === index).map(([task]) => task);
  const restore = last
    ? await patiently("restoring the checkpoint", log, () => restoreStates(backend, rec.name, last, topology, mine))
    : new Map<string, Uint8Array>();
  return { backend, lastId: last?.checkpointId ?? 0, restore, coordinated: true };
}

/**
 * The master's `rollback` messages: the newest generation asked for, and a
 * wait for one newer than the one running.
 */
class RollbackWatch {
  /** The generation this process runs (or is about to). */
  running: number;
  #asked: { generation: number; restoreFrom: number } | null = null;
  #waiters: Array<() => void> = [];
  readonly #sub: ReturnType<NatsConnection["subscribe"]>;

  constructor(nc: NatsConnection, subject: string, running: number) {
    this.running = running;
    this.#sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let m: ControlMessage;
        try {
          m = decodeControl(msg.data);
        } catch {
          return; // the stream manager counts malformed control messages
        }
        if (m.type !== "rollback" || m.generation <= this.running) return;
        if (this.#asked === null || m.generation > this.#asked.generation) this.#asked = { generation: m.generation, restoreFrom: m.restoreFrom };
        for (const w of this.#waiters.splice(0)) w();
      },
    });
  }

  /** A rollback to a generation newer than the running one, if asked for. */
  get pending(): { generation: number; restoreFrom: number } | null {
    return this.#asked !== null && this.#asked.generation > this.running ? this.#asked : null;
  }

  /** Resolves when a rollback newer than the running generation is asked for, or after `ms` if given (null). */
  next(ms?: number): Promise<{ generation: number; restoreFrom: number } | null> {
    if (this.pending !== null) return Promise.resolve(this.pending);
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => resolve(this.pending), ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(this.pending);
      });
    });
  }

  close(): void {
    this.#sub.unsubscribe();
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** How long a container whose run asked the master for a rollback waits for it before exiting (ms). */
const ROLLBACK_WAIT_MS = 20_000;

/** How one generation of a container ended. */
type GenerationOutcome =
  | { kind: "exit"; code: number; summary?: RunSummary; error?: Error }
  | { kind: "rollback"; generation: number; restoreFrom: number };

interface GenerationOptions {
  nc: NatsConnection;
  index: number;
  log: (line: string) => void;
  ring: LogRing;
  req: SubmitRequest;
  errors: ErrorLog;
  records: Records;
  generation: Generation;
  checkpoints: CheckpointSetup | undefined;
  /** EFFECTIVELY_ONCE only. */
  rollbacks: RollbackWatch | null;
  /** Makes `c` the container the script's handle steers. */
  set: (c: Container) => void;
}

/**
 * Runs one generation: a stream manager on the generation's epoch, a
 * container of the tasks its plan gives this process, until the master
 * stops the run, or (EFFECTIVELY_ONCE) asks every container to roll back.
 */
function runGeneration(o: GenerationOptions): Promise<GenerationOutcome> {
  const { nc, index, log, ring, req, errors, records, checkpoints, rollbacks } = o;
  const { rec, packing, topology, config } = o.generation;
  const subj = subjects(rec.name);
  let container!: Container;
  return new Promise<GenerationOutcome>((resolveOutcome) => {
    let started = false;
    const taps = new Taps(
      index,
      (id, t) => nc.publish(subj.tap(id), encodeObservation(t)),
      (fn) => {
        container.tap = fn ?? req.options.tap ?? null;
      },
    );
    const sm = new StreamManager({
      nc,
      topologyName: rec.name,
      topology,
      index,
      log,
      epoch: runEpoch(rec.submittedAt, rec.generation),
      onControl: (m) => {
        const c = container;
        switch (m.type) {
          case "start":
            if (!started) {
              started = true;
              c.start();
            }
            break;
          case "activate":
            c.setActive(true);
            break;
          case "deactivate":
            c.setActive(false);
            break;
          case "kill":
            void c.drain(m.drainMs);
            break;
          case "checkpoint":
            c.beginCheckpoint(m.id);
            break;
          case "committed":
            c.checkpointCommitted(m.id);
            break;
          case "lost":
            c.containerLost(m.container);
            break;
          case "rejoin":
            c.containerRejoined(m.container);
            break;
          case "stop":
            void c.stop(m.state, m.state === "FAILED" ? new ArdeaError("TOPOLOGY_FAILED", `topology "${rec.name}" failed in another container; container ${index} stops`) : undefined);
            break;
          case "tap":
            // The script's own tap (a test's) wins: it sees every emit already.
            if (req.options.tap === undefined) taps.renew(m);
            break;
          case "untap":
            taps.cancel(m.id);
            break;
        }
      },
    });
    container = new Container({
      name: rec.name,
      topology,
      config,
      yielder: yieldNow,
      tap: req.options.tap,
      log,
      containerIndex: index,
      packing,
      remote: sm,
      checkpoints,
      onError: errors.record,
    });
    o.set(container);
    sm.attach(container);
    // No container outlives its scheduler (a master or worker killed with SIGKILL).
    // Under the local scheduler that is the master: nothing replaces it, so
    // the record must say the run FAILED (once the dead master's lease runs out).
    let recorded: Promise<unknown> = Promise.resolve();
    let orphaned = false;
    const unwatch = watchParent(() => {
      orphaned = true;
      log(`[ardea] ${rec.name} container ${index}: its scheduler process is gone; stopping`);
      if (rec.scheduler === "local") {
        recorded = endLostMaster(records, rec.name, { who: `container ${index}`, submittedAt: rec.submittedAt, waitMs: MASTER_LEASE_MS + 3000 })
          .catch((e: Error) => log(`[ardea] ${rec.name} container ${index}: cannot record that the master is lost: ${e.message}`));
      }
      void container.kill();
    });
    // A master gone for good (its lease expired and no master took over
    // within MASTER_GRACE_MS, as a pool worker would): the run ends FAILED.
    const unwatchLease = watchMasterLease(records, rec.name, log, async () => {
      if (await endLostMaster(records, rec.name, { who: `container ${index}`, submittedAt: rec.submittedAt, nc })) {
        log(`[ardea] ${rec.name} container ${index}: the master is lost and none took over; the topology FAILED`);
      }
    });
    // The master asks every container to roll back: this one resets in place.
    let rollingBack = false;
    void rollbacks?.next().then((asked) => {
      if (asked === null || rollingBack) return;
      rollingBack = true;
      container.rollback(new Error(`the master rolls every container back to checkpoint ${asked.restoreFrom}`));
    });
    const unwatchAll = () => {
      unwatch();
      unwatchLease();
    };
    container.done.then(unwatchAll, unwatchAll);
    // EFFECTIVELY_ONCE: frames, markers or control messages may be lost while
    // the connection is down; roll back rather than count on them.
    if (checkpoints !== undefined) void watchConnection(nc, (why) => container.rollback(new Error(why)), container.done);
    const host = hostname();
    const logsSub = nc.subscribe(subj.logs(index), {
      callback: (err, msg) => {
        if (err || msg.reply === undefined || msg.reply === "") return;
        try {
          const q = decodeObservation.logsRequest(msg.data);
          msg.respond(encodeObservation({ container: index, pid: pid(), host, lines: ring.last(q.lines), dropped: ring.dropped }));
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          sm.dropped++;
        }
      },
    });
    const epoch = runEpoch(rec.submittedAt, rec.generation);
    let readyAt = 0;
    const sayReady = () => {
      readyAt = performance.now();
      sm.event({ type: "ready", container: index, pid: pid(), host });
    };
    const beat = () => {
      // `ready` or `start` may be lost (a NATS server restart): ready again until started.
      if (!started && readyAt > 0 && performance.now() - readyAt >= 2000) sayReady();
      const st = container.stats({ buckets: true });
      // For trackers (ardea ui --nats): every counter, per task and component.
      const source = { topology: rec.name, container: index, epoch, pid: pid(), host };
      nc.publish(subj.metrics, encodeMetrics(metricsReport(source, st, sm, container.pressureSource(), errors)));
      sm.event({
        type: "heartbeat",
        container: index,
        pid: pid(),
        host,
        ts: Date.now(),
        stats: {
          ...summarize(st),
          components: componentErrors(st),
          dropped: sm.dropped,
          backpressureBy: container.pressureSource(),
          framesIn: sm.framesIn,
          framesOut: sm.framesOut,
          bytesIn: sm.bytesIn,
          bytesOut: sm.bytesOut,
        },
      });
    };
    const hb = setInterval(beat, 1000);
    const close = async () => {
      clearInterval(hb);
      taps.close();
      logsSub.unsubscribe();
      await sm.close();
      await recorded;
    };
    container.done.then(
      async (s) => {
        beat();
        await close();
        resolveOutcome({ kind: "exit", code: 0, summary: s });
      },
      async (e: Error) => {
        await close();
        // A rollback (asked by the master, or by this container, which told
        // the master): the next generation runs in this process, unless the
        // master does not answer or the process lost its scheduler.
        if (e instanceof RollbackRequest && rollbacks !== null && !orphaned) {
          const asked = await rollbacks.next(rollingBack ? 0 : ROLLBACK_WAIT_MS);
          if (asked !== null) return resolveOutcome({ kind: "rollback", ...asked });
          log(`[ardea] ${rec.name} container ${index}: no rollback from the master within ${ROLLBACK_WAIT_MS / 1000} s; exiting`);
        }
        resolveOutcome({ kind: "exit", code: 1, error: e });
      },
    );
    nc.flush().then(sayReady);
  });
}

/** How long a master may stay lost (lease expired, unrenewed) before its containers end the run (ms). */
const MASTER_GRACE_MS = 30_000;

/**
 * Reads the master lease of `name` every 5 s and calls `onLost` once it has
 * stayed expired at one revision for {@link MASTER_GRACE_MS} of this
 * container's own readings (a failed reading, as while NATS is away, starts
 * the clock again: a master back from an outage renews within a third of its
 * lease). Returns the stop.
 */
function watchMasterLease(records: Records, name: string, log: (line: string) => void, onLost: () => Promise<void>): () => void {
  let expired: { revision: number; since: number } | null = null;
  let busy = false;
  const check = async () => {
    const lease = await records.getLease(name);
    if (lease !== undefined && lease.expiresAt > Date.now()) {
      expired = null;
      return;
    }
    const revision = lease?.revision ?? 0;
    if (expired === null || expired.revision !== revision) {
      expired = { revision, since: Date.now() };
      log(`[ardea] ${name}: the master's lease expired${lease ? ` (${lease.holder})` : ""}; waiting up to ${MASTER_GRACE_MS / 1000} s for a master`);
      return;
    }
    if (Date.now() - expired.since >= MASTER_GRACE_MS) {
      expired = null;
      await onLost();
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    check().catch(() => (expired = null)).finally(() => (busy = false));
  }, 5000);
  return () => clearInterval(timer);
}

/** How long start-up reads keep retrying a JetStream timeout (ms). */
const PATIENCE_MS = 30_000;

/**
 * A start-up read from JetStream, retried while it times out or finds no
 * responder (after a NATS restart the servers may still be electing leaders)
 * for up to {@link PATIENCE_MS}; any other error is thrown at once.
 */
async function patiently<T>(what: string, log: (line: string) => void, read: () => Promise<T>): Promise<T> {
  const until = performance.now() + PATIENCE_MS;
  for (let attempt = 1;; attempt++) {
    try {
      return await read();
    } catch (e) {
      if (!isTransient(e) || performance.now() > until) throw e;
      if (attempt === 1) log(`[ardea] container: ${what} timed out (${(e as Error).message}); retrying for up to ${PATIENCE_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, Math.min(2000, 250 * attempt)));
    }
  }
}

/** A JetStream timeout or a missing responder, anywhere in the cause chain. */
function isTransient(e: unknown): boolean {
  for (let x = e, depth = 0; x !== undefined && x !== null && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = String((x as { code?: unknown }).code ?? "");
    if (code === "TIMEOUT" || code === "503" || /timeout|timed out|no responders/i.test((x as Error).message ?? "")) return true;
  }
  return false;
}

/** Calls `onLost` once when `nc` disconnects before `until` settles. */
async function watchConnection(nc: NatsConnection, onLost: (why: string) => void, until: Promise<unknown>): Promise<void> {
  let over = false;
  until.then(() => (over = true), () => (over = true));
  for await (const s of nc.status()) {
    if (over) return;
    if (s.type === "disconnect") {
      onLost(`the NATS connection to ${String(s.data)} was lost`);
      return;
    }
  }
}

function summarize(s: TopologyStats) {
  return {
    emitted: s.emitted,
    executed: s.executed,
    acked: s.acked,
    failed: s.failed,
    timedOut: s.timedOut,
    pending: s.pending,
    restarts: s.restarts,
    backpressure: s.backpressure,
    backpressureMs: Math.round(s.backpressureMs),
  };
}

/**
 * Errors, restarts and stuck tasks per component, for the heartbeat
 * (`ardea status` shows them).
 *
 * @example
 * ```ts
 * import type { Container } from "../engine/container.ts";
 * declare const container: Container;
 * componentErrors(container.stats()); // { count: { errors: 0, restarts: 0, lastError: null, lastErrorAt: null, stuckTasks: 1 } }
 * ```
 */
export function componentErrors(s: TopologyStats): NonNullable<ContainerStats["components"]> {
  const out: NonNullable<ContainerStats["components"]> = {};
  for (const [name, c] of Object.entries(s.components)) {
    out[name] = { errors: c.errors, restarts: c.restarts, lastError: c.lastError, lastErrorAt: c.lastErrorAt ?? null };
    if ((c.stuckTasks ?? 0) > 0) out[name]!.stuckTasks = c.stuckTasks;
  }
  return out;
}
