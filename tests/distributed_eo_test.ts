// timeout: 300
// EFFECTIVELY_ONCE across containers: checkpoints coordinated by the master
// in the NATS state backend; chaos in a bolt and a container killed with
// SIGKILL mid-run; the word counts are exactly the true counts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import process from "node:process";
import { connect } from "nats";
import { Records } from "../engine/records.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import { ardeaRoot, execPath, makeTempDir, readTextFile, removePath, resolvePath, runtimeName, spawnProcess, writeTextFile } from "../runtime/mod.ts";
import { startNats } from "./nats_server.ts";

test("distributed effectively-once word count: chaos and kill -9, exact counts", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const dir = await makeTempDir("ardea-dist-eo-");
  try {
    const lines: string[] = [];
    let seed = 3;
    for (let i = 0; i < 250_000; i++) {
      const ws: string[] = [];
      for (let k = 0; k < 10; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        ws.push(`w${seed % 700}`);
      }
      lines.push(ws.join(" "));
    }
    const truth = new Map<string, number>();
    for (const l of lines) for (const w of l.split(" ")) truth.set(w, (truth.get(w) ?? 0) + 1);
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    await writeTextFile(input, lines.join("\n") + "\n");
    const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
    const args = [
      "submit", "examples/word_count.ts", "--containers", "2", "--runtime", runtimeName(), "--wait",
      "--", "--input", input, "--out", out, "--mode", "effectively-once", "--checkpoint-secs", "0.1", "--chaos", "0.001",
    ];
    const [cmd, argv] = runtimeName() === "deno" ? [execPath(), ["run", "-A", bin, ...args]] : [execPath(), [bin, ...args]];
    const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
    const logs: string[] = [];
    const reading = Promise.all([
      (async () => { for await (const l of child.lines("stderr")) logs.push(l); })(),
      (async () => { for await (const l of child.lines("stdout")) logs.push(l); })(),
    ]);
    // Kill container 1 once a checkpoint is committed.
    const backend = new NatsStateBackend(nc);
    const until = Date.now() + 60_000;
    let killed = false;
    while (Date.now() < until && !killed) {
      const committed = await backend.lastCommitted("word-count").catch(() => undefined);
      const records = await Records.bind(nc);
      const c1 = (await records?.listContainers("word-count"))?.find((c) => c.container === 1);
      if (committed && c1 && c1.pid > 0) {
        process.kill(c1.pid, "SIGKILL");
        killed = true;
      } else await new Promise((r) => setTimeout(r, 20));
    }
    const exit = await child.exited;
    await reading;
    assert.ok(killed, `never killed a container\n${logs.join("\n")}`);
    assert.is(exit.code, 0, logs.join("\n"));
    assert.ok(logs.some((l) => l.includes("rolls back")), "the kill caused a rollback");
    const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
    assert.is(Object.keys(got).length, truth.size);
    for (const [w, n] of truth) assert.is(got[w], n, w);
    await backend.close();
  } finally {
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test("distributed effectively-once: a live rescale of the stateful count bolt keeps counts exact", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const nc = await connect({ servers: nats.urls[0] });
  const dir = await makeTempDir("ardea-dist-eo-rescale-");
  try {
    const lines: string[] = [];
    let seed = 5;
    for (let i = 0; i < 250_000; i++) {
      const ws: string[] = [];
      for (let k = 0; k < 10; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        ws.push(`v${seed % 900}`);
      }
      lines.push(ws.join(" "));
    }
    const truth = new Map<string, number>();
    for (const l of lines) for (const w of l.split(" ")) truth.set(w, (truth.get(w) ?? 0) + 1);
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    await writeTextFile(input, lines.join("\n") + "\n");
    const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
    const cmdFor = (args: string[]): [string, string[]] =>
      runtimeName() === "deno" ? [execPath(), ["run", "-A", bin, ...args]] : [execPath(), [bin, ...args]];
    const env = { ARDEA_NATS_URL: nats.urls[0]! };
    const [cmd, argv] = cmdFor([
      "submit", "examples/word_count.ts", "--containers", "2", "--runtime", runtimeName(), "--wait",
      "--", "--input", input, "--out", out, "--mode", "effectively-once", "--checkpoint-secs", "0.1", "--counters", "2",
    ]);
    const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
    const logs: string[] = [];
    const reading = Promise.all([
      (async () => { for await (const l of child.lines("stderr")) logs.push(l); })(),
      (async () => { for await (const l of child.lines("stdout")) logs.push(l); })(),
    ]);
    const backend = new NatsStateBackend(nc);
    const until = Date.now() + 60_000;
    while (Date.now() < until && !(await backend.lastCommitted("word-count").catch(() => undefined))) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const [ucmd, uargv] = cmdFor(["update", "word-count", "--component-parallelism", "count:3"]);
    const up = spawnProcess(ucmd, uargv, { cwd: ardeaRoot(), stdio: "pipe", env });
    const upOut: string[] = [];
    await Promise.all([
      (async () => { for await (const l of up.lines("stderr")) upOut.push(l); })(),
      (async () => { for await (const l of up.lines("stdout")) upOut.push(l); })(),
    ]);
    assert.is((await up.exited).code, 0, upOut.join("\n"));
    const exit = await child.exited;
    await reading;
    assert.is(exit.code, 0, logs.join("\n"));
    const rec = await (await Records.bind(nc))!.getTopology("word-count");
    assert.is(rec?.components.count?.length, 3, "count runs 3 tasks after the update");
    const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
    assert.is(Object.keys(got).length, truth.size);
    for (const [w, n] of truth) assert.is(got[w], n, w);
    await backend.close();
  } finally {
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test.run();
