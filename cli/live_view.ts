/**
 * The live view of `ardea run` and `ardea submit --wait`: on a terminal, a
 * status line and a compact table per component (rate, acked, failed, p99
 * latency over the recent window, backpressure, stuck tasks) redrawn in place; without
 * one, a plain status line per topology now and then. The rendering is pure
 * ({@link liveTable}); {@link LiveView} only keeps time and writes. Also the
 * number formatting the end-of-run summary shares.
 *
 * @module
 */
import type { StatsSnapshot as TopologyStats } from "../metrics/snapshot.ts";

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
  /** Tasks whose awaited call has not settled for `topology.task.stuck.warn.secs`. */
  stuck: number;
}

/**
 * Sums `stats` of several topologies; uptime is the longest.
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const handles: TopologyHandle[];
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
    stuck: 0,
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
    for (const c of Object.values(s.components ?? {})) t.stuck += c.stuckTasks ?? 0;
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
 * import type { TopologyHandle } from "ardea";
 * declare const h: TopologyHandle;
 * statusLine(sumStats([h.stats()]), 52_000, "wc", 120);
 * // "wc  0:12  52k tuples/s  acked 1.2M  failed 0  in flight 2.05k  backpressure off  restarts 0"
 * ```
 *
 * With `staleMs` (the counters have not moved for that long: no report
 * came), the rate is replaced by `no reports for N s`.
 */
export function statusLine(t: Totals, ratePerSec: number, label: string, width = Infinity, staleMs = 0): string {
  // [text, may be left out when space is short (a zero nobody needs to see)]
  const segments: Array<[string, boolean]> = [
    [`${formatUptime(t.uptimeMs)}${t.paused ? " paused" : ""}`, false],
    // Counters that stopped coming (NATS away) have no rate: say how old they are instead.
    [staleMs > 0 ? `no reports for ${Math.round(staleMs / 1000)} s` : `${formatCount(ratePerSec)} tuples/s`, false],
    [`acked ${formatCount(t.acked)}`, false],
    [`failed ${formatCount(t.failed)}`, t.failed === 0],
    [`in flight ${formatCount(t.pending)}`, false],
    [`backpressure ${t.backpressure ? "ON" : "off"}`, false],
    [`restarts ${t.restarts}`, t.restarts === 0],
  ];
  if (t.stuck > 0) segments.push([`STUCK ${t.stuck} task(s)`, false]);
  const all = segments.map(([text]) => text).join("  ");
  for (const line of [`${label}  ${all}`, all]) if (line.length <= width) return line;
  const short = segments.filter(([, optional]) => !optional).map(([text]) => text).join("  ");
  return short.length <= width ? short : `${short.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * A latency for a narrow column: `0.12`, `4.56`, `78.9`, `1234`, `12.3s`.
 *
 * @example
 * ```ts
 * formatMs(0.1234); // "0.12"
 * ```
 */
export function formatMs(ms: number): string {
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  if (ms < 10_000) return String(Math.round(ms));
  return `${(ms / 1000).toPrecision(3)}s`;
}

/** One component of the live table. */
export interface ComponentRow {
  /** `component`, or `topology/component` when several topologies are shown. */
  name: string;
  kind: "spout" | "bolt";
  tasks: number;
  /** Spouts: emits per second; bolts: executes per second. */
  ratePerSec: number;
  acked: number;
  failed: number;
  /** Recent p99 (ms): complete latency for spouts, execute latency for bolts; null without samples. */
  p99Ms: number | null;
  /** `ON` for the component whose queues hold backpressure up, `held` for spouts held back, "" otherwise. */
  backpressure: string;
  /** Tasks stuck in an awaited call (`ComponentSnapshot.stuckTasks`); the column shows only when one is. */
  stuck: number;
}

/** What a component counts for its rate: emits for spouts, executes for bolts. */
function throughput(c: TopologyStats["components"][string]): number {
  return c.kind === "spout" ? c.emitted : c.executed;
}

/** Where a rate is measured from: recent counts at their uptimes, and the rate found. */
export interface RateBase {
  samples: ReadonlyArray<{ uptimeMs: number; count: number }>;
  ratePerSec: number;
  /** Wall clock (ms) when a newer report last came. */
  advancedAt?: number;
  /** No newer report for longer than {@link STALE_REPORTS_MS}: for how long (ms); the rate is then 0. */
  staleMs?: number;
}

/** Span of uptime a live rate covers (ms): counters that arrive in steps still give steady rates. */
export const RATE_SPAN_MS = 3000;

/** Counters that have not moved for this long (ms) are stale: reports stopped coming (NATS away, containers frozen). */
export const STALE_REPORTS_MS = 5000;

/**
 * Rates per second of every topology's emits (key: its name) and of every
 * component's emits (spouts) or executes (bolts) (key: `topology/component`),
 * over about the last `spanMs` of each snapshot's own uptime, from `before`
 * (what the previous call returned). Measured on uptime, not the wall
 * clock, and over a few seconds, because a distributed topology's counters
 * come in steps, each container's once a second; a snapshot with no newer
 * uptime, or a count that went down (a report missing), changes nothing,
 * until no newer report has come for {@link STALE_REPORTS_MS} of the wall
 * clock (`now`): the rate is then 0 and `staleMs` says for how long.
 * Without a base, the average since the start.
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const h: TopologyHandle;
 * let rates = measureRates([h.stats()]);
 * rates = measureRates([h.stats()], rates);
 * rates.get("wc/split")?.ratePerSec;
 * ```
 */
export function measureRates(
  stats: readonly TopologyStats[],
  before?: ReadonlyMap<string, RateBase>,
  spanMs = RATE_SPAN_MS,
  now = Date.now(),
): Map<string, RateBase> {
  const out = new Map<string, RateBase>();
  const measure = (key: string, count: number, uptimeMs: number) => {
    const prev = before?.get(key);
    const samples = prev === undefined ? [{ uptimeMs: 0, count: 0 }] : prev.samples.slice();
    const last = samples[samples.length - 1]!;
    if (uptimeMs <= last.uptimeMs || count < last.count) {
      const since = prev?.advancedAt;
      if (prev !== undefined && since !== undefined && now - since > STALE_REPORTS_MS) {
        out.set(key, { ...prev, ratePerSec: 0, staleMs: now - since });
      } else out.set(key, prev ?? { samples, ratePerSec: 0, advancedAt: now });
      return;
    }
    samples.push({ uptimeMs, count });
    // Keep the newest sample at least `spanMs` old as the start.
    while (samples.length > 2 && samples[1]!.uptimeMs <= uptimeMs - spanMs) samples.shift();
    const from = samples[0]!;
    out.set(key, { samples, ratePerSec: ((count - from.count) * 1000) / (uptimeMs - from.uptimeMs), advancedAt: now });
  };
  for (const s of stats) {
    measure(s.name, s.emitted, s.uptimeMs);
    for (const [name, c] of Object.entries(s.components)) measure(`${s.name}/${name}`, throughput(c), s.uptimeMs);
  }
  return out;
}

/**
 * The rows of the live table, spouts first, with the rates of `rates`
 * ({@link measureRates}; 0 where missing).
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const h: TopologyHandle;
 * componentRows([h.stats()], measureRates([h.stats()]));
 * ```
 */
export function componentRows(
  stats: readonly TopologyStats[],
  rates: ReadonlyMap<string, RateBase> = new Map(),
): ComponentRow[] {
  const rows: ComponentRow[] = [];
  for (const s of stats) {
    // Spouts first, as the tuples flow; otherwise in the snapshot's order.
    const components = Object.entries(s.components).sort((
      [, a],
      [, b],
    ) => (a.kind === b.kind ? 0 : a.kind === "spout" ? -1 : 1));
    for (const [name, c] of components) {
      const key = `${s.name}/${name}`;
      const latency = c.kind === "spout" ? c.completeLatency : c.executeLatency;
      const source = s.backpressure && s.backpressureBy === name;
      rows.push({
        name: stats.length > 1 ? key : name,
        kind: c.kind,
        tasks: c.tasks,
        ratePerSec: rates.get(key)?.ratePerSec ?? 0,
        acked: c.acked,
        failed: c.failed,
        p99Ms: latency?.p99Ms ?? null,
        backpressure: source ? "ON" : s.backpressure && c.kind === "spout" ? "held" : "",
        stuck: c.stuckTasks ?? 0,
      });
    }
  }
  return rows;
}

interface Column {
  title: string;
  /** Lower goes first when the width is short. */
  keep: number;
  right: boolean;
  cell: (r: ComponentRow) => string;
}

const COLUMNS: readonly Column[] = [
  { title: "component", keep: 9, right: false, cell: (r) => r.name },
  { title: "kind", keep: 1, right: false, cell: (r) => r.kind },
  { title: "tasks", keep: 2, right: true, cell: (r) => String(r.tasks) },
  { title: "rate/s", keep: 8, right: true, cell: (r) => formatCount(r.ratePerSec) },
  { title: "acked", keep: 7, right: true, cell: (r) => formatCount(r.acked) },
  { title: "failed", keep: 6, right: true, cell: (r) => formatCount(r.failed) },
  { title: "p99 ms", keep: 5, right: true, cell: (r) => (r.p99Ms === null ? "-" : formatMs(r.p99Ms)) },
  { title: "bp", keep: 4, right: false, cell: (r) => r.backpressure },
  { title: "stuck", keep: 10, right: true, cell: (r) => (r.stuck > 0 ? String(r.stuck) : "") },
];

/** The `stuck` column, shown only while a task is stuck. */
const STUCK_COLUMN = COLUMNS.length - 1;

/** Widest a component name is shown. */
const NAME_MAX = 28;

const fit = (
  text: string,
  width: number,
) => (text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`);

/**
 * The live table as lines of at most `width` characters: a header and one
 * row per component (at most `maxRows`, then a line saying how many more).
 * Columns go, least needed first (kind, tasks), when the width is short; the
 * `stuck` column (tasks stuck in an awaited call) shows only while one is.
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const h: TopologyHandle;
 * const rates = measureRates([h.stats()]);
 * renderTable(componentRows([h.stats()], rates), 100);
 * // ["component  kind   tasks  rate/s  acked  failed  p99 ms  bp", "split      bolt       4    520k  …"]
 * ```
 */
export function renderTable(rows: readonly ComponentRow[], width: number, maxRows = 20): string[] {
  const shown = rows.slice(0, maxRows);
  const cells = shown.map((r) => COLUMNS.map((c) => c.cell(r)));
  let cols = COLUMNS.map((c, i) => ({
    ...c,
    i,
    width: Math.max(c.title.length, ...cells.map((row) => row[i]!.length)),
  }));
  if (!shown.some((r) => r.stuck > 0)) cols = cols.filter((c) => c.i !== STUCK_COLUMN);
  cols[0]!.width = Math.min(cols[0]!.width, NAME_MAX);
  const total = (cs: typeof cols) => cs.reduce((n, c) => n + c.width, 0) + 2 * (cs.length - 1);
  while (total(cols) > width && cols.length > 1) {
    const drop = cols.filter((c) => c.i !== 0).reduce((a, b) => (b.keep < a.keep ? b : a));
    cols = cols.filter((c) => c !== drop);
  }
  const line = (texts: readonly string[]) =>
    fit(
      cols.map((
        c,
      ) => (c.right ? fit(texts[c.i]!, c.width).padStart(c.width) : fit(texts[c.i]!, c.width).padEnd(c.width))).join(
        "  ",
      ).trimEnd(),
      width,
    );
  const out = [line(COLUMNS.map((c) => c.title)), ...cells.map(line)];
  if (rows.length > shown.length) out.push(fit(`… ${rows.length - shown.length} more component(s)`, width));
  return out;
}

/**
 * Everything the live view shows on a terminal for `stats`: the status line
 * of the totals, then the table.
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const h: TopologyHandle;
 * const rates = measureRates([h.stats()]);
 * liveTable([h.stats()], { ratePerSec: 52_000, rows: componentRows([h.stats()], rates), width: 100 });
 * ```
 */
export function liveTable(
  stats: readonly TopologyStats[],
  o: { ratePerSec: number; rows: readonly ComponentRow[]; width: number; maxRows?: number; staleMs?: number },
): string[] {
  const label = stats.length === 1 ? stats[0]!.name : `${stats.length} topologies`;
  return [
    statusLine(sumStats(stats), o.ratePerSec, label, o.width, o.staleMs),
    ...renderTable(o.rows, o.width, o.maxRows),
  ];
}

/** Options of {@link LiveView}. */
export interface LiveViewOptions {
  /** Current stats of every topology to show (empty: nothing is drawn). */
  stats: () => TopologyStats[];
  /** Writes to the terminal (stderr). */
  write: (text: string) => void;
  /** Terminal width now. */
  columns: () => number;
  /**
   * `table` (default): a terminal, redrawn in place every `intervalMs`;
   * `plain`: not a terminal, one status line per topology every `intervalMs`.
   */
  mode?: "table" | "plain";
  /** Refresh period (default 250 ms for a table, 10 s for plain lines). */
  intervalMs?: number;
  /** Components shown at most (default 20). */
  maxRows?: number;
}

/** Moves to the start of the line and erases it. */
const CLEAR = "\r\x1b[2K";

/** Erases `n` lines drawn last, the cursor being at the end of the last one. */
function erase(n: number): string {
  return n <= 1 ? CLEAR : `\r\x1b[${n - 1}A\x1b[J`;
}

/**
 * Redraws the status line and the component table in place every
 * `intervalMs` (or, in `plain` mode, writes status lines);
 * {@link LiveView.stop} erases what it drew, so nothing is left behind on
 * the terminal.
 *
 * @example
 * ```ts
 * import { terminalColumns, writeStderr } from "../runtime/mod.ts";
 * import type { TopologyHandle } from "ardea";
 * declare const h: TopologyHandle;
 * const view = new LiveView({ stats: () => [h.stats()], write: writeStderr, columns: terminalColumns });
 * view.start();
 * await h.done.finally(() => view.stop());
 * ```
 */
export class LiveView {
  readonly #opts: LiveViewOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Lines on the terminal now (0: none). */
  #drawn = 0;
  #rates: Map<string, RateBase> | undefined;

  constructor(opts: LiveViewOptions) {
    this.#opts = opts;
  }

  get #plain(): boolean {
    return this.#opts.mode === "plain";
  }

  /** Starts refreshing. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.draw(), this.#opts.intervalMs ?? (this.#plain ? 10_000 : 250));
  }

  /** Draws once now. */
  draw(): void {
    const stats = this.#opts.stats();
    if (stats.length === 0) return;
    const rates = measureRates(stats, this.#rates);
    this.#rates = rates;
    const rate = (s: TopologyStats) => rates.get(s.name)?.ratePerSec ?? 0;
    const stale = (s: TopologyStats) => rates.get(s.name)?.staleMs ?? 0;
    const width = Math.max(20, this.#opts.columns() - 1);
    if (this.#plain) {
      this.#opts.write(
        stats.map((s) => `ardea: ${statusLine(sumStats([s]), rate(s), s.name, width, stale(s))}\n`).join(""),
      );
      return;
    }
    const total = stats.reduce((n, s) => n + rate(s), 0);
    const staleMs = stats.every((s) => stale(s) > 0) ? Math.min(...stats.map(stale)) : 0;
    const lines = liveTable(stats, {
      ratePerSec: total,
      rows: componentRows(stats, rates),
      width,
      maxRows: this.#opts.maxRows,
      staleMs,
    });
    this.#opts.write(`${this.#drawn > 0 ? erase(this.#drawn) : CLEAR}${lines.join("\n")}`);
    this.#drawn = lines.length;
  }

  /** Erases what was drawn before other output (it comes back at the next refresh). */
  clear(): void {
    if (this.#drawn === 0) return;
    this.#opts.write(erase(this.#drawn));
    this.#drawn = 0;
  }

  /** Stops refreshing and erases the table. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#restoreConsole?.();
    this.#restoreConsole = undefined;
    this.clear();
  }

  #restoreConsole: (() => void) | undefined;

  /**
   * Until {@link LiveView.stop}, erases the table before each `console.*`
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
