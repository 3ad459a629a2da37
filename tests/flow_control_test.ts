// timeout: 240
// Flow control between containers: a spout that emits as fast as it is asked
// (container 0) feeds a slow bolt (container 1). Credits bound the bytes in
// flight to one container, so what the spout has emitted and the bolt has not
// yet executed stays bounded, however late the backpressure leases arrive.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect } from "nats";
import { ardeaRoot, runtimeName, spawnProcess } from "../runtime/mod.ts";
import { decodeMetrics, subjects } from "../transport/wire/mod.ts";
import { CREDIT_WINDOW_BYTES, StreamManager } from "../cluster/stream_manager.ts";
import { Pressure } from "../actors/mailbox.ts";
import { bolt, type OutputFieldsDeclarer, TopologyBuilder } from "../mod.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { ardeaCmd } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";

test("a flooding spout in another container: in flight stays within the credit window, and the bolt keeps working", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const args = ["submit", "tests/fixtures/dist_flood.ts", "--containers", "2", "--runtime", runtimeName(), "--wait"];
  const [cmd, argv] = ardeaCmd(args);
  const submitter = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]! },
  });
  const errLines: string[] = [];
  const reading = (async () => {
    for await (const l of submitter.lines("stderr")) errLines.push(l);
  })();
  try {
    // The newest counters of each container, from their metrics reports.
    const emitted = { value: 0 }, executed = { value: 0 }, queued = { value: 0 };
    let stalls = 0;
    let backpressured = false;
    let samples = 0;
    let worst = 0;
    const sub = nc.subscribe(subjects("dist-flood").metrics, {
      callback: (err, msg) => {
        if (err) return;
        const m = decodeMetrics(msg.data);
        const flood = m.components.flood, slow = m.components.slow;
        if (m.backpressureEpisodes > 0) backpressured = true;
        if (flood !== undefined) {
          emitted.value = flood.emitted;
          stalls = Math.max(stalls, m.creditStalls ?? 0);
        }
        if (slow !== undefined) {
          executed.value = slow.executed;
          queued.value = slow.queued;
        }
        if (emitted.value > 0 && executed.value > 0) {
          samples++;
          worst = Math.max(worst, emitted.value - executed.value);
        }
      },
    });
    const until = Date.now() + 60_000;
    // Six seconds of reports once both containers run (the bolt alone would need minutes for an unbounded backlog).
    while (Date.now() < until && samples < 12) await new Promise((r) => setTimeout(r, 250));
    sub.unsubscribe();
    assert.ok(samples >= 12, `metrics reports arrived (${samples})\n${errLines.join("\n")}`);
    // A tuple [n] is 4 to 6 bytes in a frame (its destination, then n): the window holds
    // at most some 260 k of them; add the mailbox and a report's lag.
    const bound = Math.ceil(CREDIT_WINDOW_BYTES / 4) + 40_000;
    assert.ok(worst < bound, `emitted − executed reached ${worst} (bound ${bound}); last queued ${queued.value}`);
    assert.ok(executed.value > 1000, `the bolt kept executing (${executed.value})`);
    // Leases announced in time hold the spout too; credits are what bound it when they come late.
    assert.ok(stalls > 0 || backpressured, "the spout was held back (the test is meaningful)");
  } finally {
    submitter.kill("SIGKILL");
    await submitter.exited;
    await reading.catch(() => {});
    await nc.close();
    await nats.stop();
  }
});

test("credits: a receiver over its marks withholds them, the sender holds its spouts past the window, and resumes when credited", async () => {
  const nats = await startNats({ servers: 1 });
  const nc0 = await connect({ servers: nats.urls[0] });
  const nc1 = await connect({ servers: nats.urls[0] });
  const b = new TopologyBuilder();
  b.setSpout(
    "s",
    () => ({ nextTuple() {}, open() {}, declareOutputFields: (d: OutputFieldsDeclarer) => d.declare(["text"]) }),
    1,
  );
  b.setBolt("b", bolt(() => {}), 1).shuffleGrouping("s");
  const topology = b.createTopology();
  const spoutTask = topology.componentTasks.get("s")![0]!;
  const boltTask = topology.componentTasks.get("b")![0]!;
  /** Just what a stream manager asks of its container. */
  const fake = (own: { value: boolean }) => {
    let delivered = 0;
    const pressure = new Pressure(() => {});
    return {
      pressure,
      scheduler: { now: 0 },
      get delivered() {
        return delivered;
      },
      ownPressure: () => own.value,
      localBolt: () => ({ acceptsFrom: () => true }),
      deliver: () => void delivered++,
      applyAck() {},
      setRemotePressure() {},
      fatal(e: Error) {
        throw e;
      },
      effectivelyOnce: false,
      rollback() {},
    };
  };
  const busy = { value: true };
  const sender = fake({ value: false }), receiver = fake(busy);
  const common = { topologyName: "credit", topology, onControl() {}, log() {}, epoch: 7 };
  const sm0 = new StreamManager({ ...common, nc: nc0, index: 0 });
  const sm1 = new StreamManager({ ...common, nc: nc1, index: 1 });
  sm0.attach(sender);
  sm1.attach(receiver);
  await nc0.flush();
  await nc1.flush();
  const info = new StreamInfo("s", "default", topology.components.get("s")!.streams.get("default")!.fields, false);
  const text = "x".repeat(1000);
  const wait = async (what: string, ok: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), what);
  };
  try {
    // 2 MB to container 1 while it is over its marks: no credit comes back.
    for (let i = 0; i < 2000; i++) sm0.sendTuple(1, boltTask, new TupleImpl([text], info, spoutTask));
    await new Promise((r) => setTimeout(r, 0));
    assert.is(sm0.creditBlocked, 1, "out of credit past the window");
    assert.is(sender.pressure.count, 1, "the sender's spouts are held");
    await wait("the frames arrived", () => receiver.delivered === 2000);
    await new Promise((r) => setTimeout(r, 100)); // a few credit ticks: still withheld
    assert.is(sm0.creditBlocked, 1, "no credit while the receiver is over its marks");
    busy.value = false;
    await wait("credited after the receiver drained", () => sm0.creditBlocked === 0);
    assert.is(sender.pressure.count, 0, "the spouts go again");
    assert.is(sm0.creditStalls, 1);
    // A lost receiver forgets what was in flight to it.
    busy.value = true;
    const send = async () => {
      for (let i = 0; i < 2000; i++) sm0.sendTuple(1, boltTask, new TupleImpl([text], info, spoutTask));
      await new Promise((r) => setTimeout(r, 0));
      assert.is(sm0.creditBlocked, 1);
    };
    await send();
    sm0.resetCredits(1);
    assert.is(sm0.creditBlocked, 0);
    assert.is(sender.pressure.count, 0);
    // A receiver silent for 5 s while out of credit is trusted again (frames lost in NATS are never credited).
    await send();
    await wait("trusted again after 5 s without credit", () => sm0.creditBlocked === 0);
    assert.is(sender.pressure.count, 0);
  } finally {
    await sm0.close();
    await sm1.close();
    await nc0.close();
    await nc1.close();
    await nats.stop();
  }
});

test.run();
