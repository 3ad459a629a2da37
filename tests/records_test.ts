// timeout: 240
// cluster/records.ts against real nats-server processes: CRUD of topology and
// container records, compare-and-set retries, the master lease, and a
// bucket with 3 replicas on a 3-server cluster.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import { Records, RecordsError } from "../cluster/records.ts";
import { type ContainerRecord, KV_BUCKET, type TopologyRecord, WIRE_VERSION } from "../transport/wire/mod.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

function topology(name: string, over: Partial<TopologyRecord> = {}): TopologyRecord {
  const now = Date.now();
  return {
    version: WIRE_VERSION,
    name,
    state: "RUNNING",
    config: { "topology.workers": 2 },
    bundle: "a".repeat(64),
    args: [],
    cwd: "/tmp",
    containers: 2,
    packing: { "1": 0, "2": 1 },
    components: { words: [1], count: [2] },
    scheduler: "local",
    runtime: "node",
    ardeaVersion: "0.1.0",
    submittedAt: now,
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
    pid: 1000 + i,
    host: "127.0.0.1",
    tasks: [i + 1],
    startedAt: now,
    heartbeatAt: now,
    restarts: 0,
    ...over,
  };
}

let nats: NatsHandle;
let nc: NatsConnection;

test.before(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.urls, noAsyncTraces: true });
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
});

test("bind finds no bucket before open creates it with history 5", async () => {
  assert.is(await Records.bind(nc), undefined);
  await Records.open(nc);
  assert.ok(await Records.bind(nc));
  const info = await (await nc.jetstreamManager()).streams.info(`KV_${KV_BUCKET}`);
  assert.is(info.config.max_msgs_per_subject, 5);
  assert.is(info.config.num_replicas, 1);
});

test("topology and container records: put, get, list, delete", async () => {
  const r = await Records.open(nc);
  assert.is(await r.getTopology("wc"), undefined);
  await r.putTopology(topology("wc"));
  await r.putTopology(topology("alpha.beta", { state: "PAUSED" }));
  await r.putContainer(container("wc", 1));
  await r.putContainer(container("wc", 0, { backpressure: true }));
  await r.putContainer(container("other", 0));
  assert.is((await r.getTopology("wc"))?.state, "RUNNING");
  assert.equal((await r.listTopologies()).map((t) => t.name), ["alpha.beta", "wc"]);
  const cs = await r.listContainers("wc");
  assert.equal(cs.map((c) => c.container), [0, 1]);
  assert.is(cs[0]!.backpressure, true);
  assert.is(cs[1]!.backpressure, undefined);
  await r.acquireLease("wc", "m1", 1000);
  await r.deleteTopology("wc");
  assert.is(await r.getTopology("wc"), undefined);
  assert.equal(await r.listContainers("wc"), []);
  assert.is(await r.getLease("wc"), undefined);
  assert.equal((await r.listTopologies()).map((t) => t.name), ["alpha.beta"]);
  assert.is((await r.listContainers("other")).length, 1);
  await r.deleteTopology("alpha.beta");
  await r.deleteTopology("other");
});

test("names that differ only in . and _ are two records: kill-like deletes and updates touch one; old keys stay", async () => {
  const r = await Records.open(nc);
  const kv = await nc.jetstream().views.kv(KV_BUCKET);
  await r.putTopology(topology("x.y"));
  await r.putTopology(topology("x_y", { state: "PAUSED" }));
  await r.putContainer(container("x.y", 0));
  await r.putContainer(container("x_y", 0));
  await r.putContainer(container("x_y", 1));
  await r.acquireLease("x.y", "m1", 60_000);
  assert.is((await r.getTopology("x.y"))?.state, "RUNNING");
  assert.is((await r.getTopology("x_y"))?.state, "PAUSED");
  assert.is((await r.listContainers("x.y")).length, 1);
  assert.is((await r.listContainers("x_y")).length, 2);
  assert.equal((await r.listTopologies()).map((t) => t.name), ["x.y", "x_y"]);
  // ardea kill x_y: an update of x_y's record, and its removal, leave x.y alone
  await r.updateTopology("x_y", (t) => ({ ...t, state: "KILLED" }));
  assert.is((await r.getTopology("x.y"))?.state, "RUNNING");
  await r.deleteTopology("x_y");
  assert.is(await r.getTopology("x_y"), undefined);
  assert.is((await r.getTopology("x.y"))?.name, "x.y");
  assert.is((await r.listContainers("x.y")).length, 1);
  assert.is((await r.getLease("x.y"))?.holder, "m1");
  // names of letters, digits, _ and - keep the keys they always had
  await r.putTopology(topology("Word-count_2"));
  assert.ok(await kv.get("Word-count_2"));
  await r.deleteTopology("Word-count_2");
  await r.deleteTopology("x.y");
  // a name outside the rule is refused with the rule
  for (const bad of ["a b", "", "-x", "a*b", "a>b"]) {
    try {
      await r.getTopology(bad);
      assert.unreachable(`name ${JSON.stringify(bad)} accepted`);
    } catch (e) {
      assert.instance(e, RecordsError, String(e));
      assert.is((e as RecordsError).code, "BAD_NAME");
      assert.match((e as Error).message, /letters, digits/);
    }
  }
});

test("a garbage value is an error naming the key; list skips it and reports it", async () => {
  const r = await Records.open(nc);
  const kv = await nc.jetstream().views.kv(KV_BUCKET);
  await kv.put("junk", new TextEncoder().encode("{not json"));
  await kv.put("half", new TextEncoder().encode(JSON.stringify({ version: WIRE_VERSION, name: "half" })));
  await kv.put("older", new TextEncoder().encode(JSON.stringify({ ...topology("older"), version: 1 })));
  await r.putTopology(topology("good"));
  try {
    await r.getTopology("junk");
    assert.unreachable("garbage parsed");
  } catch (e) {
    assert.instance(e, RecordsError);
    assert.match((e as Error).message, /key "junk" is not JSON/);
  }
  try {
    await r.getTopology("half");
    assert.unreachable("half a record parsed");
  } catch (e) {
    assert.instance(e, RecordsError);
    assert.match((e as Error).message, /key "half": topology record: .* at state/);
  }
  try {
    await r.getTopology("older");
    assert.unreachable("a record of another wire version parsed");
  } catch (e) {
    assert.instance(e, RecordsError);
    assert.match(
      (e as Error).message,
      `key "older": topology record of wire version 1; this ardea speaks wire version ${WIRE_VERSION}`,
    );
  }
  const bad: string[] = [];
  assert.equal((await r.listTopologies((e) => bad.push(e.message))).map((t) => t.name), ["good"]);
  assert.is(bad.length, 3);
  try {
    await r.putTopology({ ...topology("x"), state: "DANCING" as never });
    assert.unreachable("bad record written");
  } catch (e) {
    assert.match((e as Error).message, /state/);
  }
  for (const k of ["junk", "half", "older", "good"]) await kv.delete(k);
});

test("updateTopology retries on a compare-and-set conflict and sets updatedAt", async () => {
  const r = await Records.open(nc);
  await r.putTopology(topology("cas", { config: { n: 0 }, updatedAt: 0 }));
  // Twenty concurrent increments from four clients: every read happens
  // before most writes, so writes conflict and are retried; none is lost.
  const writers = await Promise.all(Array.from({ length: 4 }, () => Records.open(nc)));
  let calls = 0;
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      writers[i % 4]!.updateTopology("cas", (cur) => {
        calls++;
        return { ...cur, config: { n: (cur.config["n"] as number) + 1 } };
      })),
  );
  const stored = await r.getTopology("cas");
  assert.equal(stored?.config, { n: 20 });
  assert.ok(calls > 20, `expected conflicts to be retried, fn ran ${calls} times`);
  assert.ok(stored!.updatedAt > 0);

  // fn returning undefined writes nothing.
  const same = await r.updateTopology("cas", () => undefined);
  assert.equal(same, stored);
  try {
    await r.updateTopology("nope", (c) => c);
    assert.unreachable();
  } catch (e) {
    assert.is((e as RecordsError).code, "UNKNOWN_TOPOLOGY");
  }
  await r.deleteTopology("cas");
});

test("master lease: one holder at a time, renew, takeover after expiry, release", async () => {
  const r = await Records.open(nc);
  const a = await r.acquireLease("lz", "a", 300);
  assert.ok(a);
  assert.is(a.holder, "a");
  assert.is(await r.acquireLease("lz", "b", 300), undefined, "b cannot take a live lease");
  const renewed = await r.renewLease("lz", "a", 300);
  assert.ok(renewed);
  assert.ok(renewed.revision > a.revision);
  assert.is(await r.renewLease("lz", "b", 300), undefined, "b cannot renew a's lease");
  await new Promise((res) => setTimeout(res, 400));
  const b = await r.acquireLease("lz", "b", 5000);
  assert.ok(b, "b takes the expired lease over");
  assert.is(await r.renewLease("lz", "a", 300), undefined, "a learns it lost the lease");
  assert.is((await r.getLease("lz"))?.holder, "b");
  assert.is(await r.releaseLease("lz", "a"), false);
  assert.is(await r.releaseLease("lz", "b"), true);
  const c = await r.acquireLease("lz", "c", 5000);
  assert.ok(c, "a released lease is free at once");

  // Two contenders for a free lease: exactly one wins.
  await r.deleteTopology("lz");
  const [x, y] = await Promise.all([
    r.acquireLease("race", "x", 5000),
    (await Records.open(nc)).acquireLease("race", "y", 5000),
  ]);
  assert.is([x, y].filter((l) => l !== undefined).length, 1);
  await r.deleteTopology("race");
});

test("a bucket with 3 replicas on a 3-server cluster survives a server", async () => {
  const cluster = await startNats({ servers: 3 });
  const cc = await connect({ servers: cluster.urls, noAsyncTraces: true });
  try {
    const r = await Records.open(cc, { replicas: 3 });
    const info = await (await cc.jetstreamManager()).streams.info(`KV_${KV_BUCKET}`);
    assert.is(info.config.num_replicas, 3);
    await r.putTopology(topology("replicated"));
    const other = await connect({ servers: [cluster.urls[2]!], noAsyncTraces: true });
    try {
      const seen = await (await Records.open(other)).getTopology("replicated");
      assert.is(seen?.name, "replicated");
    } finally {
      await other.close();
    }
    try {
      await Records.open(cc, { replicas: 2.5 });
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /replicas/);
    }
  } finally {
    await cc.close();
    await cluster.stop();
  }
});

test("no JetStream: a clear error", async () => {
  const plain = await startNats({ jetstream: false });
  const pc = await connect({ servers: plain.urls, noAsyncTraces: true });
  try {
    await Records.open(pc);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RecordsError);
    assert.match(
      (e as Error).message,
      /JetStream does not answer on NATS at .*not enabled: start nats-server with -js/,
    );
  } finally {
    await pc.close();
    await plain.stop();
  }
});

test.run();
