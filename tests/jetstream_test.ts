// timeout: 300
// JetStreamSpout and NatsSinkBolt against a real nats-server with JetStream:
// embedded runs (exactly N out, redelivery of failed tuples, core NATS sink)
// and a distributed run that loses a spout's container to kill -9.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { AckPolicy, type JsMsg, nanos, type NatsConnection } from "nats";
import {
  BaseRichBolt,
  JetStreamSpout,
  JetStreamSpoutError,
  NatsSinkBolt,
  type OutputCollector,
  parseNatsFlags,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { connectNats, type NatsSettings } from "../transport/nats_connect.ts";
import { Records } from "../cluster/records.ts";
import { ardeaRoot, runtimeName, spawnProcess } from "../runtime/mod.ts";
import { collect } from "../testing/child.ts";
import { ardeaCmd } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

let nats: NatsHandle;
let nc: NatsConnection;
let settings: NatsSettings;

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  settings = parseNatsFlags({ nats: nats.urls[0]! }, {});
  nc = await connectNats(settings, { name: "jetstream_test" });
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Creates streams `<name>_IN` (in.<name>.>) and `<name>_OUT` (out.<name>.>) and publishes ids 0..count-1. */
async function streams(name: string, count: number): Promise<{ input: string; output: string; outSubject: string }> {
  const jsm = await nc.jetstreamManager();
  const input = `${name}_IN`, output = `${name}_OUT`;
  await jsm.streams.add({ name: input, subjects: [`in.${name}.>`] });
  await jsm.streams.add({ name: output, subjects: [`out.${name}.>`] });
  const js = nc.jetstream();
  for (let i = 0; i < count; i += 250) {
    const chunk = [];
    for (let k = i; k < Math.min(count, i + 250); k++) {
      chunk.push(js.publish(`in.${name}.${k % 4}`, enc.encode(String(k))));
    }
    await Promise.all(chunk);
  }
  return { input, output, outSubject: `out.${name}.done` };
}

/** Every payload of `stream`, as strings, in stream order. */
async function readAll(stream: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const total = (await jsm.streams.info(stream)).state.messages;
  // A throwaway pull consumer: fetch from an ordered consumer never returned under Deno here.
  const { name } = await jsm.consumers.add(stream, { ack_policy: AckPolicy.None, inactive_threshold: nanos(10_000) });
  const consumer = await nc.jetstream().consumers.get(stream, name);
  const out: string[] = [];
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 2000 });
    for await (const m of batch) out.push(dec.decode(m.data));
  }
  return out;
}

function missingIds(got: Iterable<string>, count: number): number[] {
  const seen = new Set(got);
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(String(i))) missing.push(i);
  return missing;
}

/** Emits `[data, deliveries]` anchored; fails `failFirst` ids on their first delivery. */
class Work extends BaseRichBolt {
  static seen = new Map<number, number>();
  c!: OutputCollector;
  constructor(readonly failFirst: (id: number) => boolean = () => false) {
    super();
  }
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(t: Tuple) {
    const data = t.getValueByField("data") as Uint8Array;
    const id = Number(dec.decode(data));
    const n = (Work.seen.get(id) ?? 0) + 1;
    Work.seen.set(id, n);
    if (n === 1 && this.failFirst(id)) return this.c.fail(t);
    this.c.emit(t, [data, t.getValueByField("deliveries")]);
    this.c.ack(t);
  }
  declareOutputFields(d: { declare(f: string[]): void }) {
    d.declare(["data", "deliveries"]);
  }
}

const decodeWithDeliveries = (m: JsMsg) => [m.subject, m.data, m.info.deliveryCount];

test("embedded: JetStreamSpout → bolt → NatsSinkBolt(jetstream): exactly N messages out", async () => {
  const count = 2000;
  const { input, output, outSubject } = await streams("exact", count);
  Work.seen.clear();
  const b = new TopologyBuilder();
  b.setSpout(
    "in",
    new JetStreamSpout({
      stream: input,
      durable: "exact",
      nats: settings,
      decode: decodeWithDeliveries,
      fields: ["subject", "data", "deliveries"],
      finishWhenIdleMs: 500,
    }),
    2,
  );
  b.setBolt("work", () => new Work(), 2).shuffleGrouping("in");
  b.setBolt("out", new NatsSinkBolt({ subject: outSubject, jetstream: true, nats: settings }), 2).shuffleGrouping(
    "work",
  );
  const started = performance.now();
  const h = await submit("js-exact", {}, b.createTopology(), { handleSignals: false });
  const summary = await h.done;
  const ms = performance.now() - started;
  assert.is(summary.state, "FINISHED");
  const got = await readAll(output);
  assert.equal(missingIds(got, count), []);
  assert.is(got.length, count, "no failures, so no duplicates");
  const info = await (await nc.jetstreamManager()).consumers.info(input, "exact");
  assert.is(info.num_ack_pending, 0);
  assert.is(info.num_pending, 0);
  console.log(
    `embedded (${runtimeName()}): ${count} messages through JetStream in ${
      ms.toFixed(0)
    } ms (finish after 500 ms idle included)`,
  );
});

test("embedded: failed tuples are naked, redelivered by JetStream and processed", async () => {
  const count = 1000;
  const { input, output, outSubject } = await streams("redeliver", count);
  Work.seen.clear();
  const failFirst = (id: number) => id % 7 === 0;
  const b = new TopologyBuilder();
  b.setSpout(
    "in",
    new JetStreamSpout({
      stream: input,
      durable: "redeliver",
      nats: settings,
      decode: decodeWithDeliveries,
      fields: ["subject", "data", "deliveries"],
      finishWhenIdleMs: 500,
    }),
    2,
  );
  b.setBolt("work", () => new Work(failFirst), 2).shuffleGrouping("in");
  b.setBolt(
    "out",
    new NatsSinkBolt({
      subject: outSubject,
      jetstream: true,
      nats: settings,
      encode: (t) => enc.encode(`${dec.decode(t.getValue(0) as Uint8Array)}:${t.getValue(1)}`),
    }),
    1,
  )
    .shuffleGrouping("work");
  const h = await submit("js-redeliver", {}, b.createTopology(), { handleSignals: false });
  assert.is((await h.done).state, "FINISHED");
  const got = (await readAll(output)).map((s) => s.split(":").map(Number) as [number, number]);
  assert.equal(missingIds(got.map(([id]) => String(id)), count), []);
  assert.is(got.length, count, "a failed tuple never reached the sink, so each id is written once");
  for (const [id, deliveries] of got) {
    if (failFirst(id)) {
      assert.ok(deliveries >= 2, `id ${id} was failed, so JetStream delivered it again (deliveries ${deliveries})`);
    } else assert.is(deliveries, 1, `id ${id} delivered once`);
  }
  for (let id = 0; id < count; id += 7) assert.ok((Work.seen.get(id) ?? 0) >= 2, `id ${id} processed again`);
});

test("embedded: core NATS sink acks after a batched flush; every message lands", async () => {
  const count = 2000;
  const { input, output, outSubject } = await streams("core", count);
  Work.seen.clear();
  const b = new TopologyBuilder();
  b.setSpout(
    "in",
    () =>
      new JetStreamSpout({
        stream: input,
        durable: "core",
        nats: settings,
        finishWhenIdleMs: 500,
        decode: (m) => [m.subject, m.data, 1],
        fields: ["subject", "data", "deliveries"],
      }),
    1,
  );
  b.setBolt("work", () => new Work(), 2).shuffleGrouping("in");
  b.setBolt("out", () => new NatsSinkBolt({ subject: outSubject, nats: settings }), 2).shuffleGrouping("work");
  const h = await submit("js-core", {}, b.createTopology(), { handleSignals: false });
  const summary = await h.done;
  assert.is(summary.state, "FINISHED");
  const got = await readAll(output);
  assert.equal(missingIds(got, count), []);
  assert.is(got.length, count);
});

test("open fails with a message naming the stream, or the ack wait against the message timeout", async () => {
  const b = new TopologyBuilder();
  b.setSpout("in", new JetStreamSpout({ stream: "NO_SUCH_STREAM", durable: "x", nats: settings }), 1);
  b.setBolt("out", new NatsSinkBolt({ subject: "out.none", nats: settings }), 1).shuffleGrouping("in");
  const errors: string[] = [];
  const h = await submit("js-nostream", { "topology.supervisor.max.consecutive.failures": 1 }, b.createTopology(), {
    handleSignals: false,
    log: (l) => errors.push(l),
  });
  await h.done.catch((e: Error) => errors.push(e.message));
  assert.ok(errors.some((l) => l.includes('no JetStream stream "NO_SUCH_STREAM"')), errors.join("\n"));

  const spout = new JetStreamSpout({ stream: "S", durable: "x", nats: settings, ackWaitMs: 1000 });
  const conf = { "topology.message.timeout.secs": 5, "topology.max.spout.pending": 10 } as never;
  const ctx = { getThisComponentId: () => "in", getThisTaskId: () => 1 } as never;
  try {
    await spout.open(conf, ctx, {} as never);
    assert.unreachable("open should fail");
  } catch (e) {
    assert.instance(e, JetStreamSpoutError);
    assert.match((e as Error).message, /ackWaitMs 1000 must exceed topology\.message\.timeout\.secs/);
  }
});

test("distributed: kill -9 of a container hosting a spout task; every message reaches the output stream", async () => {
  const count = 4000;
  const { input, output, outSubject } = await streams("dist", count);
  const args = [
    "submit",
    "tests/fixtures/js_durable.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--in",
    input,
    "--out",
    outSubject,
  ];
  const [cmd, argv] = ardeaCmd(args);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  const stderr: string[] = [];
  const reading = Promise.all([collect(child.lines("stderr"), stderr), collect(child.lines("stdout"), [])]);
  const jsm = await nc.jetstreamManager();
  const written = async () => (await jsm.streams.info(output)).state.messages;
  try {
    // Wait for the run to be under way, then kill -9 a container hosting a spout task.
    let victim = 0, victimIndex = -1;
    const deadline = Date.now() + 90_000;
    let records: Records | undefined;
    while (Date.now() < deadline && victim === 0) {
      records ??= await Records.bind(nc); // undefined until the submit made its bucket
      const topo = await records?.getTopology("js-durable").catch(() => undefined);
      const spoutTasks = new Set(topo?.components["input"] ?? []);
      const cs = (await records?.listContainers("js-durable").catch(() => [])) ?? [];
      const host = cs.filter((c) => c.pid > 0 && c.tasks.some((t) => spoutTasks.has(t))).at(-1);
      if (host && (await written()) > count / 10) {
        victim = host.pid;
        victimIndex = host.container;
      } else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(victim > 0, `no container with a spout task got going\n${stderr.join("\n")}`);
    const before = await written();
    const killedAt = performance.now();
    process.kill(victim, "SIGKILL");

    let resumedMs = -1;
    while (performance.now() - killedAt < 90_000 && resumedMs < 0) {
      if ((await written()) > before + 50) resumedMs = performance.now() - killedAt;
      else await new Promise((r) => setTimeout(r, 50));
    }
    // Recovered: every input message acked, i.e. confirmed in the output stream.
    let ackedMs = -1;
    let exited = false;
    void child.exited.then(() => (exited = true));
    while (!exited && ackedMs < 0) {
      const ci = await jsm.consumers.info(input, "ardea-dist").catch(() => undefined);
      if (ci !== undefined && ci.num_pending === 0 && ci.num_ack_pending === 0) ackedMs = performance.now() - killedAt;
      else await new Promise((r) => setTimeout(r, 100));
    }
    const exit = await child.exited;
    const doneMs = performance.now() - killedAt;
    await reading;
    assert.is(exit.code, 0, stderr.join("\n"));
    const got = await readAll(output);
    assert.equal(missingIds(got, count), [], `lost messages\n${stderr.slice(-40).join("\n")}`);
    const info = await jsm.consumers.info(input, "ardea-dist");
    assert.is(info.num_ack_pending, 0, "every input message acked");
    assert.ok(resumedMs >= 0, "processing never resumed");
    const rejoin = stderr.find((l) => l.includes("rejoined"));
    assert.ok(rejoin, `the killed container never rejoined\n${stderr.join("\n")}`);
    console.log(
      `recovery (${runtimeName()}): killed container ${victimIndex} (pid ${victim}) after ${before} of ${count} outputs; ` +
        `output grew again ${resumedMs.toFixed(0)} ms after kill -9, every input acked after ${
          (ackedMs / 1000).toFixed(1)
        } s ` +
        `(ack wait 8 s), run finished after ${(doneMs / 1000).toFixed(1)} s; ` +
        `${got.length} outputs for ${count} inputs (${got.length - count} duplicates, at-least-once)`,
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

test.run();
