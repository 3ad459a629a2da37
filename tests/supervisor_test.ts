// Supervision: the RestartPolicy unit, and crashing bolts and spouts end to end.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  BaseRichBolt,
  BaseRichSpout,
  ComponentFailedError,
  type OutputFieldsDeclarer,
  TopologyBuilder,
} from "../mod.ts";
import { RestartPolicy, type RestartSettings } from "../actors/supervisor.ts";
import { finished, numberSpout, richBolt, runTopology, spoutLog } from "./fixtures/engine_components.ts";
import { sleep } from "../testing/wait.ts";

const settings = (o: Partial<RestartSettings> = {}): RestartSettings => ({
  maxConsecutive: 100,
  maxRestarts: 1000,
  windowMs: 60_000,
  maxFailureRatio: 0.5,
  backoffInitialMs: 10,
  backoffMaxMs: 100,
  ...o,
});

function delays(p: RestartPolicy, n: number, now = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = p.onFailure(now);
    if (!d.restart) throw new Error(`gave up: ${d.reason}`);
    out.push(d.delayMs);
  }
  return out;
}

test("RestartPolicy: first restart is immediate, then exponential backoff, capped", () => {
  const p = new RestartPolicy(settings());
  assert.equal(delays(p, 7), [0, 10, 20, 40, 80, 100, 100]);
  assert.is(p.restarts, 7);
  assert.is(p.consecutive, 7);
});

test("RestartPolicy: a success resets the backoff", () => {
  const p = new RestartPolicy(settings());
  assert.equal(delays(p, 4), [0, 10, 20, 40]);
  p.onSuccess(1);
  assert.is(p.consecutive, 0);
  assert.equal(delays(p, 3), [0, 10, 20]);
  p.onSuccess(0); // zero successes change nothing
  assert.equal(delays(p, 1), [40]);
});

test("RestartPolicy: consecutive budget", () => {
  const p = new RestartPolicy(settings({ maxConsecutive: 3 }));
  assert.ok(p.onFailure(0).restart);
  assert.ok(p.onFailure(0).restart);
  const d = p.onFailure(0);
  assert.is(d.restart, false);
  if (!d.restart) assert.match(d.reason, "3 times in a row");
  // a success in between keeps it going
  const q = new RestartPolicy(settings({ maxConsecutive: 3 }));
  for (let i = 0; i < 50; i++) {
    assert.ok(q.onFailure(i).restart);
    assert.ok(q.onFailure(i).restart);
    q.onSuccess(1);
  }
});

test("RestartPolicy: window ratio budget", () => {
  // 5 restarts in the window with ≥ 50% failures: give up
  const p = new RestartPolicy(settings({ maxRestarts: 5, windowMs: 1000, maxFailureRatio: 0.5 }));
  let gaveUp = -1;
  for (let i = 0; i < 20; i++) {
    const d = p.onFailure(i);
    p.onSuccess(1);
    if (!d.restart) {
      gaveUp = i;
      assert.match(d.reason, "within 1 s");
      break;
    }
  }
  assert.is(gaveUp, 4, "the 5th failure of 9 attempts (ratio ≥ 0.5) exhausts the budget");

  // the same failures among many successes are fine
  const q = new RestartPolicy(settings({ maxRestarts: 5, windowMs: 1000, maxFailureRatio: 0.5 }));
  for (let i = 0; i < 100; i++) {
    q.onSuccess(10);
    assert.ok(q.onFailure(i).restart, `failure ${i}`);
  }

  // a fresh window forgets old failures
  const r = new RestartPolicy(settings({ maxRestarts: 3, windowMs: 100, maxFailureRatio: 0.5 }));
  for (let w = 0; w < 10; w++) {
    const t = w * 1000;
    assert.ok(r.onFailure(t).restart);
    r.onSuccess(1);
    assert.ok(r.onFailure(t + 1).restart);
    r.onSuccess(1);
  }
});

test("a bolt that throws on ~1% of tuples: every tuple processed, restarts > 0", async () => {
  const N = 3000;
  const log = spoutLog();
  const thrown = new Set<number>();
  const processed = new Set<number>();
  const counter = { instances: 0 };
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: 16 }), 2);
  b.setBolt(
    "flaky",
    richBolt((self, t) => {
      const n = t.getInteger(0);
      if (n % 100 === 37 && !thrown.has(n)) {
        thrown.add(n);
        throw new Error(`flaky on ${n}`);
      }
      processed.add(n);
      self.collector.ack(t);
    }, { counter }),
    3,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), { "topology.reliability.mode": "ATLEAST_ONCE" });
  const s = finished(r);
  assert.is(processed.size, N, "every tuple processed");
  assert.is(log.acked.size, N, "every tree acked");
  assert.is(thrown.size, N / 100);
  assert.ok(s.stats.restarts > 0, `restarts ${s.stats.restarts}`);
  assert.is(s.stats.components.flaky!.restarts, N / 100);
  assert.ok(counter.instances > 3, `bolt instances ${counter.instances}`);
  assert.ok(log.failed.length >= N / 100, `failed ${log.failed.length}`);
  for (const n of thrown) assert.ok(log.failed.includes(n), `tuple ${n} that crashed the bolt was failed`);
  assert.ok(r.logs.some((l) => l.includes("flaky on")), "crash logged");
});

test("a bolt that always throws: done rejects with ComponentFailedError naming it, quickly", async () => {
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(1_000_000, log), 1);
  b.setBolt(
    "always-throws",
    richBolt(() => {
      throw new Error("no good");
    }),
    2,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), {
    "topology.supervisor.max.consecutive.failures": 3,
    "topology.supervisor.backoff.initial.ms": 1,
    "topology.supervisor.backoff.max.ms": 5,
  }, { timeoutMs: 10_000 });
  assert.ok(r.error, "the run must fail");
  assert.instance(r.error, ComponentFailedError);
  const e = r.error as ComponentFailedError;
  assert.match(e.message, "always-throws");
  assert.match(e.message, "no good");
  assert.is(e.component, "always-throws");
  assert.is(e.code, "COMPONENT_FAILED");
  assert.ok(r.ms < 5000, `gave up after ${Math.round(r.ms)} ms`);
});

test("an async execute that rejects is handled the same way", async () => {
  const log = spoutLog();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(1_000_000, log), 1);
  b.setBolt(
    "async-rejects",
    richBolt(async () => {
      await sleep(0);
      throw new Error("async no good");
    }),
    1,
  ).shuffleGrouping("numbers");
  const r = await runTopology(b.createTopology(), {
    "topology.supervisor.max.consecutive.failures": 3,
    "topology.supervisor.backoff.initial.ms": 1,
    "topology.supervisor.backoff.max.ms": 5,
  }, { timeoutMs: 10_000 });
  assert.instance(r.error, ComponentFailedError);
  assert.match((r.error as Error).message, "async-rejects");
  assert.match((r.error as Error).message, "async no good");
  assert.ok(r.ms < 5000, `gave up after ${Math.round(r.ms)} ms`);
});

test("an async execute that sometimes rejects: restarts, every tuple processed", async () => {
  const N = 500;
  const log = spoutLog();
  const thrown = new Set<number>();
  const processed = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout("numbers", numberSpout(N, log, { batch: 8 }), 1);
  b.setBolt(
    "async-flaky",
    richBolt(async (self, t) => {
      await Promise.resolve();
      const n = t.getInteger(0);
      if (n % 50 === 3 && !thrown.has(n)) {
        thrown.add(n);
        throw new Error(`async flaky on ${n}`);
      }
      processed.add(n);
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("numbers");
  const s = finished(await runTopology(b.createTopology(), {}));
  assert.is(processed.size, N);
  assert.is(log.acked.size, N);
  assert.is(s.stats.components["async-flaky"]!.restarts, N / 50);
});

test("a crashing spout restarts and its pending tuples are failed into the new instance", async () => {
  const N = 400;
  const log = spoutLog();
  const cursor = { next: 0 };
  let crashedAt = -1;
  const processed = new Set<number>();
  const b = new TopologyBuilder();
  b.setSpout(
    "crashy",
    numberSpout(N, log, {
      cursor,
      batch: 4,
      beforeEmit: (i, instance) => {
        if (i === 100 && instance === 1) {
          crashedAt = i;
          throw new Error("spout crash");
        }
      },
    }),
    1,
  );
  // hold every tuple a little so that the spout has trees pending when it crashes
  b.setBolt(
    "sink",
    richBolt(async (self, t) => {
      await sleep(0);
      processed.add(t.getInteger(0));
      self.collector.ack(t);
    }),
    2,
  ).shuffleGrouping("crashy");
  const s = finished(await runTopology(b.createTopology(), {}));
  assert.is(crashedAt, 100);
  assert.is(log.opens, 2, "one restart");
  assert.is(s.stats.components.crashy!.restarts, 1);
  const firstFails = log.failsByInstance.get(1) ?? [];
  const secondFails = log.failsByInstance.get(2) ?? [];
  assert.is(firstFails.length, 0, "the dead instance gets no fail calls");
  assert.ok(secondFails.length > 0, "pending trees were failed into the new instance");
  for (const id of secondFails) assert.ok(id < 100, `failed id ${id} was emitted before the crash`);
  assert.is(log.acked.size, N, "every tuple acked in the end");
  assert.is(processed.size, N);
});

test("a run that ends while a prepare or open is still pending cleans that instance up once it is ready", async () => {
  // A connection opened by a slow prepare/open must not outlive the run (it
  // used to: cleanup ran before prepare had made it, then nothing closed it).
  const events: string[] = [];
  class SlowBolt extends BaseRichBolt {
    override async prepare() {
      await sleep(300);
      events.push("bolt prepared");
    }
    execute() {}
    override cleanup() {
      events.push("bolt cleaned up");
    }
    declareOutputFields() {}
  }
  class SlowSpout extends BaseRichSpout {
    override async open() {
      await sleep(300);
      events.push("spout opened");
    }
    nextTuple() {}
    override close() {
      events.push("spout closed");
    }
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(["n"]);
    }
  }
  class FailingSpout extends BaseRichSpout {
    override async open() {
      await sleep(50);
      throw new Error("cannot open");
    }
    nextTuple() {}
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(["n"]);
    }
  }
  const b = new TopologyBuilder();
  b.setSpout("fails", new FailingSpout(), 1);
  b.setSpout("slow", new SlowSpout(), 1);
  b.setBolt("slow-bolt", new SlowBolt(), 1).shuffleGrouping("fails").shuffleGrouping("slow");
  const r = await runTopology(b.createTopology(), { "topology.supervisor.max.consecutive.failures": 1 }, {
    timeoutMs: 10_000,
  });
  assert.instance(r.error, ComponentFailedError);
  await sleep(400);
  assert.equal(events.filter((e) => e.startsWith("bolt")), ["bolt prepared", "bolt cleaned up"]);
  assert.equal(events.filter((e) => e.startsWith("spout")), ["spout opened", "spout closed"]);
});

test.run();
