// timeout: 300
// The pool scheduler: two `ardea worker` processes, a topology submitted
// with --scheduler pool lands on both and its counts are exact.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "nats";
import { Records } from "../engine/records.ts";
import {
  ardeaRoot,
  type ChildHandle,
  execPath,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { startNats } from "./nats_server.ts";

function ardeaCmd(args: string[]): [string, string[]] {
  const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
  return runtimeName() === "deno" ? [execPath(), ["run", "-A", bin, ...args]] : [execPath(), [bin, ...args]];
}

async function collect(lines: AsyncIterable<string>, sink: string[]): Promise<void> {
  for await (const line of lines) sink.push(line);
}

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
      "submit", "examples/word_count.ts", "--scheduler", "pool", "--containers", "2", "--runtime", runtimeName(), "--wait",
      "--", "--input", input, "--out", out,
    ]);
    const submit = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
    const stderr: string[] = [];
    await Promise.all([collect(submit.lines("stderr"), stderr), collect(submit.lines("stdout"), [])]);
    const exit = await submit.exited;
    assert.is(exit.code, 0, stderr.join("\n"));
    const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
    for (const [w, n] of truth) assert.is(got[w], n, w);
    for (const i of [0, 1]) {
      assert.ok(logs[i]!.some((l) => l.includes("running word-count container")), `worker w${i} ran nothing:\n${logs[i]!.join("\n")}`);
    }
  } finally {
    for (const w of workers) w.kill("SIGTERM");
    await Promise.allSettled(workers.map((w) => w.exited));
    await nc.close();
    await nats.stop();
    await removePath(dir);
  }
});

test.run();
