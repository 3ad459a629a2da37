// timeout: 300
// The distributed tracker (`ardea ui --nats`) against a real nats-server and
// topologies submitted with `ardea submit` over 2 containers: topologies
// listed as they appear and go away, logical and physical plans, exact
// counters once a bounded topology finished, moving counters while one runs,
// exceptions with stacks, Prometheus with container labels, kill,
// deactivate and activate through REST, a backpressure episode between
// containers, garbage on the metrics subject, and the command line itself.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import { ardeaRoot, runtimeName, spawnProcess } from "../runtime/mod.ts";
import { type RemoteUi, startRemoteUi } from "../cli/ui.ts";
import type { RemoteTracking } from "../tracker/remote_tracking.ts";
import { RemoteTopology } from "../tracker/remote_topology.ts";
import { type ContainerMetrics, runEpoch, type TopologyRecord, WIRE_VERSION } from "../transport/wire/mod.ts";
import { ardeaCmd, asText, collect, runArdea, show } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { until } from "../testing/wait.ts";

let nats: NatsHandle;
let nc: NatsConnection;
let ui: RemoteUi;

const N = 400; // tests/fixtures/dist_tracked.ts

const ardea = async (args: string[], env: Record<string, string> = { ARDEA_NATS_URL: nats.urls[0]! }) =>
  asText(await runArdea(args, env));

/** A control POST as the web page sends it (the tracker refuses one without the header). */
const CONTROL: RequestInit = { method: "POST", headers: { "x-ardea-control": "1" } };

// deno-lint-ignore no-explicit-any
async function get(path: string, init?: RequestInit, base = ui.url): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, base), init);
  const text = await res.text();
  return { status: res.status, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
  ui = await startRemoteUi(nc, { port: 0, pollMs: 250, log: () => {} });
});

test.after(async () => {
  await ui?.close();
  await nc?.close();
  await nats?.stop();
});

test("listens on 127.0.0.1 and lists nothing before a submission", async () => {
  assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const r = await get("/api/v1/topologies");
  assert.is(r.status, 200);
  assert.equal(r.body.topologies, []);
  const api = await get("/api/v1");
  assert.ok(api.body.endpoints.includes("/api/v1/topologies/:name/containers"));
});

test("a bounded topology over 2 containers: plans, exact counters, exceptions, Prometheus, then it goes away", async () => {
  const submitted = ardea([
    "submit",
    "tests/fixtures/dist_tracked.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  // It shows up while it runs.
  await until(
    "dist-tracked listed",
    async () =>
      (await get("/api/v1/topologies")).body.topologies.some((t: { name: string }) => t.name === "dist-tracked"),
  );
  const r = await submitted;
  assert.is(r.code, 0, show(r));

  const detail = await until("FINISHED", async () => {
    const d = await get("/api/v1/topologies/dist-tracked");
    return d.body.state === "FINISHED" ? d.body : undefined;
  });
  assert.is(detail.mode, "distributed");
  assert.equal(detail.plan.components.map((c: { id: string }) => c.id), ["double", "numbers", "sink"]);
  assert.equal(detail.plan.spouts, ["numbers"]);
  assert.equal(
    detail.plan.edges.map((e: { from: string; to: string; grouping: { type: string } }) =>
      `${e.from}>${e.to}:${e.grouping.type}`
    ).sort(),
    ["double>sink:fields", "numbers>double:shuffle"],
  );
  assert.is(detail.plan.taskCount, 5);
  assert.is(detail.config["topology.containers"], 2);
  const allTasks: number[] = detail.plan.components.flatMap((c: { tasks: number[] }) => c.tasks).sort((
    a: number,
    b: number,
  ) => a - b);
  assert.is(allTasks.length, 5);

  // Physical plan: both containers, every task exactly once, host and pid.
  const phys = (await get("/api/v1/topologies/dist-tracked/containers")).body.containers;
  assert.is(phys.length, 2);
  assert.equal(phys.map((c: { id: number }) => c.id), [0, 1]);
  assert.equal(
    phys.flatMap((c: { tasks: Array<{ id: number }> }) => c.tasks.map((t) => t.id)).sort((a: number, b: number) =>
      a - b
    ),
    allTasks,
  );
  for (const c of phys) {
    assert.ok(c.pid > 0, `container ${c.id} pid`);
    assert.ok(c.host.length > 0, `container ${c.id} host`);
    assert.is(c.state, "FINISHED");
    assert.ok(c.framesOut > 0 || c.framesIn > 0, `container ${c.id} exchanged frames`);
    for (const t of c.tasks) assert.ok(["numbers", "double", "sink"].includes(t.component));
  }
  assert.ok(phys.some((c: { tasks: Array<{ component: string }> }) => c.tasks.some((t) => t.component === "numbers")));

  // Counters: exact once finished (the containers' last reports).
  const m = await until("final counts", async () => {
    const x = (await get("/api/v1/topologies/dist-tracked/metrics")).body;
    return x.components.sink?.executed === N && x.components.numbers?.acked === N ? x : undefined;
  }, 15_000);
  assert.is(m.components.numbers.kind, "spout");
  assert.is(m.components.numbers.emitted, N);
  assert.is(m.components.numbers.acked, N);
  assert.is(m.components.numbers.failed, 0);
  assert.is(m.components.numbers.pending, 0);
  assert.is(m.components.double.executed, N);
  assert.is(m.components.double.emitted, N);
  assert.is(m.components.double.tasks, 2);
  assert.is(m.components.sink.executed, N);
  assert.is(m.components.sink.errors, 1);
  assert.is(m.components.sink.lastError, "sink saw twenty");
  assert.is(m.topology.acked, N);
  assert.is(m.topology.emitted, 2 * N);
  assert.is(m.topology.executed, 2 * N);
  assert.is(Object.keys(m.tasks).length, 5);
  const sinkTasks = Object.values(m.tasks as Record<string, { component: string; executed: number }>).filter((t) =>
    t.component === "sink"
  );
  assert.is(sinkTasks.length, 2);
  assert.is(sinkTasks.reduce((a, t) => a + t.executed, 0), N);
  assert.ok(m.components.double.executeLatency === null || m.components.double.executeLatency.count > 0);
  // Per task over the containers: whole-run latency samples that add up to the component's.
  const samples = (c: string) =>
    Object.values(
      m.tasks as Record<string, { component: string; allTime?: { executeLatency?: { count: number } | null } }>,
    )
      .filter((t) => t.component === c).reduce((a, t) => a + (t.allTime?.executeLatency?.count ?? 0), 0);
  assert.is(
    samples("double"),
    m.components.double.allTime.executeLatency?.count ?? 0,
    "double's execute samples, per task",
  );
  assert.is(samples("sink"), m.components.sink.allTime.executeLatency?.count ?? 0, "sink's execute samples, per task");
  // Summed and merged over the containers per component: user metrics, run totals, next-tuple count.
  const doubleTasks = Object.values(
    m.tasks as Record<string, { component: string; userMetrics?: { counters?: Record<string, number> } }>,
  )
    .filter((t) => t.component === "double");
  assert.is(doubleTasks.reduce((a, t) => a + (t.userMetrics?.counters?.doubled ?? 0), 0), N, "per task");
  assert.is(m.components.double.userMetrics.counters.doubled, N, "per component, over the containers");
  assert.is(m.components.double.userMetrics.histograms.value.count, N);
  assert.is(m.components.double.userMetrics.histograms.value.sum, (N * (N - 1)) / 2);
  assert.is(m.components.double.userMetrics.histograms.value.window.max, N - 1);
  assert.is(m.components.double.userMetrics.histograms.value.window.count, N);
  assert.is(m.components.double.userMetrics.histograms.value.buckets, undefined, "buckets are not shown");
  assert.is(m.components.double.latencyBuckets, undefined);
  assert.ok(m.components.numbers.nextTupleCount > 0, `nextTupleCount ${m.components.numbers.nextTupleCount}`);
  const perContainer = (await get("/api/v1/topologies/dist-tracked/containers")).body.containers;
  assert.is(perContainer.length, 2);
  if (m.components.double.allTime?.executeLatency != null) {
    assert.ok(m.components.double.allTime.executeLatency.count >= m.components.double.executeLatency.count);
  }

  const ex = (await get("/api/v1/topologies/dist-tracked/exceptions")).body.exceptions;
  const sinkEx = ex.find((e: { component: string }) => e.component === "sink");
  assert.is(sinkEx.count, 1);
  assert.is(sinkEx.lastError, "sink saw twenty");
  assert.match(sinkEx.stack, /sink saw twenty[\s\S]*dist_tracked/);
  assert.ok(sinkEx.container === 0 || sinkEx.container === 1);
  assert.ok(typeof sinkEx.lastErrorAt === "number");

  const bp = (await get("/api/v1/topologies/dist-tracked/backpressure")).body;
  assert.type(bp.active, "boolean");
  assert.ok(Array.isArray(bp.history));

  const prom = (await get("/metrics")).body as string;
  for (const c of ["0", "1"]) {
    assert.match(
      prom,
      new RegExp(`ardea_container_frames_out\\{topology="dist-tracked",container="${c}",host="[^"]+"\\} \\d+`),
    );
  }
  const taskLines = prom.split("\n").filter((l) =>
    l.startsWith('ardea_task_execute_count{topology="dist-tracked",component="sink"')
  );
  assert.is(taskLines.length, 2, prom);
  assert.is(taskLines.reduce((a, l) => a + Number(l.split(" ").at(-1)), 0), N);
  for (const l of taskLines) assert.match(l, /task="\d+",container="[01]"\}/);
  const emitLines = prom.split("\n").filter((l) =>
    l.startsWith('ardea_emit_count{topology="dist-tracked",component="numbers"')
  );
  assert.is(emitLines.length, 1);
  assert.is(Number(emitLines[0]!.split(" ").at(-1)), N);

  // Deleting the record makes it go away.
  await (await Records.bind(nc))!.deleteTopology("dist-tracked");
  await until("dist-tracked gone", async () => (await get("/api/v1/topologies/dist-tracked")).status === 404, 10_000);
});

test("RemoteTopology: sums containers, keeps counters of a replaced process, merges latencies, records bp episodes", () => {
  const submittedAt = Date.now() - 10_000;
  const rec: TopologyRecord = {
    version: WIRE_VERSION,
    name: "unit",
    state: "RUNNING",
    config: {},
    bundle: "0".repeat(64),
    args: [],
    cwd: "/",
    containers: 2,
    packing: { "1": 0, "2": 1, "3": 0 },
    components: { s: [3], b: [1, 2] },
    scheduler: "local",
    runtime: "node",
    ardeaVersion: "0",
    submittedAt,
    updatedAt: submittedAt,
  };
  const t = new RemoteTopology(rec, {} as RemoteTracking, 5000);
  const lat = (count: number, p50: number, p99: number, max: number) => ({
    count,
    meanMs: p50,
    p50Ms: p50,
    p99Ms: p99,
    p999Ms: p99,
    maxMs: max,
  });
  const task = (component: string, kind: "spout" | "bolt", n: number) => ({
    component,
    kind,
    emitted: kind === "spout" ? n : 0,
    executed: kind === "bolt" ? n : 0,
    acked: n,
    failed: 0,
    timedOut: 0,
    queued: 1,
    restarts: 0,
    errors: 0,
    capacity: 0.1,
  });
  const comp = (kind: "spout" | "bolt", n: number, latency: ReturnType<typeof lat> | null, extra = {}) => ({
    kind,
    tasks: 1,
    emitted: kind === "spout" ? n : 0,
    executed: kind === "bolt" ? n : 0,
    acked: n,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    errors: 0,
    lastError: null,
    lastErrorAt: null,
    completeLatencyMs: 2,
    queued: 1,
    capacity: 0.1,
    executeLatency: kind === "bolt" ? latency : null,
    completeLatency: kind === "spout" ? latency : null,
    ...extra,
  });
  const report = (
    container: number,
    pid: number,
    uptimeMs: number,
    tasks: ContainerMetrics["tasks"],
    components: ContainerMetrics["components"],
  ): ContainerMetrics => ({
    version: WIRE_VERSION,
    topology: "unit",
    container,
    epoch: runEpoch(submittedAt),
    pid,
    host: "h",
    ts: Date.now(),
    state: "RUNNING",
    uptimeMs,
    tasks,
    components,
    backpressure: false,
    backpressureBy: "",
    backpressureEpisodes: 0,
    backpressureMs: 0,
    dropped: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  });
  t.report(
    report(0, 100, 5000, { "1": task("b", "bolt", 30), "3": task("s", "spout", 50) }, {
      b: comp("bolt", 30, lat(10, 1, 4, 5), { futureCounter: 7 }),
      s: comp("spout", 50, null),
    }),
  );
  t.report(report(1, 200, 5000, { "2": { ...task("b", "bolt", 20), userMetrics: { counters: { seen: 20 } } } }, {
    b: comp("bolt", 20, lat(30, 3, 8, 9), {
      futureCounter: 5,
      processLatency: lat(2, 1, 1, 1),
      userMetrics: { counters: { seen: 20 } },
    }),
  }));
  let s = t.stats();
  assert.is(s.components.b!.executed, 50);
  assert.is(s.components.b!.tasks, 2);
  assert.is(s.components.s!.emitted, 50);
  assert.is(s.acked, 50);
  assert.is(s.executed, 50);
  assert.equal(s.components.b!.executeLatency, { count: 40, meanMs: 2.5, p50Ms: 2.5, p99Ms: 7, p999Ms: 7, maxMs: 9 });
  assert.is(
    (t.containerStats()[0]!.stats.components.b as unknown as { futureCounter: number }).futureCounter,
    7,
    "unknown fields pass through",
  );
  const b = s.components.b as unknown as { futureCounter: number; processLatency: { count: number } };
  assert.is(b.futureCounter, 12, "unknown counters are summed over containers");
  assert.is(b.processLatency.count, 2, "unknown latency summaries are merged");
  // Container 1's process is replaced: its new counters start from 0, the totals do not go back.
  t.report(report(1, 201, 800, { "2": { ...task("b", "bolt", 5), userMetrics: { counters: { seen: 5 } } } }, {
    b: comp("bolt", 5, null, { userMetrics: { counters: { seen: 5 } } }),
  }));
  s = t.stats();
  assert.is(s.components.b!.executed, 55);
  assert.is(s.tasks!["2"]!.executed, 25);
  assert.is(s.tasks!["2"]!.userMetrics?.counters?.seen, 25, "a user counter counts on across processes");
  assert.is(s.components.b!.userMetrics?.counters?.seen, 25);
  assert.equal(t.containers().map((c) => c.tasks.map((x) => `${x.component}:${x.id}`)), [["b:1", "s:3"], ["b:2"]]);
  // Backpressure: an episode per bp on/off, and one that a lease ends.
  t.pressure(1, true, "b", 1500);
  assert.is(t.stats().backpressure, true);
  t.pressure(1, false, "b", 0);
  t.pressure(0, true, "b", 1);
  const eps = t.backpressureHistory();
  assert.is(eps.length, 2);
  assert.is(eps[0]!.container, 1);
  assert.is(eps[0]!.component, "b");
  assert.ok(eps[0]!.end !== null);
});

test("RemoteTopology: a run that ended before the tracker started shows its containers' last heartbeat counters", () => {
  const at = Date.now() - 60_000;
  const rec: TopologyRecord = {
    version: WIRE_VERSION,
    name: "old",
    state: "FINISHED",
    config: {},
    bundle: "0".repeat(64),
    args: [],
    cwd: "/",
    containers: 2,
    packing: { "1": 0, "2": 1, "3": 0 },
    components: { s: [3], b: [1, 2] },
    scheduler: "local",
    runtime: "node",
    ardeaVersion: "0",
    submittedAt: at,
    updatedAt: at,
    plan: {
      spouts: ["s"],
      bolts: ["b"],
      taskCount: 3,
      edges: [],
      components: [
        { id: "s", kind: "spout", parallelism: 1, tasks: [3], config: {}, streams: [], inputs: [] },
        { id: "b", kind: "bolt", parallelism: 2, tasks: [1, 2], config: {}, streams: [], inputs: [] },
      ],
    },
  };
  const t = new RemoteTopology(rec, {} as RemoteTracking, 5000);
  const stats = (
    n: number,
    errors: Record<string, { errors: number; restarts: number; lastError: string | null; lastErrorAt: number | null }>,
  ) => ({
    emitted: n,
    executed: n,
    acked: n,
    failed: 1,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    dropped: 0,
    backpressure: false,
    components: errors,
  });
  t.containerRecords = [
    {
      version: WIRE_VERSION,
      topology: "old",
      container: 0,
      pid: 1,
      host: "h",
      tasks: [1, 3],
      startedAt: at,
      heartbeatAt: at + 9000,
      restarts: 0,
      backpressure: false,
      stats: stats(300, { b: { errors: 2, restarts: 1, lastError: "boom", lastErrorAt: at + 5000 } }),
    },
    {
      version: WIRE_VERSION,
      topology: "old",
      container: 1,
      pid: 2,
      host: "h",
      tasks: [2],
      startedAt: at,
      heartbeatAt: at + 8000,
      restarts: 0,
      backpressure: false,
      stats: stats(200, {}),
    },
  ] as typeof t.containerRecords;
  const s = t.stats();
  assert.is(s.state, "FINISHED");
  assert.is(s.emitted, 500);
  assert.is(s.acked, 500);
  assert.is(s.failed, 2);
  assert.is(s.uptimeMs, 9000);
  assert.is(s.components.b!.errors, 2);
  assert.is(s.components.b!.lastError, "boom");
  assert.is(s.components.b!.tasks, 2);
  assert.is(s.components.s!.kind, "spout");
});

test("garbage on a metrics subject is dropped and counted; the tracker keeps answering", async () => {
  const before = ui.remote.dropped;
  nc.publish("ardea.dist-garbage.metrics", new Uint8Array([0xc1, 0xff, 0x00]));
  nc.publish("ardea.dist-garbage.metrics", new TextEncoder().encode("not msgpack at all"));
  nc.publish("ardea.dist-garbage.ctl", new Uint8Array([0x93, 1, 2, 3]));
  await nc.flush();
  await until("dropped counted", async () => ui.remote.dropped >= before + 2, 5000);
  assert.is((await get("/api/v1/topologies")).status, 200);
});

test("a running topology: counters move monotonically, a throwing bolt shows up in exceptions, kill through REST", async () => {
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_throwing.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  const submitter = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]! },
  });
  const submitterErr = collect(submitter.lines("stderr"));
  try {
    await until(
      "RUNNING in the tracker",
      async () => (await get("/api/v1/topologies/dist-throwing")).body.state === "RUNNING",
    );
    const emitted = async () =>
      (await get("/api/v1/topologies/dist-throwing/metrics")).body.components.numbers?.emitted ?? 0;
    const a = await until("emits", async () => {
      const n = await emitted();
      return n > 0 ? n : undefined;
    });
    const b = await until("more emits", async () => {
      const n = await emitted();
      return n > a ? n : undefined;
    }, 15_000);
    assert.ok(b > a);
    const ex = await until("the crash in exceptions", async () => {
      const e = (await get("/api/v1/topologies/dist-throwing/exceptions")).body.exceptions.find((
        x: { component: string },
      ) => x.component === "flaky");
      return e?.count >= 1 ? e : undefined;
    }, 30_000);
    assert.match(ex.lastError, /flaky threw at \d+/);
    assert.match(ex.stack, /flaky threw at[\s\S]*dist_throwing/);
    const m = (await get("/api/v1/topologies/dist-throwing/metrics")).body;
    assert.ok(m.components.flaky.restarts >= 1, "the supervisor restarted it");
    const phys = (await get("/api/v1/topologies/dist-throwing/containers")).body.containers;
    assert.equal(phys.map((c: { state: string }) => c.state), ["RUNNING", "RUNNING"]);

    // A POST from another origin is refused; a plain one kills it.
    const cross = await get("/api/v1/topologies/dist-throwing/kill", {
      method: "POST",
      headers: { origin: "http://evil.example", "x-ardea-control": "1" },
    });
    assert.is(cross.status, 403);
    const killed = await get("/api/v1/topologies/dist-throwing/kill", CONTROL);
    assert.is(killed.status, 200, JSON.stringify(killed.body));
    assert.is(killed.body.state, "KILLED");
    const exit = await submitter.exited;
    assert.is(exit.code, 1, "submit --wait of a killed topology exits 1");
    assert.is((await (await Records.bind(nc))!.getTopology("dist-throwing"))?.state, "KILLED");
    const again = await get("/api/v1/topologies/dist-throwing/kill", CONTROL);
    assert.is(again.status, 409);
  } finally {
    submitter.kill("SIGKILL");
    await submitterErr;
  }
});

test("through the REST API: deactivate stops the spouts, activate resumes them; a slow bolt in another container is a backpressure episode", async () => {
  // fast (container 0) → slow (container 1, ~1 ms a tuple): the slow bolt's mailbox fills.
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_pressure.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  const submitter = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]! },
  });
  const submitterErr = collect(submitter.lines("stderr"));
  const base = "/api/v1/topologies/dist-pressure";
  const records = (await Records.bind(nc))!;
  try {
    await until("RUNNING in the tracker", async () => (await get(base)).body.state === "RUNNING");
    const phys = await until("both containers report", async () => {
      const c = (await get(`${base}/containers`)).body.containers;
      return c.every((x: { state: string }) => x.state === "RUNNING") ? c : undefined;
    });
    assert.equal(phys.map((c: { tasks: Array<{ component: string }> }) => c.tasks.map((t) => t.component)), [["fast"], [
      "slow",
    ]]);

    // Backpressure: an episode, announced by container 1, naming the slow bolt.
    const bp = await until("a backpressure episode", async () => {
      const b = (await get(`${base}/backpressure`)).body;
      return b.history.length > 0 ? b : undefined;
    }, 30_000);
    const ep = bp.history[0];
    assert.is(ep.component, "slow", JSON.stringify(bp));
    assert.is(ep.container, 1, JSON.stringify(bp));
    assert.ok(ep.start > 0);
    assert.ok(bp.episodes >= 1);
    const m0 = await until("the slow bolt's user counter", async () => {
      const m = (await get(`${base}/metrics`)).body;
      return m.components.slow.userMetrics?.counters?.seen > 0 ? m : undefined;
    }, 15_000);
    assert.ok(m0.topology.backpressureEpisodes >= 1);

    // Deactivate: the record says PAUSED, the tracker too, and the spout's counters stop.
    const emitted = async () => (await get(`${base}/metrics`)).body.components.fast.emitted as number;
    const off = await get(`${base}/deactivate`, CONTROL);
    assert.is(off.status, 200, JSON.stringify(off.body));
    assert.is(off.body.state, "PAUSED");
    assert.is((await records.getTopology("dist-pressure"))?.state, "PAUSED");
    assert.is((await get(base)).body.state, "PAUSED");
    await until(
      "containers paused",
      async () =>
        (await get(`${base}/containers`)).body.containers.every((c: { state: string }) => c.state === "PAUSED"),
      15_000,
    );
    await new Promise((r) => setTimeout(r, 1500)); // the last report before the pause has arrived
    const paused = await emitted();
    await new Promise((r) => setTimeout(r, 2500));
    assert.is(await emitted(), paused, "no emits while paused");
    const again = await get(`${base}/deactivate`, CONTROL);
    assert.is(again.status, 200, "deactivating a paused topology is a no-op");

    // Activate: RUNNING again, the counters move.
    const on = await get(`${base}/activate`, CONTROL);
    assert.is(on.status, 200, JSON.stringify(on.body));
    assert.is(on.body.state, "RUNNING");
    // The master records the state too, after the second (no-op) deactivate it may briefly lag.
    await until(
      "RUNNING in the record",
      async () => (await records.getTopology("dist-pressure"))?.state === "RUNNING",
      10_000,
    );
    await until("emits again", async () => (await emitted()) > paused, 15_000).catch(async (e) => {
      const m = (await get(`${base}/metrics`)).body;
      const c = (await get(`${base}/containers`)).body.containers;
      throw new Error(
        `${(e as Error).message}; fast ${JSON.stringify(m.components.fast)}; topology ${
          JSON.stringify(m.topology)
        }; containers ${JSON.stringify(c)}`,
      );
    });

    const killed = await get(`${base}/kill`, CONTROL);
    assert.is(killed.status, 200, JSON.stringify(killed.body));
    assert.is((await get(`${base}/activate`, CONTROL)).status, 409, "an ended topology cannot be activated");
    await submitter.exited;
  } finally {
    submitter.kill("SIGKILL");
    await submitterErr;
  }
});

test("ardea ui --nats: prints its URL, serves the topologies, stops on SIGTERM", async () => {
  const [cmd, argv] = ardeaCmd(["ui", "--nats", nats.urls[0]!, "--port", "0"]);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: {} });
  const stderr = child.lines("stderr");
  try {
    let url = "";
    // next() rather than for-await: a break would close the stream.
    for (let line = await stderr.next(); !line.done; line = await stderr.next()) {
      const m = /UI of the topologies on NATS at .*: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line.value);
      if (m) {
        url = m[1]!;
        break;
      }
    }
    assert.ok(url !== "", "printed its URL");
    const r = await until("dist-throwing listed", async () => {
      const x = await get("/api/v1/topologies", undefined, url);
      return x.body.topologies.find((t: { name: string }) => t.name === "dist-throwing");
    }, 10_000);
    assert.is(r.state, "KILLED");
    const phys = await get("/api/v1/topologies/dist-throwing/containers", undefined, url);
    assert.is(phys.body.containers.length, 2);
    // Not child.kill(): Deno's node:child_process then reports a signal even when the child exits 0.
    process.kill(child.pid!, "SIGTERM");
    const rest = (await collect(stderr)).join("\n");
    const exit = await child.exited;
    assert.is(exit.code, 0, rest);
    assert.match(rest, /ardea: UI stopped/);
  } finally {
    child.kill("SIGKILL");
  }
});

test("bad flags of ardea ui are clear usage errors (exit 2)", async () => {
  const port = await ardea(["ui", "--nats", nats.urls[0]!, "--port", "99999"]);
  assert.is(port.code, 2, show(port));
  assert.match(port.stderr, /--port expects a port number 0-65535, got "99999"/);
  const unknown = await ardea(["ui", "--bogus"]);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown flag "--bogus" for "ardea ui"/);
  const extra = await ardea(["ui", "word-count"]);
  assert.is(extra.code, 2);
  assert.match(extra.stderr, /unexpected argument "word-count" for "ardea ui"/);
  const noNats = await ardea(["ui"], {});
  assert.is(noNats.code, 2);
  assert.match(noNats.stderr, /no NATS server: pass --nats/);
  const unreachable = await ardea(["ui", "--nats", "nats://127.0.0.1:1", "--port", "0"], {});
  assert.is(unreachable.code, 1, show(unreachable));
});

test.run();
