/**
 * The last lines a subprocess wrote to stderr, kept in a ring of bounded
 * size for error messages, and the byte count of the current second (a
 * subprocess that floods stderr is stopped).
 *
 * @module
 */

/** Lines kept. */
export const STDERR_LINES = 20;
/** Characters kept of one line. */
export const STDERR_LINE_CHARS = 1000;

/**
 * A ring of the last {@link STDERR_LINES} stderr lines.
 *
 * @example
 * ```ts
 * const tail = new StderrTail();
 * tail.push("Traceback (most recent call last):");
 * tail.text(); // "Traceback (most recent call last):"
 * ```
 */
export class StderrTail {
  readonly #lines: string[] = new Array(STDERR_LINES);
  #next = 0;
  #count = 0;
  /** Characters written since the last {@link StderrTail.resetWindow}. */
  windowChars = 0;

  push(line: string): void {
    this.windowChars += line.length + 1;
    this.#lines[this.#next] = line.length > STDERR_LINE_CHARS ? line.slice(0, STDERR_LINE_CHARS) + "…" : line;
    this.#next = (this.#next + 1) % STDERR_LINES;
    if (this.#count < STDERR_LINES) this.#count++;
  }

  resetWindow(): void {
    this.windowChars = 0;
  }

  /** The kept lines, oldest first, joined by newlines ("" when none). */
  text(): string {
    const out: string[] = [];
    for (let i = 0; i < this.#count; i++) {
      out.push(this.#lines[(this.#next - this.#count + i + STDERR_LINES) % STDERR_LINES]!);
    }
    return out.join("\n");
  }
}
