/**
 * Ad impressions with their click labels, drawn from a hidden logistic
 * model that changes halfway: deterministic for a seed (the ground truth of
 * examples/apps/online_model.ts).
 *
 * Each impression shows an ad of a category to a user of a segment on a
 * device, in a slot of the page, at an hour of the day. Whether the user
 * clicks is drawn from
 *
 *   P(click) = σ(b + w_segment + w_category + w_device + w_slot + w_hour + w_segment×category)
 *
 * with weights drawn from the seed: main effects large enough that a
 * logistic model reaches about 75 % accuracy, a small daily rhythm, and
 * small segment × category affinities no main-effect model can learn (the
 * noise floor). Halfway through the run (`driftAt`), tastes change: the
 * category and segment weights are drawn again, so a model trained before
 * the drift is about as good as a coin afterwards.
 *
 * Impressions arrive at `ratePerSec` of event time (20/s: one every 50 ms,
 * with jitter), from EPOCH_MS on. The label travels with the impression (in
 * a real system it is joined from the click log a little later).
 *
 * @module
 */
import { EPOCH_MS, Random } from "../lib/mod.ts";

export const SEGMENTS = ["student", "professional", "parent", "retiree", "gamer", "traveller"] as const;
export const CATEGORIES = ["electronics", "fashion", "travel", "games", "finance", "food", "sports", "home"] as const;
export const DEVICES = ["mobile", "desktop", "tablet"] as const;
export const SLOTS = 4;

/** One ad impression and whether it was clicked. */
export interface Impression {
  /** Position in the stream, from 0. */
  id: number;
  /** Event time (epoch ms). */
  ts: number;
  segment: typeof SEGMENTS[number];
  category: typeof CATEGORIES[number];
  device: typeof DEVICES[number];
  /** 1 (top) to SLOTS. */
  slot: number;
  /** Hour of the day, 0-23 (UTC). */
  hour: number;
  click: boolean;
}

/** What the generator makes. */
export interface ImpressionOptions {
  seed: number;
  /** Impressions in the run (default 200 000); `durationMs` instead gives it in event time. */
  events?: number;
  durationMs?: number;
  /** Impressions per second of event time (default 20). */
  ratePerSec?: number;
}

/** The hidden model's weights, before and after the drift. */
export interface Truth {
  bias: number;
  segment: number[];
  category: number[];
  device: number[];
  slot: number[];
  /** Amplitude and phase of the daily rhythm. */
  hourAmp: number;
  hourPhase: number;
  /** segment × category affinities. */
  affinity: number[][];
}

/** The run's ground truth: the weights before and after, and when the drift happens. */
export interface GroundTruth {
  events: number;
  intervalMs: number;
  /** Event time of the first impression after the drift (epoch ms). */
  driftAt: number;
  before: Truth;
  after: Truth;
  /** After the drift, segment i takes the place of segment i - shifts.segment (categories likewise). */
  shifts: { segment: number; category: number };
}

/**
 * The ground truth of the run `opts` describes.
 *
 * @example
 * ```ts
 * groundTruth({ seed: 1 }).driftAt; // EPOCH_MS + 100 000 × 50 ms
 * ```
 */
export function groundTruth(opts: ImpressionOptions): GroundTruth {
  const intervalMs = 1000 / (opts.ratePerSec ?? 20);
  const events = opts.events ?? (opts.durationMs !== undefined ? Math.floor(opts.durationMs / intervalMs) : 200_000);
  const rnd = new Random(opts.seed).fork("truth");
  const draw = (n: number, sd: number) => Array.from({ length: n }, () => rnd.normal(0, sd));
  const before: Truth = {
    bias: 0,
    segment: draw(SEGMENTS.length, 1.2),
    category: draw(CATEGORIES.length, 1.2),
    device: [0, 0.3, -0.3],
    slot: [0.6, 0.2, -0.2, -0.6],
    hourAmp: 0.3,
    hourPhase: rnd.range(0, 2 * Math.PI),
    affinity: SEGMENTS.map(() => draw(CATEGORIES.length, 0.3)),
  };
  // Tastes change: segment i behaves as segment i - segShift did, category j as j - catShift did (appeal,
  // affinities and how common it is all move), so the best accuracy reachable stays the same.
  // The shifts are those whose new weights agree least with the old ones: the strongest drift for the weights drawn.
  const rot = <T>(xs: readonly T[], k: number) => xs.map((_, i) => xs[(i - k + xs.length) % xs.length]!);
  const leastAlike = (ws: number[]) => {
    let best = 1;
    let bestDot = Infinity;
    for (let k = 1; k < ws.length; k++) {
      const dot = rot(ws, k).reduce((a, w, i) => a + w * ws[i]!, 0);
      if (dot < bestDot) [best, bestDot] = [k, dot];
    }
    return best;
  };
  const segShift = leastAlike(before.segment);
  const catShift = leastAlike(before.category);
  const after: Truth = {
    ...before,
    segment: rot(before.segment, segShift),
    category: rot(before.category, catShift),
    affinity: rot(before.affinity.map((row) => rot(row, catShift)), segShift),
  };
  const shifts = { segment: segShift, category: catShift };
  return { events, intervalMs, driftAt: EPOCH_MS + Math.floor(events / 2) * intervalMs, before, after, shifts };
}

/** The hidden click probability of an impression's features under `t`. */
export function clickProbability(t: Truth, s: number, c: number, d: number, slot: number, hour: number): number {
  const z = t.bias + t.segment[s]! + t.category[c]! + t.device[d]! + t.slot[slot - 1]! +
    t.hourAmp * Math.sin((2 * Math.PI * hour) / 24 + t.hourPhase) + t.affinity[s]![c]!;
  return 1 / (1 + Math.exp(-z));
}

/**
 * The impressions of the run `opts` describes, in event-time order.
 *
 * @example
 * ```ts
 * for (const imp of generateImpressions({ seed: 1, events: 10 })) console.log(imp.category, imp.click);
 * ```
 */
export function* generateImpressions(opts: ImpressionOptions): Generator<Impression> {
  const truth = groundTruth(opts);
  const rnd = new Random(opts.seed).fork("impressions");
  const half = Math.floor(truth.events / 2);
  // Some segments, categories and devices are more common than others.
  const segMix = SEGMENTS.map(() => rnd.range(0.5, 1.5));
  const catMix = CATEGORIES.map(() => rnd.range(0.5, 1.5));
  const segIdx = SEGMENTS.map((_, i) => i);
  const catIdx = CATEGORIES.map((_, i) => i);
  for (let id = 0; id < truth.events; id++) {
    const ts = EPOCH_MS + id * truth.intervalMs + Math.floor(rnd.next() * truth.intervalMs);
    const drifted = id >= half;
    const s0 = rnd.weighted(segIdx, segMix);
    const c0 = rnd.weighted(catIdx, catMix);
    const s = drifted ? (s0 + truth.shifts.segment) % SEGMENTS.length : s0;
    const c = drifted ? (c0 + truth.shifts.category) % CATEGORIES.length : c0;
    const d = rnd.weighted([0, 1, 2], [0.6, 0.3, 0.1]);
    const slot = 1 + rnd.int(SLOTS);
    const hour = new Date(ts).getUTCHours();
    const p = clickProbability(drifted ? truth.after : truth.before, s, c, d, slot, hour);
    yield {
      id,
      ts,
      segment: SEGMENTS[s]!,
      category: CATEGORIES[c]!,
      device: DEVICES[d]!,
      slot,
      hour,
      click: rnd.chance(p),
    };
  }
}
