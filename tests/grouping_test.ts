// Stream groupings: compiled routes (engine/groupings.ts), the fields hash, and groupings end to end.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseRichSpout,
  type CustomStreamGrouping,
  EmitError,
  Fields,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  TopologyBuilder,
  type TopologyConfig,
  TopologyContext,
} from "../mod.ts";
import { compileRoutes } from "../engine/groupings.ts";
import { hashFields } from "../topology/fields_hash.ts";
import type { StormTopology } from "../topology/topology.ts";
import { finished, numberSpout, richBolt, runTopology, spoutLog } from "./fixtures/engine_components.ts";

/** A spout that declares its outputs and never emits (for compiled-route tests). */
function quietSpout(fields: string[], direct = false, streams: Record<string, string[]> = {}) {
  return () =>
    new (class extends BaseRichSpout {
      nextTuple() {}
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(direct, fields);
        for (const [s, f] of Object.entries(streams)) d.declareStream(s, f);
      }
    })();
}
const sink = () => richBolt((self, t) => self.collector.ack(t));

function routesOf(topology: StormTopology, task: number, taskContainer: (t: number) => number = () => 0) {
  return compileRoutes(task, {
    topology,
    taskContainer,
    context: new TopologyContext(topology, "g", task, taskContainer(task), taskContainer),
  });
}

function select(route: { select(v: readonly unknown[], out: number[]): number }, values: unknown[]): number[] {
  const out: number[] = [];
  const n = route.select(values, out);
  return out.slice(0, n);
}

function counts(tasks: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of tasks) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

const maxLoadRatio = (loads: number[]): number =>
  Math.max(...loads) / (loads.reduce((a, b) => a + b, 0) / loads.length);

// ---------------------------------------------------------------- fields hash

test("hashFields: known values are stable (same on every runtime and run)", () => {
  const cases: Array<[unknown[], number[], number]> = [
    [["the"], [0], 1219347529],
    [[""], [0], 1647799542],
    [["héllo wörld"], [0], 4036440206],
    [[42], [0], 3336608932],
    [[-1.5], [0], 2856365304],
    [[true], [0], 126653903],
    [[null], [0], 2424017849],
    [[[1, "a"]], [0], 1933931447],
    [[new Uint8Array([1, 2, 3])], [0], 261131737],
    [[{ b: 1, a: "x" }], [0], 1796227465],
    [[new Map([["k", 1]])], [0], 1367804071],
    [["the", 7], [0, 1], 3978460032],
  ];
  for (const [values, idx, want] of cases) {
    assert.is(hashFields(values, idx), want, `hash of ${String(values[0])}`);
  }
});

test("hashFields: selects only the given fields; objects hash by content, key order aside", () => {
  assert.is(hashFields(["the", 1], [0]), hashFields(["the", 2], [0]));
  assert.is(hashFields([1, "the"], [1]), hashFields(["the"], [0]));
  assert.is.not(hashFields(["a", "b"], [0, 1]), hashFields(["b", "a"], [0, 1]));
  assert.is(hashFields([{ a: 1, b: [2] }], [0]), hashFields([{ b: [2], a: 1 }], [0]));
  assert.is(hashFields([new Date(5)], [0]), hashFields([new Date(5)], [0]));
  for (let i = 0; i < 100; i++) {
    const h = hashFields([`k${i}`], [0]);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
  }
});

test("hashFields: keys spread evenly over tasks", () => {
  const loads = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) loads[hashFields([`word-${i}`], [0]) % 7]++;
  assert.ok(maxLoadRatio(loads) < 1.1, `loads ${loads}`);
});

// ---------------------------------------------------------------- compiled routes

test("shuffle: balanced over the subscriber's tasks", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["n"]));
  b.setBolt("t", sink(), 5).shuffleGrouping("s");
  const topo = b.createTopology();
  const spoutTask = topo.componentTasks.get("s")![0]!;
  const route = routesOf(topo, spoutTask).get("default")!;
  const picked: number[] = [];
  for (let i = 0; i < 10_000; i++) picked.push(...select(route, [i]));
  const c = counts(picked);
  assert.equal([...c.keys()].sort(), [...topo.componentTasks.get("t")!]);
  for (const n of c.values()) assert.ok(n > 1600 && n < 2400, `loads ${[...c.values()]}`);
});

test("fields: same key → same task, across two compiled routes and two source tasks", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["word", "n"]), 2);
  b.setBolt("count", sink(), 6).fieldsGrouping("s", new Fields("word"));
  const topo = b.createTopology();
  const [s1, s2] = topo.componentTasks.get("s")!;
  const r1 = routesOf(topo, s1!).get("default")!;
  const r2 = routesOf(topo, s2!).get("default")!;
  const r1again = routesOf(topo, s1!).get("default")!;
  const byWord = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const w = `w${i % 300}`;
    const [a] = select(r1, [w, i]);
    const [b2] = select(r2, [w, i * 7]);
    const [c] = select(r1again, [w, -i]);
    assert.is(a, b2);
    assert.is(a, c);
    if (byWord.has(w)) assert.is(byWord.get(w), a);
    byWord.set(w, a!);
  }
  // the task is hash % tasks over the component's tasks
  const tasks = topo.componentTasks.get("count")!;
  for (const [w, t] of byWord) assert.is(t, tasks[hashFields([w], [0]) % tasks.length]);
  assert.is(new Set(byWord.values()).size, 6, "300 keys reach every task");
});

test("fields grouping on a field that is not first uses that field's index", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["n", "word"]));
  b.setBolt("count", sink(), 4).fieldsGrouping("s", ["word"]);
  const topo = b.createTopology();
  const r = routesOf(topo, topo.componentTasks.get("s")![0]!).get("default")!;
  const tasks = topo.componentTasks.get("count")!;
  for (const w of ["a", "b", "c", "d", "e"]) {
    assert.equal(select(r, [1, w]), [tasks[hashFields([w], [0]) % 4]]);
    assert.equal(select(r, [99, w]), select(r, [1, w]));
  }
});

test("all, global (lowest task), none, and several subscribers of one stream", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["n"]));
  b.setBolt("everyone", sink(), 3).allGrouping("s");
  b.setBolt("leader", sink(), 4).globalGrouping("s");
  b.setBolt("anyone", sink(), 2).noneGrouping("s");
  const topo = b.createTopology();
  const r = routesOf(topo, topo.componentTasks.get("s")![0]!).get("default")!;
  const everyone = topo.componentTasks.get("everyone")!;
  const leader = Math.min(...topo.componentTasks.get("leader")!);
  const anyone = topo.componentTasks.get("anyone")!;
  const noneSeen = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const out = select(r, [i]);
    assert.is(out.length, 3 + 1 + 1);
    for (const t of everyone) assert.ok(out.includes(t), `all reaches task ${t}`);
    assert.ok(out.includes(leader));
    assert.not.ok(topo.componentTasks.get("leader")!.some((t) => t !== leader && out.includes(t)));
    const n = out.filter((t) => anyone.includes(t));
    assert.is(n.length, 1);
    noneSeen.add(n[0]!);
  }
  assert.is(noneSeen.size, 2, "none grouping spreads like shuffle");
});

test("localOrShuffle: prefers tasks in the same container, else all", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["n"]), 2);
  b.setBolt("t", sink(), 6).localOrShuffleGrouping("s");
  b.setBolt("u", sink(), 2).localOrShuffleGrouping("s");
  const topo = b.createTopology();
  const [s1, s2] = topo.componentTasks.get("s")!;
  const t = topo.componentTasks.get("t")!;
  const u = topo.componentTasks.get("u")!;
  // s1 with t[0..2] in container 0; s2 and t[3..5] in container 1; u all in container 2
  const where = (task: number) =>
    task === s1 || t.indexOf(task) >= 0 && t.indexOf(task) < 3 ? 0 : u.includes(task) ? 2 : 1;
  for (const [src, local] of [[s1!, t.slice(0, 3)], [s2!, t.slice(3)]] as const) {
    const r = routesOf(topo, src, where).get("default")!;
    const seenT = new Set<number>();
    const seenU = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const out = select(r, [i]);
      for (const x of out) (t.includes(x) ? seenT : seenU).add(x);
    }
    assert.equal([...seenT].sort((a, b) => a - b), [...local]);
    assert.equal([...seenU].sort((a, b) => a - b), [...u], "no local task of u: every task of u");
  }
  // embedded (one container): like shuffle over every task
  const r = routesOf(topo, s1!).get("default")!;
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) for (const x of select(r, [i])) if (t.includes(x)) seen.add(x);
  assert.is(seen.size, 6);
});

test("partialKey: a skewed key distribution spreads better than fields grouping", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["key"]));
  b.setBolt("byField", sink(), 8).fieldsGrouping("s", ["key"]);
  b.setBolt("byPartial", sink(), 8).partialKeyGrouping("s", ["key"]);
  const topo = b.createTopology();
  const r = routesOf(topo, topo.componentTasks.get("s")![0]!).get("default")!;
  const fieldTasks = topo.componentTasks.get("byField")!;
  const partialTasks = topo.componentTasks.get("byPartial")!;
  const fieldLoad = new Map<number, number>(fieldTasks.map((t) => [t, 0]));
  const partialLoad = new Map<number, number>(partialTasks.map((t) => [t, 0]));
  const keyTasks = new Map<string, Set<number>>();
  // Zipf-like: key k with weight 1/(k+1), 200 keys
  const weights = Array.from({ length: 200 }, (_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let rnd = 12345;
  const random = () => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 40_000; i++) {
    let x = random() * total;
    let k = 0;
    while (k < 199 && (x -= weights[k]!) > 0) k++;
    const key = `key-${k}`;
    for (const t of select(r, [key])) {
      if (fieldLoad.has(t)) fieldLoad.set(t, fieldLoad.get(t)! + 1);
      else {
        partialLoad.set(t, partialLoad.get(t)! + 1);
        let s = keyTasks.get(key);
        if (!s) keyTasks.set(key, s = new Set());
        s.add(t);
      }
    }
  }
  const fr = maxLoadRatio([...fieldLoad.values()]);
  const pr = maxLoadRatio([...partialLoad.values()]);
  assert.ok(pr < fr, `partial-key max/mean ${pr.toFixed(2)} vs fields ${fr.toFixed(2)}`);
  assert.ok(pr < 1.5, `partial-key max/mean ${pr.toFixed(2)}`);
  for (const [k, s] of keyTasks) assert.ok(s.size <= 2, `key ${k} went to ${s.size} tasks`);
  assert.is(keyTasks.get("key-0")!.size, 2, "the hot key is split over its two candidates");
});

test("custom grouping: prepare gets the targets; chooseTasks picks; invalid task → clear error", () => {
  const prepared: Array<{ stream: { componentId: string; streamId: string }; targets: readonly number[] }> = [];
  const evenOdd: CustomStreamGrouping = {
    prepare(_ctx, stream, targets) {
      prepared.push({ stream, targets });
    },
    chooseTasks(_task, values) {
      const n = values[0] as number;
      return n < 0 ? [999] : [prepared[0]!.targets[n % 2]!];
    },
  };
  const b = new TopologyBuilder();
  b.setSpout("s", quietSpout(["n"]));
  b.setBolt("c", sink(), 2).customGrouping("s", evenOdd);
  const topo = b.createTopology();
  const r = routesOf(topo, topo.componentTasks.get("s")![0]!).get("default")!;
  const tasks = topo.componentTasks.get("c")!;
  assert.equal(prepared[0]!.stream, { componentId: "s", streamId: "default" });
  assert.equal([...prepared[0]!.targets], [...tasks]);
  assert.equal(select(r, [4]), [tasks[0]]);
  assert.equal(select(r, [5]), [tasks[1]]);
  try {
    select(r, [-1]);
    assert.unreachable("invalid task accepted");
  } catch (e) {
    assert.instance(e, EmitError);
    assert.match((e as Error).message, "999");
    assert.match((e as Error).message, '"c"');
  }
});

// ---------------------------------------------------------------- end to end

/** A bolt recording which of its tasks received which values. */
function recordingBolt(seen: Array<[number, unknown[]]>) {
  return richBolt((self, t) => {
    seen.push([self.context.getThisTaskId(), t.getValues()]);
    self.collector.ack(t);
  });
}

test("end to end: shuffle, fields, all and global deliver as routed", async () => {
  const N = 2000;
  const log = spoutLog();
  const shuffled: Array<[number, unknown[]]> = [];
  const keyed: Array<[number, unknown[]]> = [];
  const broadcast: Array<[number, unknown[]]> = [];
  const global: Array<[number, unknown[]]> = [];
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: 16 }), 2);
  b.setBolt("shuffled", recordingBolt(shuffled), 4).shuffleGrouping("numbers");
  b.setBolt("keyed", recordingBolt(keyed), 3).fieldsGrouping("numbers", ["n"]);
  b.setBolt("broadcast", recordingBolt(broadcast), 3).allGrouping("numbers");
  b.setBolt("global", recordingBolt(global), 3).globalGrouping("numbers");
  const topo = b.createTopology();
  const s = finished(await runTopology(topo));
  assert.is(log.acked.size, N);
  assert.is(s.stats.failed, 0);
  // shuffle: each tuple once, balanced
  assert.is(shuffled.length, N);
  const sc = counts(shuffled.map(([t]) => t));
  assert.is(sc.size, 4);
  for (const n of sc.values()) assert.ok(n > N / 4 * 0.7 && n < N / 4 * 1.3, `shuffle loads ${[...sc.values()]}`);
  // fields: key → its hashed task
  const kt = topo.componentTasks.get("keyed")!;
  assert.is(keyed.length, N);
  for (const [t, v] of keyed) assert.is(t, kt[hashFields(v, [0]) % kt.length]);
  // all: every task gets every tuple
  assert.is(broadcast.length, 3 * N);
  for (const n of counts(broadcast.map(([t]) => t)).values()) assert.is(n, N);
  // global: only the lowest task
  assert.is(global.length, N);
  const lowest = Math.min(...topo.componentTasks.get("global")!);
  assert.ok(global.every(([t]) => t === lowest));
});

/** A spout emitting on a direct stream: emitDirect to `pick(i, targets)`, or plain emit when `plain`. */
function directSpout(
  n: number,
  acked: Set<number>,
  pick: (i: number, targets: readonly number[]) => number,
  plain = false,
) {
  return () =>
    new (class extends BaseRichSpout {
      c!: SpoutOutputCollector;
      i = 0;
      targets: readonly number[] = [];
      override open(_conf: TopologyConfig, ctx: TopologyContext, c: SpoutOutputCollector) {
        this.c = c;
        this.targets = ctx.getComponentTasks("direct-sink");
      }
      nextTuple() {
        if (this.i >= n) return this.c.finish();
        const i = this.i++;
        if (plain) this.c.emit("d", [i], i);
        else this.c.emitDirect(pick(i, this.targets), "d", [i], i);
      }
      override ack(id: unknown) {
        acked.add(id as number);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declareStream("d", true, ["n"]);
      }
    })();
}

test("direct grouping: emitDirect reaches exactly the chosen task", async () => {
  const seen: Array<[number, unknown[]]> = [];
  const acked = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout("src", directSpout(300, acked, (i, targets) => targets[i % 3]!));
  b.setBolt("direct-sink", recordingBolt(seen), 3).directGrouping("src", "d");
  const topo = b.createTopology();
  finished(await runTopology(topo));
  const targets = topo.componentTasks.get("direct-sink")!;
  assert.is(seen.length, 300);
  for (const [t, v] of seen) assert.is(t, targets[(v[0] as number) % 3]);
  assert.is(acked.size, 300);
});

test("direct grouping from a bolt (emitDirect anchored)", async () => {
  const seen: Array<[number, unknown[]]> = [];
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(200, log), 1);
  b.setBolt(
    "router",
    richBolt((self, t) => {
      const targets = self.context.getComponentTasks("direct-sink");
      const n = t.getInteger(0);
      self.collector.emitDirect(targets[n % targets.length]!, "d", t, [n]);
      self.collector.ack(t);
    }, { directStreams: { d: ["n"] } }),
    2,
  ).shuffleGrouping("numbers");
  b.setBolt("direct-sink", recordingBolt(seen), 4).directGrouping("router", "d");
  const topo = b.createTopology();
  finished(await runTopology(topo));
  const targets = topo.componentTasks.get("direct-sink")!;
  assert.is(seen.length, 200);
  for (const [t, v] of seen) assert.is(t, targets[(v[0] as number) % 4]);
  assert.is(log.acked.size, 200);
});

test("emitDirect to a task that does not subscribe fails the run with an EmitError", async () => {
  // task ids follow component-id order: "direct-sink" has tasks 1 and 2, "src" task 3
  const notSubscriber = 3;
  const b2 = new TopologyBuilder();
  b2.setSpout("src", directSpout(10, new Set(), () => notSubscriber));
  b2.setBolt("direct-sink", recordingBolt([]), 2).directGrouping("src", "d");
  assert.equal(b2.createTopology().componentTasks.get("src"), [notSubscriber]);
  const r = await runTopology(b2.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  const e = r.error as EmitError;
  assert.is(e.code, "BAD_DIRECT_TASK");
  assert.match(e.message, '"src"');
  assert.match(e.message, '"d"');
  assert.match(e.message, `task ${notSubscriber}`);
});

test("emit (not emitDirect) on a direct stream fails the run with an EmitError", async () => {
  const b = new TopologyBuilder();
  b.setSpout("src", directSpout(10, new Set(), () => 0, true));
  b.setBolt("direct-sink", recordingBolt([]), 2).directGrouping("src", "d");
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  assert.is((r.error as EmitError).code, "DIRECT_STREAM");
  assert.match((r.error as Error).message, '"src"');
  assert.match((r.error as Error).message, '"d"');
  assert.match((r.error as Error).message, "emitDirect");
});

test("emitDirect on a stream that is not direct fails the run with an EmitError", async () => {
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(10, spoutLog()), 1);
  b.setBolt(
    "router",
    richBolt((self, t) => {
      self.collector.emitDirect(self.context.getComponentTasks("after")[0]!, t, [1]);
    }, { fields: ["x"] }),
    1,
  ).shuffleGrouping("numbers");
  b.setBolt("after", sink(), 1).shuffleGrouping("router");
  const r = await runTopology(b.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  assert.is((r.error as EmitError).code, "NOT_DIRECT");
  assert.match((r.error as Error).message, '"router"');
});

test("end to end: custom grouping routes; an invalid choice fails the run clearly", async () => {
  const seen: Array<[number, unknown[]]> = [];
  const log = spoutLog();
  let targets: readonly number[] = [];
  const mod3: CustomStreamGrouping = {
    prepare(_c, _s, t) {
      targets = t;
    },
    chooseTasks(_task, values) {
      return [targets[(values[0] as number) % targets.length]!];
    },
  };
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(300, log), 1);
  b.setBolt("custom", recordingBolt(seen), 3).customGrouping("numbers", mod3);
  finished(await runTopology(b.createTopology()));
  assert.is(seen.length, 300);
  for (const [t, v] of seen) assert.is(t, targets[(v[0] as number) % 3]);

  const bad: CustomStreamGrouping = { prepare() {}, chooseTasks: () => [12345] };
  const b2 = new TopologyBuilder();
  b2.setSpout("numbers", numberSpout(300, spoutLog()), 1);
  b2.setBolt("custom", recordingBolt([]), 3).customGrouping("numbers", bad);
  const r = await runTopology(b2.createTopology(), {}, { timeoutMs: 5000 });
  assert.instance(r.error, EmitError);
  assert.is((r.error as EmitError).code, "BAD_CUSTOM_GROUPING");
  assert.match((r.error as Error).message, "12345");
  assert.match((r.error as Error).message, '"custom"');
  assert.match((r.error as Error).message, '"numbers"');
});

test("end to end: partialKey keeps every key on at most two tasks", async () => {
  const seen: Array<[number, unknown[]]> = [];
  const b = new TopologyBuilder();
  const keys = Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? "hot" : `k${i % 50}`));
  b.setSpout("keys", () =>
    new (class extends BaseRichSpout {
      c!: SpoutOutputCollector;
      i = 0;
      override open(_a: TopologyConfig, _b: TopologyContext, c: SpoutOutputCollector) {
        this.c = c;
      }
      nextTuple() {
        if (this.i >= keys.length) return this.c.finish();
        this.c.emit([keys[this.i]], this.i++);
      }
      declareOutputFields(d: OutputFieldsDeclarer) {
        d.declare(["key"]);
      }
    })());
  b.setBolt("pk", recordingBolt(seen), 4).partialKeyGrouping("keys", ["key"]);
  finished(await runTopology(b.createTopology()));
  assert.is(seen.length, keys.length);
  const tasksOf = new Map<string, Set<number>>();
  for (const [t, v] of seen) {
    const k = v[0] as string;
    if (!tasksOf.has(k)) tasksOf.set(k, new Set());
    tasksOf.get(k)!.add(t);
  }
  for (const [k, s] of tasksOf) assert.ok(s.size <= 2, `${k}: ${s.size} tasks`);
  const hot = counts(seen.filter(([, v]) => v[0] === "hot").map(([t]) => t));
  assert.is(hot.size, 2);
  for (const n of hot.values()) assert.ok(n > 1500 * 0.35, `hot key split ${[...hot.values()]}`);
});

test.run();
