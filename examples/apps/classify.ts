/**
 * Classification as content is created: every post gets its language, its
 * sentiment and a topic the moment it arrives, and the results are counted
 * per minute, topic and sentiment (event time, tumbling windows).
 *
 *   posts ──→ classify ──────────────────────────→ per minute ──────────────→ report
 *   (source)  (language: franc-min,                (reduceByKeyAndWindow:      (live view, --out,
 *              sentiment: sentiment/AFINN-165,      key "topic/sign",           summary line;
 *              topic: logistic regression           1-minute tumbling window,   1 partition)
 *              trained at start-up; --classifiers)  event time; 2 partitions)
 *
 * The generator (examples/apps/classify/generator.ts) writes short posts in
 * English, Spanish, French and German from per-topic vocabularies (sports,
 * tech, politics, finance, food), function words of the language,
 * sentiment words (English ones sometimes negated: "not bad"), a word of
 * another topic in one post of four, 2% sarcasm; topics rise and fall over
 * a 4-hour cycle; 200 posts per second of event time from
 * 2026-01-01T00:00Z. Each post carries its planted labels (topic, sentiment
 * sign, language); only the scoring reads them. Every process that runs the
 * script trains the classifier before the topology starts (about a second),
 * on 1000 labelled posts drawn from another random stream of the same seed:
 * the same sample and the same weights in every container, and never one of
 * the posts it is scored on.
 *
 * Libraries, each for what it is good at (examples/apps/classify/model.ts):
 * - `franc-min`: language identification by trigram profiles, restricted
 *   to the languages the feed carries;
 * - `sentiment`: AFINN-165 scoring with negation (English), other
 *   languages registered with their own word lists;
 * - `ml-logistic-regression` (on `ml-matrix`): the topic model, one-vs-all
 *   logistic regression over a bag of words. Plain gradient descent from
 *   zero, so training is deterministic: no seed to share between
 *   containers. (A multinomial naive Bayes would do as well on this data,
 *   but no kept package offers one; simple-statistics' BayesianClassifier
 *   sums frequencies instead of multiplying likelihoods.)
 * - `zod` validates posts read with --from-stream.
 *
 * Each minute's row: `{"minute": ms, "topic": "sports", "sentiment": "+",
 * "posts": 523, "labelled": 523, "topicOk": 507, "sentimentOk": 500,
 * "languageOk": 511}`; the run's quality (topic accuracy, sentiment sign
 * agreement, language accuracy over the labelled posts) adds them up. The
 * last line is `summary {json}` with events/s and the quality.
 *
 * Flags (examples/apps/lib/flags.ts for the standard ones): --seed N,
 * --rate R, --events N (default 200000), --duration D, --from-stream S
 * (with --idle-ms N: end once the stream is idle, which closes the last windows),
 * --out FILE|nats:SUBJECT (the minute rows), --nats URL,
 * --mode atmost|atleast|effectively (default effectively: a minute window
 * outlives the message timeout of a paced run), and its own:
 * --classifiers N (partitions of the classify step, default 1),
 * --lag D (allowed event-time lateness, default 60s).
 *
 * More classify partitions spread the CPU over containers, but the
 * per-minute windows then take posts from several tasks of one stream, and
 * Ardea's watermark follows the newest time of the stream, not of its
 * slowest task: a task that runs behind (a container that started a second
 * later, thousands of posts) has its posts dropped as late unless --lag
 * covers the gap. Embedded, tasks stay within a second of each other (the
 * test runs 3 with the default lag); on a cluster, raise --lag with the
 * partitions (a late post is dropped, and the summary counts fewer posts).
 *
 *   npx ardea run examples/apps/classify.ts --events 100000 --out minutes.jsonl
 *   deno run -A examples/apps/classify.ts --rate 2000 --duration 10m
 *   npx ardea submit examples/apps/classify.ts --containers 2 --wait --nats nats://127.0.0.1:4222 -- --events 50000
 *
 * @module
 */
import { z } from "zod";
import {
  Builder,
  type Context,
  type KeyedWindow,
  KeyValue,
  Runner,
  StreamletConfig as Config,
  type Transformer,
  WindowConfig,
} from "../../mod.ts";
import { exit, writeStderr } from "../../runtime/mod.ts";
import {
  appSource,
  formatTime,
  LiveView,
  outputSink,
  parseAppFlags,
  parseDuration,
  printSummary,
  reliabilityMode,
  runState,
} from "./lib/mod.ts";
import { generatePosts, LANGUAGES, type Post, type PostOptions, TOPICS } from "./classify/generator.ts";
import { type Classified, classifyPost, type TopicClassifier } from "./classify/model.ts";
import {
  addPost,
  EMPTY_TALLY,
  MINUTE_MS,
  minuteKey,
  type MinuteRow,
  minuteRow,
  quality,
  type Tally,
} from "./classify/minutes.ts";
import { classifierFor, TRAINING_POSTS } from "./classify/offline.ts";

const flags = parseAppFlags("classify", undefined, {
  classifiers: z.coerce.number().int().min(1).max(64).default(1),
  lag: z.string().default("60s").transform((s, ctx) => {
    try {
      return parseDuration(s);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  }),
}, { events: 200_000, mode: "effectively" });

/** A post as JSON from --from-stream. */
const PostSchema = z.object({
  id: z.number().int(),
  ts: z.number(),
  user: z.string(),
  text: z.string(),
  label: z.object({
    topic: z.enum(TOPICS),
    sentiment: z.union([z.literal(-1), z.literal(0), z.literal(1)]),
    lang: z.enum(LANGUAGES),
  }).optional(),
});

const gen: PostOptions = { seed: flags.seed };
if (flags.events !== undefined) gen.events = flags.events;
if (flags.duration !== undefined) gen.durationMs = flags.duration;

const rows: MinuteRow[] = [];
let startedAt = 0;

const live = new LiveView("classify");

// Train before the topology starts, in every process that runs the script: a container that started
// classifying while another was still training would run ahead in event time and make the other's posts late.
const trainStart = performance.now();
classifierFor(flags.seed);
const trainMs = Math.round(performance.now() - trainStart);
live.line(`topic classifier trained on ${TRAINING_POSTS} labelled posts in ${trainMs} ms`);

/** The classify step: each post's language, sentiment and topic, with the process's classifier. */
class ClassifyPosts implements Transformer<Post, Classified> {
  classifier: TopicClassifier | null = null;
  constructor(readonly seed: number) {}
  setup(_context: Context): void {
    this.classifier = classifierFor(this.seed);
  }
  transform(post: Post, emit: (c: Classified) => void): void {
    emit(classifyPost(this.classifier!, post));
  }
  cleanup(): void {}
}

const builder = Builder.newBuilder();
appSource(builder, flags, "posts", () => generatePosts(gen), (json): Post => PostSchema.parse(json) as Post)
  .transform(new ClassifyPosts(flags.seed)).setName("classify").setNumPartitions(flags.classifiers)
  .reduceByKeyAndWindow(
    minuteKey,
    WindowConfig.TumblingTimeWindow(MINUTE_MS).withEventTime((c: Classified) => c.ts, flags.lag),
    { ...EMPTY_TALLY } as Tally,
    addPost,
  ).setName("per-minute").setNumPartitions(2)
  .map((kv: KeyValue<KeyedWindow<string>, Tally>) =>
    minuteRow(kv.getKey().getWindow().getStartTime(), kv.getKey().getKey(), kv.getValue())
  ).setName("rows")
  .toSink(outputSink<MinuteRow>(flags, (row) => row, (row) => {
    if (startedAt === 0) startedAt = performance.now();
    rows.push(row);
    live.count("posts", row.posts);
    live.set("minute", `${formatTime(row.minute)} ${row.topic} ${row.sentiment} ${row.posts}`);
  }, (out) => {
    const seconds = (performance.now() - runStart) / 1000;
    const q = quality(rows);
    live.flush();
    if (out !== null) live.line(`wrote ${out.count} minute rows to ${out.describe}`);
    live.line(
      `${q.posts} posts in ${new Set(rows.map((r) => r.minute)).size} minutes: topic accuracy ${
        q.topicAccuracy.toFixed(4)
      }, sentiment sign agreement ${q.sentimentAgreement.toFixed(4)}, language accuracy ${
        q.languageAccuracy.toFixed(4)
      } (over ${q.labelled} labelled posts)`,
    );
    printSummary({
      app: "classify",
      events: q.posts,
      seconds,
      eventsPerSec: q.posts / seconds,
      trainSeconds: trainMs / 1000,
      quality: {
        topicAccuracy: q.topicAccuracy,
        sentimentAgreement: q.sentimentAgreement,
        languageAccuracy: q.languageAccuracy,
        labelled: q.labelled,
        // The issue's bounds: topic accuracy ≥ 0.85, sentiment sign agreement ≥ 0.9.
        ok: q.labelled > 0 && q.topicAccuracy >= 0.85 && q.sentimentAgreement >= 0.9,
      },
    });
  })).setName("report").setNumPartitions(1);

const state = runState(flags, "classify");
const config = Config.newBuilder()
  .setDeliverySemantics(Config.DeliverySemantics[reliabilityMode(flags.mode)])
  // ATLEAST_ONCE acks a post when its window has fired: a minute and the lag of posts stay in flight (the
  // spout must be allowed that many; 1024 would stall it before the first window fires), and Ardea refuses a
  // window longer than the message timeout.
  .setUserConfig("topology.max.spout.pending", 100_000)
  .setUserConfig("topology.message.timeout.secs", 300)
  .setUserConfig("topology.state.dir", state.config["topology.state.dir"])
  .setUserConfig("topology.stateful.start.clean", state.config["topology.stateful.start.clean"])
  .build();
/** When the topology starts (after training): the summary's seconds count from here. */
const runStart = performance.now();
const handle = await new Runner().run("classify", config, builder);
const summary = await handle.done.catch((e: Error) => {
  writeStderr(`classify: the run failed: ${e.message}\n`);
  return exit(1);
});
await state.dispose();
if (summary.state !== "FINISHED") exit(1);
