/**
 * The last log lines of a container, in a bounded ring (`ardea logs`): a
 * multi-line entry (a crash's stack) is split into its lines, and a line
 * longer than {@link MAX_LINE} is cut.
 *
 * @module
 */

/** Longest line kept (characters). */
export const MAX_LINE = 4096;

/**
 * A ring of `[ms since the epoch, line]`.
 *
 * @example
 * ```ts
 * const ring = new LogRing(1000);
 * ring.push("[ardea] split (task 3) crashed (restarting): Error: boom\n    at …");
 * ring.last(50); // [[1700000000000, "[ardea] split …"], [1700000000000, "    at …"]]
 * ```
 */
export class LogRing {
  readonly capacity: number;
  readonly #ts: number[] = [];
  readonly #lines: string[] = [];
  #head = 0;
  /** Lines let go to make room. */
  dropped = 0;

  constructor(capacity = 2000) {
    this.capacity = Math.max(1, capacity);
  }

  /** Number of lines kept. */
  get size(): number {
    return this.#lines.length;
  }

  /** Appends an entry (each of its lines). */
  push(entry: string, at: number = Date.now()): void {
    for (const raw of entry.replace(/\n+$/, "").split("\n")) {
      const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw;
      if (this.#lines.length < this.capacity) {
        this.#lines.push(line);
        this.#ts.push(at);
      } else {
        this.#lines[this.#head] = line;
        this.#ts[this.#head] = at;
        this.#head = (this.#head + 1) % this.capacity;
        this.dropped++;
      }
    }
  }

  /** The newest `n` lines, oldest first. */
  last(n: number): Array<[number, string]> {
    const size = this.#lines.length;
    const k = Math.min(n, size);
    const out: Array<[number, string]> = [];
    for (let i = size - k; i < size; i++) {
      const j = (this.#head + i) % size;
      out.push([this.#ts[j]!, this.#lines[j]!]);
    }
    return out;
  }
}
