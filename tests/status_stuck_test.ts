// Stuck tasks outside the process that has them: a container's heartbeat
// carries each component's stuckTasks, `ardea status` shows them (text; the
// JSON's per-component object gains `stuckTasks` only when some are stuck),
// and the Prometheus text has ardea_component_stuck_tasks.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { statusText, topologyStatus } from "../cli/status.ts";
import { componentErrors } from "../cluster/container_process.ts";
import type { TopologyStats } from "../engine/container.ts";
import { renderPrometheus } from "../tracker/prometheus.ts";
import type { StatsSnapshot } from "../metrics/snapshot.ts";
import {
  type ContainerRecord,
  decodeEvent,
  encodeMessage,
  type TopologyRecord,
  WIRE_VERSION,
} from "../transport/wire/mod.ts";

const bolt = {
  kind: "bolt" as const,
  tasks: 2,
  emitted: 0,
  executed: 0,
  acked: 0,
  failed: 0,
  timedOut: 0,
  pending: 0,
  restarts: 0,
  errors: 0,
  lastError: null,
  completeLatencyMs: 0,
  queued: 0,
};

function stats(stuck: number | undefined): StatsSnapshot {
  return {
    name: "st",
    state: "RUNNING",
    uptimeMs: 1000,
    emitted: 0,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    backpressure: false,
    backpressureEpisodes: 0,
    backpressureMs: 0,
    components: { count: { ...bolt, ...(stuck === undefined ? {} : { stuckTasks: stuck }) }, split: { ...bolt } },
  };
}

/** The heartbeat of container `i` with `stats`, through the wire and back. */
function heartbeat(i: number, s: StatsSnapshot): ContainerRecord {
  const ev = decodeEvent(encodeMessage({
    type: "heartbeat",
    container: i,
    epoch: 1,
    pid: 100 + i,
    host: "h",
    ts: Date.now(),
    stats: {
      emitted: 0,
      executed: 0,
      acked: 0,
      failed: 0,
      timedOut: 0,
      pending: 0,
      restarts: 0,
      dropped: 0,
      backpressure: false,
      components: componentErrors(s as TopologyStats),
    },
  }));
  if (ev.type !== "heartbeat") throw new Error(ev.type);
  return {
    version: WIRE_VERSION,
    topology: "st",
    container: i,
    pid: ev.pid,
    host: ev.host,
    tasks: [i + 1],
    startedAt: Date.now(),
    heartbeatAt: Date.now(),
    restarts: 0,
    stats: ev.stats,
  };
}

const rec: TopologyRecord = {
  version: WIRE_VERSION,
  name: "st",
  state: "RUNNING",
  config: {},
  bundle: "b".repeat(64),
  args: [],
  cwd: "/tmp",
  containers: 2,
  packing: { "1": 0, "2": 1 },
  components: { count: [1, 2] },
  scheduler: "local",
  runtime: "node",
  ardeaVersion: "0.1.0",
  submittedAt: Date.now() - 5000,
  updatedAt: Date.now(),
};

test("a heartbeat carries a component's stuck tasks; status sums them over containers and shows a STUCK column", () => {
  const s = topologyStatus(rec, [heartbeat(0, stats(1)), heartbeat(1, stats(2))], Date.now());
  const count = s.components.find((c) => c.component === "count")!;
  assert.is(count.stuckTasks, 3);
  assert.equal(Object.keys(s.components.find((c) => c.component === "split")!).sort(), [
    "component",
    "errors",
    "lastError",
    "lastErrorAt",
    "lastErrorContainer",
    "restarts",
  ]);
  const text = statusText(rec, s, Date.now());
  assert.match(text, /^COMPONENT\s+ERRORS\s+RESTARTS\s+STUCK\s+LAST ERROR$/m);
  assert.match(text, /^count\s+0\s+0\s+3 tasks\s+-$/m);
  assert.match(text, /^split\s+0\s+0\s+-\s+-$/m);
});

test("nothing stuck (or an old heartbeat without the field): the JSON and the table keep their old shape", () => {
  const s = topologyStatus(rec, [heartbeat(0, stats(undefined)), heartbeat(1, stats(0))], Date.now());
  for (const c of s.components) {
    assert.equal(Object.keys(c).sort(), [
      "component",
      "errors",
      "lastError",
      "lastErrorAt",
      "lastErrorContainer",
      "restarts",
    ]);
  }
  const text = statusText(rec, s, Date.now());
  assert.match(text, /^COMPONENT\s+ERRORS\s+RESTARTS\s+LAST ERROR$/m);
  assert.not.match(text, /STUCK/);
});

test("Prometheus: ardea_component_stuck_tasks per component (0 when none)", () => {
  const text = renderPrometheus(stats(2));
  assert.match(text, /^# TYPE ardea_component_stuck_tasks gauge$/m);
  assert.match(text, /^ardea_component_stuck_tasks\{topology="st",component="count"\} 2$/m);
  assert.match(text, /^ardea_component_stuck_tasks\{topology="st",component="split"\} 0$/m);
});

test.run();
