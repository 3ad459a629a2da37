/**
 * What examples/apps/classify.ts counts per minute, as plain functions the
 * topology and the offline reference share: the window key of a classified
 * post, the fold of a window's posts, and the quality they add up to.
 *
 * @module
 */
import type { Classified } from "./model.ts";

/** One minute's length: the tumbling event-time window. */
export const MINUTE_MS = 60_000;

/** The count key of a post: its topic and sentiment sign, `"sports/+"`, `"tech/0"`, `"food/-"`. */
export function minuteKey(c: Classified): string {
  return `${c.topic}/${c.sentiment > 0 ? "+" : c.sentiment < 0 ? "-" : "0"}`;
}

/** A window's fold: its posts, and of those that carry a label, how many the pipeline got right. */
export interface Tally {
  posts: number;
  labelled: number;
  topicOk: number;
  sentimentOk: number;
  languageOk: number;
}

export const EMPTY_TALLY: Tally = { posts: 0, labelled: 0, topicOk: 0, sentimentOk: 0, languageOk: 0 };

/** Adds one classified post to `t` (in place: each window folds into its own copy of EMPTY_TALLY). */
export function addPost(t: Tally, c: Classified): Tally {
  t.posts++;
  if (c.label !== undefined) {
    t.labelled++;
    if (c.topic === c.label.topic) t.topicOk++;
    if (c.sentiment === c.label.sentiment) t.sentimentOk++;
    if (c.lang === c.label.lang) t.languageOk++;
  }
  return t;
}

/** One result row: a minute, a topic and sentiment, its tally. */
export interface MinuteRow extends Tally {
  /** The window's start, epoch ms. */
  minute: number;
  topic: string;
  sentiment: "+" | "0" | "-";
}

/** A row from a window key and its tally. */
export function minuteRow(minute: number, key: string, t: Tally): MinuteRow {
  const [topic, sentiment] = key.split("/") as [string, "+" | "0" | "-"];
  return { minute, topic, sentiment, ...t };
}

/** A stable order for rows: by minute, topic, sentiment. */
export function compareRows(a: MinuteRow, b: MinuteRow): number {
  return a.minute - b.minute || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) ||
    (a.sentiment < b.sentiment ? -1 : a.sentiment > b.sentiment ? 1 : 0);
}

/** The quality figures of a run: accuracies over the labelled (held-out) posts. */
export interface Quality {
  posts: number;
  labelled: number;
  topicAccuracy: number;
  sentimentAgreement: number;
  languageAccuracy: number;
}

/** Adds up rows into the run's quality. */
export function quality(rows: Iterable<Tally>): Quality {
  const sum = { ...EMPTY_TALLY };
  for (const r of rows) {
    sum.posts += r.posts;
    sum.labelled += r.labelled;
    sum.topicOk += r.topicOk;
    sum.sentimentOk += r.sentimentOk;
    sum.languageOk += r.languageOk;
  }
  const of = (n: number) => (sum.labelled === 0 ? 0 : n / sum.labelled);
  return {
    posts: sum.posts,
    labelled: sum.labelled,
    topicAccuracy: of(sum.topicOk),
    sentimentAgreement: of(sum.sentimentOk),
    languageAccuracy: of(sum.languageOk),
  };
}
