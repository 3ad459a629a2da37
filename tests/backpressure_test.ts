// Backpressure end to end: bounded mailboxes behind a slow bolt, no timeout
// storm while throttled, and timers that keep firing during long executes.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { bolt, TopologyBuilder, type TopologyHandle } from "../mod.ts";
import { finished, numberSpout, richBolt, runTopology, spin, spoutLog } from "./fixtures/engine_components.ts";

/** fast spout → split (×8, fast) → slow bolt (busy `ms` per tuple). */
function slowPipeline(n: number, ms: number, processed: Set<number>, spouts = 2) {
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("fast", numberSpout(n, log, { batch: 4 }), spouts);
  b.setBolt(
    "split",
    bolt((t, c) => {
      const i = t.getInteger(0);
      for (let k = 0; k < 8; k++) c.emit([i, k]);
    }, { fields: ["n", "k"] }),
    1,
  ).shuffleGrouping("fast");
  b.setBolt(
    "slow",
    richBolt((self, t) => {
      spin(ms);
      processed.add(t.getInteger(0) * 8 + t.getInteger(1));
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("split");
  return { topology: b.createTopology(), log };
}

test("a slow bolt behind a fast spout: mailboxes stay bounded, every tuple processed", async () => {
  const HWM = 100;
  const N = 400;
  const processed = new Set<number>();
  const { topology, log } = slowPipeline(N, 0.25, processed);
  let h: TopologyHandle | undefined;
  const peak: Record<string, number> = { split: 0, slow: 0 };
  let samples = 0;
  const sample = () => {
    if (!h) return;
    samples++;
    const c = h.stats().components;
    for (const k of ["split", "slow"]) peak[k] = Math.max(peak[k]!, c[k]!.queued);
  };
  let emits = 0;
  const iv = setInterval(sample, 2);
  const r = await runTopology(topology, {
    "topology.mailbox.high.watermark": HWM,
    "topology.mailbox.low.watermark": HWM / 2,
    "topology.max.spout.pending": 100_000,
  }, {
    timeoutMs: 20_000,
    onHandle: (x) => (h = x),
    // sample inside the scheduler's slices too (the tap runs synchronously in emit)
    tap: () => {
      if (++emits % 64 === 0) sample();
    },
  });
  clearInterval(iv);
  const s = finished(r);
  assert.is(processed.size, N * 8, "every tuple processed");
  assert.is(log.acked.size, N);
  assert.ok(samples > 50, `samples ${samples}`);
  assert.ok(s.stats.backpressureEpisodes > 0, "backpressure was raised (the test is meaningful)");
  // split's input is throttled by the spouts: about one high watermark.
  assert.ok(peak.split! <= 2 * HWM, `split peaked at ${peak.split}`);
  // slow's input: split keeps running under pressure, at most its own mailbox × fan-out 8.
  assert.ok(peak.slow! <= 12 * HWM, `slow peaked at ${peak.slow} (2 tasks)`);
  assert.ok(peak.slow! >= HWM / 2, `slow peaked at ${peak.slow}: it was the bottleneck`);
});

test("no timeout storm under backpressure (short message timeout), while the same load without backpressure times out", async () => {
  const N = 500;
  const config = {
    "topology.message.timeout.secs": 0.5,
    "topology.max.spout.pending": 100_000,
  };
  // with backpressure: queues stay near 60 tuples, ~15 ms of work each
  const processed = new Set<number>();
  const { topology, log } = slowPipeline(N, 0.25, processed, 1);
  const r = await runTopology(topology, {
    ...config,
    "topology.mailbox.high.watermark": 60,
  }, { timeoutMs: 20_000 });
  const s = finished(r);
  assert.is(processed.size, N * 8);
  assert.is(log.acked.size, N);
  assert.is(s.stats.timedOut, 0, `timed out ${s.stats.timedOut}`);
  assert.is(s.stats.failed, 0);
  assert.ok(r.ms > 600, `the run (${Math.round(r.ms)} ms) outlasted the 500 ms timeout`);

  // control: no effective backpressure, the spout floods 4000 tuples of ~1 s of work into the mailboxes
  const control = slowPipeline(N, 0.25, new Set(), 1);
  let h: TopologyHandle | undefined;
  const run = runTopology(control.topology, {
    ...config,
    "topology.mailbox.high.watermark": 1_000_000,
  }, { timeoutMs: 20_000, onHandle: (x) => (h = x) });
  while (h === undefined) await new Promise((r) => setTimeout(r, 1));
  const until = performance.now() + 8000;
  while (h.stats().timedOut === 0 && h.state === "RUNNING" && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const timedOut = h.stats().timedOut;
  const pendingAtKill = h.stats().pending;
  await h.kill();
  await run;
  assert.ok(
    timedOut > 0,
    `without backpressure the same load times out (the check above is meaningful); pending ${pendingAtKill}`,
  );
});

test("backpressure time does not count toward tuple timeouts", async () => {
  // One slow consumer, a queue that keeps the spout throttled for well over the timeout.
  const N = 300;
  const log = spoutLog();
  const processed = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout("fast", numberSpout(N, log, { batch: 8 }), 1);
  b.setBolt(
    "slow",
    richBolt((self, t) => {
      spin(5);
      processed.add(t.getInteger(0));
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("fast");
  const r = await runTopology(b.createTopology(), {
    "topology.message.timeout.secs": 1, // the queue (40 × 5 ms) takes 200 ms; the run over 1.5 s
    "topology.mailbox.high.watermark": 40,
    "topology.max.spout.pending": 100_000,
  }, { timeoutMs: 20_000 });
  const s = finished(r);
  assert.is(processed.size, N);
  assert.ok(r.ms > 1000, `run ${Math.round(r.ms)} ms`);
  assert.ok(s.stats.backpressureMs > 500, `throttled ${Math.round(s.stats.backpressureMs)} ms`);
  assert.is(s.stats.timedOut, 0);
});

test("a long synchronous execute does not starve timers", async () => {
  const N = 60;
  const log = spoutLog();
  let executed = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: N }), 1);
  b.setBolt(
    "hog",
    richBolt((self, t) => {
      spin(20);
      executed++;
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("numbers");
  const fired: number[] = [];
  const iv = setInterval(() => fired.push(performance.now()), 5);
  const t0 = performance.now();
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 20_000 });
  clearInterval(iv);
  finished(r);
  assert.is(executed, N);
  const during = [t0, ...fired.filter((t) => t <= t0 + r.ms), t0 + r.ms];
  let maxGap = 0;
  for (let i = 1; i < during.length; i++) maxGap = Math.max(maxGap, during[i]! - during[i - 1]!);
  // 60 × 20 ms of work; each execute is 20 ms, so timers should get a turn at least every few executes
  // (the bound is generous: a loaded machine deschedules the process now and then; starved, the gap is the whole run)
  assert.ok(fired.length >= 20, `a 5 ms interval fired ${fired.length} times during ${Math.round(r.ms)} ms`);
  assert.ok(maxGap < 400, `timers starved for ${Math.round(maxGap)} ms (a single execute takes 20 ms)`);
});

test("a long async execute does not block other bolts or timers", async () => {
  const log = spoutLog();
  let fast = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(200, log), 1);
  b.setBolt(
    "slow-async",
    richBolt(async (self, t) => {
      await new Promise((r) => setTimeout(r, 2));
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("numbers");
  b.setBolt(
    "fast",
    richBolt((self, t) => {
      fast++;
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("numbers");
  let ticks = 0;
  const iv = setInterval(() => ticks++, 5);
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 20_000 });
  clearInterval(iv);
  finished(r);
  assert.is(fast, 200);
  assert.is(log.acked.size, 200);
  assert.ok(ticks >= 5, `interval fired ${ticks} times in ${Math.round(r.ms)} ms`);
});

test.run();
