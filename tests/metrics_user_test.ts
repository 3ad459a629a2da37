// User-defined metrics through TopologyContext (counters, gauges,
// histograms, meters, Storm 1 registerMetric), __process-latency,
// __next-tuple-count, and sliding-window percentiles driven by a fake clock.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { parsePrometheus as parse } from "../testing/prometheus.ts";
import {
  BaseBasicBolt,
  BaseRichBolt,
  BaseRichSpout,
  type BasicOutputCollector,
  type Counter,
  CountMetric,
  Fields,
  type Histogram,
  type Meter,
  MultiCountMetric,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../mod.ts";
import { LatencyHistogram, SlidingLatency, SlidingRate, SlidingValues, TaskMetrics } from "../metrics/mod.ts";
import { renderPrometheus, Tracker, userMetricName } from "../tracker/mod.ts";
import { LATENCY_SAMPLE_EVERY } from "../actors/task_actor.ts";

/** Sentences each spout task emits. */
const SENTENCES = 2000;
const SPOUT_TASKS = 2;
const WORDS_PER_SENTENCE = 3;
/** Distinct words: a0..a6, b0..b4, c0..c2. */
const VOCABULARY = 7 + 5 + 3;

class SplitBolt extends BaseBasicBolt {
  words!: Counter;
  lengths!: Histogram;
  override prepare(_conf: TopologyConfig, ctx: TopologyContext) {
    this.words = ctx.registerCounter("words");
    this.lengths = ctx.registerHistogram("sentence-chars");
    ctx.registerMetric("calls", new CountMetric(), 3600);
  }
  execute(t: Tuple, c: BasicOutputCollector) {
    const s = t.getString(0);
    this.lengths.update(s.length);
    for (const w of s.split(" ")) {
      c.emit([w]);
      this.words.inc();
    }
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(new Fields("word"));
  }
}

class CountBolt extends BaseBasicBolt {
  seen = new Map<string, number>();
  inputs!: Counter;
  marks!: Meter;
  byLetter!: MultiCountMetric;
  override prepare(_conf: TopologyConfig, ctx: TopologyContext) {
    this.inputs = ctx.registerCounter("words");
    this.marks = ctx.registerMeter("marks");
    ctx.registerGauge("distinct", () => this.seen.size);
    this.byLetter = ctx.registerMetric("by-letter", new MultiCountMetric(), 3600);
  }
  execute(t: Tuple) {
    const w = t.getString(0);
    this.seen.set(w, (this.seen.get(w) ?? 0) + 1);
    this.inputs.inc();
    this.marks.mark();
    this.byLetter.scope(w[0]!).incr();
  }
  declareOutputFields() {}
}

/** Emits one sentence per nextTuple call, tracked, until it has emitted `SENTENCES`. */
class SentenceSpout extends BaseRichSpout {
  collector!: SpoutOutputCollector;
  n = 0;
  override open(_conf: TopologyConfig, _ctx: TopologyContext, collector: SpoutOutputCollector) {
    this.collector = collector;
  }
  nextTuple() {
    if (this.n === SENTENCES) return this.collector.finish();
    const i = this.n++;
    this.collector.emit([`a${i % 7} b${i % 5} c${i % 3}`], i);
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(new Fields("sentence"));
  }
}

/** Acks each input 5 ms after execute: its process latency is far above its execute latency. */
class LateAckBolt extends BaseRichBolt {
  collector!: OutputCollector;
  override prepare(_conf: TopologyConfig, _ctx: TopologyContext, collector: OutputCollector) {
    this.collector = collector;
  }
  execute(t: Tuple) {
    setTimeout(() => this.collector.ack(t), 5);
  }
  declareOutputFields() {}
}

function topology() {
  const b = new TopologyBuilder();
  b.setSpout("sentences", new SentenceSpout(), SPOUT_TASKS);
  b.setBolt("split", new SplitBolt(), 2).shuffleGrouping("sentences");
  b.setBolt("count", new CountBolt(), 3).fieldsGrouping("split", new Fields("word"));
  b.setBolt("late", new LateAckBolt(), 1).shuffleGrouping("sentences");
  return b.createTopology();
}

test("user metrics: exact counts per task and summed, gauges, histograms, meters; process latency; next-tuple count; Prometheus; tracker JSON", async () => {
  const handle = await submit(
    "um",
    { "topology.reliability.mode": "ATLEAST_ONCE", "topology.max.spout.pending": 500 },
    topology(),
    { handleSignals: false },
  );
  const tracker = new Tracker();
  tracker.add(handle);
  const { stats } = await handle.done;
  const tasks = Object.entries(stats.tasks!);
  const totalWords = SPOUT_TASKS * SENTENCES * WORDS_PER_SENTENCE;

  // Counters: each split task counted exactly what it emitted, each count task what it executed.
  const split = tasks.filter(([, t]) => t.component === "split");
  const count = tasks.filter(([, t]) => t.component === "count");
  assert.is(split.length, 2);
  assert.is(count.length, 3);
  for (const [id, t] of split) assert.is(t.userMetrics?.counters?.words, t.emitted, `split task ${id}`);
  for (const [id, t] of count) {
    assert.is(t.userMetrics?.counters?.words, t.executed, `count task ${id}`);
    assert.is(t.userMetrics?.meters?.marks?.count, t.executed, `meter of count task ${id}`);
    assert.ok(t.userMetrics!.meters!.marks!.ratePerSec > 0, "the meter has a rate");
  }
  assert.is(stats.components.split!.userMetrics?.counters?.words, totalWords);
  assert.is(stats.components.count!.userMetrics?.counters?.words, totalWords);
  assert.is(stats.components.count!.userMetrics?.meters?.marks?.count, totalWords);
  // Gauges: fields grouping gives each word to one count task, so the distinct counts add up to the vocabulary.
  assert.is(stats.components.count!.userMetrics?.gauges?.distinct, VOCABULARY);
  assert.ok(count.every(([, t]) => (t.userMetrics?.gauges?.distinct ?? 0) > 0));
  // Histograms: every sentence is "aX bY cZ" (8 characters).
  const h = stats.components.split!.userMetrics!.histograms!["sentence-chars"]!;
  assert.is(h.count, SPOUT_TASKS * SENTENCES);
  assert.is(h.sum, SPOUT_TASKS * SENTENCES * 8);
  assert.ok(
    h.window !== null && h.window.p50 === 8 && h.window.p99 === 8 && h.window.min === 8 && h.window.max === 8,
    JSON.stringify(h.window),
  );
  // Storm 1 metrics with an hour's bucket have not reported yet; components without user metrics have none.
  assert.is(stats.components.split!.userMetrics?.metrics?.calls, undefined);
  assert.is(stats.components.sentences!.userMetrics, undefined);
  assert.is(stats.components.late!.userMetrics, undefined);

  // __next-tuple-count: at least one call per emit, per spout task.
  const spouts = tasks.filter(([, t]) => t.component === "sentences");
  for (const [id, t] of spouts) {
    assert.ok((t.nextTupleCount ?? 0) >= t.emitted, `spout task ${id}: ${t.nextTupleCount} calls, ${t.emitted} emits`);
  }
  assert.is(stats.components.sentences!.nextTupleCount, spouts.reduce((n, [, t]) => n + t.nextTupleCount!, 0));

  // __process-latency: sampled like execute latency; acking 5 ms later shows.
  const late = stats.components.late!;
  assert.ok(late.processLatency && late.executeLatency, "late has both latencies");
  assert.ok(
    Math.abs(late.processLatency!.count - SPOUT_TASKS * SENTENCES / LATENCY_SAMPLE_EVERY) <= 3,
    `${late.processLatency!.count} samples`,
  );
  assert.ok(late.processLatency!.p50Ms >= 4, `process p50 ${late.processLatency!.p50Ms} ms`);
  assert.ok(late.processLatency!.p50Ms > late.executeLatency!.p50Ms);
  const cnt = stats.components.count!;
  assert.ok(cnt.processLatency !== null && cnt.processLatency !== undefined, "a basic bolt has process latency");
  // Basic bolts are acked right after execute: process latency is about execute latency, never far below.
  assert.ok(
    cnt.processLatency!.p50Ms >= cnt.executeLatency!.p50Ms * 0.5,
    `${cnt.processLatency!.p50Ms} vs ${cnt.executeLatency!.p50Ms}`,
  );
  assert.is(
    cnt.allTime?.processLatency?.count,
    cnt.processLatency!.count,
    "a short run: the window holds the whole run",
  );
  assert.is(stats.latencyWindowMs, 60_000);

  // Prometheus: user series with component, task and container labels; the new built-in ones.
  const text = renderPrometheus(stats, { container: "0" });
  const m = parse(text);
  for (const [id, t] of split) {
    assert.is(m.get(`ardea_user_words{topology="um",component="split",task="${id}",container="0"}`), t.emitted);
    assert.is(
      m.get(`ardea_user_sentence_chars{topology="um",component="split",task="${id}",container="0",quantile="0.99"}`),
      8,
    );
  }
  for (const [id, t] of count) {
    assert.is(
      m.get(`ardea_user_distinct{topology="um",component="count",task="${id}",container="0"}`),
      t.userMetrics!.gauges!.distinct,
    );
    assert.is(m.get(`ardea_user_marks{topology="um",component="count",task="${id}",container="0"}`), t.executed);
  }
  assert.match(text, /^# TYPE ardea_user_words counter$/m);
  assert.match(text, /^# TYPE ardea_user_distinct gauge$/m);
  assert.match(text, /^# TYPE ardea_user_sentence_chars summary$/m);
  assert.match(text, /^# TYPE ardea_user_marks_rate gauge$/m);
  assert.is(
    m.get(`ardea_process_latency_seconds_count{topology="um",component="late",container="0"}`),
    late.allTime!.processLatency!.count,
  );
  assert.ok(
    m.get(`ardea_process_latency_seconds{topology="um",component="late",container="0",quantile="0.5"}`)! >= 0.004,
  );
  assert.is(
    m.get(`ardea_next_tuple_count{topology="um",component="sentences",container="0"}`),
    stats.components.sentences!.nextTupleCount,
  );
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]);
  assert.is(new Set(types).size, types.length, "each metric is declared once");

  // The tracker's REST JSON carries them per component and per task.
  const res = await tracker.handle(new Request("http://127.0.0.1/api/v1/topologies/um/metrics"));
  const body = await res.json();
  assert.is(body.components.split.userMetrics.counters.words, totalWords);
  assert.is(body.components.late.processLatency.count, late.processLatency!.count);
  assert.is(body.tasks[split[0]![0]].userMetrics.counters.words, split[0]![1].emitted);
  assert.is(typeof body.tasks[spouts[0]![0]].nextTupleCount, "number");
  const prom = await (await tracker.handle(new Request("http://127.0.0.1/metrics"))).text();
  assert.match(prom, /^ardea_user_words\{topology="um",component="split",task="\d+",container="0"\} \d+$/m);
  assert.match(
    prom,
    /^ardea_process_latency_seconds\{topology="um",component="late",container="0",quantile="0\.99"\} /m,
  );
});

test("registering: same name returns the same metric, another kind is an error, no registry throws", async () => {
  const m = new TaskMetrics();
  const a = m.counter("x");
  assert.is(m.counter("x"), a);
  a.inc(3);
  a.dec();
  assert.is(a.getCount(), 2);
  assert.throws(() => m.meter("x"), /already registered as a counter/);
  assert.throws(() => m.counter(""), /non-empty/);
  assert.throws(() => m.metric("bad", new CountMetric(), 0), /positive/);
  m.gauge("g", { getValue: () => 7 });
  m.gauge("nan", () => "seven");
  m.gauge("boom", () => {
    throw new Error("gauge failed");
  });
  const s = m.snapshot(0)!;
  assert.equal(s.counters, { x: 2 });
  assert.equal(s.gauges, { g: 7 });
  assert.is(new TaskMetrics().snapshot(0), undefined);
  const { TopologyContext } = await import("../mod.ts");
  const ctx = new TopologyContext(topology(), "t", 1);
  assert.throws(() => ctx.registerCounter("x"), /outside the engine/);
  assert.is(userMetricName("cache-hits.ok/1"), "ardea_user_cache_hits_ok_1");
});

test("Storm 1 metrics report getValueAndReset once per bucket (fake clock)", () => {
  const m = new TaskMetrics({ startMs: 0 });
  const c = m.metric("emits", new CountMetric(), 10);
  const multi = m.metric("langs", new MultiCountMetric(), 10);
  c.incrBy(5);
  multi.scope("en").incr();
  multi.scope("en").incr();
  multi.scope("fr").incr();
  assert.is(m.snapshot(5_000)!.metrics!.emits, undefined, "no bucket has ended");
  assert.is(m.snapshot(10_000)!.metrics!.emits, 5);
  assert.equal(m.snapshot(10_000)!.metrics!.langs, { en: 2, fr: 1 });
  c.incr();
  c.incr();
  assert.is(m.snapshot(15_000)!.metrics!.emits, 5, "the last complete bucket stays until the next ends");
  assert.is(m.snapshot(20_000)!.metrics!.emits, 2);
  assert.equal(m.snapshot(20_000)!.metrics!.langs, { en: 0, fr: 0 });
});

test("meters: rate over the window (fake clock)", () => {
  const m = new TaskMetrics({ startMs: 0 });
  const meter = m.meter("hits");
  for (let t = 0; t < 60; t++) {
    meter.mark(10);
    m.tick((t + 1) * 1000);
  }
  const s = m.snapshot(60_000)!.meters!.hits!;
  assert.is(s.count, 600);
  assert.ok(Math.abs(s.ratePerSec - 10) < 0.01, `${s.ratePerSec}/s`);
  // Quiet for two windows: the rate falls to 0; the count stays.
  for (let t = 61; t <= 180; t++) m.tick(t * 1000);
  assert.is(m.snapshot(180_000)!.meters!.hits!.ratePerSec, 0);
  assert.is(m.snapshot(180_000)!.meters!.hits!.count, 600);
  const r = new SlidingRate({ startMs: 0 });
  assert.is(r.perSecond(0, 0), 0);
});

test("sliding window: percentiles forget samples older than the window; the run total keeps them (fake clock)", () => {
  const l = new SlidingLatency({ windowMs: 60_000, slots: 6, startMs: 0 });
  for (let i = 0; i < 100; i++) l.record(100); // 100 ms, at t = 0
  l.tick(30_000);
  assert.is(l.window()!.count, 100);
  assert.ok(Math.abs(l.window()!.p99Ms - 100) <= 1, "1 % precision");
  for (let i = 0; i < 100; i++) l.record(1); // 1 ms, at t = 30 s
  l.tick(45_000);
  assert.is(l.window()!.count, 200);
  assert.ok(l.window()!.p99Ms >= 99, "the old slow samples still count");
  l.tick(65_000); // the slot of t = 0..10 s leaves the window
  const w = l.window()!;
  assert.is(w.count, 100);
  assert.ok(w.p99Ms <= 1.01, `recent p99 ${w.p99Ms} ms`);
  assert.is(l.total()!.count, 200);
  assert.equal(l.total(), { count: 200, sumMs: 10_100, meanMs: 50.5, maxMs: 100 }, "the run's totals keep them");
  l.tick(200_000);
  assert.is(l.window(), null, "nothing recent");
  assert.is(l.total()!.count, 200);
  assert.is(l.windowMs, 60_000);
  // Recording into `current` (what the actors do) is recording into the window, until a tick moves on.
  const cur = l.current;
  cur.record(3);
  assert.is(l.window()!.count, 1);
  l.tick(210_000);
  assert.ok(l.current !== cur, "a new interval");
  assert.is(l.window()!.count, 1, "the previous interval is still in the window");
  l.tick(280_000);
  assert.is(l.window(), null);
  assert.is(l.total()!.count, 201);
  // A jump of many windows at once and values recorded after it.
  l.record(7);
  l.tick(280_500);
  assert.is(l.window()!.count, 1);
  const v = new SlidingValues({ windowMs: 10_000, slots: 2, startMs: 0 });
  v.record(-5);
  v.record(3.6);
  assert.equal([v.window()!.min, v.window()!.max], [0, 4]);
  v.tick(5_000);
  assert.is(v.window()!.count, 2);
  v.tick(10_000);
  assert.is(v.window(), null);
});

test("percentiles never pass the maximum (a bucket's top may), merged or not", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 300; k++) {
    const hs = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
    for (const h of hs) for (let i = 0; i < 10 + (k % 30); i++) h.record(rand() ** 3 * (k % 7 === 0 ? 50 : 0.5));
    for (const l of [LatencyHistogram.merged(hs)!, hs[0]!.summary()!]) {
      assert.ok(l.p50Ms <= l.p99Ms && l.p99Ms <= l.p999Ms && l.p999Ms <= l.maxMs, JSON.stringify(l));
    }
    const v = new SlidingValues();
    for (let i = 0; i < 20; i++) v.record(rand() * 10_000);
    const w = v.window()!;
    assert.ok(w.min <= w.p50 && w.p50 <= w.p99 && w.p99 <= w.p999 && w.p999 <= w.max, JSON.stringify(w));
  }
});

test.run();
