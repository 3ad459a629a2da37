/**
 * `wordcount-nats`: words/s of a word count over NATS with 2 containers
 * (`ardea submit examples/word_count.ts --containers 2 --wait`, ATMOST_ONCE
 * and ATLEAST_ONCE) against a hand-rolled nats.js pipeline of 5 processes
 * (bench/nats_wordcount_handrolled.ts), both on one local nats-server this
 * benchmark starts on a loopback port.
 *
 * Primary figure: words / wall time of the whole thing (submit process from
 * spawn to exit; hand-rolled from spawning its processes to their exit).
 * Metric `processing`: words / time from RUNNING to FINISHED of the
 * topology record, watched in KV by this process (hand-rolled: from "go" to
 * the last counter's totals). Metric `master-said`: words / the seconds of
 * the `ended FINISHED after X s` line of submit (master start → FINISHED,
 * so container start-up included).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type KV, KvWatchInclude, type NatsConnection } from "nats";
import { unpack } from "msgpackr";
import { ardeaRoot, commandFor, runtimeName, scriptCommand, spawnProcess } from "../runtime/mod.ts";
import { decodeControl, subjects, topologyKey } from "../transport/wire/mod.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";
import { outputLines } from "../testing/child.ts";
import { within } from "../testing/wait.ts";
import { assertSameCounts } from "./wordcount_embedded.ts";
import { withNatsWordCount } from "./dist.ts";

/** Containers of the Ardea runs; splitters and counters of both pipelines. */
const CONTAINERS = 2;
export const SPLITTERS = 2;
export const COUNTERS = 2;
/** Topology name of examples/word_count.ts. */
const TOPOLOGY = "word-count";
/** Upper bound of one run (ms): a run that takes longer is killed and reported n/a. */
const RUN_TIMEOUT_MS = 300_000;

const dec = new TextDecoder();

interface ArdeaRun {
  code: number | null;
  log: string[];
  out: string;
  /** performance.now() when each state was first seen in KV. */
  seen: Record<string, number>;
  /** updatedAt (Date.now() of the master) of each state's record. */
  updatedAt: Record<string, number>;
  /** Seconds of the "ended FINISHED after X s" line. */
  masterSec?: number;
  t0: number;
  tExit: number;
  /** Backpressure announcements ("bp" on) seen on the topology's control subject. */
  bpOn: number;
}

/** One `ardea submit … --containers 2 --wait` of examples/word_count.ts, its record watched in KV. */
async function runArdea(
  nc: NatsConnection,
  kv: KV,
  url: string,
  input: string,
  out: string,
  mode: "atmost" | "atleast",
): Promise<ArdeaRun> {
  const seen: Record<string, number> = {};
  const updatedAt: Record<string, number> = {};
  const watch = await kv.watch({ key: topologyKey(TOPOLOGY), include: KvWatchInclude.UpdatesOnly });
  let bpOn = 0;
  const ctl = nc.subscribe(subjects(TOPOLOGY).ctl, {
    callback: (_err, m) => {
      try {
        const c = decodeControl(m.data) as { type: string; on?: boolean };
        if (c.type === "bp" && c.on) bpOn++;
      } catch {
        // not ours to judge
      }
    },
  });
  let terminal!: () => void;
  const ended = new Promise<void>((r) => (terminal = r));
  const watching = (async () => {
    for await (const e of watch) {
      if (e.operation !== "PUT") continue;
      const rec = JSON.parse(dec.decode(e.value)) as { state: string; updatedAt: number };
      if (!(rec.state in seen)) {
        seen[rec.state] = performance.now();
        updatedAt[rec.state] = rec.updatedAt;
      }
      if (rec.state === "FINISHED" || rec.state === "FAILED" || rec.state === "KILLED") terminal();
    }
  })();
  const { cmd, args } = commandFor(runtimeName(), join(ardeaRoot(), "bin", "ardea.mjs"), [
    "submit",
    "examples/word_count.ts",
    "--containers",
    String(CONTAINERS),
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--input",
    input,
    "--out",
    out,
    "--mode",
    mode,
    "--splitters",
    String(SPLITTERS),
    "--counters",
    String(COUNTERS),
  ]);
  const t0 = performance.now();
  const child = spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: url } });
  // The last output lines, for error messages.
  const t = outputLines(child, 40, { newest: true });
  try {
    const exit = await within(child.exited, RUN_TIMEOUT_MS, "ardea submit");
    const tExit = performance.now();
    await t.done;
    if (exit.code === 0) await within(ended, 5000, "FINISHED in KV").catch(() => {});
    const m = t.lines.map((l) => /ended FINISHED after ([0-9.]+) s/.exec(l)).find((x) => x !== null);
    return {
      code: exit.code,
      log: t.lines,
      out,
      seen,
      updatedAt,
      masterSec: m ? Number(m[1]) : undefined,
      t0,
      tExit,
      bpOn,
    };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  } finally {
    ctl.unsubscribe();
    watch.stop();
    await watching.catch(() => {});
  }
}

/** The outcome of one hand-rolled run; times are performance.now(). */
export interface HandRun {
  counts: Map<string, number>;
  totals: number[];
  t0: number;
  tReady: number;
  tGo: number;
  tDone: number;
  tExit: number;
}

let runNo = 0;

/** Moments of a hand-rolled run, for a caller that samples its processes (cpu-per-word). */
export interface HandRolledHooks {
  /** Right after its processes were spawned, with their pids. */
  spawned?(pids: number[]): void;
  /** Right after "go" (every process subscribed): the counterpart of RUNNING. */
  go?(): void;
  /** When the last counter's totals arrived: the counterpart of FINISHED. */
  done?(): void;
}

/**
 * One run of the hand-rolled pipeline: 2 counters, 2 splitters, 1 source.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection, url: string, words: number, reference: Map<string, number>;
 * const r = await runHandRolled(nc, url, "/tmp/words.txt");
 * verifyHandRolled(r, words, reference);
 * ```
 */
export async function runHandRolled(
  nc: NatsConnection,
  url: string,
  input: string,
  hooks: HandRolledHooks = {},
): Promise<HandRun> {
  const prefix = `handrolled${process.pid}_${runNo++}`;
  const ready = nc.subscribe(`${prefix}.ready`);
  const results = nc.subscribe(`${prefix}.result`);
  await nc.flush();
  const script = join(ardeaRoot(), "bench", "nats_wordcount_handrolled.ts");
  const spawnRole = (role: string, extra: string[] = []) => {
    const { cmd, args } = scriptCommand(script, [
      role,
      "--nats",
      url,
      "--prefix",
      prefix,
      "--counters",
      String(COUNTERS),
      ...extra,
    ]);
    const child = spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe" });
    return { role, child, out: outputLines(child, 40, { newest: true }) };
  };
  const t0 = performance.now();
  const procs = [
    ...Array.from({ length: COUNTERS }, (_, k) => spawnRole("count", ["--index", String(k)])),
    ...Array.from({ length: SPLITTERS }, () => spawnRole("split")),
    spawnRole("source", ["--file", input]),
  ];
  hooks.spawned?.(procs.map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined));
  // A process that exits non-zero fails the run at once.
  const crashed = Promise.race(procs.map((p) =>
    p.child.exited.then(async (e) => {
      if (e.code === 0) return new Promise<never>(() => {});
      await p.out.done;
      throw new Error(`hand-rolled ${p.role} exited ${e.code ?? e.signal}: ${p.out.lines.join(" | ")}`);
    })
  ));
  try {
    const waitReady = (async () => {
      let n = 0;
      for await (const _ of ready) if (++n === procs.length) break;
    })();
    await within(Promise.race([waitReady, crashed]), 60_000, "hand-rolled processes ready");
    const tReady = performance.now();
    const tGo = performance.now();
    nc.publish(`${prefix}.go`);
    hooks.go?.();
    const counts = new Map<string, number>();
    const totals: number[] = [];
    const waitResults = (async () => {
      for await (const m of results) {
        const r = unpack(m.data) as { counter: number; total: number; counts: [string, number][] };
        totals[r.counter] = r.total;
        for (const [w, n] of r.counts) counts.set(w, (counts.get(w) ?? 0) + n);
        if (totals.filter((x) => x !== undefined).length === COUNTERS) break;
      }
    })();
    await within(Promise.race([waitResults, crashed]), RUN_TIMEOUT_MS, "hand-rolled totals");
    const tDone = performance.now();
    hooks.done?.();
    nc.publish(`${prefix}.stop`);
    await within(Promise.all(procs.map((p) => p.child.exited)), 30_000, "hand-rolled processes exit");
    const tExit = performance.now();
    return { counts, totals, t0, tReady, tGo, tDone, tExit };
  } finally {
    ready.unsubscribe();
    results.unsubscribe();
    for (const p of procs) p.child.kill("SIGKILL");
  }
}

/**
 * Throws unless the counters of a hand-rolled run counted `words` words in
 * all and exactly the `reference` counts.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection, url: string, input: string, words: number, reference: Map<string, number>;
 * verifyHandRolled(await runHandRolled(nc, url, input), words, reference);
 * ```
 */
export function verifyHandRolled(r: HandRun, words: number, reference: Map<string, number>): void {
  const sum = r.totals.reduce((a, b) => a + b, 0);
  if (sum !== words) throw new Error(`counters report ${sum} words, input has ${words}`);
  assertSameCounts(reference, r.counts);
}

const benchmark: Benchmark = {
  name: "wordcount-nats",
  description: "Word count over NATS, 2 containers (ardea submit --wait) vs a hand-rolled nats.js pipeline",
  async run(opts: BenchOptions) {
    return withNatsWordCount("nats", opts, async ({ dir, input, lines, reference, words, url, nc: conn, kv }) => {
      let outNo = 0;

      const ardea = (name: string, mode: "atmost" | "atleast"): Variant<ArdeaRun> => ({
        name,
        description:
          `ardea submit examples/word_count.ts --containers ${CONTAINERS} --wait, --mode ${mode}, split×${SPLITTERS} count×${COUNTERS}`,
        run: () => runArdea(conn, kv, url, input, join(dir, `out-${outNo++}.json`), mode),
        verify: (r) => {
          if (r.code !== 0) throw new Error(`submit exited ${r.code}: ${r.log.slice(-8).join(" | ")}`);
          if (r.seen.RUNNING === undefined || r.seen.FINISHED === undefined) {
            throw new Error(`KV states seen: ${Object.keys(r.seen).join(", ") || "none"}`);
          }
        },
        metrics: (r) => ({
          processing: words / ((r.seen.FINISHED! - r.seen.RUNNING!) / 1000),
          "processing-ms": r.seen.FINISHED! - r.seen.RUNNING!,
          "processing-ms-by-updatedAt": r.updatedAt.FINISHED! - r.updatedAt.RUNNING!,
          ...(r.masterSec ? { "master-said": words / r.masterSec } : {}),
          "to-running-ms": r.seen.RUNNING! - r.t0,
          "after-finished-ms": r.tExit - r.seen.FINISHED!,
          "backpressure-on": r.bpOn,
        }),
      });
      const withOutCheck = (v: Variant<ArdeaRun>): Variant<ArdeaRun> => ({
        ...v,
        verify: (r) => {
          v.verify!(r);
          // The --out file is complete once submit exited; read untimed, here.
          const got = new Map(Object.entries(JSON.parse(readFileSync(r.out, "utf8")) as Record<string, number>));
          assertSameCounts(reference, got);
        },
      });

      // Each variant has its own result type; `any` lets each literal's verify/metrics see its own.
      // deno-lint-ignore no-explicit-any
      const variants: Variant<any>[] = [
        {
          name: "hand-rolled",
          description:
            `nats.js + msgpackr: source → split×${SPLITTERS} (queue group) → count×${COUNTERS} (hash partitions), no acking`,
          run: () => runHandRolled(conn, url, input),
          verify: (r: HandRun) => verifyHandRolled(r, words, reference),
          metrics: (r: HandRun) => ({
            processing: words / ((r.tDone - r.tGo) / 1000),
            "processing-ms": r.tDone - r.tGo,
            "to-running-ms": r.tReady - r.t0,
            "after-finished-ms": r.tExit - r.tDone,
          }),
        } satisfies Variant<HandRun>,
        withOutCheck(ardea("ardea-atmost", "atmost")),
        withOutCheck(ardea("ardea-atleast", "atleast")),
      ];
      return await measure({
        unit: "words/s",
        unitsPerRun: words,
        baseline: "hand-rolled",
        variants,
        metrics: [
          { name: "processing", unit: "words/s" },
          { name: "processing-ms", unit: "ms", lowerIsBetter: true },
          { name: "processing-ms-by-updatedAt", unit: "ms", lowerIsBetter: true },
          { name: "master-said", unit: "words/s" },
          { name: "to-running-ms", unit: "ms", lowerIsBetter: true },
          { name: "after-finished-ms", unit: "ms", lowerIsBetter: true },
          { name: "backpressure-on", unit: "msgs", lowerIsBetter: true },
        ],
        goals: [
          { variant: "ardea-atmost", against: "hand-rolled", min: 1.25, label: "wall ≥1.25× hand-rolled" },
          { variant: "ardea-atleast", against: "hand-rolled", min: 1, label: "wall ≥1× hand-rolled" },
          { variant: "ardea-atmost", against: "hand-rolled", min: 1.25, metric: "processing" },
          { variant: "ardea-atleast", against: "hand-rolled", min: 1, metric: "processing" },
        ],
        input: {
          source: opts.input ?? `generated (seed ${opts.seed})`,
          lines: lines.length,
          words,
          distinct: reference.size,
          containers: CONTAINERS,
          splitters: SPLITTERS,
          counters: COUNTERS,
          runtime: runtimeName(),
        },
      }, opts);
    });
  },
};

export default benchmark;
