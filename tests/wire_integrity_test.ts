// timeout: 400
// Data that crosses containers arrives as it was sent, or the run fails with
// an error naming it: values msgpack would change (functions, instances of
// unregistered classes), tuples larger than the server's max_payload
// (carried in chunks, or refused past MAX_FRAME_BYTES), and topology names
// that map to KV keys and subjects one to one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import {
  checkTopologyName,
  decodeDataFrame,
  encodeDataChunks,
  encodeDataFrame,
  MAX_FRAME_BYTES,
  subjects,
  subjectToken,
  topologyKey,
  unencodableField,
} from "../transport/wire/mod.ts";
import { createPackr, createStrictPackr, registerType } from "../transport/codec.ts";
import { StreamManager } from "../engine/stream_manager.ts";
import type { Container } from "../engine/container.ts";
import { Pressure } from "../actors/mailbox.ts";
import { bolt, type OutputFieldsDeclarer, TopologyBuilder } from "../mod.ts";
import { EmitError } from "../topology/errors.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { ardeaRoot, execPath, resolvePath, runtimeName, spawnProcess } from "../runtime/mod.ts";
import { type NatsHandle, startNats } from "./nats_server.ts";

// ---------------------------------------------------------------- names

test("topology names map to KV keys and subject tokens one to one; plain names keep theirs", () => {
  for (const name of ["wc", "word-count", "Word_Count-2", "a", "x_y", "0abc"]) {
    assert.is(topologyKey(name), name);
    assert.is(subjectToken(name), name);
  }
  const names = ["x.y", "x_y", "x-y", "x.y.z", "x_y.z", "x._y", "x=2Ey", "x..y"];
  const keys = new Set(names.map(subjectToken));
  assert.is(keys.size, names.length, [...keys].join(" "));
  assert.is(topologyKey("x.y"), "x=2Ey");
  assert.is.not(topologyKey("x.y"), topologyKey("x_y"));
  assert.is.not(subjects("x.y").ctl, subjects("x_y").ctl);
  for (const k of keys) assert.ok(/^[A-Za-z0-9_=-]+$/.test(k), `${k} is one subject token and a valid KV key`);
  for (const bad of ["", "a b", "-a", ".a", "a*", "a>", "a".repeat(129), "é"]) {
    assert.throws(() => checkTopologyName(bad), /letters, digits/, JSON.stringify(bad));
    assert.throws(() => topologyKey(bad), /letters, digits/, JSON.stringify(bad));
  }
});

// ---------------------------------------------------------------- the strict encoder

test("the data-frame encoder writes plain values byte for byte as before and refuses what it would change", () => {
  const loose = createPackr();
  const strict = createStrictPackr();
  const plain: unknown[] = ["word", 42, -1.5, true, null, undefined, [1, [2]], { a: 1, b: { c: "d" } }, new Map([[1, "a"]]), new Set([1]), new Date(5), new Uint8Array([1, 2]), 2n ** 70n];
  for (const v of plain) {
    assert.equal(strict.pack([v]), loose.pack([v]), `bytes of ${String(v)}`);
    assert.equal(strict.unpack(strict.pack([v])), loose.unpack(loose.pack([v])));
  }
  class Point {
    constructor(readonly x: number) {}
  }
  class WithJson {
    toJSON() {
      return "j";
    }
  }
  class MyMap extends Map {}
  for (const [v, what] of [
    [() => 1, /function/],
    [new Point(1), /instance of Point.*registerType/],
    [new WithJson(), /instance of WithJson/],
    [new MyMap(), /instance of MyMap/],
    [{ nested: [{ cb: () => 2 }] }, /function/],
  ] as const) {
    assert.throws(() => strict.pack([v]), what);
  }
  // after a refusal the encoder is as good as new
  assert.equal(strict.unpack(strict.pack([{ a: 1 }, { a: 2 }])), [{ a: 1 }, { a: 2 }]);
  // the error path names the field, whatever msgpack threw
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const names = (i: number) => ["a", "b"][i]!;
  assert.is(unencodableField(["ok", 1], names, "x"), null);
  assert.match(unencodableField(["ok", Symbol("s")], names, "x")!.message, 'x: field "b" (index 1) holds a symbol');
  assert.match(unencodableField([circular, 1], names, "x")!.message, 'field "a" (index 0) holds a circular reference');
  assert.match(unencodableField([1, new Point(1)], names, "x")!.message, "an instance of Point");
});

// ---------------------------------------------------------------- two stream managers over NATS

let nats: NatsHandle;

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
});

test.after(async () => {
  await nats?.stop();
});

interface Delivered {
  values: unknown[];
}

/** Just what a stream manager asks of its container, recording deliveries and the fatal error. */
function fakeContainer() {
  const got: Delivered[] = [];
  const state = { fatal: null as Error | null };
  return {
    got,
    state,
    pressure: new Pressure(() => {}),
    ownPressure: () => false,
    localBolt: () => ({ acceptsFrom: () => true }),
    deliver: (_dest: number, t: unknown) => {
      if (t instanceof TupleImpl) got.push({ values: t.values });
    },
    applyAck() {},
    setRemotePressure() {},
    fatal(e: Error) {
      state.fatal ??= e;
    },
    effectivelyOnce: false,
    rollback() {},
  };
}

/** Two stream managers (containers 0 and 1) over one nats-server, spout "s" (fields text, n) → bolt "b". */
async function pair(opts: { maxFrameBytes?: number } = {}) {
  const nc0 = await connect({ servers: nats.urls[0] });
  const nc1 = await connect({ servers: nats.urls[0] });
  const b = new TopologyBuilder();
  b.setSpout("s", () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["text", "n"]) }), 1);
  b.setBolt("b", bolt(() => {}), 1).shuffleGrouping("s");
  const topology = b.createTopology();
  const spoutTask = topology.componentTasks.get("s")![0]!;
  const boltTask = topology.componentTasks.get("b")![0]!;
  const logs: string[] = [];
  const common = { topologyName: "integrity", topology, onControl() {}, log: (l: string) => void logs.push(l), epoch: 3, ...opts };
  const sender = fakeContainer(), receiver = fakeContainer();
  const sm0 = new StreamManager({ ...common, nc: nc0, index: 0 });
  const sm1 = new StreamManager({ ...common, nc: nc1, index: 1 });
  sm0.attach(sender as unknown as Container);
  sm1.attach(receiver as unknown as Container);
  await nc0.flush();
  await nc1.flush();
  const info = new StreamInfo("s", "default", topology.components.get("s")!.streams.get("default")!.fields, false);
  return {
    nc0,
    sm0,
    sm1,
    sender,
    receiver,
    logs,
    send: (values: unknown[]) => sm0.sendTuple(1, boltTask, new TupleImpl(values, info, spoutTask)),
    boltTask,
    spoutTask,
    async close() {
      await sm0.close();
      await sm1.close();
      await nc0.close();
      await nc1.close();
    },
  };
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
}

test("a function or an unregistered class in a tuple fails the run naming component, stream and field; nothing arrives changed", async () => {
  class Point {
    constructor(readonly x: number) {}
  }
  for (const [value, what] of [[() => 1, /holds a function/], [new Point(2), /holds an instance of Point \(register it with registerType\)/]] as const) {
    const p = await pair();
    try {
      p.send(["fine", 1]);
      p.send(["bad", value]);
      await waitFor("the sender failed", () => p.sender.state.fatal !== null);
      const e = p.sender.state.fatal!;
      assert.instance(e, EmitError);
      assert.is((e as EmitError).code, "NOT_SERIALIZABLE");
      assert.match(e.message, '"s" emitting on stream "default"');
      assert.match(e.message, 'field "n" (index 1)');
      assert.match(e.message, what);
      await new Promise((r) => setTimeout(r, 200));
      for (const d of p.receiver.got) assert.ok(d.values[1] === 1, `arrived changed: ${JSON.stringify(d.values)}`);
    } finally {
      await p.close();
    }
  }
});

test("an instance of a registered class crosses as an instance", async () => {
  class Money {
    constructor(readonly cents: number, readonly currency: string) {}
  }
  registerType(Money, {
    type: 57,
    write: (m) => [m.cents, m.currency],
    read: (d) => new Money((d as [number, string])[0], (d as [number, string])[1]),
  });
  const p = await pair();
  try {
    p.send(["m", new Money(250, "EUR")]);
    await waitFor("it arrived", () => p.receiver.got.length === 1);
    const m = p.receiver.got[0]!.values[1];
    assert.instance(m, Money);
    assert.is((m as Money).cents, 250);
    assert.is(p.sender.state.fatal, null);
  } finally {
    await p.close();
  }
});

test("a tuple above max_payload travels in chunks and arrives whole, in order with the frames around it", async () => {
  const p = await pair();
  try {
    const max = p.nc0.info!.max_payload;
    const big = "é".repeat(Math.ceil((max * 2.5) / 2)) + "end";
    p.send(["before", 1]);
    await new Promise((r) => setTimeout(r, 0));
    p.send([big, 2]);
    await new Promise((r) => setTimeout(r, 0));
    p.send(["after", 3]);
    await waitFor("all three arrived", () => p.receiver.got.length === 3);
    assert.equal(p.receiver.got.map((d) => d.values[1]), [1, 2, 3]);
    assert.ok(p.receiver.got[1]!.values[0] === big, "the big string arrived unchanged");
    assert.is(p.sender.state.fatal, null);
    assert.is(p.sm1.dropped, 0);
    assert.ok(p.sm0.framesOut >= 5, `sent in chunks (${p.sm0.framesOut} messages)`);
    assert.not.ok(p.logs.some((l) => /lost|dropped/.test(l)), p.logs.join("\n"));
  } finally {
    await p.close();
  }
});

test("a lost chunk loses its frame only: the next frame is delivered and the gap is reported", async () => {
  const p = await pair();
  try {
    const subject = subjects("integrity").data(1);
    const frame = (seq: number, text: string) =>
      encodeDataFrame({ from: 0, epoch: 3, seq, flat: [p.boltTask, p.spoutTask, 0, [text, seq], -1, 0, 0, null] });
    p.nc0.publish(subject, frame(1, "one"));
    const chunks = encodeDataChunks(frame(2, "x".repeat(300_000)), { from: 0, epoch: 3, seq: 2 }, 100_000);
    assert.ok(chunks.length >= 3);
    for (const [i, c] of chunks.entries()) if (i !== 1) p.nc0.publish(subject, c); // chunk 1 lost
    p.nc0.publish(subject, frame(3, "three"));
    await waitFor("frames 1 and 3 arrived", () => p.receiver.got.length === 2);
    assert.equal(p.receiver.got.map((d) => d.values[1]), [1, 3]);
    assert.ok(p.sm1.dropped >= 1, "the orphan chunks were dropped");
    await waitFor("the gap was logged", () => p.logs.some((l) => /data frames 2…2 from container 0 were lost/.test(l)));
    // chunks that add up past the limit are given up, not kept
    const q = await pair({ maxFrameBytes: 150_000 });
    try {
      for (const c of encodeDataChunks(frame(1, "y".repeat(300_000)), { from: 0, epoch: 3, seq: 1 }, 100_000)) q.nc0.publish(subject, c);
      await waitFor("the oversized frame was given up", () => q.sm1.dropped >= 1);
      assert.is(q.receiver.got.length, 0);
    } finally {
      await q.close();
    }
  } finally {
    await p.close();
  }
});

test("a tuple above the largest frame ends the run with an error naming component, stream, size and limit", async () => {
  assert.ok(MAX_FRAME_BYTES >= 50 * 1024 * 1024, "a 50 MB tuple is carried by default");
  const p = await pair({ maxFrameBytes: 2_000_000 });
  try {
    p.send(["z".repeat(3_000_000), 1]);
    await waitFor("the sender failed", () => p.sender.state.fatal !== null);
    const e = p.sender.state.fatal!;
    assert.is((e as EmitError).code, "TUPLE_TOO_LARGE");
    assert.match(e.message, '"s" emitting on stream "default"');
    assert.match(e.message, /a tuple of 300\d{4} bytes/);
    assert.match(e.message, "2000000 bytes");
    assert.match(e.message, `max_payload is ${p.nc0.info!.max_payload}`);
  } finally {
    await p.close();
  }
});

test("decodeDataFrame still reads what encodeDataFrame writes", () => {
  const f = { from: 1, epoch: 2, seq: 3, flat: [5, 1, 0, ["the", new Map([[1, 2]])], -1, 0, 0, null] };
  assert.equal(decodeDataFrame(encodeDataFrame(f)), f);
});

// ---------------------------------------------------------------- end to end: ardea submit --containers 2

function ardeaCmd(args: string[]): [string, string[]] {
  const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
  return runtimeName() === "deno" ? [execPath(), ["run", "-A", bin, ...args]] : [execPath(), [bin, ...args]];
}

async function submit(mode: string): Promise<{ code: number | null; out: string }> {
  const [cmd, argv] = ardeaCmd(["submit", "tests/fixtures/dist_values.ts", "--containers", "2", "--runtime", runtimeName(), "--wait", "--", mode]);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  // Before the fix a tuple could be dropped and replayed forever: give up after a while.
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const lines: string[] = [];
  const read = async (s: "stdout" | "stderr") => {
    for await (const l of child.lines(s)) lines.push(l);
  };
  const [exit] = await Promise.all([child.exited, read("stdout"), read("stderr")]);
  clearTimeout(timer);
  return { code: exit.code, out: lines.join("\n") };
}

test("ardea submit --containers 2: a function in a tuple ends the run FAILED naming it", async () => {
  const r = await submit("function");
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /FAILED/);
  assert.match(r.out, /"numbers" emitting on stream "default": field "v" \(index 1\) holds a function/);
  const nc: NatsConnection = await connect({ servers: nats.urls[0] });
  try {
    const { Records } = await import("../engine/records.ts");
    const rec = await (await Records.bind(nc))!.getTopology("dist-values-function");
    assert.is(rec?.state, "FAILED");
    assert.match(rec?.error ?? "", /holds a function/);
  } finally {
    await nc.close();
  }
});

test("ardea submit --containers 2: an unregistered class ends the run FAILED naming it", async () => {
  const r = await submit("class");
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /field "v" \(index 1\) holds an instance of Point \(register it with registerType\)/);
});

test("ardea submit --containers 2: instances of a registered class arrive as instances", async () => {
  const r = await submit("registered");
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /FINISHED/);
});

test("ardea submit --containers 2: 3 MB strings (above max_payload) arrive intact", async () => {
  const r = await submit("big");
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /FINISHED/);
});

test.run();
