/**
 * A model updated perpetually: a click-through model retrained on the
 * latest window of labelled ad impressions, each new version broadcast to
 * the scoring bolts, which swap it between two impressions without
 * stopping. The model and its version live in Ardea state, so an
 * EFFECTIVELY_ONCE recovery (a crash, a SIGKILL and a restart on the same
 * --state-dir) resumes with them.
 *
 *                    shuffle   ┌──────────────┐  scored   ┌──────────────┐
 *   impressions ──────────────→│ score (N)    │──────────→│ report (1)   │
 *   (spout)     ──┐            │ state: last  │  global   │ state: accur-│
 *                 │ global     │ two models   │           │ acy/window   │
 *                 │            └──────────────┘           │              │
 *                 │              ↑ all ("models")         └──────────────┘
 *                 │   ┌──────────┴────────┐  global ("models")   ↑
 *                 └──→│ train (1)         │──────────────────────┘
 *                     │ state: model,     │
 *                     │ version, window   │
 *                     └───────────────────┘
 *
 * - `train` (one task, all impressions) counts the labelled impressions of
 *   the current window (10 minutes of event time) per feature combination;
 *   when an impression of the next window arrives it fits a logistic
 *   regression to the closed window (examples/apps/online_model/model.ts)
 *   and emits it as the next version on stream "models";
 * - `score` (N tasks, a share of the impressions each) scores each
 *   impression with the newest version it has that was trained on the
 *   impression's past (not on its own window: that one saw its label); all
 *   grouping gives every task each version, and a task swaps it in between
 *   two tuples;
 * - `report` (one task) keeps the right answers per window in its state,
 *   prints the live view and the models, writes --out and --scores, and at
 *   the end scores the run against the drift.
 *
 * `impressions` is written by hand (ImpressionSpout below): the generator
 * as a stateful spout that saves its position at each checkpoint and skips
 * that far when restored, the way to make any replayable source
 * EFFECTIVELY_ONCE.
 *
 * The generator (examples/apps/online_model/generator.ts): impressions at
 * 20/s of event time from 2026-01-01T00:00Z (200 000 by default, 2 h 47 min)
 * with a user segment, an ad category, a device, a slot on the page and the
 * hour; the click is drawn from a hidden logistic model whose tastes change
 * halfway (each segment behaves as another did, each category takes
 * another's appeal), so the model in use drops to about a coin's accuracy
 * and must recover by retraining.
 *
 * Libraries: `zod` validates impressions read with --from-stream. The model
 * is not `ml-logistic-regression`: its full-batch gradient ascent takes
 * 3.3 s (Node) to 11 s (Deno) per retraining of one window here, where a
 * Newton fit on the window's per-combination counts takes milliseconds and
 * is exact (model.ts says more).
 *
 * Output: a line per model version, a live line a second, and at the end
 * the accuracy before the drift, just after it, and when it recovered; then
 * `summary {json}`. With --out, one JSON object per model version
 * (`{"type":"model","version","from","to","examples","weights"}`) and one
 * per window at the end (`{"type":"window","from","impressions","accuracy"}`);
 * with --scores FILE, one line per impression `[id, version, p, click]`.
 * Both are at-least-once (after a recovery a line may appear twice; lines
 * still buffered when a process is killed are lost); the accuracies of the
 * summary are kept in state, exactly once.
 *
 * Flags (examples/apps/lib/flags.ts for the standard ones): --seed N,
 * --rate R, --events N or --duration D (default 200000 impressions), --from-stream S,
 * --out FILE|nats:SUBJECT, --nats URL, --mode atmost|atleast|effectively
 * (default effectively), and its own: --window D (retraining window, event
 * time, default 10m), --scorers N (default 2), --scores FILE,
 * --state-dir DIR (checkpoints; a run started again on the same DIR resumes
 * from them; default: a fresh temporary directory).
 *
 *   npx ardea run examples/apps/online_model.ts --out models.jsonl
 *   deno run -A examples/apps/online_model.ts --rate 20000 --state-dir /tmp/om   (kill it, run it again: it resumes)
 *   npx ardea submit examples/apps/online_model.ts --containers 2 --wait --nats nats://127.0.0.1:4222 -- --events 60000
 *
 * @module
 */
import { z } from "zod";
import type { JsMsg } from "nats";
import {
  BaseStatefulBolt,
  BaseStatefulSpout,
  JetStreamSpout,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  State,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../../mod.ts";
import { exit, writeStderr } from "../../runtime/mod.ts";
import {
  EPOCH_MS,
  formatTime,
  LiveView,
  natsSettings,
  openOutput,
  type Output,
  parseAppFlags,
  parseDuration,
  printSummary,
  reliabilityMode,
  runState,
} from "./lib/mod.ts";
import {
  CATEGORIES,
  DEVICES,
  generateImpressions,
  groundTruth,
  type Impression,
  type ImpressionOptions,
  SEGMENTS,
  SLOTS,
} from "./online_model/generator.ts";
import { emptyWindow, initialModel, type Model, score, trainerStep, type WindowCounts } from "./online_model/model.ts";
import { type AccuracyTally, emptyTally, qualityOf, type Scored, tallyScore } from "./online_model/offline.ts";

const flags = parseAppFlags("online_model", undefined, {
  window: z.string().default("10m").transform((s, ctx) => {
    try {
      const ms = parseDuration(s);
      if (ms >= 1000) return ms;
      ctx.addIssue({ code: "custom", message: "at least 1s" });
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
    return z.NEVER;
  }),
  scorers: z.coerce.number().int().min(1).max(64).default(2),
  scores: z.string().min(1).optional(),
}, { mode: "effectively" });

/** An impression as JSON from --from-stream. */
const ImpressionSchema = z.object({
  id: z.number().int().min(0),
  ts: z.number(),
  segment: z.enum(SEGMENTS),
  category: z.enum(CATEGORIES),
  device: z.enum(DEVICES),
  slot: z.number().int().min(1).max(SLOTS),
  hour: z.number().int().min(0).max(23),
  click: z.boolean(),
});

const gen: ImpressionOptions = { seed: flags.seed };
// --events, else --duration (at 20 impressions per second of event time), else 200 000 impressions.
if (flags.events !== undefined) gen.events = flags.events;
else if (flags.duration !== undefined) gen.durationMs = flags.duration;
else gen.events = 200_000;
const WINDOW_MS = flags.window;
/** When the generator's tastes change (unknown for --from-stream). */
const DRIFT_AT = flags.fromStream === undefined ? groundTruth(gen).driftAt : Infinity;

/**
 * The generator as a spout that can rewind: its position (impressions
 * emitted) is kept in state at each checkpoint, and a restored spout skips
 * that many. Paced to --rate. Under ATLEAST_ONCE a failed impression is
 * emitted again.
 */
class ImpressionSpout extends BaseStatefulSpout<string, number> {
  #state: KeyValueState<string, number> | null = null;
  #iter: Iterator<Impression> | null = null;
  #collector!: SpoutOutputCollector;
  #reliable = false;
  #position = 0;
  #skip = 0;
  #done = false;
  #started = 0;
  #emitted = 0;
  readonly #pending = new Map<number, Impression>();
  readonly #replay: number[] = [];

  constructor(readonly rate: number) {
    super();
  }

  initState(state: KeyValueState<string, number>): void {
    this.#state = state;
    this.#skip = state.get("position") ?? 0;
  }

  override preSave(): void {
    this.#state?.put("position", this.#position);
  }

  override open(conf: TopologyConfig, _context: TopologyContext, collector: SpoutOutputCollector): void {
    this.#collector = collector;
    this.#reliable = conf["topology.reliability.mode"] === "ATLEAST_ONCE";
    this.#iter = generateImpressions(gen);
    this.#started = Date.now();
  }

  nextTuple(): void {
    const again = this.#replay.shift();
    if (again !== undefined) return this.#collector.emit([this.#pending.get(again)], again);
    if (this.#done) return;
    if (this.rate > 0 && this.#emitted >= ((Date.now() - this.#started) * this.rate) / 1000 + 16) return;
    const iter = this.#iter!;
    for (; this.#position < this.#skip; this.#position++) iter.next();
    const r = iter.next();
    if (r.done) {
      this.#done = true;
      return this.#collector.finish();
    }
    const id = this.#position++;
    this.#emitted++;
    if (!this.#reliable) return this.#collector.emit([r.value]);
    this.#pending.set(id, r.value);
    this.#collector.emit([r.value], id);
  }

  override ack(id: unknown): void {
    this.#pending.delete(id as number);
  }

  override fail(id: unknown): void {
    if (this.#pending.has(id as number)) this.#replay.push(id as number);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["impression"]);
  }
}

/** --from-stream: impressions as JSON from a JetStream stream. */
function streamSpout(stream: string): JetStreamSpout {
  const text = new TextDecoder();
  const nats = natsSettings(flags);
  return new JetStreamSpout({
    stream,
    durable: "impressions-reader",
    ...(nats !== undefined ? { nats } : {}),
    ...(flags.idleMs !== undefined ? { finishWhenIdleMs: flags.idleMs } : {}),
    fields: ["impression"],
    decode: (m: JsMsg) => [ImpressionSchema.parse(JSON.parse(text.decode(m.data)))],
  });
}

/**
 * Retrains on each closed window and emits the new version on "models".
 * State: "model" (the current version) and "window" (the open window's
 * counts, updated in place: the state is encoded whole at each checkpoint).
 */
class TrainBolt extends BaseStatefulBolt<string, unknown> {
  // Outside EFFECTIVELY_ONCE, initState is not called: the state is then a plain one that is never saved.
  #state: KeyValueState<string, unknown> = new State();
  #collector!: OutputCollector;
  #model: Model = initialModel();
  #window: WindowCounts = emptyWindow(EPOCH_MS);

  initState(state: KeyValueState<string, unknown>): void {
    this.#state = state;
    this.#model = (state.get("model") as Model | undefined) ?? initialModel();
    this.#window = (state.get("window") as WindowCounts | undefined) ?? emptyWindow(EPOCH_MS);
    state.put("model", this.#model);
    state.put("window", this.#window);
    if (this.#model.version > 0) {
      new LiveView("online_model").line(
        `train: restored model v${this.#model.version} and the window from ${formatTime(this.#window.from)} ` +
          `(${this.#window.examples} impressions) from the last checkpoint`,
      );
    }
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(t: Tuple): void {
    const step = trainerStep(this.#window, this.#model, t.getValue(0) as Impression, EPOCH_MS, WINDOW_MS);
    if (step.window !== this.#window) {
      this.#window = step.window;
      this.#state.put("window", step.window);
    }
    if (step.model !== null) {
      this.#model = step.model;
      this.#state.put("model", step.model);
      this.#collector.emit("models", t, [step.model]);
    }
    this.#collector.ack(t);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declareStream("models", ["model"]);
  }
}

/**
 * Scores impressions with the newest model version it has received that
 * was trained on the impression's past (a version trained on the window the
 * impression belongs to, or a later one, would have seen its label: when
 * this task lags behind the trainer it keeps using the version before). It
 * keeps the last two versions in state ("models").
 */
class ScoreBolt extends BaseStatefulBolt<string, Model[]> {
  #state: KeyValueState<string, Model[]> = new State();
  #collector!: OutputCollector;
  /** The newest last. */
  #models: Model[] = [initialModel()];

  initState(state: KeyValueState<string, Model[]>): void {
    this.#state = state;
    this.#models = state.get("models") ?? [initialModel()];
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(t: Tuple): void {
    if (t.getSourceStreamId() === "models") {
      const next = t.getValue(0) as Model;
      // The swap, between two tuples: the next impression is scored with the new version.
      if (next.version > this.#models.at(-1)!.version) {
        this.#models = [this.#models.at(-1)!, next];
        this.#state.put("models", this.#models);
      }
    } else {
      const imp = t.getValue(0) as Impression;
      const models = this.#models;
      const model = models.length > 1 && models[1]!.to > imp.ts ? models[0]! : models.at(-1)!;
      const scored: Scored = { id: imp.id, ts: imp.ts, version: model.version, p: score(model, imp), click: imp.click };
      this.#collector.emit(t, [scored]);
    }
    this.#collector.ack(t);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["scored"]);
  }
}

/**
 * The live view, --out and --scores, and the run's figures. State: the
 * right answers per window ("tally"), impressions scored ("scored"), the
 * last model version seen ("model").
 */
class ReportBolt extends BaseStatefulBolt<string, unknown> {
  #state: KeyValueState<string, unknown> = new State();
  #tally: AccuracyTally = emptyTally();
  #live = new LiveView("online_model");
  #out: Output | null = null;
  #scores: Output | null = null;
  #restoredScored = 0;
  #restoredVersion = 0;
  #last: Model | null = null;
  #thisRun = 0;
  #started = 0;
  #now = 0;
  #collector!: OutputCollector;

  initState(state: KeyValueState<string, unknown>): void {
    this.#state = state;
    this.#tally = (state.get("tally") as AccuracyTally | undefined) ?? emptyTally();
    this.#restoredScored = (state.get("scored") as number | undefined) ?? 0;
    this.#last = (state.get("model") as Model | undefined) ?? null;
    this.#restoredVersion = this.#last?.version ?? 0;
    state.put("tally", this.#tally);
  }

  override async prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): Promise<void> {
    this.#collector = collector;
    this.#out = await openOutput(flags);
    if (flags.scores !== undefined) this.#scores = await openOutput({ out: flags.scores, nats: flags.nats });
    this.#live.set("model", `v${this.#restoredVersion}`);
  }

  execute(t: Tuple): void {
    if (t.getSourceStreamId() === "models") this.#model(t.getValue(0) as Model);
    else this.#scored(t.getValue(0) as Scored);
    this.#collector.ack(t);
  }

  #scored(s: Scored): void {
    if (this.#thisRun++ === 0) this.#started = performance.now();
    tallyScore(this.#tally, s, DRIFT_AT, WINDOW_MS);
    this.#state.put("scored", this.#restoredScored + this.#thisRun);
    this.#scores?.write([s.id, s.version, s.p, s.click]);
    if (s.ts > this.#now) this.#now = s.ts;
    this.#live.set("at", formatTime(this.#now));
    this.#live.count("impressions");
  }

  #model(m: Model): void {
    this.#last = m;
    this.#state.put("model", m);
    this.#out?.write({ type: "model", ...m });
    const w = this.#tally.windows[String(m.from)];
    const acc = w === undefined ? "" : `; accuracy in that window ${(w[1] / w[0]).toFixed(3)}`;
    this.#live.line(
      `model v${m.version} trained on ${m.examples} impressions of ${formatTime(m.from)}-${formatTime(m.to)}${acc}`,
    );
    this.#live.set("model", `v${m.version}`);
  }

  override async finish(): Promise<void> {
    const seconds = this.#thisRun === 0 ? 0 : (performance.now() - this.#started) / 1000;
    const scored = this.#restoredScored + this.#thisRun;
    const q = qualityOf(this.#tally, DRIFT_AT, WINDOW_MS);
    for (const w of q.windows) this.#out?.write({ type: "window", ...w });
    await this.#out?.close();
    await this.#scores?.close();
    this.#live.flush();
    const figures: Record<string, number> = {
      scored,
      scoredThisRun: this.#thisRun,
      restoredScored: this.#restoredScored,
      restoredVersion: this.#restoredVersion,
      version: this.#last?.version ?? 0,
    };
    if (flags.fromStream === undefined) {
      const pct = (x: number | null) => (x === null || Number.isNaN(x) ? "-" : `${(x * 100).toFixed(1)}%`);
      this.#live.line(
        `accuracy before the drift ${pct(q.preDrift)}; at the drift (${formatTime(q.driftAt)}) the old model ` +
          `fell to ${pct(q.justAfterDrift)}; ` +
          (q.recoveredAt === null
            ? "it never recovered"
            : `back within 5 points from the window of ${formatTime(q.recoveredAt)}, ` +
              `${q.recoveryWindows!.toFixed(2)} windows after the drift`),
      );
      Object.assign(figures, {
        preDrift: q.preDrift,
        justAfterDrift: q.justAfterDrift,
        recoveryWindows: q.recoveryWindows ?? -1,
        recovered: q.recoveryWindows !== null && q.recoveryWindows <= 2 ? 1 : 0,
      });
    }
    printSummary({
      app: "online_model",
      events: this.#thisRun,
      seconds,
      eventsPerSec: seconds > 0 ? this.#thisRun / seconds : 0,
      quality: figures,
      windows: q.windows.map((w) => [w.from, w.impressions, w.accuracy]),
      model: this.#last,
    });
  }

  declareOutputFields(_d: OutputFieldsDeclarer): void {}
}

const builder = new TopologyBuilder();
builder.setSpout(
  "impressions",
  () => flags.fromStream !== undefined ? streamSpout(flags.fromStream) : new ImpressionSpout(flags.rate),
);
builder.setBolt("train", () => new TrainBolt()).globalGrouping("impressions");
builder.setBolt("score", () => new ScoreBolt(), flags.scorers)
  .shuffleGrouping("impressions")
  .allGrouping("train", "models");
builder.setBolt("report", () => new ReportBolt())
  .globalGrouping("score")
  .globalGrouping("train", "models");

const state = runState(flags, "online-model");
const handle = await submit("online-model", {
  "topology.reliability.mode": reliabilityMode(flags.mode),
  ...state.config,
}, builder.createTopology());
const summary = await handle.done.catch((e: Error) => {
  writeStderr(`online_model: the run failed: ${e.message}\n`);
  return exit(1);
});
await state.dispose();
if (summary.state !== "FINISHED") exit(1);
