// metrics/aggregate.ts, the one aggregator of the embedded engine (tasks →
// components → topology) and the distributed tracker (containers →
// components → topology): how parts add up, and a one-container run seen
// through the tracker's path equals the engine's own snapshot.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { bolt, Fields, iterableSpout, TopologyBuilder } from "../mod.ts";
import { ComponentAggregator, isLaterError, topologySnapshot } from "../metrics/aggregate.ts";
import { type ComponentSnapshot, emptyComponentSnapshot } from "../metrics/snapshot.ts";
import { Container } from "../engine/container.ts";
import { parseConfig } from "../topology/config.ts";
import { yieldNow } from "../runtime/mod.ts";
import { ErrorLog, metricsReport } from "../cluster/metrics_report.ts";
import { ContainerReports } from "../tracker/remote_stats.ts";
import { decodeMetrics, encodeMetrics } from "../transport/wire/mod.ts";

const part = (over: Partial<ComponentSnapshot>): ComponentSnapshot => ({
  ...emptyComponentSnapshot("bolt"),
  tasks: 1,
  ...over,
});

test("parts add up: counters summed, capacity the busiest's, next-tuple counts only where there are some", () => {
  const agg = new ComponentAggregator();
  const make = () => emptyComponentSnapshot("bolt");
  agg.add(
    "b",
    part({ emitted: 3, executed: 4, acked: 4, failed: 1, restarts: 1, errors: 2, queued: 5, capacity: 0.2 }),
    make,
  );
  agg.add("b", part({ emitted: 7, executed: 6, acked: 6, timedOut: 2, pending: 3, queued: 1, capacity: 0.7 }), make);
  const b = agg.finish().b!;
  assert.equal(
    [
      b.tasks,
      b.emitted,
      b.executed,
      b.acked,
      b.failed,
      b.timedOut,
      b.pending,
      b.restarts,
      b.errors,
      b.queued,
      b.capacity,
    ],
    [2, 10, 10, 10, 1, 2, 3, 1, 2, 6, 0.7],
  );
  assert.is(b.nextTupleCount, undefined);
  const s = new ComponentAggregator();
  s.add("s", { ...part({ nextTupleCount: 5 }), kind: "spout" }, () => emptyComponentSnapshot("spout"));
  s.add("s", { ...part({ nextTupleCount: 2 }), kind: "spout" }, () => emptyComponentSnapshot("spout"));
  assert.is(s.finish().s!.nextTupleCount, 7);
});

test("the latest error wins whatever the order of the parts; stuck tasks add up", () => {
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
    const parts = [
      part({ lastError: "early", lastErrorAt: 100 }),
      part({ lastError: "late", lastErrorAt: 300, stuckTasks: 1 }),
      part({ lastError: null, lastErrorAt: null, stuckTasks: 2 }),
    ];
    const agg = new ComponentAggregator();
    for (const i of order) agg.add("b", parts[i]!, () => emptyComponentSnapshot("bolt"));
    const b = agg.finish().b!;
    assert.is(b.lastError, "late", `order ${order}`);
    assert.is(b.lastErrorAt, 300);
    assert.is(b.stuckTasks, 3);
  }
  assert.ok(
    isLaterError({ lastError: "b", lastErrorAt: 5 }, { lastError: "a", lastErrorAt: 5 }),
    "a tie goes to the later part",
  );
  assert.not.ok(isLaterError({ lastError: null }, { lastError: null }));
});

test("the mean complete latency is weighted by the trees each part covers; unknown counters add up", () => {
  const agg = new ComponentAggregator();
  const make = () => emptyComponentSnapshot("spout");
  // As a container reports it: a mean over its acked trees.
  agg.add("s", { ...part({ acked: 1, completeLatencyMs: 10 }), kind: "spout" }, make);
  agg.add("s", { ...part({ acked: 3, completeLatencyMs: 2 }), kind: "spout" }, make);
  // As a task counts it: a sum over the trees it completed.
  agg.add("s", { ...part({ acked: 0 }), kind: "spout", newCounter: 4, note: "x" } as ComponentSnapshot, make, {
    sum: 12,
    n: 4,
  });
  agg.add("s", { ...part({}), kind: "spout", newCounter: 1 } as ComponentSnapshot, make, { sum: 0, n: 0 });
  const s = agg.finish().s! as ComponentSnapshot & { newCounter?: number; note?: string };
  assert.is(s.completeLatencyMs, (10 + 6 + 12) / 8);
  assert.is(s.newCounter, 5);
  assert.is(s.note, undefined, "only numbers add up");
  assert.is(new ComponentAggregator().finish().x, undefined);
});

test("a topology's totals come from its components: spouts' trees, bolts' executes, everyone's emits", () => {
  const components = {
    s: { ...emptyComponentSnapshot("spout"), emitted: 10, acked: 8, failed: 1, timedOut: 1, pending: 2, restarts: 1 },
    b: { ...emptyComponentSnapshot("bolt"), emitted: 30, executed: 10, acked: 10, failed: 5, restarts: 2 },
  };
  const s = topologySnapshot("t", "RUNNING", components, {}, {
    uptimeMs: 5,
    backpressure: true,
    backpressureEpisodes: 1,
    backpressureMs: 2,
  });
  assert.equal(
    [s.spoutEmitted, s.emitted, s.executed, s.acked, s.failed, s.timedOut, s.pending, s.restarts],
    [10, 40, 10, 8, 1, 1, 2, 3],
  );
  assert.equal([s.name, s.state, s.uptimeMs, s.backpressure, s.backpressureEpisodes, s.backpressureMs], [
    "t",
    "RUNNING",
    5,
    true,
    1,
    2,
  ]);
});

test("one container's run: the tracker's merge of its report equals the engine's own snapshot", async () => {
  const b = new TopologyBuilder();
  b.setSpout(
    "lines",
    iterableSpout(() => Array.from({ length: 400 }, (_, i) => `a${i % 7} b${i % 3} c`), { fields: ["line"] }),
    2,
  );
  b.setBolt(
    "split",
    bolt((t, c) => {
      for (const w of t.getString(0).split(" ")) c.emit([w]);
    }, { fields: ["word"] }),
    3,
  ).shuffleGrouping("lines");
  b.setBolt("count", bolt(() => {}), 2).fieldsGrouping("split", new Fields("word"));
  const container = new Container({
    name: "agg",
    topology: b.createTopology(),
    config: parseConfig({ "topology.reliability.mode": "ATLEAST_ONCE" }),
    yielder: yieldNow,
    log: () => {},
  });
  container.start();
  await container.done;
  const engine = container.stats({ buckets: true });
  const report = metricsReport(
    { topology: "agg", container: 0, epoch: 1, pid: 1, host: "h" },
    engine,
    { dropped: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 },
    "",
    new ErrorLog(),
  );
  const reports = new ContainerReports();
  reports.add(decodeMetrics(encodeMetrics(report)));
  const components: Record<string, number[]> = {};
  for (const [id, t] of Object.entries(engine.tasks!)) (components[t.component] ??= []).push(Number(id));
  const tracker = reports.merged({
    name: "agg",
    state: "FINISHED",
    components,
    kindOf: (id) => engine.components[id]?.kind ?? null,
    backpressure: false,
    backpressureEpisodes: 0,
  });
  const totals = (
    s: typeof engine,
  ) => [s.spoutEmitted, s.emitted, s.executed, s.acked, s.failed, s.timedOut, s.pending, s.restarts];
  assert.equal(totals(tracker), totals(engine));
  // Two spout tasks each emit the 400 lines; split makes three words of each.
  assert.equal(totals(engine).slice(0, 4), [800, 800 + 2400, 800 + 2400, 800]);
  assert.equal(tracker.tasks, engine.tasks);
  for (const [name, e] of Object.entries(engine.components)) {
    const t = tracker.components[name]!;
    for (
      const k of [
        "kind",
        "tasks",
        "emitted",
        "executed",
        "acked",
        "failed",
        "timedOut",
        "pending",
        "restarts",
        "errors",
        "lastError",
        "queued",
        "capacity",
        "nextTupleCount",
      ] as const
    ) {
      assert.equal(t[k], e[k], `${name}.${k}`);
    }
    assert.ok(Math.abs(t.completeLatencyMs - e.completeLatencyMs) < 1e-9, `${name}.completeLatencyMs`);
    assert.equal(t.executeLatency ?? null, e.executeLatency ?? null, `${name}.executeLatency`);
    assert.equal(t.processLatency ?? null, e.processLatency ?? null, `${name}.processLatency`);
    assert.equal(t.completeLatency ?? null, e.completeLatency ?? null, `${name}.completeLatency`);
    assert.equal(t.allTime, e.allTime, `${name}.allTime`);
  }
});

test.run();
