// timeout: 240
// state/: the memory, file and NATS state backends (save, commit, load,
// prune, uncommitted checkpoints invisible, corrupted state refused, large
// state through the object store) and keyed state (codec, repartitioning).
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import {
  decodeState,
  encodeState,
  FileStateBackend,
  MemoryStateBackend,
  NatsStateBackend,
  natsStateKeys,
  partition,
  partitionOf,
  State,
  STATE_BUCKET,
  STATE_OBJECT_BUCKET,
  type StateBackend,
  StateError,
} from "../state/mod.ts";
import { hashFields } from "../topology/fields_hash.ts";
import { compileRoutes } from "../engine/groupings.ts";
import { listDir, makeTempDir, readBinaryFile, removePath, writeBinaryFileAtomic } from "../runtime/mod.ts";
import { createPackr } from "../transport/codec.ts";
// Topology pieces from their own modules (not ../mod.ts): this suite needs no engine.
import { TopologyBuilder } from "../topology/builder.ts";
import { BaseRichBolt, BaseRichSpout } from "../topology/components.ts";
import { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { Fields } from "../topology/fields.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

let nats: NatsHandle;
let nc: NatsConnection;
let dir: string;

test.before(async () => {
  dir = await makeTempDir("ardea-state-test-");
  nats = await startNats();
  nc = await connect({ servers: nats.urls, noAsyncTraces: true });
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
  if (dir !== undefined) await removePath(dir);
});

/** A spout that declares `fields` and never emits (for compiled routes). */
function quietSpout(fields: string[]) {
  return () =>
    new (class extends BaseRichSpout {
      nextTuple() {}
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(fields);
      }
    })();
}

class Sink extends BaseRichBolt {
  execute() {}
  declareOutputFields() {}
}

const bytes = (...xs: number[]) => new Uint8Array(xs);

/** Deterministic pseudo-random bytes (incompressible, unlike a fill). */
function noise(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function rejects(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<StateError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, StateError, `expected a StateError ${code}, got ${String(e)}`);
    assert.is((e as StateError).code, code, (e as Error).message);
    if (pattern !== undefined) assert.match((e as Error).message, pattern);
    return e as StateError;
  }
  assert.unreachable(`expected StateError ${code}`);
  throw new Error("unreachable");
}

type Make = () => Promise<StateBackend>;

const backends: Array<[string, Make]> = [
  ["memory", async () => new MemoryStateBackend()],
  ["file", async () => new FileStateBackend(`${dir}/${Math.random().toString(36).slice(2)}`)],
  ["nats", async () => new NatsStateBackend(nc)],
];

let topoCounter = 0;
const topo = (label: string) => `t${++topoCounter}-${label}`;

for (const [kind, make] of backends) {
  test(`${kind}: save, commit, lastCommitted, load`, async () => {
    const b = await make();
    const t = topo(kind);
    assert.is(await b.lastCommitted(t), undefined);
    await b.save(t, 1, "count.1", bytes(1, 2, 3));
    await b.save(t, 1, "count.2", bytes());
    await b.save(t, 1, "count.1", bytes(4, 5)); // the last save wins
    await b.commit(t, 1, { tasks: ["count.1", "count.2"], data: { offsets: { "lines.0": 17 } } });
    const last = await b.lastCommitted(t);
    assert.is(last?.checkpointId, 1);
    assert.equal(last?.meta, { tasks: ["count.1", "count.2"], data: { offsets: { "lines.0": 17 } } });
    assert.type(last?.committedAt, "number");
    assert.equal(await b.load(t, 1, "count.1"), bytes(4, 5));
    assert.equal(await b.load(t, 1, "count.2"), bytes());
    assert.is(await b.load(t, 1, "split.1"), undefined, "a task the checkpoint does not list has no state");
    // Committing again with the same tasks does nothing; with others it is refused.
    await b.commit(t, 1, { tasks: ["count.2", "count.1"] });
    await rejects(b.commit(t, 1, { tasks: ["count.1"] }), "ALREADY_COMMITTED");
    await rejects(
      b.save(t, 1, "count.1", bytes(9)),
      "CHECKPOINT_COMMITTED",
      /task "count\.1" in checkpoint 1 of topology "t\d+-/,
    );
    // Odd task keys and topology names are fine.
    const odd = "split/3 é.x=y";
    await b.save(`${t}.a b`, 0, odd, bytes(7));
    await b.commit(`${t}.a b`, 0, { tasks: [odd] });
    assert.equal(await b.load(`${t}.a b`, 0, odd), bytes(7));
    assert.is((await b.lastCommitted(t))?.checkpointId, 1, "topologies are separate");
    await b.close();
  });

  test(`${kind}: an uncommitted checkpoint is invisible; commit needs every task`, async () => {
    const b = await make();
    const t = topo(kind);
    await b.save(t, 1, "a", bytes(1));
    await b.commit(t, 1, { tasks: ["a"] });
    await b.save(t, 2, "a", bytes(2));
    assert.is((await b.lastCommitted(t))?.checkpointId, 1);
    assert.equal((await b.committed(t)).map((c) => c.checkpointId), [1]);
    await rejects(b.load(t, 2, "a"), "NOT_COMMITTED", /checkpoint 2 of topology/);
    await rejects(
      b.commit(t, 2, { tasks: ["a", "b", "c"] }),
      "INCOMPLETE_CHECKPOINT",
      /no state saved by task "b", "c"/,
    );
    assert.is((await b.lastCommitted(t))?.checkpointId, 1, "a refused commit leaves nothing behind");
    await b.save(t, 2, "b", bytes(3));
    await b.save(t, 2, "c", bytes(4));
    await b.commit(t, 2, { tasks: ["a", "b", "c"] });
    assert.is((await b.lastCommitted(t))?.checkpointId, 2);
    assert.equal(await b.load(t, 2, "c"), bytes(4));
    // A checkpoint older than the newest committed one cannot be committed any more.
    await b.save(t, 0, "a", bytes(0));
    await rejects(b.commit(t, 0, { tasks: ["a"] }), "STALE_CHECKPOINT");
    await rejects(b.save(t, -1, "a", bytes()), "BAD_ARGUMENT");
    await rejects(b.save(t, 3, "", bytes()), "BAD_ARGUMENT");
    await rejects(b.commit(t, 3, { tasks: ["a", "a"] }), "BAD_ARGUMENT", /twice/);
    await b.close();
    await rejects(b.lastCommitted(t), "CLOSED");
  });

  test(`${kind}: prune keeps the newest K committed, drops abandoned ones, keeps the one in progress`, async () => {
    const b = await make();
    const t = topo(kind);
    const other = topo(kind);
    await b.save(other, 1, "a", bytes(1));
    await b.commit(other, 1, { tasks: ["a"] });
    for (let id = 1; id <= 6; id++) {
      await b.save(t, id, "a", bytes(id));
      await b.save(t, id, "b", noise(1000, id));
      if (id !== 3) await b.commit(t, id, { tasks: ["a", "b"] }); // 3 is abandoned
    }
    await b.save(t, 7, "a", bytes(7)); // in progress
    await b.prune(t, 2);
    assert.equal((await b.committed(t)).map((c) => c.checkpointId), [5, 6]);
    for (const id of [1, 2, 3, 4]) await rejects(b.load(t, id, "a"), "NOT_COMMITTED");
    assert.equal(await b.load(t, 5, "b"), noise(1000, 5));
    assert.equal(await b.load(t, 6, "a"), bytes(6));
    await b.save(t, 7, "b", bytes(7));
    await b.commit(t, 7, { tasks: ["a", "b"] });
    await b.prune(t, 1);
    assert.equal((await b.committed(t)).map((c) => c.checkpointId), [7]);
    assert.equal(await b.load(t, 7, "a"), bytes(7));
    assert.is((await b.lastCommitted(other))?.checkpointId, 1, "prune touches one topology");
    await rejects(b.prune(t, 0), "BAD_ARGUMENT");
    await b.drop(t);
    assert.is(await b.lastCommitted(t), undefined);
    assert.equal(await b.load(other, 1, "a"), bytes(1));
    await b.close();
  });

  test(`${kind}: large state round-trips`, async () => {
    const b = await make();
    const t = topo(kind);
    const big = noise(5 * 1024 * 1024 + 123, 42);
    await b.save(t, 1, "big", big);
    await b.save(t, 1, "small", bytes(1));
    await b.commit(t, 1, { tasks: ["big", "small"] });
    assert.equal(await b.load(t, 1, "big"), big);
    const keyed = new State<string, number[]>();
    for (let i = 0; i < 50_000; i++) keyed.put(`key-${i}`, [i, i * 2]);
    await b.save(t, 2, "keyed", encodeState(keyed));
    await b.commit(t, 2, { tasks: ["keyed"] });
    const back = decodeState<string, number[]>((await b.load(t, 2, "keyed"))!);
    assert.is(back.size, 50_000);
    assert.equal(back.get("key-49999"), [49999, 99998]);
    await b.close();
  });
}

// ---------------------------------------------------------------- file backend specifics

test("file: layout, no temp files left, flipped and truncated bytes are refused", async () => {
  const b = new FileStateBackend(`${dir}/corrupt`);
  const t = "wc";
  await b.save(t, 4, "count.1", noise(4096, 7));
  await b.save(t, 4, "count.2", bytes(1, 2, 3));
  await b.commit(t, 4, { tasks: ["count.1", "count.2"] });
  assert.equal(await listDir(b.checkpointDir(t, 4)), ["commit.json", "count=2E1.state", "count=2E2.state"]);

  const file = b.stateFile(t, 4, "count.1");
  const raw = (await readBinaryFile(file)).slice();
  const flipped = raw.slice();
  flipped[2000] = flipped[2000]! ^ 0x40;
  await writeBinaryFileAtomic(file, flipped);
  await rejects(
    b.load(t, 4, "count.1"),
    "CORRUPT_STATE",
    /state of task "count\.1" in checkpoint 4 of topology "wc" is corrupt \(.*count=2E1\.state\): sha256 is [0-9a-f]{64}, its header records/,
  );
  await writeBinaryFileAtomic(file, raw.subarray(0, 30));
  await rejects(b.load(t, 4, "count.1"), "CORRUPT_STATE", /not a state file/);
  // A valid state file with other content (say, from a late writer) does not match the commit.
  await writeBinaryFileAtomic(file, raw);
  assert.equal(await b.load(t, 4, "count.1"), noise(4096, 7));
  const other = new FileStateBackend(`${dir}/corrupt-other`);
  await other.save(t, 4, "count.1", bytes(9, 9));
  await writeBinaryFileAtomic(file, await readBinaryFile(other.stateFile(t, 4, "count.1")));
  await rejects(b.load(t, 4, "count.1"), "CORRUPT_STATE", /the commit recorded/);
  await removePath(file);
  await rejects(b.load(t, 4, "count.1"), "MISSING_STATE", /task "count\.1" in checkpoint 4/);
  assert.equal(await b.load(t, 4, "count.2"), bytes(1, 2, 3), "the other task is unaffected");

  await writeBinaryFileAtomic(`${b.checkpointDir(t, 4)}/commit.json`, new TextEncoder().encode("{garbage"));
  await rejects(b.lastCommitted(t), "CORRUPT_COMMIT", /commit record of checkpoint 4 of topology "wc"/);
});

test("file: a state saved by another instance on the same folder commits (the coordinator may be elsewhere)", async () => {
  const folder = `${dir}/shared`;
  const saver = new FileStateBackend(folder);
  const committer = new FileStateBackend(folder, { sync: false });
  await saver.save("wc", 1, "a", bytes(5));
  await rejects(committer.commit("wc", 1, { tasks: ["a", "b"] }), "INCOMPLETE_CHECKPOINT", /"b"/);
  await committer.commit("wc", 1, { tasks: ["a"] });
  assert.equal(await saver.load("wc", 1, "a"), bytes(5));
});

// ---------------------------------------------------------------- NATS backend specifics

test("nats: small state inline in KV, large state in the object store, pruned without leftovers", async () => {
  const b = new NatsStateBackend(nc, { inlineLimit: 1000 });
  const t = topo("nats-layout");
  const kv = await nc.jetstream().views.kv(STATE_BUCKET);
  const os = await nc.jetstream().views.os(STATE_OBJECT_BUCKET);
  await b.save(t, 1, "small", noise(1000, 1));
  await b.save(t, 1, "large", noise(1001, 2));
  await b.commit(t, 1, { tasks: ["small", "large"] });
  assert.ok((await kv.get(natsStateKeys.state(t, 1, "small")))!.value.length > 1000);
  assert.ok((await kv.get(natsStateKeys.state(t, 1, "large")))!.value.length < 200);
  assert.is((await os.info(natsStateKeys.object(t, 1, "large")))?.size, 1001);
  for (let id = 2; id <= 3; id++) {
    await b.save(t, id, "large", noise(2000, id));
    await b.commit(t, id, { tasks: ["large"] });
  }
  await b.prune(t, 1);
  const names = (await os.list()).map((o) => o.name).filter((n) => n.startsWith(`${t}.`));
  assert.equal(names, [natsStateKeys.object(t, 3, "large")]);
  const keys: string[] = [];
  for await (const k of await kv.keys(`${t}.>`)) keys.push(k);
  assert.equal(keys.sort(), [natsStateKeys.commit(t, 3), natsStateKeys.state(t, 3, "large")].sort());
  // Purged, not deleted: no markers pile up in the stream.
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(`KV_${STATE_BUCKET}`, { subjects_filter: `$KV.${STATE_BUCKET}.${t}.>` });
  assert.is(Object.keys(info.state.subjects ?? {}).length, 2);
  await b.drop(t);
  assert.equal((await os.list()).filter((o) => o.name.startsWith(`${t}.`)), []);
  assert.is(await b.lastCommitted(t), undefined);
});

test("nats: an overwritten KV value or object is refused", async () => {
  const b = new NatsStateBackend(nc);
  const t = "wc-corrupt";
  const kv = await nc.jetstream().views.kv(STATE_BUCKET);
  const os = await nc.jetstream().views.os(STATE_OBJECT_BUCKET);
  const big = noise(3 * 1024 * 1024, 9);
  await b.save(t, 8, "count.1", bytes(1, 2, 3));
  await b.save(t, 8, "count.2", big);
  await b.commit(t, 8, { tasks: ["count.1", "count.2"] });
  assert.equal(await b.load(t, 8, "count.2"), big);

  const key = natsStateKeys.state(t, 8, "count.1");
  const good = (await kv.get(key))!.value.slice();
  await kv.put(key, new TextEncoder().encode("garbage"));
  await rejects(
    b.load(t, 8, "count.1"),
    "CORRUPT_STATE",
    /state of task "count\.1" in checkpoint 8 of topology "wc-corrupt" is corrupt \(KV ardea_state key "wc-corrupt\.state\.8\.count=2E1"\)/,
  );
  // A well-formed envelope with other bytes (and their true sha256) still differs from the commit record.
  const forged = createPackr().unpack(good) as unknown[];
  forged[3] = bytes(6, 6, 6);
  forged[1] = "0".repeat(64);
  await kv.put(key, createPackr().pack(forged));
  await rejects(b.load(t, 8, "count.1"), "CORRUPT_STATE", /sha256 is/);
  await kv.put(key, good);
  assert.equal(await b.load(t, 8, "count.1"), bytes(1, 2, 3));

  const object = natsStateKeys.object(t, 8, "count.2");
  const flipped = big.slice();
  flipped[1_500_000] = flipped[1_500_000]! ^ 1;
  await os.putBlob({ name: object }, flipped);
  await rejects(
    b.load(t, 8, "count.2"),
    "CORRUPT_STATE",
    /task "count\.2" in checkpoint 8 .*object "wc-corrupt\.8\.count=2E2"/,
  );
  await os.delete(object);
  await rejects(b.load(t, 8, "count.2"), "MISSING_STATE");
  await b.drop(t);
});

test("nats: no JetStream is a clear StateError", async () => {
  const plain = await startNats({ jetstream: false });
  const pc = await connect({ servers: plain.urls, noAsyncTraces: true });
  try {
    await rejects(
      new NatsStateBackend(pc).lastCommitted("wc"),
      "STORAGE_ERROR",
      /JetStream does not answer .*not enabled/,
    );
  } finally {
    await pc.close();
    await plain.stop();
  }
});

// ---------------------------------------------------------------- keyed state

test("keyed state: a typed map that round-trips through the codec", () => {
  const s = new State<string | number, unknown>();
  s.put("the", 3).put(7, { nested: [1, "x"] }).put("bin", bytes(1, 2)).put("map", new Map([["k", 1]]));
  assert.is(s.size, 4);
  assert.ok(s.has(7) && !s.has("7"));
  assert.ok(s.delete("the"));
  assert.not.ok(s.delete("the"));
  s.put("the", 4);
  const back = decodeState<string | number, unknown>(encodeState(s));
  assert.equal([...back.keys()], [7, "bin", "map", "the"]);
  assert.equal(back.get(7), { nested: [1, "x"] });
  assert.equal(back.get("bin"), bytes(1, 2));
  assert.instance(back.get("map"), Map);
  assert.is(back.get("the"), 4);
  back.clear();
  assert.is(back.size, 0);
  assert.equal([...decodeState(encodeState(new State()))], []);
  assert.throws(() => decodeState(bytes(1, 2, 3)), (e: unknown) => e instanceof StateError && e.code === "BAD_STATE");
  assert.throws(() => decodeState(createPackr().pack(["x"])), /not keyed state/);
});

test("keyed state: repartition 2 → 3 tasks keeps every key exactly once, where the fields grouping sends it", () => {
  const a = new State<string, number>(), b = new State<string, number>();
  const all = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const key = `w${i}`;
    (partitionOf(key, 2) === 0 ? a : b).put(key, i);
    all.set(key, i);
  }
  const parts = partition([a, b], 3);
  assert.is(parts.length, 3);
  assert.is(parts.reduce((n, p) => n + p.size, 0), all.size);
  const seen = new Set<string>();
  parts.forEach((p, i) => {
    assert.ok(p.size > 2_900, `partition ${i} holds ${p.size} keys`);
    for (const [k, v] of p) {
      assert.not.ok(seen.has(k));
      seen.add(k);
      assert.is(v, all.get(k));
      assert.is(i, hashFields([k], [0]) % 3);
    }
  });
  // The fields grouping over the 3 tasks of "count" routes each key to the task of its partition.
  const builder = new TopologyBuilder();
  builder.setSpout("s", quietSpout(["word", "n"]), 2);
  builder.setBolt("count", () => new Sink(), 3).fieldsGrouping("s", new Fields("word"));
  const topology = builder.createTopology();
  const spoutTask = topology.componentTasks.get("s")![1]!;
  const route = compileRoutes(spoutTask, {
    topology,
    taskContainer: () => 0,
    context: new TopologyContext(topology, "g", spoutTask, 0, () => 0),
  }).get("default")!;
  const tasks = topology.componentTasks.get("count")!;
  const out: number[] = [];
  parts.forEach((p, i) => {
    for (const k of p.keys()) {
      route.select([k, 1], out);
      assert.is(out[0], tasks[i]);
    }
  });
  // Back to 2 gives the original split; a key in two inputs is refused.
  const again = partition(parts, 2);
  assert.equal(new Set(again[0]!.keys()), new Set(a.keys()));
  assert.equal(new Set(again[1]!.keys()), new Set(b.keys()));
  const dup = new State<string, number>([["w1", 1]]);
  assert.throws(
    () => partition([a, b, dup], 3),
    (e: unknown) => e instanceof StateError && e.code === "DUPLICATE_KEY" && /"w1"/.test(e.message),
  );
  // A custom hash, and number keys.
  const nums = partition([new State<number, string>([[1, "a"], [2, "b"], [3, "c"]])], 2, (k) => k);
  assert.equal([...nums[0]!.keys()], [2]);
  assert.equal([...nums[1]!.keys()], [1, 3]);
});

test.run();
