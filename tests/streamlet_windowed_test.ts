// timeout: 400
// The Streamlet API's windowed pieces (streamlet/windowed.ts): keyGrouping,
// reduceByKeyAndWindowBolt (binary reduce and fold) and joinBolt (each join
// type), first through the windowed bolt executor with a recording
// collector and a manual clock (exact: windows, counts, anchors), then in
// whole topologies (several tasks behind keyGrouping) under ATLEAST_ONCE,
// every result checked against a plain computation.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseStatefulBolt,
  BaseStatefulSpout,
  type BaseWindowedBolt,
  bolt,
  completeTopology,
  type IRichBolt,
  iterableSpout,
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
} from "../mod.ts";
import { Fields } from "../topology/fields.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { WindowedBoltExecutor } from "../topology/windowing/mod.ts";
import { InvalidTopologyError } from "../topology/errors.ts";
import { mulberry32 } from "../testing/random.ts";
import {
  ardeaRoot,
  type ChildHandle,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
} from "../runtime/mod.ts";
import { eventAt } from "../examples/event_windows_data.ts";
import { sleep } from "../testing/wait.ts";
import { ardeaCmd } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";
import { createPackr, createStrictPackr } from "../transport/codec.ts";
import { JoinType, KeyedWindow, KeyValue, Window, WindowConfig } from "../streamlet/types.ts";
import { joinBolt, keyGrouping, reduceByKeyAndWindowBolt } from "../streamlet/windowed.ts";

// ---------------------------------------------------------------- harness

const infos = new Map<string, StreamInfo>();
/** A tuple ["value"] = element from `component`. */
function tuple(element: unknown, component = "src"): TupleImpl {
  let info = infos.get(component);
  if (info === undefined) {
    infos.set(component, info = new StreamInfo(component, "default", new Fields(["value"]), false));
  }
  return new TupleImpl([element], info, 1);
}

/** One output: [key, start, end, count, value] and the elements it is anchored to. */
interface Row {
  key: unknown;
  start: number;
  end: number;
  count: number;
  value: unknown;
  anchors: unknown[];
}

/** Runs `bolt` behind its executor (as setBolt does) with a collector recording emits and acks. */
function harness(bolt: BaseWindowedBolt, sources: string[] = ["src"]) {
  const rows: Row[] = [];
  const acked: unknown[] = [];
  const collector = {
    emit(stream: string, anchors: Tuple[], values: unknown[]) {
      assert.is(stream, "default");
      assert.ok(Array.isArray(anchors), "outputs are emitted with explicit anchors");
      const kv = values[0] as KeyValue<KeyedWindow<unknown>, unknown>;
      assert.instance(kv, KeyValue);
      assert.instance(kv.getKey(), KeyedWindow);
      const w = kv.getKey().getWindow();
      rows.push({
        key: kv.getKey().getKey(),
        start: w.getStartTime(),
        end: w.getEndTime(),
        count: w.getCount(),
        value: kv.getValue(),
        anchors: anchors.map((t) => t.getValue(0)),
      });
    },
    ack(t: Tuple) {
      acked.push(t.getValue(0));
    },
    reportError(e: unknown) {
      throw e;
    },
  } as unknown as OutputCollector;
  const context = {
    getThisComponentId: () => "w",
    getThisSources: () => new Map(sources.map((s) => [`${s}:default`, "custom"])),
  } as unknown as TopologyContext;
  const x = new WindowedBoltExecutor(bolt);
  x.prepare(parseConfig({}), context, collector);
  return { x, rows, acked };
}

const sum = (a: number, b: number) => a + b;
const byRow = (a: unknown, b: unknown) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;
const words = "the cat and the hat and the bat sat on the mat".split(" ");

/** Per key, in first-seen order: [key, elements]. */
function groupBy<E, K>(es: readonly E[], key: (e: E) => K): [K, E[]][] {
  const m = new Map<K, E[]>();
  for (const e of es) {
    const k = key(e);
    m.set(k, [...(m.get(k) ?? []), e]);
  }
  return [...m];
}

// ---------------------------------------------------------------- reduce: count windows

test("reduce, tumbling count windows of 4: a binary reduce per key, the key's count, anchors to the key's tuples", async () => {
  const bolt = reduceByKeyAndWindowBolt<string, string, number>({
    key: (w) => w,
    window: WindowConfig.TumblingCountWindow(4),
    reduce: { kind: "binary", value: (w) => w.length, op: sum },
  });
  const h = harness(bolt);
  for (const w of words) await h.x.execute(tuple(w));
  await h.x.finish();
  const expected: unknown[] = [];
  for (let i = 0; i < words.length; i += 4) {
    for (const [k, es] of groupBy(words.slice(i, i + 4), (w) => w)) {
      expected.push([k, es.length, es.map((w) => w.length).reduce(sum), es]);
    }
  }
  assert.equal(h.rows.map((r) => [r.key, r.count, r.value, r.anchors]), expected);
  assert.is(h.acked.length, words.length, "every tuple acked once its window is gone");
});

test("reduce, sliding count windows (4 every 2): countByKeyAndWindow as a fold (identity 0, +1)", async () => {
  const bolt = reduceByKeyAndWindowBolt<string, string, number>({
    key: (w) => w,
    window: WindowConfig.SlidingCountWindow(4, 2),
    reduce: { kind: "fold", identity: 0, op: (n) => n + 1 },
  });
  const h = harness(bolt);
  for (const w of words) await h.x.execute(tuple(w));
  const beforeFinish = h.rows.length;
  await h.x.finish();
  // Windows end at positions 2, 4, 6, …: [end - 4, end), then the tail at finish.
  const expected: unknown[] = [];
  for (let end = 2; end - 4 < words.length; end += 2) {
    for (const [k, es] of groupBy(words.slice(Math.max(0, end - 4), end), (w) => w)) {
      expected.push([k, es.length, es.length]);
    }
  }
  assert.equal(h.rows.map((r) => [r.key, r.count, r.value]), expected);
  assert.ok(beforeFinish > 0 && beforeFinish < h.rows.length);
});

// ---------------------------------------------------------------- reduce: time windows

test("reduce, tumbling time windows on a manual clock: [start, end) in the KeyedWindow", async () => {
  const clock = manualClock(0);
  const bolt = reduceByKeyAndWindowBolt<{ k: string; n: number }, string, number>({
    key: (e) => e.k,
    window: WindowConfig.TumblingTimeWindow(1000),
    reduce: { kind: "binary", value: (e) => e.n, op: sum },
  }).withClock(clock);
  const h = harness(bolt);
  const at = [[100, "a", 1], [200, "b", 2], [900, "a", 3], [1100, "a", 4], [2500, "b", 5]] as const;
  for (const [t, k, n] of at) {
    clock.set(t);
    await h.x.execute(tuple({ k, n }));
  }
  clock.set(3000);
  assert.equal(h.rows.map((r) => [r.key, r.start, r.end, r.count, r.value]), [
    ["a", 0, 1000, 2, 4],
    ["b", 0, 1000, 1, 2],
    ["a", 1000, 2000, 1, 4],
    ["b", 2000, 3000, 1, 5],
  ]);
  await h.x.finish();
  assert.is(h.rows.length, 4);
});

test("reduce, sliding time windows (2 s every 1 s) on a manual clock", async () => {
  const clock = manualClock(0);
  const bolt = reduceByKeyAndWindowBolt<string, string, number>({
    key: (w) => w,
    window: WindowConfig.SlidingTimeWindow(2000, 1000),
    reduce: { kind: "fold", identity: 0, op: (n) => n + 1 },
  }).withClock(clock);
  const h = harness(bolt);
  for (const [t, w] of [[500, "x"], [1500, "x"], [1600, "y"]] as const) {
    clock.set(t);
    await h.x.execute(tuple(w));
  }
  clock.set(3000);
  assert.equal(h.rows.map((r) => [r.key, r.start, r.end, r.value]), [
    ["x", -1000, 1000, 1],
    ["x", 0, 2000, 2],
    ["y", 0, 2000, 1],
    ["x", 1000, 3000, 1],
    ["y", 1000, 3000, 1],
  ]);
  await h.x.finish();
});

test("reduce, event time: out-of-order elements in their windows, late ones (behind the lag) dropped", async () => {
  type Ev = { k: string; at: number };
  const bolt = reduceByKeyAndWindowBolt<Ev, string, number[]>({
    key: (e) => e.k,
    window: WindowConfig.TumblingTimeWindow(1000).withEventTime((e: Ev) => e.at, 500),
    reduce: { kind: "fold", identity: [], op: (acc, e) => [...acc, e.at] },
  }).withWatermarkInterval(0);
  const h = harness(bolt);
  const evs: Ev[] = [
    { k: "a", at: 100 },
    { k: "a", at: 900 },
    { k: "b", at: 400 },
    { k: "a", at: 1600 }, // watermark 1100: [0, 1000) fires
    { k: "a", at: 300 }, // late
    { k: "b", at: 1200 },
    { k: "b", at: 1050 }, // late: the watermark is 1100
    { k: "a", at: 2700 }, // watermark 2200: [1000, 2000) fires
  ];
  for (const e of evs) await h.x.execute(tuple(e));
  await h.x.finish();
  assert.equal(h.rows.map((r) => [r.key, r.start, r.end, r.count, r.value]), [
    ["a", 0, 1000, 2, [100, 900]],
    ["b", 0, 1000, 1, [400]],
    ["b", 1000, 2000, 1, [1200]], // a window's elements are in event-time order
    ["a", 1000, 2000, 1, [1600]],
    ["a", 2000, 3000, 1, [2700]],
  ]);
  assert.equal(h.acked.length, evs.length, "late elements are acked (dropped), not replayed");
});

// ---------------------------------------------------------------- reduce: keys, identity, edge cases

test('reduce: keys __proto__, constructor, numbers (1 is not "1"), NaN, -0 and structurally equal objects', async () => {
  const keys: unknown[] = [
    "__proto__",
    "constructor",
    1,
    "1",
    "__proto__",
    NaN,
    { a: 1, b: [2] },
    0,
    { b: [2], a: 1 },
    -0,
    "constructor",
    NaN,
    "toString",
    [1, "x"],
    [1, "x"],
    new Set([1, 2]),
    new Set([3]),
    new Set([1, 2]),
  ];
  const bolt = reduceByKeyAndWindowBolt<{ key: unknown }, unknown, number>({
    key: (e) => e.key,
    window: WindowConfig.TumblingCountWindow(100),
    reduce: { kind: "fold", identity: 0, op: (n) => n + 1 },
  });
  const h = harness(bolt);
  for (const key of keys) await h.x.execute(tuple({ key }));
  await h.x.finish();
  assert.equal(h.rows.map((r) => [r.key, r.value]), [
    ["__proto__", 2],
    ["constructor", 2],
    [1, 1],
    ["1", 1],
    [NaN, 2],
    [{ a: 1, b: [2] }, 2],
    [0, 2],
    ["toString", 1],
    [[1, "x"], 2],
    [new Set([1, 2]), 2],
    [new Set([3]), 1],
  ]);
  assert.ok(h.rows.every((r) => r.anchors.length === r.value), "each output anchored to its key's tuples");
});

test("reduce, fold: an object identity is copied per key and window (never shared, never changed)", async () => {
  const identity = { seen: [] as string[] };
  const bolt = reduceByKeyAndWindowBolt<string, string, { seen: string[] }>({
    key: (w) => w[0]!,
    window: WindowConfig.TumblingCountWindow(4),
    reduce: {
      kind: "fold",
      identity,
      op: (acc, w) => {
        acc.seen.push(w);
        return acc;
      },
    },
  });
  const h = harness(bolt);
  for (const w of ["ant", "bee", "asp", "bat", "ape"]) await h.x.execute(tuple(w));
  await h.x.finish();
  assert.equal(h.rows.map((r) => [r.key, r.value]), [
    ["a", { seen: ["ant", "asp"] }],
    ["b", { seen: ["bee", "bat"] }],
    ["a", { seen: ["ape"] }],
  ]);
  assert.equal(identity, { seen: [] }, "the identity itself is untouched");
});

test("reduce: empty input emits nothing; one element gives one result", async () => {
  const make = () =>
    reduceByKeyAndWindowBolt<number, string, number>({
      key: (n) => (n % 2 === 0 ? "even" : "odd"),
      window: WindowConfig.TumblingCountWindow(3),
      reduce: { kind: "binary", value: (n) => n, op: sum },
    });
  const empty = harness(make());
  await empty.x.finish();
  assert.equal(empty.rows, []);
  const one = harness(make());
  await one.x.execute(tuple(7));
  await one.x.finish();
  assert.equal(one.rows.map((r) => [r.key, r.count, r.value, r.anchors]), [["odd", 1, 7, [7]]]);
});

test("errors: a zero-length window (types.ts), a fold identity that cannot be copied, a bad reduce kind", () => {
  assert.throws(
    () => WindowConfig.TumblingCountWindow(0),
    /TumblingCountWindow: the window size must be a whole number of tuples ≥ 1, got 0/,
  );
  assert.throws(
    () => WindowConfig.TumblingTimeWindow(0),
    /TumblingTimeWindow: the window duration must be positive, got 0 ms/,
  );
  assert.throws(
    () => WindowConfig.SlidingTimeWindow(1000, 0),
    /SlidingTimeWindow: the slide interval must be positive/,
  );
  assert.throws(
    () =>
      reduceByKeyAndWindowBolt({
        key: (e: number) => e,
        window: WindowConfig.TumblingCountWindow(2),
        reduce: { kind: "fold", identity: { f: () => 1 }, op: (a) => a },
      }),
    (e: unknown) =>
      e instanceof InvalidTopologyError && /identity is copied per key with structuredClone/.test(e.message),
  );
  assert.throws(
    () =>
      reduceByKeyAndWindowBolt({
        key: (e: number) => e,
        window: WindowConfig.TumblingCountWindow(2),
        reduce: { kind: "sum" } as never,
      }),
    /reduce.kind must be "binary" or "fold"/,
  );
});

test("results cross processes as themselves: KeyValue, KeyedWindow and Window survive data frames and checkpoints", () => {
  const kv = new KeyValue(new KeyedWindow({ w: "a" }, new Window(1, 2, 2)), [2, "x"]);
  for (const packr of [createStrictPackr(), createPackr()]) {
    const [back] = packr.unpack(packr.pack([kv])) as [KeyValue<KeyedWindow<{ w: string }>, unknown>];
    assert.instance(back, KeyValue);
    assert.instance(back.getKey(), KeyedWindow);
    assert.instance(back.getKey().getWindow(), Window);
    assert.equal(back, kv);
    assert.is(back.toString(), kv.toString());
  }
});

// ---------------------------------------------------------------- keyGrouping

test("keyGrouping: equal keys (also from the other side of a join) go to one task; keys spread over tasks", () => {
  const targets = [4, 5, 6, 7];
  const ctx = {} as TopologyContext;
  const g = keyGrouping((e: { k: unknown }) => e.k);
  const other = keyGrouping((k: unknown) => k);
  g.prepare(ctx, { componentId: "a", streamId: "default" }, targets);
  other.prepare(ctx, { componentId: "b", streamId: "default" }, targets);
  const keys: unknown[] = ["__proto__", "constructor", 1, "1", -0, NaN, { a: 1, b: [2] }, [1, "x"], null, undefined];
  for (const k of keys) {
    const [t] = g.chooseTasks(0, [{ k }]);
    assert.ok(targets.includes(t!));
    assert.equal(g.chooseTasks(1, [{ k: structuredClone(k) }]), [t]);
    assert.equal(other.chooseTasks(2, [k]), [t], `both sides choose one task for ${String(k)}`);
  }
  const task = (k: unknown) => g.chooseTasks(0, [{ k }])[0];
  assert.is(task({ b: [2], a: 1 }), task({ a: 1, b: [2] }));
  assert.is(task(0), task(-0));
  assert.is.not(task("__proto__"), task("constructor"), "these two keys happen to hash to different tasks of 4");
  const used = new Set(Array.from({ length: 200 }, (_, i) => g.chooseTasks(0, [{ k: `w${i}` }])[0]));
  assert.equal([...used].sort(), targets, "200 keys reach all 4 tasks");
  assert.throws(() => g.chooseTasks(0, [{ k: () => 1 }]), /keyGrouping: cannot hash the key \(a function\)/);
  g.prepare(ctx, { componentId: "a", streamId: "default" }, [...targets]); // another source task: the same targets
  assert.throws(
    () => g.prepare(ctx, { componentId: "c", streamId: "s" }, [8, 9]),
    /keyGrouping on stream "s" of "c": this grouping already sends to other tasks \(\[4,5,6,7\], not \[8,9\]\); make one keyGrouping per subscribing bolt/,
  );
});

// ---------------------------------------------------------------- join

type L = { k: string; l: number };
type R = { k: string; r: number };
const lefts: L[] = [{ k: "a", l: 1 }, { k: "a", l: 2 }, { k: "b", l: 3 }, { k: "__proto__", l: 4 }];
const rights: R[] = [{ k: "a", r: 10 }, { k: "c", r: 30 }, { k: "__proto__", r: 40 }, { k: "c", r: 31 }];

/** The join of `ls` and `rs` by `type`, computed plainly: [key, [l, r]] in first-seen key order. */
function plainJoin(ls: L[], rs: R[], type: JoinType): [string, [number | null, number | null]][] {
  const keys = [...new Set([...ls, ...rs].map((e) => e.k))];
  const out: [string, [number | null, number | null]][] = [];
  for (const k of keys) {
    const l = ls.filter((e) => e.k === k);
    const r = rs.filter((e) => e.k === k);
    if (l.length > 0 && r.length > 0) l.forEach((x) => r.forEach((y) => out.push([k, [x.l, y.r]])));
    else if (r.length === 0 && (type === "OUTER_LEFT" || type === "OUTER")) {
      l.forEach((x) => out.push([k, [x.l, null]]));
    } else if (l.length === 0 && (type === "OUTER_RIGHT" || type === "OUTER")) {
      r.forEach((y) => out.push([k, [null, y.r]]));
    }
  }
  return out;
}

const joinOf = (type: JoinType, window = WindowConfig.TumblingCountWindow(100)) =>
  joinBolt<L, R, string, [number | null, number | null]>({
    left: "L",
    right: "R",
    leftKey: (e) => e.k,
    rightKey: (e) => e.k,
    window,
    type,
    join: (l, r) => [l?.l ?? null, r?.r ?? null],
  });

for (const type of Object.values(JoinType)) {
  test(`join ${type}: matched pairs, unmatched keys on either side as the type says`, async () => {
    const h = harness(joinOf(type), ["L", "R"]);
    // interleaved: left, right, left, …
    for (let i = 0; i < 4; i++) {
      await h.x.execute(tuple(lefts[i], "L"));
      await h.x.execute(tuple(rights[i], "R"));
    }
    await h.x.finish();
    assert.equal(h.rows.map((r) => [r.key, r.value]).sort(byRow), plainJoin(lefts, rights, type).sort(byRow));
    // A key's outputs carry the count of its elements on both sides and are anchored to them.
    for (const r of h.rows) {
      const mine = [...lefts, ...rights].filter((e) => e.k === r.key);
      assert.is(r.count, mine.length);
      assert.equal(new Set(r.anchors), new Set(mine));
    }
  });
}

test("join: per window (tumbling count windows of 4); empty input emits nothing", async () => {
  const rs = [...rights].reverse(); // so that no key of a window matches: each window joins differently
  const h = harness(joinOf("OUTER"), ["L", "R"]);
  for (let i = 0; i < 4; i++) {
    await h.x.execute(tuple(lefts[i], "L"));
    await h.x.execute(tuple(rs[i], "R"));
  }
  await h.x.finish();
  const first = plainJoin(lefts.slice(0, 2), rs.slice(0, 2), "OUTER");
  const second = plainJoin(lefts.slice(2), rs.slice(2), "OUTER");
  const bolt = joinOf("OUTER", WindowConfig.TumblingCountWindow(4));
  const w = harness(bolt, ["L", "R"]);
  for (let i = 0; i < 4; i++) {
    await w.x.execute(tuple(lefts[i], "L"));
    await w.x.execute(tuple(rs[i], "R"));
  }
  await w.x.finish();
  const rows = (rs: Row[]) => rs.map((r) => [r.key, r.value]);
  assert.equal(rows(w.rows.slice(0, first.length)).sort(byRow), first.sort(byRow));
  assert.equal(rows(w.rows.slice(first.length)).sort(byRow), second.sort(byRow));
  assert.not.equal(rows(w.rows).sort(byRow), rows(h.rows).sort(byRow), "the window matters");
  const empty = harness(joinOf("OUTER"), ["L", "R"]);
  await empty.x.finish();
  assert.equal(empty.rows, []);
});

test("join: one element on one side only: a row for the outer joins that keep that side, none otherwise", async () => {
  const rows: Record<string, unknown[]> = {};
  for (const type of Object.values(JoinType)) {
    for (const [side, e] of [["L", lefts[0]], ["R", rights[0]]] as const) {
      const h = harness(joinOf(type), ["L", "R"]);
      await h.x.execute(tuple(e, side));
      await h.x.finish();
      rows[`${type} ${side}`] = h.rows.map((r) => [r.key, r.count, r.value]);
    }
  }
  assert.equal(rows, {
    "INNER L": [],
    "INNER R": [],
    "OUTER_LEFT L": [["a", 1, [1, null]]],
    "OUTER_LEFT R": [],
    "OUTER_RIGHT L": [],
    "OUTER_RIGHT R": [["a", 1, [null, 10]]],
    "OUTER L": [["a", 1, [1, null]]],
    "OUTER R": [["a", 1, [null, 10]]],
  });
});

test("join errors: the same component on both sides, an unknown join type, a tuple from a third component", async () => {
  const spec = {
    left: "s",
    right: "s",
    leftKey: (e: number) => e,
    rightKey: (e: number) => e,
    window: WindowConfig.TumblingCountWindow(2),
    type: JoinType.INNER,
    join: (l: number | undefined) => l,
  };
  assert.throws(() => joinBolt(spec), /join: left and right must be two different component ids, got "s" and "s"/);
  assert.throws(
    () => joinBolt({ ...spec, right: "t", type: "LEFT" as JoinType }),
    /join: type must be one of INNER, OUTER_LEFT, OUTER_RIGHT, OUTER, got LEFT/,
  );
  const h = harness(joinBolt({ ...spec, right: "t" }), ["s", "t", "u"]);
  await h.x.execute(tuple(1, "u"));
  let error: unknown;
  try {
    await h.x.execute(tuple(2, "u")); // the window of 2 fires
  } catch (e) {
    error = e;
  }
  assert.match(String(error), /join: a tuple from "u", which is neither the left "s" nor the right "t"/);
});

// ---------------------------------------------------------------- whole topologies

/** A bolt recording what it gets as [key, start, end, count, value]. */
function sinkBolt(): () => IRichBolt {
  return () => {
    let collector: OutputCollector;
    return {
      prepare(_c: TopologyConfig, _x: TopologyContext, c: OutputCollector) {
        collector = c;
      },
      execute(t: Tuple) {
        const kv = t.getValue(0) as KeyValue<KeyedWindow<unknown>, unknown>;
        const w = kv.getKey().getWindow();
        collector.emit(t, [[kv.getKey().getKey(), w.getStartTime(), w.getEndTime(), w.getCount(), kv.getValue()]]);
        collector.ack(t);
      },
      declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["row"]),
    } as IRichBolt;
  };
}

test("topology, ATLEAST_ONCE: event-time sums by key on 3 tasks behind keyGrouping equal a plain computation", async () => {
  type Ev = { k: string | number; n: number; at: number };
  const rnd = mulberry32(15);
  const keys = ["__proto__", "constructor", 7, "7", "x", "y"];
  // In time order but for a disorder of up to 200 ms, below the lag of 300 ms.
  const evs: Ev[] = Array.from({ length: 400 }, (_, i) => ({
    k: keys[Math.floor(rnd() * keys.length)]!,
    n: Math.floor(rnd() * 10),
    at: i * 25 + Math.floor(rnd() * 200),
  }));
  const b = new TopologyBuilder();
  b.setSpout("events", iterableSpout(() => evs, { fields: ["value"] }));
  b.setBolt(
    "sum",
    reduceByKeyAndWindowBolt<Ev, string | number, number>({
      key: (e) => e.k,
      window: WindowConfig.TumblingTimeWindow(1000).withEventTime((e: Ev) => e.at, 300),
      reduce: { kind: "binary", value: (e) => e.n, op: sum },
    }),
    3,
  ).customGrouping("events", keyGrouping((e: Ev) => e.k));
  b.setBolt("out", sinkBolt()).shuffleGrouping("sum");
  const r = await completeTopology(b.createTopology(), {
    config: { "topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": 20 },
  });
  const expected = groupBy(evs, (e) => `${Math.floor(e.at / 1000)}\u0000${typeof e.k}:${e.k}`).map(([, es]) => {
    const start = Math.floor(es[0]!.at / 1000) * 1000;
    return [es[0]!.k, start, start + 1000, es.length, es.reduce((s, e) => s + e.n, 0)];
  });
  assert.equal(r.emitted("out").map((v) => v[0]).sort(byRow), expected.sort(byRow));
  assert.is(r.summary.stats.acked, evs.length);
  assert.is(r.summary.stats.failed, 0);
});

test("topology, ATLEAST_ONCE: processing-time tumbling windows (50 ms) count by key on 2 tasks; the counts add up to a plain count", async () => {
  const ws = Array.from({ length: 3000 }, (_, i) => words[i % words.length]!);
  const b = new TopologyBuilder();
  b.setSpout("words", iterableSpout(() => ws, { fields: ["value"] }));
  b.setBolt(
    "count",
    reduceByKeyAndWindowBolt<string, string, number>({
      key: (w) => w,
      window: WindowConfig.TumblingTimeWindow(50),
      reduce: { kind: "fold", identity: 0, op: (n) => n + 1 },
    }),
    2,
  ).customGrouping("words", keyGrouping((w: string) => w));
  b.setBolt("out", sinkBolt()).shuffleGrouping("count");
  const r = await completeTopology(b.createTopology(), {
    config: { "topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": 20 },
  });
  const totals = new Map<string, number>();
  for (const [[key, start, end, count, value]] of r.emitted("out") as [[string, number, number, number, number]][]) {
    assert.is(end - start, 50);
    assert.is(start % 50, 0);
    assert.is(count, value);
    totals.set(key, (totals.get(key) ?? 0) + value);
  }
  assert.equal(totals, new Map(groupBy(ws, (w) => w).map(([k, es]) => [k, es.length])));
  assert.is(r.summary.stats.acked, ws.length);
});

test("topology, ATLEAST_ONCE: an OUTER join of two spouts on 2 tasks equals a plain computation", async () => {
  const rnd = mulberry32(7);
  const ls: L[] = Array.from({ length: 60 }, (_, i) => ({ k: `k${Math.floor(rnd() * 12)}`, l: i }));
  const rs: R[] = Array.from({ length: 50 }, (_, i) => ({ k: `k${Math.floor(rnd() * 12) + 6}`, r: 100 + i }));
  const b = new TopologyBuilder();
  b.setSpout("L", iterableSpout(() => ls, { fields: ["value"] }));
  b.setSpout("R", iterableSpout(() => rs, { fields: ["value"] }));
  b.setBolt("join", joinOf("OUTER", WindowConfig.TumblingCountWindow(1000)), 2)
    .customGrouping("L", keyGrouping((e: L) => e.k))
    .customGrouping("R", keyGrouping((e: R) => e.k));
  b.setBolt("out", sinkBolt()).shuffleGrouping("join");
  const r = await completeTopology(b.createTopology(), {
    config: { "topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": 20 },
  });
  const got = r.emitted("out").map((v) => {
    const [key, , , , value] = v[0] as [string, number, number, number, unknown];
    return [key, value];
  });
  assert.equal(got.sort(byRow), plainJoin(ls, rs, "OUTER").sort(byRow));
  assert.is(r.summary.stats.acked, ls.length + rs.length);
  assert.is(r.summary.stats.failed, 0);
});

// ---------------------------------------------------------------- EFFECTIVELY_ONCE

type Ev = { k: string; n: number; at: number };
const EO_KEYS = ["__proto__", "constructor", "a", "b", "c"];
const eoEvent = (i: number): Ev => ({ k: EO_KEYS[(i * 7 + (i >> 3)) % EO_KEYS.length]!, n: i % 13, at: i * 10 });

/** Elements 0…n-1 in event-time order; the position is its state. */
class Events extends BaseStatefulSpout<string, number> {
  st!: KeyValueState<string, number>;
  pos = 0;
  c!: SpoutOutputCollector;
  constructor(readonly n: number) {
    super();
  }
  initState(s: KeyValueState<string, number>) {
    this.st = s;
    this.pos = s.get("pos") ?? 0;
  }
  override preSave() {
    this.st.put("pos", this.pos);
  }
  override open(_a: unknown, _b: unknown, c: SpoutOutputCollector) {
    this.c = c;
  }
  nextTuple() {
    if (this.pos >= this.n) return this.c.finish();
    for (let k = 0; k < 20 && this.pos < this.n; k++, this.pos++) this.c.emit([eoEvent(this.pos)]);
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(["value"]);
  }
}

/** A result row: key, window and value. */
const rowOf = (key: unknown, start: number, end: number, count: number, value: unknown) =>
  `${String(key)}@${start}-${end}#${count}=${JSON.stringify(value)}`;

/** Per result row, how many times it was delivered, in state (a duplicate would show). */
class EoResults extends BaseStatefulBolt<string, number> {
  st!: KeyValueState<string, number>;
  constructor(readonly out: Map<string, number>) {
    super();
  }
  initState(s: KeyValueState<string, number>) {
    this.st = s;
  }
  execute(t: Tuple) {
    const kv = t.getValue(0) as KeyValue<KeyedWindow<unknown>, unknown>;
    const w = kv.getKey().getWindow();
    const row = rowOf(kv.getKey().getKey(), w.getStartTime(), w.getEndTime(), w.getCount(), kv.getValue());
    this.st.put(row, (this.st.get(row) ?? 0) + 1);
  }
  override finish() {
    for (const [k, v] of this.st.entries()) this.out.set(k, v);
  }
  declareOutputFields() {}
}

/** Planned crashes inside the operator, by the global count of its calls. */
const crashes = { at: new Set<number>(), calls: 0, fired: 0 };
const crashHere = () => {
  if (crashes.at.delete(++crashes.calls)) {
    crashes.fired++;
    throw new Error(`planned crash at call ${crashes.calls}`);
  }
};

/**
 * Runs the windowed bolt "w" (added by `addWindowed`) between stateful
 * spouts of `n` elements and stateful results under EFFECTIVELY_ONCE, with
 * a relay crashing after emitting once; returns each row's deliveries.
 */
async function runEo(
  addWindowed: (b: TopologyBuilder) => void,
  spouts: string[],
  n: number,
  crashAt: number[],
): Promise<Map<string, number>> {
  crashes.at = new Set(crashAt);
  crashes.calls = 0;
  crashes.fired = 0;
  const dir = await makeTempDir("ardea-eo-streamlet-");
  const out = new Map<string, number>();
  let relayed = 0;
  try {
    const b = new TopologyBuilder();
    for (const s of spouts) b.setSpout(s, () => new Events(n), 1);
    addWindowed(b);
    b.setBolt(
      "relay",
      bolt((t, c) => {
        c.emit([t.getValue(0)]);
        if (++relayed === 53) throw new Error("relay crash after emitting");
      }, { fields: ["value"] }),
      1,
    ).shuffleGrouping("w");
    b.setBolt("results", () => new EoResults(out), 1).globalGrouping("relay");
    const h = await submit(
      "eo-streamlet-windows",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.stateful.checkpoint.interval.seconds": 0.02,
      },
      b.createTopology(),
      { handleSignals: false, log: () => {} },
    );
    assert.is((await h.done).state, "FINISHED");
    assert.ok(relayed > 53, "the relay crashed");
    return out;
  } finally {
    await removePath(dir);
  }
}

const eventTime = (ms: number) => WindowConfig.TumblingTimeWindow(ms).withEventTime((e: Ev) => e.at, 100);
const windowStart = (e: Ev, ms: number) => Math.floor(e.at / ms) * ms;

test("EFFECTIVELY_ONCE: an event-time reduce by key on 2 tasks, crashes in the reduce and downstream: every row exactly once", async () => {
  const n = 6000;
  const out = await runEo(
    (b) => {
      const w = reduceByKeyAndWindowBolt<Ev, string, number>({
        key: (e) => e.k,
        window: eventTime(1000),
        reduce: {
          kind: "binary",
          value: (e) => e.n,
          op: (a, b) => {
            crashHere();
            return a + b;
          },
        },
      }).withWatermarkInterval(0);
      b.setBolt("w", w, 2).customGrouping("events", keyGrouping((e: Ev) => e.k));
    },
    ["events"],
    n,
    [500, 2500, 4000],
  );
  assert.is(crashes.fired, 3, "the planned crashes in the reduce fired");
  const expected = groupBy(Array.from({ length: n }, (_, i) => eoEvent(i)), (e) => `${e.k}@${windowStart(e, 1000)}`)
    .map(([, es]) => {
      const start = windowStart(es[0]!, 1000);
      return [rowOf(es[0]!.k, start, start + 1000, es.length, es.reduce((s, e) => s + e.n, 0)), 1];
    });
  assert.equal([...out].sort(byRow), expected.sort(byRow));
});

test("EFFECTIVELY_ONCE: an event-time INNER join of two spouts on 2 tasks, crashes in the join and downstream: every pair exactly once", async () => {
  const n = 1500;
  const out = await runEo(
    (b) => {
      const w = joinBolt<Ev, Ev, string, string>({
        left: "left",
        right: "right",
        leftKey: (e) => e.k,
        rightKey: (e) => e.k,
        window: eventTime(100),
        type: JoinType.INNER,
        join: (l, r) => {
          crashHere();
          return `${l!.at}/${r!.at}`;
        },
      }).withWatermarkInterval(0);
      b.setBolt("w", w, 2)
        .customGrouping("left", keyGrouping((e: Ev) => e.k))
        .customGrouping("right", keyGrouping((e: Ev) => e.k));
    },
    ["left", "right"],
    n,
    [300, 2000],
  );
  assert.is(crashes.fired, 2, "the planned crashes in the join fired");
  const expected: [string, number][] = [];
  const evs = Array.from({ length: n }, (_, i) => eoEvent(i));
  for (const [, es] of groupBy(evs, (e) => `${e.k}@${windowStart(e, 100)}`)) {
    const start = windowStart(es[0]!, 100);
    for (const l of es) {
      for (const r of es) expected.push([rowOf(l.k, start, start + 100, 2 * es.length, `${l.at}/${r.at}`), 1]);
    }
  }
  assert.ok(expected.length > 1000);
  assert.equal([...out].sort(byRow), expected.sort(byRow));
});

// ---------------------------------------------------------------- SIGKILL and resume

const KILL_RUN = {
  events: 150_000,
  seed: 5,
  keys: 12,
  disorder: 400,
  lag: 800,
  window: 1000,
  joinWindow: 200,
  stride: 100,
};

/** The rows of tests/fixtures/streamlet_windowed_eo.ts, computed plainly. */
function killRunTruth(): string[] {
  const p = KILL_RUN;
  const evs = Array.from({ length: p.events }, (_, i) => ({ i, ...eventAt(p.seed, i, p.keys, p.disorder) }));
  const rows: string[] = [];
  for (const [, es] of groupBy(evs, (e) => `${e.key}@${Math.floor(e.ts / p.window)}`)) {
    const start = Math.floor(es[0]!.ts / p.window) * p.window;
    const total = es.reduce((s, e) => s + e.value, 0);
    rows.push(JSON.stringify(["sum", es[0]!.key, start, start + p.window, es.length, total]));
  }
  for (const [, es] of groupBy(evs, (e) => `${e.key}@${Math.floor(e.ts / p.joinWindow)}`)) {
    const start = Math.floor(es[0]!.ts / p.joinWindow) * p.joinWindow;
    const rights = es.filter((e) => e.i % p.stride === 0);
    for (const l of es) {
      for (const r of rights) {
        const row = [l.key, start, start + p.joinWindow, es.length + rights.length, `${l.i}/${r.i}`];
        rows.push(JSON.stringify(["join", ...row]));
      }
    }
  }
  return rows.sort();
}

test("EFFECTIVELY_ONCE, SIGKILL: a windowed reduce and a join killed (at a moment, after a commit, during the resume) and resumed: every row exactly once", async () => {
  const dir = await makeTempDir("ardea-slw-kill-");
  const logs: string[] = [];
  const out = resolvePath(dir, "rows.txt");
  const faultLog = resolvePath(dir, "faults.log");
  const launch = (env: Record<string, string>): ChildHandle => {
    const fixture = resolvePath(ardeaRoot(), "tests", "fixtures", "streamlet_windowed_eo.ts");
    const { cmd, args } = scriptCommand(fixture, [out, resolvePath(dir, "state"), JSON.stringify(KILL_RUN)]);
    return spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe", env, onLine: (l) => logs.push(l) });
  };
  try {
    const first = launch({});
    await sleep(1500);
    assert.ok(first.kill("SIGKILL"), "the first run was still running when killed");
    await first.exited;
    for (const at of ["committed:1", "restore:1"]) {
      const run = launch({ ARDEA_FAULT_AT: at, ARDEA_FAULT_LOG: faultLog });
      const exit = await run.exited;
      assert.is(exit.signal, "SIGKILL", `killed at ${at}: ${logs.slice(-10).join("\n")}`);
      assert.ok((await readTextFile(faultLog)).includes(`${at} `), `fault point ${at} reached`);
    }
    const last = launch({});
    const exit = await last.exited;
    assert.is(exit.code, 0, logs.slice(-20).join("\n"));
    const got = (await readTextFile(out)).split("\n").filter(Boolean);
    const want = killRunTruth();
    assert.ok(want.length > 10_000 && want.some((r) => r.startsWith('["join"')));
    const have = new Set(got);
    const missing = want.filter((r) => !have.has(r));
    assert.equal(
      [got.length, got.filter((r) => r.includes(" seen ")).slice(0, 3), missing.slice(0, 3)],
      [want.length, [], []],
    );
    assert.equal(got, want);
  } finally {
    await removePath(dir);
  }
});

// ---------------------------------------------------------------- over NATS

test("ardea submit --containers 2: reduce and join results cross processes as KeyValues, counts equal a plain count", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const dir = await makeTempDir("ardea-slw-dist-");
  try {
    const out = resolvePath(dir, "rows.txt");
    const [cmd, argv] = ardeaCmd([
      "submit",
      "tests/fixtures/streamlet_windowed_dist.ts",
      "--containers",
      "2",
      "--runtime",
      runtimeName(),
      "--wait",
      "--",
      out,
    ]);
    const lines: string[] = [];
    const child = spawnProcess(cmd, argv, {
      cwd: ardeaRoot(),
      stdio: "pipe",
      env: { ARDEA_NATS_URL: nats.urls[0]! },
      onLine: (l) => lines.push(l),
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const exit = await child.exited;
    clearTimeout(timer);
    assert.is(exit.code, 0, lines.join("\n"));
    // The fixture's input, computed plainly.
    const WORDS = ["__proto__", "constructor", "the", "cat", "hat", "bat", "mat"];
    const words = [...Array.from({ length: 600 }, (_, i) => WORDS[i % 7]!), "emu"];
    const rights = [...words.filter((w, i) => i % 3 === 0 && w !== "emu"), "dog"];
    const want: string[] = [];
    for (const [w, ls] of groupBy(words, (x) => x)) want.push(JSON.stringify(["count", w, ls.length, ls.length]));
    for (const w of new Set([...words, ...rights])) {
      const nl = words.filter((x) => x === w).length;
      const nr = rights.filter((x) => x === w).length;
      const row = JSON.stringify(["join", w, nl + nr, (nl > 0 ? 1 : 0) + (nr > 0 ? 2 : 0)]);
      for (let k = 0; k < Math.max(1, nl * nr); k++) want.push(row);
    }
    assert.equal((await readTextFile(out)).split("\n").filter(Boolean), want.sort());
  } finally {
    await removePath(dir);
    await nats.stop();
  }
});

test.run();
