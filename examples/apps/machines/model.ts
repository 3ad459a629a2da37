/**
 * The failure predictor of examples/apps/machines.ts, as pure functions on
 * plain data: the topology folds each host's samples with {@link step}
 * (a `reduceByKey`), the offline reference (offline.ts) runs the same fold
 * in a loop, so both compute the same numbers.
 *
 * Per host, over its samples since it booted:
 *
 * - EWMA baselines (mean and variance, half-life 60 min) of every metric,
 *   and the z-score of a fast EWMA (half-life 1 min) against them: how far
 *   from its own normal the host is now;
 * - the trend of memory and disk (linear) and of the error rate and latency
 *   (log-linear: they grow exponentially when a host degrades), fitted by
 *   least squares (`simple-statistics` linearRegression, rSquared) over the
 *   last 10 minutes, and from it the time until the metric reaches its
 *   critical level: memory or disk full, errors at 25 %, latency at 2.5 s;
 * - a probability of failure within the horizon (default 30 min) per signal:
 *   σ((horizon − time to critical) / 4 min), gated by the trend's quality
 *   (its r², and the line fitting the window better than any single step:
 *   a batch job's memory or a deploy's burst of errors is not a trend) and,
 *   for errors and latency, by the z-score (from 1.5, full weight at 2.5:
 *   the level itself is abnormal). The host's probability is
 *   1 − Π(1 − pᵢ). It is a risk score shaped as a probability, not one
 *   calibrated on data;
 * - an alert when the probability stays ≥ 0.5 for 1 minute (6 samples);
 *   the host re-arms when it stays < 0.2 for 5 minutes or reboots (its
 *   uptime goes back, or it was silent for 2 minutes).
 *
 * CPU is tracked (EWMA, z) but not a precursor here: its spikes are benign.
 *
 * @module
 */
import { linearRegression, rSquared } from "simple-statistics";
import { CRITICAL, type MetricSample } from "./generator.ts";

const MINUTE = 60_000;

/** The predictor's settings. */
export interface PredictorOptions {
  /** Predict failures within this many minutes (default 30). */
  horizonMin: number;
}

export const DEFAULT_PREDICTOR: PredictorOptions = { horizonMin: 30 };

/** Samples in the trend window (10 minutes at one sample per 10 s). */
export const TREND_SAMPLES = 60;
const HALF_LIFE_SLOW_MS = 60 * MINUTE;
const HALF_LIFE_FAST_MS = 1 * MINUTE;
const ALERT_ON = 0.5;
const ALERT_ON_SAMPLES = 6;
const ALERT_OFF = 0.2;
const ALERT_OFF_SAMPLES = 30;
const SILENCE_MS = 2 * MINUTE;
/** σ's scale in minutes: a time to critical 4 minutes inside the horizon is p ≈ 0.73. */
const SCALE_MIN = 4;

/** The metrics with a trend, and how each is fitted. */
export const TRENDED = ["mem", "disk", "errRate", "latencyMs"] as const;
export type Trended = typeof TRENDED[number];
const LOG_SCALE: Record<Trended, boolean> = { mem: false, disk: false, errRate: true, latencyMs: true };
const TRACKED = ["cpu", "mem", "disk", "errRate", "latencyMs"] as const;
type Tracked = typeof TRACKED[number];

/** Exponentially weighted mean and variance of a metric, and a fast mean. */
interface Ewma {
  mean: number;
  variance: number;
  fast: number;
}

/** What the predictor keeps per host (plain data: it is the fold's accumulator, kept in Ardea state). */
export interface HostState {
  host: string;
  /** Samples since the host booted. */
  n: number;
  lastTs: number;
  lastUptime: number;
  /** The last TREND_SAMPLES samples: times (ms) and the trended metrics (log for errors and latency). */
  window: { ts: number[] } & Record<Trended, number[]>;
  stats: Record<Tracked, Ewma>;
  /** Consecutive samples above ALERT_ON, and below ALERT_OFF. */
  above: number;
  below: number;
  alerting: boolean;
  /** This sample's assessment. */
  last: Assessment;
}

/** One signal's view of the host. */
export interface Signal {
  metric: Trended;
  /** Minutes until the metric reaches its critical level at the current trend (Infinity: not rising). */
  ttfMin: number;
  p: number;
}

/** The predictor's view of a host after a sample. */
export interface Assessment {
  host: string;
  ts: number;
  /** Probability of a failure within the horizon. */
  p: number;
  /** Minutes until memory is full at its current trend (Infinity: not rising). */
  memFullMin: number;
  /** z-score of each metric's fast EWMA against its baseline. */
  z: Record<Tracked, number>;
  /** The signals, strongest first. */
  signals: Signal[];
  /** Set on the sample that raises an alert. */
  alert: Alert | null;
}

/** An alert: a host predicted to fail within the horizon. */
export interface Alert {
  host: string;
  ts: number;
  p: number;
  /** The strongest signal's metric and its time to critical. */
  cause: Trended;
  ttfMin: number;
  memFullMin: number;
}

/**
 * A host's state before its first sample (the fold's identity).
 *
 * @example
 * ```ts
 * const s = initialHostState();
 * ```
 */
export function initialHostState(): HostState {
  const ewma = (): Ewma => ({ mean: 0, variance: 0, fast: 0 });
  return {
    host: "",
    n: 0,
    lastTs: 0,
    lastUptime: 0,
    window: { ts: [], mem: [], disk: [], errRate: [], latencyMs: [] },
    stats: { cpu: ewma(), mem: ewma(), disk: ewma(), errRate: ewma(), latencyMs: ewma() },
    above: 0,
    below: 0,
    alerting: false,
    last: {
      host: "",
      ts: 0,
      p: 0,
      memFullMin: Infinity,
      z: { cpu: 0, mem: 0, disk: 0, errRate: 0, latencyMs: 0 },
      signals: [],
      alert: null,
    },
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** 0 below `lo`, 1 above `hi`, smooth between. */
function smoothstep(x: number, lo: number, hi: number): number {
  const t = x <= lo ? 0 : x >= hi ? 1 : (x - lo) / (hi - lo);
  return t * t * (3 - 2 * t);
}

function value(s: MetricSample, m: Tracked): number {
  // Errors and latency grow multiplicatively: their statistics are on the log scale.
  return m === "errRate" ? Math.log(s.errRate + 1e-4) : m === "latencyMs" ? Math.log(s.latencyMs) : s[m];
}

function critical(m: Trended): number {
  return LOG_SCALE[m] ? Math.log(CRITICAL[m] + (m === "errRate" ? 1e-4 : 0)) : CRITICAL[m];
}

/** A least-squares line over the window: slope per minute, value at the window's start, and r². */
interface Fit {
  m: number;
  b: number;
  r2: number;
}

/** The points of a fit, reused (a fit is synchronous and keeps none of them). */
const POINTS: number[][] = Array.from({ length: TREND_SAMPLES }, () => [0, 0]);

function fit(ts: number[], ys: number[]): Fit {
  const pts = ys.length === POINTS.length ? POINTS : ys.map(() => [0, 0]);
  for (let i = 0; i < ys.length; i++) {
    pts[i]![0] = (ts[i]! - ts[0]!) / MINUTE;
    pts[i]![1] = ys[i]!;
  }
  const line = linearRegression(pts);
  const r2 = rSquared(pts, (x: number) => line.m * x + line.b);
  return { m: line.m, b: line.b, r2: Number.isFinite(r2) ? r2 : 0 };
}

/** Sum of squared residuals of the line `m`, `b` (per minute from the window's start) over the window. */
function sse(ts: number[], ys: number[], m: number, b: number): number {
  let e = 0;
  for (let i = 0; i < ys.length; i++) e += (ys[i]! - (m * ((ts[i]! - ts[0]!) / MINUTE) + b)) ** 2;
  return e;
}

/** Sum of squared residuals of the best step over `ys`: a level before some point, another after it. */
function stepSse(ys: number[]): number {
  const n = ys.length;
  let total = 0;
  let totalSq = 0;
  for (const y of ys) {
    total += y;
    totalSq += y * y;
  }
  let best = Infinity;
  let left = 0;
  for (let k = 1; k < n; k++) {
    left += ys[k - 1]!;
    const right = total - left;
    // Σy² − (Σleft)²/k − (Σright)²/(n−k): the residuals around each side's mean.
    best = Math.min(best, totalSq - (left * left) / k - (right * right) / (n - k));
  }
  return best;
}

/** A trended metric's signal over the window (the window is full). */
function signal(w: HostState["window"], metric: Trended, z: number, horizonMin: number): Signal {
  const ts = w.ts;
  const ys = w[metric];
  const n = ts.length;
  const { m, b, r2 } = fit(ts, ys);
  const nowMin = (ts[n - 1]! - ts[0]!) / MINUTE;
  const ttfMin = m > 0 ? Math.max(0, (critical(metric) - (m * nowMin + b)) / m) : Infinity;
  let p = sigmoid((horizonMin - ttfMin) / SCALE_MIN);
  if (p < 0.01) return { metric, ttfMin, p: 0 };
  // A trend, not a step: the line fits the window better than the best single step (two levels) does, so a
  // batch job's memory or a deploy's burst of errors is not taken for a leak or a creep.
  const steady = sse(ts, ys, m, b) < stepSse(ys) ? 1 : 0;
  p *= steady * smoothstep(r2, 0.2, 0.5);
  if (LOG_SCALE[metric]) p *= smoothstep(z, 1.5, 2.5);
  return { metric, ttfMin, p };
}

/**
 * The host's state after `sample` (a new object; `state` is not changed),
 * with its assessment in `last` and, when this sample raises one, an alert.
 *
 * @example
 * ```ts
 * import { generateMetrics } from "./generator.ts";
 * let s = initialHostState();
 * for (const sample of generateMetrics({ seed: 1, hosts: 1, durationMs: 3_600_000 })) s = step(s, sample);
 * s.last.p; // the probability of a failure within 30 minutes
 * ```
 */
export function step(state: HostState, sample: MetricSample, opts: PredictorOptions = DEFAULT_PREDICTOR): HostState {
  const rebooted = state.n > 0 &&
    (sample.uptime < state.lastUptime || sample.ts - state.lastTs > SILENCE_MS);
  const prev = state.n === 0 || rebooted ? initialHostState() : state;
  const n = prev.n + 1;
  const dt = prev.n === 0 ? 0 : sample.ts - prev.lastTs;
  const slow = 1 - 0.5 ** (dt / HALF_LIFE_SLOW_MS);
  const fast = 1 - 0.5 ** (dt / HALF_LIFE_FAST_MS);
  const stats = {} as Record<Tracked, Ewma>;
  const z = {} as Record<Tracked, number>;
  for (const m of TRACKED) {
    const x = value(sample, m);
    const old = prev.stats[m];
    if (prev.n === 0) {
      stats[m] = { mean: x, variance: 0, fast: x };
      z[m] = 0;
      continue;
    }
    const d = x - old.mean;
    const mean = old.mean + slow * d;
    const variance = (1 - slow) * (old.variance + slow * d * d);
    const f = old.fast + fast * (x - old.fast);
    stats[m] = { mean, variance, fast: f };
    // The baseline's spread has a floor, so a very quiet host is not alarmed by noise.
    z[m] = (f - mean) / Math.max(Math.sqrt(variance), m === "errRate" || m === "latencyMs" ? 0.05 : 0.5);
  }
  const keep = (xs: number[], x: number) => {
    const out = xs.length >= TREND_SAMPLES ? xs.slice(1) : xs.slice();
    out.push(x);
    return out;
  };
  const window = {
    ts: keep(prev.window.ts, sample.ts),
    mem: keep(prev.window.mem, value(sample, "mem")),
    disk: keep(prev.window.disk, value(sample, "disk")),
    errRate: keep(prev.window.errRate, value(sample, "errRate")),
    latencyMs: keep(prev.window.latencyMs, value(sample, "latencyMs")),
  };
  const signals: Signal[] = window.ts.length < TREND_SAMPLES
    ? []
    : TRENDED.map((m) => signal(window, m, z[m], opts.horizonMin)).sort((a, b) => b.p - a.p || a.ttfMin - b.ttfMin);
  const p = 1 - signals.reduce((q, s) => q * (1 - s.p), 1);
  const memFullMin = signals.find((s) => s.metric === "mem")?.ttfMin ?? Infinity;
  const above = p >= ALERT_ON ? prev.above + 1 : 0;
  const below = p < ALERT_OFF ? prev.below + 1 : 0;
  let alerting = prev.alerting;
  let alert: Alert | null = null;
  if (!alerting && above >= ALERT_ON_SAMPLES) {
    alerting = true;
    const top = signals[0]!;
    alert = { host: sample.host, ts: sample.ts, p, cause: top.metric, ttfMin: top.ttfMin, memFullMin };
  } else if (alerting && below >= ALERT_OFF_SAMPLES) alerting = false;
  return {
    host: sample.host,
    n,
    lastTs: sample.ts,
    lastUptime: sample.uptime,
    window,
    stats,
    above,
    below,
    alerting,
    last: { host: sample.host, ts: sample.ts, p, memFullMin, z, signals, alert },
  };
}

/**
 * An alert as a JSON record (what --out gets): times to critical in minutes
 * to a tenth, null when the metric is not rising.
 *
 * @example
 * ```ts
 * declare const alert: Alert;
 * JSON.stringify(alertRecord(alert)); // {"host":"host-007","ts":…,"p":0.93,"cause":"mem","ttfMin":21.4,"memFullMin":21.4}
 * ```
 */
export function alertRecord(a: Alert): AlertRecord {
  const min = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
  return { host: a.host, ts: a.ts, p: a.p, cause: a.cause, ttfMin: min(a.ttfMin), memFullMin: min(a.memFullMin) };
}

/** An alert as JSON. */
export interface AlertRecord {
  host: string;
  ts: number;
  p: number;
  cause: Trended;
  ttfMin: number | null;
  memFullMin: number | null;
}
