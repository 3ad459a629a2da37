/**
 * CPU time (user + system, all threads) of processes, read from Linux
 * `/proc/<pid>/stat`, for `cpu-per-word`. {@link CpuWatch} follows the
 * process tree of a run — the children this process spawns for it and all
 * their descendants — plus fixed processes outside it (nats-server), polls
 * them, and takes snapshots at chosen moments (RUNNING, FINISHED).
 *
 * A process's times leave /proc when its parent reaps it (a zombie still
 * shows them). For the children of this process they are recovered exactly:
 * the kernel adds a reaped child's times, its own and those of the
 * descendants it reaped, to this process's cutime/cstime. A deeper
 * descendant reaped by its own parent keeps the times of its last poll;
 * {@link CpuWatch.stop} says how much polling missed in all.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Clock ticks per second of /proc's times (`getconf CLK_TCK`; 100 when it
 * cannot be asked).
 *
 * @example
 * ```ts
 * const msPerTick = 1000 / clockTicks();
 * ```
 */
export function clockTicks(): number {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // no getconf: Linux's usual value below
  }
  return 100;
}

/** The fields of `/proc/<pid>/stat` this module uses. */
export interface ProcStat {
  /** R, S, Z (zombie: exited, not reaped yet; its times are final), … */
  state: string;
  ppid: number;
  /** utime + stime of every thread, in clock ticks. */
  ticks: number;
  /** cutime + cstime: times of the reaped children (and what they reaped), in clock ticks. */
  childTicks: number;
  /** Start time since boot, in clock ticks: tells a reused pid apart. */
  start: number;
}

/**
 * Reads `/proc/<pid>/stat`; undefined once the process is gone (or on a
 * system without /proc).
 *
 * @example
 * ```ts
 * const me = readStat("self");
 * console.log(me?.ticks, me?.childTicks);
 * ```
 */
export function readStat(pid: number | "self"): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may hold spaces: count fields after its last ")".
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[k] is field k + 3 of proc(5): state 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
  return {
    state: f[0]!,
    ppid: Number(f[1]),
    ticks: Number(f[11]) + Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
    start: Number(f[19]),
  };
}

function readArgv(pid: number | "self"): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
  } catch {
    return [];
  }
}

/** One process a {@link CpuWatch} follows. */
export interface WatchedProcess {
  pid: number;
  /** What {@link Classify} made of it (e.g. "master", "containers", "nats"); "" until it has exec'd its program. */
  group: string;
  /** Finer name within the group (e.g. "c0" for container 0). */
  label: string;
  /** Started from this process (its times are recovered exactly once it is reaped). */
  direct: boolean;
  /** Outside the run's tree (nats-server): not part of the run's own total. */
  fixed: boolean;
  /** Pid of the watched process it descends from (0: none). */
  parent: number;
  /** Start time from /proc (a reused pid is another process). */
  start: number;
  /** Clock ticks of the last poll. */
  ticks: number;
  /** No longer in /proc (reaped). */
  gone: boolean;
  /** Parent pid when first seen. */
  ppid: number;
  /** Re-parented (its parent exited first): its times will not reach this process's cutime. */
  orphan: boolean;
  /** Exact final clock ticks (direct children without descendants, once reaped). */
  final?: number;
}

/** Names a newly seen process of the run from its argv and its watched parent (undefined: a child of this process). */
export type Classify = (argv: string[], parent: WatchedProcess | undefined) => { group: string; label?: string };

/**
 * CPU ms of each watched process at one moment, by pid. `stale`: it was
 * reaped by a parent other than this process, so `ms` is its last poll.
 */
export type CpuSnapshot = Map<number, { group: string; label: string; fixed: boolean; ms: number; stale: boolean }>;

/** What {@link CpuWatch.stop} knows once the run's processes are all reaped. */
export interface CpuTotals {
  /**
   * CPU ms of the run's whole tree: what this process's cutime + cstime grew
   * by (exact), plus the last poll of each orphan (a process whose parent
   * exited before it, so nobody of the run reaped it).
   */
  exactMs: number;
  /** The same summed from the last poll of each process: what polling alone would report. */
  polledMs: number;
  /** Processes of the run seen in all. */
  processes: number;
  /** Of these, orphans (see exactMs). */
  orphans: number;
}

/** Options of {@link CpuWatch}. */
export interface CpuWatchOptions {
  classify: Classify;
  /** Processes outside the run's tree to follow too, by group (e.g. `{ nats: pid }`). */
  fixed?: Record<string, number>;
  /** Poll interval (ms, default 25). */
  pollMs?: number;
  /** How often /proc is scanned for new descendants (ms, default 250; every snapshot scans too). */
  scanMs?: number;
  /** From {@link clockTicks}. */
  ticksPerSecond: number;
}

/**
 * Follows the CPU time of a run's processes. Create it before spawning the
 * run (it notes this process's cutime then), {@link addChild} each process
 * spawned, {@link snapshot} at the moments that matter, {@link stop} once
 * every process of the run has exited and been reaped.
 *
 * @example
 * ```ts
 * import { spawnProcess } from "../runtime/mod.ts";
 * declare const natsPid: number, cmd: string, args: string[];
 * const w = new CpuWatch({ classify: () => ({ group: "worker" }), fixed: { nats: natsPid }, ticksPerSecond: clockTicks() });
 * const child = spawnProcess(cmd, args);
 * w.addChild(child.pid!);
 * const atStart = w.snapshot();
 * await child.exited;
 * const atEnd = w.snapshot();
 * const totals = w.stop();
 * ```
 */
export class CpuWatch {
  readonly #procs = new Map<number, WatchedProcess>();
  readonly #o: CpuWatchOptions;
  readonly #msPerTick: number;
  readonly #baseChildTicks: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #lastScan = 0;

  constructor(o: CpuWatchOptions) {
    this.#o = o;
    this.#msPerTick = 1000 / o.ticksPerSecond;
    const me = readStat("self");
    if (me === undefined) throw new Error("cpu-per-word needs Linux /proc (no /proc/self/stat here)");
    this.#baseChildTicks = me.childTicks;
    for (const [group, pid] of Object.entries(o.fixed ?? {})) {
      this.#add(pid, { direct: false, fixed: true, parent: 0 }, { group });
    }
    this.#timer = setInterval(() => {
      if (performance.now() - this.#lastScan >= (o.scanMs ?? 250)) this.#scan();
      this.#poll();
    }, o.pollMs ?? 25);
  }

  /** Follows `pid`, a child this process just spawned for the run. */
  addChild(pid: number): void {
    this.#add(pid, { direct: true, fixed: false, parent: 0 });
  }

  /**
   * CPU ms of every watched process now (a reaped one: its final figure).
   * The processes already known are read first (within a millisecond), then
   * /proc is scanned (a few ms) for new ones.
   */
  snapshot(): CpuSnapshot {
    // Reaping between the two reads of cutime would count a child twice: read again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = readStat("self")!.childTicks;
      this.#poll();
      const after = readStat("self")!.childTicks;
      if (before === after) {
        this.#settle(after);
        break;
      }
    }
    this.#scan();
    const snap: CpuSnapshot = new Map();
    for (const p of this.#procs.values()) {
      const ms = (p.final ?? p.ticks) * this.#msPerTick;
      // Still unnamed: it exited (or is reaped) before its program ran.
      const group = p.group || "unnamed";
      snap.set(p.pid, { group, label: p.label || group, fixed: p.fixed, ms, stale: p.gone && p.final === undefined });
    }
    return snap;
  }

  /** Stops polling; call once the run's processes are all reaped. */
  stop(): CpuTotals {
    clearInterval(this.#timer);
    let exact = readStat("self")!.childTicks - this.#baseChildTicks;
    let polled = 0, processes = 0, orphans = 0;
    for (const p of this.#procs.values()) {
      if (p.fixed) continue;
      polled += p.ticks;
      processes++;
      if (p.orphan) {
        exact += p.ticks;
        orphans++;
      }
    }
    return { exactMs: exact * this.#msPerTick, polledMs: polled * this.#msPerTick, processes, orphans };
  }

  #add(pid: number, at: Pick<WatchedProcess, "direct" | "fixed" | "parent">, name?: { group: string }): void {
    const st = readStat(pid);
    if (st === undefined || this.#procs.has(pid)) return;
    const p: WatchedProcess = {
      pid,
      group: name?.group ?? "",
      label: name?.group ?? "",
      ...at,
      start: st.start,
      ticks: st.ticks,
      gone: false,
      ppid: st.ppid,
      orphan: false,
    };
    this.#procs.set(pid, p);
    this.#name(p);
  }

  /**
   * Classifies `p` once it runs its own program: a child just spawned may
   * not have exec'd yet (Deno returns from spawn before that), its command
   * line then empty or its parent's.
   */
  #name(p: WatchedProcess): void {
    if (p.group !== "") return;
    const parent = p.direct ? undefined : this.#procs.get(p.parent);
    if (parent !== undefined && parent.group === "") return;
    const argv = readArgv(p.pid);
    if (argv.length === 0 || argv.join("\0") === readArgv(p.direct ? "self" : p.parent).join("\0")) return;
    const n = this.#o.classify(argv, parent);
    p.group = n.group;
    p.label = n.label ?? n.group;
  }

  /** Adds the descendants of the run's processes that /proc shows now. */
  #scan(): void {
    this.#lastScan = performance.now();
    const parentOf = new Map<number, number>();
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return;
    }
    for (const e of entries) {
      const pid = Number(e);
      if (!Number.isInteger(pid) || this.#procs.has(pid)) continue;
      const st = readStat(pid);
      if (st !== undefined) parentOf.set(pid, st.ppid);
    }
    // Parents before children: repeat until no new process joins.
    for (let added = true; added;) {
      added = false;
      for (const [pid, ppid] of parentOf) {
        const parent = this.#procs.get(ppid);
        if (parent === undefined || parent.fixed || parent.gone) continue;
        this.#add(pid, { direct: false, fixed: false, parent: ppid });
        parentOf.delete(pid);
        added = true;
      }
    }
  }

  #poll(): void {
    for (const p of this.#procs.values()) {
      if (p.gone) continue;
      const st = readStat(p.pid);
      if (st === undefined || st.start !== p.start) p.gone = true;
      else {
        p.ticks = st.ticks;
        if (st.ppid !== p.ppid) p.orphan = true;
        this.#name(p);
      }
    }
  }

  /**
   * Gives the children of this process reaped since the last call their
   * exact final times: what cutime + cstime grew by beyond the finals
   * already given (split by their last polls when several went at once).
   */
  #settle(childTicks: number): void {
    const direct = [...this.#procs.values()].filter((p) => p.direct);
    const fresh = direct.filter((p) => p.gone && p.final === undefined);
    if (fresh.length === 0) return;
    const hasDescendants = (p: WatchedProcess) => [...this.#procs.values()].some((q) => q.parent === p.pid);
    const rest = childTicks - this.#baseChildTicks - direct.reduce((s, p) => s + (p.final ?? 0), 0);
    const polled = fresh.reduce((s, p) => s + p.ticks, 0);
    for (const p of fresh) {
      const share = fresh.length === 1 ? rest : polled > 0 ? (rest * p.ticks) / polled : rest / fresh.length;
      // A child that had descendants reaped some of them itself: its share is not its own alone.
      p.final = hasDescendants(p) ? p.ticks : Math.max(p.ticks, share);
    }
  }
}

/**
 * Sums a snapshot's CPU ms over the processes `pick` accepts.
 *
 * @example
 * ```ts
 * declare const snap: CpuSnapshot;
 * const natsMs = sumMs(snap, (p) => p.group === "nats");
 * ```
 */
export function sumMs(
  snap: CpuSnapshot,
  pick: (p: { group: string; label: string; fixed: boolean }) => boolean = () => true,
): number {
  let s = 0;
  for (const p of snap.values()) if (pick(p)) s += p.ms;
  return s;
}
