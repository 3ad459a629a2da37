// timeout: 240
// The tracker's REST API against running embedded topologies: in this process
// (Tracker + serveTracker on a free port), and through `ardea run --ui --port 0`.
import { test } from "../testing/harness.ts";
import process from "node:process";
import * as assert from "uvu/assert";
import { bolt, Fields, iterableSpout, submit, TopologyBuilder, type TopologyHandle } from "../mod.ts";
import { serveTracker, Tracker, type TrackerServer, uiAssets } from "../tracker/mod.ts";
import { collect, spawnArdea } from "../testing/child.ts";
import { sleep, until } from "../testing/wait.ts";

/** A control POST as the web page sends it (the tracker refuses one without the header). */
const CONTROL: RequestInit = { method: "POST", headers: { "x-ardea-control": "1" } };

async function* endless(): AsyncGenerator<string> {
  for (let i = 0;; i++) {
    if (i % 100 === 99) await sleep(2);
    yield `x${i % 5} y${i % 3}`;
  }
}

function endlessTopology() {
  const b = new TopologyBuilder();
  b.setSpout("lines", iterableSpout(endless, { fields: ["line"] }));
  b.setBolt(
    "split",
    bolt((t, c) => {
      for (const w of t.getString(0).split(" ")) c.emit([w]);
    }, { fields: ["word"] }),
    2,
  ).shuffleGrouping("lines");
  let n = 0;
  b.setBolt(
    "sink",
    bolt((t, c) => {
      if (++n === 10) c.reportError(new Error(`tenth word was ${t.getString(0)}`));
    }),
    2,
  ).fieldsGrouping("split", new Fields("word"));
  return b.createTopology();
}

// deno-lint-ignore no-explicit-any
async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

let handle: TopologyHandle;
let server: TrackerServer;
let base: string;

test.before(async () => {
  const tracker = new Tracker({ sampleMs: 100, assets: uiAssets() });
  handle = await submit(
    "rest",
    { "topology.reliability.mode": "ATLEAST_ONCE", "topology.max.spout.pending": 500 },
    endlessTopology(),
    { handleSignals: false, log: () => {} },
  );
  tracker.add(handle);
  server = await serveTracker(tracker, { port: 0 });
  base = server.url.replace(/\/$/, "");
});

test.after(async () => {
  await handle.kill().catch(() => {});
  await server.close();
});

test("serveTracker listens on 127.0.0.1 and prints a usable URL", () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.ok(server.port > 0);
});

test("GET /api/v1/topologies lists the running topology", async () => {
  const r = await getJson(`${base}/api/v1/topologies`);
  assert.is(r.status, 200);
  assert.is(r.body.topologies.length, 1);
  const t = r.body.topologies[0];
  assert.is(t.name, "rest");
  assert.is(t.state, "RUNNING");
  assert.is(t.components, 3);
  assert.is(t.tasks, 5);
});

test("GET /api/v1/topologies/:name has the logical plan, config, packing and state", async () => {
  const r = await getJson(`${base}/api/v1/topologies/rest`);
  assert.is(r.status, 200);
  assert.is(r.body.state, "RUNNING");
  assert.is(r.body.config["topology.max.spout.pending"], 500);
  assert.is(r.body.config["topology.reliability.mode"], "ATLEAST_ONCE");
  assert.equal(r.body.plan.spouts, ["lines"]);
  assert.equal(r.body.plan.bolts, ["sink", "split"]);
  assert.equal(r.body.plan.edges, [
    { from: "split", to: "sink", stream: "default", grouping: { type: "fields", fields: ["word"] } },
    { from: "lines", to: "split", stream: "default", grouping: { type: "shuffle" } },
  ]);
  assert.equal(r.body.packing.containers[0].tasks, [1, 2, 3, 4, 5]);
});

test("GET .../containers: the embedded tracker answers with one container, this process, holding every task", async () => {
  const r = await getJson(`${base}/api/v1/topologies/rest/containers`);
  assert.is(r.status, 200);
  assert.is(r.body.containers.length, 1);
  const c = r.body.containers[0];
  assert.is(c.id, 0);
  assert.is(c.pid, process.pid);
  assert.is(c.state, "RUNNING");
  assert.equal(c.tasks.map((t: { id: number }) => t.id), [1, 2, 3, 4, 5]);
  assert.equal([...new Set(c.tasks.map((t: { component: string }) => t.component))].sort(), ["lines", "sink", "split"]);
  assert.equal(Object.keys(c.mailboxes).length, 4, "one mailbox per bolt task");
  const bp = await getJson(`${base}/api/v1/topologies/rest/backpressure`);
  assert.is(bp.status, 200);
  assert.type(bp.body.active, "boolean");
  assert.ok(Array.isArray(bp.body.history));
  const ex = await getJson(`${base}/api/v1/topologies/rest/exceptions`);
  for (const e of ex.body.exceptions) assert.ok("stack" in e && "container" in e && "lastErrorAt" in e);
});

test("GET .../metrics: current counters move and the series fills up", async () => {
  const first = await getJson(`${base}/api/v1/topologies/rest/metrics`);
  assert.is(first.status, 200);
  let later = first;
  await until("emits to grow and 3 samples", async () => {
    later = await getJson(`${base}/api/v1/topologies/rest/metrics`);
    return later.body.components.lines.emitted > first.body.components.lines.emitted && later.body.series.t.length >= 3;
  });
  const c = later.body.components;
  assert.is(c.split.kind, "bolt");
  assert.ok(c.split.executed > 0);
  assert.ok(later.body.topology.emitted >= c.lines.emitted);
  // Per-task counters, and sampled latency percentiles per component.
  const tasks = Object.values(later.body.tasks) as Array<
    { component: string; kind: string; emitted: number; capacity: number }
  >;
  assert.is(tasks.filter((t) => t.component === "split").length, 2);
  assert.ok(tasks.every((t) => t.capacity >= 0 && t.capacity <= 1));
  await until("latency samples", async () => {
    const b = (await getJson(`${base}/api/v1/topologies/rest/metrics`)).body;
    return b.components.split.executeLatency?.count > 0 && b.components.lines.completeLatency?.count > 0;
  });
  const s = later.body.series;
  assert.is(s.components.lines.emitted.length, s.t.length);
  assert.ok(
    s.components.lines.emitRate.some((v: number | null) => v !== null && v > 0),
    JSON.stringify(s.components.lines.emitRate),
  );
});

test("GET .../exceptions reports the last error and the count per component", async () => {
  await until(
    "the sink's error",
    async () =>
      (await getJson(`${base}/api/v1/topologies/rest/exceptions`)).body.exceptions.some((e: { count: number }) =>
        e.count > 0
      ),
  );
  const r = await getJson(`${base}/api/v1/topologies/rest/exceptions`);
  const sink = r.body.exceptions.find((e: { component: string }) => e.component === "sink");
  assert.ok(sink.count >= 1);
  assert.match(sink.lastError, /^tenth word was /);
  assert.is(r.body.exceptions.find((e: { component: string }) => e.component === "lines").count, 0);
});

test("GET /metrics is Prometheus text with the live counters", async () => {
  const res = await fetch(`${base}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const m = /^ardea_emit_count\{topology="rest",component="lines",container="0"\} (\d+)$/m.exec(text);
  assert.ok(m !== null, text);
  assert.ok(Number(m![1]) > 0);
  assert.match(text, /^ardea_topology_state\{topology="rest",container="0",state="RUNNING"\} 1$/m);
  assert.match(text, /^ardea_task_emit_count\{topology="rest",component="split",task="\d+",container="0"\} \d+$/m);
  assert.match(text, /^ardea_task_capacity\{topology="rest",component="sink",task="\d+",container="0"\} [\d.e-]+$/m);
});

test("the web page and its libraries are served", async () => {
  for (
    const [path, type] of [
      ["/", "text/html"],
      ["/ui/app.js", "text/javascript"],
      ["/vendor/dagre.min.js", "text/javascript"],
      ["/vendor/uPlot.iife.min.js", "text/javascript"],
      ["/vendor/uPlot.min.css", "text/css"],
    ]
  ) {
    const res = await fetch(`${base}${path}`);
    assert.is(res.status, 200, path);
    assert.ok(res.headers.get("content-type")!.startsWith(type!), path);
    assert.ok((await res.text()).length > 100, path);
  }
});

test("errors: unknown topology 404, wrong method 405, unknown path 404, cross-origin or header-less POST 403, foreign Host 403", async () => {
  const unknown = await getJson(`${base}/api/v1/topologies/nope`);
  assert.is(unknown.status, 404);
  assert.is(unknown.body.error.code, "UNKNOWN_TOPOLOGY");
  const get = await fetch(`${base}/api/v1/topologies/rest/kill`);
  assert.is(get.status, 405);
  assert.is(get.headers.get("allow"), "POST");
  await get.body?.cancel();
  const post = await fetch(`${base}/api/v1/topologies/rest/metrics`, { method: "POST" });
  assert.is(post.status, 405);
  await post.body?.cancel();
  assert.is((await getJson(`${base}/api/v1/nothing`)).status, 404);
  assert.is((await getJson(`${base}/api/v2/topologies`)).status, 404);
  const cross = await getJson(`${base}/api/v1/topologies/rest/kill`, {
    method: "POST",
    headers: { origin: "http://example.invalid", "x-ardea-control": "1" },
  });
  assert.is(cross.status, 403);
  assert.is(cross.body.error.code, "CROSS_ORIGIN");
  const sandboxed = await getJson(`${base}/api/v1/topologies/rest/kill`, {
    method: "POST",
    headers: { origin: "null", "x-ardea-control": "1" },
  });
  assert.is(sandboxed.status, 403);
  const form = await getJson(`${base}/api/v1/topologies/rest/kill`, { method: "POST" });
  assert.is(form.status, 403);
  assert.is(form.body.error.code, "CONTROL_HEADER_MISSING");
  assert.is(handle.state, "RUNNING");
  // A page that rebinds its own name to 127.0.0.1 sends its own Host header.
  const tracker = new Tracker();
  const res = await tracker.handle(new Request("http://evil.invalid:8889/api/v1/topologies"));
  assert.is(res.status, 403);
});

test("POST deactivate, activate and kill steer the topology", async () => {
  const d = await getJson(`${base}/api/v1/topologies/rest/deactivate`, CONTROL);
  assert.is(d.status, 200);
  assert.is(d.body.state, "PAUSED");
  assert.is(handle.state, "PAUSED");
  const a = await getJson(`${base}/api/v1/topologies/rest/activate`, {
    method: "POST",
    headers: { origin: base, "x-ardea-control": "1" },
  });
  assert.is(a.body.state, "RUNNING");
  const k = await getJson(`${base}/api/v1/topologies/rest/kill`, CONTROL);
  assert.is(k.status, 200);
  assert.is(k.body.state, "KILLED");
  assert.is((await handle.done).state, "KILLED");
  const again = await getJson(`${base}/api/v1/topologies/rest/kill`, CONTROL);
  assert.is(again.status, 409);
  assert.is(again.body.error.code, "ENDED");
  const list = await getJson(`${base}/api/v1/topologies`);
  assert.is(list.body.topologies[0].state, "KILLED");
});

// ------------------------------------------------------------ ardea run --ui

const ardea = (args: string[]) => spawnArdea(args, { ARDEA_DEBUG: "" });

test("ardea run --ui --port 0 prints the URL, serves the API, and a REST kill ends the run with exit 0", async () => {
  const child = ardea(["run", "--ui", "--port", "0", "tests/fixtures/ui_topology.ts"]);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const reading = Promise.all([collect(child.lines("stdout"), stdout), collect(child.lines("stderr"), stderr)]);
  try {
    await until("the UI line", () => stderr.some((l) => l.startsWith("ardea: UI at ")), 30_000);
    const url = /ardea: UI at (http:\/\/127\.0\.0\.1:\d+)\/$/.exec(stderr.find((l) => l.startsWith("ardea: UI at "))!)
      ?.[1];
    assert.ok(url, stderr.join("\n"));
    await until(
      "the topology",
      async () => (await getJson(`${url}/api/v1/topologies`)).body.topologies.length === 1,
      30_000,
    );
    const detail = await getJson(`${url}/api/v1/topologies/ui-demo`);
    assert.equal(detail.body.plan.spouts, ["sentences"]);
    const page = await fetch(`${url}/`);
    assert.match(await page.text(), /<title>Ardea tracker<\/title>/);
    const k = await getJson(`${url}/api/v1/topologies/ui-demo/kill`, CONTROL);
    assert.is(k.status, 200);
    assert.is(k.body.state, "KILLED");
    const exit = await child.exited;
    await reading;
    assert.is(exit.code, 0, stderr.join("\n"));
    assert.ok(stdout.includes("ended KILLED"), stdout.join("\n"));
    assert.ok(stderr.some((l) => /"ui-demo" KILLED/.test(l)), stderr.join("\n"));
  } finally {
    child.kill("SIGKILL");
  }
});

test("ardea run: --port without --ui is a usage error; a bad port is named", async () => {
  for (
    const [args, message] of [
      [["run", "--port", "1234", "tests/fixtures/cli_finite.ts"], "ardea: --port needs --ui"],
      [
        ["run", "--ui", "--port", "http", "tests/fixtures/cli_finite.ts"],
        'ardea: --port expects a port number 0-65535, got "http"',
      ],
    ] as const
  ) {
    const child = ardea([...args]);
    const stderr: string[] = [];
    await collect(child.lines("stderr"), stderr);
    const exit = await child.exited;
    assert.is(exit.code, 2, stderr.join("\n"));
    assert.is(stderr[0], message);
  }
});

test.run();
