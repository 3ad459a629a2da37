/**
 * The pool scheduler: `ardea worker` daemons on any number of machines
 * offer slots; a master places each container on the worker with the most
 * free slots and follows it through the worker's exit reports. The protocol
 * is in `transport/wire/pool.ts`.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import {
  type ChildExit,
  type ChildHandle,
  cwd,
  hostname,
  pid,
  type ProcessSignal,
  spawnProcess,
} from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { type NatsSettings, natsSettingsEnv } from "../transport/nats_connect.ts";
import {
  decodePool,
  encodePool,
  type ExitEvent,
  isRunning,
  type TopologyRecord,
  WIRE_VERSION,
  type WorkerRecord,
  workerSubjects,
} from "../transport/wire/mod.ts";
import { ardeaVersion } from "./bundle.ts";
import { containerCommand } from "./container_spawn.ts";
import { MASTER_LEASE_MS, runMaster } from "./master.ts";
import type { Records } from "./records.ts";

/** A worker whose heartbeat is older than this is not offered work (ms). */
const WORKER_STALE_MS = 6000;
const HEARTBEAT_MS = 2000;
/**
 * A worker whose record stayed stale (older than {@link WORKER_STALE_MS}, or
 * gone) at one heartbeat over the master's own readings for this long is
 * lost (killed with SIGKILL, its machine gone): its containers count as
 * exited (ms). A worker back from a NATS outage writes its record within
 * {@link HEARTBEAT_MS}.
 */
const WORKER_LOST_CONFIRM_MS = 6000;
/**
 * How long a master lease must stay expired, unrenewed, before a worker
 * takes it over (a master back from a NATS outage renews within a third
 * of its lease).
 */
const TAKEOVER_CONFIRM_MS = MASTER_LEASE_MS * 2 / 3 + 1000;

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  nc: NatsConnection;
  records: Records;
  settings: NatsSettings;
  id?: string;
  slots: number;
  log?: (line: string) => void;
  /** Resolves when the worker should stop (e.g. on SIGTERM). */
  stop: Promise<void>;
}

interface Running {
  topology: string;
  index: number;
  child: ChildHandle;
}

/**
 * Runs a pool worker until `stop` resolves: offers `slots` containers,
 * starts those a master asks for, and reports their ends.
 *
 * @example
 * ```ts
 * declare const o: WorkerOptions, signalled: Promise<void>;
 * const { nc, records, settings } = o;
 * await runWorker({ nc, records, settings, slots: 4, stop: signalled });
 * ```
 */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const log = o.log ?? ((l: string) => console.error(l));
  const id = o.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-${pid()}`;
  const subj = workerSubjects(id);
  const running: Running[] = [];
  const version = await ardeaVersion();
  const record = (): WorkerRecord => ({
    version: WIRE_VERSION,
    id,
    host: hostname(),
    pid: pid(),
    slots: o.slots,
    running: running.map((r) => ({ topology: r.topology, index: r.index, pid: r.child.pid ?? 0 })),
    heartbeatAt: Date.now(),
    ardeaVersion: version,
  });
  const beat = () =>
    o.records.putWorker(record()).catch((e: Error) =>
      log(`[ardea] worker ${id}: cannot write its record: ${e.message}`)
    );
  const subs: Subscription[] = [];
  subs.push(o.nc.subscribe(subj.run, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const req = decodePool.runRequest(msg.data);
        if (running.length >= o.slots) {
          msg.respond(encodePool({ ok: false, error: `worker ${id} has no free slot (${o.slots} in use)` }));
          return;
        }
        const { cmd, args } = containerCommand(req.runtime, ["container", req.topology, "--index", String(req.index)]);
        const child = spawnProcess(cmd, args, {
          cwd: cwd(),
          env: natsSettingsEnv(o.settings),
          stdio: "inherit",
          reapGroups: true, // a killed container's shell subprocesses die with it
        });
        const entry: Running = { topology: req.topology, index: req.index, child };
        running.push(entry);
        log(`[ardea] worker ${id}: running ${req.topology} container ${req.index} (pid ${child.pid})`);
        msg.respond(encodePool({ ok: true, pid: child.pid ?? 0 }));
        void beat();
        child.exited.then(
          (exit) => report(entry, exit),
          (e: Error) => report(entry, { code: null, signal: e.message }),
        );
      } catch (e) {
        msg.respond(encodePool({ ok: false, error: (e as Error).message }));
      }
    },
  }));
  subs.push(o.nc.subscribe(subj.kill, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const req = decodePool.killRequest(msg.data);
        running.find((r) => r.topology === req.topology && r.index === req.index)?.child.kill(req.signal);
      } catch (e) {
        log(`[ardea] worker ${id}: dropped a malformed kill request: ${(e as Error).message}`);
      }
    },
  }));
  const report = (entry: Running, exit: ChildExit) => {
    const i = running.indexOf(entry);
    if (i >= 0) running.splice(i, 1);
    const ev: ExitEvent = {
      worker: id,
      topology: entry.topology,
      index: entry.index,
      pid: entry.child.pid ?? 0,
      code: exit.code,
      signal: exit.signal,
    };
    o.nc.publish(subj.exits, encodePool(ev));
    void beat();
  };
  // A master that died (its lease expired and stays so) is replaced by a
  // worker that runs containers of its topology; they run on meanwhile.
  const mastering = new Set<string>();
  const expiredSeen = new Map<string, { revision: number; at: number }>();
  let checking = false;
  const watchMasters = async () => {
    if (checking) return;
    checking = true;
    try {
      for (const name of new Set(running.map((r) => r.topology))) {
        if (mastering.has(name)) continue;
        const lease = await o.records.getLease(name).catch(() => null);
        if (lease === null) continue;
        if (lease !== undefined && lease.expiresAt > Date.now()) {
          expiredSeen.delete(name);
          continue;
        }
        const revision = lease?.revision ?? 0;
        const seen = expiredSeen.get(name);
        if (seen === undefined || seen.revision !== revision) {
          expiredSeen.set(name, { revision, at: Date.now() });
          continue;
        }
        if (Date.now() - seen.at < TAKEOVER_CONFIRM_MS) continue;
        expiredSeen.delete(name);
        const rec = await o.records.getTopology(name).catch(() => undefined);
        if (rec === undefined || rec.scheduler !== "pool" || !isRunning(rec.state)) continue;
        mastering.add(name);
        void takeOver(rec).finally(() => mastering.delete(name));
      }
    } finally {
      checking = false;
    }
  };
  const takeOver = async (rec: TopologyRecord) => {
    const pool = poolScheduler(o.nc, o.records, rec);
    try {
      const adopted = await pool.running();
      log(`[ardea] worker ${id}: the master of "${rec.name}" is gone; taking over`);
      const state = await runMaster({ nc: o.nc, records: o.records, record: rec, spawn: pool.spawn, adopted, log });
      log(`[ardea] worker ${id}: "${rec.name}" ended ${state} under this worker's master`);
    } catch (e) {
      // MASTER_EXISTS: another worker (or the master, back) was first.
      if ((e as ArdeaError).code !== "MASTER_EXISTS") {
        log(`[ardea] worker ${id}: taking over "${rec.name}" failed: ${(e as Error).message}`);
      }
    } finally {
      pool.close();
    }
  };
  await beat();
  log(`[ardea] worker ${id} offers ${o.slots} slot(s)`);
  const timer = setInterval(() => {
    void beat();
    void watchMasters();
  }, HEARTBEAT_MS);
  await o.stop;
  clearInterval(timer);
  for (const s of subs) s.unsubscribe();
  for (const r of running) r.child.kill("SIGTERM");
  await Promise.allSettled(running.map((r) => r.child.exited));
  await o.records.deleteWorker(id);
}

/**
 * The pool scheduler's way to start container `index` of `record`: on the
 * live worker with the most free slots. The returned handle follows the
 * container through the worker's exit report.
 *
 * @example
 * ```ts
 * import { type MasterOptions, runMaster } from "./master.ts";
 * declare const o: MasterOptions;
 * const { nc, records, record } = o;
 * const spawn = poolSpawner(nc, records, record);
 * runMaster({ nc, records, record, spawn });
 * ```
 */
export function poolSpawner(
  nc: NatsConnection,
  records: Records,
  record: TopologyRecord,
): (index: number) => ChildHandle {
  return poolScheduler(nc, records, record).spawn;
}

/** What {@link poolScheduler} gives a master. */
export interface PoolScheduler {
  /** Starts container `index` on the live worker with the most free slots. */
  spawn(index: number): ChildHandle;
  /**
   * Handles of the containers of the record's topology that workers run now
   * (from their records), by index: what a master taking over follows.
   */
  running(): Promise<Map<number, ChildHandle>>;
  /** Stops listening for exit reports. */
  close(): void;
}

/**
 * The pool scheduler of one topology: starts its containers on workers and
 * follows them (also those a previous master started) through the
 * workers' exit reports; the containers of a worker whose record stops
 * being renewed (killed with SIGKILL: no report comes) count as exited.
 *
 * @example
 * ```ts
 * import { type MasterOptions, runMaster } from "./master.ts";
 * declare const o: MasterOptions;
 * const { nc, records, record } = o;
 * const pool = poolScheduler(nc, records, record);
 * await runMaster({ nc, records, record, spawn: pool.spawn, adopted: await pool.running() });
 * pool.close();
 * ```
 */
export function poolScheduler(nc: NatsConnection, records: Records, record: TopologyRecord): PoolScheduler {
  const waiting = new Map<string, (e: ExitEvent) => void>();
  const sub = nc.subscribe(workerSubjects("").exits, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const e = decodePool.exitEvent(msg.data);
        if (e.topology === record.name) waiting.get(`${e.index}:${e.pid}`)?.(e);
      } catch {
        // A malformed report is no container's end.
      }
    },
  });
  // A worker killed with SIGKILL sends no exit reports: its containers end
  // when its record stops being renewed (see watchWorkers).
  const followed = new Map<string, { index: number; worker: string; lost: (why: string) => void }>();
  const staleSeen = new Map<string, { heartbeatAt: number; at: number }>();
  let checking = false;
  const watchWorkers = async () => {
    if (checking || followed.size === 0) return;
    checking = true;
    try {
      const workers = new Map((await records.listWorkers()).map((w) => [w.id, w]));
      const now = Date.now();
      for (const id of new Set([...followed.values()].map((f) => f.worker))) {
        const w = workers.get(id);
        if (w !== undefined && now - w.heartbeatAt < WORKER_STALE_MS) {
          staleSeen.delete(id);
          continue;
        }
        const heartbeatAt = w?.heartbeatAt ?? -1;
        const seen = staleSeen.get(id);
        if (seen === undefined || seen.heartbeatAt !== heartbeatAt) {
          staleSeen.set(id, { heartbeatAt, at: now });
          continue;
        }
        if (now - seen.at < WORKER_LOST_CONFIRM_MS) continue;
        staleSeen.delete(id);
        const why = w === undefined
          ? `worker ${id} lost: its record is gone`
          : `worker ${id} lost: no heartbeat for ${((now - w.heartbeatAt) / 1000).toFixed(0)} s`;
        for (const [key, f] of [...followed]) {
          if (f.worker !== id) continue;
          unfollow(key);
          // Should the worker be alive after all (cut off), its container must not run twice.
          nc.publish(workerSubjects(id).kill, encodePool({ topology: record.name, index: f.index, signal: "SIGKILL" }));
          f.lost(why);
        }
      }
    } catch {
      // The records are out of reach (NATS away): look again at the next tick.
    } finally {
      checking = false;
    }
  };
  // Runs only while containers are followed: a master that ended keeps no timer.
  let watchTimer: ReturnType<typeof setInterval> | undefined;
  const follow = (key: string, f: { index: number; worker: string; lost: (why: string) => void }) => {
    followed.set(key, f);
    watchTimer ??= setInterval(() => void watchWorkers(), HEARTBEAT_MS);
  };
  const unfollow = (key: string) => {
    followed.delete(key);
    if (followed.size === 0 && watchTimer !== undefined) {
      clearInterval(watchTimer);
      watchTimer = undefined;
    }
  };
  /** A handle of container `index`, placed (now or later) on a worker. */
  const remote = (index: number) => {
    let resolveExit!: (e: ChildExit) => void;
    const exited = new Promise<ChildExit>((r) => (resolveExit = r));
    let placed: { worker: string; pid: number } | null = null;
    let killed: ProcessSignal | null = null;
    const sendKill = (signal: ProcessSignal) =>
      nc.publish(
        workerSubjects(placed!.worker).kill,
        encodePool({ topology: record.name, index, signal: signal === "SIGKILL" ? "SIGKILL" : "SIGTERM" }),
      );
    const place = (worker: string, pid: number) => {
      placed = { worker, pid };
      const key = `${index}:${pid}`;
      waiting.set(key, (e) => {
        waiting.delete(key);
        unfollow(key);
        resolveExit({ code: e.code, signal: e.signal });
      });
      follow(key, {
        index,
        worker,
        lost: (why) => {
          waiting.delete(key);
          resolveExit({ code: null, signal: why });
        },
      });
      if (killed) sendKill(killed);
    };
    const handle: ChildHandle = {
      get pid() {
        return placed?.pid;
      },
      exited,
      kill(signal: ProcessSignal = "SIGTERM") {
        killed = signal;
        if (placed === null) return false;
        sendKill(signal);
        return true;
      },
      lines() {
        throw new ArdeaError("REMOTE", "the output of a pool container is on its worker");
      },
      writeStdin: () => Promise.reject(new ArdeaError("REMOTE", "a pool container has no stdin here")),
      closeStdin() {},
    };
    return { handle, place, fail: (e: Error) => resolveExit({ code: null, signal: e.message }) };
  };
  const spawn = (index: number): ChildHandle => {
    const r = remote(index);
    const place = async () => {
      const now = Date.now();
      const live = (await records.listWorkers()).filter((w) => now - w.heartbeatAt < WORKER_STALE_MS);
      // A worker on another Ardea version cannot load the topology's bundle (its container would fail at once).
      const other = live.filter((w) => w.ardeaVersion !== record.ardeaVersion);
      const workers = live
        .filter((w) => w.ardeaVersion === record.ardeaVersion && w.running.length < w.slots)
        .sort((a, b) => (b.slots - b.running.length) - (a.slots - a.running.length));
      for (const w of workers) {
        try {
          const reply = decodePool.runReply(
            (await nc.request(
              workerSubjects(w.id).run,
              encodePool({ topology: record.name, index, runtime: record.runtime }),
              { timeout: 5000 },
            )).data,
          );
          if (!reply.ok) continue;
          r.place(w.id, reply.pid);
          return;
        } catch {
          // Try the next worker.
        }
      }
      const refused = other.length === 0
        ? ""
        : `; refused ${
          other.map((w) => `${w.id} (Ardea ${w.ardeaVersion})`).join(", ")
        }: the topology was submitted with Ardea ${record.ardeaVersion}, ` +
          "so its workers must run that version (install it where they run)";
      throw new ArdeaError(
        "NO_WORKER",
        `no pool worker has a free slot for container ${index} of "${record.name}" (start one with: ardea worker)${refused}`,
      );
    };
    place().catch(r.fail);
    return r.handle;
  };
  const running = async () => {
    const out = new Map<number, ChildHandle>();
    const now = Date.now();
    for (const w of await records.listWorkers()) {
      if (now - w.heartbeatAt >= WORKER_STALE_MS) continue;
      for (const c of w.running) {
        if (c.topology !== record.name || c.index >= record.containers || out.has(c.index)) continue;
        const r = remote(c.index);
        r.place(w.id, c.pid);
        out.set(c.index, r.handle);
      }
    }
    return out;
  };
  return {
    spawn,
    running,
    close: () => {
      clearInterval(watchTimer);
      watchTimer = undefined;
      sub.unsubscribe();
    },
  };
}
