// Two-phase end of input (ATLEAST_ONCE, bounded topologies): spouts whose
// trees are still open send a drain marker; bolts that hold tuples release
// them (drain hook, or an early finish) so the trees can complete and the
// topology can end. Replays after a drain trigger another drain round.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseBasicBolt,
  type BasicOutputCollector,
  type OutputFieldsDeclarer,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { finished, numberSpout, range, richBolt, runTopology, spoutLog } from "./fixtures/engine_components.ts";

const ATLEAST = { "topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": 60 };

test("a bolt that acks its input only in finish() ends (finish runs at drain), everything acked once", async () => {
  const log = spoutLog();
  const sums: number[] = [];
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(500, log), 2);
  b.setBolt("batch", () => {
    const held: Tuple[] = [];
    return richBolt((_self, t) => void held.push(t), {
      fields: ["sum"],
      finish: (self) => {
        self.collector.emit(held, [held.reduce((s, t) => s + t.getInteger(0), 0)]);
        for (const t of held) self.collector.ack(t);
        held.length = 0;
      },
    })();
  }, 3).shuffleGrouping("numbers");
  b.setBolt(
    "sink",
    richBolt((self, t) => {
      sums.push(t.getInteger(0));
      self.collector.ack(t);
    }),
    1,
  ).globalGrouping("batch");
  const r = await runTopology(b.createTopology(), ATLEAST, { timeoutMs: 20_000 });
  finished(r);
  assert.ok(r.ms < 10_000, `ended in ${r.ms.toFixed(0)} ms, well before the 60 s message timeout`);
  assert.is(log.acked.size, 500);
  assert.is(log.failed.length, 0);
  assert.is(sums.length, 3, "each batch task emitted its sum once");
  assert.is(sums.reduce((a, n) => a + n, 0), (499 * 500) / 2);
});

test("drain hook: called when every input drained, again after replays; finish of a drain bolt runs once, at the end", async () => {
  const log = spoutLog();
  const calls = { drain: 0, finish: 0 };
  const flushed: number[] = [];
  let failedOnce = false;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(200, log), 1);
  b.setBolt("hold", () => {
    const held: Tuple[] = [];
    return richBolt((_self, t) => void held.push(t), {
      fields: ["n"],
      finish: (self) => {
        calls.finish++;
        for (const t of held) self.collector.ack(t);
        held.length = 0;
      },
    })();
  }, 1).shuffleGrouping("numbers");
  // The bolt under test: holds everything; its drain flushes; the first drain fails one tuple.
  b.setBolt("windowish", () => {
    const held: Tuple[] = [];
    const bolt = richBolt((_self, t) => void held.push(t), { fields: ["n"], finish: () => void calls.finish++ })();
    (bolt as unknown as { drain: () => void }).drain = () => {
      calls.drain++;
      for (const t of held) {
        if (!failedOnce && t.getInteger(0) === 7) {
          failedOnce = true;
          (bolt as unknown as { collector: { fail(t: Tuple): void } }).collector.fail(t);
          continue;
        }
        flushed.push(t.getInteger(0));
        (bolt as unknown as { collector: { ack(t: Tuple): void } }).collector.ack(t);
      }
      held.length = 0;
    };
    return bolt;
  }, 1).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), ATLEAST, { timeoutMs: 20_000 });
  finished(r);
  assert.is(calls.drain, 2, "one drain round, and one more after the replay of 7");
  assert.is(
    calls.finish,
    3,
    "'hold' (no drain hook) finishes at each drain while it holds tuples (twice), 'windowish' at the end",
  );
  assert.equal([...flushed].sort((a, b) => a - b), range(200), "every tuple flushed exactly once");
  assert.equal(log.failed, [7]);
  assert.is(log.acked.size, 200);
});

test("drain waits for every upstream task: two spouts, one finishing long after the other", async () => {
  const fast = spoutLog(), slow = spoutLog();
  let sum = 0;
  let emitted = 0;
  const b = new TopologyBuilder();
  b.setSpout("fast", numberSpout(10, fast), 1);
  b.setSpout("slow", numberSpout(600, slow, { async: true, batch: 5 }), 1);
  b.setBolt("join", () => {
    const held: Tuple[] = [];
    return richBolt((_self, t) => void held.push(t), {
      fields: ["sum"],
      finish: (self) => {
        for (const t of held) {
          sum += t.getInteger(0);
          self.collector.ack(t);
        }
        emitted++;
      },
    })();
  }, 1).shuffleGrouping("fast").shuffleGrouping("slow");
  finished(await runTopology(b.createTopology(), ATLEAST, { timeoutMs: 30_000 }));
  assert.is(emitted, 1);
  assert.is(sum, (9 * 10) / 2 + (599 * 600) / 2);
  assert.is(fast.acked.size + slow.acked.size, 610);
});

test("ATMOST_ONCE and basic bolts keep their end of input: finish runs once, after all input", async () => {
  const totals: number[] = [];
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(300, spoutLog()), 2);
  b.setBolt("count", () => {
    let n = 0;
    return new (class extends BaseBasicBolt {
      execute() {
        n++;
      }
      finish(c: BasicOutputCollector) {
        c.emit([n]);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["n"]);
      }
    })();
  }, 2).shuffleGrouping("numbers");
  b.setBolt(
    "sink",
    richBolt((self, t) => {
      totals.push(t.getInteger(0));
      self.collector.ack(t);
    }),
    1,
  ).globalGrouping("count");
  for (const mode of ["ATMOST_ONCE", "ATLEAST_ONCE"]) {
    totals.length = 0;
    finished(await runTopology(b.createTopology(), { "topology.reliability.mode": mode }));
    assert.is(totals.length, 2, mode);
    assert.is(totals[0]! + totals[1]!, 300, mode);
  }
});

test("a cycle ends: end of input flows along the forward edges, the back edge is not waited for (and a self-loop)", async () => {
  // numbers → dec ⇄ loop: dec sends k-1 round the loop until it reaches 0; dec also feeds itself on "self".
  const run = async (mode: string) => {
    let executed = 0;
    let finishes = 0;
    const log = spoutLog();
    const b = new TopologyBuilder();
    b.setSpout("numbers", numberSpout(60, log), 1);
    b.setBolt(
      "dec",
      richBolt((self, t) => {
        executed++;
        const k = t.getInteger(0);
        if (k > 0) self.collector.emit(t.getSourceStreamId() === "self" ? "default" : "self", t, [k - 1]);
        self.collector.ack(t);
      }, { fields: ["k"], streams: { self: ["k"] }, finish: () => void finishes++ }),
      2,
    )
      .shuffleGrouping("numbers").shuffleGrouping("loop").shuffleGrouping("dec", "self");
    b.setBolt(
      "loop",
      richBolt((self, t) => {
        self.collector.emit(t, [t.getInteger(0)]);
        self.collector.ack(t);
      }, { fields: ["k"], finish: () => void finishes++ }),
      2,
    ).shuffleGrouping("dec");
    const r = await runTopology(b.createTopology(), { "topology.reliability.mode": mode }, { timeoutMs: 20_000 });
    finished(r);
    return { executed, finishes, acked: log.acked.size };
  };
  const atLeast = await run("ATLEAST_ONCE");
  // n goes round until 0: n+1 executes of dec per number.
  assert.is(atLeast.executed, range(60).reduce((s, n) => s + n + 1, 0), "every step of every loop executed");
  assert.is(atLeast.acked, 60);
  assert.is(atLeast.finishes, 4, "every task of both bolts finished");
  const atMost = await run("ATMOST_ONCE");
  assert.is(atMost.finishes, 4, "at most once ends too");
});

test.run();
