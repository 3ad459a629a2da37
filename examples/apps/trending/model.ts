/**
 * The domain of the trending-hashtags application, as pure functions used
 * by both the topology (examples/apps/trending.ts) and the offline
 * reference (offline.ts), so that the engine check compares the engine and
 * not two implementations: what a tweet is, which hashtags it carries,
 * which sliding windows an instant belongs to, and how counts become a
 * ranking with velocities.
 *
 * @module
 */
import twitter from "twitter-text";
import { z } from "zod";

/** A tweet as the generator makes it and a JetStream stream carries it (JSON). */
export const TweetSchema = z.object({
  /** Unique per tweet. */
  id: z.string().min(1),
  /** The author's screen name, without "@". */
  user: z.string().min(1),
  text: z.string(),
  /** Event time: when the tweet was posted, epoch ms. */
  ts: z.number().finite(),
});
/** One tweet. */
export type Tweet = z.infer<typeof TweetSchema>;

/**
 * The distinct hashtags of a tweet's text, in order of first appearance,
 * as twitter-text finds them (its Unicode rules: `#日本`, `#café`,
 * `#München` are hashtags, `#123` and `#` are not), normalised to NFC and
 * lower case so that `#WorldCup` and `#worldcup` count as one trend (as
 * Twitter's trends do). A tweet counts once per hashtag however often it
 * repeats it.
 *
 * @example
 * ```ts
 * hashtagsOf("Goal! #WorldCup #worldcup in #日本 #café #123 https://t.co/x"); // ["worldcup", "日本", "café"]
 * ```
 */
export function hashtagsOf(text: string): string[] {
  const tags = twitter.extractHashtags(text);
  if (tags.length === 0) return tags;
  const out: string[] = [];
  for (const t of tags) {
    const tag = t.normalize("NFC").toLowerCase();
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

/** The sliding event-time windows of the application, in ms. */
export interface Windowing {
  /** Window length. */
  lengthMs: number;
  /** Sliding interval; window ends are its multiples. */
  slideMs: number;
  /** Allowed lateness: how far behind the newest event time an event may arrive and still count. */
  lagMs: number;
}

/** The default windowing: 5 minutes sliding by 10 seconds, 30 seconds of allowed lateness. */
export const DEFAULT_WINDOWING: Windowing = { lengthMs: 5 * 60_000, slideMs: 10_000, lagMs: 30_000 };

/**
 * The ends of the windows `[end - length, end)` holding instant `ts`
 * (ends are multiples of the slide), oldest first.
 *
 * @example
 * ```ts
 * windowEndsOf(25_000, { lengthMs: 30_000, slideMs: 10_000, lagMs: 0 }); // [30000, 40000, 50000]
 * ```
 */
export function windowEndsOf(ts: number, w: Windowing): number[] {
  const ends: number[] = [];
  const first = Math.floor(ts / w.slideMs) * w.slideMs + w.slideMs;
  for (let end = first; end - w.lengthMs <= ts; end += w.slideMs) ends.push(end);
  return ends;
}

/** A hashtag's place in a window's ranking: its count in the window and its velocity. */
export type Entry = [tag: string, count: number, velocity: number];

/** The top hashtags of one window, best first. */
export interface WindowRanking {
  /** Window start (inclusive), epoch ms. */
  start: number;
  /** Window end (exclusive), epoch ms. */
  end: number;
  /** `[tag, count, velocity]`, by count (highest first), then by tag (code-unit order). */
  top: Entry[];
}

/**
 * The ranking order: higher count first, then the tag in code-unit order
 * (so ties are broken the same way in every task and offline).
 *
 * @example
 * ```ts
 * const entries: Entry[] = [["b", 2, 0], ["a", 2, 1], ["c", 5, 5]];
 * entries.sort(byRank); // c, a, b
 * ```
 */
export function byRank(a: Entry, b: Entry): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * The `n` best entries, best first (a bounded insertion: cheap for the
 * small `n` of a ranking and long inputs).
 *
 * @example
 * ```ts
 * topN([["a", 1, 0], ["b", 3, 1], ["c", 2, 2]], 2); // [["b", 3, 1], ["c", 2, 2]]
 * ```
 */
export function topN(entries: Iterable<Entry>, n: number): Entry[] {
  const top: Entry[] = [];
  if (n <= 0) return top;
  for (const e of entries) {
    if (top.length === n) {
      if (byRank(e, top[n - 1]!) >= 0) continue;
      top.pop();
    }
    let i = top.length;
    top.push(e);
    while (i > 0 && byRank(e, top[i - 1]!) < 0) {
      top[i] = top[i - 1]!;
      i--;
    }
    top[i] = e;
  }
  return top;
}

/**
 * Ranks one window's counts: each hashtag's velocity is its count now
 * minus its count in the previous window (the one ending one slide
 * earlier; `previous` is empty when that window held nothing).
 *
 * @example
 * ```ts
 * const now = new Map([["heron", 9], ["storm", 4]]);
 * rankWindow(now, new Map([["heron", 2]]), 10); // [["heron", 9, 7], ["storm", 4, 4]]
 * ```
 */
export function rankWindow(
  counts: ReadonlyMap<string, number>,
  previous: ReadonlyMap<string, number>,
  n: number,
): Entry[] {
  return topN(withVelocity(counts, previous), n);
}

function* withVelocity(counts: ReadonlyMap<string, number>, previous: ReadonlyMap<string, number>): Iterable<Entry> {
  for (const [tag, count] of counts) yield [tag, count, count - (previous.get(tag) ?? 0)];
}

/**
 * A window's ranking as one line of the live view.
 *
 * @example
 * ```ts
 * formatTop([["heron", 120, 14], ["日本", 80, -3]]); // "#heron 120 (+14)  #日本 80 (-3)"
 * ```
 */
export function formatTop(top: readonly Entry[]): string {
  return top.map(([tag, count, v]) => `#${tag} ${count} (${v >= 0 ? "+" : ""}${v})`).join("  ");
}
