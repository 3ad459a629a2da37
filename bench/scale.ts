/**
 * `scale`: words/s of the distributed word count with 1, 2 and 4 containers
 * (`ardea submit examples/word_count.ts --containers C --wait -- --mode
 * atleast --splitters C --counters C`), split and count parallelism scaled
 * with the containers, on one local nats-server.
 *
 * Primary figure: words / wall time of the whole submit (spawn → exit).
 * Metric `processing`: words / (RUNNING → FINISHED of the topology record,
 * seen in KV). `efficiency` = processing / (C × the 1-container variant's
 * median processing); 1.0 is linear scaling. Every run's `--out` counts must
 * equal a plain count exactly.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { runtimeName } from "../runtime/mod.ts";
import { type SubmitResult, submitRun, withNatsWordCount } from "./dist.ts";
import { type Benchmark, type BenchOptions, type BenchReport, measure, median, type Variant } from "./harness.ts";
import { assertSameCounts } from "./wordcount_embedded.ts";

/** Container counts measured, smallest first (the first is the baseline). */
export const CONTAINERS = [1, 2, 4];
const MODE = "atleast";
const RUN_TIMEOUT_MS = 300_000;

type Run = SubmitResult<undefined> & { out: string };

/**
 * Adds the `efficiency` metric to every variant of `r` (per sample, and its
 * median/min/max): processing / (containers × baseline median processing).
 */
export function addEfficiency(r: BenchReport, containersOf: (variant: string) => number): void {
  const base = r.variants.find((v) => v.name === r.baseline)?.metrics?.["processing"]?.median;
  if (!base) return;
  for (const v of r.variants) {
    const c = containersOf(v.name);
    const ys: number[] = [];
    for (const s of v.samples) {
      const p = s.metrics?.["processing"];
      if (p === undefined) continue;
      const e = p / (c * base);
      (s.metrics ??= {})["efficiency"] = e;
      ys.push(e);
    }
    if (ys.length) {
      (v.metrics ??= {})["efficiency"] = { median: median(ys), min: Math.min(...ys), max: Math.max(...ys) };
    }
  }
  r.metrics = [...(r.metrics ?? []), { name: "efficiency", unit: "× linear" }];
}

const benchmark: Benchmark = {
  name: "scale",
  description: `Distributed word count (ATLEAST_ONCE over NATS) with ${
    CONTAINERS.join(", ")
  } containers, split×C count×C: words/s and scaling efficiency`,
  async run(opts: BenchOptions) {
    return withNatsWordCount("scale", opts, async ({ dir, input, lines, reference, words, url, nc: conn, kv }) => {
      let outNo = 0;

      const variant = (c: number): Variant<Run> => ({
        name: `containers-${c}`,
        description:
          `ardea submit examples/word_count.ts --containers ${c} --wait -- --mode ${MODE} --splitters ${c} --counters ${c}`,
        run: async () => {
          const out = join(dir, `out-${outNo++}.json`);
          const r = await submitRun({
            nc: conn,
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
              MODE,
              "--splitters",
              String(c),
              "--counters",
              String(c),
            ],
            timeoutMs: RUN_TIMEOUT_MS,
          });
          return { ...r, out };
        },
        verify: (r) => {
          if (r.code !== 0) throw new Error(`submit exited ${r.code}: ${r.lines.slice(-8).join(" | ")}`);
          if (r.seen.RUNNING === undefined || r.seen.FINISHED === undefined) {
            throw new Error(`KV states seen: ${Object.keys(r.seen).join(", ") || "none"}`);
          }
          const got = new Map(Object.entries(JSON.parse(readFileSync(r.out, "utf8")) as Record<string, number>));
          assertSameCounts(reference, got);
        },
        metrics: (r) => ({
          processing: words / ((r.seen.FINISHED! - r.seen.RUNNING!) / 1000),
          "processing-ms": r.seen.FINISHED! - r.seen.RUNNING!,
          "to-running-ms": r.seen.RUNNING! - r.t0,
        }),
      });

      const report = await measure({
        unit: "words/s",
        unitsPerRun: words,
        baseline: `containers-${CONTAINERS[0]}`,
        variants: CONTAINERS.map(variant),
        metrics: [
          { name: "processing", unit: "words/s" },
          { name: "processing-ms", unit: "ms", lowerIsBetter: true },
          { name: "to-running-ms", unit: "ms", lowerIsBetter: true },
        ],
        input: {
          source: opts.input ?? `generated (seed ${opts.seed})`,
          lines: lines.length,
          words,
          mode: MODE,
          cpus: cpus().length,
          runtime: runtimeName(),
        },
      }, opts);
      addEfficiency(report, (name) => Number(name.slice("containers-".length)));
      return report;
    });
  },
};

export default benchmark;
