// timeout: 300
// The pool scheduler: two `ardea worker` processes, a topology submitted
// with --scheduler pool lands on both and its counts are exact.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect } from "nats";
import { Records } from "../cluster/records.ts";
import { poolScheduler } from "../cluster/pool.ts";
import { type TopologyRecord, WIRE_VERSION } from "../transport/wire/mod.ts";
import {
  ardeaRoot,
  type ChildHandle,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { ardeaCmd, collect } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";
import { until, withinOrNull } from "../testing/wait.ts";

test("a pool topology lands on both workers and counts exactly", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const dir = await makeTempDir("ardea-pool-");
  const workers: ChildHandle[] = [];
  const logs: string[][] = [[], []];
  try {
    const env = { ARDEA_NATS_URL: nats.urls[0]! };
    for (const i of [0, 1]) {
      const [cmd, argv] = ardeaCmd(["worker", "--slots", "1", "--id", `w${i}`]);
      const w = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
      void collect(w.lines("stderr"), logs[i]!);
      void collect(w.lines("stdout"), logs[i]!);
      workers.push(w);
    }
    const deadline = Date.now() + 30_000;
    let records: Records | undefined;
    while (Date.now() < deadline) {
      records ??= await Records.bind(nc);
      if (records && (await records.listWorkers()).length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is((await records!.listWorkers()).length, 2, "both workers registered");

    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`red green blue w${i % 37} red`);
    const truth = new Map<string, number>();
    for (const l of lines) for (const w of l.split(" ")) truth.set(w, (truth.get(w) ?? 0) + 1);
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    await writeTextFile(input, lines.join("\n"));
    const [cmd, argv] = ardeaCmd([
      "submit",
      "examples/word_count.ts",
      "--scheduler",
      "pool",
      "--containers",
      "2",
      "--runtime",
      runtimeName(),
      "--wait",
      "--",
      "--input",
      input,
      "--out",
      out,
    ]);
    const submit = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
    const stderr: string[] = [];
    await Promise.all([collect(submit.lines("stderr"), stderr), collect(submit.lines("stdout"), [])]);
    const exit = await submit.exited;
    assert.is(exit.code, 0, stderr.join("\n"));
    const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
    for (const [w, n] of truth) assert.is(got[w], n, w);
    for (const i of [0, 1]) {
      assert.ok(
        logs[i]!.some((l) => l.includes("running word-count container")),
        `worker w${i} ran nothing:\n${logs[i]!.join("\n")}`,
      );
    }
  } finally {
    for (const w of workers) w.kill("SIGTERM");
    await Promise.allSettled(workers.map((w) => w.exited));
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test("a worker killed with SIGKILL: the master counts its containers as exited and starts them on the other worker", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const env = { ARDEA_NATS_URL: nats.urls[0]! };
  const workers: ChildHandle[] = [];
  const logs: string[] = [];
  let submit: ChildHandle | undefined;
  const stderr: string[] = [];
  const orphans: number[] = [];
  try {
    for (const i of [0, 1]) {
      const [cmd, argv] = ardeaCmd(["worker", "--slots", "2", "--id", `kw${i}`]);
      const w = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
      void collect(w.lines("stderr"), logs);
      void collect(w.lines("stdout"), logs);
      workers.push(w);
    }
    let records: Records | undefined;
    await until("both workers", async () => {
      records ??= await Records.bind(nc);
      return records && (await records.listWorkers()).length === 2 ? true : undefined;
    });
    const [cmd, argv] = ardeaCmd([
      "submit",
      "tests/fixtures/dist_endless.ts",
      "--scheduler",
      "pool",
      "--containers",
      "2",
      "--runtime",
      runtimeName(),
      "--wait",
    ]);
    submit = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
    void collect(submit.lines("stderr"), stderr);
    void collect(submit.lines("stdout"), []);
    const r = records!;
    const running = (w: { running: Array<{ topology: string }> }) =>
      w.running.filter((c) => c.topology === "dist-endless").length;
    // Both containers placed and reporting.
    const victim = await until("two running containers", async () => {
      const rec = await r.getTopology("dist-endless");
      if (rec?.state !== "RUNNING") return undefined;
      const ws = await r.listWorkers();
      if (ws.reduce((n, w) => n + running(w), 0) !== 2) return undefined;
      return ws.find((w) => running(w) > 0);
    }, 90_000);
    const survivor = victim.id === "kw0" ? "kw1" : "kw0";
    // Its containers outlive it (they notice their parent is gone); they are ended below in any case.
    orphans.push(...victim.running.map((c) => c.pid));
    process.kill(victim.pid, "SIGKILL");
    // The master restarts the lost containers on the survivor (about 12 s to notice).
    await until("both containers on the surviving worker", async () => {
      const w = (await r.listWorkers()).find((x) => x.id === survivor);
      return w !== undefined && running(w) === 2 ? true : undefined;
    }, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- master\n${stderr.join("\n")}\n--- workers\n${logs.join("\n")}`);
    });
    assert.match(stderr.join("\n"), new RegExp(`worker ${victim.id} lost`));
    // Both report again (fresh heartbeats), and the run ends when killed.
    await until("fresh heartbeats of both containers", async () => {
      const cs = await r.listContainers("dist-endless");
      return cs.length === 2 && cs.every((c) => Date.now() - c.heartbeatAt < 3000 && c.restarts <= 1) &&
          cs.some((c) => c.restarts === 1)
        ? true
        : undefined;
    }, 30_000);
    const [kcmd, kargv] = ardeaCmd(["kill", "dist-endless", "--wait-secs", "0"]);
    const k = spawnProcess(kcmd, kargv, { cwd: ardeaRoot(), stdio: "pipe", env });
    await Promise.all([collect(k.lines("stderr"), []), collect(k.lines("stdout"), [])]);
    assert.is((await k.exited).code, 0);
    const exit = await withinOrNull(submit.exited, 30_000);
    assert.ok(exit !== null, `the master did not end:\n${stderr.join("\n")}`);
    assert.is((await r.getTopology("dist-endless"))?.state, "KILLED");
  } finally {
    submit?.kill("SIGKILL");
    for (const p of orphans) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const w of workers) w.kill("SIGTERM");
    await Promise.allSettled(workers.map((w) => w.exited));
    await nc.close();
    await nats.stop();
  }
});

test("a worker on another Ardea version is not given containers: the error names it and both versions", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  try {
    const records = await Records.open(nc);
    await records.putWorker({
      version: WIRE_VERSION,
      id: "old1",
      host: "elsewhere",
      pid: 1,
      slots: 4,
      running: [],
      heartbeatAt: Date.now(),
      ardeaVersion: "0.0.1",
    });
    const record = { name: "versioned", ardeaVersion: "0.1.0", runtime: runtimeName() } as unknown as TopologyRecord;
    const pool = poolScheduler(nc, records, record);
    const child = pool.spawn(0);
    // A container that cannot be placed "exits" with the reason (the master reports it as the container's end).
    const exit = await child.exited;
    pool.close();
    const why = exit.signal ?? "";
    assert.is(exit.code, null);
    assert.match(why, "no pool worker has a free slot");
    assert.match(why, "old1 (Ardea 0.0.1)");
    assert.match(why, "submitted with Ardea 0.1.0");
  } finally {
    await nc.close();
    await nats.stop();
  }
});

test.run();
