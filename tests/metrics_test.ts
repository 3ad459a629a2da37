// metrics/: Prometheus text checked against a bounded run with known counts,
// the rolling history and its rates, and the logical plan as JSON.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { parsePrometheus as parse } from "../testing/prometheus.ts";
import { bolt, Fields, iterableSpout, submit, TopologyBuilder, type TopologyStats } from "../mod.ts";
import { logicalPlan, type StatsSnapshot } from "../metrics/mod.ts";
import { MetricsHistory, renderPrometheus } from "../tracker/mod.ts";

const SENTENCES = 1000;
const WORDS_EACH = 3;

/** sentences (1 task) → split (2 tasks, shuffle, basic) → count (3 tasks, fields on word, basic). */
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

test("Prometheus counters of a bounded run equal the known counts exactly", async () => {
  const handle = await submit("bounded", { "topology.reliability.mode": "ATLEAST_ONCE" }, bounded(), {
    handleSignals: false,
  });
  const summary = await handle.done;
  assert.is(summary.state, "FINISHED");
  const text = renderPrometheus(summary.stats, { container: "0" });
  const m = parse(text);
  const at = (name: string, component: string) => {
    const v = m.get(`${name}{topology="bounded",component="${component}",container="0"}`);
    assert.ok(v !== undefined, `${name} of ${component} is missing in:\n${text}`);
    return v;
  };
  const words = SENTENCES * WORDS_EACH;
  // spout: every sentence emitted once and its tree acked once; nothing failed or timed out.
  assert.is(at("ardea_emit_count", "sentences"), SENTENCES);
  assert.is(at("ardea_ack_count", "sentences"), SENTENCES);
  assert.is(at("ardea_fail_count", "sentences"), 0);
  assert.is(at("ardea_timeout_count", "sentences"), 0);
  assert.is(at("ardea_pending", "sentences"), 0);
  // split: executes each sentence, emits three words, acks its input.
  assert.is(at("ardea_execute_count", "split"), SENTENCES);
  assert.is(at("ardea_emit_count", "split"), words);
  assert.is(at("ardea_ack_count", "split"), SENTENCES);
  // count: executes and acks every word, emits nothing.
  assert.is(at("ardea_execute_count", "count"), words);
  assert.is(at("ardea_ack_count", "count"), words);
  assert.is(at("ardea_emit_count", "count"), 0);
  assert.is(at("ardea_queue_depth", "count"), 0);
  assert.is(at("ardea_tasks", "count"), 3);
  assert.is(at("ardea_restarts", "split"), 0);
  // Spout-only and bolt-only series are absent where they do not apply.
  assert.not.ok(m.has('ardea_execute_count{topology="bounded",component="sentences",container="0"}'));
  assert.not.ok(m.has('ardea_timeout_count{topology="bounded",component="split",container="0"}'));
  assert.ok(at("ardea_complete_latency_ms", "sentences") >= 0);
  assert.is(m.get('ardea_topology_state{topology="bounded",container="0",state="FINISHED"}'), 1);
  assert.is(m.get('ardea_topology_state{topology="bounded",container="0",state="RUNNING"}'), 0);
  assert.is(m.get('ardea_backpressure_episodes{topology="bounded",container="0"}'), summary.stats.backpressureEpisodes);
  // The text format: HELP and TYPE once per metric, before its samples; Heron's names in the help.
  assert.match(text, /^# HELP ardea_emit_count .*__emit-count.*\n# TYPE ardea_emit_count counter\n/m);
  for (const heron of ["__execute-count", "__ack-count", "__fail-count", "__timeout-count", "__complete-latency"]) {
    assert.ok(text.includes(heron), heron);
  }
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]);
  assert.is(new Set(types).size, types.length, "each metric is declared once");
});

test("several topologies share one HELP/TYPE block per metric; label values are escaped", () => {
  const one = (name: string, emitted: number): StatsSnapshot => ({
    name,
    state: "RUNNING",
    uptimeMs: 1500,
    emitted,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    backpressure: true,
    backpressureEpisodes: 2,
    backpressureMs: 12.5,
    components: {
      's"p\\o\nut': {
        kind: "spout",
        tasks: 1,
        emitted,
        executed: 0,
        acked: 0,
        failed: 0,
        timedOut: 0,
        pending: 4,
        restarts: 0,
        errors: 0,
        lastError: null,
        completeLatencyMs: 0.25,
        queued: 0,
      },
    },
  });
  const text = renderPrometheus([one("a", 5), one("b", 7)]);
  const blocks = text.split("\n").filter((l) => l === "# TYPE ardea_emit_count counter");
  assert.is(blocks.length, 1);
  assert.ok(text.includes('ardea_emit_count{topology="a",component="s\\"p\\\\o\\nut"} 5\n'), text);
  assert.ok(text.includes('ardea_emit_count{topology="b",component="s\\"p\\\\o\\nut"} 7\n'));
  assert.ok(text.includes('ardea_backpressure_active{topology="a"} 1\n'));
  assert.ok(text.includes('ardea_backpressure_time_ms{topology="a"} 12.5\n'));
  assert.ok(text.includes('ardea_uptime_seconds{topology="a"} 1.5\n'));
  assert.ok(text.includes('ardea_complete_latency_ms{topology="a",component="s\\"p\\\\o\\nut"} 0.25\n'));
});

test("the engine's TopologyStats is a StatsSnapshot", () => {
  // A compile-time check as much as a run-time one: metrics/ declares its own shape.
  const accept = (s: StatsSnapshot) => s.name;
  const stats = { name: "x" } as TopologyStats;
  assert.is(accept(stats), "x");
});

function snap(t: number, emitted: number, queued: number, extra?: string): StatsSnapshot {
  const c = (e: number, kind: "spout" | "bolt") => ({
    kind,
    tasks: 1,
    emitted: e,
    executed: e,
    acked: e,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    errors: 0,
    lastError: null,
    completeLatencyMs: 0,
    queued,
  });
  const components: StatsSnapshot["components"] = { src: c(emitted, "spout") };
  if (extra) components[extra] = c(t, "bolt");
  return {
    name: "h",
    state: "RUNNING",
    uptimeMs: t,
    emitted,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    backpressure: false,
    backpressureEpisodes: 0,
    backpressureMs: 0,
    components,
  };
}

test("the history keeps the last N samples per component and derives per-second rates", () => {
  const h = new MetricsHistory(3);
  h.record(snap(0, 0, 1), 1000);
  h.record(snap(1, 100, 2), 1500);
  h.record(snap(2, 300, 3), 2500);
  let s = h.series("h")!;
  assert.equal(s.t, [1000, 1500, 2500]);
  assert.equal(s.components.src!.emitted, [0, 100, 300]);
  assert.equal(s.components.src!.emitRate, [null, 200, 200]);
  assert.equal(s.components.src!.queued, [1, 2, 3]);
  // A fourth sample pushes the first out; a component that appears later is zero before.
  h.record(snap(3, 600, 4, "late"), 3500);
  s = h.series("h")!;
  assert.equal(s.t, [1500, 2500, 3500]);
  assert.equal(s.components.src!.emitted, [100, 300, 600]);
  assert.equal(s.components.src!.emitRate, [null, 200, 300]);
  assert.equal(s.components.late!.emitted, [0, 0, 3]);
  assert.is(h.series("nope"), undefined);
  h.forget("h");
  assert.is(h.series("h"), undefined);
});

test("the logical plan names components, tasks, streams and groupings", () => {
  const plan = logicalPlan(bounded());
  assert.equal(plan.spouts, ["sentences"]);
  assert.equal(plan.bolts, ["count", "split"]);
  assert.is(plan.taskCount, 6);
  const split = plan.components.find((c) => c.id === "split")!;
  assert.is(split.parallelism, 2);
  assert.is(split.tasks.length, 2);
  assert.equal(split.streams, [{ id: "default", fields: ["word"], direct: false }]);
  assert.equal(plan.edges, [
    { from: "split", to: "count", stream: "default", grouping: { type: "fields", fields: ["word"] } },
    { from: "sentences", to: "split", stream: "default", grouping: { type: "shuffle" } },
  ]);
  JSON.stringify(plan); // plain JSON throughout
});

test.run();
