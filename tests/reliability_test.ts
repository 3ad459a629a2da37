// Reliability end to end: exact results, anchoring, fail/replay, timeouts,
// basic bolts, async components, finish hooks, ticks, handle controls,
// completeTopology, max.spout.pending.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseBasicBolt,
  BaseRichSpout,
  type BasicOutputCollector,
  bolt,
  completeTopology,
  FailedException,
  isTick,
  iterableSpout,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type TopologyHandle,
  type Tuple,
} from "../mod.ts";
import { finished, numberSpout, range, richBolt, runTopology, spoutLog } from "./fixtures/engine_components.ts";
import { sleep } from "../testing/wait.ts";

// ---------------------------------------------------------------- word count

const VOCAB = Array.from({ length: 60 }, (_, i) => `w${i}`);
function sentences(n: number): string[] {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return Array.from(
    { length: n },
    () => Array.from({ length: 8 }, () => VOCAB[Math.floor(rnd() * rnd() * VOCAB.length)]).join(" "),
  );
}
function expectedCounts(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) for (const w of l.split(" ")) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

/** sentences → split (basic) → count (fields, emits totals in finish) → report (global). */
function wordCount(
  lines: string[],
  p: [number, number, number],
  report: Map<string, number>,
  reportCalls: { n: number },
) {
  const b = new TopologyBuilder();
  b.setSpout(
    "sentences",
    iterableSpout((ctx) => {
      const k = ctx.getThisTaskIndex(), m = ctx.getComponentTasks("sentences").length;
      return lines.filter((_, i) => i % m === k);
    }, { fields: ["sentence"] }),
    p[0],
  );
  b.setBolt(
    "split",
    bolt((t, c) => {
      for (const w of t.getString(0).split(" ")) c.emit([w]);
    }, { fields: ["word"] }),
    p[1],
  ).shuffleGrouping("sentences");
  b.setBolt("count", () => {
    const counts = new Map<string, number>();
    return new (class extends BaseBasicBolt {
      execute(t: Tuple) {
        const w = t.getStringByField("word");
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
      finish(c: BasicOutputCollector) {
        for (const [w, n] of counts) c.emit([w, n]);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["word", "count"]);
      }
    })();
  }, p[2]).fieldsGrouping("split", ["word"]);
  b.setBolt(
    "report",
    bolt((t) => {
      reportCalls.n++;
      const w = t.getString(0);
      if (report.has(w)) throw new Error(`word ${w} reported twice: fields grouping sent it to two count tasks`);
      report.set(w, t.getInteger(1));
    }),
    1,
  ).globalGrouping("count");
  return b.createTopology();
}

for (const mode of ["ATMOST_ONCE", "ATLEAST_ONCE"] as const) {
  for (const p of [[1, 1, 1], [2, 3, 4], [3, 2, 5]] as Array<[number, number, number]>) {
    test(`word count is exact: ${mode}, parallelism ${p.join("/")}`, async () => {
      const lines = sentences(1500);
      const report = new Map<string, number>();
      const calls = { n: 0 };
      const s = finished(await runTopology(wordCount(lines, p, report, calls), { "topology.reliability.mode": mode }));
      const want = expectedCounts(lines);
      assert.is(report.size, want.size);
      assert.equal(new Map([...report].sort()), new Map([...want].sort()));
      assert.is(calls.n, want.size);
      assert.is(s.stats.components.split!.executed, lines.length);
      assert.is(s.stats.components.count!.executed, lines.length * 8);
      // ATLEAST_ONCE: every tree completes; ATMOST_ONCE: message ids are acked at once (Storm without ackers)
      assert.is(s.stats.acked, lines.length);
      assert.is(s.stats.failed, 0);
      assert.is(s.stats.pending, 0);
    });
  }
}

test("ATMOST_ONCE: message ids are acked at once, a bolt's fail replays nothing", async () => {
  const N = 200;
  const log = spoutLog();
  let executed = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: 8 }), 1);
  b.setBolt(
    "failing",
    richBolt((self, t) => {
      executed++;
      self.collector.fail(t);
    }),
    2,
  ).shuffleGrouping("numbers");
  const s = finished(await runTopology(b.createTopology(), { "topology.reliability.mode": "ATMOST_ONCE" }));
  assert.is(executed, N, "each tuple delivered once");
  assert.is(log.acked.size, N);
  assert.is(log.failed.length, 0);
  assert.is(s.stats.pending, 0);
  assert.is(s.stats.timedOut, 0);
});

// ---------------------------------------------------------------- anchoring

test("multiple anchors: a joined tuple's fail fails both roots; its ack completes both", async () => {
  const N = 200; // pairs (2i, 2i+1) are joined
  const log = spoutLog();
  const failedJoins = new Set<number>();
  const seenJoins = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(2 * N, log, { batch: 8 }), 1);
  b.setBolt("join", () => {
    const waiting = new Map<number, Tuple>();
    return richBolt((self, t) => {
      const n = t.getInteger(0);
      const pair = n >> 1;
      const other = waiting.get(pair);
      if (!other) {
        waiting.set(pair, t); // held (not acked) until its partner arrives
        return;
      }
      waiting.delete(pair);
      self.collector.emit([other, t], [pair]);
      self.collector.ack(other);
      self.collector.ack(t);
    }, { fields: ["pair"] })();
  }, 1).fieldsGrouping("numbers", ["n"]).setNumTasks(1);
  b.setBolt(
    "check",
    richBolt((self, t) => {
      const pair = t.getInteger(0);
      const ids = t.getMessageId().anchorsToIds;
      if (ids.size !== 2) throw new Error(`joined tuple has ${ids.size} roots`);
      if (pair % 10 === 0 && !failedJoins.has(pair)) {
        failedJoins.add(pair);
        self.collector.fail(t);
        return;
      }
      seenJoins.add(pair);
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("join");
  finished(await runTopology(b.createTopology()));
  assert.is(seenJoins.size, N);
  assert.is(log.acked.size, 2 * N);
  assert.is(failedJoins.size, N / 10);
  for (const pair of failedJoins) {
    assert.ok(log.failed.includes(2 * pair), `root ${2 * pair} failed with its join`);
    assert.ok(log.failed.includes(2 * pair + 1), `root ${2 * pair + 1} failed with its join`);
  }
  assert.is(log.failed.length, 2 * (N / 10), "only the failed joins' roots failed");
});

test("a tree completes only when its last descendant is acked", async () => {
  // spout → fan (emits 3 anchored children) → slow leaf; ack order observed through timestamps
  const log = spoutLog();
  const leafAckedAt = new Map<number, number>();
  const rootAckedAt = new Map<number, number>();
  const b = new TopologyBuilder();
  b.setSpout("numbers", () => {
    const s = numberSpout(30, log)();
    const ack = s.ack.bind(s);
    s.ack = (id: unknown) => {
      rootAckedAt.set(id as number, performance.now());
      return ack(id);
    };
    return s;
  }, 1);
  b.setBolt(
    "fan",
    richBolt((self, t) => {
      for (let k = 0; k < 3; k++) self.collector.emit(t, [t.getInteger(0), k]);
      self.collector.ack(t);
    }, { fields: ["n", "k"] }),
    2,
  ).shuffleGrouping("numbers");
  b.setBolt(
    "leaf",
    richBolt(async (self, t) => {
      await sleep(t.getInteger(1) === 2 ? 5 : 0);
      const n = t.getInteger(0);
      leafAckedAt.set(n, Math.max(leafAckedAt.get(n) ?? 0, performance.now()));
      self.collector.ack(t);
    }),
    3,
  ).shuffleGrouping("fan");
  finished(await runTopology(b.createTopology()));
  assert.is(rootAckedAt.size, 30);
  for (const [n, at] of rootAckedAt) assert.ok(at >= leafAckedAt.get(n)!, `root ${n} acked before its last leaf`);
});

// ---------------------------------------------------------------- fail and replay

test("a bolt that fails every tuple once: the spout sees fail then ack, everything processed", async () => {
  const N = 1000;
  const log = spoutLog();
  const seenOnce = new Set<number>();
  const processed = new Set<number>();
  const order: Array<[string, number]> = [];
  const b = new TopologyBuilder();
  b.setSpout("numbers", () => {
    const s = numberSpout(N, log, { batch: 16 })();
    const ack = s.ack.bind(s), fail = s.fail.bind(s);
    s.ack = (id: unknown) => (order.push(["ack", id as number]), ack(id));
    s.fail = (id: unknown) => (order.push(["fail", id as number]), fail(id));
    return s;
  }, 1);
  b.setBolt(
    "picky",
    richBolt((self, t) => {
      const n = t.getInteger(0);
      if (!seenOnce.has(n)) {
        seenOnce.add(n);
        self.collector.fail(t);
        return;
      }
      processed.add(n);
      self.collector.ack(t);
    }),
    3,
  ).fieldsGrouping("numbers", ["n"]);
  const s = finished(await runTopology(b.createTopology()));
  assert.is(processed.size, N);
  assert.is(log.acked.size, N);
  assert.is(log.ackCalls, N, "each id acked exactly once");
  assert.is(log.failed.length, N, "each id failed exactly once");
  const firstFail = new Map<number, number>(), ackAt = new Map<number, number>();
  order.forEach(([k, id], i) => (k === "fail" ? firstFail.set(id, firstFail.get(id) ?? i) : ackAt.set(id, i)));
  for (const id of range(N)) assert.ok(firstFail.get(id)! < ackAt.get(id)!, `id ${id}: fail before ack`);
  assert.is(s.stats.failed, N);
  assert.is(s.stats.acked, N);
  assert.is(s.stats.timedOut, 0);
  assert.is(s.stats.restarts, 0);
});

test("timeout replay: tuples held on first delivery time out (1 s) and are replayed", async () => {
  const N = 100;
  const log = spoutLog();
  const heldOnce = new Set<number>();
  const processed = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log), 1);
  b.setBolt(
    "holder",
    richBolt((self, t) => {
      const n = t.getInteger(0);
      if (n % 10 === 4 && !heldOnce.has(n)) {
        heldOnce.add(n); // never acked nor failed
        return;
      }
      processed.add(n);
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), { "topology.message.timeout.secs": 1 }, { timeoutMs: 15_000 });
  const s = finished(r);
  assert.is(processed.size, N);
  assert.is(log.acked.size, N);
  assert.is(heldOnce.size, N / 10);
  assert.is(s.stats.timedOut, N / 10);
  assert.equal([...log.failed].sort((a, b) => a - b), [...heldOnce].sort((a, b) => a - b));
  assert.ok(r.ms >= 900, `timeouts came after ${Math.round(r.ms)} ms`);
  assert.ok(r.ms < 10_000, `run took ${Math.round(r.ms)} ms`);
});

test("resetTimeout keeps a long-held tuple alive past the message timeout", async () => {
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(3, log), 1);
  b.setBolt(
    "slow",
    richBolt((self, t) => {
      // hold for ~1.8 s with a 1 s timeout, resetting every 250 ms
      let left = 7;
      const iv = setInterval(() => {
        self.collector.resetTimeout(t);
        if (--left === 0) {
          clearInterval(iv);
          self.collector.ack(t);
        }
      }, 250);
    }),
    1,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), { "topology.message.timeout.secs": 1 }, { timeoutMs: 15_000 });
  const s = finished(r);
  assert.ok(r.ms >= 1500, `held ${Math.round(r.ms)} ms`);
  assert.is(s.stats.timedOut, 0);
  assert.is(log.failed.length, 0);
  assert.is(log.acked.size, 3);
});

test("resetTimeout from a timer in a quiet topology restarts the full timeout", async () => {
  // 0.4 s timeout (swept every 100 ms); the held tuple is reset every 350 ms for ~2 s.
  // A reset must count from the moment it is made, not from the last scheduler turn.
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(1, log), 1);
  b.setBolt(
    "waiter",
    richBolt((self, t) => {
      let left = 7;
      const iv = setInterval(() => {
        if (--left === 0) {
          clearInterval(iv);
          self.collector.ack(t);
        } else self.collector.resetTimeout(t);
      }, 350);
    }),
    1,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), { "topology.message.timeout.secs": 0.4 }, { timeoutMs: 5000 });
  const s = finished(r);
  assert.ok(r.ms >= 2000, `held ${Math.round(r.ms)} ms`);
  assert.is(s.stats.timedOut, 0, `timed out ${s.stats.timedOut} time(s) despite a reset every 350 ms`);
  assert.is(log.failed.length, 0);
});

// ---------------------------------------------------------------- basic bolts

test("BaseBasicBolt: auto-ack, anchored emits; FailedException fails and replays without a restart", async () => {
  const N = 600;
  const log = spoutLog();
  const failedOnce = new Set<number>();
  const downstream = new Set<number>();
  let prepares = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: 8 }), 2);
  b.setBolt(
    "basic",
    class extends BaseBasicBolt {
      override prepare() {
        prepares++;
      }
      execute(t: Tuple, c: BasicOutputCollector) {
        const n = t.getInteger(0);
        if (n % 7 === 0 && !failedOnce.has(n)) {
          failedOnce.add(n);
          c.emit([n, "partial"]); // anchored: the replay must not leave this tree pending
          throw new FailedException(`retry ${n}`);
        }
        c.emit([n, "ok"]);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["n", "status"]);
      }
    },
    3,
  ).shuffleGrouping("numbers");
  b.setBolt(
    "sink",
    bolt((t) => {
      if (t.getString(1) === "ok") downstream.add(t.getInteger(0));
      if (t.getMessageId().anchorsToIds.size !== 1) throw new Error("basic emit not anchored");
    }),
    2,
  ).shuffleGrouping("basic");
  const s = finished(await runTopology(b.createTopology()));
  assert.is(downstream.size, N);
  assert.is(log.acked.size, N);
  assert.is(log.failed.length, failedOnce.size);
  assert.is(failedOnce.size, Math.ceil(N / 7));
  assert.is(s.stats.restarts, 0, "FailedException is no crash");
  assert.is(prepares, 3, "no instance was replaced");
  assert.is(s.stats.components.basic!.errors, 0);
});

// ---------------------------------------------------------------- async components

test("async nextTuple and async execute (Promises) work", async () => {
  const N = 300;
  const log = spoutLog();
  const processed = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { async: true, batch: 4 }), 2);
  b.setBolt(
    "double",
    richBolt(async (self, t) => {
      await Promise.resolve();
      self.collector.emit(t, [t.getInteger(0) * 2]);
      self.collector.ack(t);
    }, { fields: ["d"] }),
    2,
  ).shuffleGrouping("numbers");
  b.setBolt(
    "basic-async",
    bolt(async (t) => {
      await sleep(0);
      processed.add(t.getInteger(0));
    }),
    3,
  ).shuffleGrouping("double");
  const s = finished(await runTopology(b.createTopology()));
  assert.equal([...processed].sort((a, b) => a - b), range(N).map((i) => i * 2));
  assert.is(log.acked.size, N);
  assert.is(s.stats.failed, 0);
});

test("async prepare/open: nothing runs before they resolve", async () => {
  const order: string[] = [];
  const b = new TopologyBuilder();
  b.setSpout("s", () =>
    new (class extends BaseRichSpout {
      c!: SpoutOutputCollector;
      i = 0;
      override async open(_a: TopologyConfig, _b: TopologyContext, c: SpoutOutputCollector) {
        await sleep(20);
        this.c = c;
        order.push("open");
      }
      nextTuple() {
        if (this.i === 3) return this.c.finish();
        order.push("next");
        this.c.emit([this.i], this.i++);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["n"]);
      }
    })());
  b.setBolt(
    "b",
    bolt((t) => void order.push(`exec ${t.getInteger(0)}`), {
      prepare: async () => {
        await sleep(40);
        order.push("prepare");
      },
    }),
  ).shuffleGrouping("s");
  finished(await runTopology(b.createTopology()));
  assert.is(order[0], "open");
  assert.ok(order.indexOf("prepare") < order.indexOf("exec 0"), order.join(", "));
  assert.is(order.filter((x) => x.startsWith("exec")).length, 3);
});

// ---------------------------------------------------------------- finish hook

test("finish(): a bolt's end-of-input emits reach downstream before the run ends", async () => {
  const received: unknown[][] = [];
  let endSeen = false;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(100, spoutLog()), 2);
  b.setBolt("sum", () => {
    let sum = 0;
    return richBolt((self, t) => {
      sum += t.getInteger(0);
      self.collector.ack(t);
    }, {
      fields: ["sum"],
      finish: (self) => self.collector.emit([sum]),
    })();
  }, 3).shuffleGrouping("numbers");
  b.setBolt(
    "total",
    bolt((t, c) => c.emit([t.getInteger(0)]), {
      fields: ["sum"],
      finish: (c) => {
        endSeen = true;
        c.emit([-1]);
      },
    }),
    1,
  ).globalGrouping("sum");
  b.setBolt("sink", bolt((t) => void received.push(t.getValues())), 1).shuffleGrouping("total");
  finished(await runTopology(b.createTopology()));
  assert.ok(endSeen);
  assert.is(received.length, 4, "three partial sums and the end marker");
  assert.equal(received[3], [-1], "the finish emit of total comes after the partial sums");
  assert.is(received.slice(0, 3).reduce((a, v) => a + (v[0] as number), 0), (99 * 100) / 2);
});

// ---------------------------------------------------------------- ticks

test("tick tuples arrive at the configured rate, with isTick", async () => {
  const ticks: number[] = [];
  const rates = new Set<unknown>();
  let normal = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(Infinity, spoutLog(), { async: true }), 1);
  b.setBolt(
    "ticking",
    richBolt((self, t) => {
      if (isTick(t)) {
        ticks.push(performance.now());
        rates.add(t.getValue(0));
        assert.is(t.getSourceComponent(), "__system");
        assert.is(t.getSourceStreamId(), "__tick");
      } else normal++;
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("numbers").addConfiguration("topology.tick.tuple.freq.ms", 50);
  b.setBolt(
    "quiet",
    richBolt((self, t) => {
      if (isTick(t)) throw new Error("ticks only where configured");
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("numbers");
  let handle!: TopologyHandle;
  const run = runTopology(b.createTopology(), {}, { onHandle: (h) => (handle = h) });
  await sleep(1000);
  await handle.kill();
  const r = await run;
  assert.is(r.summary?.state, "KILLED");
  assert.ok(ticks.length >= 5 && ticks.length <= 40, `${ticks.length} ticks in 1 s at 50 ms`);
  assert.equal([...rates], [0.05]);
  assert.ok(normal > 0);
});

test("tick frequency in seconds (topology-wide config)", async () => {
  let ticks = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(Infinity, spoutLog(), { async: true }), 1);
  b.setBolt(
    "ticking",
    richBolt((self, t) => {
      if (isTick(t)) ticks++;
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("numbers");
  let handle!: TopologyHandle;
  const run = runTopology(b.createTopology(), { "topology.tick.tuple.freq.secs": 0.1 }, {
    onHandle: (h) => (handle = h),
  });
  await sleep(700);
  await handle.kill();
  await run;
  assert.ok(ticks >= 4 && ticks <= 30, `${ticks} ticks over 2 tasks in 0.7 s at 100 ms`);
});

// ---------------------------------------------------------------- handle controls

/** An endless spout counting lifecycle calls. */
function lifecycleSpout(calls: Record<string, number>) {
  return () =>
    new (class extends BaseRichSpout {
      c!: SpoutOutputCollector;
      i = 0;
      override open(_a: TopologyConfig, _b: TopologyContext, c: SpoutOutputCollector) {
        this.c = c;
        calls.open = (calls.open ?? 0) + 1;
      }
      nextTuple() {
        calls.emit = (calls.emit ?? 0) + 1;
        this.c.emit([this.i], this.i++);
      }
      override ack() {
        calls.ack = (calls.ack ?? 0) + 1;
      }
      override activate() {
        calls.activate = (calls.activate ?? 0) + 1;
      }
      override deactivate() {
        calls.deactivate = (calls.deactivate ?? 0) + 1;
      }
      override close() {
        calls.close = (calls.close ?? 0) + 1;
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["n"]);
      }
    })();
}

test("deactivate / activate / kill on a handle", async () => {
  const calls: Record<string, number> = {};
  let cleanups = 0;
  const b = new TopologyBuilder();
  b.setSpout("endless", lifecycleSpout(calls), 1);
  b.setBolt("sink", bolt(async () => await sleep(0), { cleanup: () => void cleanups++ }), 2).shuffleGrouping("endless");
  let h!: TopologyHandle;
  const run = runTopology(b.createTopology(), {}, { onHandle: (x) => (h = x) });
  try {
    await sleep(150);
    assert.is(h.state, "RUNNING");
    assert.ok((calls.emit ?? 0) > 0);
    h.deactivate();
    assert.is(h.state, "PAUSED");
    assert.is(calls.deactivate, 1);
    await sleep(50);
    const paused = calls.emit!;
    // in-flight tuples are still processed while deactivated
    const until = performance.now() + 5000;
    while (h.stats().pending > 0 && performance.now() < until) await sleep(10);
    assert.is(h.stats().pending, 0, "in-flight tuples were still processed");
    await sleep(100);
    assert.is(calls.emit, paused, "no nextTuple while deactivated");
    h.activate();
    assert.is(h.state, "RUNNING");
    assert.is(calls.activate, 1);
    await sleep(150);
    assert.ok(calls.emit! > paused, "emits resume after activate");
  } finally {
    if (h.state === "RUNNING" || h.state === "PAUSED") void h.kill();
  }
  const summary = await h.kill();
  assert.is(summary.state, "KILLED");
  const r = await run;
  assert.is(r.summary?.state, "KILLED");
  assert.is(calls.close, 1, "close ran");
  assert.is(cleanups, 2, "cleanup ran on every bolt task");
  assert.is(calls.open, 1);
});

test("drain: stops the spouts, lets in-flight trees finish, then stops", async () => {
  const calls: Record<string, number> = {};
  let inBolt = 0;
  const b = new TopologyBuilder();
  b.setSpout("endless", lifecycleSpout(calls), 1).setMaxSpoutPending(50);
  b.setBolt(
    "slow",
    richBolt(async (self, t) => {
      inBolt++;
      await sleep(2);
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("endless");
  let h!: TopologyHandle;
  const run = runTopology(b.createTopology(), {}, { onHandle: (x) => (h = x) });
  await sleep(200);
  assert.ok(h.stats().pending > 0, "trees in flight when draining");
  const summary = await h.drain(10_000);
  assert.is(summary.state, "KILLED");
  assert.is(summary.stats.pending, 0, "nothing left in flight");
  assert.is(summary.stats.failed, 0);
  assert.is(summary.stats.acked, summary.stats.spoutEmitted, "every emitted tree completed");
  assert.is(calls.ack, calls.emit);
  assert.is(calls.deactivate, 1);
  assert.ok(inBolt > 0);
  await run;
});

// ---------------------------------------------------------------- completeTopology

test("completeTopology returns every component's emits (mocked sources, named streams)", async () => {
  const b = new TopologyBuilder();
  b.setSpout("lines", iterableSpout(() => ["never used"], { fields: ["line"] }), 2);
  b.setBolt(
    "split",
    bolt((t, c) => {
      for (const w of t.getString(0).split(" ")) {
        if (w.length > 3) c.emit("long", [w]);
        else c.emit([w]);
      }
    }, { fields: ["word"], streams: { long: ["word"] } }),
    2,
  ).shuffleGrouping("lines");
  b.setBolt("upper", bolt((t, c) => c.emit([t.getString(0).toUpperCase()]), { fields: ["word"] }), 1)
    .shuffleGrouping("split", "long");
  const r = await completeTopology(b.createTopology(), {
    mockedSources: { lines: [["the cat"], ["jumped over"], ["a dog"]] },
  });
  assert.is(r.summary.state, "FINISHED");
  assert.equal(r.emitted("lines").map((v) => v[0]).sort(), ["a dog", "jumped over", "the cat"]);
  assert.equal(r.emitted("split").map((v) => v[0]).sort(), ["a", "cat", "dog", "the"]);
  assert.equal(r.emitted("split", "long").map((v) => v[0]).sort(), ["jumped", "over"]);
  assert.equal(r.emitted("upper").map((v) => v[0]).sort(), ["JUMPED", "OVER"]);
  assert.equal(r.emitted("nobody"), []);
  await completeTopology(b.createTopology(), { mockedSources: { split: [["x"]] } }).then(
    () => assert.unreachable("a bolt cannot be mocked"),
    (e) => assert.match(e.message, '"split"'),
  );
  await completeTopology(b.createTopology(), { mockedSources: { nope: [["x"]] } }).then(
    () => assert.unreachable("unknown component"),
    (e) => assert.match(e.message, '"nope"'),
  );
});

test("completeTopology without mocks runs the real spouts; a run that never ends times out", async () => {
  const r = await completeTopology(wordCount(["a b a"], [1, 1, 1], new Map(), { n: 0 }));
  assert.equal(r.emitted("count").sort(), [["a", 2], ["b", 1]]);
  const b = new TopologyBuilder();
  b.setSpout("endless", numberSpout(Infinity, spoutLog(), { async: true }), 1);
  b.setBolt("sink", bolt(() => {}), 1).shuffleGrouping("endless");
  const t0 = performance.now();
  await completeTopology(b.createTopology(), { timeoutMs: 300 }).then(
    () => assert.unreachable("an endless topology completed"),
    (e) => assert.match(e.message, "300 ms"),
  );
  assert.ok(performance.now() - t0 < 5000);
});

// ---------------------------------------------------------------- max.spout.pending

test("max.spout.pending bounds the trees in flight per spout task", async () => {
  const N = 2000;
  const log = spoutLog();
  let sampledMax = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log), 2).setMaxSpoutPending(10);
  b.setBolt(
    "slowish",
    richBolt(async (self, t) => {
      if (t.getInteger(0) % 50 === 0) await sleep(1);
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("numbers");
  let h!: TopologyHandle;
  const run = runTopology(b.createTopology(), {}, { onHandle: (x) => (h = x) });
  const iv = setInterval(() => {
    const p = h.stats().components.numbers!.pending;
    if (p > sampledMax) sampledMax = p;
  }, 1);
  let result;
  try {
    result = await run;
  } finally {
    clearInterval(iv); // also when the run fails: a live interval would keep this file's process alive
  }
  const s = finished(result);
  assert.is(log.acked.size, N);
  assert.ok(log.maxPending <= 10, `a spout task saw ${log.maxPending} pending`);
  assert.is(log.maxPending, 10, "the bound was reached (the test is meaningful)");
  assert.ok(sampledMax <= 20, `two tasks had ${sampledMax} pending`);
  assert.is(s.stats.failed, 0);
});

test("max.spout.pending from the topology config", async () => {
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(500, log), 1);
  b.setBolt(
    "b",
    richBolt(async (self, t) => {
      await sleep(0);
      self.collector.ack(t);
    }),
    4,
  ).shuffleGrouping("numbers");
  finished(await runTopology(b.createTopology(), { "topology.max.spout.pending": 3 }));
  assert.is(log.acked.size, 500);
  assert.ok(log.maxPending <= 3 && log.maxPending >= 2, `max pending ${log.maxPending}`);
});

test.run();
