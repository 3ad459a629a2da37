// How the distributed tracker merges what containers report (no NATS): a
// component's window percentiles over containers are those of one histogram
// of every sample (buckets shipped in the metrics message, checked through
// the wire codec), run totals, next-tuple counts and user metrics are summed
// per component, a replaced process keeps its counts, and malformed buckets
// are skipped.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { LatencyHistogram, ValueHistogram } from "../metrics/latency.ts";
import { mergeUserMetrics } from "../metrics/task_metrics.ts";
import type { RemoteTracking } from "../tracker/remote_tracking.ts";
import { containerRecordsSnapshot } from "../tracker/remote_stats.ts";
import { RemoteTopology } from "../tracker/remote_topology.ts";
import {
  type ContainerMetrics,
  type ContainerRecord,
  decodeMetrics,
  encodeMetrics,
  runEpoch,
  type TopologyRecord,
  WIRE_VERSION,
} from "../transport/wire/mod.ts";

/** A deterministic generator (LCG) so every run sees the same samples. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test("buckets carry a histogram exactly: same percentiles, count, mean and max once merged", () => {
  const r = rng(7);
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const all = new LatencyHistogram();
  for (let i = 0; i < 5000; i++) {
    const v = r() ** 3 * 20; // mostly small, a long tail
    a.record(v);
    all.record(v);
  }
  for (let i = 0; i < 300; i++) {
    const v = 40 + r() * 200; // another container, slower
    b.record(v);
    all.record(v);
  }
  const m = new LatencyHistogram();
  m.addBuckets(a.buckets()!);
  m.addBuckets(b.buckets()!);
  assert.equal(m.summary(), all.summary());
  assert.is(new LatencyHistogram().buckets(), null);
  // Values (user histograms), 0 and large ones included.
  const v = new ValueHistogram();
  for (const x of [0, 0, 3, 700, 1e12]) v.record(x);
  const w = new ValueHistogram();
  w.addBuckets(v.buckets()!);
  assert.equal(w.summary(), v.summary());
});

test("malformed buckets are skipped, never thrown", () => {
  const h = new LatencyHistogram();
  h.addBuckets({ sum: 1, max: 5, counts: [1] }); // odd length
  h.addBuckets({ sum: 1, max: 5, counts: [0, 3] }); // gap 0
  h.addBuckets({ sum: 1, max: 5, counts: [2, -1] }); // negative count
  h.addBuckets({ sum: 1, max: 5, counts: [1e9, 1] }); // beyond an hour
  h.addBuckets({ sum: 1, max: 5, counts: [1.5, 1] });
  assert.is(h.count, 0);
  assert.is(h.summary(), null);
  const ok = new LatencyHistogram();
  ok.record(2);
  h.addBuckets({ ...ok.buckets()!, max: -3 }); // a bad max only loses the max's exactness
  assert.is(h.count, 1);
});

const submittedAt = Date.now() - 10_000;
const rec: TopologyRecord = {
  version: WIRE_VERSION,
  name: "merge",
  state: "RUNNING",
  config: {},
  bundle: "0".repeat(64),
  args: [],
  cwd: "/",
  containers: 2,
  packing: { "1": 0, "2": 1, "3": 0, "4": 1 },
  components: { s: [3, 4], b: [1, 2] },
  scheduler: "local",
  runtime: "node",
  ardeaVersion: "0",
  submittedAt,
  updatedAt: submittedAt,
};

function report(container: number, pid: number, uptimeMs: number, parts: {
  exec: LatencyHistogram;
  proc: LatencyHistogram;
  complete: LatencyHistogram;
  values: ValueHistogram;
  n: number;
  buckets?: boolean;
}): ContainerMetrics {
  const bolt = String(container + 1);
  const spout = String(container + 3);
  const { exec, proc, complete, values, n } = parts;
  const user = {
    counters: { words: n },
    gauges: { depth: 1 },
    meters: { m: { count: n, ratePerSec: 2 } },
    histograms: { v: { count: values.count, sum: values.sum, window: values.summary() } },
  };
  const sum = (h: LatencyHistogram) => {
    const x = h.summary();
    return x === null ? null : { ...x };
  };
  const totals = (h: LatencyHistogram) => ({ count: h.count, sumMs: h.sum, meanMs: h.sum / h.count, maxMs: h.max });
  const m: ContainerMetrics = {
    version: WIRE_VERSION,
    topology: "merge",
    container,
    epoch: runEpoch(submittedAt),
    pid,
    host: "h",
    ts: Date.now(),
    state: "RUNNING",
    uptimeMs,
    tasks: {
      [bolt]: {
        component: "b",
        kind: "bolt",
        emitted: 0,
        executed: n,
        acked: n,
        failed: 0,
        timedOut: 0,
        queued: 0,
        restarts: 0,
        errors: 0,
        capacity: 0,
        userMetrics: user,
      },
      [spout]: {
        component: "s",
        kind: "spout",
        emitted: n,
        executed: 0,
        acked: n,
        failed: 0,
        timedOut: 0,
        queued: 0,
        restarts: 0,
        errors: 0,
        capacity: 0,
        nextTupleCount: 2 * n,
      },
    },
    components: {
      b: {
        kind: "bolt",
        tasks: 1,
        emitted: 0,
        executed: n,
        acked: n,
        failed: 0,
        timedOut: 0,
        pending: 0,
        restarts: 0,
        errors: 0,
        lastError: null,
        completeLatencyMs: 0,
        queued: 0,
        capacity: 0,
        executeLatency: sum(exec),
        processLatency: sum(proc),
        allTime: { executeLatency: totals(exec), processLatency: totals(proc) },
        userMetrics: {
          ...user,
          histograms: {
            v: { ...user.histograms.v, ...(parts.buckets === false ? {} : { buckets: values.buckets() }) },
          },
        },
        ...(parts.buckets === false
          ? {}
          : { latencyBuckets: { executeLatency: exec.buckets(), processLatency: proc.buckets() } }),
      },
      s: {
        kind: "spout",
        tasks: 1,
        emitted: n,
        executed: 0,
        acked: n,
        failed: 0,
        timedOut: 0,
        pending: 0,
        restarts: 0,
        errors: 0,
        lastError: null,
        completeLatencyMs: complete.sum / complete.count,
        queued: 0,
        nextTupleCount: 2 * n,
        completeLatency: sum(complete),
        allTime: { completeLatency: totals(complete) },
        ...(parts.buckets === false ? {} : { latencyBuckets: { completeLatency: complete.buckets() } }),
      },
    },
    backpressure: false,
    backpressureBy: "",
    backpressureEpisodes: 0,
    backpressureMs: 0,
    dropped: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  return decodeMetrics(encodeMetrics(m)); // through the wire, as the tracker reads it
}

function fill(seed: number, scale: number) {
  const r = rng(seed);
  const exec = new LatencyHistogram();
  const proc = new LatencyHistogram();
  const complete = new LatencyHistogram();
  const values = new ValueHistogram();
  for (let i = 0; i < 2000; i++) {
    exec.record(r() * scale);
    proc.record(r() * scale * 2);
    complete.record(r() ** 2 * scale * 10);
    values.record(r() * 1000 * scale);
  }
  return { exec, proc, complete, values };
}

test("a component's percentiles over containers are exact; totals, next-tuple count and user metrics are summed", () => {
  const t = new RemoteTopology(rec, {} as RemoteTracking, 5000);
  const c0 = fill(1, 1);
  const c1 = fill(2, 30); // a slow container: a weighted mean of p99s would be far off
  t.report(report(0, 100, 5000, { ...c0, n: 10 }));
  t.report(report(1, 200, 5000, { ...c1, n: 30 }));
  const s = t.stats();
  const merged = (k: "exec" | "proc" | "complete") => {
    const h = new LatencyHistogram();
    h.add(c0[k]);
    h.add(c1[k]);
    return h.summary();
  };
  const b = s.components.b!;
  assert.equal(b.executeLatency, merged("exec"));
  assert.equal(b.processLatency, merged("proc"));
  assert.equal(s.components.s!.completeLatency, merged("complete"));
  assert.is(b.allTime!.executeLatency!.count, 4000);
  assert.is(b.allTime!.processLatency!.count, 4000);
  assert.ok(Math.abs(b.allTime!.processLatency!.sumMs - (c0.proc.sum + c1.proc.sum)) < 0.01);
  assert.is(b.allTime!.executeLatency!.maxMs, Math.max(c0.exec.max, c1.exec.max));
  assert.is(s.components.s!.allTime!.completeLatency!.count, 4000);
  assert.is(s.components.s!.nextTupleCount, 80);
  assert.is(b.nextTupleCount, undefined);
  const u = b.userMetrics!;
  assert.is(u.counters!.words, 40);
  assert.is(u.gauges!.depth, 2);
  assert.equal(u.meters!.m, { count: 40, ratePerSec: 4 });
  const v = new ValueHistogram();
  v.add(c0.values);
  v.add(c1.values);
  assert.equal(u.histograms!.v, { count: 4000, sum: c0.values.sum + c1.values.sum, window: v.summary() });
  assert.is(b.latencyBuckets, undefined, "buckets are for merging, not shown");
  assert.is(t.containerStats()[0]!.stats.components.b!.latencyBuckets, undefined);
  assert.is(t.containerStats()[0]!.stats.components.b!.userMetrics!.histograms!.v!.buckets, undefined);
  assert.equal(s.tasks!["1"]!.userMetrics!.counters, { words: 10 });

  // Container 1's process is replaced: the spout's next-tuple count keeps what the old one counted.
  t.report(report(1, 201, 500, { ...fill(3, 1), n: 5 }));
  const s2 = t.stats();
  assert.is(s2.components.s!.nextTupleCount, 20 + 60 + 10);
  assert.is(s2.tasks!["4"]!.nextTupleCount, 60 + 10);
  assert.is(s2.tasks!["2"]!.nextTupleCount, undefined, "bolts have none");
});

test("containers without buckets (older ones): percentiles fall back to the count-weighted mean", () => {
  const t = new RemoteTopology(rec, {} as RemoteTracking, 5000);
  const c0 = fill(1, 1);
  const c1 = fill(2, 30);
  t.report(report(0, 100, 5000, { ...c0, n: 10, buckets: false }));
  t.report(report(1, 200, 5000, { ...c1, n: 30 }));
  const e = t.stats().components.b!.executeLatency!;
  const a = c0.exec.summary()!;
  const b = c1.exec.summary()!;
  assert.is(e.count, a.count + b.count);
  assert.is(e.p99Ms, Math.round(((a.p99Ms * a.count + b.p99Ms * b.count) / (a.count + b.count)) * 1000) / 1000);
  assert.is(e.maxMs, Math.max(a.maxMs, b.maxMs));
  // User histograms too: exact count, sum, min and max.
  const w = mergeUserMetrics([
    { histograms: { v: { count: 1, sum: 2, window: { count: 1, mean: 2, min: 2, p50: 2, p99: 2, p999: 2, max: 2 } } } },
    {
      histograms: {
        v: { count: 3, sum: 30, window: { count: 3, mean: 10, min: 5, p50: 10, p99: 15, p999: 15, max: 15 } },
      },
    },
  ])!.histograms!.v!;
  assert.equal(w, {
    count: 4,
    sum: 32,
    window: { count: 4, mean: 8, min: 2, p50: 8, p99: 11.75, p999: 11.75, max: 15 },
  });
});

test("the counters of the containers' last heartbeats (a record's view): summed; backpressure and stuck tasks only while it runs", () => {
  const component = (id: string, kind: "spout" | "bolt", tasks: number[]) => ({
    id,
    kind,
    parallelism: 2,
    tasks,
    config: {},
    streams: [],
    inputs: [],
  });
  const plan = {
    spouts: ["s"],
    bolts: ["b"],
    components: [component("s", "spout", [3, 4]), component("b", "bolt", [1, 2])],
    edges: [],
    taskCount: 4,
  };
  const container = (i: number, backpressure: boolean, stuck: number): ContainerRecord => ({
    version: WIRE_VERSION,
    topology: "merge",
    container: i,
    pid: 10 + i,
    host: "h",
    tasks: [i + 1, i + 3],
    startedAt: 1000,
    heartbeatAt: 1000 + 5000 * (i + 1),
    restarts: 0,
    stats: {
      emitted: 10,
      executed: 5,
      acked: 4,
      failed: 1,
      timedOut: 0,
      pending: 2,
      restarts: i,
      backpressure,
      dropped: 0,
      components: {
        b: {
          errors: i,
          restarts: 0,
          lastError: i === 1 ? "boom" : null,
          lastErrorAt: i === 1 ? 5 : null,
          ...(stuck > 0 ? { stuckTasks: stuck } : {}),
        },
      },
    },
  });
  const running: TopologyRecord = { ...rec, plan };
  const s = containerRecordsSnapshot(running, [container(0, false, 1), container(1, true, 2)]);
  assert.equal([s.emitted, s.executed, s.acked, s.failed, s.pending, s.restarts, s.uptimeMs], [
    20,
    10,
    8,
    2,
    4,
    1,
    10_000,
  ]);
  assert.is(s.backpressure, true);
  assert.is(s.components.b!.stuckTasks, 3);
  assert.is(s.components.b!.errors, 1);
  assert.is(s.components.b!.lastError, "boom");
  assert.is(s.components.s!.kind, "spout");
  const ended = containerRecordsSnapshot({ ...running, state: "FINISHED" }, [
    container(0, false, 1),
    container(1, true, 2),
  ]);
  assert.is(ended.backpressure, false);
  assert.is(ended.components.b!.stuckTasks, undefined);
  assert.is(ended.acked, 8);
});

test("a metrics message with too many buckets is refused at the boundary", () => {
  const h = new LatencyHistogram();
  h.record(1);
  const m = report(0, 1, 1, { exec: h, proc: h, complete: h, values: new ValueHistogram(), n: 1 });
  (m.components.b as { latencyBuckets: unknown }).latencyBuckets = {
    executeLatency: { sum: 1, max: 1, counts: new Array(10_000).fill(1) },
  };
  assert.throws(() => decodeMetrics(encodeMetrics(m)), /container metrics/);
});

test.run();
