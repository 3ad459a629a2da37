/**
 * A seeded stream of tweets with planted trends, for the trending-hashtags
 * application.
 *
 * The model:
 * - Background tweets arrive as a Poisson process (`ratePerSec` per second
 *   of event time, default 50). Each has an author (Zipf over 20,000
 *   users), 4 to 14 words, with probability 0.3 one or two @mentions, with
 *   probability 0.25 a t.co link, and 0 to 3 hashtags (probabilities 0.45,
 *   0.3, 0.15, 0.1) drawn from a background vocabulary of 5,000 hashtags by
 *   a Zipf law (exponent 0.8), among them Unicode ones (#日本, #café,
 *   #München, #Ελλάδα, #한국, …). A hashtag is written with its letters'
 *   case varied now and then (#WorldCup, #worldcup), as people do.
 * - Planted trends: hashtags that no background tweet uses. At its rise a
 *   trend bursts (20 to 30 tweets a second for 60 to 120 s, as breaking
 *   news does), then holds (4 to 8 a second) until its fall, after which it
 *   lingers at 0.05 a second. Rises are 2 to 7 minutes apart, a trend lasts
 *   4 to 12 minutes, at most three trends are live or fading (fallen less
 *   than {@link TREND_SETTLE_MS} ago) at once, and the last one falls
 *   {@link TREND_SETTLE_MS} before the planned end of the stream.
 * - Arrival order: one tweet in ten arrives late, by up to `maxDelayMs`
 *   (default 20 s) after it was posted; the stream is in arrival order and
 *   each tweet carries its posting time (`ts`, event time from
 *   {@link EPOCH_MS}). With an allowed lateness of at least `maxDelayMs`, no
 *   tweet is late for the windows.
 *
 * The ground truth is {@link plantedTrends}: `[tag, riseMs, fallMs]` for each
 * trend, a function of the options only.
 *
 * @module
 */
import { EPOCH_MS, Random, zipfWeights } from "../lib/mod.ts";
import type { Tweet } from "./model.ts";

/** What to generate. */
export interface GeneratorOptions {
  seed: number;
  /** Tweets to generate (default 200,000 unless `durationMs` is given). */
  events?: number;
  /** Event time to cover, in ms; with `events` too, whichever ends first. */
  durationMs?: number;
  /** Background tweets per second of event time (default 50). */
  ratePerSec?: number;
  /** Longest delay of a late tweet, in ms (default 20,000). */
  maxDelayMs?: number;
}

/** One planted trend: its hashtag (normalised, as ranked) and when it rises and falls (epoch ms). */
export type PlantedTrend = [tag: string, riseMs: number, fallMs: number];

/** Time after a trend's fall during which it still counts as live when trends are planted (a 5-minute window and then some). */
export const TREND_SETTLE_MS = 6 * 60_000;

const DEFAULT_EVENTS = 200_000;
const DEFAULT_RATE = 50;
const DEFAULT_MAX_DELAY_MS = 20_000;
const LATE_SHARE = 0.1;
const USERS = 20_000;
const VOCABULARY = 5_000;
const ZIPF_EXPONENT = 0.8;
const TAGS_PER_TWEET = [0.45, 0.3, 0.15, 0.1];
const LINGER_PER_SEC = 0.05;

/** Named hashtags of the background, most of them Unicode; they take ranks spread over the vocabulary. */
const NAMED_TAGS = [
  "日本",
  "café",
  "München",
  "Ελλάδα",
  "한국",
  "Россия",
  "São_Paulo",
  "Zürich",
  "東京",
  "Fußball",
  "naïve",
  "القاهرة",
  "हिंदी",
  "Montréal",
  "İstanbul",
  "Kraków",
  "Ísland",
  "北京",
  "WorldCup",
  "MondayMotivation",
  "TBT",
  "NowPlaying",
  "Heron",
  "Storm",
  "OpenSource",
  "TypeScript",
  "Climate",
  "Elections",
  "Music",
  "Travel",
];

/** Names of planted trends (a number is added when more are needed than listed). */
const TREND_NAMES = [
  "HeronCup",
  "地震速報",
  "FêteDeLaMusique",
  "MünchenDerby",
  "ΕλλάδαLive",
  "SolarStorm",
  "AlbumDrop",
  "ServerOutage",
  "한국시리즈",
  "ChampionsNight",
  "NuitBlanche",
  "東京マラソン",
  "ÉclipseTotale",
  "DataCenterFire",
  "NewPhoneDay",
  "CopaFinal",
];

const WORDS = (
  "the a and to of in is it you that for on with this was just my so at but be have are not me all what" +
  " like get one now day time new good love people see today really think know going back great night" +
  " heron river storm stream window count trend news live game match city rain sun music show watch" +
  " finally again never always morning weekend coffee train late early happy sad wow lol omg" +
  " très bien merci hola gracias danke schön ciao grazie obrigado 今日 ありがとう 감사합니다 спасибо"
).split(" ");

/** A trend's rates over its life (tweets per second of event time). */
interface TrendPlan {
  tag: string;
  /** As written in tweets (case varies around it). */
  written: string;
  rise: number;
  burstEnd: number;
  fall: number;
  burstRate: number;
  holdRate: number;
}

/** How much event time the stream is planned to cover (where trends can go). */
function plannedSpanMs(o: GeneratorOptions): number {
  const rate = o.ratePerSec ?? DEFAULT_RATE;
  const byEvents = o.events !== undefined || o.durationMs === undefined
    ? ((o.events ?? DEFAULT_EVENTS) / rate) * 1000 * 0.8 // trend tweets make the stream shorter than this
    : Infinity;
  return Math.min(byEvents, o.durationMs ?? Infinity);
}

function plan(o: GeneratorOptions): TrendPlan[] {
  const rnd = new Random(o.seed).fork("trends");
  const span = plannedSpanMs(o);
  const names = rnd.shuffle([...TREND_NAMES]);
  const plans: TrendPlan[] = [];
  let rise = 2 * 60_000 + rnd.int(60) * 1000;
  for (let i = 0;; i++) {
    const fall = rise + (4 * 60 + rnd.int(8 * 60)) * 1000;
    if (fall + TREND_SETTLE_MS > span) break;
    // At most three trends live or fading at once: wait for the oldest to settle.
    const busy = plans.filter((p) => p.fall + TREND_SETTLE_MS > EPOCH_MS + rise);
    if (busy.length >= 3) {
      rise = Math.min(...busy.map((p) => p.fall + TREND_SETTLE_MS)) - EPOCH_MS;
      i--;
      continue;
    }
    const name = names[i % names.length]! + (i >= names.length ? String(Math.floor(i / names.length) + 1) : "");
    plans.push({
      tag: name.normalize("NFC").toLowerCase(),
      written: name,
      rise: EPOCH_MS + rise,
      burstEnd: EPOCH_MS + rise + (60 + rnd.int(61)) * 1000,
      fall: EPOCH_MS + fall,
      burstRate: rnd.range(20, 30),
      holdRate: rnd.range(4, 8),
    });
    rise += (2 * 60 + rnd.int(5 * 60)) * 1000;
  }
  return plans;
}

/**
 * The planted trends of the stream `options` describe: `[tag, riseMs,
 * fallMs]`, by rise. Tags are as the application ranks them (NFC, lower
 * case).
 *
 * @example
 * ```ts
 * const truth = plantedTrends({ seed: 1, events: 100_000 });
 * truth[0]; // e.g. ["solarstorm", 1767225757000, 1767226327000]
 * ```
 */
export function plantedTrends(options: GeneratorOptions): PlantedTrend[] {
  return plan(options).map((p) => [p.tag, p.rise, p.fall]);
}

/** The background vocabulary by rank: tags made of two words (#MorningCoffee, #river_news), with the named tags at ranks 2, 3, 8, 15, 26, … */
function vocabulary(rnd: Random): string[] {
  const seen = new Set(TREND_NAMES.map((t) => t.normalize("NFC").toLowerCase()));
  for (const t of NAMED_TAGS) seen.add(t.normalize("NFC").toLowerCase());
  const ascii = WORDS.filter((w) => /^[a-z]{3,}$/.test(w));
  const made: string[] = [];
  const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
  while (made.length < VOCABULARY - NAMED_TAGS.length) {
    const a = rnd.pick(ascii);
    const b = rnd.pick(ascii);
    const t = rnd.chance(0.7) ? `${cap(a)}${cap(b)}` : `${a}_${b}`;
    const k = t.toLowerCase();
    if (a === b || seen.has(k)) continue;
    seen.add(k);
    made.push(t);
  }
  const tags: string[] = [];
  let named = 0;
  while (made.length > 0 || named < NAMED_TAGS.length) {
    const nextNamedAt = Math.floor(2 + 1.5 * named * named);
    tags.push(named < NAMED_TAGS.length && tags.length >= nextNamedAt ? NAMED_TAGS[named++]! : made.shift()!);
  }
  return tags;
}

/** Draws ranks 0..n-1 by a Zipf law with a binary search over cumulative weights. */
class ZipfSampler {
  readonly #cumulative: Float64Array;
  constructor(n: number, exponent: number) {
    const w = zipfWeights(n, exponent);
    this.#cumulative = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) this.#cumulative[i] = total += w[i]!;
  }
  draw(rnd: Random): number {
    const c = this.#cumulative;
    const x = rnd.next() * c[c.length - 1]!;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A hashtag as someone types it: mostly as listed, sometimes all lower or upper case (when that is the same hashtag). */
function written(tag: string, rnd: Random): string {
  const r = rnd.next();
  if (r < 0.8) return tag;
  const other = r < 0.93 ? tag.toLowerCase() : tag.toUpperCase();
  return other.normalize("NFC").toLowerCase() === tag.normalize("NFC").toLowerCase() ? other : tag;
}

const BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A tweet waiting for its arrival in the reordering heap. */
interface Pending {
  arrival: number;
  seq: number;
  tweet: Tweet;
}

/** A min-heap on (arrival, seq): tweets leave in arrival order, ties in posting order. */
class ArrivalHeap {
  readonly items: Pending[] = [];
  #less(a: Pending, b: Pending): boolean {
    return a.arrival < b.arrival || (a.arrival === b.arrival && a.seq < b.seq);
  }
  push(p: Pending): void {
    const h = this.items;
    h.push(p);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  peek(): Pending | undefined {
    return this.items[0];
  }
  pop(): Pending {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The tweets, in arrival order (a generator: wrap it in `replayable` for a
 * source that must rewind).
 *
 * @example
 * ```ts
 * for (const tweet of generateTweets({ seed: 1, events: 5 })) console.log(tweet.ts, tweet.text);
 * ```
 */
export function* generateTweets(options: GeneratorOptions): Generator<Tweet> {
  const root = new Random(options.seed);
  const rnd = root.fork("tweets");
  const tags = vocabulary(root.fork("vocabulary"));
  const tagRank = new ZipfSampler(tags.length, ZIPF_EXPONENT);
  const userRank = new ZipfSampler(USERS, 1);
  const trends = plan(options);
  const rate = options.ratePerSec ?? DEFAULT_RATE;
  const maxDelay = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const limit = options.events ?? (options.durationMs === undefined ? DEFAULT_EVENTS : Infinity);
  const endAt = EPOCH_MS + (options.durationMs ?? Infinity);
  const heap = new ArrivalHeap();
  let emitted = 0;
  let seq = 0;
  let t = EPOCH_MS;

  const trendRate = (p: TrendPlan, at: number) =>
    at < p.rise ? 0 : at < p.burstEnd ? p.burstRate : at < p.fall ? p.holdRate : LINGER_PER_SEC;

  const user = () => `user${userRank.draw(rnd)}`;
  const text = (trend: TrendPlan | null): string => {
    const parts: string[] = [];
    const words = 4 + rnd.int(11);
    for (let i = 0; i < words; i++) parts.push(rnd.pick(WORDS));
    const insert = (token: string) => parts.splice(rnd.int(parts.length + 1), 0, token);
    if (rnd.chance(0.3)) { for (let i = 1 + rnd.int(2); i > 0; i--) insert(`@${user()}`); }
    if (rnd.chance(0.25)) {
      let id = "";
      for (let i = 0; i < 10; i++) id += BASE62[rnd.int(62)];
      insert(`https://t.co/${id}`);
    }
    const r = rnd.next();
    let n = 0;
    for (let acc = TAGS_PER_TWEET[0]!; n < 3 && r >= acc; acc += TAGS_PER_TWEET[++n]!);
    if (trend !== null) n = Math.min(n, 1);
    for (let i = 0; i < n; i++) insert(`#${written(tags[tagRank.draw(rnd)]!, rnd)}`);
    if (trend !== null) insert(`#${written(trend.written, rnd)}`);
    return parts.join(" ");
  };

  for (;;) {
    // The total rate now; the next tweet comes after an exponential gap and belongs to a process by its share.
    let total = rate;
    for (const p of trends) total += trendRate(p, t);
    t += Math.max(1, Math.round(rnd.exponential(total / 1000)));
    // Tweets whose arrival has come (nothing posted from now on can arrive before t).
    while (heap.peek() !== undefined && heap.peek()!.arrival <= t) {
      yield heap.pop().tweet;
      if (++emitted >= limit) return;
    }
    if (t >= endAt) break;
    // Which process posts it: the background, or a trend, in proportion to their rates.
    let x = rnd.next() * total - rate;
    let trend: TrendPlan | null = null;
    for (let i = 0; x >= 0 && i < trends.length; i++) {
      x -= trendRate(trends[i]!, t);
      if (x < 0) trend = trends[i]!;
    }
    const tweet: Tweet = { id: `t${seq.toString(36)}`, user: user(), text: text(trend), ts: t };
    const arrival = rnd.chance(LATE_SHARE) ? t + 1 + rnd.int(maxDelay) : t;
    heap.push({ arrival, seq: seq++, tweet });
  }
  while (heap.peek() !== undefined && emitted < limit) {
    yield heap.pop().tweet;
    emitted++;
  }
}
