/**
 * SVG charts and a Markdown summary from `bench/results/*.json`, with no
 * dependency: the SVG text is written here.
 *
 *   node --import ./runtime/node_loader.mjs bench/chart.ts [--results DIR] [--out DIR] [--markdown]
 *
 * - `scale.svg`: words/s (processing and wall) against containers, with the
 *   scaling efficiency of each (from `scale.json`).
 * - `latency.svg`: p50 / p99 / p99.9 / max complete latency of each variant,
 *   log scale, with the p99 goal (from `latency.json`).
 *
 * `npm run bench` calls {@link writeCharts} after its benchmarks (into
 * `docs/bench/` unless `--charts none`). `--markdown` prints one table of
 * the headline figures of every results file (what the README's
 * "Performance" section quotes).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BenchReport, VariantReport } from "./harness.ts";

type Result = BenchReport & {
  benchmark: string;
  date: string;
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
};

const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif"`;
const COLORS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** "1.23 M", "456 k", "7.8". */
export function short(x: number): string {
  if (x === 0) return "0";
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e5 ? 0 : 1)} k`;
  if (x >= 10) return x.toFixed(0);
  if (x >= 1) return x.toFixed(1);
  return x.toPrecision(2);
}

/** A "nice" upper bound for a linear axis and its tick step. */
function niceMax(x: number): { max: number; step: number } {
  const p = 10 ** Math.floor(Math.log10(x || 1));
  for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) {
    if (m * p >= x) return { max: m * p, step: m <= 2 ? (m * p) / 4 : m === 10 ? 2 * p : p };
  }
  return { max: 10 * p, step: 2 * p };
}

function svgDoc(w: number, h: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT} font-size="12">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    ...body,
    `</svg>`,
    "",
  ].join("\n");
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
}

/** Grouped vertical bars: one group per category, one bar per series. */
function barChart(o: {
  title: string;
  subtitle?: string;
  categories: string[];
  series: { name: string; values: (number | undefined)[] }[];
  yLabel: string;
  /** Logarithmic y axis (all values > 0). */
  log?: boolean;
  /** A text under each category (e.g. efficiency). */
  notes?: string[];
  /** Horizontal reference lines. */
  lines?: { value: number; label: string }[];
}): string {
  const W = 640, H = 360, L = 70, R = 20, T = o.subtitle ? 56 : 40, B = o.notes ? 70 : 50;
  const pw = W - L - R, ph = H - T - B;
  const all = o.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined && v > 0);
  for (const l of o.lines ?? []) all.push(l.value);
  const body: string[] = [];
  body.push(text(L, 22, o.title, `font-size="15" font-weight="600"`));
  if (o.subtitle) body.push(text(L, 40, o.subtitle, `fill="#555"`));
  let y: (v: number) => number;
  const ticks: number[] = [];
  if (o.log) {
    const lo = Math.floor(Math.log10(Math.min(...all)));
    const hi = Math.ceil(Math.log10(Math.max(...all)));
    y = (v) => T + ph - ((Math.log10(v) - lo) / (hi - lo || 1)) * ph;
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  } else {
    const { max, step } = niceMax(Math.max(...all) * 1.08);
    y = (v) => T + ph - (v / max) * ph;
    for (let t = 0; t <= max + step / 2; t += step) ticks.push(t);
  }
  for (const t of ticks) {
    const ty = y(t);
    body.push(`<line x1="${L}" x2="${W - R}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="#e2e2e2"/>`);
    body.push(text(L - 6, ty + 4, short(t), `text-anchor="end" fill="#555"`));
  }
  body.push(
    text(
      16,
      T + ph / 2,
      o.yLabel,
      `transform="rotate(-90 16 ${(T + ph / 2).toFixed(1)})" text-anchor="middle" fill="#333"`,
    ),
  );
  const gw = pw / o.categories.length;
  const bw = Math.min(48, (gw * 0.75) / o.series.length);
  o.categories.forEach((c, i) => {
    const gx = L + i * gw + (gw - bw * o.series.length) / 2;
    o.series.forEach((s, k) => {
      const v = s.values[i];
      if (v === undefined || v <= 0) return;
      const x = gx + k * bw, top = y(v);
      const base = o.log ? T + ph : y(0);
      body.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 3).toFixed(1)}" height="${
          Math.max(0.5, base - top).toFixed(1)
        }" fill="${COLORS[k % COLORS.length]}"><title>${esc(`${s.name} ${c}: ${short(v)}`)}</title></rect>`,
      );
      body.push(text(x + (bw - 3) / 2, top - 4, short(v), `text-anchor="middle" font-size="10" fill="#333"`));
    });
    body.push(text(L + i * gw + gw / 2, T + ph + 18, c, `text-anchor="middle" fill="#222"`));
    if (o.notes?.[i]) {
      body.push(text(L + i * gw + gw / 2, T + ph + 34, o.notes[i]!, `text-anchor="middle" fill="#555" font-size="11"`));
    }
  });
  body.push(`<line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" stroke="#888"/>`);
  for (const l of o.lines ?? []) {
    const ly = y(l.value);
    body.push(
      `<line x1="${L}" x2="${W - R}" y1="${ly.toFixed(1)}" y2="${
        ly.toFixed(1)
      }" stroke="#c53030" stroke-dasharray="5 4"/>`,
    );
    body.push(text(L + 6, ly - 5, l.label, `fill="#c53030" font-size="11"`));
  }
  // Legend.
  let lx = L;
  const ly = H - 14;
  o.series.forEach((s, k) => {
    body.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/>`);
    body.push(text(lx + 16, ly, s.name, `fill="#222"`));
    lx += 24 + s.name.length * 7;
  });
  return svgDoc(W, H, body);
}

function machineLine(r: Result): string {
  const m = r.machine;
  return `${m.cpus} × ${String(m.cpuModel ?? "?").replace(/\s+/g, " ").trim()}, ${m.runtime} ${
    m.runtime === "deno" ? m.deno : m.node
  }; ${String(r.date).slice(0, 10)}`;
}

/** `scale.svg` from the `scale` results. */
export function scaleSvg(r: Result): string {
  const ok = r.variants.filter((v) => v.status === "ok");
  return barChart({
    title: "Distributed word count: words/s vs containers",
    subtitle: `${r.input?.words ?? "?"} words, ${r.input?.mode ?? ""}, split×C count×C — ${machineLine(r)}`,
    categories: ok.map((v) => `${v.name.replace("containers-", "")} container${v.name.endsWith("-1") ? "" : "s"}`),
    series: [
      { name: "processing (RUNNING → FINISHED)", values: ok.map((v) => v.metrics?.["processing"]?.median) },
      { name: "wall (submit spawn → exit)", values: ok.map((v) => v.median) },
    ],
    yLabel: "words/s (median)",
    notes: ok.map((v) => {
      const e = v.metrics?.["efficiency"]?.median;
      return e === undefined ? "" : `efficiency ${(e * 100).toFixed(0)} %`;
    }),
  });
}

/** `latency.svg` from the `latency` results. */
export function latencySvg(r: Result): string {
  const ok = r.variants.filter((v) => v.status === "ok");
  const pcts = ["p50", "p99", "p99.9", "max"];
  const goal = r.goals.find((g) => g.metric === "p99" && g.atMost !== undefined);
  return barChart({
    title: "Complete latency (ms, log scale)",
    subtitle: machineLine(r),
    categories: pcts,
    series: ok.map((v: VariantReport) => ({ name: v.name, values: pcts.map((p) => v.metrics?.[p]?.median) })),
    yLabel: "ms (median of runs)",
    log: true,
    lines: goal ? [{ value: goal.atMost!, label: `goal: ${goal.variant} p99 ≤ ${goal.atMost} ms` }] : [],
  });
}

function load(dir: string, name: string): Result | undefined {
  const f = join(dir, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Result) : undefined;
}

/** Writes `scale.svg` and `latency.svg` into `outDir` for the results found in `resultsDir`; returns the files written. */
export function writeCharts(resultsDir: string, outDir: string): string[] {
  const written: string[] = [];
  const charts: [string, (r: Result) => string][] = [["scale", scaleSvg], ["latency", latencySvg]];
  for (const [name, draw] of charts) {
    const r = load(resultsDir, name);
    if (!r || !r.variants.some((v) => v.status === "ok")) continue;
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${name}.svg`);
    writeFileSync(file, draw(r));
    written.push(file);
  }
  return written;
}

/** "850 ms", "3.42 s". */
function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toPrecision(3)} ms`;
}

/** Headline figures of one variant: the primary median and the metrics named. */
function fig(r: Result, variant: string, metrics: string[] = []): string {
  const v = r.variants.find((x) => x.name === variant);
  if (!v) return "–";
  if (v.status !== "ok") return `${v.status} (${v.reason})`;
  const parts = metrics.length ? [] : [r.unit === "ms" ? ms(v.median!) : `${short(v.median!)} ${r.unit}`];
  for (const m of metrics) {
    const st = v.metrics?.[m];
    const mu = r.metrics?.find((x) => x.name === m)?.unit ?? "";
    if (st) {
      parts.push(`${m} ${mu === "ms" ? ms(st.median) : `${short(st.median)}${mu.includes("/s") ? ` ${mu}` : ""}`}`);
    }
  }
  return parts.join(", ");
}

/** One Markdown table: benchmark, variant, median figures, goals. */
export function markdownSummary(dir: string): string {
  const rows: string[] = ["| benchmark | variant | median | goals |", "| --- | --- | --- | --- |"];
  const names = [
    "wordcount-embedded",
    "wordcount-nats",
    "latency",
    "startup",
    "instances",
    "recovery",
    "recovery-eo",
    "scale",
    "cpu-per-word",
  ];
  const extra: Record<string, string[]> = {
    "latency": ["p50", "p99", "p99.9"],
    "instances": ["start-ms", "heap-per-task"],
    "recovery": [
      "resumed-ms",
      "victim-resumed-ms",
      "rejoin-ms",
      "lost",
      "duplicates",
      "restart-to-finished-ms",
      "lost-time-ms",
      "run-ms",
    ],
    "recovery-eo": ["commit-ms", "resumed-ms", "leader-ms", "leader-to-commit-ms"],
    "scale": ["processing", "efficiency"],
    "cpu-per-word": ["cpu/Mw", "workers/Mw", "master/Mw", "nats/Mw", "startup-cpu-ms"],
    "wordcount-nats": ["processing"],
  };
  for (const n of names) {
    const r = load(dir, n);
    if (!r) continue;
    for (const v of r.variants) {
      const goals = r.goals.filter((g) => g.variant === v.name).map((g) => {
        const got = g.pass === undefined
          ? "n/a"
          : `${g.ratio !== undefined ? `${g.ratio.toFixed(2)}×` : short(g.value!)} ${g.pass ? "ok" : "**MISSED**"}`;
        return `${
          g.label ??
            `${g.metric ?? ""} ${g.min !== undefined ? `≥${g.min}×` : ""}${g.max !== undefined ? `≤${g.max}×` : ""}${
              g.atMost !== undefined ? `≤${g.atMost}` : ""
            } ${g.against ?? ""}`.trim()
        }: ${got}`;
      }).join("; ");
      const m = extra[n] ?? [];
      const main = fig(r, v.name);
      const more = m.length ? fig(r, v.name, m) : "";
      rows.push(`| ${n} | ${v.name} | ${[main, more].filter(Boolean).join("; ")} | ${goals} |`);
    }
  }
  return rows.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("bench/chart.ts")) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      results: { type: "string", default: fileURLToPath(new URL("./results/", import.meta.url)) },
      out: { type: "string", default: fileURLToPath(new URL("../docs/bench/", import.meta.url)) },
      markdown: { type: "boolean" },
    },
  });
  for (const f of writeCharts(values.results!, values.out!)) console.log(`→ ${f}`);
  if (values.markdown) console.log(markdownSummary(values.results!));
}
