/**
 * Deterministic benchmark input: sentences drawn from a Zipf-like vocabulary
 * with a seeded PRNG, so every run and every machine sees the same words.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mulberry32 } from "../testing/random.ts";

/** Options of {@link generateLines}. */
export interface InputOptions {
  /** Total number of words (default 1 000 000). */
  words?: number;
  /** PRNG seed (default 42). */
  seed?: number;
  /** Distinct words in the vocabulary (default 5000). */
  vocabulary?: number;
  /** Zipf exponent: weight of rank k is 1 / k^s (default 1). */
  zipf?: number;
}

const SYLLABLES = (
  "ka ri to na me lo su vi de an el or im ul ba co fe gi ha ju " +
  "ke li mo nu pa qui ra se ti vo wa xe yo za tha sho chi bre dro fla"
).split(" ");

/** `size` distinct pseudo-words, shortest first (frequent words are short). */
export function makeVocabulary(size: number, rand: () => number): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    const n = 1 + Math.floor(rand() * 4);
    let w = "";
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words].sort((a, b) => a.length - b.length);
}

/** Sentences of 5-15 space-separated words, `opts.words` words in total. */
export function generateLines(opts: InputOptions = {}): string[] {
  const total = opts.words ?? 1_000_000;
  const rand = mulberry32(opts.seed ?? 42);
  const vocab = makeVocabulary(opts.vocabulary ?? 5000, rand);
  const s = opts.zipf ?? 1;
  const cumulative = new Float64Array(vocab.length);
  let sum = 0;
  for (let k = 0; k < vocab.length; k++) cumulative[k] = sum += 1 / (k + 1) ** s;
  const pick = (): string => {
    const x = rand() * sum;
    let lo = 0, hi = vocab.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo];
  };
  const lines: string[] = [];
  for (let left = total; left > 0;) {
    const n = Math.min(left, 5 + Math.floor(rand() * 11));
    const words = new Array<string>(n);
    for (let i = 0; i < n; i++) words[i] = pick();
    lines.push(words.join(" "));
    left -= n;
  }
  return lines;
}

/** Writes generated lines to `file`, one per line. Returns the line count. */
export function writeInputFile(file: string, opts: InputOptions = {}): number {
  const lines = generateLines(opts);
  writeFileSync(file, lines.join("\n") + "\n");
  return lines.length;
}

/** Reads non-empty lines from a text file. */
export function readInputFile(file: string): string[] {
  return readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.length > 0);
}

/** The input a benchmark should use: `input` file if given, else generated. */
export function loadLines(opts: { input?: string; words: number; seed: number }): string[] {
  return opts.input ? readInputFile(opts.input) : generateLines({ words: opts.words, seed: opts.seed });
}
