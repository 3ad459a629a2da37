/**
 * A seeded pseudo-random generator for the applications' event generators:
 * the same seed gives the same events on every runtime and in every
 * container, which is what lets a test compare a streaming run with an
 * offline run over the same events, and lets every container of a
 * distributed run regenerate the same input.
 *
 * The core is mulberry32 (32-bit state, fast, good enough for simulation);
 * the distributions are the textbook ones (Box–Muller, Knuth's Poisson for
 * small means, a normal approximation above 30).
 *
 * @module
 */

/**
 * Seeded random numbers and the distributions the generators use.
 *
 * @example
 * ```ts
 * const r = new Random(7);
 * const delay = r.exponential(1 / 30); // mean 30
 * const tag = r.weighted(["#a", "#b"], [3, 1]);
 * const again = new Random(7).next() === new Random(7).next(); // true
 * ```
 */
export class Random {
  #state: number;
  #spare: number | null = null;

  /** A generator whose sequence is fixed by `seed` (any number; only its low 32 bits count). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A number in [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A normally distributed number (Box–Muller). */
  normal(mean = 0, sd = 1): number {
    if (this.#spare !== null) {
      const z = this.#spare;
      this.#spare = null;
      return mean + sd * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** An exponentially distributed number with the given rate (mean 1/rate): gaps between Poisson events. */
  exponential(rate: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -Math.log(u) / rate;
  }

  /** A Poisson-distributed count with the given mean. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = this.next(); p > limit; p *= this.next()) k++;
    return k;
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Random.pick: no items");
    return items[this.int(items.length)]!;
  }

  /** One element of `items`, with probability proportional to its weight. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    if (items.length === 0 || items.length !== weights.length) {
      throw new RangeError(`Random.weighted: ${items.length} items, ${weights.length} weights`);
    }
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      x -= weights[i]!;
      if (x < 0) return items[i]!;
    }
    return items[items.length - 1]!;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /**
   * An independent generator derived from this one's seed and `label`, so
   * that adding draws to one part of a generator (say, the text of a post)
   * does not shift another part (say, who posts when).
   */
  fork(label: string): Random {
    let h = this.#state ^ 0x9e3779b9;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Random(h >>> 0);
  }
}

/**
 * Weights proportional to 1/k^s for ranks 1..n: the Zipf law of word and
 * hashtag frequencies, to pass to {@link Random.weighted}.
 *
 * @example
 * ```ts
 * const w = zipfWeights(3); // [1, 0.5, 0.333…]
 * ```
 */
export function zipfWeights(n: number, s = 1): number[] {
  const w = new Array<number>(n);
  for (let k = 0; k < n; k++) w[k] = 1 / Math.pow(k + 1, s);
  return w;
}
