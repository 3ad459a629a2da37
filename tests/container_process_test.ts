// The parts of a container process (cluster/container_process/), each on
// its own: start-up retries, the generation's plan, the control messages,
// the master's rollbacks, the master's lease, what a failed generation turns
// into, the heartbeat and the console copy. No NATS, no processes; the
// whole process runs in container_script_test and the distributed suites.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { bolt, TopologyBuilder } from "../mod.ts";
import { numberSpout, spoutLog } from "./fixtures/engine_components.ts";
import { FakeClock, settle, topologyRecord } from "./fixtures/master_fakes.ts";
import {
  afterFailure,
  captureConsole,
  componentErrors,
  controlHandler,
  type ControlTarget,
  generationOf,
  heartbeatStats,
  isTransient,
  lineText,
  MASTER_GRACE_MS,
  patiently,
  ROLLBACK_WAIT_MS,
  RollbackWatch,
  watchConnection,
  watchMasterLease,
} from "../cluster/container_process/mod.ts";
import { LogRing } from "../cluster/log_ring.ts";
import { rescale } from "../cluster/packing.ts";
import { RollbackRequest, type TopologyStats } from "../engine/container.ts";
import type { SubmitRequest } from "../engine/submit.ts";
import type { Lease } from "../cluster/records.ts";
import type { ControlMessage } from "../transport/wire/mod.ts";

// ------------------------------------------------------------ start-up reads

test("isTransient: JetStream timeouts and missing responders, anywhere in the cause chain", () => {
  assert.ok(isTransient(Object.assign(new Error("x"), { code: "TIMEOUT" })));
  assert.ok(isTransient(Object.assign(new Error("x"), { code: "503" })));
  assert.ok(isTransient(new Error("no responders available")));
  assert.ok(isTransient(new Error("outer", { cause: new Error("request timed out") })));
  assert.not.ok(isTransient(new Error("permission denied")));
  assert.not.ok(isTransient(undefined));
});

test("patiently: retries a transient failure (saying so once), throws any other at once", async () => {
  const lines: string[] = [];
  let calls = 0;
  const got = await patiently("reading the record", (l) => lines.push(l), async () => {
    if (++calls < 2) throw new Error("TIMEOUT waiting for KV");
    return 42;
  });
  assert.is(got, 42);
  assert.is(calls, 2);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, "reading the record timed out (TIMEOUT waiting for KV); retrying for up to 30 s");
  calls = 0;
  const e = await patiently("x", () => {}, async () => {
    calls++;
    throw new Error("bad value");
  }).catch((x: Error) => x);
  assert.is((e as Error).message, "bad value");
  assert.is(calls, 1);
});

// ------------------------------------------------------------ plan

function request(counts: { words: number; count: number }): SubmitRequest {
  const b = new TopologyBuilder();
  b.setSpout("words", numberSpout(10, spoutLog()), counts.words);
  b.setBolt("count", bolt(() => {}), counts.count).shuffleGrouping("words");
  return { name: "plan", config: {} as SubmitRequest["config"], topology: b.createTopology(), options: {} };
}

test("generationOf: the record's packing over the script's topology, rescaled by the record's parallelism", () => {
  const req = request({ words: 1, count: 2 });
  const tasks = Object.fromEntries([...req.topology.componentTasks].map(([id, t]) => [id, [...t]]));
  const all = Object.values(tasks).flat().sort((a, b) => a - b);
  const packing = Object.fromEntries(all.map((t, i) => [String(t), i % 2]));
  const rec = { ...topologyRecord("plan", 2), packing, components: tasks };
  const g = generationOf(rec, req);
  assert.equal([...g.packing], all.map((t, i) => [t, i % 2]));
  assert.is(g.topology, req.topology, "no parallelism set: the script's topology");
  const rescaled = Object.fromEntries(
    [...rescale(req.topology, { count: 3 }).componentTasks].map(([id, t]) => [id, [...t]]),
  );
  const wider = generationOf({ ...rec, components: rescaled, parallelism: { count: 3 } }, req);
  assert.is(wider.topology.componentTasks.get("count")?.length, 3, "rescaled");
  const e = (() => {
    try {
      generationOf({ ...rec, components: { ...tasks, count: [7, 8, 9] } }, req);
    } catch (x) {
      return x as Error & { code?: string };
    }
  })();
  assert.is(e?.code, "PLAN_MISMATCH");
  assert.match(e?.message ?? "", `component "count" has tasks [${tasks.count}] here but [7,8,9] in the submitted plan`);
});

// ------------------------------------------------------------ control messages

function target() {
  const calls: string[] = [];
  const t: ControlTarget = {
    start: () => void calls.push("start"),
    setActive: (on: boolean) => void calls.push(`active ${on}`),
    drain: async (ms?: number) => (calls.push(`drain ${ms}`), undefined as never),
    beginCheckpoint: (id: number) => void calls.push(`checkpoint ${id}`),
    checkpointCommitted: (id: number) => void calls.push(`committed ${id}`),
    containerLost: (c: number) => void calls.push(`lost ${c}`),
    containerRejoined: (c: number) => void calls.push(`rejoin ${c}`),
    stop: async (
      state: string,
      error?: Error,
    ) => (calls.push(`stop ${state}${error ? `: ${error.message}` : ""}`), undefined as never),
  };
  return { calls, t };
}

test("control: each message steers the container; start only once; master-only messages do nothing", () => {
  const { calls, t } = target();
  const taps: string[] = [];
  let starting = true;
  const on = controlHandler({
    topology: "wc",
    index: 1,
    target: () => t,
    taps: { renew: (m) => void taps.push(`tap ${m.id}`), cancel: (id) => void taps.push(`untap ${id}`) },
    ownTap: false,
    onStart: () => {
      const first = starting;
      starting = false;
      return first;
    },
  });
  const messages: ControlMessage[] = [
    { type: "start" },
    { type: "start" },
    { type: "deactivate" },
    { type: "activate" },
    { type: "kill", drainMs: 500 },
    { type: "checkpoint", id: 3 },
    { type: "committed", id: 3 },
    { type: "lost", container: 0 },
    { type: "rejoin", container: 0 },
    { type: "update" },
    { type: "restart" },
    { type: "rollback", generation: 2, restoreFrom: 3 },
    { type: "bp", container: 0, on: true, leaseMs: 100, component: "x" },
    { type: "tap", id: "t1", component: "count", stream: "default", sample: 1, limit: 10, leaseMs: 1000 },
    { type: "untap", id: "t1" },
    { type: "stop", state: "FAILED" },
  ];
  for (const m of messages) on(m);
  assert.equal(calls, [
    "start",
    "active false",
    "active true",
    "drain 500",
    "checkpoint 3",
    "committed 3",
    "lost 0",
    "rejoin 0",
    'stop FAILED: topology "wc" failed in another container; container 1 stops',
  ]);
  assert.equal(taps, ["tap t1", "untap t1"]);
});

test("control: a script with a tap of its own keeps it (tap requests are not renewed)", () => {
  const { t } = target();
  const taps: string[] = [];
  const on = controlHandler({
    topology: "wc",
    index: 0,
    target: () => t,
    taps: { renew: () => void taps.push("renew"), cancel: () => void taps.push("cancel") },
    ownTap: true,
    onStart: () => true,
  });
  on({ type: "tap", id: "t1", component: "count", stream: "default", sample: 1, limit: 10, leaseMs: 1000 });
  on({ type: "stop", state: "FINISHED" });
  assert.equal(taps, []);
});

// ------------------------------------------------------------ rollbacks

function listener() {
  let deliver: ((m: ControlMessage) => void) | undefined;
  let stopped = false;
  return {
    listen: (fn: (m: ControlMessage) => void) => {
      deliver = fn;
      return () => (stopped = true);
    },
    say: (m: ControlMessage) => deliver?.(m),
    get stopped() {
      return stopped;
    },
  };
}

test("rollback watch: only rollbacks newer than the running generation count; the newest wins", async () => {
  const l = listener();
  const clock = new FakeClock();
  const w = new RollbackWatch(l.listen, 2, clock);
  l.say({ type: "rollback", generation: 2, restoreFrom: 1 });
  l.say({ type: "start" });
  assert.is(w.pending, null, "not newer than the running one");
  const next = w.next();
  l.say({ type: "rollback", generation: 4, restoreFrom: 7 });
  l.say({ type: "rollback", generation: 3, restoreFrom: 5 });
  assert.equal(await next, { generation: 4, restoreFrom: 7 });
  assert.equal(w.pending, { generation: 4, restoreFrom: 7 });
  w.running = 4;
  assert.is(w.pending, null, "running it now");
  const waiting = w.next(ROLLBACK_WAIT_MS);
  await clock.advance(ROLLBACK_WAIT_MS);
  assert.is(await waiting, null, "none came in time");
  const open = w.next();
  w.close();
  assert.is(await open, null, "close ends every wait");
  assert.ok(l.stopped);
});

test("after a failure: a rollback the master asked for, one this container asked for (within 20 s), else an exit", async () => {
  const asked = { generation: 3, restoreFrom: 2 };
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const rollback = new RollbackRequest(new Error("gap"));
  const waits: Array<number | undefined> = [];
  const watch = (answer: typeof asked | null) => ({
    next: (ms?: number) => {
      waits.push(ms);
      return Promise.resolve(answer);
    },
  });
  assert.equal(await afterFailure(rollback, { kind: "rollingBack", asked }, watch(asked), log, "c"), {
    kind: "rollback",
    ...asked,
  });
  assert.equal(await afterFailure(rollback, { kind: "running" }, watch(asked), log, "c"), {
    kind: "rollback",
    ...asked,
  });
  assert.equal(waits, [0, ROLLBACK_WAIT_MS], "asked already: no wait; asked by this container: up to 20 s");
  const none = await afterFailure(rollback, { kind: "running" }, watch(null), log, "wc container 1");
  assert.equal(none, { kind: "exit", code: 1, error: rollback });
  assert.equal(lines, ["[ardea] wc container 1: no rollback from the master within 20 s; exiting"]);
  assert.equal(await afterFailure(rollback, { kind: "orphaned" }, watch(asked), log, "c"), {
    kind: "exit",
    code: 1,
    error: rollback,
  }, "no scheduler: exit");
  assert.equal(await afterFailure(rollback, { kind: "running" }, null, log, "c"), {
    kind: "exit",
    code: 1,
    error: rollback,
  }, "not EFFECTIVELY_ONCE");
  const other = new Error("boom");
  assert.equal(await afterFailure(other, { kind: "running" }, watch(asked), log, "c"), {
    kind: "exit",
    code: 1,
    error: other,
  });
});

// ------------------------------------------------------------ the master's lease

test("master lease watch: lost only after the lease stayed expired at one revision for 30 s of readings", async () => {
  const clock = new FakeClock();
  let lease: Lease | undefined = { topology: "wc", holder: "m:1", expiresAt: clock.now() + 11_000, revision: 1 };
  let failing = false;
  const records = {
    getLease: async () => {
      if (failing) throw new Error("TIMEOUT");
      return lease;
    },
  };
  const lines: string[] = [];
  let lost = 0;
  const stop = watchMasterLease(records, "wc", (l) => lines.push(l), async () => void lost++, clock);
  await clock.advance(10_000);
  assert.equal(lines, [], "a live lease");
  await clock.advance(MASTER_GRACE_MS);
  assert.ok(lines.some((l) => l.includes("the master's lease expired (m:1); waiting up to 30 s for a master")));
  assert.is(lost, 0, "expired, but not yet for 30 s of readings");
  // A renewal (new revision) starts the clock again; so does a failed reading.
  lease = { ...lease!, revision: 2 };
  await clock.advance(20_000);
  failing = true;
  await clock.advance(5000);
  failing = false;
  await clock.advance(25_000);
  assert.is(lost, 0);
  await clock.advance(10_000);
  assert.is(lost, 1);
  stop();
  await clock.advance(60_000);
  assert.is(lost, 1, "stopped");
  assert.is(clock.pending, 0);
});

test("connection watch: one call on the first disconnect, none once the run is over", async () => {
  const statuses = (list: Array<{ type: string; data?: unknown }>) => ({
    status: () =>
      (async function* () {
        for (const s of list) yield s;
      })(),
  });
  const why: string[] = [];
  await watchConnection(
    statuses([{ type: "reconnecting" }, { type: "disconnect", data: "nats://a:4222" }, {
      type: "disconnect",
    }]) as never,
    (w) => why.push(w),
    new Promise(() => {}),
  );
  assert.equal(why, ["the NATS connection to nats://a:4222 was lost"]);
  const over = Promise.resolve();
  await settle();
  await watchConnection(statuses([{ type: "disconnect", data: "x" }]) as never, (w) => why.push(w), over);
  assert.is(why.length, 1);
});

// ------------------------------------------------------------ heartbeat and console

test("heartbeat: counters, per component errors (stuck tasks when there are), frames", () => {
  const s = {
    emitted: 5,
    executed: 4,
    acked: 3,
    failed: 1,
    timedOut: 0,
    pending: 2,
    restarts: 1,
    backpressure: true,
    backpressureMs: 12.6,
    components: {
      count: { errors: 2, restarts: 1, lastError: "boom", lastErrorAt: 7, stuckTasks: 1 },
      words: { errors: 0, restarts: 0, lastError: null },
    },
  } as unknown as TopologyStats;
  const hb = heartbeatStats(s, { dropped: 3, framesIn: 10, framesOut: 11, bytesIn: 100, bytesOut: 110 }, "count");
  assert.equal(hb, {
    emitted: 5,
    executed: 4,
    acked: 3,
    failed: 1,
    timedOut: 0,
    pending: 2,
    restarts: 1,
    backpressure: true,
    backpressureMs: 13,
    components: {
      count: { errors: 2, restarts: 1, lastError: "boom", lastErrorAt: 7, stuckTasks: 1 },
      words: { errors: 0, restarts: 0, lastError: null, lastErrorAt: null },
    },
    dropped: 3,
    backpressureBy: "count",
    framesIn: 10,
    framesOut: 11,
    bytesIn: 100,
    bytesOut: 110,
  });
  assert.equal(componentErrors(s), hb.components);
});

test("console capture: every console line is copied into the ring, still printed; restored after", () => {
  const ring = new LogRing(10);
  const printed: unknown[][] = [];
  const original = console.info;
  console.info = (...a: unknown[]) => void printed.push(a);
  try {
    const restore = captureConsole(ring);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    console.info("n", 1, { a: [1] }, new Error("e"), cyclic);
    restore();
    console.info("after");
    const lines = ring.last(50).map(([, l]) => l);
    assert.match(lines[0]!, /^n 1 \{"a":\[1\]\} Error: e$/);
    assert.match(lines.at(-1)!, /\[object Object\]$/);
    assert.not.ok(lines.some((l) => l.includes("after")), "nothing copied once restored");
    assert.is(printed.length, 2, "both printed");
  } finally {
    console.info = original;
  }
  assert.is(lineText("x"), "x");
  assert.is(lineText(undefined), "undefined");
});

test.run();
