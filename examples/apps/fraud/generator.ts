/**
 * The activity of examples/apps/fraud.ts: posts and new followers of a few
 * thousand accounts, among them planted bots of four kinds, each with the
 * moment it starts. Seeded and deterministic: the same seed gives the same
 * events and the same bots on every runtime.
 *
 * Normal accounts (3000 by default):
 * - post at their own pace (a mean gap of 5 minutes, spread log-normally,
 *   at most one a minute on average), texts of their own words, a link in
 *   one post of ten, one post in a hundred the same text again;
 * - gain a follower every 20 minutes on average;
 * - hard cases: 1% are news accounts (a post with a link every minute), 3%
 *   are chatty (a post every 40 s), 2% go viral once (30 to 80 new
 *   followers within two minutes).
 *
 * Bots (80 by default, 20 of each kind) are silent until their start,
 * spread over the first 20 minutes (2 to 20 minutes in), and post from then on:
 * - spam: a post every ~6 s from four templates, one to three links each;
 * - copypasta: the same one or two texts every ~10 s, no links;
 * - promoter: bursts of 40 to 100 bought followers (every ~4 minutes,
 *   the first at its start) and a post with a link every ~25 s;
 * - blend: nothing extreme on its own (a post every ~12 s, 40% of them
 *   from three templates, a link in 70%, a follower every ~40 s), odd together:
 *   the case for the isolation forest.
 *
 * Events are in event-time order from EPOCH_MS, about 27 a second when
 * every bot is active.
 *
 * @module
 */
import { EPOCH_MS, Random } from "../lib/mod.ts";

/** A post or a new follower of `account`, at event time `ts` (epoch ms). */
export type AccountEvent =
  | { kind: "post"; ts: number; account: string; text: string }
  | { kind: "follow"; ts: number; account: string; follower: string };

export const BOT_KINDS = ["spam", "copypasta", "promoter", "blend"] as const;
export type BotKind = typeof BOT_KINDS[number];

/** A planted bot: who, which kind, and when its first post is. */
export interface PlantedBot {
  account: string;
  kind: BotKind;
  start: number;
}

export interface FraudOptions {
  seed: number;
  /** How many events (default: until `durationMs`, or unbounded). */
  events?: number;
  /** Event time to generate, ms from EPOCH_MS. */
  durationMs?: number;
  /** Normal accounts (default 3000). */
  accounts?: number;
  /** Bots of each kind (default 20). */
  botsPerKind?: number;
}

const SYLLABLES = "ka lo mi ne ru sa to vi be da fe go hu ji ko la mu no pe qui ra si tu ve wa xo yo ze".split(" ");
const DOMAINS = ["bit.ly", "t.co", "news.com", "blog.net", "photos.org", "deals.shop", "win.top", "cash.biz"];

/** A word made of two or three syllables: a vocabulary of ~20k distinct words. */
function word(rnd: Random): string {
  let w = rnd.pick(SYLLABLES) + rnd.pick(SYLLABLES);
  if (rnd.chance(0.6)) w += rnd.pick(SYLLABLES);
  return w;
}

function sentence(rnd: Random, min: number, max: number): string {
  const n = min + rnd.int(max - min + 1);
  return Array.from({ length: n }, () => word(rnd)).join(" ");
}

function link(rnd: Random, domains: readonly string[] = DOMAINS): string {
  return `https://${rnd.pick(domains)}/${rnd.int(36 ** 5).toString(36)}`;
}

/** A source of events: the time of its next one, and what it emits then (it reschedules itself). */
interface Process {
  at: number;
  seq: number;
  fire(at: number): AccountEvent[];
}

/** A binary min-heap of processes by (at, seq): the next event of all accounts, in time order. */
class Agenda {
  readonly #heap: Process[] = [];
  #seq = 0;

  add(p: Omit<Process, "seq">): void {
    const h = this.#heap;
    h.push({ ...p, seq: this.#seq++ });
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): Process | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Process, b: Process) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** The bots a seed plants (without generating the events). */
export function plantedBots(opts: FraudOptions): PlantedBot[] {
  const rnd = new Random(opts.seed).fork("bots");
  const per = opts.botsPerKind ?? 20;
  const bots: PlantedBot[] = [];
  for (const kind of BOT_KINDS) {
    for (let i = 0; i < per; i++) {
      bots.push({
        account: `${kind}_${rnd.int(1e6).toString(36)}${i}`,
        kind,
        start: Math.floor(EPOCH_MS + rnd.range(2, 20) * 60_000),
      });
    }
  }
  return bots;
}

/**
 * The events of one seed in event-time order (a generator: iterate it again
 * for the same events).
 *
 * @example
 * ```ts
 * for (const e of generateActivity({ seed: 1, events: 5 })) console.log(e);
 * ```
 */
export function* generateActivity(opts: FraudOptions): Generator<AccountEvent> {
  const root = new Random(opts.seed);
  const agenda = new Agenda();
  const nAccounts = opts.accounts ?? 3000;

  for (let i = 0; i < nAccounts; i++) {
    const rnd = root.fork(`account-${i}`);
    const account = `user${i}`;
    const type = rnd.weighted(["plain", "news", "chatty", "viral"] as const, [0.94, 0.01, 0.03, 0.02]);
    const gap = type === "news"
      ? 60_000
      : type === "chatty"
      ? 40_000
      : Math.max(60_000, 300_000 * Math.exp(rnd.normal(0, 0.6)));
    const linkShare = type === "news" ? 1 : 0.1;
    let last = "";
    const post: Omit<Process, "seq"> = {
      at: EPOCH_MS + rnd.exponential(1 / gap),
      fire(at) {
        const text = last !== "" && rnd.chance(0.01)
          ? last
          : sentence(rnd, 5, 14) + (rnd.chance(linkShare) ? ` ${link(rnd)}` : "");
        last = text;
        agenda.add({ ...post, at: at + rnd.exponential(1 / gap) });
        return [{ kind: "post", ts: Math.floor(at), account, text }];
      },
    };
    agenda.add(post);
    const follow: Omit<Process, "seq"> = {
      at: EPOCH_MS + rnd.exponential(1 / 1_200_000),
      fire(at) {
        agenda.add({ ...follow, at: at + rnd.exponential(1 / 1_200_000) });
        return [{ kind: "follow", ts: Math.floor(at), account, follower: `f${rnd.int(1e9).toString(36)}` }];
      },
    };
    agenda.add(follow);
    if (type === "viral") {
      agenda.add(burst(rnd, agenda, account, EPOCH_MS + rnd.range(0, 120) * 60_000, [30, 80], 120_000));
    }
  }

  for (const bot of plantedBots(opts)) {
    const rnd = root.fork(`bot-${bot.account}`);
    agenda.add(botPosts(rnd, agenda, bot));
    if (bot.kind === "promoter") {
      const schedule: Omit<Process, "seq"> = {
        at: bot.start,
        fire(at) {
          agenda.add(burst(rnd, agenda, bot.account, at, [40, 100], 60_000));
          agenda.add({ ...schedule, at: at + rnd.range(3, 5) * 60_000 });
          return [];
        },
      };
      agenda.add(schedule);
    }
    if (bot.kind === "blend") {
      const follows: Omit<Process, "seq"> = {
        at: bot.start + rnd.exponential(1 / 40_000),
        fire(at) {
          agenda.add({ ...follows, at: at + rnd.exponential(1 / 40_000) });
          return [{
            kind: "follow",
            ts: Math.floor(at),
            account: bot.account,
            follower: `f${rnd.int(1e9).toString(36)}`,
          }];
        },
      };
      agenda.add(follows);
    }
  }

  const end = opts.durationMs === undefined ? Infinity : EPOCH_MS + opts.durationMs;
  let left = opts.events ?? Infinity;
  for (let p = agenda.pop(); p !== undefined && left > 0; p = agenda.pop()) {
    if (p.at >= end) return;
    for (const e of p.fire(p.at)) {
      if (left-- <= 0) return;
      yield e;
    }
  }
}

/** Between `min` and `max` new followers of `account`, spread over `spanMs` from `at`. */
function burst(
  rnd: Random,
  agenda: Agenda,
  account: string,
  at: number,
  [min, max]: [number, number],
  spanMs: number,
): Omit<Process, "seq"> {
  const times = Array.from({ length: min + rnd.int(max - min + 1) }, () => at + rnd.range(0, spanMs));
  times.sort((a, b) => a - b);
  let i = 0;
  const p: Omit<Process, "seq"> = {
    at: times[0]!,
    fire(t) {
      if (++i < times.length) agenda.add({ ...p, at: times[i]! });
      return [{ kind: "follow", ts: Math.floor(t), account, follower: `b${rnd.int(1e9).toString(36)}` }];
    },
  };
  return p;
}

/** The posting process of a bot, by kind. */
function botPosts(rnd: Random, agenda: Agenda, bot: PlantedBot): Omit<Process, "seq"> {
  const templates = Array.from({ length: 4 }, () => sentence(rnd, 6, 10));
  const gap = { spam: 6_000, copypasta: 10_000, promoter: 25_000, blend: 12_000 }[bot.kind];
  let first = true;
  const p: Omit<Process, "seq"> = {
    at: bot.start,
    fire(at) {
      let text: string;
      switch (bot.kind) {
        case "spam":
          text = `${rnd.pick(templates)} ${
            Array.from({ length: 1 + rnd.int(3) }, () => link(rnd, DOMAINS.slice(5))).join(" ")
          }`;
          break;
        case "copypasta":
          text = templates[rnd.chance(0.8) ? 0 : 1]!;
          break;
        case "promoter":
          text = `${sentence(rnd, 4, 8)} ${link(rnd, DOMAINS.slice(5))}`;
          break;
        case "blend":
          text = (rnd.chance(0.4) ? rnd.pick(templates.slice(0, 3)) : sentence(rnd, 5, 12)) +
            (rnd.chance(0.7) ? ` ${link(rnd)}` : "");
          break;
      }
      const ts = first ? bot.start : at;
      first = false;
      agenda.add({ ...p, at: at + rnd.exponential(1 / gap) });
      return [{ kind: "post", ts: Math.floor(ts), account: bot.account, text }];
    },
  };
  return p;
}
