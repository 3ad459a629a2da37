// timeout: 300
// EFFECTIVELY_ONCE recovery of the Streamlet API's keyed running reductions
// (countByKey and reduceByKey's fold form, streamlet/components.ts
// ReduceByKeyBolt) after SIGKILL: tests/fixtures/streamlet_keyed_eo.ts runs
// newSource(lines).flatMap(split) into both with the file state backend; it
// is killed at a random moment, after its first commit and during the
// resume, then started again on the same state dir until it finishes. Its
// stateful sinks record per word the updates received and the last value:
// both must equal a plain count (nothing lost, nothing counted twice), and
// every update must follow the previous one by exactly one element; the last
// run must have restored state and executed only part of the input.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  ardeaRoot,
  type ChildHandle,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  scriptCommand,
  spawnProcess,
} from "../runtime/mod.ts";
import { sleep } from "../testing/wait.ts";
import { keyedEoLines, type KeyedEoParams } from "./fixtures/streamlet_keyed_eo_data.ts";

const PARAMS: KeyedEoParams = { lines: 250_000, seed: 3, words: 400 };

/** The sinks' rows for PARAMS, computed plainly ([word, updates, last value, out of sequence]), and the words. */
function truth(): { count: string[]; fold: string[]; words: number } {
  const counts = new Map<string, number>();
  for (const line of keyedEoLines(PARAMS)) {
    for (const w of line.split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const rows = (value: (w: string, n: number) => unknown) =>
    [...counts].map(([w, n]) => JSON.stringify([w, n, value(w, n), 0])).sort();
  return {
    count: rows((_, n) => n),
    fold: rows((w, n) => ({ n, chars: n * w.length })),
    words: [...counts.values()].reduce((a, n) => a + n, 0),
  };
}

/** `got` against `want`, first by what differs (readable), then whole. */
function same(branch: string, got: string[], want: string[]): void {
  const have = new Set(got);
  const wanted = new Set(want);
  assert.equal(
    [branch, got.length, got.filter((r) => !wanted.has(r)).slice(0, 5), want.filter((r) => !have.has(r)).slice(0, 5)],
    [branch, want.length, [], []],
    `${branch}: [rows, rows not in a plain count (first 5), plain rows missing (first 5)]`,
  );
  assert.equal(got, want);
}

test("EFFECTIVELY_ONCE, SIGKILL: countByKey and a reduceByKey fold killed (at a random moment, after a commit, during the resume) and resumed: every word counted exactly once", async () => {
  const dir = await makeTempDir("ardea-slk-kill-");
  const logs: string[] = [];
  const out = resolvePath(dir, "rows");
  const faultLog = resolvePath(dir, "faults.log");
  const launch = (env: Record<string, string>): ChildHandle => {
    const fixture = resolvePath(ardeaRoot(), "tests", "fixtures", "streamlet_keyed_eo.ts");
    const { cmd, args } = scriptCommand(fixture, [out, resolvePath(dir, "state"), JSON.stringify(PARAMS)]);
    return spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe", env, onLine: (l) => logs.push(l) });
  };
  try {
    const want = truth();
    assert.ok(want.count.length > 300 && want.count.some((r) => r.startsWith('["__proto__"')));
    const first = launch({});
    const at = 500 + Math.floor(Math.random() * 2000);
    await sleep(at);
    assert.ok(first.kill("SIGKILL"), `the first run was still running when killed after ${at} ms`);
    await first.exited;
    for (const point of ["committed:1", "restore:1"]) {
      const run = launch({ ARDEA_FAULT_AT: point, ARDEA_FAULT_LOG: faultLog });
      const exit = await run.exited;
      assert.is(exit.signal, "SIGKILL", `killed at ${point}: ${logs.slice(-10).join("\n")}`);
      assert.ok((await readTextFile(faultLog)).includes(`${point} `), `fault point ${point} reached`);
    }
    const last = launch({});
    const exit = await last.exited;
    assert.is(exit.code, 0, logs.slice(-20).join("\n"));
    const rows = async (branch: string) => (await readTextFile(`${out}.${branch}`)).split("\n").filter(Boolean);
    same(`countByKey (first kill after ${at} ms)`, await rows("count"), want.count);
    same(`reduceByKey fold (first kill after ${at} ms)`, await rows("fold"), want.fold);
    // A last run that started over (nothing restored) would count right too.
    for (const branch of ["count", "fold"]) {
      const run = JSON.parse(await readTextFile(`${out}.${branch}.run`)) as { restored: number; executed: number };
      assert.ok(
        run.restored > 0 && run.executed > 0 && run.executed < want.words,
        `${branch}: the last run resumed mid-way: restored ${run.restored} keys, executed ${run.executed} of ${want.words}`,
      );
    }
  } finally {
    await removePath(dir);
  }
});
test.run();
