/**
 * The domain of examples/apps/fraud.ts, shared by the topology and the
 * offline reference: what an account did in one 30-second slice (a fold
 * over its events), and the scorer that turns each slice's batch of
 * accounts into alerts.
 *
 * Features of an account over its last 2 minutes (4 slices):
 * posts (the posting rate), share of duplicate texts (links stripped:
 * "same words, another link" is a duplicate), links per post (URLs found by
 * `twitter-text`), new followers (bursts).
 *
 * The scorer, per slice, for each account active in it:
 * - explicit rules, each a reason: posting rate (≥ 15 posts in 2 min),
 *   duplicate text (≥ 4 posts, ≥ 50% duplicates), link spam (≥ 3 posts,
 *   ≥ 1.5 links a post), bought followers (≥ 20 new followers while posting,
 *   ≥ 2 posts, ≥ 0.75 links a post: popular people post without links too);
 * - an isolation forest (`ml-isolation-forest`) over the four features
 *   (counts as log(1 + n)), retrained every 10 slices (5 minutes) on the
 *   accounts active since the last training, so "normal" follows the
 *   traffic; a score ≥ 0.77 is a reason of its own once the forest has been
 *   retrained on a full period (the first one, from the first slice alone,
 *   knows too little: its outliers were normal accounts);
 * - an account with a reason gets one alert, with every reason, at the
 *   slice's end (event time).
 *
 * ml-isolation-forest draws its split features and values with
 * `Math.random`, which cannot be seeded. Training runs synchronously, so
 * {@link withSeededRandom} swaps in a seeded generator for the length of the
 * call (nothing else can run in between) and puts the original back: the
 * same slices train the same trees in the app and in the reference, in any
 * container.
 *
 * @module
 */
import twitterText from "twitter-text";
import { IsolationForest } from "ml-isolation-forest";
import { Random } from "../lib/mod.ts";
import type { AccountEvent } from "./generator.ts";

/** The length of a slice: the tumbling event-time window of the per-account fold. */
export const SLICE_MS = 30_000;

/** What one account did in one slice. */
export interface Slice {
  posts: number;
  links: number;
  follows: number;
  /** A hash per post of its text without links, lower-cased. */
  texts: string[];
}

export const EMPTY_SLICE: Slice = { posts: 0, links: 0, follows: 0, texts: [] };

/** FNV-1a of a string, in base 36. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** Adds one event to `s` (in place: each window folds into its own copy of EMPTY_SLICE). */
export function addEvent(s: Slice, e: AccountEvent): Slice {
  if (e.kind === "follow") {
    s.follows++;
    return s;
  }
  // A link has a dot in it: most posts have none, and skip the (thorough, slower) extraction.
  const urls = e.text.includes(".") ? twitterText.extractUrls(e.text) : [];
  let text = e.text;
  for (const u of urls) text = text.replace(u, " ");
  s.posts++;
  s.links += urls.length;
  s.texts.push(hash(text.toLowerCase().replace(/\s+/g, " ").trim()));
  return s;
}

/** An account's slice with its key and window, as the scorer takes it. */
export interface AccountSlice extends Slice {
  account: string;
  /** The slice's start, epoch ms. */
  start: number;
}

/** The features of an account over its recent slices. */
export interface Features {
  posts: number;
  dupShare: number;
  linksPerPost: number;
  follows: number;
}

/** An alert: which account, when (the end of the slice that showed it), why. */
export interface Alert {
  account: string;
  ts: number;
  reasons: string[];
  /** The isolation forest's score (0.5: ordinary; near 1: isolated at once), -1 before the first model. */
  score: number;
  features: Features;
}

export interface ScorerOptions {
  /** Seeds the forest's training. */
  seed: number;
  /** Slices in an account's feature window (default 4: 2 minutes). */
  windowSlices?: number;
  /** Retrain the forest every this many slices (default 10: 5 minutes). */
  retrainEvery?: number;
  /** Trees of the forest (default 50). */
  trees?: number;
  /** Rows each training draws from the feature vectors of the last `retrainEvery` slices (default 256). */
  sample?: number;
  /** A forest score at or above this is a reason (default 0.72). */
  threshold?: number;
  /** Called with every account scored (for a live view, or tuning). */
  onScored?: (account: string, score: number, features: Features) => void;
}

/**
 * Runs `fn` with `Math.random` replaced by a generator seeded with `seed`,
 * then restores it. For synchronous code only (the swap is global).
 */
export function withSeededRandom<T>(seed: number, fn: () => T): T {
  const rnd = new Random(seed);
  const original = Math.random;
  Math.random = () => rnd.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

/** The forest's view of the features: posts, duplicates, links and new followers, as log(1 + count). */
function vector(f: Features): number[] {
  return [
    Math.log1p(f.posts),
    Math.log1p(Math.round(f.dupShare * f.posts)),
    Math.log1p(Math.round(f.linksPerPost * f.posts)),
    Math.log1p(f.follows),
  ];
}

/** The rules an account's features break, as reasons. */
export function ruleReasons(f: Features): string[] {
  const reasons: string[] = [];
  if (f.posts >= 15) reasons.push(`posting rate: ${f.posts} posts in 2 min`);
  if (f.posts >= 4 && f.dupShare >= 0.5) reasons.push(`duplicate text: ${Math.round(f.dupShare * 100)}% of posts`);
  if (f.posts >= 3 && f.linksPerPost >= 1.5) reasons.push(`link spam: ${f.linksPerPost.toFixed(1)} links per post`);
  if (f.follows >= 20 && f.posts >= 2 && f.linksPerPost >= 0.75) {
    reasons.push(`follower burst: ${f.follows} new followers while posting links`);
  }
  return reasons;
}

/**
 * Turns the batches of slices, one per slice window in time order, into
 * alerts. Deterministic: the same batches in the same order give the same
 * alerts (the batch's slices are taken in account order).
 */
export class FraudScorer {
  readonly #opts: Required<ScorerOptions>;
  /** Each account's slices still in its feature window. */
  readonly #recent = new Map<string, AccountSlice[]>();
  readonly #alerted = new Set<string>();
  #forest: IsolationForest | null = null;
  /** Each account's latest feature vector since the last training (one row per account, not per slice). */
  #pool = new Map<string, number[]>();
  #batches = 0;
  /** Forest trainings so far. */
  trainings = 0;

  constructor(opts: ScorerOptions) {
    this.#opts = {
      windowSlices: 4,
      retrainEvery: 10,
      trees: 200,
      sample: 256,
      threshold: 0.77,
      onScored: () => {},
      ...opts,
    };
  }

  /** Accounts alerted so far. */
  get alerted(): number {
    return this.#alerted.size;
  }

  /** Scores the accounts of the slice window starting at `start`; returns its alerts, in account order. */
  process(start: number, batch: readonly AccountSlice[]): Alert[] {
    const end = start + SLICE_MS;
    const horizon = end - this.#opts.windowSlices * SLICE_MS;
    const slices = [...batch].sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
    const features = slices.map((s) => {
      let recent = this.#recent.get(s.account);
      if (recent === undefined) this.#recent.set(s.account, recent = []);
      recent.push(s);
      while (recent.length > 0 && recent[0]!.start < horizon) recent.shift();
      return featuresOf(recent);
    });
    const vectors = features.map(vector);
    const scores = this.#forest === null ? vectors.map(() => -1) : this.#forest.predict(vectors);
    const alerts: Alert[] = [];
    for (let i = 0; i < slices.length; i++) {
      const account = slices[i]!.account;
      this.#opts.onScored(account, scores[i]!, features[i]!);
      if (this.#alerted.has(account)) continue;
      const reasons = ruleReasons(features[i]!);
      if (this.trainings > 1 && scores[i]! >= this.#opts.threshold) {
        reasons.push(`anomaly score ${scores[i]!.toFixed(2)}`);
      }
      if (reasons.length === 0) continue;
      this.#alerted.add(account);
      alerts.push({ account, ts: end, reasons, score: scores[i]!, features: features[i]! });
    }
    for (let i = 0; i < slices.length; i++) this.#pool.set(slices[i]!.account, vectors[i]!);
    if (++this.#batches % this.#opts.retrainEvery === 0 || this.#forest === null) this.#retrain();
    if (this.#batches % 20 === 0) this.#forget(horizon);
    return alerts;
  }

  /**
   * A new forest from a sample of the pool (an isolation forest wants a few
   * hundred rows per tree; ml-isolation-forest uses all it is given), drawn
   * and trained with the training's own seed.
   */
  #retrain(): void {
    if (this.#pool.size < 32) return;
    const seed = (this.#opts.seed * 7919 + this.trainings) >>> 0;
    const rows = new Random(seed).shuffle([...this.#pool.values()]).slice(0, this.#opts.sample);
    const forest = new IsolationForest({ nEstimators: this.#opts.trees });
    withSeededRandom(seed, () => forest.train(rows));
    this.#forest = forest;
    this.#pool.clear();
    this.trainings++;
  }

  /** Drops the accounts with nothing left in their window. */
  #forget(horizon: number): void {
    for (const [account, recent] of this.#recent) {
      if (recent.length === 0 || recent[recent.length - 1]!.start < horizon) this.#recent.delete(account);
    }
  }
}

function featuresOf(recent: readonly AccountSlice[]): Features {
  let posts = 0, links = 0, follows = 0;
  const distinct = new Set<string>();
  for (const s of recent) {
    posts += s.posts;
    links += s.links;
    follows += s.follows;
    for (const t of s.texts) distinct.add(t);
  }
  return {
    posts,
    dupShare: posts === 0 ? 0 : 1 - distinct.size / posts,
    linksPerPost: posts === 0 ? 0 : links / posts,
    follows,
  };
}
