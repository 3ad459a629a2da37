// timeout: 300
// `ardea update --component-parallelism` and `ardea restart` during a run:
// every tuple is still processed and new tasks take traffic.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { existsSync, readdirSync } from "node:fs";
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

async function run(args: string[], env: Record<string, string>) {
  const [cmd, argv] = ardeaCmd(args);
  const c = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
  const out: string[] = [];
  await Promise.all([collect(c.lines("stdout"), out), collect(c.lines("stderr"), out)]);
  return { code: (await c.exited).code, out: out.join("\n") };
}

test("update adds sink tasks mid-run and a restart of container 0 loses nothing", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const dir = await makeTempDir("ardea-rescale-");
  const count = 6000;
  const env = { ARDEA_NATS_URL: nats.urls[0]! };
  try {
    const [cmd, argv] = ardeaCmd([
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
    ]);
    const submit = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
    const log: string[] = [];
    const reading = Promise.all([collect(submit.lines("stderr"), log), collect(submit.lines("stdout"), log)]);
    const seen = async () => {
      const got = new Set<number>();
      for (const f of readdirSync(dir)) {
        for (const l of (await readTextFile(resolvePath(dir, f))).split("\n")) if (l) got.add(Number(l));
      }
      return got;
    };
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await seen()).size < count / 10) await new Promise((r) => setTimeout(r, 100));

    const up = await run(["update", "dist-durable", "--component-parallelism", "sink:3"], env);
    assert.is(up.code, 0, up.out);
    // Tasks are renumbered: numbers 1, pass 2-3, sink 4-6; task 6 is new.
    const newTask = resolvePath(dir, "sink-6.txt");
    const t1 = Date.now() + 60_000;
    while (Date.now() < t1 && !existsSync(newTask)) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(newTask), `the new sink task never received a tuple\n${log.join("\n")}`);

    const re = await run(["restart", "dist-durable", "0"], env);
    assert.is(re.code, 0, re.out);

    const exit = await submit.exited;
    await reading;
    assert.is(exit.code, 0, log.join("\n"));
    const got = await seen();
    const missing: number[] = [];
    for (let i = 0; i < count; i++) if (!got.has(i)) missing.push(i);
    assert.equal(missing, [], `lost: ${missing.slice(0, 20)}`);
    const rec = await (await Records.bind(nc))!.getTopology("dist-durable");
    assert.equal(rec?.components.sink, [4, 5, 6]);
    assert.is(rec?.state, "FINISHED");
  } finally {
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test("update of an unknown component or topology is refused", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  try {
    const r = await run(["update", "nope", "--component-parallelism", "x:2"], { ARDEA_NATS_URL: nats.urls[0]! });
    assert.is(r.code, 1, r.out);
    assert.match(r.out, /no topology "nope"/);
    const bad = await run(["update", "nope", "--component-parallelism", "x:0"], { ARDEA_NATS_URL: nats.urls[0]! });
    assert.is(bad.code, 2, bad.out);
  } finally {
    await nats.stop();
  }
});

test.run();
