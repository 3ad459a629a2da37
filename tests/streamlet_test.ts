// The Streamlet API (streamlet/): every operator end to end, type inference,
// fusion of stateless chains (one component, per-operator counters), exact
// word counts against a plain count, sources/sinks/transformers and their
// lifecycles, delivery modes, and the early errors.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseBasicBolt,
  BaseRichSpout,
  type BasicOutputCollector,
  Builder,
  type Context,
  InvalidTopologyError,
  KeyValue,
  type OutputFieldsDeclarer,
  Runner,
  type Sink,
  type Source,
  type SpoutOutputCollector,
  type Streamlet,
  StreamletConfig as Config,
  type Transformer,
  type Tuple,
  WindowConfig,
} from "../mod.ts";
import type { RunSummary } from "../engine/mod.ts";
import { plan } from "../streamlet/compile.ts";
import { stateKey } from "../streamlet/components.ts";
import { mulberry32 } from "../testing/random.ts";
import { makeTempDir, removePath } from "../runtime/mod.ts";

type Mode = "ATMOST_ONCE" | "ATLEAST_ONCE" | "EFFECTIVELY_ONCE";

let runs = 0;
async function run(
  builder: Builder,
  mode: Mode = "ATLEAST_ONCE",
  extra: Record<string, unknown> = {},
  name = `streamlet-${++runs}`,
): Promise<RunSummary> {
  let cb = Config.newBuilder().setDeliverySemantics(mode);
  for (const [k, v] of Object.entries(extra)) cb = cb.setUserConfig(k, v);
  const handle = await new Runner().run(name, cb.build(), builder, { handleSignals: false });
  const summary = await handle.done;
  assert.is(summary.state, "FINISHED");
  return summary;
}

/** Runs `make`'s graph over `input` and returns what reached its sink (sorted, for multi-partition runs). */
async function collect<T>(
  input: readonly unknown[],
  make: (s: Streamlet<unknown>) => Streamlet<T>,
  mode: Mode = "ATLEAST_ONCE",
): Promise<T[]> {
  const b = Builder.newBuilder();
  const out: T[] = [];
  make(b.newSource(input)).consume((e) => void out.push(e));
  await run(b, mode);
  return out;
}

const kvs = (xs: KeyValue<unknown, unknown>[]) => xs.map((kv) => [kv.getKey(), kv.getValue()]);

test("types infer without annotations; a wrong type is rejected", () => {
  const b = Builder.newBuilder();
  const words = b.newSource(["a b"]).flatMap((l) => l.split(" "));
  const check: Streamlet<string> = words;
  const lengths: Streamlet<number> = words.map((w) => w.length);
  const counts = words.countByKey((w) => w);
  counts.consume((kv) => void (kv.getValue() + 1));
  // @ts-expect-error a Streamlet<string> is not a Streamlet<number>
  const wrong: Streamlet<number> = words;
  // @ts-expect-error the element is a string
  words.map((w: number) => w + 1);
  // @ts-expect-error a count is a number, not a string
  counts.map((kv) => kv.getValue().toUpperCase());
  assert.ok(check && lengths && wrong);
});

test("map, filter, flatMap, keyBy: empty input, one element, many, exact", async () => {
  assert.equal(await collect([], (s) => s.map((x) => x)), []);
  assert.equal(await collect([3], (s) => s.map((x) => (x as number) * 2)), [6]);
  assert.equal(await collect([1, 2, 3, 4], (s) => s.filter((x) => (x as number) % 2 === 0)), [2, 4]);
  assert.equal(await collect(["a b", "", "c"], (s) => s.flatMap((l) => (l as string).split(" ").filter(Boolean))), [
    "a",
    "b",
    "c",
  ]);
  const keyed = await collect(["ab", "c"], (s) => s.keyBy((w) => (w as string).length));
  assert.equal(kvs(keyed), [[2, "ab"], [1, "c"]]);
  const keyed2 = await collect(["ab"], (s) => s.keyBy((w) => w, (w) => (w as string).length));
  assert.equal(kvs(keyed2), [["ab", 2]]);
  // An element that is an array stays one element.
  assert.equal(await collect([[1, 2], []], (s) => s.map((x) => x)), [[1, 2], []]);
});

test("countByKey and reduceByKey: running results per element, keys __proto__ and constructor, both reduce forms", async () => {
  const words = ["__proto__", "constructor", "a", "__proto__", "a", "constructor", "__proto__"];
  const plain = new Map<string, number>();
  const expected: [string, number][] = [];
  for (const w of words) {
    plain.set(w, (plain.get(w) ?? 0) + 1);
    expected.push([w, plain.get(w)!]);
  }
  const sorted = (xs: unknown[][]) => xs.map((x) => JSON.stringify(x)).sort();
  assert.equal(sorted(kvs(await collect(words, (s) => s.countByKey((w) => w)))), sorted(expected));
  assert.equal(await collect([], (s) => s.countByKey((w) => w)), []);
  // Binary form: a value extractor and an operator; fold form: identity and an accumulator.
  const sums = kvs(
    await collect([1, 2, 3, 4, 5], (s) => s.reduceByKey((x) => (x as number) % 2, (x) => x as number, (a, b) => a + b)),
  );
  assert.equal(sorted(sums), sorted([[1, 1], [0, 2], [1, 4], [0, 6], [1, 9]]));
  const folded = kvs(
    await collect(["x", "yy"], (s) =>
      s.reduceByKey(
        () => "k",
        [] as number[],
        (acc, w) => [...acc, (w as string).length],
      )),
  );
  assert.equal(folded, [["k", [1]], ["k", [1, 2]]]);
  // Object keys meet by structure, in any key order.
  const objs = kvs(await collect([{ a: 1, b: 2 }, { b: 2, a: 1 }], (s) => s.countByKey((o) => o)));
  assert.equal(objs.map(([, n]) => n), [1, 2]);
  assert.is(stateKey({ b: 1, a: [2] }), stateKey({ a: [2], b: 1 }));
  assert.is.not(stateKey("[1]"), stateKey([1]));
  // Dates, Maps and Sets by their contents; NaN, null and Infinity inside a key told apart (one rule with the windowed operators).
  const dates = kvs(await collect([0, 1000, 0], (s) => s.countByKey((t) => new Date(t as number))));
  assert.equal(dates.map(([, n]) => n), [1, 1, 2]);
  const odd = kvs(await collect([NaN, null, Infinity, null], (s) => s.countByKey((x) => [x])));
  assert.equal(odd.map(([, n]) => n), [1, 1, 1, 2]);
  const maps = kvs(await collect([1, 2, 1], (s) => s.countByKey((x) => new Map([["k", x]]))));
  assert.equal(maps.map(([, n]) => n), [1, 1, 2]);
});

test("reduceByKey: an identity that cannot be copied per key is refused when the graph is built", () => {
  class Acc {
    n = 0;
    inc() {
      this.n++;
      return this;
    }
  }
  const source = () => Builder.newBuilder().newSource([1, 2]);
  const refused = (identity: unknown, pattern: RegExp) => {
    try {
      source().reduceByKey((x) => x, identity, (acc) => acc);
    } catch (e) {
      assert.instance(e, InvalidTopologyError);
      assert.match((e as Error).message, pattern);
      return;
    }
    assert.unreachable(`no error for ${String(identity)}`);
  };
  refused({ f: () => 1 }, /reduceByKey: the identity is copied per key with structuredClone and must be plain data/);
  refused(new Acc(), /reduceByKey: .*an instance of Acc loses its class when copied/);
  source().reduceByKey((x) => x, { sum: 0, seen: new Set<number>(), at: new Date(0) }, (acc) => acc);
});

test("word count: exact against a plain count, 3 partitions, ATMOST_ONCE and ATLEAST_ONCE", async () => {
  const rand = mulberry32(7);
  const vocab = ["heron", "egret", "__proto__", "constructor", "toString", "bittern", "日本語"];
  const lines = Array.from(
    { length: 400 },
    () => Array.from({ length: 1 + Math.floor(rand() * 8) }, () => vocab[Math.floor(rand() * vocab.length)]).join(" "),
  );
  const plain = new Map<string, number>();
  for (const l of lines) for (const w of l.split(" ")) plain.set(w, (plain.get(w) ?? 0) + 1);
  for (const mode of ["ATMOST_ONCE", "ATLEAST_ONCE"] as const) {
    const b = Builder.newBuilder();
    const final = new Map<string, number>();
    b.newSource(lines).setNumPartitions(2)
      .flatMap((l) => l.split(" ")).setNumPartitions(3)
      .countByKey((w) => w)
      .consume((kv) => void final.set(kv.getKey(), Math.max(final.get(kv.getKey()) ?? 0, kv.getValue())));
    await run(b, mode);
    assert.equal([...final].sort(), [...plain].sort(), mode);
  }
});

test("fusion: map → filter → flatMap → sink is one component named after its operators, with counts per operator", async () => {
  const b = Builder.newBuilder();
  const out: string[] = [];
  b.newSource(["a", "bb", "ccc", "dddd"])
    .map((w) => w.toUpperCase()).setName("upper")
    .filter((w) => w.length % 2 === 0)
    .flatMap((w) => [w, w])
    .consume((w) => void out.push(w));
  const ids = plan(b).components.map((c) => c.id);
  assert.equal(ids, ["source-1", "upper+filter-3+flatMap-4+consume-5"]);
  const summary = await run(b, "ATMOST_ONCE");
  assert.equal(out.sort(), ["BB", "BB", "DDDD", "DDDD"]);
  assert.equal(Object.keys(summary.stats.components).sort(), ["source-1", "upper+filter-3+flatMap-4+consume-5"]);
  const c = summary.stats.components["upper+filter-3+flatMap-4+consume-5"]!.userMetrics!.gauges!;
  assert.equal(
    [
      c["upper.in"],
      c["upper.out"],
      c["filter-3.in"],
      c["filter-3.out"],
      c["flatMap-4.in"],
      c["flatMap-4.out"],
      c["consume-5.in"],
    ],
    [4, 4, 4, 2, 2, 4, 4],
  );
  // Not fused: different partitions, two consumers, a keyed operator.
  const b2 = Builder.newBuilder();
  const src = b2.newSource([1]);
  const m = src.map((x) => x);
  m.filter(() => true).setNumPartitions(2).log();
  m.map((x) => x).log();
  src.countByKey((x) => x).map((kv) => kv).log();
  assert.equal(plan(b2).components.map((c) => c.id), [
    "source-1",
    "map-2",
    "filter-3+log-4",
    "map-5+log-6",
    "countByKey-7",
    "map-8+log-9",
  ]);
});

test("union, clone, split/withStream, repartition (even and by a partition function)", async () => {
  const b = Builder.newBuilder();
  const out: string[] = [];
  const odd = b.newSource([1, 3]);
  const even = b.newSource([2, 4]);
  const [c1, c2] = odd.union(even).clone(2);
  c1!.map((x) => `c1:${x}`).consume((s) => void out.push(s));
  const split = c2!.split({ small: (x) => x < 3, big: (x) => x >= 3, all: () => true });
  assert.equal(split.getAvailableStreamIds(), ["small", "big", "all"]);
  split.withStream("small").map((x) => `small:${x}`).consume((s) => void out.push(s));
  split.withStream("big").map((x) => `big:${x}`).consume((s) => void out.push(s));
  const parts: string[] = [];
  split.withStream("all").repartition(3, (x, n) => x % n).transform<string>(
    {
      setup(ctx: Context) {
        this.part = ctx.getStreamPartition();
      },
      transform(x: number, emit: (s: string) => void) {
        emit(`${x}@${this.part}`);
      },
      cleanup() {},
    } as Transformer<number, string> & { part: number },
  ).consume((s) => void parts.push(s));
  await run(b);
  assert.equal(out.sort(), ["big:3", "big:4", "c1:1", "c1:2", "c1:3", "c1:4", "small:1", "small:2"]);
  assert.equal(parts.sort(), ["1@1", "2@2", "3@0", "4@1"]);
  // repartition without a function spreads over n partitions.
  const spread = await collect(Array.from({ length: 50 }, (_, i) => i), (s) => s.repartition(4).map((x) => x));
  assert.equal(spread.sort((a, b) => (a as number) - (b as number)), Array.from({ length: 50 }, (_, i) => i));
});

test("Source, Sink and Transformer lifecycles: setup before use, cleanup at the end; null ends a Source, an empty batch does not", async () => {
  const events: string[] = [];
  let calls = 0;
  const source: Source<number> = {
    setup: (ctx) => void events.push(`source setup ${ctx.getStreamName()}`),
    get: () => {
      calls++;
      return calls === 1 ? [1, 2] : calls === 2 ? [] : calls === 3 ? Promise.resolve([3]) : null;
    },
    cleanup: () => void events.push("source cleanup"),
  };
  const put: number[] = [];
  const sink: Sink<number> = {
    setup: () => void events.push("sink setup"),
    put: (x) => void put.push(x),
    cleanup: () => void events.push("sink cleanup"),
  };
  const t: Transformer<number, number> = {
    setup: () => Promise.resolve(void events.push("transform setup")),
    transform: (x, emit) => {
      emit(x);
      emit(x * 10);
    },
    cleanup: () => void events.push("transform cleanup"),
  };
  const b = Builder.newBuilder();
  b.newSource(source).setName("numbers").repartition(2).transform(t).setNumPartitions(2).toSink(sink).setName("out");
  await run(b);
  assert.equal(put.sort((x, y) => x - y), [1, 2, 3, 10, 20, 30]);
  assert.is(calls, 4);
  for (
    const e of [
      "source setup numbers",
      "source cleanup",
      "sink setup",
      "sink cleanup",
      "transform setup",
      "transform cleanup",
    ]
  ) {
    assert.ok(events.includes(e), `${e} in ${events.join(", ")}`);
  }
  assert.ok(events.indexOf("source setup numbers") < events.indexOf("source cleanup"));
});

test("sources: async iterable, supplier (never ends: drained), any spout (its first field is the element)", async () => {
  async function* gen() {
    yield "x";
    yield "y";
  }
  assert.equal(await collect([], () => Builder.newBuilder().newSource(gen()).map((s) => s)), []);
  const b = Builder.newBuilder();
  const got: string[] = [];
  b.newSource(gen()).consume((s) => void got.push(s));
  await run(b);
  assert.equal(got, ["x", "y"]);

  const b2 = Builder.newBuilder();
  let n = 0;
  const seen: number[] = [];
  b2.newSource(() => n++).consume((x) => void seen.push(x));
  const handle = await new Runner().run("supplier", Config.defaultConfig(), b2, { handleSignals: false });
  while (seen.length < 100) await new Promise((r) => setTimeout(r, 5));
  await handle.kill();
  assert.equal(seen.slice(0, 100), Array.from({ length: 100 }, (_, i) => i));

  class Lines extends BaseRichSpout {
    c!: SpoutOutputCollector;
    lines = ["p q", "r"];
    override open(_conf: unknown, _ctx: unknown, c: SpoutOutputCollector) {
      this.c = c;
    }
    nextTuple() {
      const l = this.lines.shift();
      if (l === undefined) this.c.finish();
      else this.c.emit([l, l.length]);
    }
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(["line", "length"]);
    }
  }
  const b3 = Builder.newBuilder();
  const words: string[] = [];
  b3.newSource<string>(new Lines()).flatMap((l) => l.split(" ")).consume((w) => void words.push(w));
  await run(b3, "ATMOST_ONCE");
  assert.equal(words.sort(), ["p", "q", "r"]);
});

test("applyOperator: any bolt, field 0 in, first output field out; log prints each element", async () => {
  class Upper extends BaseBasicBolt {
    execute(t: Tuple, c: BasicOutputCollector) {
      c.emit([String(t.getValue(0)).toUpperCase(), "ignored"]);
    }
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(["upper", "other"]);
    }
  }
  assert.equal(await collect(["a", "b"], (s) => s.applyOperator<string>(new Upper()).map((x) => `${x}!`)), [
    "A!",
    "B!",
  ]);
  const logged: string[] = [];
  const original = console.log;
  console.log = (...xs: unknown[]) => void logged.push(xs.join(" "));
  try {
    const b = Builder.newBuilder();
    b.newSource([1, 2]).map((x) => x + 1).log();
    await run(b);
  } finally {
    console.log = original;
  }
  assert.equal(logged.sort(), ["2", "3"]);
});

test("windowed: countByKeyAndWindow and an inner join over count windows", async () => {
  const b = Builder.newBuilder();
  const counts: string[] = [];
  b.newSource(["a", "b", "a", "a"]).countByKeyAndWindow((w) => w, WindowConfig.TumblingCountWindow(10))
    .consume((kv) => void counts.push(`${kv.getKey().getKey()}=${kv.getValue()}`));
  const joined: string[] = [];
  const left = b.newSource([{ id: 1, ad: "x" }, { id: 2, ad: "y" }]);
  const right = b.newSource([{ id: 1, click: true }]);
  left.join(right, (l) => l.id, (r) => r.id, WindowConfig.TumblingCountWindow(100), (l, r) => `${l.ad}:${r.click}`)
    .consume((kv) => void joined.push(`${kv.getKey().getKey()} ${kv.getValue()}`));
  await run(b);
  assert.equal(counts.sort(), ["a=3", "b=1"]);
  assert.equal(joined, ["1 x:true"]);
});

test("EFFECTIVELY_ONCE: an iterable source and a keyed count run and count exactly", async () => {
  const b = Builder.newBuilder();
  const final = new Map<string, number>();
  b.newSource(["a", "b", "a"]).countByKey((w) => w)
    .consume((kv) => void final.set(kv.getKey(), Math.max(final.get(kv.getKey()) ?? 0, kv.getValue())));
  const dir = await makeTempDir("ardea-streamlet-eo-");
  try {
    await run(b, "EFFECTIVELY_ONCE", { "topology.state.dir": dir }, "streamlet-eo");
    assert.equal([...final].sort(), [["a", 2], ["b", 1]]);
    // Run again on the same state: the source resumes after its committed position, so nothing is counted twice.
    final.clear();
    await run(b, "EFFECTIVELY_ONCE", { "topology.state.dir": dir }, "streamlet-eo");
    assert.equal([...final], []);
  } finally {
    await removePath(dir);
  }
  const b2 = Builder.newBuilder();
  b2.newSource(() => 1).log();
  const refused = await new Runner().run(
    "eo-supplier",
    Config.newBuilder().setDeliverySemantics("EFFECTIVELY_ONCE").build(),
    b2,
    { handleSignals: false },
  ).then((h) => h.done).then(() => null, (e: Error) => e);
  assert.match(String(refused?.message), /cannot rewind/);
});

test("early errors: foreign streamlets, bad partitions, a sink without put, no source, duplicate names, split streams", () => {
  const b1 = Builder.newBuilder();
  const b2 = Builder.newBuilder();
  const s1 = b1.newSource([1]);
  const s2 = b2.newSource([2]);
  assert.throws(() => s1.union(s2), /another Builder/);
  assert.throws(() => s1.union(s1), /with itself/);
  assert.throws(
    () => s1.join(s2, (x) => x, (x) => x, WindowConfig.TumblingCountWindow(1), (a, b) => a + b),
    /another Builder/,
  );
  assert.throws(() => s1.setNumPartitions(0), /partitions must be a whole number ≥ 1, got 0/);
  assert.throws(() => s1.repartition(1.5), /got 1.5/);
  assert.throws(() => s1.toSink({ setup() {}, cleanup() {} } as unknown as Sink<number>), /no put/);
  assert.throws(() => s1.withStream("x"), /no stream "x"/);
  assert.throws(() => s1.split({}), /at least one stream/);
  assert.throws(() => s1.map(3 as never), /must be a function/);
  assert.throws(() => b1.newSource("text" as never), /a string is not a source/);
  assert.throws(() => plan(Builder.newBuilder()), /no source/);
  // Nothing follows a sink: a SinkStreamlet has no operators.
  const sink = s1.log();
  // @ts-expect-error a sink cannot be mapped
  assert.is(sink.map, undefined);
  s1.map((x) => x).setName("same").log();
  s1.map((x) => x).setName("same").log();
  assert.throws(() => plan(b1), /two streamlets are named "same"/);
  assert.throws(() => Config.newBuilder().setNumContainers(0), /whole number ≥ 1/);
  assert.throws(() => Config.newBuilder().setDeliverySemantics("SOMETIMES" as never), /ATMOST_ONCE/);
});
test.run();
