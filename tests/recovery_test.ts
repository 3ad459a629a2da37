// timeout: 300
// kill -9 of a container mid-run: the master restarts it, the topology
// recovers and every input tuple reaches the durable sink at least once.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { Records } from "../cluster/records.ts";
import {
  ardeaRoot,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
} from "../runtime/mod.ts";
import { connect } from "nats";
import { ardeaCmd, collect } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";
import { readdirSync } from "node:fs";

test("kill -9 of a container: restarted, and every tuple reaches the sink at least once", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const dir = await makeTempDir("ardea-recovery-");
  const count = 3000;
  try {
    const args = [
      "submit",
      "tests/fixtures/dist_durable.ts",
      "--containers",
      "2",
      "--runtime",
      runtimeName(),
      "--wait",
      "--",
      "--dir",
      dir,
      "--count",
      String(count),
    ];
    const [cmd, argv] = ardeaCmd(args);
    const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
    const stderr: string[] = [];
    const reading = Promise.all([collect(child.lines("stderr"), stderr), collect(child.lines("stdout"), [])]);

    const seen = async () => {
      const got = new Set<number>();
      for (const f of readdirSync(dir)) {
        for (const l of (await readTextFile(resolvePath(dir, f))).split("\n")) if (l) got.add(Number(l));
      }
      return got;
    };
    // Wait for the run to be under way, then kill container 1 hard.
    let records: Records | undefined;
    const deadline = Date.now() + 60_000;
    let victim = 0;
    while (Date.now() < deadline) {
      records ??= await Records.bind(nc);
      const cs = (await records?.listContainers("dist-durable")) ?? [];
      const c1 = cs.find((c) => c.container === 1);
      if (c1 && c1.pid > 0 && (await seen()).size > count / 10) {
        victim = c1.pid;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(victim > 0, `container 1 never got going\n${stderr.join("\n")}`);
    const killedAt = performance.now();
    process.kill(victim, "SIGKILL");
    const before = (await seen()).size;
    // Recovery: progress resumes (the sink grows again).
    let resumedMs = -1;
    while (performance.now() - killedAt < 60_000) {
      if ((await seen()).size > before + 50) {
        resumedMs = performance.now() - killedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const exit = await child.exited;
    await reading;
    assert.is(exit.code, 0, stderr.join("\n"));
    assert.ok(resumedMs >= 0, "processing never resumed");
    const got = await seen();
    const missing: number[] = [];
    for (let i = 0; i < count; i++) if (!got.has(i)) missing.push(i);
    assert.equal(missing, [], `lost tuples: ${missing.slice(0, 20)}`);
    const rejoin = stderr.find((l) => l.includes("rejoined"));
    assert.ok(rejoin, stderr.join("\n"));
    console.log(`recovery (${runtimeName()}): processing resumed ${resumedMs.toFixed(0)} ms after kill -9; ${rejoin}`);
  } finally {
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test.run();
