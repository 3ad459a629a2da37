// timeout: 300
// JetStreamSpout in EFFECTIVELY_ONCE, against a real nats-server with
// JetStream: exact sums through rollbacks (a stateful bolt that throws), a
// run stopped and started again from the state directory (it continues from
// the saved stream sequence), restarts with another spout parallelism, the
// stream positions' partitioning, the refusals (work-queue stream, other
// spouts); throughput EFFECTIVELY_ONCE vs ATLEAST_ONCE; NatsSinkBolt's
// two-phase output (JetStream in → JetStream out, each record once, through
// rollbacks embedded and a kill -9 of a container on a cluster).
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { AckPolicy, DeliverPolicy, nanos, type NatsConnection, RetentionPolicy } from "nats";
import {
  BaseRichBolt,
  BaseStatefulBolt,
  bolt,
  Fields,
  iterableSpout,
  JetStreamSpout,
  type KeyValueState,
  NatsSinkBolt,
  type OutputCollector,
  parseNatsFlags,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { connectNats, type NatsSettings } from "../transport/nats_connect.ts";
import {
  mergePositions,
  type PartitionMode,
  partitionOfSequence,
  partitionOfSubject,
  partitionOfToken,
  StreamPositions,
} from "../transport/jetstream_positions.ts";
import { assertRewindable } from "../engine/restore.ts";
import { FileStateBackend } from "../state/file_state_backend.ts";
import { decodeState, State } from "../state/keyed_state.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import { Records } from "../cluster/records.ts";
import { parseConfig } from "../topology/config.ts";
import { TopologyContext } from "../topology/context.ts";
import {
  ardeaRoot,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
} from "../runtime/mod.ts";
import process from "node:process";
import { ardeaCmd, collect } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { until } from "../testing/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

let nats: NatsHandle;
let nc: NatsConnection;
let settings: NatsSettings;

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  settings = parseNatsFlags({ nats: nats.urls[0]! }, {});
  nc = await connectNats(settings, { name: "jetstream_eo_test" });
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Stream `<name>` on `eo.<name>.>`; publishes ids from..to-1 as text on `eo.<name>.<id % 4>`. */
async function publish(name: string, from: number, to: number, retention = RetentionPolicy.Limits): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.info(name).catch(() => jsm.streams.add({ name, subjects: [`eo.${name}.>`], retention }));
  const js = nc.jetstream();
  for (let i = from; i < to; i += 500) {
    const chunk = [];
    for (let k = i; k < Math.min(to, i + 500); k++) {
      chunk.push(js.publish(`eo.${name}.${k % 4}`, enc.encode(String(k))));
    }
    await Promise.all(chunk);
  }
}

const KEYS = 13;

function truth(count: number): Map<number, [number, number]> {
  const m = new Map<number, [number, number]>();
  for (let i = 0; i < count; i++) {
    const [n, sum] = m.get(i % KEYS) ?? [0, 0];
    m.set(i % KEYS, [n + 1, sum + i]);
  }
  return m;
}

/** Planned crashes (global execute counts) and counters shared by the tasks of one run. */
const run = { crashAt: new Set<number>(), seen: 0, fired: 0, killAt: Infinity, onKill: () => {}, slowEvery: 0 };

/** Count and sum of the ids per key (id mod 13), in state; emits them at the end. */
class KeyedSum extends BaseStatefulBolt<number, [number, number]> {
  st!: KeyValueState<number, [number, number]>;
  c!: OutputCollector;
  initState(s: KeyValueState<number, [number, number]>) {
    this.st = s;
  }
  override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(t: Tuple): void | Promise<void> {
    const id = t.getInteger(1);
    const seen = ++run.seen;
    if (run.crashAt.delete(seen)) {
      run.fired++;
      throw new Error(`planned crash at ${seen}`);
    }
    if (seen === run.killAt) run.onKill();
    const [n, sum] = this.st.get(t.getInteger(0)) ?? [0, 0];
    this.st.put(t.getInteger(0), [n + 1, sum + id]);
    if (run.slowEvery > 0 && seen % run.slowEvery === 0) return new Promise((r) => setTimeout(r, 1));
  }
  override finish() {
    for (const [k, v] of this.st.entries()) this.c.emit([k, v[0], v[1]]);
  }
  declareOutputFields(d: { declare(f: string[]): void }) {
    d.declare(["key", "n", "sum"]);
  }
}

interface RunOptions {
  stream: string;
  dir: string;
  spouts: number;
  crashAt?: number[];
  /** Kill the run (from outside) once this many tuples were counted and a checkpoint covering them is committed. */
  killAfter?: number;
  partition?: PartitionMode;
  filterSubject?: string;
  /** Sleep 1 ms every this many tuples (0: never). */
  slowEvery?: number;
  /** The spout's pull expiry. */
  fetchExpiresMs?: number;
  /** Calls `fn` once `at` tuples were counted. */
  onSeen?: { at: number; fn: () => void };
}

async function lastCommitted(dir: string, name: string): Promise<number> {
  const b = new FileStateBackend(dir);
  try {
    return (await b.lastCommitted(name))?.checkpointId ?? 0;
  } finally {
    await b.close();
  }
}

/** Runs spout → parse → KeyedSum(2) → out in EFFECTIVELY_ONCE; returns the final sums and the state of the run. */
async function runEo(o: RunOptions) {
  run.crashAt = new Set(o.crashAt ?? []);
  run.seen = 0;
  run.fired = 0;
  run.killAt = Infinity;
  run.slowEvery = o.slowEvery ?? 0;
  const out = new Map<number, [number, number]>();
  const b = new TopologyBuilder();
  b.setSpout(
    "in",
    () =>
      new JetStreamSpout({
        stream: o.stream,
        durable: `eo-${o.stream}`,
        nats: settings,
        finishWhenIdleMs: 400,
        partition: o.partition,
        filterSubject: o.filterSubject,
        fetchExpiresMs: o.fetchExpiresMs,
      }),
    o.spouts,
  );
  b.setBolt(
    "parse",
    bolt((t, c) => {
      const id = Number(dec.decode(t.getValue(1) as Uint8Array));
      c.emit([id % KEYS, id]);
    }, { fields: ["key", "id"] }),
    2,
  ).shuffleGrouping("in");
  b.setBolt("sum", () => new KeyedSum(), 2).fieldsGrouping("parse", new Fields("key"));
  b.setBolt("out", bolt((t) => void out.set(t.getInteger(0), [t.getInteger(1), t.getInteger(2)]))).globalGrouping(
    "sum",
  );
  const logs: string[] = [];
  const h = await submit(
    `js-eo-${o.stream}`,
    {
      "topology.reliability.mode": "EFFECTIVELY_ONCE",
      "topology.state.dir": o.dir,
      "topology.stateful.checkpoint.interval.seconds": 0.05,
    },
    b.createTopology(),
    { handleSignals: false, log: (l) => logs.push(l) },
  );
  if (o.onSeen !== undefined) {
    run.killAt = o.onSeen.at;
    run.onKill = o.onSeen.fn;
  }
  if (o.killAfter !== undefined) {
    run.killAt = o.killAfter;
    run.onKill = () => {
      void (async () => {
        // Two commits on: the second checkpoint begins after this point, so its positions cover every tuple counted so far.
        const at = await lastCommitted(o.dir, h.name);
        const until = Date.now() + 20_000;
        while (Date.now() < until && (await lastCommitted(o.dir, h.name)) < at + 2) {
          await new Promise((r) => setTimeout(r, 10));
        }
        await h.kill();
      })();
    };
  }
  const summary = await h.done;
  return { out, summary, logs, name: h.name };
}

/**
 * How many of the stream's first `total` messages (id = sequence - 1, on
 * subject `eo.<stream>.<id % 4>`) no position of the last checkpoint covers:
 * exactly what the next run must emit.
 */
async function uncovered(dir: string, name: string, stream: string, total: number): Promise<number> {
  const backend = new FileStateBackend(dir);
  try {
    const last = (await backend.lastCommitted(name))!;
    const keys: Array<[string, number, number, number]> = [];
    for (const k of last.meta.tasks.filter((t) => t.startsWith("in#"))) {
      for (
        const [key, value] of decodeState<string, unknown>((await backend.load(name, last.checkpointId, k))!).entries()
      ) {
        const m = /^(sequence|subject)\/(\d+)\/(\d+)$/.exec(key);
        if (m) keys.push([m[1]!, Number(m[2]), Number(m[3]), value as number]);
      }
    }
    let n = 0;
    for (let seq = 1; seq <= total; seq++) {
      const subject = `eo.${stream}.${(seq - 1) % 4}`;
      const covered = keys.some(([mode, parts, index, upTo]) =>
        seq <= upTo &&
        (mode === "sequence" ? partitionOfSequence(seq, parts) : partitionOfSubject(subject, parts)) === index
      );
      if (!covered) n++;
    }
    return n;
  } finally {
    await backend.close();
  }
}

function assertExact(out: Map<number, [number, number]>, count: number, what: string) {
  const want = truth(count);
  assert.is(out.size, want.size, `${what}: keys`);
  for (const [k, [n, sum]] of want) {
    const got = out.get(k);
    assert.equal(
      got,
      [n, sum],
      `${what}: key ${k} counted ${got?.[0]} ids summing to ${got?.[1]}, want ${n} and ${sum}`,
    );
  }
}

test("positions: partitions are even and deterministic; a rescale covers exactly what was emitted", () => {
  for (const n of [2, 3, 4]) {
    const counts = new Array(n).fill(0);
    // Every other sequence (two interleaved subjects, one filtered out) must still spread evenly.
    for (let s = 2; s <= 40_000; s += 2) counts[partitionOfSequence(s, n)]++;
    for (const c of counts) assert.ok(Math.abs(c - 20_000 / n) < 20_000 / n * 0.05, `n=${n}: ${counts}`);
    assert.is(partitionOfSequence(12345, n), partitionOfSequence(12345, n));
    assert.ok(partitionOfSubject("orders.eu", n) < n);
  }
  // Two tasks emitted their partitions up to 100 and 140; three new tasks then
  // must emit every sequence in 1…200 exactly once between them and the old ones.
  const old = [new State<string, unknown>(), new State<string, unknown>()];
  const saved = [100, 140];
  for (let i = 0; i < 2; i++) new StreamPositions(old[i]!, "sequence", 2, i).save(saved[i]!);
  const emitted = new Map<number, number>();
  for (let s = 1; s <= 200; s++) {
    const owner = partitionOfSequence(s, 2);
    if (s <= saved[owner]!) emitted.set(s, 1);
  }
  const fresh = [0, 1, 2].map(() => new State<string, unknown>());
  mergePositions(old, fresh);
  for (let j = 0; j < 3; j++) {
    const p = new StreamPositions(fresh[j]!, "sequence", 3, j);
    assert.is(p.start, 101);
    for (let s = p.start; s <= 200; s++) {
      if (p.owns(s, "x") && !p.covered(s, "x")) emitted.set(s, (emitted.get(s) ?? 0) + 1);
    }
    p.save(200);
    assert.equal([...fresh[j]!.keys()], [`sequence/3/${j}`], "old keys are dropped once passed");
  }
  for (let s = 1; s <= 200; s++) assert.is(emitted.get(s), 1, `sequence ${s}`);
  // A partition written in a subject token.
  assert.is(partitionOfToken("orders.2.eu", 1, 4), 2);
  assert.is(partitionOfToken("orders.2", 1, 4), 2);
  for (const bad of ["orders.4.eu", "orders.02.eu", "orders.x.eu", "orders", "orders..eu"]) {
    assert.is(partitionOfToken(bad, 1, 4), -1, bad);
  }
});

test('EFFECTIVELY_ONCE partition "token<k>": each task\'s consumer filters its own partition; exact through rollbacks', async () => {
  const count = 12_000;
  const stream = "TOKEN";
  await publish(stream, 0, count);
  const dir = await makeTempDir("ardea-js-eo-");
  const jsm = await nc.jetstreamManager();
  const filters = new Map<string, string>();
  try {
    const { out, summary, logs, name } = await runEo({
      stream,
      dir,
      spouts: 4,
      partition: "token2",
      filterSubject: `eo.${stream}.*`,
      crashAt: [2_000, 7_000],
      slowEvery: 20,
      onSeen: {
        at: 4_000,
        fn: () =>
          void (async () => {
            for await (const c of jsm.consumers.list(stream)) filters.set(c.name, c.config.filter_subject ?? "");
          })(),
      },
    });
    assert.is(summary.state, "FINISHED", logs.join("\n"));
    assert.is(run.fired, 2, "every planned crash fired");
    for (let i = 0; i < 4; i++) {
      assert.is(filters.get(`eo-${stream}-eo-${i}`), `eo.${stream}.${i}`, `task ${i} reads only partition ${i}`);
    }
    assertExact(out, count, "partition token2, after 2 rollbacks");
    const backend = new FileStateBackend(dir);
    try {
      const last = (await backend.lastCommitted(name))!;
      for (let i = 0; i < 4; i++) {
        const st = decodeState<string, unknown>((await backend.load(name, last.checkpointId, `in#${i}`))!);
        // Ids k with k % 4 === i sit at sequence k + 1: the last of partition i is count - 4 + i + 1.
        assert.is(st.get(`token2/4/${i}`), count - 4 + i + 1, `task ${i}'s position`);
      }
    } finally {
      await backend.close();
    }
    // Without a "*" at the token, the spout refuses.
    const b = new TopologyBuilder();
    b.setSpout(
      "in",
      new JetStreamSpout({
        stream,
        durable: "badtoken",
        nats: settings,
        partition: "token1",
        filterSubject: `eo.${stream}.*`,
      }),
      1,
    );
    b.setBolt("x", () => new KeyedSumOfAll(), 1).shuffleGrouping("in");
    const h = await submit(
      "js-eo-badtoken",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.supervisor.max.consecutive.failures": 1,
      },
      b.createTopology(),
      {
        handleSignals: false,
        log: () => {},
      },
    );
    const err = await h.done.then(() => null, (e: Error) => e);
    assert.match(
      String(err?.message) + String((err?.cause as Error | undefined)?.message),
      /partition "token1" needs a filterSubject whose token 1/,
    );
  } finally {
    await removePath(dir);
  }
});

test("EFFECTIVELY_ONCE: rollbacks (a stateful bolt throws) keep the sums exact; positions are saved per task", async () => {
  const count = 20_000;
  const stream = "ROLLBACK";
  await publish(stream, 0, count);
  const dir = await makeTempDir("ardea-js-eo-");
  try {
    const started = performance.now();
    const { out, summary, logs, name } = await runEo({ stream, dir, spouts: 2, crashAt: [3_000, 9_000, 15_000] });
    assert.is(summary.state, "FINISHED", logs.join("\n"));
    assert.is(run.fired, 3, "every planned crash fired");
    assert.ok(run.seen > count, "the rollbacks replayed tuples");
    assertExact(out, count, "after 3 rollbacks");
    // The last checkpoint holds each spout task's position: the end of the stream.
    const backend = new FileStateBackend(dir);
    try {
      const last = (await backend.lastCommitted(name))!;
      for (const task of [0, 1]) {
        const st = decodeState<string, unknown>((await backend.load(name, last.checkpointId, `in#${task}`))!);
        assert.is(st.get("stream"), stream);
        assert.is(st.get(`sequence/2/${task}`), count, `task ${task} read up to the last sequence`);
      }
    } finally {
      await backend.close();
    }
    console.log(
      `js eo (${runtimeName()}): ${count} messages, 3 rollbacks, exact, in ${
        (performance.now() - started).toFixed(0)
      } ms (400 ms idle finish included)`,
    );
  } finally {
    await removePath(dir);
  }
});

test("EFFECTIVELY_ONCE: a stopped run starts again from the saved sequence; more messages, another parallelism, no double counts", async () => {
  const stream = "RESTART";
  await publish(stream, 0, 30_000);
  const dir = await makeTempDir("ardea-js-eo-");
  try {
    // Run 1: two spout tasks, killed after a checkpoint past 6k tuples (the sums are slowed down, so that it is mid-stream).
    const first = await runEo({ stream, dir, spouts: 2, killAfter: 6_000, slowEvery: 10 });
    assert.is(first.summary.state, "KILLED");
    const firstSeen = run.seen;
    assert.ok(firstSeen < 30_000, `run 1 was killed early (${firstSeen})`);
    // Run 2: more messages meanwhile; three spout tasks (partitioned by subject), killed again.
    await publish(stream, 30_000, 40_000);
    const left2 = await uncovered(dir, first.name, stream, 40_000);
    assert.ok(
      40_000 - left2 >= 6_000,
      `run 1's last checkpoint covers the 6000 tuples it had counted (covers ${40_000 - left2})`,
    );
    const second = await runEo({ stream, dir, spouts: 3, killAfter: 6_000, partition: "subject", slowEvery: 10 });
    assert.is(second.summary.state, "KILLED");
    const secondSeen = run.seen;
    const left3 = await uncovered(dir, first.name, stream, 40_000);
    assert.ok(
      left2 - left3 >= 6_000,
      `run 2's last checkpoint covers the 6000 new tuples it had counted (covers ${left2 - left3})`,
    );
    // Run 3: one spout task, to the end: it emits exactly what no saved position covers.
    const third = await runEo({ stream, dir, spouts: 1 });
    assert.is(third.summary.state, "FINISHED", third.logs.join("\n"));
    assert.is(run.seen, left3, "run 3 emitted exactly the messages after run 2's saved positions");
    assertExact(third.out, 40_000, "after two stops and restarts with 2, 3 and 1 spout tasks");
    console.log(
      `js eo restart (${runtimeName()}): counted ${firstSeen}, ${secondSeen}, ${run.seen} tuples in the three runs for 40000 messages (${
        40_000 - left2
      } and ${40_000 - left3} covered by the checkpoints)`,
    );
  } finally {
    await removePath(dir);
  }
});

test("EFFECTIVELY_ONCE: a task's consumer deleted on the server mid-run is made again where reading stopped (after the pull in flight expires)", async () => {
  const count = 20_000;
  const stream = "GONE";
  await publish(stream, 0, count);
  const dir = await makeTempDir("ardea-js-eo-");
  try {
    let deleted = false;
    const jsm = await nc.jetstreamManager();
    const started = performance.now();
    const { out, summary, logs } = await runEo({
      stream,
      dir,
      spouts: 1,
      fetchExpiresMs: 1000,
      slowEvery: 10,
      onSeen: {
        at: 5_000,
        fn: () => void jsm.consumers.delete(stream, `eo-${stream}-eo-0`).then((ok) => (deleted = ok)),
      },
    });
    assert.is(summary.state, "FINISHED", logs.join("\n"));
    assert.ok(deleted, "the consumer was deleted");
    assert.is(run.seen, count, "no rollback: each message counted once");
    assertExact(out, count, "after the consumer was deleted");
    console.log(
      `js eo consumer deleted (${runtimeName()}): ${count} messages exact in ${
        (performance.now() - started).toFixed(0)
      } ms; ${logs.filter((l) => l.includes("JETSTREAM_PULL") || l.includes("pull from")).length} pull errors logged`,
    );
  } finally {
    await removePath(dir);
  }
});

test("EFFECTIVELY_ONCE: start.clean reads from the deliver policy again; by_start_sequence starts there", async () => {
  const stream = "CLEAN";
  await publish(stream, 0, 3_000);
  const dir = await makeTempDir("ardea-js-eo-");
  try {
    const topo = (spout: JetStreamSpout) => {
      const b = new TopologyBuilder();
      b.setSpout("in", spout, 1);
      b.setBolt("sum", () => new KeyedSumOfAll(), 1).globalGrouping("in");
      return b.createTopology();
    };
    const conf = {
      "topology.reliability.mode": "EFFECTIVELY_ONCE",
      "topology.state.dir": dir,
      "topology.stateful.checkpoint.interval.seconds": 0.05,
    } as const;
    const spout = () => new JetStreamSpout({ stream, durable: "clean", nats: settings, finishWhenIdleMs: 300 });
    KeyedSumOfAll.total = 0;
    assert.is((await (await submit("js-clean", conf, topo(spout()), { handleSignals: false })).done).state, "FINISHED");
    assert.is(KeyedSumOfAll.total, 3_000);
    // Again from the state directory: nothing new.
    KeyedSumOfAll.total = 0;
    await (await submit("js-clean", conf, topo(spout()), { handleSignals: false })).done;
    assert.is(KeyedSumOfAll.total, 0, "restored at the end of the stream");
    // Clean: everything again.
    await (await submit("js-clean", { ...conf, "topology.stateful.start.clean": true }, topo(spout()), {
      handleSignals: false,
    })).done;
    assert.is(KeyedSumOfAll.total, 3_000);
    // Clean, from sequence 2001.
    KeyedSumOfAll.total = 0;
    const from = new JetStreamSpout({
      stream,
      durable: "clean",
      nats: settings,
      finishWhenIdleMs: 300,
      deliverPolicy: "by_start_sequence",
      optStartSeq: 2_001,
    });
    await (await submit("js-clean", { ...conf, "topology.stateful.start.clean": true }, topo(from), {
      handleSignals: false,
    })).done;
    assert.is(KeyedSumOfAll.total, 1_000);
  } finally {
    await removePath(dir);
  }
});

/** Records the ids it gets (in a static); throws at its first tuple when `failFirst` is set (a rollback before any checkpoint). */
class IdsSeen extends BaseStatefulBolt<string, number> {
  static ids = new Set<number>();
  static failFirst = false;
  st!: KeyValueState<string, number>;
  initState(s: KeyValueState<string, number>) {
    this.st = s;
  }
  execute(t: Tuple) {
    if (IdsSeen.failFirst) {
      IdsSeen.failFirst = false;
      throw new Error("planned crash before the first checkpoint");
    }
    IdsSeen.ids.add(Number(dec.decode(t.getValue(1) as Uint8Array)));
    this.st.put("n", (this.st.get("n") ?? 0) + 1);
  }
  declareOutputFields() {}
}

test('EFFECTIVELY_ONCE: deliverPolicy "new" is resolved once per run; a rollback before the first checkpoint still reads what came after the start', async () => {
  const stream = "NEWSTART";
  await publish(stream, 0, 100);
  const dir = await makeTempDir("ardea-js-eo-");
  const jsm = await nc.jetstreamManager();
  try {
    IdsSeen.ids = new Set();
    IdsSeen.failFirst = true;
    const b = new TopologyBuilder();
    b.setSpout(
      "in",
      () => new JetStreamSpout({ stream, durable: "newstart", nats: settings, deliverPolicy: "new" }),
      2,
    );
    b.setBolt("seen", () => new IdsSeen(), 1).shuffleGrouping("in");
    const logs: string[] = [];
    const h = await submit(
      "js-eo-new",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        // No checkpoint before the rollback.
        "topology.stateful.checkpoint.interval.seconds": 60,
      },
      b.createTopology(),
      { handleSignals: false, log: (l) => logs.push(l) },
    );
    // Once both tasks read, 50 new messages: the first one crashes the bolt, and the run rolls back with no checkpoint.
    await until("the spout's readers", async () => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list(stream)) names.push(c.name);
      return names.includes("newstart-eo-0") && names.includes("newstart-eo-1");
    }, 20_000);
    await publish(stream, 100, 150);
    await until(`the 50 new messages\n${logs.join("\n")}`, async () => IdsSeen.ids.size >= 49, 10_000).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    await h.kill();
    assert.ok(logs.some((l) => l.includes("planned crash")), `the bolt crashed\n${logs.join("\n")}`);
    const want = Array.from({ length: 50 }, (_, i) => 100 + i);
    assert.equal(
      [...IdsSeen.ids].sort((a, b) => a - b),
      want,
      "every message published after the start, none before, after the rollback",
    );
  } finally {
    await removePath(dir);
  }
});

/** Counts every tuple it gets, in a static (the tests read it), and in state. */
class KeyedSumOfAll extends BaseStatefulBolt<string, number> {
  static total = 0;
  st!: KeyValueState<string, number>;
  initState(s: KeyValueState<string, number>) {
    this.st = s;
  }
  execute() {
    KeyedSumOfAll.total++;
    this.st.put("n", (this.st.get("n") ?? 0) + 1);
  }
  declareOutputFields() {}
}

test("EFFECTIVELY_ONCE refuses a work-queue stream; assertRewindable accepts JetStreamSpout and still refuses other spouts", async () => {
  const b = new TopologyBuilder();
  b.setSpout("in", new JetStreamSpout({ stream: "S", durable: "d" }), 2);
  b.setBolt("x", bolt(() => {}), 1).shuffleGrouping("in");
  assertRewindable(b.createTopology());
  const other = new TopologyBuilder();
  other.setSpout("nums", iterableSpout(() => [1, 2, 3], { fields: ["n"] }), 1);
  other.setBolt("x", bolt(() => {}), 1).shuffleGrouping("nums");
  assert.throws(() => assertRewindable(other.createTopology()), /spout "nums" keeps no state/);

  await publish("WQ", 0, 10, RetentionPolicy.Workqueue);
  const dir = await makeTempDir("ardea-js-eo-");
  try {
    const wq = new TopologyBuilder();
    wq.setSpout("in", new JetStreamSpout({ stream: "WQ", durable: "wq", nats: settings }), 1);
    wq.setBolt("x", bolt(() => {}), 1).shuffleGrouping("in");
    const h = await submit(
      "js-wq",
      { "topology.reliability.mode": "EFFECTIVELY_ONCE", "topology.state.dir": dir },
      wq.createTopology(),
      {
        handleSignals: false,
        log: () => {},
      },
    );
    const err = await h.done.then(() => null, (e: Error) => e);
    assert.ok(err !== null, "the run must fail");
    assert.match(
      String(err!.message) + String((err!.cause as Error | undefined)?.message),
      /retention "workqueue".*needs retention "limits"/,
    );
  } finally {
    await removePath(dir);
  }
});

/** Counts tuples; calls `done` at `target`. ATLEAST_ONCE: acks each. */
class Counter extends BaseRichBolt {
  static n = 0;
  static target = 0;
  static done: () => void = () => {};
  c!: OutputCollector;
  override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(t: Tuple) {
    this.c.ack(t);
    if (++Counter.n === Counter.target) Counter.done();
  }
  declareOutputFields() {}
}

class StatefulCounter extends BaseStatefulBolt<string, number> {
  st!: KeyValueState<string, number>;
  initState(s: KeyValueState<string, number>) {
    this.st = s;
  }
  execute() {
    this.st.put("n", (this.st.get("n") ?? 0) + 1);
    if (++Counter.n === Counter.target) Counter.done();
  }
  declareOutputFields() {}
}

test("throughput: JetStreamSpout EFFECTIVELY_ONCE vs ATLEAST_ONCE (one spout task, one counting bolt)", async () => {
  const count = 60_000;
  await publish("SPEED", 0, count);
  const dir = await makeTempDir("ardea-js-eo-");
  const rates: Record<string, number> = {};
  try {
    for (const mode of ["ATLEAST_ONCE", "EFFECTIVELY_ONCE"] as const) {
      const eo = mode === "EFFECTIVELY_ONCE";
      Counter.n = 0;
      Counter.target = count;
      const reached = new Promise<void>((r) => (Counter.done = r));
      const b = new TopologyBuilder();
      b.setSpout(
        "in",
        new JetStreamSpout({ stream: "SPEED", durable: `speed-${mode}`, nats: settings, batch: 512 }),
        1,
      );
      b.setBolt("count", () => (eo ? new StatefulCounter() : new Counter()), 1).shuffleGrouping("in");
      const started = performance.now();
      const h = await submit(
        `js-speed-${mode}`,
        { "topology.reliability.mode": mode, "topology.state.dir": dir },
        b.createTopology(),
        { handleSignals: false },
      );
      await reached;
      rates[mode] = count / ((performance.now() - started) / 1000);
      await h.kill();
      assert.is(Counter.n, count, `${mode}: counted each message once`);
    }
    console.log(
      `js spout throughput (${runtimeName()}, ${count} messages, incl. connect): ATLEAST_ONCE ${
        Math.round(rates.ATLEAST_ONCE!)
      } msg/s, ` +
        `EFFECTIVELY_ONCE ${Math.round(rates.EFFECTIVELY_ONCE!)} msg/s`,
    );
  } finally {
    await removePath(dir);
  }
});

test("distributed EFFECTIVELY_ONCE: kill -9 of a container mid-run; the spouts rewind to their saved sequences, sums exact", async () => {
  const count = 30_000;
  const stream = "DIST";
  await publish(stream, 0, count);
  const dir = await makeTempDir("ardea-js-eo-dist-");
  const out = resolvePath(dir, "out.json");
  const args = [
    "submit",
    "tests/fixtures/js_eo.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--in",
    stream,
    "--out",
    out,
  ];
  const [cmd, argv] = ardeaCmd(args);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  const logs: string[] = [];
  const reading = Promise.all([
    collect(child.lines("stderr"), logs),
    collect(child.lines("stdout"), logs),
  ]);
  try {
    const backend = new NatsStateBackend(nc);
    const until = Date.now() + 60_000;
    while (Date.now() < until && !(await backend.lastCommitted("js-eo").catch(() => undefined))) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await backend.close();
    const victim = (await (await Records.bind(nc))?.listContainers("js-eo"))?.find((c) => c.container === 1);
    assert.ok(victim && victim.pid > 0, `container 1 is not running\n${logs.join("\n")}`);
    const killedAt = performance.now();
    process.kill(victim!.pid, "SIGKILL");
    const exit = await child.exited;
    await reading;
    assert.is(exit.code, 0, logs.join("\n"));
    assert.ok(logs.some((l) => l.includes("rolls back")), `the kill caused a rollback\n${logs.join("\n")}`);
    const got = new Map(
      Object.entries(JSON.parse(await readTextFile(out)) as Record<string, [number, number]>).map((
        [k, v],
      ) => [Number(k), v]),
    );
    assertExact(got, count, "after kill -9 of container 1");
    console.log(
      `js eo distributed (${runtimeName()}): ${count} messages exact; run ended ${
        ((performance.now() - killedAt) / 1000).toFixed(1)
      } s after the kill`,
    );
  } finally {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already exited
      }
    }
    await removePath(dir);
  }
});

/** Every message of stream `name`, as text, in stream order. */
async function readStream(name: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const last = (await jsm.streams.info(name)).state.last_seq;
  const out: string[] = [];
  if (last === 0) return out;
  const ci = await jsm.consumers.add(name, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: nanos(30_000),
  });
  try {
    const c = await nc.jetstream().consumers.get(name, ci.name);
    while (out.length < last) {
      const batch = await c.fetch({ max_messages: 1000, expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push(dec.decode(m.data));
        if (m.seq >= last) break;
      }
      if (got === 0) break;
    }
  } finally {
    await jsm.consumers.delete(name, ci.name).catch(() => {});
  }
  return out;
}

/** An output stream on `<subject>` that drops duplicates for `windowMs`. */
async function outputStream(name: string, subject: string, windowMs: number): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [subject], duplicate_window: nanos(windowMs) });
}

/** Each of `r<from>`…`r<to-1>` exactly once in `got`, and nothing else. */
function assertEachOnce(got: readonly string[], from: number, to: number, what: string): void {
  const seen = new Map<string, number>();
  for (const x of got) seen.set(x, (seen.get(x) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([x, n]) => `${x}×${n}`);
  const missing: number[] = [];
  for (let i = from; i < to; i++) if (!seen.has(`r${i}`)) missing.push(i);
  const extra = [...seen.keys()].filter((x) =>
    !/^r\d+$/.test(x) || Number(x.slice(1)) < from || Number(x.slice(1)) >= to
  );
  assert.ok(
    twice.length === 0 && missing.length === 0 && extra.length === 0,
    `${what}: ${got.length} messages for ${to - from} records; ${twice.length} duplicated (${
      twice.slice(0, 5).join(", ")
    }), ` +
      `${missing.length} missing (${missing.slice(0, 5).join(", ")}), ${extra.length} unexpected (${
        extra.slice(0, 5).join(", ")
      })`,
  );
}

/** Stateful pass-through: emits `r<id>` for each input; throws at planned global counts (each throw rolls every task back). */
class ResultBolt extends BaseStatefulBolt<string, number> {
  st!: KeyValueState<string, number>;
  c!: OutputCollector;
  initState(s: KeyValueState<string, number>) {
    this.st = s;
  }
  override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(t: Tuple): void | Promise<void> {
    const seen = ++run.seen;
    if (run.crashAt.delete(seen)) {
      run.fired++;
      throw new Error(`planned crash at ${seen}`);
    }
    this.st.put("n", (this.st.get("n") ?? 0) + 1);
    this.c.emit([`r${dec.decode(t.getValue(1) as Uint8Array)}`]);
    if (run.slowEvery > 0 && seen % run.slowEvery === 0) return new Promise((r) => setTimeout(r, 1));
  }
  declareOutputFields(d: { declare(f: string[]): void }) {
    d.declare(["data"]);
  }
}

test("EFFECTIVELY_ONCE NatsSinkBolt: JetStream in → JetStream out through rollbacks, each record exactly once (by content)", async () => {
  const count = 12_000;
  const stream = "SINKIN";
  await publish(stream, 0, count);
  const conf = {
    "topology.reliability.mode": "EFFECTIVELY_ONCE",
    "topology.stateful.checkpoint.interval.seconds": 0.05,
    "topology.supervisor.max.consecutive.failures": 3,
  } as const;
  await outputStream("SINKOUT", "sinkout.>", 300_000);
  const dir = await makeTempDir("ardea-js-eo-");
  run.crashAt = new Set([2_000, 5_000, 9_000]);
  run.seen = 0;
  run.fired = 0;
  run.slowEvery = 20;
  try {
    const b = new TopologyBuilder();
    b.setSpout("in", () => new JetStreamSpout({ stream, durable: "sink-eo", nats: settings }), 2);
    b.setBolt("results", () => new ResultBolt(), 2).shuffleGrouping("in");
    b.setBolt(
      "out",
      () =>
        new NatsSinkBolt({
          subject: (t) => `sinkout.${t.getString(0).length}`,
          stream: "SINKOUT",
          jetstream: true,
          nats: settings,
        }),
      2,
    )
      .shuffleGrouping("results");
    const logs: string[] = [];
    const h = await submit("js-eo-sink-embedded", { ...conf, "topology.state.dir": dir }, b.createTopology(), {
      handleSignals: false,
      log: (l) => logs.push(l),
    });
    const jsm = await nc.jetstreamManager();
    await until("the output", async () => (await jsm.streams.info("SINKOUT")).state.messages >= count, 120_000);
    // Anything published twice would land by now.
    await new Promise((r) => setTimeout(r, 1000));
    await h.kill();
    assert.is(run.fired, 3, `every planned crash fired\n${logs.join("\n")}`);
    assertEachOnce(await readStream("SINKOUT"), 0, count, "after 3 rollbacks");
  } finally {
    await removePath(dir);
  }
});

test("EFFECTIVELY_ONCE NatsSinkBolt, bounded run: the spouts idle past a checkpoint before they finish, so all output is committed and published", async () => {
  const count = 3_000;
  const stream = "BOUNDIN";
  await publish(stream, 0, count);
  await outputStream("BOUNDOUT", "boundout.>", 300_000);
  const dir = await makeTempDir("ardea-js-eo-");
  run.crashAt = new Set([1_000]);
  run.seen = 0;
  run.fired = 0;
  run.slowEvery = 0;
  try {
    const b = new TopologyBuilder();
    b.setSpout("in", () => new JetStreamSpout({ stream, durable: "bound", nats: settings, finishWhenIdleMs: 1000 }), 2);
    b.setBolt("results", () => new ResultBolt(), 2).shuffleGrouping("in");
    b.setBolt("out", () => new NatsSinkBolt({ subject: "boundout.r", jetstream: true, nats: settings }), 2)
      .shuffleGrouping("results");
    const logs: string[] = [];
    const h = await submit(
      "js-eo-bound",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.stateful.checkpoint.interval.seconds": 0.1,
        "topology.supervisor.max.consecutive.failures": 3,
      },
      b.createTopology(),
      { handleSignals: false, log: (l) => logs.push(l) },
    );
    assert.is((await h.done).state, "FINISHED", logs.join("\n"));
    assert.is(run.fired, 1);
    assertEachOnce(await readStream("BOUNDOUT"), 0, count, "bounded run, one rollback");
  } finally {
    await removePath(dir);
  }
});

test("EFFECTIVELY_ONCE NatsSinkBolt: a second clean run under the same name publishes all its output (message ids carry the run's lineage)", async () => {
  const count = 500;
  const stream = "CLEANIN";
  await publish(stream, 0, count);
  await outputStream("CLEANOUT", "cleanout.>", 300_000);
  run.crashAt = new Set();
  run.slowEvery = 0;
  for (const round of [1, 2]) {
    const dir = await makeTempDir("ardea-js-eo-");
    run.seen = 0;
    try {
      const b = new TopologyBuilder();
      b.setSpout(
        "in",
        () => new JetStreamSpout({ stream, durable: `clean${round}`, nats: settings, finishWhenIdleMs: 500 }),
        1,
      );
      b.setBolt("results", () => new ResultBolt(), 1).shuffleGrouping("in");
      b.setBolt("out", () => new NatsSinkBolt({ subject: "cleanout.r", jetstream: true, nats: settings }), 1)
        .shuffleGrouping("results");
      const h = await submit(
        "js-eo-clean",
        {
          "topology.reliability.mode": "EFFECTIVELY_ONCE",
          "topology.state.dir": dir,
          "topology.stateful.checkpoint.interval.seconds": 0.1,
          "topology.stateful.start.clean": true,
          "topology.supervisor.max.consecutive.failures": 3,
        },
        b.createTopology(),
        { handleSignals: false },
      );
      assert.is((await h.done).state, "FINISHED");
    } finally {
      await removePath(dir);
    }
    const jsm = await nc.jetstreamManager();
    assert.is((await jsm.streams.info("CLEANOUT")).state.messages, round * count, `after run ${round}`);
  }
});

test("EFFECTIVELY_ONCE NatsSinkBolt: a committed batch in the restored state is published again at prepare; the duplicate window drops what had arrived", async () => {
  await outputStream("RESTOREOUT", "restoreout.>", 300_000);
  const b = new TopologyBuilder();
  b.setSpout("in", iterableSpout(() => [1], { fields: ["n"] }), 1);
  b.setBolt("out", bolt(() => {}), 1).shuffleGrouping("in");
  const topology = b.createTopology();
  const conf = parseConfig({
    "topology.name": "t",
    "topology.reliability.mode": "EFFECTIVELY_ONCE",
    "topology.supervisor.max.consecutive.failures": 3,
  });
  const errors: unknown[] = [];
  const collector = { reportError: (e: unknown) => errors.push(e) } as unknown as OutputCollector;
  // Checkpoint 3 of task 2 held two messages, committed; whether they were confirmed is not known.
  const restored = () => {
    const st = new State<string, unknown>();
    st.put("t/2/3", [3, null, [enc.encode("a"), enc.encode("b")]]);
    return st;
  };
  const jsm = await nc.jetstreamManager();
  for (const round of [1, 2]) {
    const state = restored();
    const sink = new NatsSinkBolt({ subject: "restoreout.x", jetstream: true, nats: settings });
    sink.initState(state);
    await sink.prepare(conf, new TopologyContext(topology, "t", 2), collector);
    await until(`round ${round}: the batch confirmed`, async () => !state.has("t/2/3"), 10_000);
    await sink.cleanup();
    assert.is(
      (await jsm.streams.info("RESTOREOUT")).state.messages,
      2,
      `round ${round}: each message once in the stream`,
    );
  }
  const first = await jsm.streams.getMessage("RESTOREOUT", { seq: 1 });
  assert.is(first.header.get("Nats-Msg-Id"), "t/2/3/0");
  assert.equal(await readStream("RESTOREOUT"), ["a", "b"]);
  assert.equal(errors, []);
});

test("EFFECTIVELY_ONCE NatsSinkBolt refuses core NATS and a duplicate window shorter than the longest recovery", async () => {
  await outputStream("SHORTWIN", "shortwin.>", 120_000);
  await publish("SHORTIN", 0, 10);
  const dir = await makeTempDir("ardea-js-eo-");
  try {
    for (
      const [sink, want] of [
        [
          new NatsSinkBolt({ subject: "shortwin.x", jetstream: true, nats: settings }),
          /stream "SHORTWIN" drops duplicates for 120 s.*at least 164 s/,
        ],
        [new NatsSinkBolt({ subject: "shortwin.x", nats: settings }), /set jetstream: true/],
      ] as const
    ) {
      const b = new TopologyBuilder();
      b.setSpout("in", new JetStreamSpout({ stream: "SHORTIN", durable: "shortwin", nats: settings }), 1);
      b.setBolt("out", sink, 1).shuffleGrouping("in");
      const h = await submit(
        "js-eo-shortwin",
        {
          "topology.reliability.mode": "EFFECTIVELY_ONCE",
          "topology.state.dir": dir,
          "topology.supervisor.max.consecutive.failures": 3,
          "topology.stateful.start.clean": true,
        },
        b.createTopology(),
        { handleSignals: false, log: () => {} },
      );
      const err = await h.done.then(() => null, (e: Error) => e);
      assert.ok(err !== null, "the run must fail");
      assert.match(
        String(err!.message) + String((err!.cause as Error | undefined)?.message),
        want,
        String(err!.message) + String((err!.cause as Error | undefined)?.message),
      );
    }
  } finally {
    await removePath(dir);
  }
});

test("distributed EFFECTIVELY_ONCE: JetStream in → JetStream out with kill -9 of a container; each record's result exactly once (by content)", async () => {
  const first = 20_000, more = 5_000;
  const stream = "DISTSINK";
  await publish(stream, 0, first);
  await outputStream("DISTOUT", "distout.>", 300_000);
  const ardea = (args: string[]) => {
    const [cmd, argv] = ardeaCmd(args);
    return spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  };
  const child = ardea([
    "submit",
    "tests/fixtures/js_eo_sink.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--in",
    stream,
    "--out-subject",
    "distout.r",
  ]);
  const logs: string[] = [];
  const reading = Promise.all([
    collect(child.lines("stderr"), logs),
    collect(child.lines("stdout"), logs),
  ]);
  const jsm = await nc.jetstreamManager();
  const published = async () => (await jsm.streams.info("DISTOUT")).state.messages;
  try {
    // Kill container 1 once part of the output is out (committed batches published, more in flight).
    await until(`a quarter of the output\n${logs.join("\n")}`, async () => (await published()) >= first / 4, 120_000);
    const victim = (await (await Records.bind(nc))?.listContainers("js-eo-sink"))?.find((c) => c.container === 1);
    assert.ok(victim && victim.pid > 0, `container 1 is not running\n${logs.join("\n")}`);
    const before = await published();
    process.kill(victim!.pid, "SIGKILL");
    // More input while the run recovers.
    await publish(stream, first, first + more);
    await until(
      `the whole output (${first + more})\n${logs.join("\n")}`,
      async () => (await published()) >= first + more,
      180_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const kill = ardea(["kill", "js-eo-sink", "--wait-secs", "1"]);
    await kill.exited;
    await child.exited;
    await reading;
    assert.ok(logs.some((l) => l.includes("rolls back")), `the kill caused a rollback\n${logs.join("\n")}`);
    assertEachOnce(
      await readStream("DISTOUT"),
      0,
      first + more,
      `after kill -9 of container 1 (${before} results were out at the kill)`,
    );
    console.log(
      `js eo sink distributed (${runtimeName()}): ${first + more} records → ${
        first + more
      } results exactly once; ${before} were out at the kill`,
    );
  } finally {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already exited
      }
    }
  }
});

test('distributed EFFECTIVELY_ONCE: deliverPolicy "new" is resolved at submit, stored in the topology record, and read by every task', async () => {
  const stream = "DISTNEW";
  await publish(stream, 0, 30);
  await outputStream("DISTNEWOUT", "distnew.>", 300_000);
  const ardea = (args: string[]) => {
    const [cmd, argv] = ardeaCmd(args);
    return spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  };
  const child = ardea([
    "submit",
    "tests/fixtures/js_eo_sink.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--in",
    stream,
    "--out-subject",
    "distnew.r",
    "--deliver",
    "new",
    "--name",
    "js-eo-new-dist",
  ]);
  const logs: string[] = [];
  const reading = Promise.all([
    collect(child.lines("stderr"), logs),
    collect(child.lines("stdout"), logs),
  ]);
  const jsm = await nc.jetstreamManager();
  try {
    const record = async () =>
      (await (await Records.bind(nc))?.getTopology("js-eo-new-dist").catch(() => null)) ?? null;
    await until(`the topology record\n${logs.join("\n")}`, async () => (await record())?.state === "RUNNING", 60_000);
    const rec = (await record())!;
    assert.equal(
      rec.config["ardea.jetstream.start.sequences"],
      { in: 31 },
      "the start after the 30 messages there at submit",
    );
    await publish(stream, 30, 50);
    await until(
      `the 20 results\n${logs.join("\n")}`,
      async () => (await jsm.streams.info("DISTNEWOUT")).state.messages >= 20,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await ardea(["kill", "js-eo-new-dist", "--wait-secs", "1"]).exited;
    await child.exited;
    await reading;
    assertEachOnce(await readStream("DISTNEWOUT"), 30, 50, "deliverPolicy new");
  } finally {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already exited
      }
    }
  }
});

test.run();
