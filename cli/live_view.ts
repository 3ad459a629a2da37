/**
 * The status line `ardea run` keeps refreshed in place on a terminal, and the
 * number formatting it shares with the end-of-run summary.
 *
 * @module
 */
import type { TopologyStats } from "../engine/container.ts";

/** Counters summed over every topology being watched. */
export interface Totals {
  topologies: number;
  uptimeMs: number;
  emitted: number;
  acked: number;
  failed: number;
  pending: number;
  restarts: number;
  backpressure: boolean;
  paused: boolean;
}

/**
 * Sums `stats` of several topologies; uptime is the longest.
 *
 * @example
 * ```ts
 * const t = sumStats(handles.map((h) => h.stats()));
 * ```
 */
export function sumStats(stats: readonly TopologyStats[]): Totals {
  const t: Totals = {
    topologies: stats.length,
    uptimeMs: 0,
    emitted: 0,
    acked: 0,
    failed: 0,
    pending: 0,
    restarts: 0,
    backpressure: false,
    paused: stats.length > 0,
  };
  for (const s of stats) {
    t.uptimeMs = Math.max(t.uptimeMs, s.uptimeMs);
    t.emitted += s.emitted;
    t.acked += s.acked;
    t.failed += s.failed;
    t.pending += s.pending;
    t.restarts += s.restarts;
    t.backpressure ||= s.backpressure;
    t.paused &&= s.state === "PAUSED";
  }
  return t;
}

/**
 * A count for people: `999`, `12.3k`, `4.56M`.
 *
 * @example
 * ```ts
 * formatCount(12345); // "12.3k"
 * ```
 */
export function formatCount(n: number): string {
  if (Math.abs(n) < 999.5) return String(Math.round(n));
  for (const [div, unit] of [[1e3, "k"], [1e6, "M"], [1e9, "G"]] as const) {
    const v = n / div;
    // Three significant digits; 999.96k rounds to 1.00M, not 1000k.
    if (Math.abs(v) < 999.5 || unit === "G") return `${Number(v.toPrecision(3))}${unit}`;
  }
  return String(n);
}

/**
 * A duration as `m:ss` (or `h:mm:ss`).
 *
 * @example
 * ```ts
 * formatUptime(75_000); // "1:15"
 * ```
 */
export function formatUptime(ms: number): string {
  const total = Math.floor(ms / 1000);
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * The status line for `totals`, given the emit rate, at most `width`
 * characters: when space is short the label goes first, then counters that
 * are zero and rarely matter (failed, restarts), then the tail is cut.
 *
 * @example
 * ```ts
 * statusLine(sumStats([h.stats()]), 52_000, "wc", 120);
 * // "wc  0:12  52k tuples/s  acked 1.2M  failed 0  in flight 2.05k  backpressure off  restarts 0"
 * ```
 */
export function statusLine(t: Totals, ratePerSec: number, label: string, width = Infinity): string {
  // [text, may be left out when space is short (a zero nobody needs to see)]
  const segments: Array<[string, boolean]> = [
    [`${formatUptime(t.uptimeMs)}${t.paused ? " paused" : ""}`, false],
    [`${formatCount(ratePerSec)} tuples/s`, false],
    [`acked ${formatCount(t.acked)}`, false],
    [`failed ${formatCount(t.failed)}`, t.failed === 0],
    [`in flight ${formatCount(t.pending)}`, false],
    [`backpressure ${t.backpressure ? "ON" : "off"}`, false],
    [`restarts ${t.restarts}`, t.restarts === 0],
  ];
  const all = segments.map(([text]) => text).join("  ");
  for (const line of [`${label}  ${all}`, all]) if (line.length <= width) return line;
  const short = segments.filter(([, optional]) => !optional).map(([text]) => text).join("  ");
  return short.length <= width ? short : `${short.slice(0, Math.max(0, width - 1))}…`;
}

/** Options of {@link LiveView}. */
export interface LiveViewOptions {
  /** Current stats of every topology to show (empty: nothing is drawn). */
  stats: () => TopologyStats[];
  /** Writes to the terminal (stderr). */
  write: (text: string) => void;
  /** Terminal width now. */
  columns: () => number;
  /** Refresh period (default 250 ms). */
  intervalMs?: number;
}

/** Moves to the start of the line and erases it. */
const CLEAR = "\r\x1b[2K";

/**
 * Redraws one status line in place every `intervalMs`; {@link LiveView.stop}
 * erases it, so nothing is left behind on the terminal.
 *
 * @example
 * ```ts
 * const view = new LiveView({ stats: () => [h.stats()], write: writeStderr, columns: terminalColumns });
 * view.start();
 * await h.done.finally(() => view.stop());
 * ```
 */
export class LiveView {
  readonly #opts: LiveViewOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #drawn = false;
  #last: { at: number; emitted: number } | undefined;
  #rate = 0;

  constructor(opts: LiveViewOptions) {
    this.#opts = opts;
  }

  /** Starts refreshing. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.draw(), this.#opts.intervalMs ?? 250);
  }

  /** Draws the line once now. */
  draw(): void {
    const stats = this.#opts.stats();
    if (stats.length === 0) return;
    const totals = sumStats(stats);
    const now = performance.now();
    if (this.#last !== undefined && now > this.#last.at) {
      this.#rate = Math.max(0, (totals.emitted - this.#last.emitted) * 1000 / (now - this.#last.at));
    } else if (totals.uptimeMs > 0) {
      this.#rate = totals.emitted * 1000 / totals.uptimeMs; // first sample: the average so far
    }
    this.#last = { at: now, emitted: totals.emitted };
    const label = stats.length === 1 ? stats[0]!.name : `${stats.length} topologies`;
    const width = Math.max(20, this.#opts.columns() - 1);
    this.#opts.write(`${CLEAR}${statusLine(totals, this.#rate, label, width)}`);
    this.#drawn = true;
  }

  /** Erases the line before other output (it comes back at the next refresh). */
  clear(): void {
    if (!this.#drawn) return;
    this.#opts.write(CLEAR);
    this.#drawn = false;
  }

  /** Stops refreshing and erases the line. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#restoreConsole?.();
    this.#restoreConsole = undefined;
    this.clear();
  }

  #restoreConsole: (() => void) | undefined;

  /**
   * Until {@link LiveView.stop}, erases the line before each `console.*`
   * call (the script's prints, the engine's logs), so they do not start in
   * the middle of it; the next refresh draws it again below them.
   */
  interceptConsole(): void {
    if (this.#restoreConsole !== undefined) return;
    const methods = ["log", "info", "warn", "error", "debug"] as const;
    const originals = methods.map((m) => console[m]);
    methods.forEach((m, i) => {
      const original = originals[i]!;
      console[m] = (...data: unknown[]) => {
        this.clear();
        original.apply(console, data);
      };
    });
    this.#restoreConsole = () => methods.forEach((m, i) => (console[m] = originals[i]!));
  }
}
