/**
 * Benchmark runner: `npm run bench -- [name…] [--reps N] [--warmup N]
 * [--input FILE] [--words N] [--seed S] [--out DIR]`. Runs the named
 * benchmarks (all by default), prints a table per benchmark and writes
 * `<out>/<name>.json` with every repetition.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Benchmark, type BenchOptions, type BenchReport, machineInfo } from "./harness.ts";
import wordcountEmbedded from "./wordcount_embedded.ts";

/** Every benchmark the runner knows, in run order. */
export const BENCHMARKS: Benchmark[] = [wordcountEmbedded];

const USAGE = `usage: npm run bench -- [name…] [--reps N] [--warmup N] [--input FILE] [--words N] [--seed S] [--out DIR]
benchmarks:\n${BENCHMARKS.map((b) => `  ${b.name.padEnd(22)} ${b.description}`).join("\n")}`;

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
  return x.toFixed(1);
}

/** Renders a benchmark report as a text table with goal checks. */
export function formatReport(name: string, r: BenchReport): string {
  const head = ["variant", `median ${r.unit}`, "min", "max", `× ${r.baseline}`, "goals"];
  const rows: string[][] = [];
  const notes = new Map<number, string>(); // row index → "n/a (…)" / "FAIL (…)" spanning the figures
  for (const v of r.variants) {
    const goals = r.goals.filter((g) => g.variant === v.name).map((g) => {
      const got = g.ratio === undefined ? "n/a" : `${g.ratio.toFixed(2)}× ${g.pass ? "ok" : "MISSED"}`;
      return `≥${g.min}× ${g.against}: ${got}`;
    }).join("; ");
    if (v.status !== "ok") notes.set(rows.length, `${v.status === "fail" ? "FAIL" : "n/a"} (${v.reason})`);
    rows.push([v.name, fmt(v.median), fmt(v.min), fmt(v.max), v.ratio ? `${v.ratio.toFixed(2)}×` : "", goals]);
  }
  const width = head.map((_, c) => Math.max(head[c].length, ...rows.filter((_, i) => c === 0 || !notes.has(i)).map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(width[c])).join("  ").trimEnd();
  const body = rows.map((r, i) =>
    notes.has(i) ? [r[0].padEnd(width[0]), notes.get(i), r[5]].filter(Boolean).join("  ") : line(r)
  );
  const inp = r.input ? ` — ${Object.entries(r.input).map(([k, v]) => `${k} ${v}`).join(", ")}` : "";
  return [`${name}${inp}`, line(head), ...body].join("\n");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      reps: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      input: { type: "string" },
      words: { type: "string", default: "1000000" },
      seed: { type: "string", default: "42" },
      out: { type: "string", default: fileURLToPath(new URL("./results/", import.meta.url)) },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void console.log(USAGE);
  const opts: BenchOptions = {
    reps: int("reps", values.reps!, 1),
    warmup: int("warmup", values.warmup!, 0),
    input: values.input,
    words: int("words", values.words!, 1),
    seed: int("seed", values.seed!, 0),
  };
  const unknown = positionals.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(", ")}\n${USAGE}`);
  const selected = positionals.length ? BENCHMARKS.filter((b) => positionals.includes(b.name)) : BENCHMARKS;
  const machine = machineInfo();
  mkdirSync(values.out!, { recursive: true });

  for (const b of selected) {
    console.log(`\n# ${b.name}: ${b.description}\n  ${opts.reps} reps + ${opts.warmup} warm-up, variants alternating`);
    const report = await b.run(opts);
    console.log(formatReport(b.name, report));
    if (report.variants.some((v) => v.status === "fail")) process.exitCode = 1;
    const file = join(values.out!, `${b.name}.json`);
    const record = { benchmark: b.name, description: b.description, date: new Date().toISOString(), machine, options: opts, ...report };
    writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
    console.log(`→ ${file}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
});
