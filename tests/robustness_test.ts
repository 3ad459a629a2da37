// Faults from a review of the engine: crashed instances cleaned up, late
// emits dropped, bad anchors and unroutable values named, per-component
// config checked, root ids not reused early.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseBasicBolt,
  BaseRichBolt,
  ConfigError,
  EmitError,
  InvalidTopologyError,
  iterableSpout,
  type OutputCollector,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { XorLedger } from "../actors/xor_ledger.ts";

const FAST_GIVE_UP = {
  "topology.supervisor.max.consecutive.failures": 3,
  "topology.supervisor.backoff.initial.ms": 1,
  "topology.supervisor.backoff.max.ms": 5,
};

test("a crashed bolt instance is cleaned up and its timer's emits are dropped", async () => {
  const log = { prepares: 0, cleanups: 0, received: 0 };
  const timers: Array<ReturnType<typeof setInterval>> = [];
  class Ticker extends BaseRichBolt {
    c!: OutputCollector;
    override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
      this.c = c;
      log.prepares++;
      const first = log.prepares === 1;
      const t = setInterval(() => this.c.emit(["ghost"]), 5);
      timers.push(t);
      if (!first) clearInterval(t);
    }
    execute(t: Tuple) {
      if (log.prepares === 1) throw new Error("first instance dies");
      this.c.ack(t);
    }
    override cleanup() {
      log.cleanups++;
      clearInterval(timers[log.cleanups - 1]!);
    }
    declareOutputFields(d: { declare(f: string[]): void }) {
      d.declare(["x"]);
    }
  }
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1, 2, 3], { fields: ["n"] }));
  b.setBolt("t", () => new Ticker()).shuffleGrouping("s");
  b.setBolt("sink", () => ({
    execute: () => {
      log.received++;
    },
    declareOutputFields() {},
    prepare() {},
  })).shuffleGrouping("t");
  const h = await submit("crash-cleanup", {}, b.createTopology(), { handleSignals: false, log: () => {} });
  const s = await h.done;
  assert.is(s.state, "FINISHED");
  assert.is(log.prepares, 2);
  assert.is(log.cleanups, 2, "the dead instance and the live one are both cleaned up");
  for (const t of timers) clearInterval(t);
});

test("anchoring to an already acked tuple fails the run naming the bolt", async () => {
  class Late extends BaseRichBolt {
    c!: OutputCollector;
    override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
      this.c = c;
    }
    execute(t: Tuple) {
      this.c.ack(t);
      this.c.emit(t, [1]);
    }
    declareOutputFields(d: { declare(f: string[]): void }) {
      d.declare(["x"]);
    }
  }
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1], { fields: ["n"] }));
  b.setBolt("late", () => new Late()).shuffleGrouping("s");
  b.setBolt("sink", () => ({ execute() {}, declareOutputFields() {} })).shuffleGrouping("late");
  const h = await submit("anchor-acked", {}, b.createTopology(), { handleSignals: false, log: () => {} });
  const e = await h.done.then(() => null, (err) => err);
  assert.ok(e instanceof EmitError, String(e));
  assert.is(e.code, "ANCHOR_ACKED");
  assert.match(e.message, /bolt "late"/);
});

test("a value a fields grouping cannot hash is an EmitError naming emitter and stream", async () => {
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [[Symbol("k")]], { fields: ["key"] }));
  b.setBolt("agg", () => ({ execute() {}, declareOutputFields() {} }), 2).fieldsGrouping("s", ["key"]);
  const h = await submit("unhashable", FAST_GIVE_UP, b.createTopology(), { handleSignals: false, log: () => {} });
  const e = await h.done.then(() => null, (err) => err);
  assert.ok(e instanceof EmitError, String(e));
  assert.is(e.code, "UNROUTABLE");
  assert.match(e.message, /spout "s" emitted on stream "default"/);
});

test("per-component config is checked at createTopology", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1], { fields: ["n"] })).setMaxSpoutPending(0);
  assert.throws(() => b.createTopology(), (e: unknown) => e instanceof ConfigError && /component "s"/.test(e.message));
  class Own extends BaseBasicBolt {
    execute() {}
    declareOutputFields() {}
    override getComponentConfiguration() {
      return { "topology.mailbox.high.watermark": 5 };
    }
  }
  const b2 = new TopologyBuilder();
  b2.setSpout("s", iterableSpout(() => [1], { fields: ["n"] }));
  b2.setBolt("own", new Own()).shuffleGrouping("s");
  assert.throws(
    () => b2.createTopology(),
    (e: unknown) => e instanceof ConfigError && e.key === "topology.mailbox.high.watermark",
  );
});

test("a nested #private object with constructor arguments is rejected at build", () => {
  class Counter {
    #n = 0;
    constructor(readonly step: number) {}
    inc() {
      return this.#n += this.step;
    }
  }
  class Holder extends BaseBasicBolt {
    c = new Counter(2);
    execute() {
      this.c.inc();
    }
    declareOutputFields() {}
  }
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1], { fields: ["n"] }));
  b.setBolt("h", new Holder()).shuffleGrouping("s");
  assert.throws(
    () => b.createTopology(),
    (e: unknown) => e instanceof InvalidTopologyError && /bolt "h".*Counter/.test(e.message),
  );
});

test("the ledger does not hand out a root id again soon after it ended", () => {
  const l = new XorLedger({ onComplete() {}, onFail() {} });
  const first = l.begin(0, "a", 0);
  l.expire(1); // times out: its id may come back only much later
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const r = l.begin(0, i, 2);
    seen.add(r);
    l.fail(r);
  }
  assert.not.ok(seen.has(first), "root id reused within 100k trees");
});

test.run();
