// Stuck-task detection: an awaited execute (or prepare) that never settles is
// warned about (topology.task.stuck.warn.secs), shown in the stats, then its
// instance is restarted like a crash (topology.task.stuck.restart.secs); the
// abandoned promise's late emits are dropped. A slow execute that settles
// within the bounds is left alone.
import { NumbersSpout } from "./fixtures/numbers_spout.ts";
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseRichBolt,
  BaseRichSpout,
  BaseStatefulBolt,
  bolt,
  Fields,
  iterableSpout,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type TopologyHandle,
  type Tuple,
} from "../mod.ts";
import { parseConfig } from "../topology/config.ts";
import { ConfigError } from "../topology/errors.ts";
import { ErrorLog, metricsReport } from "../cluster/metrics_report.ts";
import { decodeMetrics, encodeMetrics } from "../transport/wire/mod.ts";
import { componentRows, liveTable, measureRates } from "../cli/live_view.ts";
import type { StatsSnapshot } from "../metrics/mod.ts";
import { serveTracker, Tracker } from "../tracker/mod.ts";
import { makeTempDir, removePath } from "../runtime/mod.ts";
import { finished, numberSpout, richBolt, runTopology, spoutLog } from "./fixtures/engine_components.ts";
import { sleep } from "../testing/wait.ts";

/** Polls `h.stats()` until the run ends; keeps the snapshots in which a task was stuck. */
function watchStuck(h: TopologyHandle, seen: StatsSnapshot[]): void {
  const timer = setInterval(() => {
    const s = h.stats();
    if (Object.values(s.tasks ?? {}).some((t) => (t.stuckMs ?? 0) > 0)) seen.push(s);
  }, 50);
  void h.done.finally(() => clearInterval(timer)).catch(() => {});
}

test("config: the stuck bounds have defaults, accept 0 (off) and refuse negative or huge values, per component too", () => {
  const c = parseConfig({});
  assert.is(c["topology.task.stuck.warn.secs"], 10);
  assert.is(c["topology.task.stuck.restart.secs"], 60);
  assert.is(parseConfig({ "topology.task.stuck.restart.secs": 0 })["topology.task.stuck.restart.secs"], 0);
  assert.throws(
    () => parseConfig({ "topology.task.stuck.warn.secs": -1 }),
    (e: unknown) => e instanceof ConfigError && /topology\.task\.stuck\.warn\.secs/.test((e as Error).message),
  );
  assert.throws(
    () => parseConfig({ "topology.task.stuck.restart.secs": 1e9 }),
    (e: unknown) => e instanceof ConfigError && /topology\.task\.stuck\.restart\.secs/.test((e as Error).message),
  );
  const b = new TopologyBuilder();
  b.setSpout("s", numberSpout(1, spoutLog()), 1);
  b.setBolt("b", richBolt(() => {}), 1).shuffleGrouping("s").addConfiguration("topology.task.stuck.restart.secs", 5);
  b.createTopology();
});

test("ATLEAST_ONCE: a never-settling execute is warned about, shown, restarted; the late settlement is dropped; exact results", async () => {
  const N = 300;
  const log = spoutLog();
  const counter = { instances: 0 };
  const counts = new Map<number, number>();
  let hung = false;
  let release: (() => void) | null = null;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: 4 }), 1);
  b.setBolt(
    "sink",
    richBolt((self, t) => {
      const n = t.getInteger(0);
      if (n === 37 && !hung) {
        hung = true;
        // Never settles by itself; the test settles it once the instance was replaced.
        return new Promise<void>((r) => (release = r)).then(() => {
          self.collector.emit(t, [n]);
          self.collector.ack(t);
        });
      }
      if (self.instance > 1 && release !== null) {
        release();
        release = null;
      }
      self.collector.emit(t, [n]);
      self.collector.ack(t);
      return Promise.resolve();
    }, { counter, fields: ["n"] }),
    1,
  ).shuffleGrouping("numbers");
  b.setBolt(
    "count",
    richBolt((self, t) => {
      const n = t.getInteger(0);
      counts.set(n, (counts.get(n) ?? 0) + 1);
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("sink");
  const seen: StatsSnapshot[] = [];
  const r = await runTopology(b.createTopology(), {
    "topology.reliability.mode": "ATLEAST_ONCE",
    "topology.message.timeout.secs": 60,
    "topology.max.spout.pending": 32,
    "topology.task.stuck.warn.secs": 0.3,
    "topology.task.stuck.restart.secs": 1.5,
  }, { timeoutMs: 20_000, onHandle: (h) => watchStuck(h, seen) });
  const s = finished(r);
  const warning = r.logs.find((l) => l.includes("(stuck?)"));
  assert.ok(warning, `a warning line; logs:\n${r.logs.join("\n")}`);
  assert.match(warning!, /topology "t": sink \(task \d+\): execute has not settled for \d+\.\d s \(stuck\?\)/);
  assert.ok(
    r.logs.some((l) => /sink \(task \d+\) crashed \(restarting\).*execute has not settled/.test(l)),
    "the restart is logged",
  );
  assert.ok(
    r.logs.some((l) => l.includes("by a crashed instance") && l.includes("dropped")),
    "the late emit was dropped",
  );
  assert.is(
    r.logs.indexOf(warning!) < r.logs.findIndex((l) => l.includes("crashed (restarting)")),
    true,
    "warned before the restart",
  );
  assert.ok(seen.length > 0, "some snapshot showed the stuck task");
  const stuck = seen[0]!;
  const task = Object.values(stuck.tasks!).find((t) => (t.stuckMs ?? 0) > 0)!;
  assert.is(task.component, "sink");
  assert.ok(task.stuckMs! >= 300, `stuckMs ${task.stuckMs}`);
  assert.is(stuck.components.sink!.stuckTasks, 1);
  assert.is(s.stats.components.sink!.restarts, 1);
  assert.is(counter.instances, 2);
  assert.ok(log.failed.includes(37), "the stuck tuple was failed and replayed");
  assert.is(log.acked.size, N, "every tree acked");
  assert.is(counts.size, N, "every number counted");
  for (const [n, k] of counts) assert.is(k, 1, `number ${n} counted once`);
  assert.is(
    s.stats.tasks![Object.keys(s.stats.tasks!).find((id) => s.stats.tasks![id]!.component === "sink")!]!.stuckMs,
    0,
    "not stuck at the end",
  );
  // The live view shows it.
  const rows = componentRows([stuck], measureRates([stuck]));
  assert.is(rows.find((x) => x.name === "sink")!.stuck, 1);
  const lines = liveTable([stuck], { ratePerSec: 0, rows, width: 200 });
  assert.match(lines[0]!, /STUCK 1 task\(s\)/);
  assert.match(lines[1]!, / stuck$/);
});

test("a prepare that never settles is restarted too, and the run finishes", async () => {
  const N = 50;
  const log = spoutLog();
  let prepares = 0;
  let executed = 0;
  class HangsOnce extends BaseRichBolt {
    c!: OutputCollector;
    override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector) {
      this.c = c;
      if (++prepares === 1) return new Promise<void>(() => {});
    }
    execute(t: Tuple) {
      executed++;
      this.c.ack(t);
    }
    declareOutputFields(_d: OutputFieldsDeclarer) {}
  }
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log), 1);
  b.setBolt("slow-start", () => new HangsOnce(), 1).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), {
    "topology.task.stuck.warn.secs": 0.2,
    "topology.task.stuck.restart.secs": 0.5,
  }, { timeoutMs: 20_000 });
  const s = finished(r);
  assert.ok(
    r.logs.some((l) => /slow-start \(task \d+\) crashed \(restarting\).*prepare has not settled/.test(l)),
    r.logs.join("\n"),
  );
  assert.is(prepares, 2);
  assert.is(s.stats.components["slow-start"]!.restarts, 1);
  assert.is(executed, N);
  assert.is(log.acked.size, N);
});

test("a spout whose async open, then async ack, never settles is restarted each time; every tree completes", async () => {
  const N = 100;
  const state = { next: 0, opens: 0 };
  const acked = new Set<number>();
  const processed = new Set<number>();
  class Hangs extends BaseRichSpout {
    c!: SpoutOutputCollector;
    instance = 0;
    replay: number[] = [];
    override open(_conf: unknown, _ctx: unknown, c: SpoutOutputCollector): void | Promise<void> {
      this.c = c;
      this.instance = ++state.opens;
      if (this.instance === 1) return new Promise<void>(() => {});
    }
    nextTuple() {
      const r = this.replay.shift();
      if (r !== undefined) return this.c.emit([r], r);
      if (state.next >= N) {
        if (acked.size === N) this.c.finish();
        return;
      }
      const i = state.next++;
      this.c.emit([i], i);
    }
    override ack(id: unknown): void | Promise<void> {
      acked.add(id as number);
      if (id === 10 && this.instance === 2) return new Promise<void>(() => {});
    }
    override fail(id: unknown) {
      this.replay.push(id as number);
    }
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(["n"]);
    }
  }
  const b = new TopologyBuilder();
  b.setSpout("hangs", () => new Hangs(), 1);
  b.setBolt(
    "sink",
    richBolt((self, t) => {
      processed.add(t.getInteger(0));
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("hangs");
  const r = await runTopology(b.createTopology(), {
    "topology.message.timeout.secs": 60,
    "topology.task.stuck.warn.secs": 0.2,
    "topology.task.stuck.restart.secs": 0.5,
  }, { timeoutMs: 20_000 });
  const s = finished(r);
  assert.ok(
    r.logs.some((l) => /hangs \(task \d+\) crashed \(restarting\).*open has not settled/.test(l)),
    r.logs.join("\n"),
  );
  assert.ok(
    r.logs.some((l) => /hangs \(task \d+\) crashed \(restarting\).*ack has not settled/.test(l)),
    r.logs.join("\n"),
  );
  assert.is(state.opens, 3);
  assert.is(s.stats.components.hangs!.restarts, 2);
  assert.is(acked.size, N);
  assert.is(processed.size, N);
});

test("an async nextTuple that waits for input longer than the bounds is not stuck", async () => {
  async function* slowly() {
    for (let i = 0; i < 3; i++) {
      await sleep(1200);
      yield i;
    }
  }
  const got: number[] = [];
  const b = new TopologyBuilder();
  b.setSpout("waits", iterableSpout(() => slowly(), { fields: ["n"] }), 1);
  b.setBolt(
    "sink",
    bolt((t) => {
      got.push(t.getInteger(0));
    }),
    1,
  ).shuffleGrouping("waits");
  const r = await runTopology(b.createTopology(), {
    "topology.task.stuck.warn.secs": 0.2,
    "topology.task.stuck.restart.secs": 0.5,
  }, { timeoutMs: 20_000 });
  const s = finished(r);
  assert.equal(got, [0, 1, 2]);
  assert.is(s.stats.restarts, 0);
  assert.ok(!r.logs.some((l) => l.includes("stuck") || l.includes("crashed")), r.logs.join("\n"));
});

test("a slow execute that settles within the bounds is neither warned about nor restarted", async () => {
  const N = 40;
  const log = spoutLog();
  const processed = new Set<number>();
  let slow = 0;
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log), 1);
  b.setBolt(
    "slow",
    richBolt(async (self, t) => {
      const n = t.getInteger(0);
      // Four calls of 0.7 s each: 2.8 s in all, each below the bounds.
      if (n % 10 === 0) {
        slow++;
        await sleep(700);
      }
      processed.add(n);
      self.collector.ack(t);
    }),
    1,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), {
    "topology.task.stuck.warn.secs": 1.5,
    "topology.task.stuck.restart.secs": 2,
  }, { timeoutMs: 20_000 });
  const s = finished(r);
  assert.is(slow, 4);
  assert.ok(!r.logs.some((l) => l.includes("stuck") || l.includes("crashed")), r.logs.join("\n"));
  assert.is(s.stats.restarts, 0);
  assert.is(processed.size, N);
  assert.is(log.acked.size, N);
});

test("restart off (0): a stuck execute is only warned about; the tracker's REST API shows stuckMs and stuckTasks", async () => {
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(5, log), 1);
  b.setBolt("hangs", richBolt(() => new Promise<void>(() => {})), 1).shuffleGrouping("numbers");
  const seen: StatsSnapshot[] = [];
  const logs: string[] = [];
  const h = await submit(
    "off",
    {
      "topology.task.stuck.warn.secs": 0.2,
      "topology.task.stuck.restart.secs": 0,
    },
    b.createTopology(),
    { handleSignals: false, log: (l) => logs.push(l) },
  );
  watchStuck(h, seen);
  const tracker = new Tracker();
  tracker.add(h);
  const server = await serveTracker(tracker, { port: 0 });
  await sleep(2500);
  const s = h.stats();
  let rest: {
    tasks: Record<string, { component: string; stuckMs?: number }>;
    components: Record<string, { stuckTasks?: number }>;
  };
  try {
    const res = await fetch(`${server.url.replace(/\/$/, "")}/api/v1/topologies/off/metrics`);
    rest = await res.json();
  } finally {
    await h.kill().catch(() => {});
    await server.close();
  }
  const restTask = Object.values(rest.tasks).find((x) => x.component === "hangs")!;
  assert.ok(restTask.stuckMs! >= 1500, `REST stuckMs ${restTask.stuckMs}`);
  assert.is(rest.components.hangs!.stuckTasks, 1);
  assert.is(s.restarts, 0);
  assert.ok(seen.length > 0);
  assert.is(logs.filter((l) => l.includes("(stuck?)")).length, 1, `warned once per call; logs:\n${logs.join("\n")}`);
  assert.not.ok(logs.some((l) => l.includes("restarted at")), "no restart announced");
  const t = Object.values(s.tasks!).find((x) => x.component === "hangs")!;
  assert.ok(t.stuckMs! >= 1500, `stuckMs ${t.stuckMs}`);
});

test("the distributed metrics report carries a task's stuckMs and a component's stuckTasks", () => {
  const st: StatsSnapshot = {
    name: "wc",
    state: "RUNNING",
    uptimeMs: 1000,
    emitted: 0,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    backpressure: false,
    backpressureEpisodes: 0,
    backpressureMs: 0,
    components: {
      split: {
        kind: "bolt",
        tasks: 1,
        emitted: 0,
        executed: 0,
        acked: 0,
        failed: 0,
        timedOut: 0,
        pending: 0,
        restarts: 0,
        errors: 0,
        lastError: null,
        completeLatencyMs: 0,
        queued: 3,
        stuckTasks: 1,
      },
    },
    tasks: {
      "3": {
        component: "split",
        kind: "bolt",
        emitted: 0,
        executed: 0,
        acked: 0,
        failed: 0,
        timedOut: 0,
        queued: 3,
        restarts: 0,
        errors: 0,
        capacity: 0,
        stuckMs: 12_345,
      },
    },
  };
  const frames = { dropped: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  const m = decodeMetrics(
    encodeMetrics(
      metricsReport({ topology: "wc", container: 0, epoch: 1, pid: 1, host: "h" }, st, frames, "", new ErrorLog()),
    ),
  );
  assert.is(m.tasks["3"]!.stuckMs, 12_345);
  assert.is((m.components.split as { stuckTasks?: number }).stuckTasks, 1);
});

// ------------------------------------------------------------ EFFECTIVELY_ONCE

const EO_N = 3000;
const eo = { hangAt: 0, seen: 0, hung: 0 };

/** Sums by key (n mod 5) in state; its execute hangs once, at the `eo.hangAt`-th call. */
class HangingSum extends BaseStatefulBolt<number, number> {
  st!: KeyValueState<number, number>;
  c!: OutputCollector;
  initState(s: KeyValueState<number, number>) {
    this.st = s;
  }
  override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(t: Tuple): void | Promise<void> {
    const n = t.getInteger(0);
    if (++eo.seen === eo.hangAt) {
      eo.hung++;
      return new Promise<void>(() => {});
    }
    this.st.put(n % 5, (this.st.get(n % 5) ?? 0) + n);
  }
  override finish() {
    for (const [k, v] of this.st.entries()) this.c.emit([k, v]);
  }
  declareOutputFields(d: { declare(f: string[]): void }) {
    d.declare(["key", "sum"]);
  }
}

test("EFFECTIVELY_ONCE: a never-settling execute rolls back like a crash, and the sums stay exact", async () => {
  const dir = await makeTempDir("ardea-stuck-");
  try {
    eo.hangAt = 1500;
    eo.seen = 0;
    eo.hung = 0;
    const out = new Map<number, number>();
    const logs: string[] = [];
    const b = new TopologyBuilder();
    b.setSpout("numbers", () => new NumbersSpout(EO_N, 10), 1);
    b.setBolt("sum", () => new HangingSum(), 1).fieldsGrouping("numbers", new Fields("n"));
    b.setBolt(
      "out",
      bolt((t) => {
        out.set(t.getInteger(0), (out.get(t.getInteger(0)) ?? 0) + t.getInteger(1));
      }),
    ).globalGrouping("sum");
    const h = await submit(
      "eo-stuck",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.stateful.checkpoint.interval.seconds": 0.05,
        "topology.task.stuck.warn.secs": 0.2,
        "topology.task.stuck.restart.secs": 0.5,
      },
      b.createTopology(),
      { handleSignals: false, log: (l) => logs.push(l) },
    );
    const summary = await h.done;
    assert.is(summary.state, "FINISHED");
    assert.is(eo.hung, 1);
    assert.ok(logs.some((l) => l.includes("execute has not settled")), logs.join("\n"));
    for (let k = 0; k < 5; k++) {
      let want = 0;
      for (let n = k; n < EO_N; n += 5) want += n;
      assert.is(out.get(k), want, `sum of key ${k}`);
    }
  } finally {
    await removePath(dir);
  }
});

test.run();
