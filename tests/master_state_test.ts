// The master as a state machine (cluster/master/): driven against in-memory
// records, fake container processes and a fake clock (tests/fixtures/
// master_fakes.ts), without NATS or processes. Every transition of the
// phase table is made by some test (the last test checks), and the fixes of
// earlier sessions each have a test that fails without them.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  canEnter,
  ContainerSlots,
  hasStarted,
  type PhaseKind,
  RelaunchPolicy,
  sayRollbackAgain,
  TRANSITIONS,
} from "../cluster/master/mod.ts";
import { deferred, MasterHarness, settle, transitionsSeen } from "./fixtures/master_fakes.ts";
import { WIRE_VERSION } from "../transport/wire/mod.ts";

const EO = { "topology.reliability.mode": "EFFECTIVELY_ONCE", "topology.stateful.checkpoint.interval.seconds": 1 };
/** What `ardea update --component-parallelism a:3` writes for a 2-container topology. */
const NEW_PLAN = { components: { a: [1, 2, 3] }, packing: { "1": 0, "2": 1, "3": 0 }, parallelism: { a: 3 } };

/** Runs `body` against a fresh harness, and ends its master if the test left it running. */
async function withMaster(
  name: string,
  o: ConstructorParameters<typeof MasterHarness>[1],
  body: (h: MasterHarness) => Promise<void>,
) {
  const h = new MasterHarness(name, o);
  try {
    await h.start();
    await body(h);
  } catch (e) {
    (e as Error).message += `\n--- ${h.describe()}`;
    throw e;
  } finally {
    await h.close();
  }
}

/**
 * Checks that every generation the record held ran one plan (a plan
 * `ardea update` wrote became the running plan only in the write of a new
 * generation, never while a generation's containers were starting); returns
 * the generations.
 */
function onePlanPerGeneration(h: MasterHarness): number[] {
  const planOf = new Map<number, string>();
  for (const r of h.records.history) {
    const plan = JSON.stringify([r.packing, r.components, r.parallelism]);
    const g = r.generation ?? 0;
    assert.is(planOf.get(g) ?? plan, plan, `generation ${g} ran two plans`);
    planOf.set(g, plan);
  }
  return [...planOf.keys()];
}

/** A running topology: every container ready. */
async function running(h: MasterHarness): Promise<void> {
  h.readyAll();
  await settle();
  assert.is(h.phase.kind, "running");
}

// ------------------------------------------------------------ parts

test("phase table: every phase but the final ones has a way out; the final ones none", () => {
  for (const [from, to] of Object.entries(TRANSITIONS) as Array<[PhaseKind, readonly PhaseKind[]]>) {
    if (from === "ended" || from === "steppedDown") assert.equal(to, []);
    else assert.ok(to.length > 0, from);
    for (const k of to) assert.ok(k in TRANSITIONS, `${from} > ${k}`);
  }
  assert.ok(canEnter("running", "running"));
  assert.not.ok(canEnter("ended", "ended"));
  assert.not.ok(canEnter("ending", "running"));
  assert.ok(hasStarted({ kind: "draining", after: { paused: false, update: false }, started: true }));
  assert.not.ok(hasStarted({ kind: "relaunching", after: { paused: false, update: false }, inPlace: true }));
});

test("relaunch policy: the restart budget names the container and its deaths; rollbacks in a row reset on a commit", () => {
  const policy = new RelaunchPolicy({ maxRestarts: 2, maxRollbacks: 1 });
  const slot = new ContainerSlots(1).at(0)!;
  assert.equal(policy.died(slot, "container 0 exited (code 1)"), { restart: true });
  assert.equal(policy.died(slot, "container 0 exited (code 1)"), { restart: true });
  assert.equal(policy.died(slot, "container 0 exited (code 1)"), {
    restart: false,
    error: "container 0 exited (code 1); it died 3 times, past the restart budget of 2",
  });
  assert.is(policy.rollback("x", true), null);
  assert.is(policy.rollback("x", false), null, "an uncounted rollback uses no budget");
  assert.is(policy.rollback("x", true), "x; 1 rollbacks in a row without a new checkpoint");
  policy.committed();
  assert.is(policy.rollback("x", true), null);
  // Past the count, the budget fails the run only once the rollbacks in a row have taken minRollbackMs.
  let now = 0;
  const floored = new RelaunchPolicy({ maxRestarts: 2, maxRollbacks: 2, minRollbackMs: 30_000, now: () => now });
  assert.is(floored.rollback("y", true), null);
  now = 5_000;
  assert.is(floored.rollback("y", true), null);
  assert.is(floored.rollback("y", true), null, "3 in a row within 5 s: a cluster electing a leader, not yet a failure");
  now = 30_000;
  assert.is(floored.rollback("y", true), "y; 3 rollbacks in a row without a new checkpoint");
  floored.committed();
  now = 100_000;
  assert.is(floored.rollback("y", true), null, "a commit starts the count and the clock again");
  // Every tick for 2 s (8 × 250 ms), then every 2 s.
  assert.equal([1, 2, 8, 9, 15, 16, 17, 24].map(sayRollbackAgain), [true, true, true, false, false, true, false, true]);
});

// ------------------------------------------------------------ start and end

test("starting > running: start said once every container is ready; RUNNING recorded; container records written", async () => {
  await withMaster("start", {}, async (h) => {
    assert.is(h.processes.length, 2);
    assert.is(h.phase.kind, "starting");
    h.ready(0);
    await settle();
    assert.is(h.bus.count("start"), 0, "no start before every container is ready");
    h.ready(1);
    await settle();
    assert.is(h.phase.kind, "running");
    assert.is(h.bus.count("start"), 1);
    assert.is(h.records.topology.state, "RUNNING");
    assert.equal(h.records.containers.get(1)?.tasks, [2]);
    assert.equal(h.states, ["RUNNING"]);
  });
});

test("every container finished > FINISHED: stop said, recorded, lease released", async () => {
  await withMaster("finish", {}, async (h) => {
    await running(h);
    h.finished(0);
    h.finished(1);
    assert.is(await h.end(), "FINISHED");
    assert.equal(h.path, ["starting", "running", "ending", "ended"]);
    assert.equal(h.bus.said.filter((m) => m.type === "stop"), [{ type: "stop", state: "FINISHED" }]);
    assert.is(h.records.topology.state, "FINISHED");
    assert.is(h.records.leases.get(h.name)?.expiresAt, 0, "lease released");
    assert.is(h.clock.pending, 0, "no timer left");
  });
});

test("a container without tasks counts as finished at once", async () => {
  const h = new MasterHarness("empty", { containers: 3 });
  h.records.topology = { ...h.records.topology, packing: { "1": 0, "2": 1 }, components: { a: [1, 2] } };
  try {
    await h.start();
    h.readyAll();
    h.finished(0);
    h.finished(1);
    assert.is(await h.end(), "FINISHED", h.describe());
  } finally {
    await h.close();
  }
});

test("a container of another wire version: FAILED naming both versions", async () => {
  await withMaster("wire", {}, async (h) => {
    h.ready(0);
    h.ready(1, 1);
    assert.is(await h.end(), "FAILED");
    assert.match(
      h.records.topology.error ?? "",
      `container 1 speaks wire version 1; this master speaks wire version ${WIRE_VERSION}`,
    );
  });
});

test("a failed event, or a container that cannot start: FAILED with its error", async () => {
  await withMaster("failed", {}, async (h) => {
    await running(h);
    h.bus.event({ type: "failed", container: 1, epoch: h.epoch(), error: "boom" });
    assert.is(await h.end(), "FAILED");
    assert.is(h.records.topology.error, "container 1: boom");
  });
  await withMaster("no-start", {}, async (h) => {
    h.process(1).failToStart(new Error("command not found"));
    assert.is(await h.end(), "FAILED");
    assert.is(h.records.topology.error, "container 1 could not be started: command not found");
  });
});

test("events of another epoch (an earlier run or generation) are ignored", async () => {
  await withMaster("epoch", {}, async (h) => {
    h.bus.event({ type: "ready", container: 0, epoch: h.epoch() + 1, pid: 1, host: "x", wire: WIRE_VERSION });
    h.bus.event({ type: "ready", container: 1, epoch: h.epoch() + 1, pid: 1, host: "x", wire: WIRE_VERSION });
    h.bus.event({ type: "failed", container: 1, epoch: 7, error: "not ours" });
    await settle();
    assert.is(h.phase.kind, "starting");
    assert.is(h.bus.count("start"), 0);
  });
});

// ------------------------------------------------------------ deaths and silence

test("(c) a dead container restarts (lost, then rejoin) until past its budget: FAILED naming the container and count", async () => {
  await withMaster("budget", { maxRestarts: 2 }, async (h) => {
    await running(h);
    for (let death = 1; death <= 2; death++) {
      h.process(1).exit(1);
      await settle();
      assert.is(h.spawned(1), death + 1, "restarted");
      assert.is(h.bus.said.filter((m) => m.type === "lost").length, death);
      h.ready(1);
      await settle();
      assert.is(h.bus.said.filter((m) => m.type === "rejoin").length, death);
      assert.is(h.records.containers.get(1)?.restarts, death);
    }
    assert.ok(h.logs.some((l) => l.includes("container 1 rejoined")));
    h.process(1).exit(1);
    assert.is(await h.end(), "FAILED");
    assert.is(h.records.topology.error, "container 1 exited (code 1); it died 3 times, past the restart budget of 2");
    assert.is(h.spawned(1), 3, "no restart past the budget");
  });
});

test("a restart the user asked for uses no budget", async () => {
  await withMaster("restart", { maxRestarts: 0 }, async (h) => {
    await running(h);
    h.bus.control({ type: "restart", container: 0 });
    await settle();
    assert.equal(h.processes[0]!.signals, ["SIGTERM"]);
    assert.is(h.spawned(0), 2);
    assert.is(h.phase.kind, "running");
    assert.ok(h.logs.some((l) => l.includes("restarting container 0 as requested")));
  });
});

test("(d) silence counts only while the master is connected; a silent container is killed", async () => {
  await withMaster("silence", { silenceMs: 3000 }, async (h) => {
    await running(h);
    h.bus.connection(false);
    await h.clock.advance(20_000);
    assert.equal(h.processes.flatMap((p) => p.signals), [], "nobody blamed for the master's own outage");
    h.bus.connection(true);
    await h.clock.advance(2000);
    assert.equal(h.processes.flatMap((p) => p.signals), [], "the clocks start again when the master is back");
    h.heartbeat(0);
    await h.clock.advance(1500);
    h.heartbeat(0);
    await h.clock.advance(1000);
    assert.equal(h.processes[1]!.signals, ["SIGKILL"], "the silent one is killed");
    assert.equal(h.processes[0]!.signals, [], "the one that beats is not");
    assert.ok(h.logs.some((l) => /container 1 silent for \d+ ms; killing it/.test(l)));
    assert.is(h.spawned(1), 2, "and restarted");
  });
});

// ------------------------------------------------------------ steering

test("deactivate and activate: running <> paused, recorded; a paused topology stays paused across a restart", async () => {
  await withMaster("steer", {}, async (h) => {
    await running(h);
    h.bus.control({ type: "deactivate" });
    await settle();
    assert.is(h.phase.kind, "paused");
    assert.is(h.records.topology.state, "PAUSED");
    h.process(0).exit(1);
    await settle();
    h.ready(0);
    await settle();
    assert.equal(
      h.bus.said.slice(-2),
      [{ type: "start" }, { type: "deactivate" }],
      "the restarted container starts paused",
    );
    h.bus.control({ type: "activate" });
    await settle();
    assert.is(h.phase.kind, "running");
    assert.is(h.records.topology.state, "RUNNING");
  });
});

test("deactivate while starting: the run starts PAUSED (and an activate before the start changes nothing)", async () => {
  await withMaster("steer-early", {}, async (h) => {
    h.bus.control({ type: "activate" });
    h.bus.control({ type: "deactivate" });
    await settle();
    assert.is(h.phase.kind, "starting");
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "paused");
    assert.equal(h.bus.said.slice(-2), [{ type: "start" }, { type: "deactivate" }]);
    assert.is(h.records.topology.state, "PAUSED");
  });
});

test("a late PAUSED write gives way to a newer activate", async () => {
  await withMaster("steer-race", {}, async (h) => {
    await running(h);
    const held = deferred();
    h.records.beforeWrite = () => held.promise;
    h.bus.control({ type: "deactivate" });
    await settle();
    h.records.beforeWrite = undefined;
    h.bus.control({ type: "activate" });
    await settle();
    held.resolve();
    await settle();
    assert.is(h.phase.kind, "running");
    assert.is(h.records.topology.state, "RUNNING", "the slow PAUSED write did not land over the activate");
  });
});

// ------------------------------------------------------------ kill

test("kill: killing until every process is gone, then KILLED; nothing restarts meanwhile", async () => {
  await withMaster("kill", {}, async (h) => {
    await running(h);
    h.bus.control({ type: "kill", drainMs: 0 });
    await settle();
    assert.is(h.phase.kind, "killing");
    h.process(0).exit(0);
    await settle();
    assert.is(h.spawned(0), 1, "no restart while killing");
    h.process(1).exit(0);
    assert.is(await h.end(), "KILLED");
    assert.equal(h.path, ["starting", "running", "killing", "ending", "ended"]);
  });
});

test("kill while the next generation is recorded: KILLED, no container of it starts", async () => {
  await withMaster("kill-relaunch", {}, async (h) => {
    await running(h);
    const held = deferred();
    h.records.beforeWrite = (next) => (next.generation === 1 ? held.promise : undefined);
    h.bus.control({ type: "update" });
    await h.clock.advance(100);
    assert.is(h.phase.kind, "relaunching");
    h.bus.control({ type: "kill", drainMs: 0 });
    await settle();
    held.resolve();
    assert.is(await h.end(), "KILLED");
    assert.is(h.processes.length, 2, "no container of the new generation started");
  });
});

// ------------------------------------------------------------ the end, again and again

test("(f) stop is said again every 2 s until every container is gone; SIGKILL after 10 s", async () => {
  await withMaster("stop-again", { exitOnStop: false, ignores: ["SIGTERM"] }, async (h) => {
    await running(h);
    h.bus.event({ type: "failed", container: 0, epoch: h.epoch(), error: "boom" });
    await settle();
    assert.is(h.phase.kind, "ending");
    assert.is(h.bus.count("stop"), 1);
    await h.clock.advance(6100);
    assert.is(h.bus.count("stop"), 4, "said again at 2, 4 and 6 s");
    assert.equal(h.processes.flatMap((p) => p.signals), []);
    await h.clock.advance(4000);
    assert.equal(h.processes.map((p) => p.signals), [["SIGKILL"], ["SIGKILL"]], "killed after 10 s");
    await h.clock.advance(4000);
    assert.is(h.phase.kind, "ended");
    assert.is(h.bus.count("stop"), 6, "said at 0, 2, 4, 6, 8 and 10 s; none once every process is gone");
    assert.is(h.clock.pending, 0, "no timer left");
  });
});

test("a final state reached while the records are away is recorded once they are back", async () => {
  await withMaster("final-later", {}, async (h) => {
    await running(h);
    let failures = 0;
    h.records.beforeWrite = () => {
      if (++failures <= 5) throw new Error("TIMEOUT");
    };
    h.bus.control({ type: "kill", drainMs: 0 });
    assert.is(await h.end(), "KILLED");
    assert.is(h.records.topology.state, "KILLED");
    assert.ok(h.logs.some((l) => l.includes("recorded state KILLED") && l.includes("after 6 attempts")));
  });
});

// ------------------------------------------------------------ lease

test("(g) the lease lost to another master: it steps down, says nothing, kills nothing", async () => {
  await withMaster("lease-lost", {}, async (h) => {
    await running(h);
    h.records.leases.set(h.name, {
      topology: h.name,
      holder: "other:1",
      expiresAt: h.clock.now() + 60_000,
      revision: 99,
    });
    const said = h.bus.said.length;
    assert.is(await h.end(10_000), "FAILED");
    assert.equal(h.path.slice(-1), ["steppedDown"]);
    assert.is(h.bus.said.length, said, "no stop");
    assert.equal(h.processes.flatMap((p) => p.signals), [], "its containers run on under the other master");
    assert.is(h.records.topology.state, "RUNNING", "nothing recorded");
    assert.is(h.records.leases.get(h.name)?.holder, "other:1", "the other's lease stays");
    assert.is(h.clock.pending, 0, "no timer left");
  });
});

test("the lease taken to end a lost topology: FAILED 'master lost'", async () => {
  await withMaster("lease-ended", {}, async (h) => {
    await running(h);
    h.records.leases.set(h.name, {
      topology: h.name,
      holder: "lost:ardea status",
      expiresAt: h.clock.now() + 60_000,
      revision: 99,
    });
    assert.is(await h.end(10_000), "FAILED");
    assert.match(h.records.topology.error ?? "", /^master lost: the lease expired and ardea status ended the topology/);
  });
});

test("a second master for the same topology is refused while the first holds the lease", async () => {
  const h = new MasterHarness("two-masters");
  h.records.leases.set(h.name, { topology: h.name, holder: "first:1", expiresAt: h.clock.now() + 6000, revision: 1 });
  await h.start();
  const e = await h.ended!.then(() => null, (x: Error) => x);
  assert.match(e?.message ?? "", 'topology "two-masters" already has a live master');
  assert.is(h.processes.length, 0);
});

// ------------------------------------------------------------ takeover

test("a takeover follows the running containers, starts the missing ones (lost), stays PAUSED if it was", async () => {
  const h = new MasterHarness("takeover", { containers: 3, adopt: [0, 2] });
  h.records.topology = { ...h.records.topology, state: "PAUSED" };
  try {
    await h.start();
    assert.is(h.phase.kind, "paused");
    assert.equal(h.processes.map((p) => p.index), [0, 2, 1]);
    assert.equal(h.bus.said.filter((m) => m.type === "lost"), [{ type: "lost", container: 1 }]);
    h.ready(1);
    await settle();
    assert.equal(h.bus.said.slice(-3), [{ type: "rejoin", container: 1 }, { type: "start" }, { type: "deactivate" }]);
  } finally {
    await h.close();
  }
});

// ------------------------------------------------------------ update

test("update: drain (while tuples are pending), stop every process, next generation on the new plan, RUNNING", async () => {
  await withMaster("update", {}, async (h) => {
    await running(h);
    h.heartbeat(0, { pending: 5 });
    h.records.writeNextPlan(NEW_PLAN);
    h.bus.control({ type: "update" });
    await h.clock.advance(500);
    assert.is(h.phase.kind, "draining");
    assert.equal(h.bus.said.at(-1), { type: "deactivate" });
    assert.equal(h.processes.flatMap((p) => p.signals), [], "nothing stopped while tuples are pending");
    h.heartbeat(0, { pending: 0 });
    await h.clock.advance(200);
    assert.equal(h.processes.map((p) => p.signals), [["SIGTERM"], ["SIGTERM"], [], []]);
    assert.is(h.records.topology.generation, 1);
    assert.equal(h.records.topology.components, NEW_PLAN.components);
    assert.is(h.records.topology.nextPlan, undefined);
    h.readyAll();
    await settle();
    assert.equal(h.path, ["starting", "running", "draining", "stopping", "relaunching", "starting", "running"]);
    assert.equal(h.records.containers.get(0)?.tasks, [1, 3], "container records follow the new plan");
    assert.equal(onePlanPerGeneration(h), [0, 1]);
  });
});

test("update: a drain that never ends is cut after 10 s", async () => {
  await withMaster("update-stuck", {}, async (h) => {
    await running(h);
    h.heartbeat(1, { pending: 1 });
    h.bus.control({ type: "update" });
    await h.clock.advance(9000);
    assert.is(h.phase.kind, "draining");
    await h.clock.advance(1500);
    assert.is(h.records.topology.generation, 1);
  });
});

test("update before every container is ready: the containers start again on the plan", async () => {
  await withMaster("update-early", {}, async (h) => {
    h.bus.control({ type: "update" });
    await h.clock.advance(200);
    assert.is(h.processes.length, 4);
    h.readyAll();
    await settle();
    assert.equal(h.path, ["starting", "draining", "stopping", "relaunching", "starting", "running"]);
  });
});

test("activate during an update's drain applies once it runs again; a user's pause survives the update", async () => {
  await withMaster("update-steer", {}, async (h) => {
    await running(h);
    h.bus.control({ type: "deactivate" });
    await settle();
    h.heartbeat(0, { pending: 1 });
    h.bus.control({ type: "update" });
    await h.clock.advance(100);
    assert.is(h.phase.kind, "draining");
    h.bus.control({ type: "activate" });
    await settle();
    h.heartbeat(0, { pending: 0 });
    await h.clock.advance(200);
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "running", "the activate came during the drain");
    h.bus.control({ type: "deactivate" });
    h.bus.control({ type: "update" });
    await h.clock.advance(200);
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "paused", "a pause survives the update");
    assert.is(h.records.topology.state, "PAUSED");
  });
});

test("(b) a generation write that timed out but landed: the master runs the record it holds, plan included", async () => {
  await withMaster("gen-timeout", {}, async (h) => {
    await running(h);
    let failed = false;
    h.records.afterWrite = (stored) => {
      if (failed || stored.generation !== 1) return undefined;
      failed = true;
      return new Error(`KV bucket "ardea": TIMEOUT`);
    };
    h.records.writeNextPlan(NEW_PLAN);
    h.bus.control({ type: "update" });
    await h.clock.advance(200);
    assert.ok(failed, "the write failed");
    assert.ok(h.logs.some((l) => l.includes("cannot record generation 1")));
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "running", "the containers' events of generation 1 count");
    assert.equal(h.records.containers.get(0)?.tasks, [1, 3], "the master holds the plan the write applied");
    assert.equal(onePlanPerGeneration(h), [0, 1]);
  });
});

test("a generation write that failed and did not land: the generation stays, the containers still agree", async () => {
  await withMaster("gen-lost", {}, async (h) => {
    await running(h);
    h.records.beforeWrite = (next) => {
      if (next.generation === 1) throw new Error("TIMEOUT");
    };
    h.bus.control({ type: "update" });
    await h.clock.advance(200);
    assert.is(h.records.topology.generation, undefined);
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "running");
  });
});

// ------------------------------------------------------------ EFFECTIVELY_ONCE

test("checkpoints: triggered every interval while running, committed once every container saved, committed said", async () => {
  await withMaster("ck", { config: EO }, async (h) => {
    await h.clock.advance(3000);
    assert.is(h.bus.count("checkpoint"), 0, "none before the run starts");
    await running(h);
    await h.clock.advance(1000);
    const id = h.lastCheckpoint();
    assert.is(id, 1);
    await h.clock.advance(3000);
    assert.is(h.bus.count("checkpoint"), 1, "one at a time");
    h.saved(0, id);
    await settle();
    assert.equal(h.checkpoints.commits, []);
    h.saved(1, id);
    await settle();
    assert.equal(h.checkpoints.commits, [1]);
    assert.equal(h.bus.said.filter((m) => m.type === "committed"), [{ type: "committed", id: 1 }]);
    await h.clock.advance(1000);
    assert.is(h.lastCheckpoint(), 2);
  });
});

test("checkpoints: one that does not complete is abandoned; one whose commit fails counts on from the newest", async () => {
  await withMaster("ck-stuck", { config: EO, silenceMs: 1e9 }, async (h) => {
    await running(h);
    await h.clock.advance(1000);
    assert.is(h.lastCheckpoint(), 1);
    await h.clock.advance(31_000);
    assert.ok(h.logs.some((l) => l.includes('checkpoint 1 of "ck-stuck" did not complete within 30000 ms; abandoned')));
    assert.is(h.lastCheckpoint(), 2);
    h.checkpoints.commits.push(7); // another master committed 7 meanwhile
    h.savedAll(2);
    await h.clock.advance(1000);
    assert.ok(h.logs.some((l) => l.includes('checkpoint 2 of "ck-stuck" could not be committed')));
    assert.is(h.lastCheckpoint(), 8);
  });
});

test("rollback: in place, rollback said every 250 ms for 2 s, then every 2 s, until every container is ready (e)", async () => {
  await withMaster("rollback", { config: EO }, async (h) => {
    await running(h);
    h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
    await settle();
    assert.is(h.records.topology.generation, 1);
    assert.is(h.records.topology.restoreFrom, 0);
    assert.is(h.phase.kind, "starting");
    assert.is(h.processes.length, 2, "live containers reset in place");
    const said = () => h.bus.said.filter((m) => m.type === "rollback");
    assert.equal(said(), [{ type: "rollback", generation: 1, restoreFrom: 0 }]);
    await h.clock.advance(2000);
    assert.is(said().length, 9, "every 250 ms for 2 s");
    await h.clock.advance(1900);
    assert.is(said().length, 9);
    await h.clock.advance(100);
    assert.is(said().length, 10, "then every 2 s");
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "running");
    await h.clock.advance(10_000);
    assert.is(said().length, 10, "not after every container is ready");
    assert.equal(h.path, ["starting", "running", "relaunching", "starting", "running"]);
  });
});

test("(e) rollback: a container that does not reset within 30 s is killed, and its death rolls back again", async () => {
  await withMaster("rollback-laggard", { config: EO }, async (h) => {
    await running(h);
    h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
    await settle();
    h.ready(0);
    // Checked every 2 s: killed at the first check past 30 s.
    await h.clock.advance(30_000);
    assert.equal(h.processes[1]!.signals, []);
    await h.clock.advance(2000);
    assert.equal(h.processes[1]!.signals, ["SIGKILL"]);
    assert.ok(h.logs.some((l) => l.includes("container 1 did not reset within 30 s; killing it")));
    await settle();
    assert.is(h.records.topology.generation, 2, "its death rolled back again");
    assert.is(h.spawned(1), 2);
  });
});

test("rollback while the next generation is recorded: no second set of containers", async () => {
  await withMaster("rollback-twice", { config: EO }, async (h) => {
    await running(h);
    const held = deferred();
    h.records.beforeWrite = (next) => (next.generation === 1 ? held.promise : undefined);
    h.process(1).exit(1);
    await settle();
    assert.is(h.phase.kind, "relaunching");
    h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
    h.process(0).exit(1);
    await settle();
    held.resolve();
    await settle();
    assert.is(h.records.topology.generation, 1, "one generation");
    assert.equal([h.spawned(0), h.spawned(1)], [2, 2], "one new process per dead container");
    assert.is(h.live().length, 2);
  });
});

test("a rollback asked for while an update records the next generation starts no second set of containers", async () => {
  await withMaster("update-then-rollback", { config: EO }, async (h) => {
    await running(h);
    const held = deferred();
    h.records.beforeWrite = (next) => (next.generation === 1 ? held.promise : undefined);
    h.bus.control({ type: "update" });
    h.savedAll(1);
    await h.clock.advance(100);
    assert.is(h.phase.kind, "relaunching");
    // The master's connection comes back meanwhile: an EFFECTIVELY_ONCE master would roll back.
    h.bus.connection(false);
    h.bus.connection(true);
    await settle();
    held.resolve();
    await h.clock.advance(100);
    assert.is(h.records.topology.generation, 1);
    assert.is(h.processes.length, 4, "one new process per container");
    assert.is(h.live().length, 2);
  });
});

test("(a) an update asked for during a rollback waits for it; the plan changes only with a generation", async () => {
  await withMaster("update-rollback", { config: EO }, async (h) => {
    await running(h);
    const held = deferred();
    h.records.beforeWrite = (next) => (next.generation === 1 ? held.promise : undefined);
    h.process(1).exit(1);
    await settle();
    assert.is(h.phase.kind, "relaunching");
    // `ardea update` while generation 1 is being recorded.
    h.records.writeNextPlan(NEW_PLAN);
    h.bus.control({ type: "update" });
    await settle();
    assert.ok(h.logs.some((l) => l.includes("the update waits for the relaunch under way")));
    held.resolve();
    await h.clock.advance(100);
    // Generation 1 took the plan the update wrote: every process restarts on it.
    assert.is(h.records.topology.generation, 1);
    assert.equal(h.records.topology.components, NEW_PLAN.components);
    h.readyAll();
    await h.clock.advance(1000);
    // Running again: the waiting update is carried out (a fresh checkpoint, then generation 2).
    assert.is(h.phase.kind, "draining");
    h.savedAll(h.lastCheckpoint());
    await h.clock.advance(500);
    assert.is(h.records.topology.generation, 2);
    h.readyAll();
    await settle();
    assert.is(h.phase.kind, "running");
    assert.equal(onePlanPerGeneration(h), [0, 1, 2]);
  });
});

test("a rollback onto a plan an update wrote restarts every process (stopping, then starting)", async () => {
  await withMaster("rollback-plan", { config: EO }, async (h) => {
    await running(h);
    h.records.writeNextPlan(NEW_PLAN);
    h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
    await settle();
    assert.equal(h.path.slice(-3), ["relaunching", "stopping", "starting"]);
    assert.equal([h.spawned(0), h.spawned(1)], [2, 2]);
    assert.is(h.bus.count("rollback"), 0, "new processes read the record; nothing to reset in place");
    assert.equal(onePlanPerGeneration(h), [0, 1]);
  });
});

test("rollbacks in a row without a checkpoint past the budget: FAILED; a commit resets the count", async () => {
  await withMaster(
    "rollback-budget",
    { config: { ...EO, "topology.supervisor.max.consecutive.failures": 2 } },
    async (h) => {
      await running(h);
      const rollback = async () => {
        h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
        await settle();
        h.readyAll();
        await settle();
      };
      await rollback();
      await rollback();
      await h.clock.advance(1000);
      h.savedAll(h.lastCheckpoint());
      await settle();
      await rollback();
      await rollback();
      assert.is(h.phase.kind, "running");
      h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
      assert.is(await h.end(), "FAILED");
      assert.is(h.records.topology.error, "container 0: gap; 2 rollbacks in a row without a new checkpoint");
    },
  );
});

test("EFFECTIVELY_ONCE: a requested restart and a takeover roll back without using the budget", async () => {
  await withMaster(
    "eo-restart",
    { config: { ...EO, "topology.supervisor.max.consecutive.failures": 0 } },
    async (h) => {
      await running(h);
      h.bus.control({ type: "restart", container: 1 });
      await settle();
      assert.is(h.records.topology.generation, 1);
      assert.is(h.phase.kind, "starting");
    },
  );
  const h = new MasterHarness("eo-takeover", {
    config: { ...EO, "topology.supervisor.max.consecutive.failures": 0 },
    adopt: [0, 1],
  });
  h.records.topology = { ...h.records.topology, state: "RUNNING" };
  try {
    await h.start();
    assert.is(h.records.topology.generation, 1, "a takeover rolls back (checkpoint events may be lost)");
    assert.equal(h.path, ["starting", "running", "relaunching", "starting"]);
  } finally {
    await h.close();
  }
});

test("EFFECTIVELY_ONCE: the master's connection back rolls every container back", async () => {
  await withMaster("eo-reconnect", { config: EO }, async (h) => {
    await running(h);
    h.bus.connection(false);
    h.bus.connection(true);
    await settle();
    assert.is(h.records.topology.generation, 1);
    assert.ok(h.logs.some((l) => l.includes("the master's NATS connection to nats://fake:4222 was re-established")));
  });
});

test("(h) finishing: the final checkpoint comes after the one in flight, its committed before stop; then FINISHED", async () => {
  await withMaster("eo-finish", { config: EO }, async (h) => {
    await running(h);
    await h.clock.advance(1000);
    assert.is(h.lastCheckpoint(), 1);
    h.finished(0);
    h.finished(1);
    await settle();
    assert.is(h.phase.kind, "finishing");
    assert.is(h.bus.count("checkpoint"), 1, "waits for the checkpoint in flight");
    h.savedAll(1);
    await settle();
    assert.is(h.lastCheckpoint(), 2, "then takes the final one");
    h.savedAll(2);
    assert.is(await h.end(), "FINISHED");
    const tail = h.bus.said.slice(-2);
    assert.equal(tail, [{ type: "committed", id: 2 }, { type: "stop", state: "FINISHED" }]);
    assert.ok(h.logs.some((l) => l.includes("checkpoint 2 committed before the end of the run")));
  });
});

test("(h) finishing: a final checkpoint that does not commit in 30 s lets the run end FINISHED on the last one", async () => {
  await withMaster("eo-finish-late", { config: EO }, async (h) => {
    await running(h);
    h.finished(0);
    h.finished(1);
    await h.clock.advance(29_000);
    assert.is(h.phase.kind, "finishing");
    assert.is(await h.end(), "FINISHED");
    assert.ok(
      h.logs.some((l) =>
        l.includes("checkpoint 1 did not commit in time before the end of the run; the last committed one stands")
      ),
    );
  });
});

test("(h) the update's checkpoint is the same take-and-wait: the new plan starts from it", async () => {
  await withMaster("eo-update", { config: EO }, async (h) => {
    await running(h);
    h.bus.control({ type: "update" });
    await settle();
    assert.is(h.lastCheckpoint(), 1);
    h.savedAll(1);
    await h.clock.advance(200);
    assert.ok(h.logs.some((l) => l.includes("checkpoint 1 committed before the update")));
    assert.is(h.records.topology.restoreFrom, 1, "the next generation restores it");
  });
});

test("finishing, then a container dies: the rollback runs the generation again; it finishes later", async () => {
  await withMaster("eo-finish-rollback", { config: EO }, async (h) => {
    await running(h);
    h.finished(0);
    h.finished(1);
    await settle();
    h.process(0).exit(1);
    await h.clock.advance(100);
    assert.equal(h.path.slice(-3), ["finishing", "relaunching", "starting"]);
    h.readyAll();
    h.finished(0);
    h.finished(1);
    await settle();
    h.savedAll(h.lastCheckpoint());
    assert.is(await h.end(), "FINISHED");
  });
});

test("EFFECTIVELY_ONCE while paused: a rollback keeps it paused; it may finish paused", async () => {
  await withMaster("eo-paused", { config: EO }, async (h) => {
    await running(h);
    h.bus.control({ type: "deactivate" });
    await settle();
    h.bus.event({ type: "rollback", container: 0, epoch: h.epoch(), error: "gap" });
    await settle();
    h.readyAll();
    await settle();
    assert.equal(h.path.slice(-4), ["paused", "relaunching", "starting", "paused"]);
    h.finished(0);
    h.finished(1);
    await settle();
    assert.is(h.phase.kind, "finishing");
    h.savedAll(h.lastCheckpoint());
    assert.is(await h.end(), "FINISHED");
  });
});

test("every container finished during an update: EFFECTIVELY_ONCE, the update goes on (its generation finishes); else FINISHED", async () => {
  await withMaster("eo-drain-finish", { config: EO }, async (h) => {
    await running(h);
    h.bus.control({ type: "update" });
    await settle();
    assert.is(h.lastCheckpoint(), 1, "the update's checkpoint");
    h.finished(0);
    h.finished(1);
    await settle();
    assert.is(h.phase.kind, "draining");
    h.savedAll(1);
    await h.clock.advance(100);
    assert.is(h.records.topology.generation, 1, "relaunched");
    assert.is(h.records.topology.restoreFrom, 1, "from the drained topology's checkpoint");
    h.readyAll();
    h.finished(0);
    h.finished(1);
    await settle();
    h.savedAll(h.lastCheckpoint());
    assert.is(await h.end(), "FINISHED");
  });
  await withMaster("drain-finish", {}, async (h) => {
    await running(h);
    h.heartbeat(0, { pending: 1 });
    h.bus.control({ type: "update" });
    await settle();
    h.finished(0);
    h.finished(1);
    assert.is(await h.end(), "FINISHED");
    assert.is(h.records.topology.generation, undefined, "no relaunch");
    assert.equal(h.path.slice(-3), ["draining", "ending", "ended"]);
  });
  await withMaster("stopping-finish", { ignores: ["SIGTERM"] }, async (h) => {
    await running(h);
    h.bus.control({ type: "update" });
    await h.clock.advance(100);
    assert.is(h.phase.kind, "stopping");
    h.finished(0);
    h.finished(1);
    assert.is(await h.end(), "FINISHED", "a run that is not EFFECTIVELY_ONCE would read its input again");
  });
});

test("every container says finished before the run started (out of order): it finishes all the same", async () => {
  await withMaster("eo-early-finish", { config: EO }, async (h) => {
    h.finished(0);
    h.finished(1);
    await settle();
    assert.equal(h.path, ["starting", "finishing"]);
    h.savedAll(h.lastCheckpoint());
    assert.is(await h.end(), "FINISHED");
  });
});

// ------------------------------------------------------------ every way out of every live phase

/** Brings a harness into phase `kind`. */
const into: Record<
  string,
  { o?: ConstructorParameters<typeof MasterHarness>[1]; go: (h: MasterHarness) => Promise<void> }
> = {
  starting: { go: async () => {} },
  running: { go: running },
  paused: {
    go: async (h) => {
      await running(h);
      h.bus.control({ type: "deactivate" });
    },
  },
  draining: {
    go: async (h) => {
      await running(h);
      h.heartbeat(0, { pending: 1 });
      h.bus.control({ type: "update" });
    },
  },
  stopping: {
    o: { ignores: ["SIGTERM"] },
    go: async (h) => {
      await running(h);
      h.bus.control({ type: "update" });
      await h.clock.advance(100);
    },
  },
  relaunching: {
    go: async (h) => {
      await running(h);
      h.records.beforeWrite = (next) => (next.generation === 1 ? new Promise(() => {}) : undefined);
      h.bus.control({ type: "update" });
      await h.clock.advance(100);
    },
  },
  finishing: {
    o: { config: EO },
    go: async (h) => {
      await running(h);
      h.finished(0);
      h.finished(1);
    },
  },
  killing: {
    go: async (h) => {
      await running(h);
      h.bus.control({ type: "kill", drainMs: 0 });
    },
  },
};

for (const [from, { o, go }] of Object.entries(into)) {
  test(`${from}: kill > killing (or ending), failure > ending, lease lost > steppedDown`, async () => {
    for (const exit of ["kill", "failed", "lease"] as const) {
      await withMaster(`out-${from}-${exit}`, o ?? {}, async (h) => {
        await go(h);
        await settle();
        assert.is(h.phase.kind, from);
        if (exit === "kill") {
          h.bus.control({ type: "kill", drainMs: 0 });
          await settle();
          assert.ok(h.phase.kind === "killing" || h.phase.kind === "ending" || h.phase.kind === "ended", h.phase.kind);
          for (const p of h.live()) p.exit(0);
          assert.is(await h.end(), "KILLED");
        } else if (exit === "failed") {
          h.bus.event({ type: "failed", container: 0, epoch: h.epoch(), error: "boom" });
          for (const p of h.live()) p.exit(0);
          assert.is(await h.end(), "FAILED");
          assert.is(h.records.topology.error, "container 0: boom");
        } else {
          h.records.leases.set(h.name, {
            topology: h.name,
            holder: "other:1",
            expiresAt: h.clock.now() + 60_000,
            revision: 99,
          });
          assert.is(await h.end(10_000), "FAILED");
          assert.is(h.phase.kind, "steppedDown");
        }
      });
    }
  });
}

test("every transition of the phase table was made by some test above", () => {
  const missing: string[] = [];
  for (const [from, tos] of Object.entries(TRANSITIONS)) {
    for (const to of tos) if (!transitionsSeen.has(`${from}>${to}`)) missing.push(`${from} > ${to}`);
  }
  assert.equal(missing, [], `transitions no test made: ${missing.join(", ")}`);
  const extra = [...transitionsSeen].filter((t) =>
    !(TRANSITIONS[t.split(">")[0] as PhaseKind] as readonly string[]).includes(t.split(">")[1]!)
  );
  assert.equal(extra, []);
});

test.run();
