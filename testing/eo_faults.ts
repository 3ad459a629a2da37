/**
 * Seeded fault schedules for EFFECTIVELY_ONCE runs of
 * `examples/word_count.ts`, and the runners that apply them: a seed picks
 * the faults (kinds and moments), the runner applies them to a real run and
 * reports whether the counts are exactly the truth, with how long each
 * recovery took. A failing seed is reproduced by running that seed alone
 * (`ARDEA_EO_SEED_BASE=<seed> ARDEA_EO_DIST_SEEDS=1`).
 *
 * Faults, distributed (2 containers over NATS, `ardea submit --wait`):
 * - `kill`: container c killed with SIGKILL at a random moment;
 * - `nats`: a NATS server stopped (SIGTERM or SIGKILL) and started again on
 *   the same port with its JetStream store kept, after a random time down;
 *   on a 3-server cluster (KV and state with 3 replicas) one server is
 *   stopped and started again, or lost for good (`lose`);
 * - `stall`: container c frozen (SIGSTOP) for a while, then thawed;
 * - `gap`: a data frame lost in NATS with no disconnect anywhere: container
 *   c receives a frame whose sequence number skips (a forged, empty one);
 * - bolt throws: `--chaos P` makes `split` crash on purpose now and then.
 *
 * Faults, embedded (one process, `--state-dir`): the process is killed with
 * SIGKILL at random moments, or at a named fault point of its state
 * (`ARDEA_FAULT_AT`: before a save, between saves, during a commit, right
 * after it, during a prune, during the restore), and started again with the
 * same state folder, with bolt throws as above.
 *
 * @example
 * ```ts
 * import { distSchedule, runDistributed } from "./eo_faults.ts";
 * const r = await runDistributed(distSchedule(7));
 * if (!r.exact) throw new Error(r.report);
 * ```
 *
 * @module
 */
import process from "node:process";
import { readdirSync } from "node:fs";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import { DataFrameWriter, decodeControl, decodeEvent, runEpoch, subjects } from "../transport/wire/mod.ts";
import {
  ardeaRoot,
  type ChildHandle,
  fileExists,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { type NatsHandle, startNats } from "./nats_server.ts";
import { STATE_BUCKET } from "../state/nats_state_backend.ts";
import { ardeaCmd, collect } from "./child.ts";
// A seed gives the same schedule on every runtime.
import { mulberry32 as prng } from "./random.ts";
import { sleep, until, withinOrNull } from "./wait.ts";

/** One fault of a distributed run; `atMs` counts from the first committed checkpoint. */
export type DistFault =
  | { kind: "kill"; atMs: number; container: number }
  | { kind: "gap"; atMs: number; container: number }
  | { kind: "stall"; atMs: number; container: number; forMs: number }
  /**
   * `leader` (with `lose`): the server lost is the one leading the most KV
   * streams (records `KV_ardea`, state `KV_ardea_state`) at that moment
   * (ties: the state stream's leader), not `server`; the outcome then gets
   * {@link FaultOutcome.leaderMs}.
   */
  | { kind: "nats"; atMs: number; server: number; downMs: number; kill9: boolean; lose?: boolean; leader?: boolean }
  /**
   * A container killed by itself at a named fault point of its state
   * (`ARDEA_FAULT_AT`, every process of the run inherits it; the first to
   * reach the point takes it): `save`, `saved` or, once a rollback happened,
   * `restore`. The master's points (`commit`, `committed`, `prune`) need a
   * scheduler that replaces a master.
   */
  | { kind: "point"; atMs: number; at: string };

/** What a seed picks for a distributed run. */
export interface DistSchedule {
  seed: number;
  /** A 3-server cluster (records and state with 3 replicas) instead of one server. */
  cluster: boolean;
  /** Lines of 10 words in the input. */
  lines: number;
  /** `--chaos`: probability that `split` throws on a line. */
  chaos: number;
  /** `--checkpoint-secs`. */
  checkpointSecs: number;
  faults: DistFault[];
}

/**
 * The schedule of seed `seed`: one to three faults (container kill -9 or
 * NATS server restart) within 4 s after the first checkpoint, bolt throws
 * half of the time, a 3-server cluster one time in four.
 *
 * @example
 * ```ts
 * distSchedule(3).faults; // e.g. [{ kind: "kill", atMs: 812, container: 1 }, …]
 * ```
 */
export function distSchedule(
  seed: number,
  kinds: ReadonlyArray<DistFault["kind"]> = ["kill", "nats", "gap", "stall", "point"],
): DistSchedule {
  const r = prng(seed * 7919 + 1);
  const cluster = r() < 0.25;
  const chaos = r() < 0.5 ? 0 : Math.round((0.0005 + r() * 0.003) * 1e5) / 1e5;
  const checkpointSecs = [0.1, 0.5, 2][Math.floor(r() * 3)]!;
  const faults: DistFault[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const atMs = Math.round(r() * 2500);
    const kind = kinds[Math.floor(r() * kinds.length)]!;
    if (kind === "point") {
      const hasEarlier = faults.length > 0;
      const points = hasEarlier ? ["save", "saved", "restore"] : ["save", "saved"];
      const point = points[Math.floor(r() * points.length)]!;
      const at = `${point}:${point === "restore" ? 1 : 2 + Math.floor(r() * 3)}`;
      if (!faults.some((f) => f.kind === "point" && f.at.split(":")[0] === point)) faults.push({ kind, atMs: 0, at });
    } else if (kind === "kill" || kind === "gap") faults.push({ kind, atMs, container: Math.floor(r() * 2) });
    else if (kind === "stall") {
      faults.push({ kind, atMs, container: Math.floor(r() * 2), forMs: Math.round(200 + r() * 4000) });
    } else {
      const server = cluster ? Math.floor(r() * 3) : 0;
      const f: DistFault = { kind: "nats", atMs, server, downMs: Math.round(100 + r() * 2500), kill9: r() < 0.5 };
      // On a cluster, one server may be lost for good (at most one).
      if (cluster && r() < 0.3 && !faults.some((x) => x.kind === "nats" && x.lose)) f.lose = true;
      faults.push(f);
    }
  }
  faults.sort((a, b) => a.atMs - b.atMs);
  return { seed, cluster, lines: 500_000, chaos, checkpointSecs, faults };
}

/** What happened to one fault of a run. */
export interface FaultOutcome {
  fault: DistFault | EmbeddedFault;
  /** False when the run ended first, or the target was not there (a container between lives). */
  fired: boolean;
  note: string;
  /** Fault applied (ms since the epoch); for `nats`, when the server was back up is `upAt`. */
  at: number;
  upAt?: number;
  /** From the fault (kill, gap) or the server's return (nats) to processing seen again (a heartbeat of a new process showing progress). */
  resumedMs?: number;
  /** From the fault (kill) or the server's return (nats) to the next checkpoint committed. */
  commitMs?: number;
  /**
   * From `from` (as for `resumedMs`) to the first heartbeat of a generation
   * (epoch) not seen before the fault showing progress: processing resumed,
   * whether the process is new or rolled back in place.
   */
  generationResumedMs?: number;
  /**
   * A server lost for good (`lose` with `leader`): from the fault to the
   * moment every KV stream (records and state) has a leader among the
   * servers left (stream info polled every 50 ms); `leaders` names each
   * stream's leader before and after.
   */
  leaderMs?: number;
  leaders?: string;
}

/** The result of one seeded run. */
export interface RunResult {
  seed: number;
  exact: boolean;
  exitCode: number | null;
  durationMs: number;
  outcomes: FaultOutcome[];
  /** Seed, schedule, outcomes, and on failure the mismatch and the last log lines. */
  report: string;
  /** Every output line of the run's processes. */
  logs: string[];
}

/**
 * Writes `lines` generated lines of 10 words (skewed: a few frequent, many
 * rare) to `path`; returns the true counts.
 *
 * @example
 * ```ts
 * const truth = await writeCorpus("/tmp/in.txt", 1000, 7);
 * ```
 */
export async function writeCorpus(path: string, lines: number, seed: number): Promise<Map<string, number>> {
  const out: string[] = [];
  const truth = new Map<string, number>();
  const r = prng(seed);
  for (let i = 0; i < lines; i++) {
    const ws: string[] = [];
    for (let k = 0; k < 10; k++) {
      // Skewed: a few words are frequent, many are rare.
      const w = `w${Math.floor(r() * r() * 2000)}`;
      ws.push(w);
      truth.set(w, (truth.get(w) ?? 0) + 1);
    }
    out.push(ws.join(" "));
  }
  await writeTextFile(path, out.join("\n") + "\n");
  return truth;
}

/**
 * Compares `--out` with the truth; "" when exact, else what differs.
 *
 * @example
 * ```ts
 * import { compareCounts, writeCorpus } from "./eo_faults.ts";
 * const truth = await writeCorpus("/tmp/in.txt", 1000, 7);
 * const diff = await compareCounts("/tmp/out.json", truth); // "" when exact
 * ```
 */
export async function compareCounts(outPath: string, truth: Map<string, number>): Promise<string> {
  if (!(await fileExists(outPath))) return `no output file ${outPath}`;
  let got: Record<string, number>;
  try {
    got = JSON.parse(await readTextFile(outPath)) as Record<string, number>;
  } catch (e) {
    return `output is not JSON: ${(e as Error).message}`;
  }
  const diffs: string[] = [];
  let sumGot = 0, sumWant = 0;
  for (const [w, n] of truth) {
    sumWant += n;
    if (got[w] !== n) diffs.push(`${w}: got ${got[w]}, want ${n}`);
  }
  for (const [w, n] of Object.entries(got)) {
    sumGot += n;
    if (!truth.has(w)) diffs.push(`${w}: got ${n}, want none`);
  }
  if (diffs.length === 0) return "";
  return `${diffs.length} words differ (total ${sumGot}, want ${sumWant}; ${sumGot - sumWant > 0 ? "+" : ""}${
    sumGot - sumWant
  }): ${diffs.slice(0, 5).join("; ")}`;
}

function describe(seed: number, what: unknown, outcomes: FaultOutcome[]): string {
  const o = outcomes.map((x) => {
    const f = JSON.stringify(x.fault);
    const t = [
      x.resumedMs !== undefined ? `resumed ${x.resumedMs} ms` : "",
      x.generationResumedMs !== undefined ? `new generation processing ${x.generationResumedMs} ms` : "",
      x.leaderMs !== undefined ? `stream leaders ${x.leaderMs} ms (${x.leaders})` : "",
      x.commitMs !== undefined ? `commit ${x.commitMs} ms` : "",
    ]
      .filter(Boolean).join(", ");
    return `  ${x.fired ? "fired" : "not fired"} ${f}${x.note ? ` (${x.note})` : ""}${t ? `: ${t}` : ""}`;
  });
  return `seed ${seed}: ${JSON.stringify(what)}\n${o.join("\n")}`;
}

/** Watches a topology's events and control messages: heartbeats, checkpoint triggers and commits. */
/**
 * Follows a distributed run on NATS: heartbeats, checkpoint triggers and
 * commits, with waits on them.
 *
 * @example
 * ```ts
 * import { connect } from "nats";
 * import { Watcher } from "./eo_faults.ts";
 * const nc = await connect({ servers: "nats://127.0.0.1:4222" });
 * const w = new Watcher(nc, "word-count");
 * await w.until(() => w.commits.length > 0, 60_000);
 * ```
 */
export class Watcher {
  /** Last heartbeat per container. */
  readonly beats = new Map<number, { pid: number; executed: number; at: number; epoch: number }>();
  /** Every run epoch (generation) seen in an event. */
  readonly epochs = new Set<number>();
  lastTrigger = 0;
  /** Every container pid seen in a heartbeat or `ready`. */
  readonly pids = new Set<number>();
  readonly #waiters: Array<() => boolean> = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly commits: Array<{ id: number; at: number }> = [];

  constructor(nc: NatsConnection, topology: string) {
    const s = subjects(topology);
    nc.subscribe(s.events, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const e = decodeEvent(msg.data);
          // Every event names its generation; `ready` its process too: a process or generation
          // that has not sent a heartbeat yet (they are 1 s apart) is still known before a fault.
          this.epochs.add(e.epoch);
          if (e.type === "ready") this.pids.add(e.pid);
          if (e.type === "heartbeat") {
            this.beats.set(e.container, { pid: e.pid, executed: e.stats.executed, at: Date.now(), epoch: e.epoch });
            this.pids.add(e.pid);
            this.epochs.add(e.epoch);
          }
        } catch {
          return;
        }
        this.#poke();
      },
    });
    nc.subscribe(s.ctl, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const m = decodeControl(msg.data);
          if (m.type === "checkpoint") this.lastTrigger = Math.max(this.lastTrigger, m.id);
          else if (m.type === "committed") this.commits.push({ id: m.id, at: Date.now() });
        } catch {
          return;
        }
        this.#poke();
      },
    });
  }

  #poke(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) if (this.#waiters[i]!()) this.#waiters.splice(i, 1);
  }

  /** Resolves when `done` returns true (checked at each event), or with false after `ms`. */
  until(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const i = this.#waiters.indexOf(check);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(false);
      }, ms);
      this.#timers.add(timer);
      const check = () => {
        if (!done()) return false;
        clearTimeout(timer);
        this.#timers.delete(timer);
        resolve(true);
        return true;
      };
      this.#waiters.push(check);
    });
  }

  /** Stops waiting: pending measurements stay unmeasured. */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#waiters.length = 0;
  }

  /**
   * Measures a recovery in the background: from `from` to the first
   * heartbeat showing progress of a process not seen before the fault or
   * of a generation not seen before it (a container that rolled back in
   * place: its epoch changed and its counters start again), to the first
   * such heartbeat of a new generation alone, and to the first commit of a
   * checkpoint triggered after the fault.
   */
  measure(outcome: FaultOutcome, from: () => number, triggerAtFault: number): void {
    const t0 = outcome.at;
    const old = new Set(this.pids);
    const oldEpochs = new Set(this.epochs);
    void this.until(() => {
      for (const b of this.beats.values()) {
        if (b.at > t0 && !oldEpochs.has(b.epoch) && b.executed > 0) {
          outcome.generationResumedMs = Math.max(0, b.at - from());
          return true;
        }
      }
      return false;
    }, 120_000);
    void this.until(() => {
      for (const b of this.beats.values()) {
        if (b.at > t0 && (!old.has(b.pid) || !oldEpochs.has(b.epoch)) && b.executed > 0) {
          outcome.resumedMs = Math.max(0, b.at - from());
          return true;
        }
      }
      return false;
    }, 120_000);
    void this.until(() => {
      const c = this.commits.find((x) => x.id > triggerAtFault && x.at > t0);
      if (c === undefined) return false;
      outcome.commitMs = Math.max(0, c.at - from());
      return true;
    }, 120_000);
  }
}

/**
 * `ardea <args>` as a child on this runtime; its output lines collect into `logs`.
 *
 * @example
 * ```ts
 * import { ardea } from "./eo_faults.ts";
 * const logs: string[] = [];
 * const run = ardea(["nats://127.0.0.1:4222"], ["submit", "examples/word_count.ts", "--wait"], logs);
 * await run.child.exited;
 * ```
 */
export function ardea(
  urls: string[],
  args: string[],
  logs: string[],
  env: Record<string, string> = {},
): { child: ChildHandle; reading: Promise<unknown> } {
  const t0 = Date.now();
  const stamp = (l: string) => logs.push(`${String(Date.now() - t0).padStart(6)} ms ${l}`);
  const [cmd, argv] = ardeaCmd(args);
  const child = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: urls.join(","), ...env },
  });
  const reading = Promise.all([
    (async () => {
      for await (const l of child.lines("stderr")) stamp(l);
    })(),
    (async () => {
      for await (const l of child.lines("stdout")) stamp(l);
    })(),
  ]);
  return { child, reading };
}

/**
 * The pid of container `index` of `topology` once it runs (a recorded pid
 * that is alive and not one killed before), or 0 after 20 s or when the run ends.
 *
 * @example
 * ```ts
 * import { connect } from "nats";
 * import { livePid } from "./eo_faults.ts";
 * const nc = await connect({ servers: "nats://127.0.0.1:4222" });
 * const pid = await livePid(nc, 1, new Set(), () => false, "event-windows");
 * ```
 */
export async function livePid(
  nc: NatsConnection,
  index: number,
  killed: Set<number>,
  ended: () => boolean,
  topology = "word-count",
): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !ended()) {
    try {
      const recs = await (await Records.bind(nc))?.listContainers(topology);
      const pid = recs?.find((c) => c.container === index)?.pid ?? 0;
      if (pid > 0 && !killed.has(pid)) {
        process.kill(pid, 0);
        return pid;
      }
    } catch {
      // Not recorded yet, not alive yet, or NATS is between servers: look again.
    }
    await sleep(50);
  }
  return 0;
}

/**
 * The leader of every KV stream (server name; "" when it has none): the
 * records and the state buckets, what a commit writes; undefined when stream
 * info cannot be had.
 */
async function streamLeaders(nc: NatsConnection, timeout = 2000): Promise<Map<string, string> | undefined> {
  try {
    const jsm = await nc.jetstreamManager({ timeout });
    const out = new Map<string, string>();
    for await (const si of jsm.streams.list()) {
      if (si.config.name.startsWith("KV_")) out.set(si.config.name, si.cluster?.leader ?? "");
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Index of the server (not lost before) leading the most streams; ties: the state stream's leader, then the lowest index. */
function busiestLeader(nats: NatsHandle, leaders: Map<string, string>, lost: Set<number>): number {
  let best = -1, most = -1;
  for (const [i, srv] of nats.servers.entries()) {
    if (lost.has(i)) continue;
    const n = [...leaders.values()].filter((l) => l === srv.name).length +
      (leaders.get(`KV_${STATE_BUCKET}`) === srv.name ? 0.5 : 0);
    if (n > most) [best, most] = [i, n];
  }
  return best;
}

/**
 * Polls (every 50 ms, over a connection to the servers left) the leader of
 * each stream in `before` until every one has a leader other than server
 * `lostIndex`; sets `outcome.leaderMs` (from `outcome.at`) and `leaders`.
 */
function measureLeaders(
  outcome: FaultOutcome,
  nats: NatsHandle,
  lostIndex: number,
  before: Map<string, string>,
  ended: () => boolean,
): void {
  const lostName = nats.servers[lostIndex]!.name;
  const urls = nats.servers.filter((_, i) => i !== lostIndex).map((s) => s.url);
  const short = (n: string) => n === "" ? "none" : n.slice(n.lastIndexOf("-") + 1);
  void (async () => {
    const pc = await connect({ servers: urls, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    try {
      // No API check: it asks the JetStream meta leader, which may be the server just lost.
      const jsm = await pc.jetstreamManager({ timeout: 1000, checkAPI: false });
      const after = new Map<string, string>();
      const deadline = outcome.at + 60_000;
      // A request to a stream without a leader hangs until its timeout: a new one goes out
      // every 50 ms without waiting for the last, so an election is seen within ~50 ms.
      const polls: Promise<void>[] = [];
      while (Date.now() < deadline && !ended() && outcome.leaderMs === undefined) {
        for (const name of before.keys()) {
          if (after.has(name)) continue;
          polls.push(
            jsm.streams.info(name).then((si) => {
              const leader = si.cluster?.leader ?? "";
              if (leader === "" || leader === lostName || after.has(name)) return;
              after.set(name, leader);
              if (after.size === before.size && outcome.leaderMs === undefined) {
                outcome.leaderMs = Date.now() - outcome.at;
              }
            }, () => {}),
          );
        }
        await sleep(50);
      }
      await Promise.all(polls);
      outcome.leaders = [...before].map(([n, l]) => `${n} ${short(l)}→${after.has(n) ? short(after.get(n)!) : "?"}`)
        .join(", ");
    } finally {
      await pc.close().catch(() => {});
    }
  })().catch(() => {});
}

/** How long one run may take before it counts as stuck (ms). */
const RUN_TIMEOUT_MS = 150_000;

/**
 * Runs word count EFFECTIVELY_ONCE on 2 containers over NATS, applies the
 * schedule's faults, and checks `--out` against the truth.
 *
 * @example
 * ```ts
 * const r = await runDistributed(distSchedule(1));
 * console.log(r.report);
 * ```
 */
export async function runDistributed(s: DistSchedule): Promise<RunResult> {
  const started = Date.now();
  const nats: NatsHandle = await startNats({ servers: s.cluster ? 3 : 1, jetstream: true });
  const nc = await connect({ servers: nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const dir = await makeTempDir("ardea-eo-faults-");
  const outcomes: FaultOutcome[] = [];
  const logs: string[] = [];
  let run: ReturnType<typeof ardea> | undefined;
  let watcher: Watcher | undefined;
  try {
    const truth = await writeCorpus(resolvePath(dir, "in.txt"), s.lines, s.seed);
    const w = watcher = new Watcher(nc, "word-count");
    const args = [
      "submit",
      "examples/word_count.ts",
      "--containers",
      "2",
      "--runtime",
      runtimeName(),
      "--wait",
      ...(s.cluster ? ["--replicas", "3"] : []),
      "--",
      "--input",
      resolvePath(dir, "in.txt"),
      "--out",
      resolvePath(dir, "out.json"),
      "--mode",
      "effectively-once",
      "--checkpoint-secs",
      String(s.checkpointSecs),
      ...(s.chaos > 0 ? ["--chaos", String(s.chaos)] : []),
    ];
    const points = s.faults.filter((f): f is Extract<DistFault, { kind: "point" }> => f.kind === "point");
    const faultLog = resolvePath(dir, "faults.log");
    const faultEnv: Record<string, string> = points.length === 0
      ? {}
      : { ARDEA_FAULT_AT: points.map((f) => f.at).join(","), ARDEA_FAULT_LOG: faultLog };
    run = ardea(nats.urls, args, logs, faultEnv);
    let ended = false;
    const exited = run.child.exited.then((e) => {
      ended = true;
      return e;
    });
    await w.until(() => w.commits.length > 0 || ended, 60_000);
    const t0 = Date.now();
    const lost = new Set<number>();
    const killed = new Set<number>();
    for (const f of s.faults) {
      const wait = t0 + f.atMs - Date.now();
      if (wait > 0) await withinOrNull(exited, wait);
      const outcome: FaultOutcome = { fault: f, fired: false, note: "", at: Date.now() };
      outcomes.push(outcome);
      if (f.kind === "point") continue; // the run's own processes fire it; checked at the end
      if (ended) {
        outcome.note = "the run had ended";
        continue;
      }
      logs.push(`[eo_faults] ${new Date().toISOString()} fault ${JSON.stringify(f)}`);
      const trigger = w.lastTrigger;
      if (f.kind === "stall") {
        // Frozen (SIGSTOP), then thawed: it misses heartbeats, and NATS may cut it off as a slow consumer.
        const pid = await livePid(nc, f.container, killed, () => ended);
        try {
          if (pid <= 0) throw new Error("no live process recorded within 20 s");
          process.kill(pid, "SIGSTOP");
          outcome.at = Date.now();
          await sleep(f.forMs);
          process.kill(pid, "SIGCONT");
          outcome.fired = true;
          outcome.note = `pid ${pid}`;
        } catch (e) {
          outcome.note = `container ${f.container} not stalled: ${(e as Error).message}`;
          continue;
        }
        const thawedAt = outcome.upAt = Date.now();
        w.measure(outcome, () => thawedAt, trigger);
      } else if (f.kind === "kill") {
        const pid = await livePid(nc, f.container, killed, () => ended);
        let killTrigger = trigger;
        try {
          if (pid <= 0) throw new Error("no live process recorded within 20 s");
          // Checkpoints triggered while the pid was looked up were not triggered after the kill.
          killTrigger = w.lastTrigger;
          process.kill(pid, "SIGKILL");
          killed.add(pid);
          outcome.fired = true;
          outcome.at = Date.now();
          outcome.note = `pid ${pid}`;
        } catch (e) {
          outcome.note = `container ${f.container} not killed: ${(e as Error).message}`;
          continue;
        }
        w.measure(outcome, () => outcome.at, killTrigger);
      } else if (f.kind === "gap") {
        // A frame lost in NATS without any disconnect: container c sees the next one skip a number.
        const rec = await (await Records.bind(nc).catch(() => undefined))?.getTopology("word-count").catch(() =>
          undefined
        );
        if (rec === undefined) {
          outcome.note = "no topology record";
          continue;
        }
        const frame = new DataFrameWriter().encode({
          from: 1 - f.container,
          epoch: runEpoch(rec.submittedAt, rec.generation),
          seq: 1_000_000_000,
        });
        nc.publish(subjects("word-count").data(f.container), frame);
        outcome.fired = true;
        outcome.at = Date.now();
        w.measure(outcome, () => outcome.at, trigger);
      } else if (lost.has(f.server)) {
        outcome.note = `server ${f.server} was lost for good earlier`;
      } else if (f.lose) {
        const leaders = f.leader ? await streamLeaders(nc) : undefined;
        const server = leaders === undefined ? f.server : busiestLeader(nats, leaders, lost);
        outcome.note = "";
        const loseTrigger = w.lastTrigger;
        outcome.at = Date.now();
        if (f.kill9) nats.servers[server]!.process.kill("SIGKILL");
        if (leaders !== undefined) measureLeaders(outcome, nats, server, leaders, () => ended);
        await nats.stopServer(server);
        lost.add(server);
        outcome.fired = true;
        const upAt = outcome.upAt = Date.now();
        outcome.note = `server ${server} lost for good`;
        w.measure(outcome, () => upAt, loseTrigger);
      } else {
        outcome.at = Date.now();
        await nats.restartServer(f.server, { kill9: f.kill9, downMs: f.downMs });
        outcome.fired = true;
        const upAt = outcome.upAt = Date.now();
        outcome.note = `down ${upAt - outcome.at} ms`;
        w.measure(outcome, () => upAt, trigger);
      }
    }
    const exit = await withinOrNull(exited, RUN_TIMEOUT_MS);
    if (exit === null) {
      run.child.kill("SIGKILL");
      logs.push(`[eo_faults] the run did not end within ${RUN_TIMEOUT_MS} ms; killed`);
    }
    await withinOrNull(run.reading, 5000);
    let mismatch = exit?.code === 0
      ? await compareCounts(resolvePath(dir, "out.json"), truth)
      : `the run exited ${exit === null ? "never" : exit.code}`;
    const reached = (await fileExists(faultLog)) ? await readTextFile(faultLog) : "";
    for (const o of outcomes) {
      if (o.fault.kind !== "point") continue;
      const line = reached.split("\n").find((l) => l.startsWith(`${(o.fault as { at: string }).at} `));
      o.fired = line !== undefined;
      o.note = line !== undefined ? `pid ${line.split(" ")[1]} killed itself there` : "not reached";
      // `restore` needs a rollback before it, which the other faults may not have caused.
      if (line === undefined && !(o.fault as { at: string }).at.startsWith("restore") && mismatch === "") {
        mismatch = `fault point ${(o.fault as { at: string }).at} was not reached`;
      }
    }
    // Each container prints its summary when the run ends; more means a duplicate generation ran alongside.
    const summaries = logs.filter((l) => / word-count: FINISHED in /.test(l)).length;
    if (mismatch === "" && summaries !== 2) mismatch = `${summaries} containers reported the end of the run, not 2`;
    const exact = mismatch === "";
    // Let the recovery measurements finish when the run ended right after a fault.
    await sleep(50);
    const report = describe(s.seed, { ...s, faults: undefined, runtime: runtimeName() }, outcomes) +
      (exact
        ? ""
        : `\n  NOT EXACT: ${mismatch}\n  last log lines:\n${logs.slice(-40).map((l) => `    ${l}`).join("\n")}`);
    return {
      seed: s.seed,
      exact,
      exitCode: exit?.code ?? null,
      durationMs: Date.now() - started,
      outcomes,
      report,
      logs,
    };
  } catch (e) {
    // A harness failure (a server that does not come back…) still names the seed.
    const report = describe(s.seed, { ...s, faults: undefined, runtime: runtimeName() }, outcomes) +
      `\n  HARNESS ERROR: ${(e as Error).stack ?? e}\n  last log lines:\n${
        logs.slice(-40).map((l) => `    ${l}`).join("\n")
      }`;
    return { seed: s.seed, exact: false, exitCode: null, durationMs: Date.now() - started, outcomes, report, logs };
  } finally {
    watcher?.close();
    run?.child.kill("SIGKILL");
    await nc.close().catch(() => {});
    await nats.stop();
    await removePath(dir);
  }
}

/**
 * One fault of an embedded run: the process is killed with SIGKILL `atMs`
 * after it started (`kill9`), or at a named fault point (`point`: it runs
 * with `ARDEA_FAULT_AT=<at>`, e.g. `commit:2`, and must be seen to reach it;
 * see runtime/fault_points.ts for the points).
 */
export type EmbeddedFault = { kind: "kill9"; atMs: number } | { kind: "point"; at: string };

/** The named fault points of a run's state, in the order a checkpoint meets them (runtime/fault_points.ts). */
export const STATE_FAULT_POINTS = ["save", "saved", "commit", "committed", "prune", "restore"] as const;

/** What a seed picks for an embedded run. */
export interface EmbeddedSchedule {
  seed: number;
  lines: number;
  chaos: number;
  faults: EmbeddedFault[];
}

/**
 * The embedded schedule of seed `seed`: the process is killed one to three
 * times in a row, each at a random moment of its life (0.15 to 1.5 s after
 * it started) or, half of the time, at a random named fault point (its
 * first to third hit; `restore` only once a checkpoint can exist), and bolt
 * throws half of the time.
 *
 * @example
 * ```ts
 * embeddedSchedule(2).faults.length; // 1 to 3
 * ```
 */
export function embeddedSchedule(seed: number): EmbeddedSchedule {
  const r = prng(seed * 104729 + 3);
  const chaos = r() < 0.5 ? 0 : Math.round((0.001 + r() * 0.01) * 1e5) / 1e5;
  const n = 1 + Math.floor(r() * 3);
  const faults: EmbeddedFault[] = [];
  for (let i = 0; i < n; i++) {
    const atMs = Math.round(150 + r() * 1350);
    const named = r() < 0.5;
    // The first process has nothing to restore.
    const points = i === 0 ? STATE_FAULT_POINTS.filter((p) => p !== "restore") : STATE_FAULT_POINTS;
    const point = points[Math.floor(r() * points.length)]!;
    const hit = point === "restore" ? 1 : 1 + Math.floor(r() * 3);
    faults.push(named ? { kind: "point", at: `${point}:${hit}` } : { kind: "kill9", atMs });
  }
  return { seed, lines: 500_000, chaos, faults };
}

function committedIds(stateDir: string): number[] {
  try {
    const topo = resolvePath(stateDir, "word-count");
    return readdirSync(topo).filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return readdirSync(resolvePath(topo, d)).includes("commit.json");
      } catch {
        return false;
      }
    }).map(Number);
  } catch {
    return [];
  }
}

/**
 * Runs word count EFFECTIVELY_ONCE in one process with a state folder,
 * kills it with SIGKILL at each fault's moment and starts it again, then
 * lets the last start finish; checks `--out` against the truth. Recovery:
 * from the restart to the first new checkpoint committed.
 *
 * @example
 * ```ts
 * const r = await runEmbedded(embeddedSchedule(1));
 * ```
 */
export async function runEmbedded(s: EmbeddedSchedule): Promise<RunResult> {
  const started = Date.now();
  const dir = await makeTempDir("ardea-eo-emb-");
  const outcomes: FaultOutcome[] = [];
  const logs: string[] = [];
  const children: ChildHandle[] = [];
  const stopMeasuring = { value: false };
  try {
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    const state = resolvePath(dir, "state");
    const truth = await writeCorpus(input, s.lines, s.seed);
    const args = [
      "--input",
      input,
      "--out",
      out,
      "--mode",
      "effectively-once",
      "--state-dir",
      state,
      "--checkpoint-secs",
      "0.05",
      ...(s.chaos > 0 ? ["--chaos", String(s.chaos)] : []),
    ];
    const { cmd, args: argv } = scriptCommand(resolvePath(ardeaRoot(), "examples", "word_count.ts"), args);
    // A log per process: a fault fires once per log (runtime/fault_points.ts), and two kills may name one point.
    let faultLog = "";
    const launch = (faultAt?: string) => {
      faultLog = resolvePath(dir, `faults-${children.length}.log`);
      const env: Record<string, string> = faultAt === undefined
        ? {}
        : { ARDEA_FAULT_AT: faultAt, ARDEA_FAULT_LOG: faultLog };
      const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
      children.push(child);
      const reading = Promise.all([
        collect(child.lines("stdout"), logs),
        collect(child.lines("stderr"), logs),
      ]);
      return { child, reading };
    };
    let exit: Awaited<ChildHandle["exited"]> | null = null;
    let previous: FaultOutcome | undefined;
    let missed = "";
    for (const f of s.faults) {
      const p = launch(f.kind === "point" ? f.at : undefined);
      const bornAt = Date.now();
      if (previous !== undefined) measureEmbedded(previous, state, bornAt, stopMeasuring);
      const outcome: FaultOutcome = { fault: f, fired: false, note: "", at: 0 };
      outcomes.push(outcome);
      if (f.kind === "point") {
        // The process kills itself at the point; it must be seen to get there.
        const nothingToRestore = f.at.startsWith("restore") && committedIds(state).length === 0;
        const ended = await withinOrNull(p.child.exited, RUN_TIMEOUT_MS);
        await withinOrNull(p.reading, 5000);
        const reached = (await fileExists(faultLog)) &&
          (await readTextFile(faultLog)).split("\n").some((l) => l.startsWith(`${f.at} `));
        if (nothingToRestore && !reached && ended !== null && ended.signal === null) {
          // No checkpoint was committed before this start: a resume that restores nothing has no restore point.
          exit = ended;
          outcome.note = "no checkpoint to restore, so no restore point: the run went on to its end";
          break;
        }
        if (ended === null || ended.signal !== "SIGKILL" || !reached) {
          p.child.kill("SIGKILL");
          missed = `fault point ${f.at} was not reached: the process ${
            ended === null ? "did not end" : `ended with ${ended.signal ?? `code ${ended.code}`}`
          }`;
          outcome.note = missed;
          break;
        }
        const ids = committedIds(state);
        outcome.fired = true;
        outcome.at = Date.now();
        outcome.note = `killed at ${f.at} after ${outcome.at - bornAt} ms, ${
          ids.length > 0 ? `checkpoint ${Math.max(...ids)} committed` : "no checkpoint committed yet"
        }`;
        previous = outcome;
        continue;
      }
      const done = await withinOrNull(p.child.exited, f.atMs);
      if (done !== null) {
        exit = done;
        outcome.note = "the run had ended";
        break;
      }
      const ids = committedIds(state);
      p.child.kill("SIGKILL");
      await p.child.exited;
      await p.reading;
      outcome.fired = true;
      outcome.at = Date.now();
      outcome.note = `after ${outcome.at - bornAt} ms, ${
        ids.length > 0 ? `checkpoint ${Math.max(...ids)} committed` : "no checkpoint committed yet"
      }`;
      previous = outcome;
    }
    if (exit === null && missed === "") {
      const p = launch();
      if (previous !== undefined) measureEmbedded(previous, state, Date.now(), stopMeasuring);
      exit = await withinOrNull(p.child.exited, RUN_TIMEOUT_MS);
      if (exit === null) {
        p.child.kill("SIGKILL");
        logs.push(`[eo_faults] the run did not end within ${RUN_TIMEOUT_MS} ms; killed`);
      }
      await withinOrNull(p.reading, 5000);
    }
    const mismatch = missed !== ""
      ? missed
      : exit?.code === 0
      ? await compareCounts(out, truth)
      : `the run exited ${exit === null ? "never" : exit.code}`;
    const exact = mismatch === "";
    const report = describe(s.seed, { ...s, faults: undefined, runtime: runtimeName() }, outcomes) +
      (exact
        ? ""
        : `\n  NOT EXACT: ${mismatch}\n  last log lines:\n${logs.slice(-40).map((l) => `    ${l}`).join("\n")}`);
    return {
      seed: s.seed,
      exact,
      exitCode: exit?.code ?? null,
      durationMs: Date.now() - started,
      outcomes,
      report,
      logs,
    };
  } finally {
    stopMeasuring.value = true;
    for (const c of children) c.kill("SIGKILL");
    await removePath(dir);
  }
}

/** Recovery of an embedded kill: from the restart to the first checkpoint committed by the new process. */
function measureEmbedded(outcome: FaultOutcome, stateDir: string, restartedAt: number, stop: { value: boolean }): void {
  const known = new Set(committedIds(stateDir));
  outcome.upAt = restartedAt;
  void (async () => {
    const deadline = restartedAt + 60_000;
    while (Date.now() < deadline && !stop.value) {
      if (committedIds(stateDir).some((id) => !known.has(id))) {
        outcome.commitMs = Date.now() - restartedAt;
        return;
      }
      await sleep(10);
    }
  })();
}

/**
 * Recovery figures of many runs: for each kind of fault, how many fired and
 * the median and worst times to resume and to commit again.
 *
 * @example
 * ```ts
 * import { distSchedule, runDistributed, summarize } from "./eo_faults.ts";
 * console.log(summarize([await runDistributed(distSchedule(7))]));
 * ```
 */
export function summarize(results: RunResult[]): string {
  const byKind = new Map<string, { resumed: number[]; commit: number[]; fired: number }>();
  for (const r of results) {
    for (const o of r.outcomes) {
      if (!o.fired) continue;
      const k = o.fault.kind;
      const e = byKind.get(k) ?? { resumed: [], commit: [], fired: 0 };
      e.fired++;
      if (o.resumedMs !== undefined) e.resumed.push(o.resumedMs);
      if (o.commitMs !== undefined) e.commit.push(o.commitMs);
      byKind.set(k, e);
    }
  }
  const stat = (xs: number[]) => {
    if (xs.length === 0) return "n/a";
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[Math.floor(s.length / 2)]} ms, max ${s[s.length - 1]} ms (${s.length})`;
  };
  const exact = results.filter((r) => r.exact).length;
  const lines = [`${exact}/${results.length} runs exact`];
  for (const [k, e] of byKind) {
    lines.push(`  ${k}: ${e.fired} fired; resumed ${stat(e.resumed)}; next commit ${stat(e.commit)}`);
  }
  return lines.join("\n");
}

/**
 * The master of a pool-scheduled EFFECTIVELY_ONCE word count (2 containers
 * on 2 `ardea worker`s; the master runs in `ardea submit --wait`) kills
 * itself at the named fault point `at` (`commit:3`, `committed:2`, …); a
 * worker must take the master over, and the run must end FINISHED with
 * exact counts.
 *
 * @example
 * ```ts
 * const r = await runPoolMasterKill("commit:3", 1);
 * if (!r.exact) throw new Error(r.report);
 * ```
 */
export async function runPoolMasterKill(at: string, seed: number, lines = 300_000): Promise<RunResult> {
  const started = Date.now();
  const nats: NatsHandle = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls });
  const dir = await makeTempDir("ardea-eo-pool-");
  const logs: string[] = [];
  const workers: Array<ReturnType<typeof ardea>> = [];
  let run: ReturnType<typeof ardea> | undefined;
  const outcome: FaultOutcome = { fault: { kind: "point", atMs: 0, at }, fired: false, note: "", at: 0 };
  try {
    const truth = await writeCorpus(resolvePath(dir, "in.txt"), lines, seed);
    for (const i of [0, 1]) workers.push(ardea(nats.urls, ["worker", "--slots", "2", "--id", `pw${i}`], logs));
    const records = await Records.open(nc);
    await until("two workers", async () => ((await records.listWorkers()).length === 2 ? true : undefined), 30_000);
    const faultLog = resolvePath(dir, "faults.log");
    run = ardea(
      nats.urls,
      [
        "submit",
        "examples/word_count.ts",
        "--containers",
        "2",
        "--runtime",
        runtimeName(),
        "--scheduler",
        "pool",
        "--wait",
        "--",
        "--input",
        resolvePath(dir, "in.txt"),
        "--out",
        resolvePath(dir, "out.json"),
        "--mode",
        "effectively-once",
        "--checkpoint-secs",
        "0.1",
      ],
      logs,
      { ARDEA_FAULT_AT: at, ARDEA_FAULT_LOG: faultLog },
    );
    const exit = await withinOrNull(run.child.exited, RUN_TIMEOUT_MS);
    const reached = (await fileExists(faultLog)) ? await readTextFile(faultLog) : "";
    outcome.fired = exit?.signal === "SIGKILL" && reached.split("\n").some((l) => l.startsWith(`${at} `));
    outcome.at = Date.now();
    let mismatch = "";
    if (!outcome.fired) {
      mismatch = `the master was not killed at ${at} (submit ended with ${
        exit === null ? "nothing" : exit.signal ?? `code ${exit.code}`
      })`;
    } else {
      const lease = await records.getLease("word-count");
      const state = await until("the run ends", async () => {
        const r = await records.getTopology("word-count");
        return r !== undefined && ["FINISHED", "FAILED", "KILLED"].includes(r.state) ? r.state : undefined;
      }, RUN_TIMEOUT_MS).catch((e: Error) => e.message);
      const after = await records.getLease("word-count");
      outcome.note = `master killed at ${at}; lease ${lease?.holder ?? "?"} → ${after?.holder ?? "?"}; run ${state}`;
      mismatch = state !== "FINISHED"
        ? `the run ended ${state}, not FINISHED`
        : await compareCounts(resolvePath(dir, "out.json"), truth);
      if (mismatch === "" && after?.holder === lease?.holder) mismatch = "no other master took over";
    }
    const exact = mismatch === "";
    const report = describe(seed, { at, lines, scheduler: "pool", runtime: runtimeName() }, [outcome]) +
      (exact
        ? ""
        : `\n  NOT EXACT: ${mismatch}\n  last log lines:\n${logs.slice(-40).map((l) => `    ${l}`).join("\n")}`);
    return { seed, exact, exitCode: null, durationMs: Date.now() - started, outcomes: [outcome], report, logs };
  } finally {
    run?.child.kill("SIGKILL");
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.allSettled(workers.map((w) => withinOrNull(w.child.exited, 15_000)));
    for (const w of workers) w.child.kill("SIGKILL");
    await nc.close().catch(() => {});
    await nats.stop();
    await removePath(dir);
  }
}
