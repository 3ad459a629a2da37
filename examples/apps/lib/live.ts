/**
 * The applications' live view on stdout: at most one line a second with
 * each counter, its rate, and whatever the application sets (the current
 * top hashtags, the last alert), then a final `summary {json}` line that
 * people can read and benchmarks parse.
 *
 *   [trending] +4.0s events 820.0k (205.1k/s) · windows 31 · at 00:05:10 · top #heron #ardea
 *
 * @module
 */
import { writeStdout } from "../../../runtime/mod.ts";

/** "12.3k", "1.20M", "4246", "3.5": a count or rate for people. */
function short(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return n.toFixed(1);
}

/**
 * Counters and labels, printed as one line at most every `everyMs`.
 *
 * @example
 * ```ts
 * const live = new LiveView("trending");
 * live.count("events");
 * live.set("top", "#heron #ardea");
 * live.flush(); // prints now
 * ```
 */
export class LiveView {
  readonly #app: string;
  readonly #everyMs: number;
  readonly #start = Date.now();
  #last = Date.now();
  readonly #counters = new Map<string, number>();
  readonly #labels = new Map<string, string>();

  constructor(app: string, options: { everyMs?: number } = {}) {
    this.#app = app;
    this.#everyMs = options.everyMs ?? 1000;
  }

  /** Adds `n` to counter `name` (shown with its rate since the start). */
  count(name: string, n = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + n);
    this.#maybePrint();
  }

  /** The value of counter `name`. */
  get(name: string): number {
    return this.#counters.get(name) ?? 0;
  }

  /** Sets label `name` (shown as it is). */
  set(name: string, text: string): void {
    this.#labels.set(name, text);
    this.#maybePrint();
  }

  /** Prints `text` as its own line, now. */
  line(text: string): void {
    writeStdout(`[${this.#app}] ${text}\n`);
  }

  /** Seconds since the view was made. */
  elapsedSeconds(): number {
    return (Date.now() - this.#start) / 1000;
  }

  /** Prints the current line now. */
  flush(): void {
    const now = Date.now();
    this.#last = now;
    const secs = Math.max((now - this.#start) / 1000, 1e-3);
    const parts = [`+${secs.toFixed(1)}s`];
    for (const [name, n] of this.#counters) parts.push(`${name} ${short(n)} (${short(n / secs)}/s)`);
    for (const [name, text] of this.#labels) parts.push(`${name} ${text}`);
    writeStdout(`[${this.#app}] ${parts.join(" · ")}\n`);
  }

  #maybePrint(): void {
    if (Date.now() - this.#last >= this.#everyMs) this.flush();
  }
}

/**
 * The figures of a finished run, as the last line of the output:
 * `summary {json}`. `bench/apps.ts` reads `events`, `eventsPerSec` and
 * `quality` from it.
 *
 * @example
 * ```ts
 * printSummary({ app: "trending", events: 200000, seconds: 2.5, eventsPerSec: 80000, quality: { hits: 5 } });
 * ```
 */
export function printSummary(summary: {
  app: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  quality: Record<string, number | boolean>;
  [more: string]: unknown;
}): void {
  writeStdout(`summary ${JSON.stringify(summary)}\n`);
}
