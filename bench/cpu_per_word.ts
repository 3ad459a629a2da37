/**
 * `cpu-per-word`: CPU ms (user + system) per million words of every process
 * of a word count over NATS, spent between RUNNING and FINISHED: Ardea with
 * 1, 2 and 4 containers (`ardea submit examples/word_count.ts --containers C
 * --wait -- --splitters C --counters C`, ATMOST_ONCE and ATLEAST_ONCE) and
 * the hand-rolled nats.js pipeline of `wordcount-nats` (its source, 2
 * splitters and 2 counters), all on one local nats-server.
 *
 * Processes counted: Ardea — the `ardea submit --wait` process (the master),
 * its containers, whatever else descends from it (`other`), nats-server;
 * hand-rolled — its 5 processes and nats-server. RUNNING and FINISHED are
 * the moments this process sees the topology record change in KV
 * (hand-rolled: "go" published, the last counter's totals received); every
 * process is sampled from /proc right then (bench/proc_cpu.ts). Start-up CPU
 * (spawn → RUNNING) and shut-down CPU (FINISHED → every process reaped,
 * exact from this process's cutime) are reported apart, in ms per run.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { cpus } from "node:os";
import process from "node:process";
import { runtimeName } from "../runtime/mod.ts";
import { submitRun, withNatsWordCount } from "./dist.ts";
import {
  type Benchmark,
  type BenchOptions,
  type BenchReport,
  measure,
  type MetricSpec,
  type Variant,
} from "./harness.ts";
import { assertSameCounts } from "./wordcount_embedded.ts";
import { COUNTERS, runHandRolled, SPLITTERS, verifyHandRolled } from "./wordcount_nats.ts";
import { type Classify, clockTicks, type CpuSnapshot, type CpuTotals, CpuWatch, sumMs } from "./proc_cpu.ts";

/** Container counts of the Ardea variants. */
export const CONTAINERS = [1, 2, 4];
const MODES = ["atmost", "atleast"] as const;
/** Words when `--words` is not given. */
const DEFAULT_WORDS = 10_000_000;
const RUN_TIMEOUT_MS = 600_000;
/** How often every process's /proc/<pid>/stat is read (ms). */
const POLL_MS = 25;
/** Process groups that do the word count itself (Ardea's containers, the hand-rolled roles). */
const WORKERS = new Set(["containers", "source", "split", "count"]);

/** The CPU of one run at its four moments. */
interface CpuRun {
  spawn: CpuSnapshot;
  running?: CpuSnapshot;
  finished?: CpuSnapshot;
  totals: CpuTotals;
  exited: CpuSnapshot;
  /** Wall ms from RUNNING to FINISHED as this process saw them. */
  processingMs?: number;
}

/**
 * Runs `go` with a {@link CpuWatch} on nats-server and on the processes `go`
 * spawns (it calls `w.addChild`), snapshotting when `go` calls
 * `mark("running")` / `mark("finished")`, and once `go` returned (its
 * processes all reaped).
 */
async function watched<R>(
  natsPid: number,
  ticksPerSecond: number,
  classify: Classify,
  go: (w: CpuWatch, mark: (moment: "running" | "finished") => void) => Promise<R>,
): Promise<{ result: R; cpu: CpuRun }> {
  const w = new CpuWatch({ classify, fixed: { nats: natsPid }, pollMs: POLL_MS, ticksPerSecond });
  try {
    const at: Partial<Record<"running" | "finished", { snap: CpuSnapshot; t: number }>> = {};
    const spawn = w.snapshot();
    const result = await go(w, (m) => {
      if (at[m] === undefined) at[m] = { snap: w.snapshot(), t: performance.now() };
    });
    const exited = w.snapshot();
    const processingMs = at.running && at.finished ? at.finished.t - at.running.t : undefined;
    return {
      result,
      cpu: { spawn, running: at.running?.snap, finished: at.finished?.snap, exited, totals: w.stop(), processingMs },
    };
  } finally {
    w.stop();
  }
}

/** The figures of one run (see the metric list in {@link benchmark}). */
function figures(c: CpuRun, words: number): Record<string, number> {
  const R = c.running!, F = c.finished!;
  const stale = [...F.values()].filter((p) => p.stale).map((p) => p.label);
  if (stale.length > 0) {
    console.error(
      `  cpu-per-word: ${
        stale.join(", ")
      } exited before FINISHED; counted up to their last poll (≤ ${POLL_MS} ms short each)`,
    );
  }
  const mw = words / 1e6;
  const since = (pid: number, ms: number) => ms - (R.get(pid)?.ms ?? 0);
  const byGroup = new Map<string, number>();
  let total = 0, workers = 0, busiest = 0;
  for (const [pid, p] of F) {
    const d = since(pid, p.ms);
    total += d;
    byGroup.set(p.group, (byGroup.get(p.group) ?? 0) + d);
    if (WORKERS.has(p.group)) {
      workers += d;
      busiest = Math.max(busiest, d);
    }
  }
  const out: Record<string, number> = {
    "cpu/Mw": total / mw,
    "workers/Mw": workers / mw,
    "busiest-worker/Mw": busiest / mw,
  };
  for (const [g, ms] of byGroup) if (g !== "containers") out[`${g}/Mw`] = ms / mw;
  const run = (p: { fixed: boolean }) => !p.fixed;
  const nats = (p: { fixed: boolean }) => p.fixed;
  out["startup-cpu-ms"] = sumMs(R) - sumMs(c.spawn);
  out["startup-workers-ms"] = sumMs(R, (p) => WORKERS.has(p.group));
  if ([...R.values()].some((p) => p.group === "master")) {
    out["startup-master-ms"] = sumMs(R, (p) => p.group === "master");
  }
  out["shutdown-cpu-ms"] = c.totals.exactMs - sumMs(F, run) + sumMs(c.exited, nats) - sumMs(F, nats);
  out["processing-ms"] = c.processingMs!;
  out["cores"] = total / c.processingMs!;
  out["poll-miss-ms"] = c.totals.exactMs - c.totals.polledMs;
  return out;
}

/** The submit process is the master; `ardea container` processes and their children are containers. */
const classifyArdea: Classify = (argv, parent) => {
  if (parent === undefined) return { group: "master" };
  if (argv.includes("container")) return { group: "containers", label: `c${argv[argv.indexOf("--index") + 1]}` };
  if (parent.group === "containers") return { group: "containers", label: parent.label };
  return { group: "other", label: basename(argv[0] ?? "?") };
};

/** A hand-rolled process by its role argument; what it starts (the TS loader's esbuild) counts with it. */
const classifyHandRolled: Classify = (argv, parent) => {
  if (parent !== undefined) return { group: parent.group, label: parent.label };
  const role = argv.find((a) => a === "source" || a === "split" || a === "count") ?? "other";
  return { group: role, label: role === "count" ? `count ${argv[argv.indexOf("--index") + 1]}` : role };
};

const METRICS: MetricSpec[] = [
  { name: "cpu/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "workers/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "master/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "nats/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "other/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "busiest-worker/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "source/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "split/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "count/Mw", unit: "ms/Mw", lowerIsBetter: true },
  { name: "startup-cpu-ms", unit: "ms", lowerIsBetter: true },
  { name: "startup-workers-ms", unit: "ms", lowerIsBetter: true },
  { name: "startup-master-ms", unit: "ms", lowerIsBetter: true },
  { name: "shutdown-cpu-ms", unit: "ms", lowerIsBetter: true },
  { name: "processing-ms", unit: "ms", lowerIsBetter: true },
  { name: "cores", unit: "cores", lowerIsBetter: true },
  { name: "poll-miss-ms", unit: "ms", lowerIsBetter: true },
];

/** One line per variant of the medians that say where the CPU goes. */
function breakdown(r: BenchReport): string {
  const cols: [string, string][] = [
    ["cpu/Mw", "all"],
    ["workers/Mw", "workers"],
    ["busiest-worker/Mw", "busiest"],
    ["master/Mw", "master"],
    ["nats/Mw", "nats"],
    ["other/Mw", "other"],
    ["startup-cpu-ms", "start-up"],
    ["startup-workers-ms", "(workers"],
    ["startup-master-ms", "master)"],
    ["shutdown-cpu-ms", "shut-down"],
    ["cores", "cores"],
    ["poll-miss-ms", "poll-miss"],
  ];
  const cell = (x: number | undefined) => (x === undefined ? "–" : x >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const rows = r.variants.filter((v) => v.status === "ok").map((
    v,
  ) => [v.name, ...cols.map(([m]) => cell(v.metrics?.[m]?.median))]);
  const head = ["variant", ...cols.map(([, h]) => h)];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join("  ");
  return [
    "CPU per million words, RUNNING → FINISHED (ms/Mw, medians); start-up and shut-down: CPU ms per run",
    line(head),
    ...rows.map(line),
  ].join("\n");
}

const benchmark: Benchmark = {
  name: "cpu-per-word",
  description:
    `CPU per million words of every process (containers, master, nats-server) between RUNNING and FINISHED: ` +
    `${CONTAINERS.join(", ")} containers (ATMOST_ONCE, ATLEAST_ONCE) vs the hand-rolled nats.js pipeline`,
  defaultWords: DEFAULT_WORDS,
  async run(opts: BenchOptions) {
    if (process.platform !== "linux") throw new Error("cpu-per-word reads /proc: Linux only");
    const ticks = clockTicks();
    return withNatsWordCount("cpu", opts, async ({ dir, input, lines, reference, words, url, natsPid, nc, kv }) => {
      let outNo = 0;
      type ArdeaRun = { code: number | null; lines: string[]; out: string; cpu: CpuRun };

      const ardea = (mode: "atmost" | "atleast", c: number): Variant<ArdeaRun> => ({
        name: `ardea-${mode}-${c}`,
        description:
          `ardea submit examples/word_count.ts --containers ${c} --wait -- --mode ${mode} --splitters ${c} --counters ${c}`,
        run: async () => {
          const out = join(dir, `out-${outNo++}.json`);
          const { result, cpu } = await watched(natsPid, ticks, classifyArdea, (w, mark) =>
            submitRun({
              nc,
              kv,
              url,
              script: "examples/word_count.ts",
              topology: "word-count",
              containers: c,
              scriptArgs: [
                "--input",
                input,
                "--out",
                out,
                "--mode",
                mode,
                "--splitters",
                String(c),
                "--counters",
                String(c),
              ],
              timeoutMs: RUN_TIMEOUT_MS,
              during: async (ctx) => {
                if (ctx.child.pid !== undefined) w.addChild(ctx.child.pid);
              },
              onState: (s) => {
                if (s === "RUNNING") mark("running");
                if (s === "FINISHED") mark("finished");
              },
            }));
          return { code: result.code, lines: result.lines, out, cpu };
        },
        verify: (r) => {
          if (r.code !== 0) throw new Error(`submit exited ${r.code}: ${r.lines.slice(-8).join(" | ")}`);
          if (r.cpu.running === undefined || r.cpu.finished === undefined) {
            throw new Error("RUNNING or FINISHED not seen in KV");
          }
          const got = new Map(Object.entries(JSON.parse(readFileSync(r.out, "utf8")) as Record<string, number>));
          assertSameCounts(reference, got);
        },
        metrics: (r) => figures(r.cpu, words),
      });

      const handRolled: Variant<{ run: Awaited<ReturnType<typeof runHandRolled>>; cpu: CpuRun }> = {
        name: "hand-rolled",
        description:
          `nats.js + msgpackr: source → split×${SPLITTERS} → count×${COUNTERS}, 5 processes, no acking (as in wordcount-nats)`,
        run: async () => {
          const { result, cpu } = await watched(
            natsPid,
            ticks,
            classifyHandRolled,
            (w, mark) =>
              runHandRolled(nc, url, input, {
                spawned: (pids) => pids.forEach((pid) => w.addChild(pid)),
                go: () => mark("running"),
                done: () => mark("finished"),
              }),
          );
          return { run: result, cpu };
        },
        verify: (r) => verifyHandRolled(r.run, words, reference),
        metrics: (r) => figures(r.cpu, words),
      };

      const report = await measure({
        unit: "words/s",
        unitsPerRun: words,
        baseline: "hand-rolled",
        variants: [handRolled, ...MODES.flatMap((m) => CONTAINERS.map((c) => ardea(m, c)))],
        metrics: METRICS,
        goals: [
          { variant: "ardea-atmost-2", against: "hand-rolled", max: 1, metric: "cpu/Mw" },
          { variant: "ardea-atmost-4", against: "ardea-atmost-2", max: 1.25, metric: "cpu/Mw" },
        ],
        input: {
          source: opts.input ?? `generated (seed ${opts.seed})`,
          lines: lines.length,
          words,
          distinct: reference.size,
          runtime: runtimeName(),
          cpus: cpus().length,
          clkTck: ticks,
          pollMs: POLL_MS,
        },
      }, opts);
      console.log(breakdown(report));
      return report;
    });
  },
};

export default benchmark;
