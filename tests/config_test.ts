// Topology configuration: parseConfig (zod schema), aliases, errors naming the key, Config setters.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { Config, ConfigError, parseConfig, submit, TopologyBuilder } from "../mod.ts";
import { bolt, iterableSpout } from "../mod.ts";
import { configWarnings, MAX_DURATION_MS, MAX_DURATION_SECS, tickIntervalMs } from "../topology/config.ts";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    return e as ConfigError;
  }
  assert.unreachable("expected a ConfigError");
  throw new Error("unreachable");
}

test("defaults", () => {
  const c = parseConfig({});
  assert.is(c["topology.reliability.mode"], "ATLEAST_ONCE");
  assert.is(c["topology.message.timeout.secs"], 30);
  assert.is(c["topology.max.spout.pending"], 1024);
  assert.is(c["topology.containers"], 1);
  assert.is(c["topology.debug"], false);
  assert.is(c["topology.mailbox.high.watermark"], 2048);
  assert.is(c["topology.mailbox.low.watermark"], undefined);
  assert.is(c["topology.testing.always.try.serialize"], false);
  assert.is(c["topology.supervisor.max.consecutive.failures"], 20);
  assert.is(c["topology.supervisor.backoff.max.ms"], 200);
  assert.is(c["topology.drain.timeout.secs"], 30);
  assert.equal(parseConfig(), c);
});

test("values are kept; undefined values fall back to the default", () => {
  const c = parseConfig({
    "topology.max.spout.pending": 5,
    "topology.message.timeout.secs": 0.5,
    "topology.debug": undefined,
  });
  assert.is(c["topology.max.spout.pending"], 5);
  assert.is(c["topology.message.timeout.secs"], 0.5);
  assert.is(c["topology.debug"], false);
});

test("aliases: topology.workers → topology.containers, executor.receive.buffer.size → high watermark", () => {
  const c = parseConfig({ "topology.workers": 3, "topology.executor.receive.buffer.size": 512 });
  assert.is(c["topology.containers"], 3);
  assert.is(c["topology.mailbox.high.watermark"], 512);
  assert.not.ok("topology.workers" in c);
  // same value on both is fine, different values are not
  assert.is(parseConfig({ "topology.workers": 2, "topology.containers": 2 })["topology.containers"], 2);
  const e = configError(() => parseConfig({ "topology.workers": 2, "topology.containers": 4 }));
  assert.is(e.key, "topology.workers");
  assert.match(e.message, "topology.containers");
  // a wrong type under the alias still names a key
  const e2 = configError(() => parseConfig({ "topology.workers": "two" }));
  assert.ok(e2.key === "topology.containers" || e2.key === "topology.workers", e2.key);
});

test("wrong types name the key", () => {
  const cases: Array<[string, unknown]> = [
    ["topology.max.spout.pending", "100"],
    ["topology.max.spout.pending", 0],
    ["topology.max.spout.pending", 1.5],
    ["topology.message.timeout.secs", -1],
    ["topology.debug", "yes"],
    ["topology.reliability.mode", "SOMETIMES"],
    ["topology.mailbox.high.watermark", null],
    ["topology.supervisor.max.failure.ratio", 2],
    ["topology.testing.always.try.serialize", 1],
    ["topology.tick.tuple.freq.secs", "1"],
  ];
  for (const [key, value] of cases) {
    const e = configError(() => parseConfig({ [key]: value }));
    assert.is(e.key, key, `${key} = ${JSON.stringify(value)}`);
    assert.is(e.code, "INVALID_CONFIG");
    assert.match(e.message, key);
  }
  // the message shows what was given
  assert.match(configError(() => parseConfig({ "topology.max.spout.pending": "100" })).message, '"100"');
});

test("a non-object config is rejected", () => {
  for (const bad of [null, 5, "x", [1]]) {
    const e = configError(() => parseConfig(bad as unknown as Record<string, unknown>));
    assert.is(e.key, "(root)");
  }
});

test("unknown keys are kept as given", () => {
  const v = { nested: [1, 2] };
  const c = parseConfig({ "my.app.key": "x", "my.obj": v, "topology.some.storm.key": 7 });
  assert.is(c["my.app.key"], "x");
  assert.equal(c["my.obj"], v);
  assert.is(c["topology.some.storm.key"], 7);
});

test("EFFECTIVELY_ONCE is accepted with its checkpoint settings; a bad mode names the key", () => {
  const c = parseConfig({ "topology.reliability.mode": "EFFECTIVELY_ONCE" });
  assert.is(c["topology.stateful.checkpoint.interval.seconds"], 1);
  assert.is(c["topology.stateful.start.clean"], false);
  const e = configError(() => parseConfig({ "topology.reliability.mode": "EXACTLY_ONCE" }));
  assert.is(e.key, "topology.reliability.mode");
  assert.match(e.message, /EFFECTIVELY_ONCE/);
});

test("low watermark ≥ high watermark is rejected", () => {
  for (const lwm of [100, 150]) {
    const e = configError(() =>
      parseConfig({ "topology.mailbox.high.watermark": 100, "topology.mailbox.low.watermark": lwm })
    );
    assert.is(e.key, "topology.mailbox.low.watermark");
    assert.match(e.message, "100");
  }
  const ok = parseConfig({ "topology.mailbox.high.watermark": 100, "topology.mailbox.low.watermark": 99 });
  assert.is(ok["topology.mailbox.low.watermark"], 99);
  // against the default high watermark too
  assert.is(
    configError(() => parseConfig({ "topology.mailbox.low.watermark": 4096 })).key,
    "topology.mailbox.low.watermark",
  );
});

test("Config class setters and constants", () => {
  const c = new Config()
    .setDebug(true)
    .setNumWorkers(2)
    .setMaxSpoutPending(77)
    .setMessageTimeoutSecs(9)
    .setTopologyReliabilityMode("ATMOST_ONCE");
  c["my.key"] = 1;
  assert.is(c[Config.TOPOLOGY_DEBUG], true);
  assert.is(c[Config.TOPOLOGY_CONTAINERS], 2);
  assert.is(c[Config.TOPOLOGY_MAX_SPOUT_PENDING], 77);
  assert.is(c[Config.TOPOLOGY_MESSAGE_TIMEOUT_SECS], 9);
  assert.is(c[Config.TOPOLOGY_RELIABILITY_MODE], "ATMOST_ONCE");
  assert.is(Config.TOPOLOGY_WORKERS, "topology.workers");
  const parsed = parseConfig(c);
  assert.is(parsed["topology.debug"], true);
  assert.is(parsed["topology.containers"], 2);
  assert.is(parsed["topology.max.spout.pending"], 77);
  assert.is(parsed["topology.message.timeout.secs"], 9);
  assert.is(parsed["topology.reliability.mode"], "ATMOST_ONCE");
  assert.is(parsed["my.key"], 1);
  // a bad value set through a setter is still caught by name
  assert.is(configError(() => parseConfig(new Config().setMaxSpoutPending(-3))).key, "topology.max.spout.pending");
});

test("tickIntervalMs: ms wins over secs; none when unset", () => {
  assert.is(tickIntervalMs({}), undefined);
  assert.is(tickIntervalMs({ "topology.tick.tuple.freq.secs": 2 }), 2000);
  assert.is(tickIntervalMs({ "topology.tick.tuple.freq.secs": 2, "topology.tick.tuple.freq.ms": 50 }), 50);
});

test("submit: a bad config throws a ConfigError before anything runs", async () => {
  const b = new TopologyBuilder();
  let opened = 0;
  b.setSpout(
    "s",
    iterableSpout(() => {
      opened++;
      return [1];
    }, { fields: ["n"] }),
  );
  b.setBolt("b", bolt(() => {}), 1).shuffleGrouping("s");
  try {
    await submit("cfg", { "topology.max.spout.pending": "lots" }, b.createTopology(), { handleSignals: false });
    assert.unreachable("submit should throw");
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as ConfigError).key, "topology.max.spout.pending");
  }
  assert.is(opened, 0);
});

test("per-component configuration: only component keys are accepted", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1], { fields: ["n"] })).setMaxSpoutPending(3);
  assert.throws(
    () => b.setBolt("b", bolt(() => {})).addConfiguration("topology.message.timeout.secs", 3),
    (e: Error) => /topology\.message\.timeout\.secs/.test(e.message) && /"b"/.test(e.message),
  );
  // non-topology keys are free
  b.setBolt("c", bolt(() => {})).addConfiguration("my.key", 1).shuffleGrouping("s");
});

test("durations are bounded to what a timer can wait (2^31-1 ms), naming the key and the range", () => {
  const secsKeys = [
    "topology.message.timeout.secs",
    "topology.tick.tuple.freq.secs",
    "topology.supervisor.restart.window.secs",
    "topology.drain.timeout.secs",
    "topology.stateful.checkpoint.interval.seconds",
  ];
  const msKeys = [
    "topology.tick.tuple.freq.ms",
    "topology.supervisor.backoff.initial.ms",
    "topology.supervisor.backoff.max.ms",
    "topology.sleep.spout.wait.strategy.time.ms",
  ];
  for (const key of secsKeys) {
    const e = configError(() => parseConfig({ [key]: 1e7 }));
    assert.is(e.key, key);
    assert.match(e.message, `must be at most ${MAX_DURATION_SECS} seconds`);
    assert.match(e.message, "24.8 days");
    assert.match(e.message, "10000000");
    // the largest allowed value passes, and becomes a timer that does not overflow
    assert.is(parseConfig({ [key]: MAX_DURATION_SECS })[key], MAX_DURATION_SECS);
    assert.ok(MAX_DURATION_SECS * 1000 <= 2 ** 31 - 1);
    configError(() => parseConfig({ [key]: Infinity }));
  }
  for (const key of msKeys) {
    const e = configError(() => parseConfig({ [key]: 2 ** 31 }));
    assert.is(e.key, key);
    assert.match(e.message, `must be at most ${MAX_DURATION_MS} ms`);
    assert.is(parseConfig({ [key]: MAX_DURATION_MS })[key], MAX_DURATION_MS);
  }
  // Storm users' large timeouts still pass: a day
  assert.is(parseConfig({ "topology.message.timeout.secs": 86_400 })["topology.message.timeout.secs"], 86_400);
});

test("per-component durations go through the same bounds (addConfiguration and getComponentConfiguration)", () => {
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1], { fields: ["n"] })).addConfiguration("topology.tick.tuple.freq.secs", 1e7);
  b.setBolt("b", bolt(() => {})).shuffleGrouping("s");
  const e = configError(() => b.createTopology());
  assert.is(e.key, "topology.tick.tuple.freq.secs");
  assert.match(e.message, /component "s"/);
  assert.match(e.message, `at most ${MAX_DURATION_SECS} seconds`);
  const b2 = new TopologyBuilder();
  b2.setSpout("s", iterableSpout(() => [1], { fields: ["n"] }));
  b2.setBolt("b", bolt(() => {})).addConfiguration("topology.tick.tuple.freq.ms", 2 ** 32).shuffleGrouping("s");
  assert.is(configError(() => b2.createTopology()).key, "topology.tick.tuple.freq.ms");
});

test("configWarnings: unknown topology.* keys warn once each, with the nearest known key; user keys do not", () => {
  const w = configWarnings({
    "topology.relability.mode": "ATMOST_ONCE",
    "topology.max.spout.pendin": 10,
    "topology.some.storm.key": 7,
    "my.app.key": 1,
    "topologyish": 2,
    "topology.reliability.mode": "ATLEAST_ONCE",
    "topology.workers": 2,
  });
  assert.is(w.length, 3, w.join("\n"));
  assert.match(w[0]!, /"topology\.relability\.mode".*did you mean "topology\.reliability\.mode"\?/);
  assert.match(w[1]!, /"topology\.max\.spout\.pendin".*did you mean "topology\.max\.spout\.pending"\?/);
  assert.match(w[2]!, /"topology\.some\.storm\.key"/);
  assert.not.match(w[2]!, /did you mean/);
  assert.equal(configWarnings({}), []);
  // still passed through, not thrown
  assert.is(parseConfig({ "topology.relability.mode": "ATMOST_ONCE" })["topology.relability.mode"], "ATMOST_ONCE");
});

test("submit (embedded) logs each unknown topology key once through the run's log", async () => {
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1, 2], { fields: ["n"] }));
  b.setBolt("b", bolt(() => {}), 1).shuffleGrouping("s");
  const lines: string[] = [];
  const h = await submit("cfg-warn", { "topology.relability.mode": "ATMOST_ONCE", "my.key": 1 }, b.createTopology(), {
    handleSignals: false,
    log: (l) => lines.push(l),
  });
  await h.done;
  const warnings = lines.filter((l) => l.includes("warning"));
  assert.is(warnings.length, 1, lines.join("\n"));
  assert.match(warnings[0]!, /"topology\.relability\.mode".*did you mean "topology\.reliability\.mode"/);
});

test.run();
