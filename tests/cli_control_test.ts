// timeout: 300
// `ardea list / status / activate / deactivate / kill` end to end: bin/ardea.mjs
// as a child process against a real nats-server, with records written
// directly by the test (no engine); a kill is answered by a stand-in master.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import {
  type ContainerRecord,
  type ControlMessage,
  decodeControl,
  subjects,
  type TopologyRecord,
  WIRE_VERSION,
} from "../transport/wire/mod.ts";
import { runArdea, show } from "../testing/child.ts";
import { freePorts, type NatsHandle, startNats } from "../testing/nats_server.ts";

const ardea = (args: string[], env: Record<string, string> = {}) =>
  runArdea(args, { ARDEA_DEBUG: "", ARDEA_NATS_URL: "", ...env });

function topology(name: string, over: Partial<TopologyRecord> = {}): TopologyRecord {
  const now = Date.now();
  return {
    version: WIRE_VERSION,
    name,
    state: "RUNNING",
    config: {},
    bundle: "b".repeat(64),
    args: [],
    cwd: "/tmp",
    containers: 2,
    packing: { "1": 0, "2": 0, "3": 1 },
    components: { words: [1, 2], count: [3] },
    scheduler: "local",
    runtime: "node",
    ardeaVersion: "0.1.0",
    submittedAt: now - 125_000,
    updatedAt: now,
    ...over,
  };
}

function container(topo: string, i: number, over: Partial<ContainerRecord> = {}): ContainerRecord {
  const now = Date.now();
  return {
    version: WIRE_VERSION,
    topology: topo,
    container: i,
    pid: 4000 + i,
    host: "127.0.0.1",
    tasks: i === 0 ? [1, 2] : [3],
    startedAt: now - 60_000,
    heartbeatAt: now - 500,
    restarts: i,
    ...over,
  };
}

let nats: NatsHandle;
let nc: NatsConnection;
let url: string;

test.before(async () => {
  nats = await startNats();
  url = nats.urls[0]!;
  nc = await connect({ servers: nats.urls, noAsyncTraces: true });
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
});

test("bad command lines exit 2 with one error line and the usage", async () => {
  const cases: Array<[string[], RegExp, RegExp]> = [
    [
      ["status", "wc", "--bogus", "--nats", url],
      /^ardea: unknown flag "--bogus" for "ardea status"$/,
      /^usage: ardea status /,
    ],
    [
      ["kill", "wc", "--wait-secs", "soon", "--nats", url],
      /^ardea: --wait-secs expects a number/,
      /^usage: ardea kill /,
    ],
    [["status", "--nats", url], /^ardea: missing the topology name$/, /^usage: ardea status /],
    [["activate", "a", "b", "--nats", url], /takes one topology name, got 2/, /^usage: ardea activate /],
    [["list", "--nats"], /^ardea: flag "--nats" needs a value$/, /^usage: ardea list/],
    [["list"], /^ardea: no NATS server: pass --nats .* or set ARDEA_NATS_URL$/, /^usage: ardea list/],
    [["list", "--nats", url, "--user", "u"], /--user .* needs --password/, /^usage: ardea list/],
  ];
  for (const [args, first, second] of cases) {
    const r = await ardea(args);
    assert.is(r.code, 2, show(r));
    assert.is(r.stderr.length, 2, show(r));
    assert.match(r.stderr[0]!, first, show(r));
    assert.match(r.stderr[1]!, second, show(r));
    assert.equal(r.stdout, []);
  }
  const help = await ardea(["help", "kill"]);
  assert.is(help.code, 0);
  assert.match(help.stdout.join("\n"), /--wait-secs N/);
});

test("no bucket yet: list prints nothing, status is an unknown topology", async () => {
  const list = await ardea(["list", "--nats", url]);
  assert.is(list.code, 0, show(list));
  assert.equal(list.stdout, []);
  const status = await ardea(["status", "ghost", "--nats", url]);
  assert.is(status.code, 1, show(status));
  assert.equal(status.stderr, [`ardea: no topology "ghost" on NATS at ${url} (ardea list shows the topologies)`]);
});

test("unreachable NATS exits 1 with one line", async () => {
  const [port] = await freePorts(1);
  const r = await ardea(["list", "--nats", `nats://127.0.0.1:${port}`]);
  assert.is(r.code, 1, show(r));
  assert.equal(r.stderr, [`ardea: cannot reach NATS at nats://127.0.0.1:${port}: connection refused`]);
});

test("list: one line per topology with name, state, containers and age (URL from ARDEA_NATS_URL)", async () => {
  const records = await Records.open(nc);
  await records.putTopology(topology("wc"));
  await records.putTopology(topology("etl.nightly", { state: "PAUSED", containers: 1 }));
  const r = await ardea(["list"], { ARDEA_NATS_URL: url });
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout.length, 2, show(r));
  assert.match(r.stdout[0]!, /^etl\.nightly\s+PAUSED\s+1 container\s+2m \ds$/);
  assert.match(r.stdout[1]!, /^wc\s+RUNNING\s+2 containers\s+2m \ds$/);
  await records.deleteTopology("wc");
  await records.deleteTopology("etl.nightly");
});

test("list: an active topology whose master lease expired says so, and list writes nothing", async () => {
  const records = await Records.open(nc);
  const names = ["lost", "alive", "pooled", "never", "done"];
  await records.putTopology(topology("lost"));
  await records.acquireLease("lost", "gone:1", -12_000);
  await records.putTopology(topology("alive"));
  await records.acquireLease("alive", "here:2", 60_000);
  await records.putTopology(topology("pooled", { scheduler: "pool" }));
  await records.acquireLease("pooled", "gone:3", -5_000);
  await records.putTopology(topology("never", { state: "SUBMITTED", updatedAt: Date.now() - 120_000 }));
  await records.putTopology(topology("done", { state: "FINISHED" }));
  await records.acquireLease("done", "gone:4", -12_000);
  const r = await ardea(["list", "--nats", url]);
  assert.is(r.code, 0, show(r));
  const line = (name: string) => r.stdout.find((l) => l.startsWith(`${name} `)) ?? "";
  assert.match(line("lost"), /^lost\s+RUNNING\s+2 containers\s+2m \ds\s+master lease expired 1\ds ago$/, show(r));
  assert.match(line("alive"), /^alive\s+RUNNING\s+2 containers\s+2m \ds$/, show(r));
  assert.match(
    line("pooled"),
    /^pooled\s+RUNNING\s+2 containers\s+2m \ds\s+master lease expired \ds ago \(a pool worker may take over\)$/,
    show(r),
  );
  assert.match(line("never"), /^never\s+SUBMITTED\s+2 containers\s+2m \ds\s+no master lease: master lost$/, show(r));
  assert.match(line("done"), /^done\s+FINISHED\s+2 containers\s+2m \ds$/, show(r));
  // Only status ends a lost run: list left the records as they were.
  assert.is((await records.getTopology("lost"))?.state, "RUNNING");
  assert.is((await records.getLease("lost"))?.holder, "gone:1");
  assert.is((await records.getTopology("never"))?.state, "SUBMITTED");
  for (const n of names) await records.deleteTopology(n);
});

test("status --json prints exactly one object of the documented shape; pid only in containers", async () => {
  const records = await Records.open(nc);
  await records.putTopology(topology("st", { error: "bolt count threw" }));
  await records.putContainer(container("st", 0));
  await records.putContainer(container("st", 1, { backpressure: true }));
  await records.putContainer(container("st", 7)); // a stale container of an older plan
  const r = await ardea(["status", "st", "--json", "--nats", url]);
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout.length, 1, show(r));
  const s = JSON.parse(r.stdout[0]!) as Record<string, unknown>;
  assert.equal(Object.keys(s).sort(), ["backpressure", "components", "containers", "error", "state", "topology"]);
  assert.is(s["topology"], "st");
  assert.is(s["state"], "RUNNING");
  assert.is(s["backpressure"], true);
  assert.is(s["error"], "bolt count threw");
  const cs = s["containers"] as Array<Record<string, unknown>>;
  assert.is(cs.length, 2);
  assert.equal(cs.map((c) => c["id"]), [0, 1]);
  assert.equal(cs[0]!["pid"], 4000);
  assert.equal(cs[0]!["host"], "127.0.0.1");
  assert.equal(cs[0]!["tasks"], [1, 2]);
  assert.equal(cs[1]!["restarts"], 1);
  assert.is(cs[0]!["backpressure"], false);
  const age = cs[0]!["heartbeatAgeMs"] as number;
  assert.ok(age >= 500 && age < 30_000, `heartbeatAgeMs ${age}`);
  const pidPaths: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "pid") pidPaths.push(path);
        walk(x, `${path}.${k}`);
      }
    }
  };
  walk(s, "$");
  assert.equal(pidPaths, ["$.containers[0]", "$.containers[1]"]);

  const text = await ardea(["status", "st", "--nats", url]);
  assert.is(text.code, 0, show(text));
  const out = text.stdout.join("\n");
  assert.match(out, /^state\s+RUNNING$/m);
  assert.match(out, /^backpressure\s+on\b/m);
  assert.match(out, /^error\s+bolt count threw$/m);
  assert.match(out, /^0\s+4000\s+127\.0\.0\.1\s+1-2\s+\d+\.\d s ago\s+0\s+off, \d+\.\d s total$/m);
  assert.not.match(out, /^update\s/m);
  assert.not.match(out, /^relaunches\s/m);

  // An update asked for and not running yet, after two relaunches: the text says so; the JSON keeps its shape.
  const nextPlan = {
    packing: { "1": 0, "2": 0, "3": 1, "4": 1, "5": 0 },
    components: { words: [1, 2], count: [3, 4, 5] },
    parallelism: { count: 3 },
  };
  await records.putTopology(topology("st", { generation: 2, nextPlan }));
  const pending = await ardea(["status", "st", "--nats", url]);
  assert.match(pending.stdout.join("\n"), /^update\s+asked for, not running yet: count 1→3$/m);
  assert.match(pending.stdout.join("\n"), /^relaunches\s+2 /m);
  const json = await ardea(["status", "st", "--json", "--nats", url]);
  assert.equal(Object.keys(JSON.parse(json.stdout[0]!)).sort(), [
    "backpressure",
    "components",
    "containers",
    "state",
    "topology",
  ]);
  await records.deleteTopology("st");
});

function listen(name: string): { messages: ControlMessage[]; stop: () => void } {
  const messages: ControlMessage[] = [];
  const sub = nc.subscribe(subjects(name).ctl, { callback: (_e, m) => messages.push(decodeControl(m.data)) });
  return { messages, stop: () => sub.unsubscribe() };
}

test("deactivate and activate publish on ctl and set the state; an ended topology is refused", async () => {
  const records = await Records.open(nc);
  await records.putTopology(topology("steer"));
  const ctl = listen("steer");
  await nc.flush();
  try {
    const d = await ardea(["deactivate", "steer", "--nats", url]);
    assert.is(d.code, 0, show(d));
    assert.is((await records.getTopology("steer"))?.state, "PAUSED");
    const a = await ardea(["activate", "steer", "--nats", url]);
    assert.is(a.code, 0, show(a));
    assert.is((await records.getTopology("steer"))?.state, "RUNNING");
    await nc.flush();
    assert.equal(ctl.messages, [{ type: "deactivate" }, { type: "activate" }]);
    await records.updateTopology("steer", (r) => ({ ...r, state: "FINISHED" }));
    const late = await ardea(["activate", "steer", "--nats", url]);
    assert.is(late.code, 1, show(late));
    assert.match(late.stderr[0]!, /topology "steer" is FINISHED; only a RUNNING or PAUSED topology can be activated/);
  } finally {
    ctl.stop();
    await records.deleteTopology("steer");
  }
});

test("kill with a master: publishes kill with the drain time, waits for KILLED, exits 0", async () => {
  const records = await Records.open(nc);
  await records.putTopology(topology("k1"));
  assert.ok(await records.acquireLease("k1", "stand-in", 60_000));
  const seen: ControlMessage[] = [];
  // A stand-in master: on kill, wait a little, then mark the record KILLED.
  const sub = nc.subscribe(subjects("k1").ctl, {
    callback: (_e, m) => {
      const msg = decodeControl(m.data);
      seen.push(msg);
      if (msg.type === "kill") {
        setTimeout(() => void records.updateTopology("k1", (r) => ({ ...r, state: "KILLED" })), 300);
      }
    },
  });
  await nc.flush();
  try {
    const started = Date.now();
    const r = await ardea(["kill", "k1", "--wait-secs", "2", "--nats", url]);
    assert.is(r.code, 0, show(r));
    assert.equal(r.stdout, ["k1 KILLED"]);
    assert.equal(seen, [{ type: "kill", drainMs: 2000 }]);
    assert.ok(Date.now() - started < 10_000, "returned when the record changed, not at the deadline");
  } finally {
    sub.unsubscribe();
    await records.deleteTopology("k1");
  }
});

test("kill without a master marks KILLED after the drain time; a FAILED topology exits 1", async () => {
  const records = await Records.open(nc);
  await records.putTopology(topology("k2", { state: "PAUSED" }));
  const r = await ardea(["kill", "k2", "--wait-secs", "0", "--nats", url]);
  assert.is(r.code, 0, show(r));
  assert.equal(r.stdout, ["k2 KILLED"]);
  assert.match(r.stderr.join("\n"), /no topology master is running for "k2"; marked it KILLED/);
  assert.is((await records.getTopology("k2"))?.state, "KILLED");
  const again = await ardea(["kill", "k2", "--nats", url]);
  assert.is(again.code, 0, show(again));
  assert.equal(again.stdout, ["k2 already KILLED"]);
  await records.updateTopology("k2", (rec) => ({ ...rec, state: "FAILED" }));
  const failed = await ardea(["kill", "k2", "--nats", url]);
  assert.is(failed.code, 1, show(failed));
  await records.deleteTopology("k2");
});

test("submit: a script that throws at import is one line with its error and the line in the script, exit 1", async () => {
  const r = await ardea(["submit", "tests/fixtures/submit_throws.ts", "--nats", url]);
  assert.is(r.code, 1, show(r));
  assert.is(r.stderr.length, 1, show(r));
  assert.match(
    r.stderr[0]!,
    /^ardea: ScriptError: tests\/fixtures\/submit_throws\.ts failed while loading: TypeError: cannot reach the database \(at tests\/fixtures\/submit_throws\.ts:3:\d+\)$/,
  );
});

test("submit: a script that never calls submit() is reported as soon as it has loaded, exit 1", async () => {
  const started = Date.now();
  const r = await ardea(["submit", "tests/fixtures/submit_none.ts", "--nats", url]);
  assert.is(r.code, 1, show(r));
  assert.equal(
    r.stderr,
    ["ardea: ArdeaError: tests/fixtures/submit_none.ts finished loading without calling submit()"],
    show(r),
  );
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms (the old timeout was 60 s)`);
});

test("submit: a mistyped topology key is a warning line with a suggestion, and the topology still runs", async () => {
  // --wait: this process is the master, and the (finite) topology ends with it.
  const r = await ardea(["submit", "tests/fixtures/submit_typo.ts", "--wait", "--nats", url]);
  assert.is(r.code, 0, show(r));
  // once: not again from the container, which imports the script too
  const warnings = r.stderr.filter((l) => l.includes("warning"));
  assert.equal(warnings, [
    'ardea: warning: config key "topology.relability.mode" is not one Ardea knows; it is passed to components as given (did you mean "topology.reliability.mode"?)',
  ], show(r));
  assert.ok(r.stderr.some((l) => /"submit-typo" ended FINISHED/.test(l)), show(r));
});

test("update --component-parallelism: a total over the bound and an unknown component are refused, naming them", async () => {
  const records = await Records.open(nc);
  await records.putTopology(
    topology("u1", {
      packing: { "1": 0, "2": 0, "3": 1, "4": 1 },
      components: { words: [1, 2], count: [3], extra: [4] },
    }),
  );
  assert.ok(await records.acquireLease("u1", "stand-in", 60_000));
  try {
    // each within the per-component bound, together over the total
    const big = await ardea(["update", "u1", "--component-parallelism", "words:10000,count:10000", "--nats", url]);
    assert.is(big.code, 1, show(big));
    assert.is(big.stderr.length, 1, show(big));
    assert.match(big.stderr[0]!, /20001 tasks; at most 20000/);
    assert.match(big.stderr[0]!, /"u1"/);
    assert.is((await records.getTopology("u1"))?.nextPlan, undefined, "nothing written");
    const unknown = await ardea(["update", "u1", "--component-parallelism", "wrods:2", "--nats", url]);
    assert.is(unknown.code, 1, show(unknown));
    assert.match(unknown.stderr[0]!, /no component "wrods" \(it has words, count, extra\)/);
  } finally {
    await records.deleteTopology("u1");
  }
});

test.run();
