// timeout: 300
// A 3-server NATS cluster (KV and object store with 3 replicas): one server
// is stopped mid-run; clients fail over, the run completes, nothing is lost.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { readdirSync } from "node:fs";
import { connect } from "nats";
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
import { ardeaCmd, collect } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";

test("stopping one server of a 3-server cluster mid-run loses nothing", async () => {
  const nats = await startNats({ servers: 3, jetstream: true });
  const nc = await connect({ servers: nats.urls.slice(1) });
  const dir = await makeTempDir("ardea-failover-");
  const count = 3000;
  try {
    const args = [
      "submit",
      "tests/fixtures/dist_durable.ts",
      "--containers",
      "2",
      "--replicas",
      "3",
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
    // Every process knows all three servers, the stopped one first.
    const child = spawnProcess(cmd, argv, {
      cwd: ardeaRoot(),
      stdio: "pipe",
      env: { ARDEA_NATS_URL: nats.urls.join(",") },
    });
    const stderr: string[] = [];
    const reading = Promise.all([collect(child.lines("stderr"), stderr), collect(child.lines("stdout"), [])]);
    const seen = async () => {
      const got = new Set<number>();
      for (const f of readdirSync(dir)) {
        for (const l of (await readTextFile(resolvePath(dir, f))).split("\n")) if (l) got.add(Number(l));
      }
      return got;
    };
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await seen()).size < count / 10) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await seen()).size >= count / 10, `the run never got going\n${stderr.join("\n")}`);
    await nats.stopServer(0);
    const exit = await child.exited;
    await reading;
    assert.is(exit.code, 0, stderr.join("\n"));
    const got = await seen();
    const missing: number[] = [];
    for (let i = 0; i < count; i++) if (!got.has(i)) missing.push(i);
    assert.equal(missing, [], `lost: ${missing.slice(0, 20)}`);
    const rec = await (await Records.bind(nc))!.getTopology("dist-durable");
    assert.is(rec?.state, "FINISHED");
  } finally {
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test.run();
