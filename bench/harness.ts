/**
 * Shared machinery for Ardea benchmarks: variant types, the alternating
 * measurement loop, statistics and goal checks. No benchmark logic lives here.
 */
import { cpus, totalmem } from "node:os";
import process from "node:process";

/** Options every benchmark receives (parsed from the command line by run.ts). */
export interface BenchOptions {
  /** Measured repetitions per variant. */
  reps: number;
  /** Unmeasured warm-up repetitions per variant, run first. */
  warmup: number;
  /** Read input lines from this file instead of generating them. */
  input?: string;
  /** Number of words to generate when no input file is given. */
  words: number;
  /** Seed of the input generator. */
  seed: number;
}

/** One timed alternative within a benchmark (a baseline or an engine mode). */
export interface Variant<R = unknown> {
  name: string;
  description: string;
  /** The timed work. Throwing marks the variant "n/a (reason)". */
  run(): R | Promise<R>;
  /** Untimed check of run()'s result. Throwing marks the variant FAIL. */
  verify?(result: R): void;
}

/** "variant must reach at least `min` × the median of `against`". */
export interface Goal {
  variant: string;
  against: string;
  min: number;
}

/** What a benchmark hands to {@link measure}. */
export interface MeasureSpec {
  /** Unit of the rate, e.g. "words/s". */
  unit: string;
  /** Work units per run(); rate = unitsPerRun / seconds. */
  unitsPerRun: number;
  /** Name of the variant ratios are computed against. */
  baseline: string;
  variants: Variant<any>[];
  goals?: Goal[];
  /** Free-form facts about the input, stored in the results file. */
  input?: Record<string, unknown>;
}

/** One repetition of one variant. */
export interface Sample {
  round: number;
  ms: number;
  rate: number;
}

/** Outcome of one variant over all repetitions. */
export interface VariantReport {
  name: string;
  description: string;
  status: "ok" | "n/a" | "fail";
  reason?: string;
  warmup: Sample[];
  samples: Sample[];
  median?: number;
  min?: number;
  max?: number;
  /** median / baseline median. */
  ratio?: number;
}

/** Goal with its measured outcome. */
export interface GoalReport extends Goal {
  ratio?: number;
  pass?: boolean;
}

/** Everything a benchmark run produced; written as JSON by run.ts. */
export interface BenchReport {
  unit: string;
  unitsPerRun: number;
  baseline: string;
  input?: Record<string, unknown>;
  variants: VariantReport[];
  goals: GoalReport[];
}

/** A benchmark module's default shape. */
export interface Benchmark {
  name: string;
  description: string;
  run(opts: BenchOptions): Promise<BenchReport>;
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs every variant `opts.warmup` times unmeasured, then `opts.reps` times
 * measured, alternating variants within each round (A B C A B C …) so that
 * drifts of a noisy machine hit all variants alike. A variant that throws is
 * dropped from later rounds and reported as n/a; one that fails verify() is
 * reported as fail.
 */
export async function measure(spec: MeasureSpec, opts: BenchOptions): Promise<BenchReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const reports: VariantReport[] = spec.variants.map((v) => ({
    name: v.name, description: v.description, status: "ok", warmup: [], samples: [],
  }));
  for (let round = -opts.warmup; round < opts.reps; round++) {
    for (let i = 0; i < spec.variants.length; i++) {
      const v = spec.variants[i], r = reports[i];
      if (r.status !== "ok") continue;
      gc?.();
      let result: unknown;
      const t0 = performance.now();
      try {
        result = await v.run();
      } catch (e) {
        r.status = "n/a";
        r.reason = message(e);
        continue;
      }
      const ms = performance.now() - t0;
      try {
        v.verify?.(result);
      } catch (e) {
        r.status = "fail";
        r.reason = message(e);
        continue;
      }
      const sample = { round, ms, rate: spec.unitsPerRun / (ms / 1000) };
      (round < 0 ? r.warmup : r.samples).push(sample);
    }
  }
  for (const r of reports) {
    if (r.status !== "ok" || r.samples.length === 0) continue;
    const rates = r.samples.map((s) => s.rate);
    r.median = median(rates);
    r.min = Math.min(...rates);
    r.max = Math.max(...rates);
  }
  const byName = new Map(reports.map((r) => [r.name, r]));
  const base = byName.get(spec.baseline)?.median;
  for (const r of reports) if (r.median !== undefined && base) r.ratio = r.median / base;
  const goals = (spec.goals ?? []).map((g): GoalReport => {
    const a = byName.get(g.variant)?.median, b = byName.get(g.against)?.median;
    if (a === undefined || !b) return { ...g };
    return { ...g, ratio: a / b, pass: a / b >= g.min };
  });
  return {
    unit: spec.unit, unitsPerRun: spec.unitsPerRun, baseline: spec.baseline,
    input: spec.input, variants: reports, goals,
  };
}

/** Facts about the machine and runtime, stored with every result. */
export function machineInfo(): Record<string, unknown> {
  const deno = (globalThis as { Deno?: { version: Record<string, string> } }).Deno;
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model,
    totalMemMB: Math.round(totalmem() / 2 ** 20),
    platform: process.platform,
    arch: process.arch,
    runtime: deno ? "deno" : "node",
    node: process.versions.node,
    deno: deno?.version.deno,
    v8: process.versions.v8,
    exposedGc: typeof (globalThis as { gc?: unknown }).gc === "function",
  };
}
