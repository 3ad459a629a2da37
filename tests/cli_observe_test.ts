// timeout: 300
// Observing a running distributed topology: `ardea tap` (sampled live tuples,
// leases that expire, no effect on acking), `ardea logs` (recent log lines,
// crash stacks included) and the last error per component in `ardea status`;
// plus the pieces on their own (argument parsing, the log ring, the taps).
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import { parseArgs, UsageError } from "../cli/args.ts";
import { Records } from "../cluster/records.ts";
import { LogRing } from "../cluster/log_ring.ts";
import { Taps } from "../cluster/taps.ts";
import { ardeaRoot, runtimeName, spawnProcess } from "../runtime/mod.ts";
import { encodeMessage, subjects, TAP_MAX_PER_SECOND, type TapTuple } from "../transport/wire/mod.ts";
import { ardeaCmd, asText, collect, runArdea, show } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { sleep, until } from "../testing/wait.ts";

let nats: NatsHandle | undefined;
let nc: NatsConnection;

const ardea = async (args: string[]) => asText(await runArdea(args, { ARDEA_NATS_URL: nats!.urls[0]! }));

test("parseArgs: tap and logs", () => {
  assert.equal(parseArgs(["tap", "wc", "split"]), {
    type: "tap",
    topology: "wc",
    component: "split",
    stream: "default",
    sample: 1,
    limit: 0,
    json: false,
    nats: {},
  });
  assert.equal(parseArgs(["tap", "wc", "split:words", "--sample", "10", "--limit=5", "--json"]), {
    type: "tap",
    topology: "wc",
    component: "split",
    stream: "words",
    sample: 10,
    limit: 5,
    json: true,
    nats: {},
  });
  assert.equal(parseArgs(["logs", "wc"]), { type: "logs", topology: "wc", lines: 100, nats: {} });
  assert.equal(parseArgs(["logs", "wc", "1", "--lines", "7"]), {
    type: "logs",
    topology: "wc",
    container: 1,
    lines: 7,
    nats: {},
  });
  for (
    const bad of [["tap", "wc"], ["tap", "wc", "split", "--sample", "0"], ["tap", "wc", ":x"], ["logs"], [
      "logs",
      "wc",
      "-1x",
    ], ["logs", "wc", "0", "--lines", "0"]]
  ) {
    assert.throws(() => parseArgs(bad), (e: unknown) => e instanceof UsageError, bad.join(" "));
  }
});

test("LogRing keeps the newest lines, splits stacks, counts what it let go", () => {
  const ring = new LogRing(3);
  ring.push("one", 1);
  ring.push("Error: boom\n    at a\n    at b\n", 2);
  assert.equal(ring.last(10), [[2, "Error: boom"], [2, "    at a"], [2, "    at b"]]);
  assert.is(ring.dropped, 1);
  assert.equal(ring.last(1), [[2, "    at b"]]);
  ring.push("x".repeat(5000));
  assert.ok(ring.last(1)[0]![1].length <= 4097);
});

test("Taps: one in N, a limit, a rate cap, and a lease that expires", async () => {
  const sent: TapTuple[] = [];
  let fn: unknown = null;
  const taps = new Taps(3, (_id, t) => sent.push(t), (f) => (fn = f));
  taps.renew({ id: "a", component: "split", stream: "default", sample: 3, limit: 4, leaseMs: 150 });
  assert.ok(typeof fn === "function");
  for (let i = 0; i < 30; i++) taps.onEmit(i % 2 === 0 ? "split" : "count", "default", 7, [i]);
  // Emits 0, 2, 4, … of split; the first and every third after it, four at most.
  assert.equal(sent.map((t) => t.values[0]), [0, 6, 12, 18]);
  assert.is(sent[0]!.container, 3);
  assert.is(taps.size, 0, "the limit ends the tap");
  assert.is(fn, null);
  taps.renew({ id: "b", component: "split", stream: "default", sample: 1, limit: 0, leaseMs: 150 });
  for (let i = 0; i < TAP_MAX_PER_SECOND * 2; i++) taps.onEmit("split", "default", 7, [i]);
  assert.is(sent.length, 4 + TAP_MAX_PER_SECOND, "at most TAP_MAX_PER_SECOND a second");
  await sleep(100);
  taps.renew({ id: "b", component: "split", stream: "default", sample: 1, limit: 0, leaseMs: 150 });
  await sleep(100);
  assert.is(taps.size, 1, "renewed");
  await sleep(120);
  assert.is(taps.size, 0, "expired");
  assert.is(fn, null);
});

test("tap, logs and status against a running distributed topology", async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_observe.ts",
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
  const submitterOut = collect(submitter.lines("stderr")).then((lines) => lines.join("\n"));
  void collect(submitter.lines("stdout"));
  try {
    const records = await until("records", async () => await Records.bind(nc));
    await until(
      "RUNNING",
      async () => ((await records.getTopology("dist-observe"))?.state === "RUNNING" ? true : undefined),
    );

    // Tap: five tuples of "pass", each a number, from the tasks of both containers.
    const t = await ardea(["tap", "dist-observe", "pass", "--limit", "5"]);
    assert.is(t.code, 0, show(t));
    const lines = t.stdout.split("\n").filter((l) => l !== "");
    assert.is(lines.length, 5, show(t));
    for (const l of lines) assert.match(l, /^\[c[01] t\d+\] pass:default \[\d+\]$/);
    const j = await ardea(["tap", "dist-observe", "numbers:default", "--sample", "10", "--limit", "3", "--json"]);
    assert.is(j.code, 0, show(j));
    const objs = j.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    assert.is(objs.length, 3);
    for (const o of objs) {
      assert.is(o.component, "numbers");
      assert.is(typeof o.values[0], "number");
    }
    // Sampled one in 10 by the spout's container: consecutive samples are 10 emits apart.
    assert.is(objs[1].values[0] - objs[0].values[0], 10, j.stdout);
    const unknown = await ardea(["tap", "dist-observe", "nosuch", "--limit", "1"]);
    assert.is(unknown.code, 1, show(unknown));
    assert.match(unknown.stderr, /no component "nosuch".*numbers, pass, sink/);

    // A tap whose CLI died: its lease runs out and the containers stop publishing.
    const s = subjects("dist-observe");
    const got: number[] = [];
    const sub = nc.subscribe(s.tap("ghost"), { callback: () => got.push(Date.now()) });
    nc.publish(
      s.ctl,
      encodeMessage({
        type: "tap",
        id: "ghost",
        component: "pass",
        stream: "default",
        sample: 1,
        limit: 0,
        leaseMs: 600,
      }),
    );
    await nc.flush();
    await until("ghost tuples", async () => (got.length > 0 ? true : undefined), 5_000);
    await sleep(1200);
    const after = got.length;
    await sleep(800);
    assert.is(got.length, after, "no tap messages after the lease expired");
    sub.unsubscribe();
    // Any stray subscription on tap subjects gets nothing once every tap ended.
    const stray: string[] = [];
    const all = nc.subscribe(`ardea.dist-observe.tap.>`, { callback: (_e, m) => stray.push(m.subject) });
    await sleep(800);
    all.unsubscribe();
    assert.equal(stray, []);

    // Tapping did not disturb acking: nothing failed apart from the planned crash's tuples.
    const cs = await records.listContainers("dist-observe");
    const failed = cs.reduce((n, c) => n + c.stats!.failed, 0);
    assert.ok(failed <= 25, `failed trees: ${failed}`);

    // Logs: both containers answer; the crash's stack and the component's console output are there.
    const logs = await until("the crash in the logs", async () => {
      const r = await ardea(["logs", "dist-observe", "--lines", "200"]);
      return r.code === 0 && /pass crashed on purpose at 100/.test(r.stdout) ? r : undefined;
    });
    assert.match(logs.stdout, /^== container 0 \(pid \d+ on /m);
    assert.match(logs.stdout, /^== container 1 /m);
    assert.match(logs.stdout, /^\[c\d \d\d:\d\d:\d\d\.\d\d\d\] \s+at /m, "a stack line");
    assert.match(logs.stdout, /pass says hello at 50/);
    const one = await ardea(["logs", "dist-observe", "1", "--lines", "2"]);
    assert.is(one.code, 0, show(one));
    assert.not.match(one.stdout, /^== /m);
    assert.ok(one.stdout.split("\n").filter((l) => l !== "").length <= 2, one.stdout);
    assert.ok(one.stdout.split("\n").filter((l) => l !== "").every((l) => l.startsWith("[c1 ")), one.stdout);
    const none = await ardea(["logs", "dist-observe", "5"]);
    assert.is(none.code, 1, show(none));
    assert.match(none.stderr, /no container 5/);

    // Status: the last error of each component, from the heartbeats.
    const st = await until("the reported error in status", async () => {
      const r = await ardea(["status", "dist-observe", "--json"]);
      const sj = JSON.parse(r.stdout);
      const pass = sj.components?.find((c: { component: string }) => c.component === "pass");
      return pass?.errors >= 2 && /reported trouble at 200/.test(pass.lastError ?? "") ? sj : undefined;
    });
    const pass = st.components.find((c: { component: string }) => c.component === "pass");
    assert.is(pass.restarts, 1);
    assert.ok(pass.lastErrorContainer === 0 || pass.lastErrorContainer === 1);
    assert.is(st.components.find((c: { component: string }) => c.component === "sink").lastError, null);
    const text = await ardea(["status", "dist-observe"]);
    assert.match(text.stdout, /^COMPONENT\s+ERRORS\s+RESTARTS\s+LAST ERROR$/m);
    assert.match(text.stdout, /^pass\s+2\s+1\s+pass reported trouble at 200 \(\d+s ago, container [01]\)$/m);
    assert.match(text.stdout, /^sink\s+0\s+0\s+-$/m);

    const k = await ardea(["kill", "dist-observe", "--wait-secs", "1"]);
    assert.is(k.code, 0, show(k));
    await submitter.exited;
  } catch (e) {
    console.error(await Promise.race([submitterOut, sleep(100).then(() => "(submitter still running)")]));
    throw e;
  } finally {
    await nc?.close();
    await nats?.stop();
  }
});

test.run();
