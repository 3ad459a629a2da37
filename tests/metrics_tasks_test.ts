// Per-task metrics (counters, capacity) and sampled latency histograms:
// stats(), Prometheus series with a `task` label and summary quantiles.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { parsePrometheus as parse } from "../testing/prometheus.ts";
import { capacityStats } from "./fixtures/capacity.ts";
import { forever } from "./fixtures/forever.ts";
import { bolt, Fields, iterableSpout, submit, TopologyBuilder } from "../mod.ts";
import { LatencyHistogram } from "../metrics/mod.ts";
import { renderPrometheus } from "../tracker/mod.ts";
import { LATENCY_SAMPLE_EVERY } from "../actors/task_actor.ts";

const SENTENCES = 3000;

function bounded() {
  const b = new TopologyBuilder();
  b.setSpout(
    "sentences",
    iterableSpout(() => Array.from({ length: SENTENCES }, (_, i) => `a${i % 7} b${i % 5} c${i % 3}`), {
      fields: ["sentence"],
    }),
  );
  b.setBolt(
    "split",
    bolt((t, c) => {
      for (const w of t.getString(0).split(" ")) c.emit([w]);
    }, { fields: ["word"] }),
    2,
  ).shuffleGrouping("sentences");
  b.setBolt("count", bolt(() => {}), 3).fieldsGrouping("split", new Fields("word"));
  return b.createTopology();
}

test("LatencyHistogram: percentiles within 1 %, merge, empty is null", () => {
  const h = new LatencyHistogram();
  assert.is(h.summary(), null);
  for (let i = 1; i <= 10_000; i++) h.record(i / 100); // 0.01 … 100 ms
  const s = h.summary()!;
  assert.is(s.count, 10_000);
  const near = (got: number, want: number) =>
    assert.ok(Math.abs(got - want) <= want * 0.01 + 0.001, `${got} vs ${want}`);
  near(s.p50Ms, 50);
  near(s.p99Ms, 99);
  near(s.p999Ms, 99.9);
  near(s.maxMs, 100);
  near(s.meanMs, 50);
  const other = new LatencyHistogram();
  other.record(1000);
  const m = LatencyHistogram.merged([h, other, new LatencyHistogram()])!;
  assert.is(m.count, 10_001);
  near(m.maxMs, 1000);
  assert.is(LatencyHistogram.merged([new LatencyHistogram()]), null);
});

test("stats().tasks: per-task counters add up to each component's; latencies are sampled", async () => {
  const handle = await submit("tasks", { "topology.reliability.mode": "ATLEAST_ONCE" }, bounded(), {
    handleSignals: false,
  });
  const { stats } = await handle.done;
  const tasks = Object.entries(stats.tasks!);
  assert.is(tasks.length, 6);
  for (const [name, c] of Object.entries(stats.components)) {
    const mine = tasks.filter(([, t]) => t.component === name).map(([, t]) => t);
    assert.is(mine.length, c.tasks, name);
    for (const f of ["emitted", "executed", "acked", "failed", "timedOut", "restarts", "errors"] as const) {
      assert.is(mine.reduce((n, t) => n + t[f], 0), c[f], `${name}.${f}`);
    }
    for (const t of mine) assert.is(t.kind, c.kind);
  }
  // Each count task executed its share; fields grouping spreads 15 words over 3 tasks.
  assert.ok(tasks.filter(([, t]) => t.component === "count").every(([, t]) => t.executed > 0));
  // Execute latency: one execute in LATENCY_SAMPLE_EVERY per task.
  const count = stats.components.count!;
  const el = count.executeLatency!;
  assert.ok(el !== null, "count has execute latency");
  assert.ok(
    el.count >= Math.floor(count.executed / LATENCY_SAMPLE_EVERY) - 3 &&
      el.count <= Math.ceil(count.executed / LATENCY_SAMPLE_EVERY) + 3,
    `${el.count} samples of ${count.executed}`,
  );
  assert.ok(el.p50Ms <= el.p99Ms && el.p99Ms <= el.p999Ms && el.p999Ms <= el.maxMs, JSON.stringify(el));
  const cl = stats.components.sentences!.completeLatency!;
  assert.ok(cl !== null, "the spout has complete latency");
  assert.ok(Math.abs(cl.count - SENTENCES / LATENCY_SAMPLE_EVERY) <= 2, `${cl.count} samples`);
  assert.is(stats.components.sentences!.executeLatency, undefined);
  assert.is(stats.components.split!.completeLatency, undefined);
  // Per task, whole-run totals of the samples; they add up to the component's.
  for (const [name, c] of Object.entries(stats.components)) {
    const mine = tasks.filter(([, t]) => t.component === name).map(([, t]) => t.allTime!);
    const keys = c.kind === "bolt" ? ["executeLatency", "processLatency"] as const : ["completeLatency"] as const;
    for (const k of keys) {
      const all = c.allTime![k]!;
      assert.is(mine.reduce((n, a) => n + (a[k]?.count ?? 0), 0), all.count, `${name} ${k} samples`);
      assert.ok(
        Math.abs(mine.reduce((n, a) => n + (a[k]?.sumMs ?? 0), 0) - all.sumMs) < 0.01 * mine.length,
        `${name} ${k} sum`,
      );
      assert.ok(mine.every((a) => (a[k]?.maxMs ?? 0) <= all.maxMs), `${name} ${k} max`);
    }
  }

  const text = renderPrometheus(stats, { container: "0" });
  const m = parse(text);
  for (const [task, t] of tasks) {
    const labels = `{topology="tasks",component="${t.component}",task="${task}",container="0"}`;
    assert.is(m.get(`ardea_task_emit_count${labels}`), t.emitted, `task ${task} emitted`);
    assert.is(m.has(`ardea_task_execute_count${labels}`), t.kind === "bolt");
    assert.is(m.has(`ardea_task_capacity${labels}`), t.kind === "bolt");
    const mean = t.kind === "bolt" ? t.allTime?.executeLatency?.meanMs : t.allTime?.completeLatency?.meanMs;
    const series = t.kind === "bolt" ? "ardea_task_execute_latency_mean_ms" : "ardea_task_complete_latency_mean_ms";
    assert.is(m.get(`${series}${labels}`), mean, `task ${task} mean latency`);
  }
  const q = (name: string, component: string, quantile: string) =>
    m.get(`${name}{topology="tasks",component="${component}",container="0",quantile="${quantile}"}`);
  assert.ok(Math.abs(q("ardea_execute_latency_seconds", "count", "0.99")! - el.p99Ms / 1000) < 1e-6);
  assert.ok(q("ardea_complete_latency_seconds", "sentences", "0.5")! > 0);
  assert.is(
    m.get('ardea_complete_latency_seconds_count{topology="tasks",component="sentences",container="0"}'),
    cl.count,
  );
  assert.match(text, /^# TYPE ardea_execute_latency_seconds summary$/m);
  assert.match(text, /^# HELP ardea_execute_latency_seconds .*__execute-latency/m);
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]);
  assert.is(new Set(types).size, types.length, "each metric is declared once");
});

test("capacity: a saturated bolt task is near 1, an idle one near 0", async () => {
  const b = new TopologyBuilder();
  b.setSpout("n", iterableSpout(forever, { fields: ["n"] }));
  b.setBolt(
    "slow",
    bolt((t, c) => {
      const until = performance.now() + 0.5;
      while (performance.now() < until) { /* busy */ }
      c.emit([t.getValue(0)]);
    }, { fields: ["n"] }),
    1,
  ).shuffleGrouping("n");
  b.setBolt("idle", bolt(() => {}), 1).shuffleGrouping("slow");
  const handle = await submit(
    "capacity",
    { "topology.reliability.mode": "ATLEAST_ONCE", "topology.max.spout.pending": 200 },
    b.createTopology(),
    { handleSignals: false, log: () => {} },
  );
  try {
    const s = await capacityStats(handle);
    const byName = (n: string) => Object.values(s.tasks!).find((t) => t.component === n)!;
    assert.ok(byName("slow").capacity > 0.6, `slow: ${byName("slow").capacity}`);
    assert.ok(byName("idle").capacity < 0.3, `idle: ${byName("idle").capacity}`);
    assert.is(s.components.slow!.capacity, byName("slow").capacity);
    assert.is(byName("n").capacity, 0);
  } finally {
    await handle.kill();
  }
});

test.run();
