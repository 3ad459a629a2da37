/**
 * The failure predictor of examples/apps/machines.ts in a plain loop (the
 * engine check's reference and the benchmark's baseline), and the scoring
 * of alerts against the planted failures (the quality check).
 *
 * @module
 */
import { EPOCH_MS } from "../lib/mod.ts";
import {
  generateMetrics,
  type MachinesOptions,
  type MetricSample,
  type PlantedFailure,
  plantedFailures,
} from "./generator.ts";
import {
  type Alert,
  DEFAULT_PREDICTOR,
  type HostState,
  initialHostState,
  type PredictorOptions,
  step,
} from "./model.ts";

/** How alerts compare with the planted failures. */
export interface Quality {
  failures: number;
  /** Failures with an alert between their onset and the failure. */
  detected: number;
  recall: number;
  /** Alerts that match no failure. */
  falseAlarms: number;
  hostHours: number;
  falseAlarmsPerHostHour: number;
  /** Minutes from each detected failure's first alert to the failure: the median, and all of them. */
  medianLeadMin: number;
  leadsMin: number[];
  /** The failures without an alert. */
  missed: PlantedFailure[];
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Scores `alerts` against `failures`: an alert between a failure's onset
 * and the failure (same host) detects it; any other alert is a false alarm.
 * Recall counts the failures up to `end` (a degradation still under way at
 * the end of a run cannot be missed yet, but its alerts are not false).
 *
 * @example
 * ```ts
 * import { plantedFailures } from "./generator.ts";
 * import type { Alert } from "./model.ts";
 * declare const alerts: Alert[];
 * const q = score(alerts, plantedFailures({ seed: 1 }), 40 * 12);
 * q.recall >= 0.9;
 * ```
 */
export function score(
  alerts: readonly Alert[],
  failures: readonly PlantedFailure[],
  hostHours: number,
  end = Infinity,
): Quality {
  const leads: number[] = [];
  const missed: PlantedFailure[] = [];
  const matched = new Set<Alert>();
  for (const f of failures) {
    const hits = alerts.filter((a) => a.host === f.host && a.ts >= f.onset && a.ts < f.failAt);
    for (const a of hits) matched.add(a);
    if (f.failAt > end) continue;
    if (hits.length === 0) missed.push(f);
    else leads.push((f.failAt - Math.min(...hits.map((a) => a.ts))) / 60_000);
  }
  const falseAlarms = alerts.length - matched.size;
  return {
    failures: leads.length + missed.length,
    detected: leads.length,
    recall: leads.length + missed.length === 0 ? 1 : leads.length / (leads.length + missed.length),
    falseAlarms,
    hostHours,
    falseAlarmsPerHostHour: falseAlarms / hostHours,
    medianLeadMin: median(leads),
    leadsMin: leads,
    missed,
  };
}

/**
 * Runs the predictor over `samples` in a plain loop: the alerts in order and
 * each host's last state.
 *
 * @example
 * ```ts
 * import { generateMetrics } from "./generator.ts";
 * const { alerts } = predict(generateMetrics({ seed: 1 }));
 * ```
 */
export function predict(
  samples: Iterable<MetricSample>,
  opts: PredictorOptions = DEFAULT_PREDICTOR,
): { samples: number; alerts: Alert[]; hosts: Map<string, HostState> } {
  const hosts = new Map<string, HostState>();
  const alerts: Alert[] = [];
  let n = 0;
  for (const s of samples) {
    const next = step(hosts.get(s.host) ?? initialHostState(), s, opts);
    hosts.set(s.host, next);
    if (next.last.alert !== null) alerts.push(next.last.alert);
    n++;
  }
  return { samples: n, alerts, hosts };
}

/** What {@link runOffline} reports (the benchmark reads `events`). */
export interface OfflineResult {
  events: number;
  seconds: number;
  alerts: Alert[];
  quality: Quality;
}

/**
 * The whole application offline: generate, predict, score.
 *
 * @example
 * ```ts
 * const r = runOffline({ seed: 1 });
 * console.log(r.events, r.quality.recall);
 * ```
 */
export function runOffline(
  opts: { seed: number; events?: number; duration?: number; hosts?: number; horizonMin?: number },
): OfflineResult {
  const gen: MachinesOptions = { seed: opts.seed, events: opts.events, durationMs: opts.duration, hosts: opts.hosts };
  const started = performance.now();
  const { samples, alerts } = predict(generateMetrics(gen), { horizonMin: opts.horizonMin ?? 30 });
  const seconds = (performance.now() - started) / 1000;
  return { events: samples, seconds, alerts, quality: scoreRun(gen, alerts, samples) };
}

/**
 * Scores the alerts of a run of `gen` that read `samples` samples. A run cut
 * short by `events` is scored on what it saw: the failures planted before
 * its last sample, over the host-hours up to it.
 *
 * @example
 * ```ts
 * import type { Alert } from "./model.ts";
 * declare const alerts: Alert[];
 * const q = scoreRun({ seed: 1 }, alerts, 171_676);
 * ```
 */
export function scoreRun(gen: MachinesOptions, alerts: readonly Alert[], samples: number): Quality {
  const hosts = gen.hosts ?? 40;
  let end = EPOCH_MS + (gen.durationMs ?? 12 * 3_600_000);
  if (gen.events !== undefined) {
    let i = 0;
    for (const s of generateMetrics(gen)) {
      if (++i < samples) continue;
      end = Math.min(end, s.ts);
      break;
    }
  }
  const failures = plantedFailures(gen).filter((f) => f.onset < end);
  return score(alerts, failures, (hosts * (end - EPOCH_MS)) / 3_600_000, end);
}
