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
  /**
   * Figures the variant measured itself during this run (untimed), e.g. its
   * processing time without process start-up, a latency percentile, bytes
   * per task. Keys must be declared in {@link MeasureSpec.metrics}; a missing
   * key is simply absent from that run.
   */
  metrics?(result: R): Record<string, number>;
  /** Work units of one run of this variant, if not the spec's unitsPerRun. */
  units?: number;
}

/** An extra per-run figure a benchmark reports (see {@link Variant.metrics}). */
export interface MetricSpec {
  name: string;
  unit: string;
  /** Smaller is better (times, latencies, bytes); default false. */
  lowerIsBetter?: boolean;
}

/**
 * A target from the issue, on the medians. Relative: "`variant` must reach at
 * least `min` × (or at most `max` ×) the median of `against`". Absolute (no
 * `against`): "`variant`'s median must be ≥ `atLeast` / ≤ `atMost`". `metric`
 * names a {@link MetricSpec} (default: the primary figure, rate or ms).
 */
export interface Goal {
  variant: string;
  against?: string;
  min?: number;
  max?: number;
  atLeast?: number;
  atMost?: number;
  metric?: string;
  /** Printed instead of the generated description. */
  label?: string;
}

/** What a benchmark hands to {@link measure}. */
export interface MeasureSpec {
  /** Unit of the rate, e.g. "words/s". */
  unit: string;
  /** Work units per run(); rate = unitsPerRun / seconds. */
  unitsPerRun: number;
  /** Name of the variant ratios are computed against. */
  baseline: string;
  variants: Variant<unknown>[];
  goals?: Goal[];
  /** Free-form facts about the input, stored in the results file. */
  input?: Record<string, unknown>;
  /**
   * "rate" (default): the primary figure is unitsPerRun / wall seconds,
   * higher is better. "ms": it is the wall time of run() in ms, lower is
   * better (unit should then be "ms").
   */
  primary?: "rate" | "ms";
  /** Extra per-run figures the variants report through metrics(). */
  metrics?: MetricSpec[];
}

/** Statistics of one figure of one variant over the measured runs. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  /** median / baseline's median of the same figure. */
  ratio?: number;
}

/** One repetition of one variant. */
export interface Sample {
  round: number;
  ms: number;
  rate: number;
  /** What the variant's metrics() returned for this run. */
  metrics?: Record<string, number>;
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
  /** Statistics of each declared metric this variant reported. */
  metrics?: Record<string, Stats>;
}

/** Goal with its measured outcome. */
export interface GoalReport extends Goal {
  /** Relative goals: variant median / against median. */
  ratio?: number;
  /** Absolute goals: the variant's median. */
  value?: number;
  pass?: boolean;
}

/** Everything a benchmark run produced; written as JSON by run.ts. */
export interface BenchReport {
  unit: string;
  unitsPerRun: number;
  baseline: string;
  input?: Record<string, unknown>;
  primary?: "rate" | "ms";
  metrics?: MetricSpec[];
  variants: VariantReport[];
  goals: GoalReport[];
}

/** A benchmark module's default shape. */
export interface Benchmark {
  name: string;
  description: string;
  /** `--words` when the command line gives none (default 1 000 000). */
  defaultWords?: number;
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
    name: v.name,
    description: v.description,
    status: "ok",
    warmup: [],
    samples: [],
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
      let metrics: Record<string, number> | undefined;
      try {
        metrics = v.metrics?.(result);
      } catch (e) {
        r.status = "fail";
        r.reason = `metrics: ${message(e)}`;
        continue;
      }
      const sample: Sample = {
        round,
        ms,
        rate: (v.units ?? spec.unitsPerRun) / (ms / 1000),
        ...(metrics ? { metrics } : {}),
      };
      (round < 0 ? r.warmup : r.samples).push(sample);
    }
  }
  const primary = spec.primary ?? "rate";
  for (const r of reports) {
    if (r.status !== "ok" || r.samples.length === 0) continue;
    const xs = r.samples.map((s) => (primary === "ms" ? s.ms : s.rate));
    r.median = median(xs);
    r.min = Math.min(...xs);
    r.max = Math.max(...xs);
    for (const m of spec.metrics ?? []) {
      const ys = r.samples.map((s) => s.metrics?.[m.name]).filter((y): y is number =>
        typeof y === "number" && Number.isFinite(y)
      );
      if (ys.length === 0) continue;
      (r.metrics ??= {})[m.name] = { median: median(ys), min: Math.min(...ys), max: Math.max(...ys) };
    }
  }
  const byName = new Map(reports.map((r) => [r.name, r]));
  const base = byName.get(spec.baseline);
  for (const r of reports) {
    if (r.median !== undefined && base?.median) r.ratio = r.median / base.median;
    for (const [k, st] of Object.entries(r.metrics ?? {})) {
      const b = base?.metrics?.[k]?.median;
      if (b) st.ratio = st.median / b;
    }
  }
  const figure = (name: string | undefined, metric: string | undefined): number | undefined => {
    const r = name === undefined ? undefined : byName.get(name);
    return metric === undefined ? r?.median : r?.metrics?.[metric]?.median;
  };
  const goals = (spec.goals ?? []).map((g): GoalReport => {
    const a = figure(g.variant, g.metric);
    if (a === undefined) return { ...g };
    if (g.against === undefined) {
      const pass = (g.atLeast === undefined || a >= g.atLeast) && (g.atMost === undefined || a <= g.atMost);
      return { ...g, value: a, pass };
    }
    const b = figure(g.against, g.metric);
    if (!b) return { ...g };
    const ratio = a / b;
    const pass = (g.min === undefined || ratio >= g.min) && (g.max === undefined || ratio <= g.max);
    return { ...g, ratio, pass };
  });
  return {
    unit: spec.unit,
    unitsPerRun: spec.unitsPerRun,
    baseline: spec.baseline,
    input: spec.input,
    primary,
    metrics: spec.metrics,
    variants: reports,
    goals,
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
