/**
 * A short rolling time series of each component's counters: the last N
 * samples, enough for the tracker's live charts. Sampling reads the
 * counters the engine keeps anyway, so the hot path pays nothing.
 *
 * @module
 */
import type { StatsSnapshot } from "../metrics/snapshot.ts";

/** The counters kept per sample and component. */
export const SERIES_FIELDS = ["emitted", "executed", "acked", "failed", "queued", "pending"] as const;
/** One of {@link SERIES_FIELDS}. */
export type SeriesField = typeof SERIES_FIELDS[number];

/** One component's series: counters and per-second rates (null for the first sample). */
export type ComponentSeries = Record<SeriesField, number[]> & {
  emitRate: Array<number | null>;
  executeRate: Array<number | null>;
  ackRate: Array<number | null>;
  failRate: Array<number | null>;
};

/** A topology's series: sample times (ms since the epoch) and one series per component. */
export interface TopologySeries {
  t: number[];
  components: Record<string, ComponentSeries>;
}

interface Ring {
  t: number[];
  values: Map<string, Record<SeriesField, number[]>>;
}

/**
 * Keeps the last `capacity` samples of each topology.
 *
 * @example
 * ```ts
 * import type { TopologyHandle } from "ardea";
 * declare const handle: TopologyHandle;
 * const h = new MetricsHistory(120);
 * setInterval(() => h.record(handle.stats()), 1000);
 * h.series("wc")?.components.split.emitRate; // [null, 51234, 50987, …]
 * ```
 */
export class MetricsHistory {
  readonly capacity: number;
  readonly #rings = new Map<string, Ring>();

  constructor(capacity = 120) {
    this.capacity = Math.max(2, capacity);
  }

  /** Adds a sample of `stats` taken at `at`. */
  record(stats: StatsSnapshot, at: number = Date.now()): void {
    let ring = this.#rings.get(stats.name);
    if (ring === undefined) this.#rings.set(stats.name, ring = { t: [], values: new Map() });
    const n = ring.t.length;
    ring.t.push(at);
    for (const [name, c] of Object.entries(stats.components)) {
      let v = ring.values.get(name);
      if (v === undefined) {
        // A component first seen now: earlier samples are zeros.
        v = Object.fromEntries(SERIES_FIELDS.map((f) => [f, new Array<number>(n).fill(0)])) as Record<
          SeriesField,
          number[]
        >;
        ring.values.set(name, v);
      }
      for (const f of SERIES_FIELDS) v[f].push(c[f]);
    }
    for (const [name, v] of ring.values) {
      if (!(name in stats.components)) { for (const f of SERIES_FIELDS) v[f].push(v[f].at(-1) ?? 0); }
    }
    if (ring.t.length > this.capacity) {
      ring.t.shift();
      for (const v of ring.values.values()) for (const f of SERIES_FIELDS) v[f].shift();
    }
  }

  /** Forgets a topology. */
  forget(name: string): void {
    this.#rings.delete(name);
  }

  /** The series of topology `name`, with rates, or undefined if never sampled. */
  series(name: string): TopologySeries | undefined {
    const ring = this.#rings.get(name);
    if (ring === undefined) return undefined;
    const components: Record<string, ComponentSeries> = {};
    for (const [c, v] of ring.values) {
      components[c] = {
        ...Object.fromEntries(SERIES_FIELDS.map((f) => [f, [...v[f]]])) as Record<SeriesField, number[]>,
        emitRate: rates(ring.t, v.emitted),
        executeRate: rates(ring.t, v.executed),
        ackRate: rates(ring.t, v.acked),
        failRate: rates(ring.t, v.failed),
      };
    }
    return { t: [...ring.t], components };
  }
}

function rates(t: readonly number[], v: readonly number[]): Array<number | null> {
  const out: Array<number | null> = [];
  for (let i = 0; i < t.length; i++) {
    const dt = i === 0 ? 0 : t[i]! - t[i - 1]!;
    out.push(dt > 0 ? Math.max(0, (v[i]! - v[i - 1]!) * 1000 / dt) : null);
  }
  return out;
}
