/**
 * The pool scheduler: `ardea worker` daemons on any number of machines
 * offer slots; a master places each container on the worker with the most
 * free slots and follows it through the worker's exit reports. The protocol
 * is in `transport/wire.ts` (worker pool section).
 *
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import {
  ardeaRoot,
  type ChildExit,
  type ChildHandle,
  commandFor,
  cwd,
  hostname,
  pid,
  type ProcessSignal,
  resolvePath,
  spawnProcess,
} from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { natsSettingsEnv, type NatsSettings } from "../transport/nats_connect.ts";
import {
  decodePool,
  encodePool,
  type ExitEvent,
  type TopologyRecord,
  WIRE_VERSION,
  type WorkerRecord,
  workerSubjects,
} from "../transport/wire.ts";
import { ardeaVersion } from "./bundle.ts";
import type { Records } from "./records.ts";

/** A worker whose heartbeat is older than this is not offered work (ms). */
const WORKER_STALE_MS = 6000;
const HEARTBEAT_MS = 2000;

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
 * await runWorker({ nc, records, settings, slots: 4, stop: signalled });
 * ```
 */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const log = o.log ?? ((l: string) => console.error(l));
  const id = o.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-${pid()}`;
  const subj = workerSubjects(id);
  const running: Running[] = [];
  const version = await ardeaVersion();
  const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
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
  const beat = () => o.records.putWorker(record()).catch((e: Error) => log(`[ardea] worker ${id}: cannot write its record: ${e.message}`));
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
        const { cmd, args } = commandFor(req.runtime, bin, ["container", req.topology, "--index", String(req.index)]);
        const child = spawnProcess(cmd, args, { cwd: cwd(), env: natsSettingsEnv(o.settings), stdio: "inherit" });
        const entry: Running = { topology: req.topology, index: req.index, child };
        running.push(entry);
        log(`[ardea] worker ${id}: running ${req.topology} container ${req.index} (pid ${child.pid})`);
        msg.respond(encodePool({ ok: true, pid: child.pid ?? 0 }));
        void beat();
        child.exited.then((exit) => report(entry, exit), (e: Error) => report(entry, { code: null, signal: e.message }));
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
  await beat();
  log(`[ardea] worker ${id} offers ${o.slots} slot(s)`);
  const timer = setInterval(beat, HEARTBEAT_MS);
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
 * const spawn = poolSpawner(nc, records, record);
 * runMaster({ nc, records, record, spawn });
 * ```
 */
export function poolSpawner(nc: NatsConnection, records: Records, record: TopologyRecord): (index: number) => ChildHandle {
  const waiting = new Map<string, (e: ExitEvent) => void>();
  nc.subscribe(workerSubjects("").exits, {
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
  return (index) => {
    let resolveExit!: (e: ChildExit) => void;
    const exited = new Promise<ChildExit>((r) => (resolveExit = r));
    let placed: { worker: string; pid: number } | null = null;
    let killed: ProcessSignal | null = null;
    const place = async () => {
      const now = Date.now();
      const workers = (await records.listWorkers())
        .filter((w) => now - w.heartbeatAt < WORKER_STALE_MS && w.running.length < w.slots)
        .sort((a, b) => (b.slots - b.running.length) - (a.slots - a.running.length));
      for (const w of workers) {
        try {
          const reply = decodePool.runReply(
            (await nc.request(workerSubjects(w.id).run, encodePool({ topology: record.name, index, runtime: record.runtime }), { timeout: 5000 })).data,
          );
          if (!reply.ok) continue;
          placed = { worker: w.id, pid: reply.pid };
          waiting.set(`${index}:${reply.pid}`, (e) => {
            waiting.delete(`${index}:${reply.pid}`);
            resolveExit({ code: e.code, signal: e.signal });
          });
          if (killed) nc.publish(workerSubjects(w.id).kill, encodePool({ topology: record.name, index, signal: killed === "SIGKILL" ? "SIGKILL" : "SIGTERM" }));
          return;
        } catch {
          // Try the next worker.
        }
      }
      throw new ArdeaError("NO_WORKER", `no pool worker has a free slot for container ${index} of "${record.name}" (start one with: ardea worker)`);
    };
    const handle: ChildHandle = {
      get pid() {
        return placed?.pid;
      },
      exited,
      kill(signal: ProcessSignal = "SIGTERM") {
        killed = signal;
        if (placed === null) return false;
        nc.publish(workerSubjects(placed.worker).kill, encodePool({ topology: record.name, index, signal: signal === "SIGKILL" ? "SIGKILL" : "SIGTERM" }));
        return true;
      },
      lines() {
        throw new ArdeaError("REMOTE", "the output of a pool container is on its worker");
      },
      writeStdin: () => Promise.reject(new ArdeaError("REMOTE", "a pool container has no stdin here")),
      closeStdin() {},
    };
    place().catch((e: Error) => resolveExit({ code: null, signal: e.message }));
    return handle;
  };
}
