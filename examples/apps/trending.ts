/**
 * Trending hashtags: which hashtags are rising right now, and how fast.
 * Tweets become hashtags, hashtags are counted in sliding event-time
 * windows (5 minutes, sliding by 10 seconds, with 30 seconds of allowed
 * lateness), the counts are ranked in two steps (partial rankings per share
 * of the hashtags, then one total ranking), and each window's top N comes
 * out with every hashtag's velocity: its count minus its count one slide
 * earlier. This is Storm's RollingTopWords (storm-starter) on event time,
 * with exact windows and EFFECTIVELY_ONCE state.
 *
 *   tweets ──shuffle──▶ hashtags ──fields(tag)──▶ counter ×2 ──fields(tag)──▶ rankers ×2 ──global──▶ trends ──global──▶ report
 *   (spout)             (twitter-text)           (windowed, event time)    (velocity, partial top N)  (total top N)    (live view, --out)
 *                                                     └──────── all("ends"): "I closed window end" ────────┘
 *
 * The counters keep each hashtag's count from window to window (a window's
 * new tuples in, the tuples that left out). A ranker ranks a window once
 * every counter task has closed it (the `ends` stream, sent to every ranker)
 * and, partitioned by hashtag as the counters are, sees every window of its
 * hashtags, so it knows their velocity. Why bolts and not streamlets: the
 * Streamlet API's windowed operators have neither a per-task end-of-window
 * signal nor a keyed successor. The components are in `trending/bolts.ts`.
 *
 * Delivery: EFFECTIVELY_ONCE by default. A tweet stays in the windows for
 * 5 minutes and 10 seconds of event time, far longer than a message
 * timeout, and under ATLEAST_ONCE the spout could not have enough tweets in
 * flight for the windows to fill (`--mode atleast` is refused). The spout's
 * position, the windows and counts, the rankers' windows in progress and
 * the total ranker's partial windows are checkpointed; after a failure every
 * task rolls back and the spout rewinds. The --out file gets every window
 * exactly once, across a crash too (see the report bolt below).
 * `--mode atmost` runs without checkpoints.
 *
 * The generator (`trending/generator.ts`): background tweets at 50 a second
 * of event time with words, @mentions, t.co links and 0 to 3 hashtags from
 * a Zipf vocabulary of 5,000 (Unicode ones among them: #日本, #café,
 * #München, #Ελλάδα, #한국); one tweet in ten arrives up to 20 s late;
 * planted trends burst (20 to 30 tweets a second), hold (4 to 8 a second)
 * and fall at known event times: the ground truth `[tag, riseMs, fallMs]`.
 * Bound (issue 16): each planted trend is in the top 10 within one slide of
 * its rise and out within one window length of its fall. The test also
 * checks each window's ranking against `trending/offline.ts`, the same
 * computation in a plain loop.
 *
 * Libraries: twitter-text (Twitter's own hashtag rules: Unicode letters,
 * marks and digits, not all digits; what `#日本` or `end.#x` is), zod (a
 * tweet read from a JetStream stream is checked), dayjs (event times in the
 * live view, through the shared lib).
 *
 * Flags: the standard ones (--seed, --rate, --events [200000], --duration,
 * --from-stream, --idle-ms, --out, --nats, --mode [effectively]; see
 * lib/flags.ts),
 * and --top-n N [10], --window D [5m], --slide D [10s], --lag D [30s],
 * --counters N [2], --rankers N [2], --state-dir DIR (EFFECTIVELY_ONCE
 * checkpoints when embedded; default a fresh temporary directory, removed
 * at the end; with a directory you keep, a run started again resumes).
 * With --from-stream the run goes on until Ctrl-C, or with --idle-ms N
 * until the stream has had nothing new for N ms.
 *
 *   npx ardea run examples/apps/trending.ts --events 200000 --out trends.jsonl
 *   deno run -A examples/apps/trending.ts --rate 2000 --window 2m
 *   npx ardea run examples/apps/trending.ts --from-stream TWEETS --nats nats://127.0.0.1:4222 --idle-ms 5000
 *   npx ardea submit examples/apps/trending.ts --containers 2 --wait --nats nats://127.0.0.1:4222 -- --out /tmp/t.jsonl
 *
 * Output: a live line a second with the tweets read and the current top 10
 * (`#tag count (+velocity)`), and with --out one JSON line per window:
 * `{"start":…,"end":…,"top":[[tag,count,velocity],…]}`; the last line is
 * `summary {json}` with tweets/s and the quality figures.
 *
 * @module
 */
import { z } from "zod";
import {
  BaseStatefulBolt,
  Duration,
  Fields,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../../mod.ts";
import { exit, writeStderr } from "../../runtime/mod.ts";
import {
  formatTime,
  jsonStreamSpout,
  LiveView,
  openOutput,
  type Output,
  parseAppFlags,
  parseDuration,
  printSummary,
  reliabilityMode,
  replayable,
  runState,
} from "./lib/mod.ts";
import {
  HashtagBolt,
  IntermediateRankingsBolt,
  RollingCountBolt,
  TotalRankingsBolt,
  TweetSpout,
} from "./trending/bolts.ts";
import { generateTweets, type GeneratorOptions, plantedTrends } from "./trending/generator.ts";
import { formatTop, TweetSchema, type Windowing, type WindowRanking } from "./trending/model.ts";
import { scoreTrends } from "./trending/offline.ts";
import { WindowsFile } from "./trending/windows_file.ts";

/** A duration flag ("5m", "10s", or ms) in ms, at least `min`. */
const duration = (min: number) =>
  z.string().transform((s, ctx) => {
    try {
      const ms = parseDuration(s);
      if (ms >= min) return ms;
      ctx.addIssue({ code: "custom", message: `must be at least ${min} ms` });
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
    return z.NEVER;
  });

const flags = parseAppFlags("trending", undefined, {
  topN: z.coerce.number().int().min(1).max(1000).default(10),
  window: duration(1).default(5 * 60_000),
  slide: duration(1).default(10_000),
  lag: duration(0).default(30_000),
  counters: z.coerce.number().int().min(1).max(64).default(2),
  rankers: z.coerce.number().int().min(1).max(64).default(2),
}, { mode: "effectively" });

function fail(message: string, code = 2): never {
  writeStderr(`trending: ${message}\n`);
  return exit(code);
}

if (flags.mode === "atleast") {
  fail(
    `--mode atleast cannot run windows of ${
      flags.window / 1000
    } s: every tweet would stay in flight (unacked) until its windows close, far beyond the message timeout and max.spout.pending; use --mode effectively (the default) or atmost`,
  );
}
if (flags.window % flags.slide !== 0) {
  fail(`--window (${flags.window} ms) must be a multiple of --slide (${flags.slide} ms)`);
}

const windowing: Windowing = { lengthMs: flags.window, slideMs: flags.slide, lagMs: flags.lag };
// 200,000 tweets unless --events or --duration says otherwise (with both, whichever ends first).
const generator: GeneratorOptions = {
  seed: flags.seed,
  ...(flags.events !== undefined || flags.duration === undefined ? { events: flags.events ?? 200_000 } : {}),
  ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
};
const live = new LiveView("trending");
const startedAt = Date.now();

/** What the report task of this process saw (the summary is printed where it ran). */
const seen = {
  report: false,
  resumed: false,
  rankings: [] as WindowRanking[],
  lastEnd: -Infinity,
  /** Generator positions this process read from and to (replays after a rollback count once). */
  fromTweet: Infinity,
  toTweet: 0,
  /** When this process read its first tweet (the summary's rate runs from there to the last window). */
  firstAt: undefined as number | undefined,
};

/** The --out file, one per process (a rolled-back report task reopens the same one). */
let windowsFile: Promise<WindowsFile> | null = null;

/**
 * The end of the line: the live view, and each window's ranking to --out.
 *
 * Under EFFECTIVELY_ONCE the file gets every window exactly once, whatever
 * fails: a window is appended as soon as it comes, and the windows not yet
 * confirmed in the file are part of the task's state at each checkpoint.
 * After a crash the run resumes from the last checkpoint: the windows of
 * that state are written again unless the file has them, and the windows
 * after it are emitted again by the topology and skipped by the file when
 * it has them (see trending/windows_file.ts). A `nats:` output is
 * at-least-once (a window may be published twice across a failure).
 */
class ReportBolt extends BaseStatefulBolt<string, WindowRanking[]> {
  #state: KeyValueState<string, WindowRanking[]> | null = null;
  #collector!: OutputCollector;
  #file: WindowsFile | null = null;
  #out: Output | null = null;
  /** Windows handed to the file and not yet in it. */
  readonly #unconfirmed = new Set<WindowRanking>();
  /** Windows of the checkpoint this task was restored from that may not be in the file. */
  #restored: WindowRanking[] | undefined;

  initState(state: KeyValueState<string, WindowRanking[]>): void {
    this.#state = state;
    this.#restored = state.get("unwritten");
  }

  override preSave(): void {
    this.#state?.put("unwritten", [...this.#unconfirmed].sort((a, b) => a.end - b.end));
  }

  override async prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector) {
    this.#collector = collector;
    seen.report = true;
    seen.resumed ||= this.#restored !== undefined;
    if (flags.out?.startsWith("nats:")) this.#out = await openOutput(flags);
    else if (flags.out !== undefined) {
      this.#file = await (windowsFile ??= WindowsFile.open(flags.out, this.#restored !== undefined));
      this.#write(this.#restored ?? []);
    }
  }

  execute(t: Tuple): void {
    const r = t.getValue(0) as WindowRanking;
    this.#write([r]);
    if (r.end > seen.lastEnd) {
      seen.lastEnd = r.end;
      seen.rankings.push(r);
      live.count("windows");
      live.set("at", formatTime(r.end));
      live.set("top", formatTop(r.top.slice(0, 10)));
    }
    this.#collector.ack(t);
  }

  #write(windows: WindowRanking[]): void {
    for (const w of windows) this.#out?.write(w);
    const file = this.#file;
    if (file === null || windows.length === 0) return;
    for (const w of windows) this.#unconfirmed.add(w);
    file.write(windows).then(() => windows.forEach((w) => this.#unconfirmed.delete(w)), () => {});
  }

  override async cleanup(): Promise<void> {
    await this.#out?.close();
    this.#out = null;
    await this.#file?.close();
  }

  declareOutputFields(_d: OutputFieldsDeclarer): void {}
}

const builder = new TopologyBuilder();
if (flags.fromStream === undefined) {
  const tweets = replayable(() => generateTweets(generator));
  const onEmit = (n: number, from: number, to: number) => {
    seen.firstAt ??= Date.now();
    live.count("tweets", n);
    seen.fromTweet = Math.min(seen.fromTweet, from);
    seen.toTweet = Math.max(seen.toTweet, to);
  };
  builder.setSpout("tweets", () => new TweetSpout(tweets, flags.rate, onEmit), 1);
} else {
  // A message that is not a tweet throws in decode: the spout reports it and drops it.
  builder.setSpout("tweets", () =>
    jsonStreamSpout(flags, "trending-tweets", (json) => {
      const tweet = TweetSchema.parse(json);
      seen.firstAt ??= Date.now();
      live.count("tweets");
      return tweet;
    }), 1);
}
// One hashtag task: the counters' watermark is their input stream's newest event time, so tuples
// must reach them in the order the tweets came (two extractors running apart would make tuples late).
builder.setBolt("hashtags", () => new HashtagBolt(), 1).shuffleGrouping("tweets");
builder.setBolt(
  "counter",
  new RollingCountBolt()
    .withWindow(Duration.of(windowing.lengthMs), Duration.of(windowing.slideMs))
    .withTimestampField("ts")
    .withLag(windowing.lagMs),
  flags.counters,
).fieldsGrouping("hashtags", new Fields("tag"));
builder.setBolt(
  "rankers",
  () => new IntermediateRankingsBolt("counter", windowing.lengthMs, windowing.slideMs, flags.topN),
  flags.rankers,
)
  .fieldsGrouping("counter", new Fields("tag"))
  .allGrouping("counter", "ends");
builder.setBolt("trends", () => new TotalRankingsBolt("rankers", flags.topN), 1).globalGrouping("rankers");
builder.setBolt("report", () => new ReportBolt(), 1).globalGrouping("trends");

// A folder of its own per run unless --state-dir, made by the engine only if it runs embedded (a cluster keeps
// checkpoints in NATS).
const state = runState(flags, "trending");
const config = { "topology.reliability.mode": reliabilityMode(flags.mode), ...state.config };
try {
  const handle = await submit("trending", config, builder.createTopology());
  const summary = await handle.done.catch((e: Error) => fail(`the run failed: ${e.message}`, 1));
  if (summary.state !== "FINISHED" && summary.state !== "KILLED") fail(`the run ended ${summary.state}`, 1);
} finally {
  await state.dispose();
}

if (seen.report) {
  live.flush();
  const seconds = (Date.now() - (seen.firstAt ?? startedAt)) / 1000;
  // Distinct tweets read (a rollback reads some again); from a stream, the tweets decoded.
  const tweets = flags.fromStream === undefined ? Math.max(0, seen.toTweet - seen.fromTweet) : live.get("tweets");
  const quality: Record<string, number | boolean> = { windows: seen.rankings.length };
  if (flags.fromStream === undefined && flags.topN >= 10) {
    // A resumed run saw only the windows after its checkpoint: it scores the trends that rose after them.
    const from = seen.resumed ? (seen.rankings[0]?.end ?? Infinity) : -Infinity;
    const s = scoreTrends(seen.rankings, plantedTrends(generator).filter(([, rise]) => rise >= from), windowing);
    Object.assign(quality, s.figures);
    for (const t of s.trends) {
      live.line(
        `trend #${t.tag}: rose ${formatTime(t.riseMs)}, in the top 10 at ${
          t.firstIn === null ? "never" : formatTime(t.firstIn)
        }; fell ${formatTime(t.fallMs)}, out at ${t.outAt === null ? "never" : formatTime(t.outAt)} ${
          t.riseOk && t.fallOk ? "ok" : "MISSED"
        }`,
      );
    }
  }
  printSummary({
    app: "trending",
    events: tweets,
    seconds,
    eventsPerSec: tweets / seconds,
    quality,
    ...(seen.resumed ? { resumed: true } : {}),
  });
}
