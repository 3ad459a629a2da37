/**
 * The topology master with the local scheduler: starts the containers of one
 * topology as child processes, starts the run when every container is ready,
 * watches heartbeats and exits, restarts a container that dies or falls
 * silent (within a restart budget), records the physical plan and state in
 * KV, and ends the run (FINISHED, KILLED or FAILED). The protocol is the one
 * written down in `transport/wire/`.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import { type ChildHandle, hostname, pid } from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import {
  type ContainerEvent,
  type ContainerRecord,
  type ContainerStats,
  decodeControl,
  decodeEvent,
  encodeMessage,
  runEpoch,
  subjects,
  type TopologyRecord,
  WIRE_VERSION,
  WireError,
  wireMismatch,
} from "../transport/wire/mod.ts";
import type { Records } from "./records.ts";
import { onReconnect } from "../transport/nats_connect.ts";

/** How long the final checkpoint of a finished EFFECTIVELY_ONCE run may take before the run ends without it (ms). */
const FINAL_CHECKPOINT_MS = 30_000;

/** How long the containers of an in-place rollback have to say they are ready before the laggards are killed (ms). */
const ROLLBACK_READY_MS = 30_000;

/** Options of {@link runMaster}. */
export interface MasterOptions {
  nc: NatsConnection;
  records: Records;
  /** The submitted record (state SUBMITTED). */
  record: TopologyRecord;
  /** Starts container `index` as a child process. */
  spawn: (index: number) => ChildHandle;
  log?: (line: string) => void;
  /** Restarts allowed per container before the topology FAILS (default 3). */
  maxRestarts?: number;
  /** A running container silent this long is restarted (default 10 s). */
  silenceMs?: number;
  /** Called when the state changes. */
  onState?: (state: TopologyRecord["state"], error?: string) => void;
  /** Called with each container record the master writes (on ready, then every 2 s with the last heartbeat's counters). */
  onContainer?: (record: ContainerRecord) => void;
  /**
   * A takeover (the previous master is gone, the record RUNNING or PAUSED):
   * the containers still running, by index. The master follows them instead
   * of starting them, and starts the missing ones as after a death.
   */
  adopted?: ReadonlyMap<number, ChildHandle>;
}

type Terminal = "FINISHED" | "KILLED" | "FAILED";

interface Slot {
  child: ChildHandle | null;
  ready: boolean;
  finished: boolean;
  restarts: number;
  startedAt: number;
  heartbeatAt: number;
  pid: number;
  host: string;
  stats: ContainerStats | null;
  /** When the container was found dead (0: not lost). */
  lostAt: number;
  /** Stopped on request (restart, update): its end uses no restart budget. */
  requested: boolean;
}

/**
 * Runs the master of `record`'s topology until it ends; resolves with the
 * final state.
 *
 * @example
 * ```ts
 * import { spawnProcess } from "../runtime/mod.ts";
 * declare const o: MasterOptions, cmd: string, args: string[];
 * const { nc, records, record } = o;
 * const state = await runMaster({ nc, records, record, spawn: (i) => spawnProcess(cmd, [...args, String(i)]) });
 * ```
 */
export async function runMaster(o: MasterOptions): Promise<Terminal> {
  const log = o.log ?? ((l: string) => console.error(l));
  const name = o.record.name;
  const holder = `${hostname()}:${pid()}:${Math.random().toString(36).slice(2, 8)}`;
  const lease = await o.records.acquireLease(name, holder, LEASE_MS);
  if (lease === undefined) {
    throw new ArdeaError("MASTER_EXISTS", `topology "${name}" already has a live master`);
  }
  let lostTo!: (holder: string) => void;
  const lost = new Promise<string>((r) => (lostTo = r));
  const renew = setInterval(() => {
    o.records.renewLease(name, holder, LEASE_MS).then(async (l) => {
      if (l !== undefined) return;
      // A renewal that landed while its reply was lost conflicts with itself: only another holder means lost.
      const now = await o.records.getLease(name);
      if (now === undefined || now.holder === holder) await o.records.acquireLease(name, holder, LEASE_MS);
      else {
        log(`[ardea] master: lost the lease of "${name}" to ${now.holder}`);
        lostTo(now.holder);
      }
    }).catch(() => {});
  }, LEASE_MS / 3);
  try {
    return await supervise(o, lost);
  } finally {
    clearInterval(renew);
    await o.records.releaseLease(name, holder).catch(() => false);
  }
}

/** How long a master's lease lasts without renewal (ms); it is renewed every third of that. */
export const MASTER_LEASE_MS = 6000;
const LEASE_MS = MASTER_LEASE_MS;
/** How long the master keeps trying to record a state while NATS is away (ms). */
const STATE_WRITE_MS = 10 * 60_000;
/** Holder of a lease taken to end a topology whose master is gone ({@link endLostMaster}). */
const LOST_HOLDER = "lost:";
const ACTIVE_STATES: ReadonlySet<string> = new Set(["SUBMITTED", "RUNNING", "PAUSED"]);

/** Options of {@link endLostMaster}. */
export interface EndLostMasterOptions {
  /** Who notices (in the record's error), e.g. `container 1` or `ardea status`. */
  who: string;
  /** Only a record of this run (its `submittedAt`); default any. */
  submittedAt?: number;
  /** How long to wait for a live lease to expire (a master known dead); default 0. */
  waitMs?: number;
  /**
   * How long an expired lease must stay expired before it counts (a master
   * back from a NATS outage renews within {@link LEASE_MS}/3); default 0.
   */
  confirmMs?: number;
  /** Publishes `stop` (FAILED) on the topology's `ctl` so its containers end. */
  nc?: NatsConnection;
}

/**
 * Ends topology `name` FAILED "master lost" when its master's lease has
 * expired and nobody took it over: takes the lease itself (so no master
 * can go on or take over meanwhile), records FAILED, gives the lease up,
 * and with `nc` tells the containers to stop. Resolves true when it ended
 * the topology; false when a master holds the lease, the topology already
 * ended, or another caller won.
 *
 * @example
 * ```ts
 * import type { Records } from "./records.ts";
 * declare const records: Records;
 * if (await endLostMaster(records, "wc", { who: "ardea status", confirmMs: 4000 })) console.log("master lost");
 * ```
 */
export async function endLostMaster(records: Records, name: string, opts: EndLostMasterOptions): Promise<boolean> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const until = Date.now() + (opts.waitMs ?? 0);
  let lease = await records.getLease(name);
  while (lease !== undefined && lease.expiresAt > Date.now()) {
    if (Date.now() >= until) return false;
    await sleep(Math.min(500, Math.max(1, lease.expiresAt - Date.now() + 1)));
    lease = await records.getLease(name);
  }
  const seen = lease?.revision;
  if ((opts.confirmMs ?? 0) > 0) {
    await sleep(opts.confirmMs!);
    lease = await records.getLease(name);
    if (lease?.revision !== seen) return false;
  }
  const rec = await records.getTopology(name);
  const ours = (r: TopologyRecord) => ACTIVE_STATES.has(r.state) && (opts.submittedAt === undefined || r.submittedAt === opts.submittedAt);
  if (rec === undefined || !ours(rec)) return false;
  const holder = `${LOST_HOLDER}${opts.who}`;
  if ((await records.acquireLease(name, holder, LEASE_MS)) === undefined) return false;
  try {
    const expired = lease === undefined ? "it holds no lease" : `its lease expired ${new Date(lease.expiresAt).toISOString()}`;
    let wrote = false;
    await records.updateTopology(name, (r) => {
      wrote = ours(r);
      return wrote ? { ...r, state: "FAILED", error: `${MASTER_LOST}: ${expired} and no master took over (noticed by ${opts.who})` } : undefined;
    });
    if (wrote && opts.nc !== undefined) {
      opts.nc.publish(subjects(name).ctl, encodeMessage({ type: "stop", state: "FAILED" }));
      await opts.nc.flush().catch(() => {});
    }
    return wrote;
  } finally {
    await records.releaseLease(name, holder).catch(() => false);
  }
}

/**
 * The start of the error of a topology that {@link endLostMaster} ended.
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const rec: TopologyRecord;
 * rec.error?.startsWith(MASTER_LOST);
 * ```
 */
export const MASTER_LOST = "master lost";

function supervise(o: MasterOptions, lost: Promise<string>): Promise<Terminal> {
  const log = o.log ?? ((l: string) => console.error(l));
  let rec = o.record;
  const n = rec.containers;
  const subj = subjects(rec.name);
  const maxRestarts = o.maxRestarts ?? 3;
  const silenceMs = o.silenceMs ?? 10_000;
  const slots: Slot[] = Array.from({ length: n }, () => ({
    child: null,
    ready: false,
    finished: false,
    restarts: 0,
    startedAt: 0,
    heartbeatAt: 0,
    pid: 0,
    host: "",
    stats: null,
    lostAt: 0,
    requested: false,
  }));
  const tasksOf = (i: number) => Object.entries(rec.packing).filter(([, c]) => c === i).map(([t]) => Number(t));
  let started = false;
  let ending: Terminal | null = null;
  let killing = false;
  let updating = false;
  /** Between the last container's stop and the start of the next generation. */
  let relaunching = false;
  /** An update asked for while a relaunch was under way. */
  let updatePending = false;
  /** Deactivated by the user (ardea deactivate), not by an update's drain. */
  let paused = false;
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  const subs: Subscription[] = [];
  let resolveEnd!: (s: Terminal) => void;
  const ended = new Promise<Terminal>((r) => (resolveEnd = r));

  /**
   * Records `state`, retrying while NATS is away (a final state must reach
   * the record once NATS is back) for up to {@link STATE_WRITE_MS}. A
   * RUNNING write still pending when the run ends gives way to the final one.
   */
  const setState = async (state: TopologyRecord["state"], error?: string) => {
    o.onState?.(state, error);
    const final = state === "FINISHED" || state === "KILLED" || state === "FAILED";
    const until = Date.now() + STATE_WRITE_MS;
    for (let attempt = 1;; attempt++) {
      if (!final && ending !== null) return;
      try {
        await o.records.updateTopology(rec.name, (r) =>
          !final && ending !== null ? undefined : { ...r, state, updatedAt: Date.now(), ...(error ? { error } : {}) }
        );
        if (attempt > 1) log(`[ardea] master: recorded state ${state} of "${rec.name}" after ${attempt} attempts`);
        return;
      } catch (e) {
        if (attempt === 1) log(`[ardea] master: cannot record state ${state} of "${rec.name}" (${(e as Error).message}); retrying`);
        if (Date.now() >= until) {
          log(`[ardea] master: gave up recording state ${state}${error ? ` (${error})` : ""} of "${rec.name}": ${(e as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  /**
   * Records PAUSED or RUNNING after a deactivate or activate, unless the
   * other one came since (the write is checked against the latest request
   * when it lands: a slow write of an older request must not undo a newer).
   */
  const setPaused = async (p: boolean) => {
    const state = p ? "PAUSED" : "RUNNING";
    o.onState?.(state);
    try {
      await o.records.updateTopology(rec.name, (r) =>
        paused === p && ending === null && (r.state === "RUNNING" || r.state === "PAUSED") && r.state !== state
          ? { ...r, state, updatedAt: Date.now() }
          : undefined
      );
    } catch (e) {
      log(`[ardea] master: cannot record state ${state}: ${(e as Error).message}`);
    }
  };

  const writeContainer = (i: number) => {
    const s = slots[i]!;
    const record: ContainerRecord = {
      version: WIRE_VERSION,
      topology: rec.name,
      container: i,
      pid: s.pid,
      host: s.host,
      tasks: tasksOf(i),
      startedAt: s.startedAt,
      heartbeatAt: s.heartbeatAt,
      restarts: s.restarts,
      backpressure: s.stats?.backpressure ?? false,
      stats: s.stats ?? undefined,
    };
    o.onContainer?.(record);
    o.records.putContainer(record).catch((e: Error) => log(`[ardea] master: cannot record container ${i}: ${e.message}`));
  };

  const start = (i: number) => follow(i, o.spawn(i), false);
  /** Watches container `i`'s process `child` (just started, or adopted from a previous master: `ready`). */
  const follow = (i: number, child: ChildHandle, ready: boolean) => {
    const s = slots[i]!;
    s.ready = ready;
    s.startedAt = Date.now();
    s.heartbeatAt = Date.now();
    s.child = child;
    child.exited.then((exit) => {
      if (s.child !== child) return;
      s.child = null;
      if (ending !== null || killing) return maybeDone();
      if (updating) return relaunchWhenAllStopped();
      if (exit.code === 0 && s.finished) return maybeDone();
      const why = `container ${i} exited (${exit.signal ?? `code ${exit.code}`})`;
      if (eo) {
        // Every container restarts together from the checkpoint; a requested restart uses no budget.
        const requested = s.requested;
        s.requested = false;
        return rollbackAll(requested ? `container ${i} restarted as requested` : why, !requested);
      }
      if (s.requested) {
        s.requested = false;
        log(`[ardea] master: restarting container ${i} as requested`);
        s.lostAt = Date.now();
        if (started) o.nc.publish(subj.ctl, encodeMessage({ type: "lost", container: i }));
        start(i);
        return;
      }
      if (++s.restarts > maxRestarts) {
        void end("FAILED", `${why}; it died ${s.restarts} times, past the restart budget of ${maxRestarts}`);
        return;
      }
      log(`[ardea] master: ${why}; restarting it (${s.restarts}/${maxRestarts})`);
      s.finished = false;
      s.lostAt = Date.now();
      if (started) o.nc.publish(subj.ctl, encodeMessage({ type: "lost", container: i }));
      start(i);
    }, (e: Error) => void end("FAILED", `container ${i} could not be started: ${e.message}`));
  };

  let epoch = runEpoch(rec.submittedAt, rec.generation);
  const onEvent = (e: ContainerEvent) => {
    const s = slots[e.container];
    // A container of another run (left over from an earlier submission of this name) is not ours.
    if (s === undefined || e.epoch !== epoch) return;
    switch (e.type) {
      case "ready":
        if (e.wire !== WIRE_VERSION) return void end("FAILED", wireMismatch(e));
        s.ready = true;
        // A container without tasks (a plan with more containers than tasks) has nothing to finish.
        if (tasksOf(e.container).length === 0) s.finished = true;
        s.pid = e.pid;
        s.host = e.host;
        s.heartbeatAt = Date.now();
        writeContainer(e.container);
        if (started && s.lostAt > 0) {
          o.nc.publish(subj.ctl, encodeMessage({ type: "rejoin", container: e.container }));
          log(`[ardea] master: container ${e.container} rejoined ${Date.now() - s.lostAt} ms after it was lost`);
          s.lostAt = 0;
        }
        if (slots.every((x) => x.ready) || started) {
          o.nc.publish(subj.ctl, encodeMessage({ type: "start" }));
          // A topology paused by the user stays paused across restarts and relaunches.
          if (paused) o.nc.publish(subj.ctl, encodeMessage({ type: "deactivate" }));
          if (!started) {
            started = true;
            void setState("RUNNING");
            if (updatePending) {
              updatePending = false;
              void update();
            }
          }
          // The others may have finished while this (empty) one restarted.
          if (slots.every((x) => x.finished)) void finish();
        }
        break;
      case "heartbeat":
        s.heartbeatAt = Date.now();
        s.pid = e.pid;
        s.host = e.host;
        s.stats = e.stats;
        break;
      case "finished":
        s.finished = true;
        if (slots.every((x) => x.finished)) void finish();
        break;
      case "saved":
        if (ck !== null && e.id === ck.id) {
          ck.saved.add(e.container);
          ck.tasks.push(...e.tasks);
          if (slots.every((_, i) => ck!.saved.has(i))) void commit(ck);
        }
        break;
      case "rollback":
        rollbackAll(`container ${e.container}: ${e.error}`);
        break;
      case "failed":
        void end("FAILED", `container ${e.container}: ${e.error}`);
        break;
    }
  };

  /**
   * Every container finished: EFFECTIVELY_ONCE first commits one last
   * checkpoint of the final states (its `committed` reaches the containers
   * before `stop`, so two-phase sinks publish what came after the previous
   * one), then the run ends FINISHED.
   */
  let finishing = false;
  const finish = async () => {
    if (finishing || ending !== null) return;
    finishing = true;
    if (eo && backend !== null) {
      await checkpointNow(Date.now() + FINAL_CHECKPOINT_MS, "the end of the run");
      await committing;
      if (ending !== null) return;
      // A rollback meanwhile (a container died) starts the run again: it finishes later.
      if (!slots.every((x) => x.finished)) return void (finishing = false);
    }
    void end("FINISHED");
  };

  const end = async (state: Terminal, error?: string) => {
    if (ending !== null) return;
    ending = state;
    if (error) log(`[ardea] topology "${rec.name}" ${state}: ${error}`);
    const stop = encodeMessage({ type: "stop", state });
    o.nc.publish(subj.ctl, stop);
    // Recorded while the containers stop: with NATS away it may take until NATS is back.
    const recorded = setState(state, error);
    // `stop` may be lost (a NATS server restart): say it again until every container is gone.
    const again = setInterval(() => o.nc.publish(subj.ctl, stop), 2000);
    const grace = setTimeout(() => {
      for (const s of slots) s.child?.kill("SIGKILL");
    }, 10_000);
    await Promise.allSettled(slots.map((s) => s.child?.exited));
    clearTimeout(grace);
    clearInterval(again);
    for (const x of subs) x.unsubscribe();
    clearInterval(watch);
    for (const t of timers) clearTimeout(t);
    await recorded;
    resolveEnd(state);
  };

  // ------------------------------------------------ EFFECTIVELY_ONCE checkpoints
  const eo = rec.config["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
  const backend = eo ? new NatsStateBackend(o.nc) : null;
  let lastId = 0;
  let ck: { id: number; saved: Set<number>; tasks: string[] } | null = null;
  let rollbacks = 0;
  const rollbackBudget = Number(rec.config["topology.supervisor.max.consecutive.failures"] ?? 20);
  let ckStarted = 0;
  if (backend) {
    const every = Number(rec.config["topology.stateful.checkpoint.interval.seconds"] ?? 1) * 1000;
    // A checkpoint not complete within this is abandoned (a container missed its trigger).
    const giveUpMs = Math.max(10 * every, 30_000);
    const trigger = setInterval(() => {
      if (ending !== null) return clearInterval(trigger);
      if (ck !== null && Date.now() - ckStarted > giveUpMs) {
        log(`[ardea] master: checkpoint ${ck.id} of "${rec.name}" did not complete within ${giveUpMs} ms; abandoned`);
        ck = null;
      }
      if (!started || updating || ck !== null) return;
      ck = { id: ++lastId, saved: new Set(), tasks: [] };
      ckStarted = Date.now();
      o.nc.publish(subj.ctl, encodeMessage({ type: "checkpoint", id: ck.id }));
    }, every);
    timers.push(trigger);
  }

  /** The commit being written, if any: a relaunch picks its checkpoint after it. */
  let committing: Promise<void> = Promise.resolve();
  const commit = (c: { id: number; tasks: string[] }): Promise<void> => {
    const p = writeCommit(c);
    committing = p;
    return p;
  };
  const writeCommit = async (c: { id: number; tasks: string[] }) => {
    try {
      await backend!.commit(rec.name, c.id, { tasks: c.tasks });
      if (ck?.id === c.id) ck = null;
      rollbacks = 0;
      o.nc.publish(subj.ctl, encodeMessage({ type: "committed", id: c.id }));
      await backend!.prune(rec.name, Number(rec.config["topology.stateful.checkpoints.kept"] ?? 2)).catch(() => {});
    } catch (e) {
      log(`[ardea] master: checkpoint ${c.id} of "${rec.name}" could not be committed: ${(e as Error).message}`);
      if (ck?.id === c.id) ck = null;
      // A stale id (the backend holds a newer commit): count from the newest.
      const newest = await backend!.lastCommitted(rec.name).catch(() => undefined);
      lastId = Math.max(lastId, newest?.checkpointId ?? 0);
    }
  };

  /** EFFECTIVELY_ONCE failure: every container restarts from the last committed checkpoint. */
  const rollbackAll = (why: string, counted = true) => {
    if (ending !== null || updating) return;
    if (counted && ++rollbacks > rollbackBudget) {
      void end("FAILED", `${why}; ${rollbacks - 1} rollbacks in a row without a new checkpoint`);
      return;
    }
    log(`[ardea] master: "${rec.name}": ${why}; every container rolls back to the last committed checkpoint`);
    ck = null;
    updating = true;
    void rollbackInPlace();
  };

  /**
   * The next generation, in place: live containers reset their tasks from
   * the checkpoint without exiting (`rollback` on ctl, said again until
   * each is ready); only a container whose process is gone is started
   * again. One that stays unready is killed, and its death rolls back again.
   */
  const rollbackInPlace = async () => {
    relaunching = true;
    started = false;
    const plan = JSON.stringify([rec.packing, rec.components, rec.parallelism]);
    await nextGeneration();
    if (ending !== null) return void (relaunching = false);
    if (JSON.stringify([rec.packing, rec.components, rec.parallelism]) !== plan) {
      // The generation also started a plan `ardea update` asked for: new processes run it.
      log(`[ardea] master: "${rec.name}": generation ${rec.generation} runs a new plan; restarting every container`);
      const stopping = slots.filter((x) => x.child !== null).map((x) => x.child!.exited);
      stopAll();
      await Promise.allSettled(stopping);
      relaunching = false;
      updating = false;
      for (let i = 0; i < n; i++) if (slots[i]!.child === null && ending === null) restartSlot(i);
      return;
    }
    relaunching = false;
    updating = false;
    const generation = rec.generation ?? 0;
    const say = encodeMessage({ type: "rollback", generation, restoreFrom: rec.restoreFrom ?? 0 });
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      s.ready = false;
      s.finished = false;
      s.stats = null;
      s.lostAt = 0;
      if (s.child === null) restartSlot(i);
    }
    o.nc.publish(subj.ctl, say);
    const since = Date.now();
    let ticks = 0;
    // Said again every 250 ms for 2 s (a container reconnecting after a NATS restart
    // may miss the first), then every 2 s.
    const again = setInterval(() => {
      const superseded = ending !== null || (rec.generation ?? 0) !== generation;
      if (superseded || slots.every((x) => x.ready)) return clearInterval(again);
      if (++ticks > 8 && ticks % 8 !== 0) return;
      if (Date.now() - since > ROLLBACK_READY_MS) {
        clearInterval(again);
        for (const [i, x] of slots.entries()) {
          if (x.ready || x.child === null) continue;
          log(`[ardea] master: container ${i} did not reset within ${ROLLBACK_READY_MS / 1000} s; killing it`);
          x.child.kill("SIGKILL");
        }
        return;
      }
      o.nc.publish(subj.ctl, say);
    }, 250);
    timers.push(again);
  };

  /** Starts slot `i` of a new generation afresh. */
  const restartSlot = (i: number) => {
    const s = slots[i]!;
    s.finished = false;
    s.stats = null;
    start(i);
  };

  /**
   * Stops every container: SIGTERM, then SIGKILL for one that is still there
   * after 10 s. Only the processes stopped now: by then their slots may hold
   * the next incarnation, which must live.
   */
  const stopAll = () => {
    const stopping = slots.map((s) => s.child).filter((c): c is ChildHandle => c !== null);
    for (const c of stopping) c.kill("SIGTERM");
    const grace = setTimeout(() => {
      for (const c of stopping) if (slots.some((s) => s.child === c)) c.kill("SIGKILL");
    }, 10_000);
    timers.push(grace);
  };

  /**
   * Takes a checkpoint now (after the one in progress, if any) and waits
   * for its commit, until `until` (ms since the epoch); false if it did not
   * commit in time (the update then starts from the last committed one).
   */
  const checkpointNow = async (until: number, before = "the update"): Promise<boolean> => {
    const wait = () => new Promise((r) => setTimeout(r, 20));
    while (ck !== null && Date.now() < until) await wait();
    if (ck !== null || ending !== null) return false;
    const id = ++lastId;
    ck = { id, saved: new Set(), tasks: [] };
    ckStarted = Date.now();
    o.nc.publish(subj.ctl, encodeMessage({ type: "checkpoint", id }));
    while (ck?.id === id && Date.now() < until && ending === null) await wait();
    const done = (await backend!.lastCommitted(rec.name).catch(() => undefined))?.checkpointId === id;
    log(`[ardea] master: "${rec.name}": ${done ? `checkpoint ${id} committed before ${before}` : `checkpoint ${id} did not commit in time before ${before}; the last committed one stands`}`);
    return done;
  };

  /** `ardea update`: drain, stop every container, start them on the record's new plan. */
  const update = async () => {
    if (ending !== null) return;
    if (updating) {
      // A rollback or another update is under way: this one follows once the topology runs again.
      if (!updatePending) log(`[ardea] master: "${rec.name}": the update waits for the relaunch under way`);
      updatePending = true;
      return;
    }
    updating = true;
    log(`[ardea] master: updating "${rec.name}": draining, then restarting every container on the new plan`);
    o.nc.publish(subj.ctl, encodeMessage({ type: "deactivate" }));
    const until = Date.now() + 10_000;
    while (Date.now() < until && slots.some((s) => (s.stats?.pending ?? 0) > 0)) await new Promise((r) => setTimeout(r, 100));
    // EFFECTIVELY_ONCE: a fresh checkpoint of the drained topology, so the new
    // plan starts from it (keyed state repartitioned) with nothing to replay.
    if (backend !== null && started) await checkpointNow(until);
    const fresh = await o.records.getTopology(rec.name).catch(() => undefined);
    if (fresh) rec = fresh;
    ck = null;
    stopAll();
    relaunchWhenAllStopped();
  };

  const relaunchWhenAllStopped = () => {
    if (!updating || relaunching || slots.some((s) => s.child !== null)) return;
    // Still updating until every container is started again: a rollback asked
    // for meanwhile (the write of the generation may take seconds) must not
    // start a second set of containers over the first.
    relaunching = true;
    started = false;
    void nextGeneration().then(() => {
      relaunching = false;
      updating = false;
      if (ending !== null) return;
      for (let i = 0; i < n; i++) {
        const s = slots[i]!;
        s.finished = false;
        s.stats = null;
        start(i);
      }
    });
  };

  /**
   * A new generation of the run, recorded before any container starts (they
   * read it): frames and events of the stopped processes no longer count. If
   * the record cannot be written, the generation stays (every container
   * still agrees on the epoch).
   */
  const nextGeneration = async () => {
    const generation = (rec.generation ?? 0) + 1;
    const restoreFrom = await restorePoint();
    try {
      // A plan `ardea update` wrote starts with this generation, for all its containers at once.
      const next = await o.records.updateTopology(rec.name, ({ nextPlan, ...r }) => ({
        ...r,
        ...(nextPlan ?? {}),
        generation,
        ...(restoreFrom === undefined ? {} : { restoreFrom }),
        updatedAt: Date.now(),
      }));
      rec = { ...next, generation };
      epoch = runEpoch(rec.submittedAt, generation);
    } catch (e) {
      log(`[ardea] master: cannot record generation ${generation} of "${rec.name}": ${(e as Error).message}`);
      // A timed-out write may still have landed: use what the record holds,
      // as the containers will (an epoch of its own would drop all their events).
      for (let i = 0; i < 10 && ending === null; i++) {
        const held = await o.records.getTopology(rec.name).catch(() => null);
        if (held) {
          // The whole record: a write that landed also made its nextPlan the running plan.
          rec = held;
          epoch = runEpoch(held.submittedAt, held.generation);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  /**
   * EFFECTIVELY_ONCE: the checkpoint the next generation restores, read once
   * no commit is in flight (a commit landing while containers start would let
   * some restore it and others the one before). Undefined when it cannot be
   * read: the record keeps its previous choice.
   */
  const restorePoint = async (): Promise<number | undefined> => {
    if (backend === null) return undefined;
    await Promise.race([committing, new Promise((r) => setTimeout(r, 15_000))]);
    for (let attempt = 0; attempt < 10 && ending === null; attempt++) {
      try {
        const last = await backend.lastCommitted(rec.name);
        const id = last?.checkpointId ?? 0;
        lastId = Math.max(lastId, id);
        return id;
      } catch (e) {
        log(`[ardea] master: cannot read the last checkpoint of "${rec.name}" (${(e as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    return undefined;
  };

  const maybeDone = () => {
    if (slots.some((s) => s.child !== null)) return;
    if (ending === null) void end(killing ? "KILLED" : slots.every((s) => s.finished) ? "FINISHED" : "FAILED");
  };

  if (eo) {
    // Events sent while the master was away (saved, finished, ready) are lost: start over from the checkpoint.
    const off = onReconnect(o.nc, () => rollbackAll(`the master's NATS connection to ${o.nc.getServer()} was re-established`));
    void ended.then(off);
  }
  subs.push(o.nc.subscribe(subj.events, {
    callback: (err, msg) => {
      if (err) return;
      try {
        onEvent(decodeEvent(msg.data));
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        log(`[ardea] master: dropped a malformed event: ${e.message}`);
      }
    },
  }));
  subs.push(o.nc.subscribe(subj.ctl, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const m = decodeControl(msg.data);
        if (m.type === "kill") killing = true;
        else if (m.type === "update") void update();
        else if (m.type === "restart") {
          for (let i = 0; i < n; i++) {
            const s = slots[i]!;
            if ((m.container === undefined || m.container === i) && s.child !== null) {
              s.requested = true;
              s.child.kill("SIGTERM");
            }
          }
        }
        else if (m.type === "deactivate" && ending === null && !updating) {
          paused = true;
          void setPaused(true);
        } else if (m.type === "activate" && ending === null && started) {
          paused = false;
          void setPaused(false);
        }
      } catch {
        // Malformed control messages are the containers' to count.
      }
    },
  }));

  // Silence is measured only while the master itself is connected: its own
  // outage is no container's fault, and the clocks start again when it is back.
  let connected = !o.nc.isClosed();
  void (async () => {
    for await (const st of o.nc.status()) {
      if (st.type === "disconnect") connected = false;
      else if (st.type === "reconnect") {
        connected = true;
        const now = Date.now();
        for (const x of slots) x.heartbeatAt = Math.max(x.heartbeatAt, now);
      }
      if (ending !== null) break;
    }
  })().catch(() => {});
  const watch = setInterval(() => {
    if (!connected) return;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s.child === null) continue;
      if (started && !s.finished && now - s.heartbeatAt > silenceMs) {
        log(`[ardea] master: container ${i} silent for ${now - s.heartbeatAt} ms; killing it`);
        s.heartbeatAt = now;
        s.child.kill("SIGKILL");
      } else if (s.ready) writeContainer(i);
    }
  }, 2000);

  // Another master took the lease (this one was cut off and presumed dead):
  // leave the containers to it. A lease taken to end the topology ends it here too.
  void lost.then((by) => {
    if (ending !== null) return;
    if (by.startsWith(LOST_HOLDER)) return void end("FAILED", `${MASTER_LOST}: the lease expired and ${by.slice(LOST_HOLDER.length)} ended the topology`);
    log(`[ardea] master: "${rec.name}" has another master (${by}); this one steps down and leaves its containers running`);
    ending = "FAILED";
    for (const x of subs) x.unsubscribe();
    clearInterval(watch);
    for (const t of timers) clearTimeout(t);
    resolveEnd("FAILED");
  });

  const newest = backend ? backend.lastCommitted(rec.name).catch(() => undefined) : Promise.resolve(undefined);
  Promise.all([o.nc.flush(), newest]).then(([, c]) => {
    lastId = Math.max(lastId, c?.checkpointId ?? 0);
    if (o.adopted === undefined) {
      for (let i = 0; i < n; i++) start(i);
      return;
    }
    // A takeover: the run goes on; what was sent while nobody listened is lost.
    started = true;
    paused = rec.state === "PAUSED";
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const child = o.adopted.get(i);
      if (child !== undefined) follow(i, child, true);
      else missing.push(i);
    }
    log(`[ardea] master: took over "${rec.name}" (generation ${rec.generation ?? 0}): following ${n - missing.length} running container(s)${missing.length ? `, starting ${missing.join(", ")}` : ""}`);
    if (eo) return rollbackAll("a new master took over (checkpoint events may be lost)", false);
    for (const i of missing) {
      slots[i]!.lostAt = Date.now();
      o.nc.publish(subj.ctl, encodeMessage({ type: "lost", container: i }));
      start(i);
    }
  });
  return ended;
}
