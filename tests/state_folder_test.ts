// timeout: 300
// The state folder of embedded EFFECTIVELY_ONCE runs under the faults a user
// causes: a second run of the same topology on the same folder (what a
// SIGKILL sent to `npx` leaves behind: the real run goes on) is refused,
// naming the run that holds it, and a lock left by a killed run is taken
// over; a save that fails before the other tasks have saved rolls back
// instead of escaping as an uncaught exception; a folder that cannot be
// used fails the run at once with what to do, instead of rolling back until
// the restart budget is spent.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { mkdirSync, writeFileSync } from "node:fs";
import {
  ardeaRoot,
  type ChildHandle,
  fileExists,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  scriptCommand,
  spawnProcess,
} from "../runtime/mod.ts";
import { FileStateBackend } from "../state/file_state_backend.ts";
import { bolt, submit, TopologyBuilder } from "../mod.ts";
import { NumbersSpout } from "./fixtures/numbers_spout.ts";
import { collect } from "../testing/child.ts";
import { compareCounts, writeCorpus } from "../testing/eo_faults.ts";
import { sleep } from "../testing/wait.ts";

function wordCount(args: string[], env: Record<string, string> = {}): { child: ChildHandle; output: Promise<string> } {
  const { cmd, args: argv } = scriptCommand(resolvePath(ardeaRoot(), "examples", "word_count.ts"), [
    "--mode",
    "effectively-once",
    ...args,
  ]);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
  const lines: string[] = [];
  const output = Promise.all([
    collect(child.lines("stdout"), lines),
    collect(child.lines("stderr"), lines),
  ]).then(() => lines.join("\n"));
  return { child, output };
}

test("a second run on a state folder in use is refused, naming the run that holds it; a killed run's lock is taken over", async () => {
  const dir = await makeTempDir("ardea-lock-");
  try {
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    const state = resolvePath(dir, "state");
    const truth = await writeCorpus(input, 1_500_000, 5);
    const first = wordCount(["--input", input, "--out", out, "--state-dir", state, "--checkpoint-secs", "0.1"]);
    const lockFile = new FileStateBackend(state).lockFile("word-count");
    for (let i = 0; i < 600 && !(await fileExists(resolvePath(state, "word-count"))); i++) await sleep(50);
    assert.ok(await fileExists(lockFile), "the running topology holds a lock");

    const second = wordCount(["--input", input, "--out", resolvePath(dir, "other.json"), "--state-dir", state]);
    const exit2 = await second.child.exited;
    const said = await second.output;
    assert.is(exit2.code, 1, said);
    assert.match(said, `is being run there by process ${first.child.pid}`);
    assert.match(said, "another state folder");
    assert.not.match(said, "CHECKPOINT_COMMITTED");
    assert.not.match(said, /\n\s+at /, "no stack trace");

    // The first run is killed for good: its lock is stale and the next run resumes.
    first.child.kill("SIGKILL");
    await first.child.exited;
    assert.ok(await fileExists(lockFile), "a killed run leaves its lock");
    const third = wordCount(["--input", input, "--out", out, "--state-dir", state, "--checkpoint-secs", "0.1"]);
    const exit3 = await third.child.exited;
    const log3 = await third.output;
    assert.is(exit3.code, 0, log3);
    assert.is(await compareCounts(out, truth), "");
    assert.not.ok(await fileExists(lockFile), "a run that ends removes its lock");
  } finally {
    await removePath(dir);
  }
});

test("a save that fails before the other tasks have saved rolls the run back (no uncaught exception); counts exact", async () => {
  const dir = await makeTempDir("ardea-savefail-");
  try {
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    const truth = await writeCorpus(input, 400_000, 6);
    const run = wordCount(
      ["--input", input, "--out", out, "--state-dir", resolvePath(dir, "state"), "--checkpoint-secs", "0.05"],
      { ARDEA_FAULT_AT: "save:1", ARDEA_FAULT_ACTION: "throw", ARDEA_FAULT_LOG: resolvePath(dir, "faults.log") },
    );
    const exit = await run.child.exited;
    const log = await run.output;
    assert.is(exit.code, 0, log);
    assert.match(await readTextFile(resolvePath(dir, "faults.log")), /^save:1 /, "the fault point was reached");
    assert.match(log, "fault injected at save:1");
    assert.match(log, "rolling back");
    assert.is(await compareCounts(out, truth), "");
  } finally {
    await removePath(dir);
  }
});

test("a state folder that cannot be used fails the run at once, saying what to do", async () => {
  const dir = await makeTempDir("ardea-badstate-");
  try {
    // The state folder's path runs through a file.
    writeFileSync(resolvePath(dir, "afile"), "x");
    const started = Date.now();
    const run = wordCount(["--state-dir", resolvePath(dir, "afile", "state")]);
    const exit = await run.child.exited;
    const log = await run.output;
    assert.is(exit.code, 1, log);
    assert.match(log, "is a file, not a folder: choose another state folder");
    assert.not.match(log, "rolling back");
    assert.ok(Date.now() - started < 30_000, `failed in ${Date.now() - started} ms`);

    // A checkpoint folder that cannot be read (its path is taken by a file).
    const state = resolvePath(dir, "state2");
    mkdirSync(resolvePath(state, "word-count"), { recursive: true });
    writeFileSync(resolvePath(state, "word-count", "1"), "not a checkpoint folder");
    const run2 = wordCount(["--state-dir", state, "--checkpoint-secs", "0.05"]);
    const exit2 = await run2.child.exited;
    const log2 = await run2.output;
    assert.is(exit2.code, 1, log2);
    assert.match(log2, "is a file, not a folder: choose another state folder");

    // A state that can never be saved (its file name is too long for the
    // file system) fails the run at its first save, not after a rollback
    // per restart until the budget is spent.
    const builder = new TopologyBuilder();
    builder.setSpout("n".repeat(250), new NumbersSpout(Infinity, 1), 1);
    builder.setBolt("sink", bolt(() => {}), 1).shuffleGrouping("n".repeat(250));
    const t0 = Date.now();
    const handle = await submit(
      "long-names",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": resolvePath(dir, "state3"),
        "topology.stateful.checkpoint.interval.seconds": 0.05,
      },
      builder.createTopology(),
      { handleSignals: false },
    );
    const error = await handle.done.then(() => undefined, (e: Error) => e);
    assert.ok(error !== undefined, "the run fails");
    assert.match(error!.message, "choose a shorter one");
    assert.is((error as { code?: string }).code, "STATE_FAILED");
    assert.ok(Date.now() - t0 < 10_000, `failed after ${Date.now() - t0} ms`);
  } finally {
    await removePath(dir);
  }
});

test.run();
