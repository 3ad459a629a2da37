// timeout: 300
// EFFECTIVELY_ONCE across containers: checkpoints coordinated by the master
// in the NATS state backend; chaos in a bolt, a container killed with
// SIGKILL mid-run, a live rescale; the word counts are exactly the truth.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import { runEpoch } from "../transport/wire/mod.ts";
import {
  ardeaRoot,
  type ChildHandle,
  env,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { ardeaCmd, collect } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

/** Writes 250k generated lines to `dir`/in.txt; returns the true counts. */
async function corpus(dir: string, seed: number, prefix: string): Promise<Map<string, number>> {
  const lines: string[] = [];
  for (let i = 0; i < 250_000; i++) {
    const ws: string[] = [];
    for (let k = 0; k < 10; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      ws.push(`${prefix}${seed % 800}`);
    }
    lines.push(ws.join(" "));
  }
  const truth = new Map<string, number>();
  for (const l of lines) for (const w of l.split(" ")) truth.set(w, (truth.get(w) ?? 0) + 1);
  await writeTextFile(resolvePath(dir, "in.txt"), lines.join("\n") + "\n");
  return truth;
}

/** Children of the current test, killed when it ends (a failed assertion leaves a run going). */
const children = new Set<ChildHandle>();

/** `ardea <args>` as a child on this runtime; its output lines collect into `logs`. */
function ardea(
  nats: NatsHandle,
  args: string[],
  logs: string[],
  env: Record<string, string> = {},
): { child: ChildHandle; reading: Promise<unknown> } {
  const [cmd, argv] = ardeaCmd(args);
  const child = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]!, ...env },
  });
  children.add(child);
  const reading = Promise.all([
    collect(child.lines("stderr"), logs),
    collect(child.lines("stdout"), logs),
  ]);
  return { child, reading };
}

function submitArgs(dir: string, extra: string[]): string[] {
  return [
    "submit",
    "examples/word_count.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    "--input",
    resolvePath(dir, "in.txt"),
    "--out",
    resolvePath(dir, "out.json"),
    "--mode",
    "effectively-once",
    "--checkpoint-secs",
    "0.1",
    ...extra,
  ];
}

async function firstCommit(nc: NatsConnection): Promise<void> {
  const backend = new NatsStateBackend(nc);
  const until = Date.now() + 60_000;
  while (Date.now() < until && !(await backend.lastCommitted("word-count").catch(() => undefined))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await backend.close();
}

/** kill -9 of container 1 of "word-count". */
async function killContainer1(nc: NatsConnection, logs: string[]): Promise<void> {
  const c1 = (await (await Records.bind(nc))?.listContainers("word-count"))?.find((c) => c.container === 1);
  assert.ok(c1 && c1.pid > 0, `container 1 is not running\n${logs.join("\n")}`);
  process.kill(c1!.pid, "SIGKILL");
}

/** `ardea update word-count --component-parallelism count:N`, which must succeed. */
async function rescaleCount(nats: NatsHandle, n: number): Promise<void> {
  const upLogs: string[] = [];
  const up = ardea(nats, ["update", "word-count", "--component-parallelism", `count:${n}`], upLogs);
  await up.reading;
  assert.is((await up.child.exited).code, 0, upLogs.join("\n"));
}

async function assertExact(dir: string, truth: Map<string, number>, logs: string[]): Promise<void> {
  const got = JSON.parse(await readTextFile(resolvePath(dir, "out.json"))) as Record<string, number>;
  const wrong = [...truth].filter(([w, n]) => got[w] !== n);
  const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
  const why = () =>
    `${wrong.length} of ${truth.size} words miscounted (${sum(Object.values(got))} counted, ${
      sum(truth.values())
    } true), e.g. ` +
    wrong.slice(0, 5).map(([w, n]) => `${w}: ${got[w]} for ${n}`).join(", ") + `\n${
      logs.filter((l) => l.includes("[ardea]") || l.includes("ardea:")).join("\n")
    }`;
  assert.is(Object.keys(got).length, truth.size, why());
  assert.ok(wrong.length === 0, wrong.length === 0 ? "" : why());
}

async function withCluster(fn: (nats: NatsHandle, nc: NatsConnection, dir: string) => Promise<void>): Promise<void> {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const dir = await makeTempDir("ardea-dist-eo-");
  try {
    await fn(nats, nc, dir);
  } finally {
    for (const c of children) c.kill("SIGKILL");
    children.clear();
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
}

test("runEpoch: every generation of a run has its own epoch; generation 0 is the run's", () => {
  const at = 1_764_350_000_123;
  assert.is(runEpoch(at), runEpoch(at, 0));
  const seen = new Set<number>();
  for (let g = 0; g < 1000; g++) seen.add(runEpoch(at, g));
  assert.is(seen.size, 1000, "no two generations share an epoch");
  assert.not.ok(seen.has(runEpoch(at + 1)), "nor one of a run submitted a millisecond later");
  for (const e of seen) assert.ok(Number.isInteger(e) && e >= -(2 ** 31) && e < 2 ** 31, "an int32");
});

test("distributed effectively-once word count: chaos and kill -9, exact counts", () =>
  withCluster(async (nats, nc, dir) => {
    const truth = await corpus(dir, 3, "w");
    const logs: string[] = [];
    const run = ardea(nats, submitArgs(dir, ["--chaos", "0.001"]), logs);
    await firstCommit(nc);
    await killContainer1(nc, logs);
    const exit = await run.child.exited;
    await run.reading;
    assert.is(exit.code, 0, logs.join("\n"));
    assert.ok(logs.some((l) => l.includes("rolls back")), "the kill caused a rollback");
    const rec = await (await Records.bind(nc))!.getTopology("word-count");
    assert.ok((rec?.generation ?? 0) >= 1, `the rollback relaunched a new generation (record: ${rec?.generation})`);
    await assertExact(dir, truth, logs);
  }));

test("distributed effectively-once: rollbacks run in place (a failed save: no process restarts; a kill: only the dead one starts again), counts exact", () =>
  withCluster(async (nats, nc, dir) => {
    const truth = await corpus(dir, 5, "p");
    const logs: string[] = [];
    // A state save that fails (once, in whichever container gets there first) makes that container ask for a rollback.
    const faults = {
      ARDEA_FAULT_AT: "saved:3",
      ARDEA_FAULT_ACTION: "throw",
      ARDEA_FAULT_LOG: resolvePath(dir, "faults.log"),
    };
    const run = ardea(nats, submitArgs(dir, []), logs, faults);
    const pids = async () =>
      new Map(((await (await Records.bind(nc))?.listContainers("word-count")) ?? []).map((c) => [c.container, c.pid]));
    await firstCommit(nc);
    // Wait for the rollback the failed save causes, then compare the processes.
    const until = Date.now() + 60_000;
    while (Date.now() < until && !logs.some((l) => l.includes("rolling back in place"))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(
      logs.some((l) => l.includes("rolling back in place")),
      `the failed save's rollback ran in place\n${logs.join("\n")}`,
    );
    const before = await pids();
    assert.is(before.size, 2);
    await killContainer1(nc, logs);
    const exit = await run.child.exited;
    await run.reading;
    assert.is(exit.code, 0, logs.join("\n"));
    const spawned = logs.filter((l) => / container \d+: rolling back in place/.test(l));
    assert.ok(
      spawned.some((l) => l.includes("container 0:")),
      "container 0 rolled back in place after the kill of container 1",
    );
    const after = await pids();
    assert.is(after.get(0), before.get(0), "container 0 is the same process from start to end");
    assert.is.not(after.get(1), before.get(1), "container 1, killed, is a new process");
    await assertExact(dir, truth, logs);
  }));

test("distributed effectively-once: a live rescale of the stateful count bolt keeps counts exact", () =>
  withCluster(async (nats, nc, dir) => {
    const truth = await corpus(dir, 5, "v");
    const logs: string[] = [];
    const run = ardea(nats, submitArgs(dir, ["--counters", "2"]), logs);
    await firstCommit(nc);
    const records = (await Records.bind(nc))!;
    const before = (await records.getTopology("word-count"))!;
    await rescaleCount(nats, 3);
    // The plan changes only with the generation (every container of one generation runs one plan).
    const asked = (await records.getTopology("word-count"))!;
    assert.ok(
      (asked.generation ?? 0) > (before.generation ?? 0) || asked.components.count?.length === 2,
      `the running plan changed without a relaunch: generation ${asked.generation}, count tasks ${asked.components.count}`,
    );
    const exit = await run.child.exited;
    await run.reading;
    assert.is(exit.code, 0, logs.join("\n"));
    const rec = await records.getTopology("word-count");
    assert.is(rec?.components.count?.length, 3, "count runs 3 tasks after the update");
    assert.is(rec?.nextPlan, undefined, "the asked plan was taken up");
    assert.ok(
      logs.some((l) => l.includes("committed before the update")),
      `the update went through a fresh checkpoint\n${logs.join("\n")}`,
    );
    await assertExact(dir, truth, logs);
  }));

test("distributed effectively-once: an update asked for during a rollback follows it, counts exact", () =>
  withCluster(async (nats, nc, dir) => {
    const truth = await corpus(dir, 7, "u");
    const logs: string[] = [];
    const run = ardea(nats, submitArgs(dir, ["--counters", "2"]), logs);
    await firstCommit(nc);
    await killContainer1(nc, logs);
    await rescaleCount(nats, 3);
    const exit = await run.child.exited;
    await run.reading;
    assert.is(exit.code, 0, logs.join("\n"));
    const rec = await (await Records.bind(nc))!.getTopology("word-count");
    assert.is(rec?.components.count?.length, 3, `count runs 3 tasks after the update\n${logs.join("\n")}`);
    assert.ok(
      logs.some((l) => l.includes(`updating "word-count"`)),
      `the master carried the update out\n${logs.join("\n")}`,
    );
    if (env("ARDEA_TEST_VERBOSE")) console.log(logs.filter((l) => l.includes("master")).join("\n"));
    await assertExact(dir, truth, logs);
  }));

test.run();
