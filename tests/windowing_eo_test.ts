// timeout: 240
// Windowed bolts under EFFECTIVELY_ONCE: the windows are part of the task's
// checkpointed state, so rollbacks (a window execute that throws, a crash
// downstream) keep every window's result exact; a stateful subclass keeps its
// own state beside them; rescaling a bolt whose windows hold tuples is refused.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseStatefulBolt,
  BaseStatefulSpout,
  BaseWindowedBolt,
  bolt,
  Count,
  Duration,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type Tuple,
  type TupleWindow,
} from "../mod.ts";
import { makeTempDir, removePath } from "../runtime/mod.ts";
import { savedWindows, tuplesHeld, WindowedBoltExecutor, WINDOWS_STATE_KEY } from "../topology/windowing/mod.ts";
import { parseConfig, type TopologyContext } from "../topology/mod.ts";
import { Fields } from "../topology/fields.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { MemoryStateBackend } from "../state/mod.ts";
import { restoreStates } from "../engine/restore.ts";
import { decodeState, encodeState, State } from "../state/keyed_state.ts";

const N = 30_000;

/** [n, ts = n] for n in 0…N-1; the position is its state. */
class Numbers extends BaseStatefulSpout<string, number> {
  st!: KeyValueState<string, number>;
  pos = 0;
  c!: SpoutOutputCollector;
  initState(s: KeyValueState<string, number>) {
    this.st = s;
    this.pos = s.get("pos") ?? 0;
  }
  override preSave() {
    this.st.put("pos", this.pos);
  }
  override open(_a: unknown, _b: unknown, c: SpoutOutputCollector) {
    this.c = c;
  }
  nextTuple() {
    if (this.pos >= N) return this.c.finish();
    for (let k = 0; k < 25 && this.pos < N; k++, this.pos++) this.c.emit([this.pos, this.pos]);
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(["n", "ts"]);
  }
}

/** Planned crashes, by the global count of windows executed (each fires once). */
const plan = { at: new Set<number>(), windows: 0, fired: 0 };

/** Sums a window; emits [window key, sum, size]; keeps how many windows it saw in its own state. */
class WindowSum extends BaseWindowedBolt {
  c!: OutputCollector;
  own!: KeyValueState<string, number>;
  constructor(readonly byEnd: boolean) {
    super();
  }
  initState(s: KeyValueState<string, number>) {
    this.own = s;
  }
  override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(w: TupleWindow) {
    const seen = ++plan.windows;
    if (plan.at.delete(seen)) {
      plan.fired++;
      throw new Error(`planned window crash at ${seen}`);
    }
    const ts = w.get();
    this.own.put("windows", (this.own.get("windows") ?? 0) + 1);
    const key = this.byEnd ? w.getEndTimestamp() : ts[0]!.getInteger(0);
    this.c.emit([key, ts.reduce((s, t) => s + t.getInteger(0), 0), ts.length]);
  }
  override finish() {
    // The subclass's own state never shows the windows' key.
    for (const [k] of this.own.entries()) if (k === WINDOWS_STATE_KEY) throw new Error("the windows key leaked");
    this.c.emit(["windows", this.own.get("windows") ?? 0, 0]);
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(["key", "sum", "size"]);
  }
}

/** Accumulates [key → sum, count] in state (a duplicate window would show), reports at the end. */
class Results extends BaseStatefulBolt<string, [number, number]> {
  st!: KeyValueState<string, [number, number]>;
  constructor(readonly out: Map<string, [number, number]>) {
    super();
  }
  initState(s: KeyValueState<string, [number, number]>) {
    this.st = s;
  }
  execute(t: Tuple) {
    const k = String(t.getValue(0));
    const [sum, n] = this.st.get(k) ?? [0, 0];
    this.st.put(k, [sum + t.getInteger(1), n + 1]);
  }
  override finish() {
    for (const [k, v] of this.st.entries()) this.out.set(k, v);
  }
  declareOutputFields() {}
}

async function run(windowed: (b: WindowSum) => BaseWindowedBolt, byEnd: boolean, crashAt: number[]) {
  plan.at = new Set(crashAt);
  plan.windows = 0;
  plan.fired = 0;
  const dir = await makeTempDir("ardea-eo-win-");
  const out = new Map<string, [number, number]>();
  let hiccups = 0;
  try {
    const b = new TopologyBuilder();
    b.setSpout("numbers", () => new Numbers(), 1);
    b.setBolt("w", () => windowed(new WindowSum(byEnd)), 1).globalGrouping("numbers");
    // A stateless relay that crashes after emitting now and then: a full rollback.
    b.setBolt(
      "relay",
      bolt((t, c) => {
        c.emit([t.getValue(0), t.getValue(1), t.getValue(2)]);
        if (++hiccups === 97) throw new Error("relay crash after emitting");
      }, { fields: ["key", "sum", "size"] }),
      1,
    ).shuffleGrouping("w");
    b.setBolt("results", () => new Results(out), 1).globalGrouping("relay");
    const h = await submit(
      "eo-windows",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.stateful.checkpoint.interval.seconds": 0.02,
      },
      b.createTopology(),
      { handleSignals: false, log: () => {} },
    );
    const summary = await h.done;
    assert.is(summary.state, "FINISHED");
    return { out, hiccups };
  } finally {
    await removePath(dir);
  }
}

test("count windows: window crashes and downstream rollbacks, every window's sum exact and counted once", async () => {
  const { out, hiccups } = await run((w) => w.withTumblingWindow(Count.of(100)), false, [40, 170, 250]);
  assert.ok(plan.fired === 3, `planned crashes fired: ${plan.fired}`);
  assert.ok(hiccups > 97, "the relay crashed too");
  for (let k = 0; k < N; k += 100) {
    const want = 100 * k + (99 * 100) / 2;
    assert.equal(out.get(String(k)), [want, 1], `window starting at ${k}`);
  }
  assert.equal(out.get("windows"), [N / 100, 1], "the bolt's own state counted each window once");
  assert.is(out.size, N / 100 + 1);
});

test("event-time sliding windows: exact through rollbacks", async () => {
  const { out } = await run(
    (w) => w.withWindow(Duration.of(200), Duration.of(100)).withTimestampField("ts").withWatermarkInterval(0),
    true,
    [30, 120],
  );
  assert.is(plan.fired, 2);
  let windows = 0;
  for (let end = 100; end <= N + 100; end += 100) {
    let want = 0;
    for (let n = Math.max(0, end - 200); n < Math.min(N, end); n++) want += n;
    assert.equal(out.get(String(end)), [want, 1], `window ending at ${end}`);
    windows++;
  }
  assert.equal(out.get("windows"), [windows, 1]);
});

test("rescaling a windowed bolt whose windows hold tuples is refused; empty windows rescale", async () => {
  const topo = (p: number) => {
    const b = new TopologyBuilder();
    b.setSpout("numbers", () => new Numbers(), 1);
    b.setBolt("w", () => new WindowSum(false).withTumblingWindow(Count.of(10)), p).shuffleGrouping("numbers");
    return b.createTopology();
  };
  const before = topo(2);
  const backend = new MemoryStateBackend();
  const saved = (entries: number) => {
    const s = new State<unknown, unknown>();
    s.put(WINDOWS_STATE_KEY, {
      v: 1,
      seq: entries,
      late: 0,
      manager: {
        entries: Array.from({ length: entries }, (_, i) => [["numbers", "default", 1, [i, i]], i, i, false]),
        nextEnd: 10,
        lastPos: entries,
        expired: [],
      },
      watermarks: null,
    });
    return encodeState(s);
  };
  const tasks = before.componentTasks.get("w")!;
  const keys = tasks.map((_, i) => `w#${i}`);
  const spoutKey = "numbers#0";
  for (const [id, k] of [[1, keys[0]!], [1, keys[1]!], [1, spoutKey]] as const) {
    await backend.save("t", id, k, k === spoutKey ? encodeState(new State()) : saved(k === keys[0] ? 4 : 0));
  }
  await backend.commit("t", 1, { tasks: [...keys, spoutKey] });
  const last = (await backend.lastCommitted("t"))!;
  const after = topo(3);
  const err = await restoreStates(backend, "t", last, after, after.taskToComponent.keys()).then(
    () => null,
    (e) => e as Error & { code?: string },
  );
  assert.ok(err !== null, "refused");
  assert.is(err!.code, "CANNOT_RESCALE_WINDOWS");
  assert.match(err!.message, /windowed bolt "w"/);

  // The same with empty windows: accepted, the new tasks start with empty windows.
  await backend.save("t", 2, keys[0]!, saved(0));
  await backend.save("t", 2, keys[1]!, saved(0));
  await backend.save("t", 2, spoutKey, encodeState(new State()));
  await backend.commit("t", 2, { tasks: [...keys, spoutKey] });
  const restored = await restoreStates(
    backend,
    "t",
    (await backend.lastCommitted("t"))!,
    after,
    after.taskToComponent.keys(),
  );
  const wKeys = [...restored.keys()].filter((k) => k.startsWith("w#"));
  assert.equal(wKeys.sort(), ["w#0", "w#1", "w#2"]);
  for (const k of wKeys) assert.not.ok(decodeState(restored.get(k)!).has(WINDOWS_STATE_KEY), k);
});

test("restore reads the windows an executor saved: held tuples refuse a rescale, the windows leave the new tasks' states", async () => {
  const b = new TopologyBuilder();
  b.setSpout("numbers", () => new Numbers(), 1);
  b.setBolt("w", () => new WindowSum(false).withTumblingWindow(Count.of(10)), 2).shuffleGrouping("numbers");
  const topology = b.createTopology();
  /** A task's state after `n` tuples and a checkpoint, written by the executor the engine runs. */
  const checkpointed = (n: number) => {
    const state = new State<unknown, unknown>();
    const x = topology.components.get("w")!.create() as WindowedBoltExecutor;
    const context = {
      getThisComponentId: () => "w",
      getThisSources: () => new Map(),
      topology,
    } as unknown as TopologyContext;
    const collector = { ack() {}, emit() {}, reportError() {} } as unknown as OutputCollector;
    x.initState(state);
    x.prepare(parseConfig({ "topology.reliability.mode": "EFFECTIVELY_ONCE" }), context, collector);
    const info = new StreamInfo("numbers", "default", new Fields(["n", "ts"]), false);
    for (let i = 0; i < n; i++) x.execute(new TupleImpl([i, i], info, 1));
    x.preSave(1);
    x.cleanup();
    assert.is(tuplesHeld(savedWindows(state)!), n % 10);
    return encodeState(state);
  };
  const backend = new MemoryStateBackend();
  let id = 0;
  const refused = async (held: number) => {
    id++;
    await backend.save("t", id, "w#0", checkpointed(20));
    await backend.save("t", id, "w#1", checkpointed(held));
    await backend.save("t", id, "numbers#0", encodeState(new State()));
    await backend.commit("t", id, { tasks: ["w#0", "w#1", "numbers#0"] });
    const three = (() => {
      const b3 = new TopologyBuilder();
      b3.setSpout("numbers", () => new Numbers(), 1);
      b3.setBolt("w", () => new WindowSum(false).withTumblingWindow(Count.of(10)), 3).shuffleGrouping("numbers");
      return b3.createTopology();
    })();
    const last = (await backend.lastCommitted("t"))!;
    return restoreStates(backend, "t", last, three, three.taskToComponent.keys()).then(
      (states) => {
        for (const [k, bytes] of states) {
          if (k.startsWith("w#")) assert.not.ok(decodeState(bytes).has(WINDOWS_STATE_KEY), k);
        }
        return null;
      },
      (e) => e as Error & { code?: string },
    );
  };
  const err = await refused(3);
  assert.is(err?.code, "CANNOT_RESCALE_WINDOWS");
  assert.match(err!.message, /windowed bolt "w" has tuples in its windows/);
  assert.is(await refused(0), null, "empty windows rescale");
});

test.run();
