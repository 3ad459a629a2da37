/**
 * The online model of examples/apps/online_model.ts in a plain loop (the
 * engine check's reference and the benchmark's baseline), and the quality
 * check: accuracy per retraining window, before and after the drift.
 *
 * @module
 */
import { EPOCH_MS } from "../lib/mod.ts";
import { generateImpressions, type GroundTruth, groundTruth, type ImpressionOptions } from "./generator.ts";
import { emptyWindow, initialModel, type Model, score, trainerStep } from "./model.ts";

/** Default retraining window: 10 minutes of event time. */
export const DEFAULT_WINDOW_MS = 10 * 60_000;

/** An impression as scored: the model version used, the click probability, and what happened. */
export interface Scored {
  id: number;
  ts: number;
  version: number;
  p: number;
  click: boolean;
}

/** Accuracy of the scores in one retraining window. */
export interface WindowAccuracy {
  from: number;
  impressions: number;
  accuracy: number;
}

/** How the model fared around the drift. */
export interface Quality {
  windowMs: number;
  driftAt: number;
  windows: WindowAccuracy[];
  /** Accuracy over the windows before the drift (the first excluded: no model yet). */
  preDrift: number;
  /** Accuracy of the impressions after the drift in the window the drift falls in (the old model's). */
  justAfterDrift: number;
  /** The start of the first window after the drift whose accuracy is within 5 points of preDrift (null: never). */
  recoveredAt: number | null;
  /** (recoveredAt − driftAt) in windows; the bound is 2. */
  recoveryWindows: number | null;
  /** Lowest window accuracy from recoveredAt on (the last, partial window excluded). */
  afterRecoveryMin: number | null;
}

/**
 * Right answers (p ≥ 0.5 for a click, < 0.5 for none) per retraining window
 * (by its start, as a string key), and in the drift's window after the
 * drift. Plain data: the topology's report keeps it in Ardea state.
 */
export interface AccuracyTally {
  windows: Record<string, [number, number]>;
  afterDrift: [number, number];
}

/** A tally with nothing counted. */
export function emptyTally(): AccuracyTally {
  return { windows: {}, afterDrift: [0, 0] };
}

/**
 * Counts `s` into `t` (in place) for windows of `windowMs` from EPOCH_MS
 * and a drift at `driftAt` (Infinity: none known).
 *
 * @example
 * ```ts
 * import { groundTruth } from "./generator.ts";
 * declare const scored: Scored[];
 * const t = emptyTally();
 * for (const s of scored) tallyScore(t, s, groundTruth({ seed: 1 }).driftAt, 600_000);
 * ```
 */
export function tallyScore(t: AccuracyTally, s: Scored, driftAt: number, windowMs: number): void {
  const from = s.ts - ((s.ts - EPOCH_MS) % windowMs);
  const right = (s.p >= 0.5) === s.click ? 1 : 0;
  const w = t.windows[from] ?? (t.windows[from] = [0, 0]);
  w[0]++;
  w[1] += right;
  if (s.ts >= driftAt && from <= driftAt) {
    t.afterDrift[0]++;
    t.afterDrift[1] += right;
  }
}

/**
 * The quality of a tally against the drift at `driftAt`, per retraining
 * window of `windowMs`.
 *
 * @example
 * ```ts
 * import { groundTruth } from "./generator.ts";
 * declare const tally: AccuracyTally;
 * const q = qualityOf(tally, groundTruth({ seed: 1 }).driftAt, 600_000);
 * q.recoveryWindows !== null && q.recoveryWindows <= 2;
 * ```
 */
export function qualityOf(t: AccuracyTally, driftAt: number, windowMs: number): Quality {
  const windows = Object.entries(t.windows)
    .map(([from, [n, ok]]) => ({ from: Number(from), impressions: n, accuracy: ok / n }))
    .sort((a, b) => a.from - b.from);
  const driftFrom = driftAt - ((driftAt - EPOCH_MS) % windowMs);
  let n = 0;
  let ok = 0;
  for (const [from, [wn, wok]] of Object.entries(t.windows)) {
    if (Number(from) >= EPOCH_MS + windowMs && Number(from) < driftFrom) {
      n += wn;
      ok += wok;
    }
  }
  const preDrift = n === 0 ? NaN : ok / n;
  const after = windows.filter((w) => w.from > driftAt);
  const rec = after.find((w) => w.accuracy >= preDrift - 0.05) ?? null;
  const full = rec === null ? [] : after.filter((w) => w.from >= rec.from).slice(0, -1);
  return {
    windowMs,
    driftAt,
    windows,
    preDrift,
    justAfterDrift: t.afterDrift[0] === 0 ? NaN : t.afterDrift[1] / t.afterDrift[0],
    recoveredAt: rec?.from ?? null,
    recoveryWindows: rec === null ? null : (rec.from - driftAt) / windowMs,
    afterRecoveryMin: full.length === 0 ? null : Math.min(...full.map((w) => w.accuracy)),
  };
}

/**
 * Scores `scored` against the drift of `truth`, per retraining window of `windowMs`.
 *
 * @example
 * ```ts
 * import { groundTruth } from "./generator.ts";
 * declare const scored: Scored[];
 * const q = quality(scored, groundTruth({ seed: 1 }), 600_000);
 * q.recoveryWindows !== null && q.recoveryWindows <= 2;
 * ```
 */
export function quality(scored: Iterable<Scored>, truth: Pick<GroundTruth, "driftAt">, windowMs: number): Quality {
  const t = emptyTally();
  for (const s of scored) tallyScore(t, s, truth.driftAt, windowMs);
  return qualityOf(t, truth.driftAt, windowMs);
}

/** What {@link runOffline} reports (the benchmark reads `events`). */
export interface OfflineResult {
  events: number;
  seconds: number;
  /** Every model version trained, in order. */
  models: Model[];
  /** Every impression scored with the latest model (the one trained at the last window boundary). */
  scored: Scored[];
  quality: Quality;
}

/**
 * The whole application in a plain loop: each impression is scored with the
 * latest model, then counted into the trainer's window; a window boundary
 * trains the next version.
 *
 * @example
 * ```ts
 * const r = runOffline({ seed: 1 });
 * console.log(r.models.length, r.quality.recoveryWindows);
 * ```
 */
export function runOffline(
  opts: { seed: number; events?: number; duration?: number; windowMs?: number },
): OfflineResult {
  const gen: ImpressionOptions = { seed: opts.seed, events: opts.events, durationMs: opts.duration };
  const windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
  const started = performance.now();
  const models: Model[] = [];
  const scored: Scored[] = [];
  let model = initialModel();
  let window = emptyWindow(EPOCH_MS);
  for (const imp of generateImpressions(gen)) {
    const step = trainerStep(window, model, imp, EPOCH_MS, windowMs);
    window = step.window;
    if (step.model !== null) {
      model = step.model;
      models.push(model);
    }
    scored.push({ id: imp.id, ts: imp.ts, version: model.version, p: score(model, imp), click: imp.click });
  }
  const seconds = (performance.now() - started) / 1000;
  return { events: scored.length, seconds, models, scored, quality: quality(scored, groundTruth(gen), windowMs) };
}
