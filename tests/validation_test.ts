// Topology validation (createTopology / submit) and emit checks at run time
// (undeclared streams, arity, topology.testing.always.try.serialize, registerType).
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  ArdeaError,
  BaseRichBolt,
  BaseRichSpout,
  bolt,
  EmitError,
  Fields,
  InvalidTopologyError,
  type OutputFieldsDeclarer,
  registerType,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
} from "../mod.ts";
import { finished, numberSpout, richBolt, runTopology, spoutLog } from "./fixtures/engine_components.ts";
import { MAX_COMPONENT_TASKS, MAX_TOPOLOGY_TASKS } from "../topology/builder.ts";

function invalid(fn: () => unknown, code: string, ...parts: string[]): InvalidTopologyError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InvalidTopologyError, `expected InvalidTopologyError, got ${e}`);
    const err = e as InvalidTopologyError;
    assert.is(err.code, code, err.message);
    for (const p of parts) assert.match(err.message, p);
    return err;
  }
  assert.unreachable(`expected InvalidTopologyError ${code}`);
  throw new Error("unreachable");
}

/** A spout declaring `default` = fields, plus further streams. */
function spout(
  fields: string[] = ["word"],
  streams: Record<string, string[]> = {},
  direct: Record<string, string[]> = {},
) {
  return () =>
    new (class extends BaseRichSpout {
      nextTuple() {}
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(fields);
        for (const [s, f] of Object.entries(streams)) d.declareStream(s, f);
        for (const [s, f] of Object.entries(direct)) d.declareStream(s, true, f);
      }
    })();
}
const sink = () => bolt(() => {});

test("duplicate component ids", () => {
  const b = new TopologyBuilder();
  b.setSpout("words", spout());
  invalid(() => b.setBolt("words", sink()), "DUPLICATE_COMPONENT", '"words"');
  invalid(() => b.setSpout("words", spout()), "DUPLICATE_COMPONENT", '"words"');
});

test("bad ids: empty and reserved", () => {
  const b = new TopologyBuilder();
  invalid(() => b.setSpout("", spout()), "BAD_ID");
  invalid(() => b.setBolt("__acker", sink()), "BAD_ID", '"__acker"', "reserved");
});

test("unknown source component", () => {
  const b = new TopologyBuilder();
  b.setSpout("words", spout());
  b.setBolt("count", sink()).shuffleGrouping("wrods");
  invalid(() => b.createTopology(), "UNKNOWN_COMPONENT", '"count"', '"wrods"');
});

test("unknown stream: the message lists the declared streams", () => {
  const b = new TopologyBuilder();
  b.setSpout("words", spout(["word"], { errors: ["line"], stats: ["n"] }));
  b.setBolt("count", sink()).shuffleGrouping("words", "eror");
  const e = invalid(() => b.createTopology(), "UNKNOWN_STREAM", '"count"', '"eror"', '"words"');
  assert.match(e.message, '"default"');
  assert.match(e.message, '"errors"');
  assert.match(e.message, '"stats"');
});

test("fields grouping on an undeclared field", () => {
  const b = new TopologyBuilder();
  b.setSpout("words", spout(["word", "n"]));
  b.setBolt("count", sink()).fieldsGrouping("words", new Fields("wrod"));
  const e = invalid(() => b.createTopology(), "UNKNOWN_FIELD", '"count"', '"wrod"', '"words"', '"default"');
  assert.match(e.message, "word");
  // on a named stream, and for partialKey
  const b2 = new TopologyBuilder();
  b2.setSpout("words", spout(["word"], { other: ["x"] }));
  b2.setBolt("count", sink()).partialKeyGrouping("words", "other", ["word"]);
  invalid(() => b2.createTopology(), "UNKNOWN_FIELD", '"count"', '"other"', '"word"');
  // grouping on no field at all
  const b3 = new TopologyBuilder();
  b3.setSpout("words", spout(["word"]));
  b3.setBolt("count", sink()).fieldsGrouping("words", []);
  invalid(() => b3.createTopology(), "BAD_GROUPING", '"count"');
});

test("parallelism and task counts: < 1 or non-integer", () => {
  for (const p of [0, -1, 1.5, NaN, "2" as unknown as number]) {
    const b = new TopologyBuilder();
    invalid(() => b.setSpout("s", spout(), p), "BAD_PARALLELISM", '"s"', "parallelism");
    invalid(() => b.setBolt("b", sink(), p), "BAD_PARALLELISM", '"b"');
  }
  const b = new TopologyBuilder();
  invalid(() => b.setBolt("b", sink(), 2).setNumTasks(0), "BAD_PARALLELISM", '"b"', "tasks");
  // setNumTasks decides the number of tasks
  const ok = new TopologyBuilder();
  ok.setSpout("s", spout(), 1);
  ok.setBolt("b", sink(), 2).setNumTasks(5).shuffleGrouping("s");
  assert.is(ok.createTopology().componentTasks.get("b")!.length, 5);
});

test("parallelism and task counts are bounded up front: per component and in all", () => {
  const t0 = performance.now();
  for (const p of [1e9, MAX_COMPONENT_TASKS + 1]) {
    const b = new TopologyBuilder();
    invalid(() => b.setSpout("s", spout(), p), "BAD_PARALLELISM", '"s"', `at most ${MAX_COMPONENT_TASKS}`, String(p));
    invalid(
      () => b.setBolt("b", sink(), 1).setNumTasks(p),
      "BAD_PARALLELISM",
      '"b"',
      "tasks",
      `at most ${MAX_COMPONENT_TASKS}`,
    );
  }
  // the largest count per component builds
  const ok = new TopologyBuilder();
  ok.setSpout("s", spout(), 1);
  ok.setBolt("b", sink(), MAX_COMPONENT_TASKS).shuffleGrouping("s");
  assert.is(ok.createTopology().taskCount, MAX_COMPONENT_TASKS + 1);
  // in all
  const many = new TopologyBuilder();
  many.setSpout("s", spout(), MAX_COMPONENT_TASKS);
  many.setBolt("b", sink(), MAX_COMPONENT_TASKS).shuffleGrouping("s");
  many.setBolt("c", sink(), 1).shuffleGrouping("s");
  assert.ok(2 * MAX_COMPONENT_TASKS + 1 > MAX_TOPOLOGY_TASKS);
  invalid(
    () => many.createTopology(),
    "TOO_MANY_TASKS",
    String(2 * MAX_COMPONENT_TASKS + 1),
    `at most ${MAX_TOPOLOGY_TASKS}`,
    "s×10000",
  );
  assert.ok(performance.now() - t0 < 5000, "refused at once, not after building the tasks");
});

test("direct grouping on a non-direct stream, and a non-direct grouping on a direct stream", () => {
  const b = new TopologyBuilder();
  b.setSpout("src", spout(["x"], {}, { d: ["x"] }));
  b.setBolt("t", sink()).directGrouping("src");
  invalid(() => b.createTopology(), "NOT_DIRECT", '"t"', '"default"', '"src"');
  const b2 = new TopologyBuilder();
  b2.setSpout("src", spout(["x"], {}, { d: ["x"] }));
  b2.setBolt("t", sink()).shuffleGrouping("src", "d");
  invalid(() => b2.createTopology(), "DIRECT_STREAM", '"t"', '"d"', '"src"', "directGrouping");
});

test("other structural errors: empty topology, no spout, bolt without input, duplicate subscription", () => {
  invalid(() => new TopologyBuilder().createTopology(), "EMPTY_TOPOLOGY");
  const noSpout = new TopologyBuilder();
  noSpout.setBolt("b", sink());
  invalid(() => noSpout.createTopology(), "NO_SPOUT");
  const noInput = new TopologyBuilder();
  noInput.setSpout("s", spout());
  noInput.setBolt("lonely", sink());
  invalid(() => noInput.createTopology(), "NO_INPUT", '"lonely"');
  const twice = new TopologyBuilder();
  twice.setSpout("s", spout());
  twice.setBolt("b", sink()).shuffleGrouping("s").allGrouping("s");
  invalid(() => twice.createTopology(), "DUPLICATE_SUBSCRIPTION", '"b"', '"s"', '"default"');
});

test("bad components and declarations", () => {
  const b = new TopologyBuilder();
  invalid(() => b.setSpout("s", 42 as never), "BAD_COMPONENT", '"s"');
  const b2 = new TopologyBuilder();
  b2.setSpout("s", () => ({ declareOutputFields() {} }) as never);
  invalid(() => b2.createTopology(), "BAD_COMPONENT", '"s"', "nextTuple");
  const b3 = new TopologyBuilder();
  b3.setSpout("s", spout(["a"], { a: ["x"] }));
  b3.setBolt("b", () => ({
    execute() {},
    prepare() {},
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declareStream("twice", ["x"]);
      d.declareStream("twice", ["y"]);
    },
  })).shuffleGrouping("s");
  invalid(() => b3.createTopology(), "BAD_DECLARATION", '"b"', '"twice"');
});

test("submit: a bad topology name or a non-topology is rejected", async () => {
  const b = new TopologyBuilder();
  b.setSpout("s", numberSpout(1, spoutLog()));
  const topo = b.createTopology();
  for (const name of ["", "has space", "a/b", "-lead", "x".repeat(129), 5 as unknown as string]) {
    try {
      await submit(name, {}, topo, { handleSignals: false });
      assert.unreachable(`name ${JSON.stringify(name)} accepted`);
    } catch (e) {
      assert.instance(e, ArdeaError);
      assert.is((e as ArdeaError).code, "BAD_NAME", String(name));
    }
  }
  try {
    await submit("ok", {}, {} as never, { handleSignals: false });
    assert.unreachable("non-topology accepted");
  } catch (e) {
    assert.is((e as ArdeaError).code, "BAD_TOPOLOGY");
  }
});

// ---------------------------------------------------------------- emits at run time

test("emitting on an undeclared stream fails the run with an EmitError naming component and stream", async () => {
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(10, spoutLog()));
  b.setBolt(
    "splitter",
    richBolt((self, t) => {
      self.collector.emit("wrods", t, [1]);
      self.collector.ack(t);
    }, { fields: ["word"], streams: { counts: ["n"] } }),
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  const e = r.error as EmitError;
  assert.is(e.code, "UNDECLARED_STREAM");
  assert.match(e.message, '"splitter"');
  assert.match(e.message, '"wrods"');
  assert.match(e.message, '"default"');
  assert.match(e.message, '"counts"');
});

test("a spout emitting on an undeclared stream fails the run too", async () => {
  const b = new TopologyBuilder();
  b.setSpout("src", () =>
    new (class extends BaseRichSpout {
      c!: SpoutOutputCollector;
      override open(_a: TopologyConfig, _b: TopologyContext, c: SpoutOutputCollector) {
        this.c = c;
      }
      nextTuple() {
        this.c.emit("nope", [1], 1);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["x"]);
      }
    })());
  b.setBolt("b", sink()).shuffleGrouping("src");
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  assert.match((r.error as Error).message, '"src"');
  assert.match((r.error as Error).message, '"nope"');
});

test("emitting with the wrong arity fails the run with an EmitError naming component and stream", async () => {
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(10, spoutLog()));
  b.setBolt(
    "pairs",
    richBolt((self, t) => {
      self.collector.emit("pairs", t, [1, 2, 3]);
      self.collector.ack(t);
    }, { streams: { pairs: ["a", "b"] } }),
  ).shuffleGrouping("numbers");
  b.setBolt("after", sink()).shuffleGrouping("pairs", "pairs");
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  const e = r.error as EmitError;
  assert.is(e.code, "WRONG_ARITY");
  assert.match(e.message, '"pairs"');
  assert.match(e.message, "3 value");
  assert.match(e.message, "2 field");
  // values that are not an array
  const b2 = new TopologyBuilder();
  b2.setSpout("numbers", numberSpout(10, spoutLog()));
  b2.setBolt(
    "scalar",
    richBolt((self, t) => {
      self.collector.emit(t, 5 as unknown as unknown[]);
    }, { fields: ["x"] }),
  ).shuffleGrouping("numbers");
  const r2 = await runTopology(b2.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r2.error, EmitError);
  assert.match((r2.error as Error).message, '"scalar"');
});

test("emitDirect to -1 or to a task not subscribed names the bolt, the stream and the valid tasks", async () => {
  for (const bad of [-1, 0, 999, 1.5]) {
    const b = new TopologyBuilder();
    b.setSpout("numbers", numberSpout(10, spoutLog()));
    b.setBolt(
      "router",
      richBolt((self, t) => {
        self.collector.emitDirect(bad, "picked", t, [1]);
        self.collector.ack(t);
      }, { directStreams: { picked: ["n"] } }),
    ).shuffleGrouping("numbers");
    b.setBolt("target", sink(), 2).directGrouping("router", "picked");
    const topology = b.createTopology();
    const r = await runTopology(topology, {}, { timeoutMs: 5000 });
    assert.instance(r.error, EmitError, String(r.error));
    const e = r.error as EmitError;
    assert.is(e.code, "BAD_DIRECT_TASK", e.message);
    assert.not.match(e.message, "without emitDirect");
    assert.match(e.message, '"router"');
    assert.match(e.message, '"picked"');
    assert.match(e.message, `task ${bad}`);
    assert.match(e.message, `"target" tasks ${topology.componentTasks.get("target")!.join(", ")}`);
  }
});

test("a component constructor that throws in a task is reported as in its constructor, not in prepare", async () => {
  let made = 0;
  class Fragile extends BaseRichBolt {
    constructor() {
      super();
      // The builder makes one to read its declarations; the tasks' copies fail.
      if (made++ > 0) throw new Error("no database handle");
    }
    execute() {}
    declareOutputFields() {}
  }
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(10, spoutLog()));
  b.setBolt("fragile", Fragile).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), { "topology.supervisor.max.consecutive.failures": 2 }, {
    timeoutMs: 10_000,
  });
  assert.instance(r.error, Error, String(r.error));
  const msg = (r.error as Error).message;
  assert.match(msg, "fragile");
  assert.match(msg, "(in its constructor)");
  assert.not.match(msg, "(in prepare)");
  assert.match(msg, "no database handle");
  // and prepare still says prepare
  const b2 = new TopologyBuilder();
  b2.setSpout("numbers", numberSpout(10, spoutLog()));
  b2.setBolt("prep", () =>
    new (class extends BaseRichBolt {
      override prepare() {
        throw new Error("prepare broke");
      }
      execute() {}
      declareOutputFields() {}
    })()).shuffleGrouping("numbers");
  const r2 = await runTopology(b2.createTopology(), { "topology.supervisor.max.consecutive.failures": 2 }, {
    timeoutMs: 10_000,
  });
  assert.match((r2.error as Error).message, "(in prepare)");
});

// ---------------------------------------------------------------- always.try.serialize

/** Runs numbers → emitter (emits make(n) in field "v") → collector bolt; returns the run and what arrived. */
async function serializeRun(make: (n: number) => unknown, serialize = true) {
  const got: unknown[] = [];
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(3, spoutLog()));
  b.setBolt("emitter", bolt((t, c) => c.emit([t.getInteger(0), make(t.getInteger(0))]), { fields: ["n", "v"] }))
    .shuffleGrouping("numbers");
  b.setBolt("receiver", bolt((t) => void got.push(t.getValue(1)))).shuffleGrouping("emitter");
  const r = await runTopology(b.createTopology(), { "topology.testing.always.try.serialize": serialize }, {
    timeoutMs: 5000,
  });
  return { r, got };
}

test("always.try.serialize: emitting a function fails with an error naming the field", async () => {
  const { r } = await serializeRun(() => () => 1);
  assert.instance(r.error, EmitError);
  const e = r.error as EmitError;
  assert.is(e.code, "NOT_SERIALIZABLE");
  assert.match(e.message, '"emitter"');
  assert.match(e.message, 'field "v"');
  assert.match(e.message, "function");
  // nested inside an object or array
  const nested = await serializeRun(() => ({ ok: 1, cb: [() => 2] }));
  assert.instance(nested.r.error, EmitError);
  assert.match((nested.r.error as Error).message, 'field "v"');
  // without the setting, the same emit runs in process
  const off = await serializeRun(() => () => 1, false);
  finished(off.r);
  assert.is(typeof off.got[0], "function");
});

test("always.try.serialize: emitting a class instance fails naming the field and the class", async () => {
  class Point {
    constructor(readonly x: number, readonly y: number) {}
  }
  const { r } = await serializeRun((n) => new Point(n, n));
  assert.instance(r.error, EmitError);
  assert.match((r.error as Error).message, 'field "v"');
  assert.match((r.error as Error).message, "Point");
  assert.match((r.error as Error).message, "registerType");
});

test("always.try.serialize: plain values, Map, Date, Uint8Array pass", async () => {
  const values: unknown[] = [
    "text",
    42,
    1.5,
    true,
    null,
    [1, "two", [3]],
    { a: 1, b: { c: [2] } },
    new Map([["k", 1]]),
    new Date(1234),
    new Uint8Array([1, 2, 3]),
  ];
  for (const v of values) {
    const { r, got } = await serializeRun(() => v);
    finished(r);
    assert.is(got.length, 3, `value ${String(v)}`);
  }
});

test("always.try.serialize: values arrive as they would after crossing a process (Date, bytes, Map)", async () => {
  const date = await serializeRun((n) => new Date(1000 + n));
  finished(date.r);
  assert.ok(date.got.every((d) => d instanceof Date));
  assert.equal(date.got.map((d) => (d as Date).getTime()).sort(), [1000, 1001, 1002]);
  const bytes = await serializeRun((n) => new Uint8Array([n, 7]));
  finished(bytes.r);
  assert.ok(bytes.got.every((b) => b instanceof Uint8Array && b[1] === 7));
  // values are copied, not shared
  const shared = { count: 0 };
  const copy = await serializeRun(() => shared);
  finished(copy.r);
  assert.ok(copy.got.every((o) => o !== shared));
  assert.equal(copy.got[0], { count: 0 });
});

test("always.try.serialize: a Map that passes the check arrives as a Map (keys keep their types)", async () => {
  const map = await serializeRun((n) => new Map<unknown, unknown>([["k", n], [2, "two"]]));
  finished(map.r);
  for (const m of map.got) {
    assert.instance(m, Map, `a Map arrived as ${Object.prototype.toString.call(m)} ${JSON.stringify(m)}`);
    assert.is((m as Map<unknown, unknown>).get(2), "two");
  }
});

test("registerType makes a class pass, and it arrives as an instance", async () => {
  class Money {
    constructor(readonly cents: number, readonly currency: string) {}
    toString() {
      return `${this.cents / 100} ${this.currency}`;
    }
  }
  registerType(Money, {
    type: 41,
    write: (m) => [m.cents, m.currency],
    read: (d) => new Money((d as [number, string])[0], (d as [number, string])[1]),
  });
  const { r, got } = await serializeRun((n) => new Money(n * 100, "EUR"));
  finished(r);
  assert.is(got.length, 3);
  for (const m of got) assert.instance(m, Money);
  assert.equal(got.map(String).sort(), ["0 EUR", "1 EUR", "2 EUR"]);
  assert.throws(() => registerType(Money, { type: 0, write: () => 0, read: () => new Money(0, "") }), /1 to 100/);
});

test.run();
