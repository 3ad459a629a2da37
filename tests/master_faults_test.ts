// timeout: 400
// Faults of the distributed control plane: the master (cluster/master.ts)
// driven in-process against a real nats-server, its containers played by
// fake child processes that speak the wire protocol from the test's own
// connection (NATS is never mocked); and `ardea submit` end to end where a
// real process must die.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { connect, type NatsConnection } from "nats";
import { runMaster } from "../cluster/master.ts";
import { Records, RecordsError } from "../cluster/records.ts";
import { ardeaRoot, type ChildExit, type ChildHandle, resolvePath, runtimeName, spawnProcess } from "../runtime/mod.ts";
import {
  decodeControl,
  encodeMessage,
  runEpoch,
  subjects,
  type TopologyRecord,
  WIRE_VERSION,
} from "../transport/wire/mod.ts";
import { ardeaCmd, collect } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { sleep, until, withinOrNull } from "../testing/wait.ts";

const reconnecting = (url: string) => connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });

function record(
  name: string,
  containers: number,
  packing: Record<string, number>,
  components: Record<string, number[]>,
): TopologyRecord {
  const now = Date.now();
  return {
    version: WIRE_VERSION,
    name,
    state: "SUBMITTED",
    config: {},
    bundle: "0".repeat(64),
    args: [],
    cwd: ardeaRoot(),
    containers,
    packing,
    components,
    scheduler: "local",
    runtime: "node",
    ardeaVersion: "test",
    submittedAt: now,
    updatedAt: now,
  };
}

/** A fake container process: it says ready and beats (from the test's connection) until it exits. */
interface Fake extends ChildHandle {
  readonly index: number;
  /** The wire version its `ready` names. */
  readonly wire: number;
  readonly kills: string[];
  exit(e: ChildExit): void;
}

/**
 * Fake containers for `name`: each spawned one sends `ready` (with the
 * epoch the record holds when it starts) and a heartbeat every second; on
 * `stop` every live one exits with code 0. `wireOf` gives the wire version
 * a container's `ready` names (default: this one).
 */
function fakes(
  nc: NatsConnection,
  records: Records,
  name: string,
  wireOf: (index: number) => number = () => WIRE_VERSION,
) {
  const all: Fake[] = [];
  const live = new Set<Fake>();
  const subj = subjects(name);
  let pid = 1000;
  const beats = new Map<Fake, number>();
  const hb = setInterval(() => {
    for (const f of live) {
      const epoch = beats.get(f);
      if (epoch === undefined) continue;
      nc.publish(
        subj.events,
        encodeMessage({
          type: "heartbeat",
          container: f.index,
          epoch,
          pid: f.pid!,
          host: "fake",
          ts: Date.now(),
          stats: {
            emitted: 0,
            executed: 0,
            acked: 0,
            failed: 0,
            timedOut: 0,
            pending: 0,
            restarts: 0,
            dropped: 0,
            backpressure: false,
          },
        }),
      );
    }
  }, 1000);
  const sub = nc.subscribe(subj.ctl, {
    callback: (_e, msg) => {
      try {
        if (decodeControl(msg.data).type === "stop") { for (const f of [...live]) f.exit({ code: 0, signal: null }); }
      } catch {
        // not ours
      }
    },
  });
  const spawn = (index: number): ChildHandle => {
    let resolve!: (e: ChildExit) => void;
    const exited = new Promise<ChildExit>((r) => (resolve = r));
    const f: Fake = {
      index,
      wire: wireOf(index),
      kills: [],
      pid: ++pid,
      exited,
      kill(signal = "SIGTERM") {
        if (!live.has(f)) return false;
        f.kills.push(signal);
        f.exit({ code: null, signal });
        return true;
      },
      exit(e) {
        if (!live.delete(f)) return;
        beats.delete(f);
        resolve(e);
      },
      lines: () => {
        throw new Error("no output");
      },
      writeStdin: () => Promise.reject(new Error("no stdin")),
      closeStdin() {},
    };
    all.push(f);
    live.add(f);
    void records.getTopology(name).then((r) => {
      if (!live.has(f) || r === undefined) return;
      const epoch = runEpoch(r.submittedAt, r.generation);
      beats.set(f, epoch);
      nc.publish(
        subj.events,
        encodeMessage({ type: "ready", container: index, epoch, pid: f.pid!, host: "fake", wire: f.wire }),
      );
    }, () => {}); // NATS away: this fake never says ready (as a real container might not)
    return f;
  };
  return {
    all,
    live,
    spawn,
    /** Sends an event of a live fake container. */
    event(index: number, type: "finished") {
      const f = [...live].find((x) => x.index === index)!;
      nc.publish(subj.events, encodeMessage({ type, container: index, epoch: beats.get(f)! }));
    },
    close() {
      clearInterval(hb);
      sub.unsubscribe();
      for (const f of [...live]) f.exit({ code: 0, signal: null });
    },
  };
}

/** Ends a master that is still running (a failed assertion): kill, containers gone, then its connection closes. */
async function stopMaster(
  name: string,
  f: ReturnType<typeof fakes>,
  ended: Promise<unknown> | undefined,
  mnc: NatsConnection,
) {
  if (ended !== undefined) {
    let done = false;
    void ended.then(() => (done = true), () => (done = true));
    await sleep(0);
    if (!done) {
      nc.publish(subjects(name).ctl, encodeMessage({ type: "kill", drainMs: 0 }));
      await nc.flush().catch(() => {});
      await sleep(300);
      f.close();
      await withinOrNull(ended.catch(() => {}), 15_000);
    }
  }
  f.close();
  await mnc.close();
}

let nats: NatsHandle;
let nc: NatsConnection;
let records: Records;

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await reconnecting(nats.urls[0]!);
  records = await Records.open(nc);
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
});

test("a container without tasks counts as finished at once", async () => {
  const rec = record("empty-one", 3, { "1": 0, "2": 1 }, { a: [1], b: [2] });
  await records.putTopology(rec);
  const f = fakes(nc, records, rec.name);
  const mnc = await reconnecting(nats.urls[0]!);
  let ended: Promise<string> | undefined;
  try {
    ended = runMaster({ nc: mnc, records: await Records.open(mnc), record: rec, spawn: f.spawn, log: () => {} });
    await until("RUNNING", async () => ((await records.getTopology(rec.name))?.state === "RUNNING" ? true : undefined));
    f.event(0, "finished");
    f.event(1, "finished");
    const state = (await withinOrNull(ended, 15_000)) ?? "still running";
    assert.is(state, "FINISHED");
    assert.is((await records.getTopology(rec.name))?.state, "FINISHED");
  } finally {
    await stopMaster(rec.name, f, ended, mnc);
  }
});

test("a container of another wire version is refused: the run ends FAILED naming both versions", async () => {
  const rec = record("other-wire", 2, { "1": 0, "2": 1 }, { a: [1], b: [2] });
  await records.putTopology(rec);
  const f = fakes(nc, records, rec.name, (i) => (i === 1 ? 1 : WIRE_VERSION));
  const mnc = await reconnecting(nats.urls[0]!);
  let ended: Promise<string> | undefined;
  try {
    ended = runMaster({ nc: mnc, records: await Records.open(mnc), record: rec, spawn: f.spawn, log: () => {} });
    const state = (await withinOrNull(ended, 15_000)) ?? "still running";
    assert.is(state, "FAILED");
    const held = await records.getTopology(rec.name);
    assert.is(held?.state, "FAILED");
    assert.match(
      held?.error ?? "",
      `container 1 speaks wire version 1; this master speaks wire version ${WIRE_VERSION}`,
    );
  } finally {
    await stopMaster(rec.name, f, ended, mnc);
  }
});

test("the master does not blame containers for its own NATS outage", async () => {
  const rec = record("outage-silence", 2, { "1": 0, "2": 1 }, { a: [1], b: [2] });
  await records.putTopology(rec);
  const f = fakes(nc, records, rec.name);
  const mnc = await reconnecting(nats.urls[0]!);
  const lines: string[] = [];
  let ended: Promise<string> | undefined;
  try {
    ended = runMaster({
      nc: mnc,
      records: await Records.open(mnc),
      record: rec,
      spawn: f.spawn,
      log: (l) => lines.push(l),
      silenceMs: 3000,
    });
    await until("RUNNING", async () => ((await records.getTopology(rec.name))?.state === "RUNNING" ? true : undefined));
    // Down well past the silence limit: every heartbeat is lost, the master's own connection too.
    await nats.restartServer(0, { downMs: 9000 });
    await until("the connection back", async () => ((await records.getTopology(rec.name)) ? true : undefined));
    await sleep(6000);
    assert.equal(f.all.flatMap((x) => x.kills), [], `no container killed:\n${lines.join("\n")}`);
    assert.is(f.all.length, 2, "no container restarted");
    assert.is((await records.getTopology(rec.name))?.state, "RUNNING");
    nc.publish(subjects(rec.name).ctl, encodeMessage({ type: "kill", drainMs: 0 }));
    await nc.flush();
    await sleep(300);
    for (const x of [...f.live]) x.exit({ code: 0, signal: null });
    assert.is(await ended, "KILLED");
  } finally {
    await stopMaster(rec.name, f, ended, mnc);
  }
});

test("a final state reached while NATS is down is recorded once NATS is back", async () => {
  const rec = record("outage-final", 2, { "1": 0, "2": 1 }, { a: [1], b: [2] });
  await records.putTopology(rec);
  const f = fakes(nc, records, rec.name);
  const mnc = await reconnecting(nats.urls[0]!);
  const lines: string[] = [];
  let ended: Promise<string> | undefined;
  try {
    ended = runMaster({
      nc: mnc,
      records: await Records.open(mnc),
      record: rec,
      spawn: f.spawn,
      log: (l) => lines.push(l),
      maxRestarts: 0,
    });
    await until("RUNNING", async () => ((await records.getTopology(rec.name))?.state === "RUNNING" ? true : undefined));
    const restarting = nats.restartServer(0, { downMs: 8000 });
    await sleep(1500);
    // Container 0 dies past its budget while NATS is away: the run FAILS then.
    f.all[0]!.exit({ code: 1, signal: null });
    await restarting;
    assert.is(await ended, "FAILED");
    const held = await records.getTopology(rec.name);
    assert.is(held?.state, "FAILED", lines.join("\n"));
    assert.match(held?.error ?? "", /container 0 exited/);
  } finally {
    await stopMaster(rec.name, f, ended, mnc);
  }
});

test("after a generation write that timed out (but landed), the master runs the record it holds, plan included", async () => {
  const rec = record("gen-timeout", 2, { "1": 0, "2": 1 }, { a: [1], b: [2] });
  await records.putTopology(rec);
  const f = fakes(nc, records, rec.name);
  const mnc = await reconnecting(nats.urls[0]!);
  const real = await Records.open(mnc);
  let failed = false;
  // The write lands, then its reply is lost: the caller sees a KV timeout.
  const faulty = new Proxy(real, {
    get(target, key) {
      if (key === "updateTopology") {
        return async (name: string, fn: (r: TopologyRecord) => TopologyRecord | undefined) => {
          const out = await target.updateTopology(name, fn);
          if (!failed && (out.generation ?? 0) === 1) {
            failed = true;
            throw new RecordsError("KV_ERROR", `KV bucket "ardea": TIMEOUT`);
          }
          return out;
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const lines: string[] = [];
  let ended: Promise<string> | undefined;
  try {
    ended = runMaster({ nc: mnc, records: faulty, record: rec, spawn: f.spawn, log: (l) => lines.push(l) });
    await until("RUNNING", async () => ((await records.getTopology(rec.name))?.state === "RUNNING" ? true : undefined));
    // What `ardea update --component-parallelism a:2` writes: a plan the next generation runs.
    await records.updateTopology(rec.name, (r) => ({
      ...r,
      nextPlan: { components: { a: [1, 2], b: [3] }, packing: { "1": 0, "2": 1, "3": 0 }, parallelism: { a: 2 } },
    }));
    nc.publish(subjects(rec.name).ctl, encodeMessage({ type: "update" }));
    await until("generation 1 running", async () => {
      const r = await records.getTopology(rec.name);
      return r?.generation === 1 && f.live.size === 2 && f.all.length === 4 ? true : undefined;
    });
    assert.ok(failed, "the generation write failed");
    // The master writes each container's tasks from the plan it holds.
    const c0 = await until("container 0 on the new plan", async () => {
      const cs = await records.listContainers(rec.name);
      const c = cs.find((x) => x.container === 0 && x.pid === f.all[2]!.pid);
      return c;
    });
    assert.equal(c0.tasks, [1, 3], lines.join("\n"));
    nc.publish(subjects(rec.name).ctl, encodeMessage({ type: "kill", drainMs: 0 }));
    await nc.flush();
    await sleep(300);
    for (const x of [...f.live]) x.exit({ code: 0, signal: null });
    assert.is(await ended, "KILLED");
  } finally {
    await stopMaster(rec.name, f, ended, mnc);
  }
});

// ------------------------------------------------------------ ardea submit

test("submit --containers N with fewer than N tasks clips to the task count and FINISHES", async () => {
  const dir = resolvePath(ardeaRoot(), "tests", "fixtures");
  const [cmd, argv] = ardeaCmd([
    "submit",
    "examples/word_count.ts",
    "--containers",
    "6",
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--input",
    resolvePath(dir, "..", "..", "README.md"),
    "--splitters",
    "1",
    "--counters",
    "1",
  ]);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  const stderr: string[] = [];
  const reading = Promise.all([collect(child.lines("stderr"), stderr), collect(child.lines("stdout"), [])]);
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const exit = await child.exited;
  clearTimeout(timer);
  await reading;
  assert.is(exit.code, 0, stderr.join("\n"));
  assert.match(stderr.join("\n"), /has 4 task\(s\); 6 containers would leave some empty, so it runs in 4/);
  const rec = await records.getTopology("word-count");
  assert.is(rec?.containers, 4);
  assert.is(rec?.state, "FINISHED");
});

async function ardea(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, argv] = ardeaCmd(args);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  const out: string[] = [];
  const err: string[] = [];
  await Promise.all([collect(child.lines("stdout"), out), collect(child.lines("stderr"), err)]);
  return { code: (await child.exited).code, stdout: out.join("\n"), stderr: err.join("\n") };
}

const alive = (p: number) => {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
};

/** Ends what a test of dist-endless left running (a failed assertion), so the next can submit it again. */
async function cleanUp(pids: number[]) {
  for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
  await records.updateTopology(
    "dist-endless",
    (r) => (["SUBMITTED", "RUNNING", "PAUSED"].includes(r.state) ? { ...r, state: "KILLED" } : undefined),
  )
    .catch(() => {});
  await sleep(7000); // its lease runs out
}

/** Submits dist-endless (2 containers) and waits until both report; returns the master's pid and the containers' pids. */
async function submitEndless(extra: string[], wait: boolean) {
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_endless.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    ...extra,
    ...(wait ? ["--wait"] : []),
  ]);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  const stderr: string[] = [];
  void collect(child.lines("stderr"), stderr);
  void collect(child.lines("stdout"), []);
  let masterPid = child.pid!;
  if (!wait) {
    await child.exited;
    const m = /runs as pid (\d+)/.exec(stderr.join("\n"));
    assert.ok(m, stderr.join("\n"));
    masterPid = Number(m![1]);
  }
  const containers = await until("two running containers", async () => {
    const rec = await records.getTopology("dist-endless");
    if (rec?.state !== "RUNNING") return undefined;
    const cs = (await records.listContainers("dist-endless")).filter((c) =>
      c.pid > 0 && c.startedAt >= rec.submittedAt
    );
    return cs.length === 2 ? cs.map((c) => c.pid) : undefined;
  }, 60_000);
  return { masterPid, containers, stderr, child };
}

test("a local master killed with SIGKILL: its containers record the topology FAILED, master lost", async () => {
  const { masterPid, containers } = await submitEndless([], false);
  try {
    process.kill(masterPid, "SIGKILL");
    await until("containers to stop", async () => (containers.every((p) => !alive(p)) ? true : undefined), 30_000);
    const rec = await until("the record FAILED", async () => {
      const r = await records.getTopology("dist-endless");
      return r?.state === "FAILED" ? r : undefined;
    }, 10_000).catch(async () => await records.getTopology("dist-endless"));
    assert.is(rec?.state, "FAILED");
    assert.match(rec?.error ?? "", /master lost/);
    const s = await ardea(["status", "dist-endless"]);
    assert.match(s.stdout, /FAILED/);
    assert.match(s.stdout, /master lost/);
  } catch (e) {
    await cleanUp([masterPid, ...containers]);
    throw e;
  }
});

test("a local master and its containers all killed with SIGKILL: ardea status says master lost and records FAILED", async () => {
  const { masterPid, containers } = await submitEndless([], false);
  try {
    for (const p of [masterPid, ...containers]) process.kill(p, "SIGKILL");
    await sleep(7000); // the lease runs out
    assert.is((await records.getTopology("dist-endless"))?.state, "RUNNING", "nobody was left to record it");
    const s = await ardea(["status", "dist-endless"]);
    assert.is(s.code, 0, s.stderr);
    assert.match(s.stdout, /state\s+FAILED/);
    assert.match(s.stdout, /master lost: its lease expired/);
    const rec = await records.getTopology("dist-endless");
    assert.is(rec?.state, "FAILED");
    const json = JSON.parse((await ardea(["status", "dist-endless", "--json"])).stdout);
    assert.is(json.state, "FAILED");
    assert.match(json.error, /master lost/);
  } catch (e) {
    await cleanUp([masterPid, ...containers]);
    throw e;
  }
});

test("NATS down for 35 s under a running topology: no container is restarted, it stays RUNNING, and ends KILLED after", async () => {
  const { child, containers, stderr } = await submitEndless([], true);
  try {
    await nats.restartServer(0, { downMs: 35_000 });
    await sleep(15_000);
    const rec = await records.getTopology("dist-endless");
    assert.is(rec?.state, "RUNNING", stderr.join("\n"));
    const cs = await records.listContainers("dist-endless");
    assert.equal(cs.map((c) => c.restarts), [0, 0], stderr.join("\n"));
    assert.ok(containers.every(alive), "the same container processes");
    assert.not.match(stderr.join("\n"), /silent for/);
    const k = await ardea(["kill", "dist-endless", "--wait-secs", "0"]);
    assert.is(k.code, 0, k.stderr);
    await child.exited;
    assert.is((await records.getTopology("dist-endless"))?.state, "KILLED");
  } catch (e) {
    child.kill("SIGKILL");
    await cleanUp(containers);
    throw e;
  }
});

test("a pool master killed with SIGKILL is replaced by a worker; the containers run on", async () => {
  const workers: ChildHandle[] = [];
  const logs: string[] = [];
  try {
    for (const i of [0, 1]) {
      const [cmd, argv] = ardeaCmd(["worker", "--slots", "2", "--id", `fw${i}`]);
      const w = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
      void collect(w.lines("stderr"), logs);
      void collect(w.lines("stdout"), logs);
      workers.push(w);
    }
    await until(
      "both workers",
      async () => ((await records.listWorkers()).filter((w) => w.id.startsWith("fw")).length === 2 ? true : undefined),
    );
    const { child, containers } = await submitEndless(["--scheduler", "pool"], true);
    const before = await records.getLease("dist-endless");
    child.kill("SIGKILL");
    await child.exited;
    const lease = await until("another master", async () => {
      const l = await records.getLease("dist-endless");
      return l !== undefined && l.holder !== before?.holder && l.expiresAt > Date.now() ? l : undefined;
    }, 40_000).catch(() => undefined);
    assert.ok(lease, `no worker took over:\n${logs.join("\n")}`);
    const rec = await records.getTopology("dist-endless");
    assert.is(rec?.state, "RUNNING");
    assert.ok(containers.every(alive), "the containers ran on");
    // The new master is in charge: it kills the topology.
    const k = await ardea(["kill", "dist-endless", "--wait-secs", "0"]);
    assert.is(k.code, 0, k.stderr);
    await until(
      "KILLED",
      async () => ((await records.getTopology("dist-endless"))?.state === "KILLED" ? true : undefined),
    );
  } finally {
    await records.updateTopology("dist-endless", (r) => (r.state === "RUNNING" ? { ...r, state: "KILLED" } : undefined))
      .catch(() => {});
    for (const w of workers) w.kill("SIGTERM");
    await Promise.allSettled(workers.map((w) => w.exited));
  }
});

test.run();
