/**
 * Benchmark runner: `npm run bench -- [name…] [--reps N] [--warmup N]
 * [--input FILE] [--words N] [--seed S] [--out DIR] [--charts DIR|none]`. Runs the named
 * benchmarks (all by default), prints a table per benchmark, writes
 * `<out>/<name>.json` with every repetition, then draws the SVG charts of
 * bench/chart.ts into `--charts DIR` (default docs/bench/; `none`: no charts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Benchmark, type BenchOptions, type BenchReport, type GoalReport, machineInfo } from "./harness.ts";
import { writeCharts } from "./chart.ts";
import wordcountEmbedded from "./wordcount_embedded.ts";
import wordcountNats from "./wordcount_nats.ts";
import latency from "./latency.ts";
import startup from "./startup.ts";
import instances from "./instances.ts";
import recovery from "./recovery.ts";
import recoveryEo from "./recovery_eo.ts";
import scale from "./scale.ts";
import cpuPerWord from "./cpu_per_word.ts";
import frames from "./frames.ts";
import multilang from "./multilang.ts";
import streamletWordcount from "./streamlet_wordcount.ts";
import { APP_BENCHMARKS } from "./apps.ts";

/** Every benchmark the runner knows, in run order. */
export const BENCHMARKS: Benchmark[] = [
  wordcountEmbedded,
  wordcountNats,
  latency,
  startup,
  instances,
  recovery,
  recoveryEo,
  scale,
  cpuPerWord,
  frames,
  multilang,
  streamletWordcount,
  ...APP_BENCHMARKS,
];

const USAGE =
  `usage: npm run bench -- [name…] [--reps N] [--warmup N] [--input FILE] [--words N] [--seed S] [--out DIR] [--charts DIR|none]
benchmarks:\n${BENCHMARKS.map((b) => `  ${b.name.padEnd(22)} ${b.description}`).join("\n")}`;

/** `--words` of a benchmark without its own {@link Benchmark.defaultWords}. */
const DEFAULT_WORDS = 1_000_000;

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** "12.3 M" style figure. */
function fmt(x: number | undefined): string {
  if (x === undefined) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** Ratio cell: "1.23×" (3 significant figures below 0.1). */
function fmtRatio(x: number | undefined): string {
  if (x === undefined) return "";
  return `${x < 0.1 ? x.toPrecision(2) : x.toFixed(2)}×`;
}

/** One goal as text: "≥1.25× hand-rolled: 1.31× ok", "p99 ≤5 ms: 1.2 ok". */
function fmtGoal(g: GoalReport, r: BenchReport): string {
  const unit = g.metric === undefined ? r.unit : r.metrics?.find((m) => m.name === g.metric)?.unit ?? "";
  const on = g.metric === undefined ? "" : `${g.metric} `;
  let want: string;
  if (g.against !== undefined) {
    want =
      [g.min !== undefined ? `≥${g.min}×` : "", g.max !== undefined ? `≤${g.max}×` : ""].filter(Boolean).join(" ") +
      ` ${g.against}`;
  } else {
    want = [
      g.atLeast !== undefined ? `≥${fmt(g.atLeast)} ${unit}` : "",
      g.atMost !== undefined ? `≤${fmt(g.atMost)} ${unit}` : "",
    ].filter(Boolean).join(" ");
  }
  const got = g.pass === undefined
    ? "n/a"
    : `${g.against !== undefined ? fmtRatio(g.ratio) : fmt(g.value)} ${g.pass ? "ok" : "MISSED"}`;
  return `${g.label ?? `${on}${want}`}: ${got}`;
}

/** Left-aligned text table. */
function table(head: string[], rows: string[][]): string[] {
  const width = head.map((_, c) => Math.max(head[c].length, ...rows.map((r) => (r[c] ?? "").length)));
  return [head, ...rows].map((r) => r.map((cell, c) => (cell ?? "").padEnd(width[c])).join("  ").trimEnd());
}

/** Renders a benchmark report as a text table with goal checks. */
export function formatReport(name: string, r: BenchReport): string {
  const head = ["variant", `median ${r.unit}`, "min", "max", `× ${r.baseline}`, "goals"];
  const metricGoals = new Set(r.goals.filter((g) => g.metric !== undefined));
  const rows: string[][] = [];
  const notes = new Map<number, string>(); // row index → "n/a (…)" / "FAIL (…)" spanning the figures
  for (const v of r.variants) {
    const goals = r.goals.filter((g) => g.variant === v.name && !metricGoals.has(g)).map((g) => fmtGoal(g, r)).join(
      "; ",
    );
    if (v.status !== "ok") notes.set(rows.length, `${v.status === "fail" ? "FAIL" : "n/a"} (${v.reason})`);
    rows.push([v.name, fmt(v.median), fmt(v.min), fmt(v.max), fmtRatio(v.ratio), goals]);
  }
  const width = head.map((_, c) =>
    Math.max(head[c].length, ...rows.filter((_, i) => c === 0 || !notes.has(i)).map((r) => r[c].length))
  );
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(width[c])).join("  ").trimEnd();
  const body = rows.map((r, i) =>
    notes.has(i) ? [r[0].padEnd(width[0]), notes.get(i), r[5]].filter(Boolean).join("  ") : line(r)
  );
  const inp = r.input ? ` — ${Object.entries(r.input).map(([k, v]) => `${k} ${v}`).join(", ")}` : "";
  const out = [`${name}${inp}`, line(head), ...body];
  // One more table per declared metric (figures the variants measured themselves).
  for (const m of r.metrics ?? []) {
    const mrows = r.variants.filter((v) => v.metrics?.[m.name]).map((v) => {
      const st = v.metrics![m.name]!;
      const goals = r.goals.filter((g) => g.variant === v.name && g.metric === m.name).map((g) => fmtGoal(g, r)).join(
        "; ",
      );
      return [v.name, fmt(st.median), fmt(st.min), fmt(st.max), fmtRatio(st.ratio), goals];
    });
    if (mrows.length === 0) continue;
    out.push(
      "",
      ...table(
        [`  ${m.name}`, `median ${m.unit}`, "min", "max", `× ${r.baseline}`, "goals"],
        mrows.map((x) => [`  ${x[0]}`, ...x.slice(1)]),
      ),
    );
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      reps: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      input: { type: "string" },
      words: { type: "string" },
      seed: { type: "string", default: "42" },
      out: { type: "string", default: fileURLToPath(new URL("./results/", import.meta.url)) },
      charts: { type: "string", default: fileURLToPath(new URL("../docs/bench/", import.meta.url)) },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void console.log(USAGE);
  const words = values.words === undefined ? undefined : int("words", values.words, 1);
  const common: Omit<BenchOptions, "words"> = {
    reps: int("reps", values.reps!, 1),
    warmup: int("warmup", values.warmup!, 0),
    input: values.input,
    seed: int("seed", values.seed!, 0),
  };
  const unknown = positionals.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(", ")}\n${USAGE}`);
  const selected = positionals.length ? BENCHMARKS.filter((b) => positionals.includes(b.name)) : BENCHMARKS;
  const machine = machineInfo();
  mkdirSync(values.out!, { recursive: true });

  for (const b of selected) {
    const opts: BenchOptions = { ...common, words: words ?? b.defaultWords ?? DEFAULT_WORDS };
    console.log(`\n# ${b.name}: ${b.description}\n  ${opts.reps} reps + ${opts.warmup} warm-up, variants alternating`);
    const report = await b.run(opts);
    console.log(formatReport(b.name, report));
    if (report.variants.some((v) => v.status === "fail")) process.exitCode = 1;
    const file = join(values.out!, `${b.name}.json`);
    const record = {
      benchmark: b.name,
      description: b.description,
      date: new Date().toISOString(),
      machine,
      options: opts,
      ...report,
    };
    writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
    console.log(`→ ${file}`);
  }
  // Charts from whatever results the out folder holds (this run's and earlier ones).
  if (values.charts !== "none") { for (const f of writeCharts(values.out!, values.charts!)) console.log(`→ ${f}`); }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
});
