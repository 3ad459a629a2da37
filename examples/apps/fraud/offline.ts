/**
 * examples/apps/fraud.ts's computation in a plain loop: the reference for
 * the engine check (tests/app_fraud_test.ts) and the benchmark's baseline,
 * plus the scoring of alerts against the planted bots.
 *
 * @module
 */
import {
  type AccountEvent,
  BOT_KINDS,
  type BotKind,
  type FraudOptions,
  generateActivity,
  plantedBots,
} from "./generator.ts";
import { type AccountSlice, addEvent, type Alert, EMPTY_SLICE, FraudScorer, SLICE_MS } from "./model.ts";

/** How the alerts compare with the planted bots. */
export interface FraudQuality {
  alerts: number;
  truePositives: number;
  /** Bots active long enough to be found: started at least 2 minutes before the last event. */
  bots: number;
  precision: number;
  recall: number;
  /** Median seconds of event time from a found bot's first post to its alert. */
  medianDelaySec: number;
  /** Recall per bot kind. */
  recallByKind: Record<BotKind, number>;
}

/** Scores `alerts` against the bots of `opts` over events that end at `lastTs`. */
export function scoreAlerts(alerts: readonly Alert[], opts: FraudOptions, lastTs: number): FraudQuality {
  const bots = plantedBots(opts).filter((b) => b.start <= lastTs - 120_000);
  const byAccount = new Map(bots.map((b) => [b.account, b]));
  const isBot = new Set(plantedBots(opts).map((b) => b.account));
  const found = alerts.filter((a) => byAccount.has(a.account));
  // An alert on a bot that started too late to count is neither right nor wrong.
  const counted = alerts.filter((a) => byAccount.has(a.account) || !isBot.has(a.account));
  const delays = found.map((a) => (a.ts - byAccount.get(a.account)!.start) / 1000).sort((x, y) => x - y);
  const mid = delays.length / 2;
  const recallByKind = {} as Record<BotKind, number>;
  for (const kind of BOT_KINDS) {
    const of = bots.filter((b) => b.kind === kind);
    recallByKind[kind] = of.length === 0
      ? 1
      : found.filter((a) => byAccount.get(a.account)!.kind === kind).length / of.length;
  }
  return {
    alerts: counted.length,
    truePositives: found.length,
    bots: bots.length,
    precision: counted.length === 0 ? 1 : found.length / counted.length,
    recall: bots.length === 0 ? 1 : found.length / bots.length,
    medianDelaySec: delays.length === 0
      ? NaN
      : delays.length % 2 === 1
      ? delays[Math.floor(mid)]!
      : (delays[mid - 1]! + delays[mid]!) / 2,
    recallByKind,
  };
}

/** A stable order for alerts: by time, then account. */
export function compareAlerts(a: Alert, b: Alert): number {
  return a.ts - b.ts || (a.account < b.account ? -1 : a.account > b.account ? 1 : 0);
}

/** What the reference computes. */
export interface OfflineResult {
  events: number;
  lastTs: number;
  alerts: Alert[];
  quality: FraudQuality;
  seconds: number;
  eventsPerSec: number;
}

/** Folds the events of `opts` into slices, scores each slice's batch in time order, and scores the alerts. */
export function runOffline(opts: { seed: number; events?: number; duration?: number }): OfflineResult {
  const gen: FraudOptions = { seed: opts.seed };
  if (opts.events !== undefined) gen.events = opts.events;
  if (opts.duration !== undefined) gen.durationMs = opts.duration;
  const started = performance.now();
  const scorer = new FraudScorer({ seed: opts.seed });
  const alerts: Alert[] = [];
  let window = -Infinity;
  let slices = new Map<string, AccountSlice>();
  const flush = () => {
    if (slices.size > 0) alerts.push(...scorer.process(window, [...slices.values()]));
    slices = new Map();
  };
  let events = 0;
  let lastTs = 0;
  for (const e of generateActivity(gen) as Iterable<AccountEvent>) {
    events++;
    lastTs = e.ts;
    const start = Math.floor(e.ts / SLICE_MS) * SLICE_MS;
    if (start !== window) {
      flush();
      window = start;
    }
    let s = slices.get(e.account);
    if (s === undefined) slices.set(e.account, s = { account: e.account, start, ...structuredClone(EMPTY_SLICE) });
    addEvent(s, e);
  }
  flush();
  const seconds = (performance.now() - started) / 1000;
  return { events, lastTs, alerts, quality: scoreAlerts(alerts, gen, lastTs), seconds, eventsPerSec: events / seconds };
}
