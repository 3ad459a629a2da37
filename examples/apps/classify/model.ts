/**
 * The domain functions of examples/apps/classify.ts, used by the topology
 * and by the offline reference alike: language detection (`franc-min`),
 * sentiment (`sentiment`, AFINN-165) and the topic classifier
 * (`ml-logistic-regression` over a bag of words).
 *
 * - Language: `franc` restricted to the four languages the feed carries
 *   (a short post is often closer to some language nobody writes in; say
 *   which ones you serve, as a real service does).
 * - Sentiment: AFINN-165 is English; `sentiment` scores other languages
 *   through `registerLanguage` with their own labels. The labels below are
 *   small AFINN-style lists (-5…5) for the feed's Spanish, French and German
 *   words; for real data load a full lexicon per language. The detected
 *   language picks the lexicon, so a wrong detection costs a sentiment.
 * - Topic: one-vs-all logistic regression (`ml-logistic-regression`, on
 *   `ml-matrix`) over the words of a labelled sample: the vocabulary is
 *   every word seen at least twice in it and in at most 3% of its posts
 *   (a word in more is a stop word: "the", "und"), a post's features are
 *   its word counts scaled to unit length plus a bias: 40 steps of
 *   gradient descent, about a second for 1000 posts. Gradient descent from zero
 *   weights, no randomness: every container that trains on the same sample
 *   gets the same weights, bit for bit.
 *
 * @module
 */
import Sentiment from "sentiment";
import { franc } from "franc-min";
import LogisticRegression from "ml-logistic-regression";
import { Matrix } from "ml-matrix";
import { type Language, LANGUAGES, type PostLabel, type Sign, type Topic, TOPICS } from "./generator.ts";

// ---------------------------------------------------------------- language

const FRANC_CODES: Record<string, Language> = { eng: "en", spa: "es", fra: "fr", deu: "de" };
const FRANC_ONLY = Object.keys(FRANC_CODES);

/** The post's language, or "und" when franc cannot tell. */
export function detectLanguage(text: string): Language | "und" {
  return FRANC_CODES[franc(text, { only: FRANC_ONLY, minLength: 3 })] ?? "und";
}

// ---------------------------------------------------------------- sentiment

/** AFINN-style scores for the languages AFINN-165 does not cover (the feed's words; see the header). */
const LEXICONS: Record<Exclude<Language, "en">, Record<string, number>> = {
  es: {
    bueno: 3,
    genial: 3,
    encanta: 3,
    increíble: 4,
    excelente: 3,
    feliz: 3,
    maravilloso: 4,
    fantástico: 4,
    mejor: 2,
    malo: -3,
    terrible: -3,
    horrible: -3,
    odio: -3,
    peor: -3,
    triste: -2,
    decepcionante: -2,
    desastre: -2,
    aburrido: -2,
  },
  fr: {
    bon: 3,
    super: 3,
    adore: 3,
    génial: 3,
    excellent: 3,
    heureux: 3,
    magnifique: 4,
    fantastique: 4,
    meilleur: 2,
    mauvais: -3,
    terrible: -3,
    horrible: -3,
    déteste: -3,
    pire: -3,
    triste: -2,
    décevant: -2,
    catastrophe: -2,
    ennuyeux: -2,
  },
  de: {
    gut: 3,
    toll: 3,
    liebe: 3,
    super: 3,
    hervorragend: 4,
    glücklich: 3,
    wunderbar: 4,
    fantastisch: 4,
    beste: 3,
    schlecht: -3,
    schrecklich: -3,
    furchtbar: -3,
    hasse: -3,
    schlimmste: -3,
    traurig: -2,
    enttäuschend: -2,
    katastrophe: -2,
    langweilig: -2,
  },
};

const analyzer = new Sentiment();
for (const [code, labels] of Object.entries(LEXICONS)) analyzer.registerLanguage(code, { labels: { ...labels } });

/** The AFINN score of `text` in `lang` (English when the language is unknown). */
export function sentimentScore(text: string, lang: Language | "und"): number {
  return analyzer.analyze(text, { language: lang === "und" ? "en" : lang }).score;
}

// ---------------------------------------------------------------- topic

/** Lower-case words: runs of letters and digits (Unicode). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * The trained topic classifier: the vocabulary, and per topic the weights
 * of its one-vs-all model (the last one is the bias).
 */
export interface TopicClassifier {
  vocabulary: Map<string, number>;
  weights: Float64Array[];
}

/** The words of `tokens` in `vocabulary` as (column, count / length) pairs: the unit-length count vector. */
function sparseFeatures(tokens: string[], vocabulary: Map<string, number>): { cols: number[]; vals: number[] } {
  const counts = new Map<number, number>();
  for (const t of tokens) {
    const i = vocabulary.get(t);
    if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  let sq = 0;
  for (const n of counts.values()) sq += n * n;
  const norm = sq > 0 ? Math.sqrt(sq) : 1;
  const cols = [...counts.keys()].sort((a, b) => a - b);
  return { cols, vals: cols.map((i) => counts.get(i)! / norm) };
}

/** Training options: the vocabulary's bounds, gradient steps and learning rate. */
export interface TrainOptions {
  /** A word must occur this often in the sample (default 2). */
  minCount?: number;
  /** A word in more than this share of the posts is a stop word ("the", "und"; default 0.03): no feature. */
  maxDocShare?: number;
  steps?: number;
  learningRate?: number;
}

/**
 * Trains the topic classifier on a labelled sample with
 * `ml-logistic-regression` (deterministic: same sample, same weights).
 */
export function trainTopicClassifier(
  sample: readonly { text: string; label: PostLabel }[],
  opts: TrainOptions = {},
): TopicClassifier {
  const seen = new Map<string, number>();
  const docs = new Map<string, number>();
  const tokens = sample.map((s) => tokenize(s.text));
  for (const ts of tokens) {
    for (const t of ts) seen.set(t, (seen.get(t) ?? 0) + 1);
    for (const t of new Set(ts)) docs.set(t, (docs.get(t) ?? 0) + 1);
  }
  const maxDocs = (opts.maxDocShare ?? 0.03) * sample.length;
  const vocabulary = new Map<string, number>();
  for (const [t, n] of [...seen].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (n >= (opts.minCount ?? 2) && docs.get(t)! <= maxDocs) vocabulary.set(t, vocabulary.size);
  }
  const rows = tokens.map((ts) => {
    const row = new Array<number>(vocabulary.size + 1).fill(0);
    const { cols, vals } = sparseFeatures(ts, vocabulary);
    for (let k = 0; k < cols.length; k++) row[cols[k]!] = vals[k]!;
    row[vocabulary.size] = 1;
    return row;
  });
  const y = Matrix.columnVector(sample.map((s) => TOPICS.indexOf(s.label.topic)));
  const model = new LogisticRegression({ numSteps: opts.steps ?? 40, learningRate: opts.learningRate ?? 0.2 });
  model.train(new Matrix(rows), y);
  if (model.numberClasses !== TOPICS.length) throw new Error("the training sample must hold every topic");
  return { vocabulary, weights: model.classifiers.map((c) => Float64Array.from(c.weights.to1DArray())) };
}

/**
 * The topic of `text`. The library's `predict` builds an `ml-matrix` per
 * call (about 2 ms a post); this is the same rule over the same weights,
 * sparse: each one-vs-all model scores "not this topic", the lowest wins.
 */
export function classifyTopic(c: TopicClassifier, text: string): Topic {
  const { cols, vals } = sparseFeatures(tokenize(text), c.vocabulary);
  const bias = c.vocabulary.size;
  let best = 0;
  let min = Infinity;
  for (let k = 0; k < c.weights.length; k++) {
    const w = c.weights[k]!;
    let dot = w[bias]!;
    for (let i = 0; i < cols.length; i++) dot += vals[i]! * w[cols[i]!]!;
    if (dot < min) [min, best] = [dot, k];
  }
  return TOPICS[best]!;
}

// ---------------------------------------------------------------- a post

/** What the pipeline says of one post. */
export interface Classified {
  id: number;
  ts: number;
  lang: Language | "und";
  topic: Topic;
  score: number;
  sentiment: Sign;
  label?: PostLabel;
}

/** Language, then sentiment in that language, then topic. */
export function classifyPost(
  c: TopicClassifier,
  p: { id: number; ts: number; text: string; label?: PostLabel },
): Classified {
  const lang = detectLanguage(p.text);
  const score = sentimentScore(p.text, lang);
  const out: Classified = {
    id: p.id,
    ts: p.ts,
    lang,
    topic: classifyTopic(c, p.text),
    score,
    sentiment: Math.sign(score) as Sign,
  };
  if (p.label !== undefined) out.label = p.label;
  return out;
}

export { LANGUAGES, TOPICS };
