/**
 * examples/apps/classify.ts's computation in a plain loop: the reference
 * for the engine check (tests/app_classify_test.ts) and the benchmark's
 * baseline. Same generator, same classifier, same per-minute fold; no
 * engine.
 *
 * @module
 */
import { generatePosts, type PostOptions, trainingSample } from "./generator.ts";
import { classifyPost, type TopicClassifier, trainTopicClassifier } from "./model.ts";
import {
  addPost,
  compareRows,
  EMPTY_TALLY,
  MINUTE_MS,
  minuteKey,
  type MinuteRow,
  minuteRow,
  type Quality,
  quality,
  type Tally,
} from "./minutes.ts";

/** The size of the labelled training sample (both the app and the reference train on it). */
export const TRAINING_POSTS = 1000;

const classifiers = new Map<number, TopicClassifier>();

/**
 * The topic classifier of `seed`, trained once per process on the seed's
 * training sample (a task that asks again gets the same object).
 */
export function classifierFor(seed: number): TopicClassifier {
  let c = classifiers.get(seed);
  if (c === undefined) classifiers.set(seed, c = trainTopicClassifier(trainingSample(seed, TRAINING_POSTS)));
  return c;
}

/** What the reference computes. */
export interface OfflineResult {
  events: number;
  /** Per minute, topic and sentiment, sorted. */
  rows: MinuteRow[];
  quality: Quality;
  /** Classification time, without training. */
  seconds: number;
  eventsPerSec: number;
}

/** Classifies the posts of `opts` and counts them per minute, topic and sentiment. */
export function runOffline(opts: { seed: number; events?: number; duration?: number }): OfflineResult {
  const classifier = classifierFor(opts.seed);
  const started = performance.now();
  const gen: PostOptions = { seed: opts.seed };
  if (opts.events !== undefined) gen.events = opts.events;
  if (opts.duration !== undefined) gen.durationMs = opts.duration;
  const windows = new Map<string, Tally>();
  let events = 0;
  for (const post of generatePosts(gen)) {
    events++;
    const c = classifyPost(classifier, post);
    const id = `${Math.floor(c.ts / MINUTE_MS) * MINUTE_MS} ${minuteKey(c)}`;
    let t = windows.get(id);
    if (t === undefined) windows.set(id, t = { ...EMPTY_TALLY });
    addPost(t, c);
  }
  const rows = [...windows].map(([id, t]) => {
    const [minute, key] = id.split(" ") as [string, string];
    return minuteRow(Number(minute), key, t);
  }).sort(compareRows);
  const seconds = (performance.now() - started) / 1000;
  return { events, rows, quality: quality(rows), seconds, eventsPerSec: events / seconds };
}
