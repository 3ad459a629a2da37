/**
 * The trending computation as a plain loop over the same tweets (the
 * engine check's reference and the benchmark's baseline), and the quality
 * score against the planted trends.
 *
 * The loop counts each hashtag per slide (a bucket of `slideMs`), then
 * slides a running count over the buckets: window `end` is the sum of the
 * buckets in `[end - length, end)`, its previous window the same sum one
 * slide earlier. A window is reported when it holds at least one hashtag
 * (an empty window does not fire in the engine either).
 *
 * @module
 */
import { generateTweets, type GeneratorOptions, type PlantedTrend, plantedTrends } from "./generator.ts";
import {
  DEFAULT_WINDOWING,
  hashtagsOf,
  rankWindow,
  type Tweet,
  windowEndsOf,
  type Windowing,
  type WindowRanking,
} from "./model.ts";

/** The rankings of every window, and what the loop saw. */
export interface OfflineResult {
  rankings: WindowRanking[];
  tweets: number;
  hashtags: number;
  /**
   * Tweets that arrived more than the allowed lateness behind the newest
   * event time seen before them: the engine may drop them (when its
   * watermark has passed them), so the engine check needs none.
   */
  late: number;
}

/**
 * Each window's top `n` with velocities, computed in one pass over `tweets`
 * (in arrival order; late tweets are left out as the engine would).
 *
 * @example
 * ```ts
 * import { generateTweets } from "./generator.ts";
 * import { DEFAULT_WINDOWING } from "./model.ts";
 * const { rankings } = rankingsOffline(generateTweets({ seed: 1, events: 10_000 }), DEFAULT_WINDOWING, 10);
 * rankings[0]!.top[0]; // [tag, count, velocity]
 * ```
 */
export function rankingsOffline(tweets: Iterable<Tweet>, w: Windowing, n: number): OfflineResult {
  const buckets = new Map<number, Map<string, number>>();
  let tweetCount = 0;
  let hashtags = 0;
  let late = 0;
  let newest = -Infinity;
  let first = Infinity;
  let last = -Infinity;
  for (const tweet of tweets) {
    tweetCount++;
    if (tweet.ts < newest - w.lagMs) {
      late++;
      continue;
    }
    if (tweet.ts > newest) newest = tweet.ts;
    const tags = hashtagsOf(tweet.text);
    if (tags.length === 0) continue;
    const b = Math.floor(tweet.ts / w.slideMs);
    let m = buckets.get(b);
    if (m === undefined) buckets.set(b, m = new Map());
    for (const tag of tags) m.set(tag, (m.get(tag) ?? 0) + 1);
    hashtags += tags.length;
    if (tweet.ts < first) first = tweet.ts;
    if (tweet.ts > last) last = tweet.ts;
  }
  const rankings: WindowRanking[] = [];
  if (hashtags === 0) return { rankings, tweets: tweetCount, hashtags, late };
  const perWindow = w.lengthMs / w.slideMs;
  const running = new Map<string, number>();
  let total = 0;
  const add = (bucket: number, sign: 1 | -1) => {
    for (const [tag, c] of buckets.get(bucket) ?? []) {
      const v = (running.get(tag) ?? 0) + sign * c;
      if (v === 0) running.delete(tag);
      else running.set(tag, v);
      total += sign * c;
    }
  };
  let previous = new Map<string, number>();
  const firstEnd = windowEndsOf(first, w)[0]!;
  const lastEnd = windowEndsOf(last, w).at(-1)!;
  // The running window ends at `end`: buckets end/slide - perWindow … end/slide - 1.
  for (let b = firstEnd / w.slideMs - perWindow; b < firstEnd / w.slideMs; b++) add(b, 1);
  for (let end = firstEnd; end <= lastEnd; end += w.slideMs) {
    if (end > firstEnd) {
      add(end / w.slideMs - 1, 1);
      add(end / w.slideMs - 1 - perWindow, -1);
    }
    if (total > 0) rankings.push({ start: end - w.lengthMs, end, top: rankWindow(running, previous, n) });
    previous = new Map(running);
  }
  return { rankings, tweets: tweetCount, hashtags, late };
}

/** How one planted trend fared. */
export interface TrendScore {
  tag: string;
  riseMs: number;
  fallMs: number;
  /** End of the first window with the trend in its top 10 (null: never). */
  firstIn: number | null;
  /** End of the first window after the trend's last one in the top 10 (null: still in at the end). */
  outAt: number | null;
  /** In the top 10 within one slide of its rise: by the first window holding one whole slide after the rise. */
  riseOk: boolean;
  /** Out within one window length of its fall: in no top 10 of a window ending at or after fall + length. */
  fallOk: boolean;
}

/**
 * Scores rankings against the planted trends with the bound of issue 16:
 * each trend is in the top 10 within one slide of its rise (in the first
 * window ending at or after rise + slide, or earlier) and out of it within
 * one window length of its fall (in no window ending at or after fall +
 * length). `figures` are for the summary line.
 *
 * @example
 * ```ts
 * import { generateTweets, plantedTrends } from "./generator.ts";
 * import { DEFAULT_WINDOWING } from "./model.ts";
 * const opts = { seed: 1, events: 100_000 };
 * const { rankings } = rankingsOffline(generateTweets(opts), DEFAULT_WINDOWING, 10);
 * scoreTrends(rankings, plantedTrends(opts), DEFAULT_WINDOWING).figures.ok; // true
 * ```
 */
export function scoreTrends(
  rankings: readonly WindowRanking[],
  truth: readonly PlantedTrend[],
  w: Windowing,
): { trends: TrendScore[]; figures: Record<string, number | boolean> } {
  const sorted = [...rankings].sort((a, b) => a.end - b.end);
  const trends = truth.map(([tag, riseMs, fallMs]): TrendScore => {
    let firstIn: number | null = null;
    let lastIn: number | null = null;
    for (const r of sorted) {
      if (!r.top.slice(0, 10).some((e) => e[0] === tag)) continue;
      firstIn ??= r.end;
      lastIn = r.end;
    }
    const riseBy = Math.ceil((riseMs + w.slideMs) / w.slideMs) * w.slideMs;
    const outAt = lastIn === null ? null : sorted.find((r) => r.end > lastIn!)?.end ?? null;
    return {
      tag,
      riseMs,
      fallMs,
      firstIn,
      outAt,
      riseOk: firstIn !== null && firstIn >= riseMs && firstIn <= riseBy,
      fallOk: lastIn !== null && outAt !== null && lastIn < fallMs + w.lengthMs,
    };
  });
  const delays = trends.filter((t) => t.firstIn !== null).map((t) => t.firstIn! - t.riseMs);
  const clears = trends.filter((t) => t.outAt !== null).map((t) => t.outAt! - t.fallMs);
  const figures = {
    trends: trends.length,
    risesInTime: trends.filter((t) => t.riseOk).length,
    fallsInTime: trends.filter((t) => t.fallOk).length,
    maxRiseDelayMs: delays.length > 0 ? Math.max(...delays) : -1,
    maxFallDelayMs: clears.length > 0 ? Math.max(...clears) : -1,
    ok: trends.length > 0 && trends.every((t) => t.riseOk && t.fallOk),
  };
  return { trends, figures };
}

/**
 * The benchmark's baseline and a quick look at a seed: generates the
 * tweets, ranks every window in a plain loop (default windowing, top 10)
 * and scores the planted trends.
 *
 * @example
 * ```ts
 * const r = runOffline({ seed: 1, events: 50_000 });
 * console.log(r.events, r.windows, r.quality.ok);
 * ```
 */
export function runOffline(
  opts: { seed: number; events?: number; duration?: number },
  w: Windowing = DEFAULT_WINDOWING,
): { events: number; windows: number; rankings: WindowRanking[]; quality: Record<string, number | boolean> } {
  const g: GeneratorOptions = {
    seed: opts.seed,
    ...(opts.events !== undefined ? { events: opts.events } : {}),
    ...(opts.duration !== undefined ? { durationMs: opts.duration } : {}),
  };
  const r = rankingsOffline(generateTweets(g), w, 10);
  const s = scoreTrends(r.rankings, plantedTrends(g), w);
  return { events: r.tweets, windows: r.rankings.length, rankings: r.rankings, quality: s.figures };
}
