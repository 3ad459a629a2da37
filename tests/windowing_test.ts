// Windowed bolts: count and time windows (tumbling, sliding) through the
// rich-bolt face with a fake collector and a manual clock (exact, fast);
// event time with out-of-order and late tuples; timers; async execute;
// validation; completeTopology under ATLEAST_ONCE; the RollingTopWords example.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import dayjs from "dayjs";
import durationPlugin from "dayjs/plugin/duration.js";
import {
  BaseWindowedBolt,
  completeTopology,
  Count,
  Duration,
  InvalidTopologyError,
  type IRichBolt,
  type KeyValueState,
  manualClock,
  type OutputCollector,
  type OutputFieldsDeclarer,
  parseConfig,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
  type TupleWindow,
} from "../mod.ts";
import { Fields } from "../topology/fields.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { savedWindows, tuplesHeld, WindowedBoltExecutor, WINDOWS_STATE_KEY } from "../topology/windowing/mod.ts";
import { Watermarks } from "../topology/windowing/watermarks.ts";
import { State } from "../state/keyed_state.ts";
import { ardeaRoot, readTextFile, resolvePath, scriptCommand, spawnProcess } from "../runtime/mod.ts";

dayjs.extend(durationPlugin);

// ---------------------------------------------------------------- harness

interface Seen {
  all: number[];
  fresh: number[];
  expired: number[];
  start: number;
  end: number;
}

/** Records every window (by the tuples' "n") and emits [sum, size]. */
class Recorder extends BaseWindowedBolt {
  windows: Seen[] = [];
  collector!: OutputCollector;
  finished = 0;
  override prepare(_c: TopologyConfig, _x: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }
  execute(w: TupleWindow): void {
    const ns = (ts: Tuple[]) => ts.map((t) => t.getIntegerByField("n"));
    this.windows.push({
      all: ns(w.get()),
      fresh: ns(w.getNew()),
      expired: ns(w.getExpired()),
      start: w.getStartTimestamp(),
      end: w.getEndTimestamp(),
    });
    const all = ns(w.get());
    this.collector.emit([all.reduce((s, n) => s + n, 0), all.length]);
  }
  override finish(): void {
    this.finished++;
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["sum", "size"]);
  }
}

const INFO = new StreamInfo("src", "default", new Fields(["n", "ts"]), false);
/** A spout "src" emitting [n, ts] (on every test's input stream) and a windowed bolt "w" behind it. */
const SOURCE_TOPOLOGY = (() => {
  const b = new TopologyBuilder();
  b.setSpout(
    "src",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["n", "ts"]) }),
  );
  b.setBolt("w", new Recorder().withTumblingWindow(Count.of(2))).shuffleGrouping("src");
  return b.createTopology();
})();
const tuple = (n: number, ts = 0) => new TupleImpl([n, ts], INFO, 1);

interface Emit {
  stream: string;
  anchors: number[];
  values: unknown[];
}

/**
 * Runs `bolt` behind its executor (as setBolt does), prepared with a
 * collector that records emits (with anchors) and acks; `x` is what the
 * engine would call.
 */
function harness(bolt: BaseWindowedBolt, conf: Record<string, unknown> = {}, state?: KeyValueState) {
  const emits: Emit[] = [];
  const acked: number[] = [];
  const errors: unknown[] = [];
  const anchorsOf = (a: unknown): number[] =>
    a === null || a === undefined ? [] : (Array.isArray(a) ? a : [a]).map((t: Tuple) => t.getIntegerByField("n"));
  const collector: OutputCollector = {
    emit(a: unknown, b?: unknown, c?: unknown) {
      if (c !== undefined) emits.push({ stream: a as string, anchors: anchorsOf(b), values: c as unknown[] });
      else if (b !== undefined) {
        emits.push(
          typeof a === "string"
            ? { stream: a, anchors: [], values: b as unknown[] }
            : { stream: "default", anchors: anchorsOf(a), values: b as unknown[] },
        );
      } else emits.push({ stream: "default", anchors: [], values: a as unknown[] });
    },
    emitDirect() {
      throw new Error("not used");
    },
    ack(t: Tuple) {
      const x = t as TupleImpl;
      if (x.state === 1) return;
      x.state = 1;
      acked.push(t.getIntegerByField("n"));
    },
    fail() {
      throw new Error("not used");
    },
    resetTimeout() {},
    reportError(e: unknown) {
      errors.push(e);
    },
  } as OutputCollector;
  const context = {
    getThisComponentId: () => "w",
    getThisSources: () => new Map([["src:default", "shuffle"]]),
    topology: SOURCE_TOPOLOGY,
  } as unknown as TopologyContext;
  const x = new WindowedBoltExecutor(bolt);
  if (state !== undefined) x.initState(state);
  x.prepare(parseConfig(conf), context, collector);
  return { x, emits, acked, errors };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

// ---------------------------------------------------------------- count windows

test("count tumbling: windows of 10, eager acks, anchors, the partial window at finish", async () => {
  const b = new Recorder().withTumblingWindow(Count.of(10));
  const h = harness(b);
  for (let i = 0; i < 25; i++) await h.x.execute(tuple(i));
  assert.equal(b.windows.map((w) => w.all), [range(0, 10), range(10, 20)]);
  assert.equal(b.windows[1]!.expired, range(0, 10), "a tumbling window's expired tuples are the previous window's");
  assert.equal(h.acked, range(0, 20), "tuples are acked as soon as they leave their last window");
  assert.equal(h.emits[0], { stream: "default", anchors: range(0, 10), values: [45, 10] });
  await h.x.finish();
  assert.equal(b.windows.map((w) => w.all), [range(0, 10), range(10, 20), range(20, 25)]);
  assert.equal(h.acked, range(0, 25));
  assert.is(b.finished, 1, "the subclass's finish runs after the flush");
  h.x.cleanup();
});

test("count sliding: length 4, slide 2; new and expired tuples; the tail drains at finish", async () => {
  const b = new Recorder().withWindow({ count: 4 }, Count.of(2));
  const h = harness(b);
  for (let i = 0; i < 7; i++) await h.x.execute(tuple(i));
  assert.equal(b.windows.map((w) => w.all), [[0, 1], [0, 1, 2, 3], [2, 3, 4, 5]]);
  assert.equal(b.windows.map((w) => w.fresh), [[0, 1], [2, 3], [4, 5]]);
  assert.equal(b.windows.map((w) => w.expired), [[], [], [0, 1]]);
  assert.equal(h.acked, [0, 1, 2, 3]);
  await h.x.finish();
  assert.equal(b.windows.slice(3).map((w) => w.all), [[4, 5, 6], [6]]);
  assert.equal(h.acked, range(0, 7));
  assert.equal(h.emits.map((e) => e.values[0]), [1, 6, 14, 15, 6]);
});

test("withWindow(Count) slides by one tuple by default", async () => {
  const b = new Recorder().withWindow(Count.of(3));
  const h = harness(b);
  for (let i = 0; i < 4; i++) await h.x.execute(tuple(i));
  assert.equal(b.windows.map((w) => w.all), [[0], [0, 1], [0, 1, 2], [1, 2, 3]]);
});

// ---------------------------------------------------------------- time windows

test("time tumbling on a manual clock: [start, end) windows fire as the clock passes their end", async () => {
  const clock = manualClock(0);
  const b = new Recorder().withTumblingWindow(Duration.seconds(1)).withClock(clock);
  const h = harness(b);
  for (const t of [100, 500, 999]) {
    clock.set(t);
    await h.x.execute(tuple(t));
  }
  assert.is(b.windows.length, 0);
  clock.set(1000);
  assert.equal(b.windows, [{ all: [100, 500, 999], fresh: [100, 500, 999], expired: [], start: 0, end: 1000 }]);
  assert.equal(h.acked, [100, 500, 999]);
  clock.set(1500);
  await h.x.execute(tuple(1500));
  clock.set(3100); // arrives after [1000, 2000) and [2000, 3000) ended: the first fires, the empty one is skipped
  await h.x.execute(tuple(3100));
  assert.equal(b.windows.slice(1).map((w) => [w.all, w.start, w.end]), [[[1500], 1000, 2000]]);
  await h.x.finish();
  assert.equal(b.windows.slice(2).map((w) => [w.all, w.start, w.end]), [[[3100], 3000, 4000]]);
  assert.equal(h.acked, [100, 500, 999, 1500, 3100]);
});

test("time sliding (3 s every 1 s) with a dayjs duration; a tuple is acked after its last window", async () => {
  const clock = manualClock(0);
  const b = new Recorder().withWindow(dayjs.duration(3, "seconds"), 1000).withClock(clock);
  const h = harness(b);
  for (const t of [500, 1500, 2500, 3500]) {
    clock.set(t);
    await h.x.execute(tuple(t));
  }
  clock.set(4000);
  assert.equal(b.windows.map((w) => [w.start, w.end, w.all]), [
    [-2000, 1000, [500]],
    [-1000, 2000, [500, 1500]],
    [0, 3000, [500, 1500, 2500]],
    [1000, 4000, [1500, 2500, 3500]],
  ]);
  assert.equal(b.windows[3]!.expired, [500]);
  assert.equal(h.acked, [500, 1500]);
  await h.x.finish();
  assert.equal(b.windows.slice(4).map((w) => w.all), [[2500, 3500], [3500]]);
  assert.equal(h.acked, [500, 1500, 2500, 3500]);
});

test("processing time on real timers: windows fire without further input", async () => {
  const b = new Recorder().withTumblingWindow(Duration.of(40));
  const h = harness(b);
  for (let i = 0; i < 5; i++) await h.x.execute(tuple(i));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(b.windows.flatMap((w) => w.all), range(0, 5));
  assert.equal(h.acked.length, 5);
  await h.x.finish();
});

// ---------------------------------------------------------------- event time

test("event time: out-of-order tuples sorted into windows; late ones on the late stream and acked", async () => {
  const b = new Recorder().withTumblingWindow(Duration.seconds(1)).withTimestampField("ts").withLag(500)
    .withWatermarkInterval(0).withLateTupleStream("late");
  const h = harness(b);
  const send = (n: number) => h.x.execute(tuple(n, n));
  for (const ts of [100, 900, 400]) await send(ts);
  assert.is(b.windows.length, 0, "the watermark (400) has not passed the first window's end");
  await send(1600); // watermark 1100
  assert.equal(b.windows.map((w) => [w.all, w.start, w.end]), [[[100, 400, 900], 0, 1000]]);
  await send(300); // late: older than the watermark
  await send(1200);
  await send(1050); // late too: the watermark is 1100
  await send(2700); // watermark 2200
  assert.equal(b.windows.slice(1).map((w) => w.all), [[1200, 1600]]);
  const late = h.emits.filter((e) => e.stream === "late");
  assert.equal(late, [
    { stream: "late", anchors: [300], values: [[300, 300], 300, "src", "default"] },
    { stream: "late", anchors: [1050], values: [[1050, 1050], 1050, "src", "default"] },
  ]);
  assert.ok(h.acked.includes(300) && h.acked.includes(1050), "late tuples are acked, not replayed");
  await h.x.finish();
  assert.equal(b.windows.slice(2).map((w) => w.all), [[2700]]);
  assert.equal([...h.acked].sort((x, y) => x - y), [100, 300, 400, 900, 1050, 1200, 1600, 2700]);
});

test("event time: the watermark moves on its interval of the clock", async () => {
  const clock = manualClock(0);
  const b = new Recorder().withTumblingWindow(1000).withTimestampField("ts").withWatermarkInterval(Duration.seconds(1))
    .withClock(clock);
  const h = harness(b);
  for (const ts of [500, 1500, 2500]) await h.x.execute(tuple(ts, ts));
  assert.is(b.windows.length, 0, "the first watermark (500) came with the first tuple");
  clock.advance(1000);
  assert.equal(b.windows.map((w) => w.all), [[500], [1500]]);
});

test("event time with count windows: counted in timestamp order", async () => {
  const b = new Recorder().withTumblingWindow(Count.of(2)).withTimestampField("ts").withLag(3).withWatermarkInterval(0);
  const h = harness(b);
  for (const ts of [3, 1, 2, 6, 5, 9]) await h.x.execute(tuple(ts, ts));
  assert.equal(b.windows.map((w) => w.all), [[1, 2], [3, 5]]);
  await h.x.finish();
  assert.equal(b.windows.map((w) => w.all), [[1, 2], [3, 5], [6, 9]]);
});

// ---------------------------------------------------------------- async, validation

test("an async execute holds the next tuples back until it resolves", async () => {
  const order: string[] = [];
  class Slow extends Recorder {
    override async execute(w: TupleWindow): Promise<void> {
      order.push(`start ${w.get().length}`);
      await new Promise((r) => setTimeout(r, 10));
      super.execute(w);
      order.push("end");
    }
  }
  const b = new Slow().withTumblingWindow(Count.of(2));
  const h = harness(b);
  const r1 = h.x.execute(tuple(0));
  assert.is(r1, undefined);
  const r2 = h.x.execute(tuple(1));
  assert.instance(r2, Promise);
  await r2;
  await h.x.execute(tuple(2));
  await h.x.execute(tuple(3));
  await h.x.finish();
  assert.equal(order, ["start 2", "end", "start 2", "end"]);
  assert.equal(h.acked, [0, 1, 2, 3]);
  assert.equal(h.emits.map((e) => e.anchors), [[0, 1], [2, 3]]);
});

test("validation: no window, mixed kinds, a late stream without event time, a window beyond the timeout", () => {
  const b = new TopologyBuilder();
  b.setSpout(
    "s",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["n", "ts"]) }),
  );
  b.setBolt("w", new Recorder() as unknown as IRichBolt).shuffleGrouping("s");
  assert.throws(
    () => b.createTopology(),
    (e: unknown) => e instanceof InvalidTopologyError && /has no window/.test(e.message),
  );
  assert.throws(() => new Recorder().withWindow(Count.of(3), Duration.seconds(1)), /both be counts or both durations/);
  assert.throws(() => new Recorder().withWindow(Duration.seconds(3)), /sliding interval that is a duration/);
  assert.throws(() => new Recorder().withWindow(Count.of(0)), /positive integer/);
  const b2 = new TopologyBuilder();
  b2.setSpout(
    "s",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["n", "ts"]) }),
  );
  b2.setBolt("w", new Recorder().withTumblingWindow(Count.of(2)).withLateTupleStream("late")).shuffleGrouping("s");
  assert.throws(() => b2.createTopology(), /late tuple stream needs event time/);
  assert.throws(
    () => harness(new Recorder().withTumblingWindow(Duration.seconds(20)), { "topology.message.timeout.secs": 30 }),
    /exceeds topology.message.timeout.secs/,
  );
});

// ---------------------------------------------------------------- the executor

test("setBolt runs each task of a windowed bolt (instance, factory or class) behind its executor; execute is the bolt's own", () => {
  class Tumbling extends Recorder {
    constructor() {
      super();
      this.withTumblingWindow(Count.of(2));
    }
  }
  const b = new TopologyBuilder();
  b.setSpout(
    "src",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["n", "ts"]) }),
  );
  const instance = new Recorder().withTumblingWindow(Count.of(2));
  b.setBolt("instance", instance, 2).shuffleGrouping("src");
  b.setBolt("factory", () => new Recorder().withTumblingWindow(Count.of(2))).shuffleGrouping("src");
  b.setBolt("class", Tumbling).shuffleGrouping("src");
  const topology = b.createTopology();
  for (const id of ["instance", "factory", "class"]) {
    const task = topology.components.get(id)!.create();
    assert.instance(task, WindowedBoltExecutor, id);
    assert.instance((task as WindowedBoltExecutor).bolt, Recorder, id);
  }
  const tasks = [1, 2].map(() => topology.components.get("instance")!.create() as WindowedBoltExecutor);
  assert.ok(
    tasks[0]!.bolt !== tasks[1]!.bolt && tasks[0]!.bolt !== instance,
    "each task gets its own copy of the instance",
  );
  assert.not.ok(Object.hasOwn(instance, "execute"), "nothing is installed on the bolt");
  assert.is(instance.execute, Recorder.prototype.execute);
  assert.equal(topology.components.get("instance")!.streams.get("default")!.fields.toList(), ["sum", "size"]);
});

/** The windows of a run over `ns` (n = ts) cut after `cut` tuples: snapshot, a new executor, restore, the rest. */
async function resumed(make: () => Recorder, ns: number[], cut: number) {
  const first = make();
  const h1 = harness(first);
  for (const n of ns.slice(0, cut)) await h1.x.execute(tuple(n, n));
  const snap = h1.x.snapshot()!;
  h1.x.cleanup();
  const second = make();
  const h2 = harness(second);
  h2.x.restore(snap);
  for (const n of ns.slice(cut)) await h2.x.execute(tuple(n, n));
  await h2.x.finish();
  return {
    windows: [...first.windows, ...second.windows],
    acked: [...h1.acked, ...h2.acked],
    held: tuplesHeld(snap),
    emits: [...h1.emits, ...h2.emits],
  };
}

async function uninterrupted(make: () => Recorder, ns: number[]) {
  const b = make();
  const h = harness(b);
  for (const n of ns) await h.x.execute(tuple(n, n));
  await h.x.finish();
  return { windows: b.windows, acked: h.acked, emits: h.emits };
}

test("snapshot and restore: a new executor resumes count windows exactly", async () => {
  const make = () => new Recorder().withWindow(Count.of(4), Count.of(2)).withClock(() => 7); // a fixed arrival time
  const ns = range(0, 9);
  const whole = await uninterrupted(make, ns);
  const cut = await resumed(make, ns, 5);
  assert.is(cut.held, 3, "tuples 2, 3 and 4 were in windows at the cut");
  assert.equal(cut.windows, whole.windows);
  assert.equal(cut.acked, whole.acked);
  assert.equal(cut.acked, range(0, 9), "each tuple acked once");
});

test("snapshot and restore: event time keeps the watermark, the tuples waiting for it and the late count", async () => {
  const make = () =>
    new Recorder().withTumblingWindow(1000).withTimestampField("ts").withLag(500).withWatermarkInterval(0)
      .withLateTupleStream("late");
  const ns = [100, 900, 400, 1600, 300, 1200, 2700, 1050, 3900, 2000, 4100];
  const whole = await uninterrupted(make, ns);
  for (const cut of [3, 5, 8]) {
    const r = await resumed(make, ns, cut);
    assert.equal(r.windows, whole.windows, `cut after ${cut}`);
    assert.equal(r.emits, whole.emits, `cut after ${cut}: window sums and late tuples`);
    assert.equal([...r.acked].sort((a, b) => a - b), [...whole.acked].sort((a, b) => a - b));
  }
  assert.ok(whole.emits.some((e) => e.stream === "late"), "some tuples were late");
});

test("EFFECTIVELY_ONCE face: preSave puts the windows in the task's state, initState + prepare take them back; the bolt's own state never shows them", async () => {
  class Own extends Recorder {
    own!: KeyValueState;
    initState(s: KeyValueState) {
      this.own = s;
    }
  }
  const state = new State<unknown, unknown>();
  const b1 = new Own().withTumblingWindow(Count.of(3));
  const h1 = harness(b1, {}, state);
  for (let i = 0; i < 4; i++) await h1.x.execute(tuple(i));
  b1.own.put("k", 1);
  h1.x.preSave(1);
  assert.is(tuplesHeld(savedWindows(state)!), 1, "tuple 3 is in the windows");
  assert.not.ok(b1.own.has(WINDOWS_STATE_KEY));
  assert.equal([...b1.own.entries()], [["k", 1]]);
  assert.is(b1.own.size, 1);
  assert.throws(() => b1.own.put(WINDOWS_STATE_KEY, 0), /reserved for the windows/);
  const b2 = new Own().withTumblingWindow(Count.of(3));
  const h2 = harness(b2, {}, state);
  for (let i = 4; i < 6; i++) await h2.x.execute(tuple(i));
  assert.equal(b2.windows.map((w) => w.all), [[3, 4, 5]]);
  assert.equal(h2.acked, [3, 4, 5]);
  state.put(WINDOWS_STATE_KEY, { v: 2 });
  assert.throws(() => harness(new Own().withTumblingWindow(Count.of(3)), {}, state), /not a version 1 snapshot/);
});

// ---------------------------------------------------------------- end to end

test("completeTopology, ATLEAST_ONCE: count windows, every spout tuple acked, none failed or timed out", async () => {
  const b = new TopologyBuilder();
  b.setSpout(
    "numbers",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["n", "ts"]) }),
  );
  b.setBolt("w", new Recorder().withTumblingWindow(Count.of(10))).globalGrouping("numbers");
  const r = await completeTopology(b.createTopology(), {
    mockedSources: { numbers: range(0, 95).map((n) => [n, 0]) },
    config: { "topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": 10 },
  });
  assert.is(r.summary.state, "FINISHED");
  assert.equal(r.emitted("w"), [...range(0, 9).map((k) => [100 * k + 45, 10]), [460, 5]]);
  const st = r.summary.stats;
  assert.is(st.acked, 95);
  assert.is(st.failed, 0);
  assert.is(st.timedOut, 0);
  assert.is(st.pending, 0);
});

test("completeTopology, ATLEAST_ONCE: event-time sliding windows, a late stream with a subscriber", async () => {
  const b = new TopologyBuilder();
  b.setSpout(
    "readings",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["n", "ts"]) }),
  );
  b.setBolt(
    "w",
    new Recorder().withWindow(Duration.seconds(2), Duration.seconds(1)).withTimestampField("ts").withLag(1000)
      .withWatermarkInterval(0).withLateTupleStream("late"),
  ).globalGrouping("readings");
  b.setBolt("lateSink", () => {
    let collector: OutputCollector;
    return {
      prepare(_c: TopologyConfig, _x: TopologyContext, c: OutputCollector) {
        collector = c;
      },
      execute(t: Tuple) {
        collector.emit(t, [t.getValueByField("timestamp")]);
        collector.ack(t);
      },
      declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["ts"]),
    } as IRichBolt;
  }).shuffleGrouping("w", "late");
  const times = [100, 1200, 800, 2500, 50, 3100, 2900, 4000];
  const r = await completeTopology(b.createTopology(), {
    mockedSources: { readings: times.map((t) => [t, t]) },
    config: { "topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": 10 },
  });
  // windows of 2 s every 1 s, lag 1 s; 50 arrives when the watermark is 1500: late.
  assert.equal(r.emitted("w"), [[900, 2], [2100, 3], [6600, 3], [8500, 3], [7100, 2], [4000, 1]]);
  assert.equal(r.emitted("lateSink"), [[50]]);
  assert.equal(r.emitted("w", "late"), [[[50, 50], 50, "readings", "default"]]);
  const st = r.summary.stats;
  assert.is(st.acked, times.length);
  assert.is(st.failed, 0);
  assert.is(st.timedOut, 0);
});

test("watermarks per sending task: the slowest busy task sets a stream's mark; a silent task stops counting once idle", () => {
  const wm = new Watermarks<string>(10, ["a:s"], new Map([["a:s", [1, 2]]]), 1000, 0);
  wm.track("a:s", 500, 1, 100);
  assert.is(wm.compute(200), -Infinity, "task 2 not heard from yet, not idle yet");
  assert.is(wm.compute(1001), 490, "task 2 never heard from, idle after 1000 ms");
  wm.track("a:s", 300, 2, 1100);
  wm.track("a:s", 900, 1, 1100);
  assert.is(wm.compute(1200), 290, "both busy: the slower one");
  assert.is(wm.compute(2101), 890, "task 2 silent for 1000 ms: idle");
  wm.track("a:s", 950, 2, 2200);
  assert.is(wm.compute(2300), 940, "task 2 back; task 1 silent since 1100: idle");
  wm.track("a:s", 920, 1, 2300);
  assert.is(wm.compute(2400), 910, "both busy again: task 1 is now the slower");
  assert.is(wm.compute(9999), 940, "both idle: the stream's newest");
  const snap = wm.snapshot((x) => x);
  const again = new Watermarks<string>(10, ["a:s"], new Map([["a:s", [1, 2]]]), 1000, 0);
  again.restore(snap, (x) => x, 5000);
  assert.is(again.compute(5100), 910, "restored marks count as heard from at the restore");
});

/** Task i emits timestamps 0..EVENTS-1 (100 a call), task 1 only after `delayMs` of wall time. */
class StaggeredSpout {
  static readonly EVENTS = 5000;
  collector!: SpoutOutputCollector;
  index = 0;
  next = 0;
  openedAt = 0;
  constructor(readonly delayMs: number) {}
  open(_c: TopologyConfig, ctx: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
    this.index = ctx.getThisTaskIndex();
    this.openedAt = Date.now();
  }
  nextTuple(): void {
    if (this.index === 1 && Date.now() - this.openedAt < this.delayMs) return;
    if (this.next >= StaggeredSpout.EVENTS) return this.collector.finish();
    for (let k = 0; k < 100 && this.next < StaggeredSpout.EVENTS; k++, this.next++) {
      this.collector.emit([this.next, this.next]);
    }
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["n", "ts"]);
  }
}

test("event time, two sending tasks, one 1.5 s behind: its tuples hold the watermark back instead of being dropped as late", async () => {
  const sizes: number[] = [];
  let late = 0;
  class Sizes extends BaseWindowedBolt {
    execute(w: TupleWindow): void {
      sizes.push(w.get().length);
    }
    declareOutputFields(): void {}
  }
  const b = new TopologyBuilder();
  b.setSpout("events", () => new StaggeredSpout(1500), 2);
  b.setBolt(
    "w",
    new Sizes().withTumblingWindow(Duration.of(1000)).withTimestampField("ts").withWatermarkInterval(200)
      .withLateTupleStream("late"),
    1,
  ).globalGrouping("events");
  b.setBolt("late", () => ({
    execute() {
      late++;
    },
    declareOutputFields() {},
  } as unknown as IRichBolt), 1).globalGrouping("w", "late");
  const h = await submit("staggered", { "topology.reliability.mode": "ATMOST_ONCE" }, b.createTopology(), {
    handleSignals: false,
  });
  assert.is((await h.done).state, "FINISHED");
  assert.is(late, 0, "no tuple late");
  assert.is(sizes.reduce((a, n) => a + n, 0), 2 * StaggeredSpout.EVENTS);
  assert.equal(sizes, Array.from({ length: StaggeredSpout.EVENTS / 1000 }, () => 2000));
});

test("examples/rolling_top_words.ts runs to its end and prints the top words of each window", async () => {
  const { cmd, args } = scriptCommand("examples/rolling_top_words.ts");
  const lines: string[] = [];
  const errs: string[] = [];
  const child = spawnProcess(cmd, args, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { NO_COLOR: "1" },
    onLine: (l, s) => (s === "stdout" ? lines : errs).push(l),
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const { code } = await child.exited;
  clearTimeout(timer);
  assert.is(code, 0, `${lines.join("\n")}\n${errs.join("\n")}`);
  const windows = lines.filter((l) => l.startsWith("window "));
  assert.match(windows[0]!, /^window 1 \[-2 s, 1 s\): \w+ \(1\)/);
  // The same rankings, computed plainly from the example's text: 3 s windows every 1 s, a word every 250 ms.
  const src = await readTextFile(resolvePath(ardeaRoot(), "examples", "rolling_top_words.ts"));
  const words = src.split("const TEXT = `")[1]!.split("`;")[0]!.toLowerCase().split(/[^a-z]+/).filter((w) =>
    w.length > 3
  );
  const expected: string[] = [];
  for (let end = 1000; end - 3000 <= (words.length - 1) * 250; end += 1000) {
    const c = new Map<string, number>();
    words.forEach((w, k) => {
      if (k * 250 >= end - 3000 && k * 250 < end) c.set(w, (c.get(w) ?? 0) + 1);
    });
    if (c.size === 0) continue;
    const top = [...c].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3).map(([w, n]) => `${w} (${n})`)
      .join(", ");
    expected.push(`window ${expected.length + 1} [${(end - 3000) / 1000} s, ${end / 1000} s): ${top}`);
  }
  assert.equal(windows, expected);
  assert.ok(lines.some((l) => /^done: \d+ windows, \d+ words, all acked$/.test(l)), lines.join("\n"));
});

test.run();
