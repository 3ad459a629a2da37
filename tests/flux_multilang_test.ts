// timeout: 300
// Storm users' topology as they write it: a Flux file with Storm's shell
// wrappers, a finite Python multilang spout, and Python and Node split
// bolts (tests/fixtures/flux_multilang/), under `ardea run` and over 2
// containers with `ardea submit` (the scripts travel as the bundle's
// resources/), and with split processes SIGKILLed mid-run.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { asText, collect, runArdea, show, spawnArdea } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";
import { until } from "../testing/wait.ts";

const FLUX = "tests/fixtures/flux_multilang/word_count.yaml";
const SENTENCES = "tests/fixtures/multilang/python/sentences.txt";
const REPEAT = 3;
let dir: string;
let runs = 0;

test.before(async () => {
  dir = await makeTempDir("ardea-flux-multilang-");
});

test.after(async () => {
  await removePath(dir);
});

/** The true word counts: every line of sentences.txt, REPEAT times, split on white space. */
async function truth(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const lines = (await readTextFile(SENTENCES)).split("\n").filter((l) => l.trim() !== "");
  for (let r = 0; r < REPEAT; r++) {
    for (const line of lines) for (const w of line.trim().split(/\s+/)) counts[w] = (counts[w] ?? 0) + 1;
  }
  return counts;
}

/** A run's properties file (--filter) and where its reports go; `hold` > 0 holds the spout until the gate file. */
async function properties(hold = 0): Promise<{ file: string; out: string; tag: string }> {
  const n = runs++;
  const out = resolvePath(dir, `wc${n}`);
  const tag = `${runtimeName()}-${n}-${Date.now()}`;
  const file = resolvePath(dir, `run${n}.properties`);
  await writeTextFile(file, `out=${out}\nrepeat=${REPEAT}\nrun=${tag}\nhold=${hold}\n`);
  return { file, out, tag };
}

async function reports(out: string): Promise<{ python: Record<string, number>; node: Record<string, number> }> {
  return {
    python: JSON.parse(await readTextFile(`${out}-python.json`)),
    node: JSON.parse(await readTextFile(`${out}-node.json`)),
  };
}

/** SIGKILLs the newest process whose command line matches `pattern` (pkill -f -n); true if one was. */
async function killNewest(pattern: string): Promise<boolean> {
  const { code } = await spawnProcess("pkill", ["-KILL", "-n", "-f", pattern], { stdio: "pipe" }).exited;
  return code === 0;
}

test("ardea run: a Python spout, Python and Node split bolts (Storm's Flux shell wrappers) give exact counts", async () => {
  const p = await properties();
  const r = asText(await runArdea(["run", "--filter", p.file, FLUX]));
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr, /"flux-multilang-word-count" FINISHED .*failed 0, timed out 0, restarts 0/);
  const expected = await truth();
  const got = await reports(p.out);
  assert.equal(got.python, expected);
  assert.equal(got.node, expected);
});

test("ardea submit over 2 containers: the scripts travel as resources/, exact counts", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  try {
    const p = await properties();
    const r = asText(
      await runArdea(
        ["submit", "--filter", p.file, FLUX, "--containers", "2", "--runtime", runtimeName(), "--wait"],
        { ARDEA_NATS_URL: nats.urls[0]! },
      ),
    );
    assert.is(r.code, 0, show(r));
    assert.match(r.stderr, /submitted "flux-multilang-word-count" \(2 container\(s\), 11 tasks/);
    assert.match(r.stderr, /ended FINISHED/);
    const expected = await truth();
    const got = await reports(p.out);
    assert.equal(got.python, expected);
    assert.equal(got.node, expected);
  } finally {
    await nats.stop();
  }
});

test("a Python and a Node split process SIGKILLed mid-run are restarted and no word is lost (ATLEAST_ONCE)", async () => {
  const p = await properties(120);
  const child = spawnArdea(["run", "--filter", p.file, FLUX]);
  const stderr: string[] = [];
  const output = Promise.all([collect(child.lines("stdout")), collect(child.lines("stderr"), stderr)]);
  try {
    await until("the spout to hold", () => stderr.some((l) => l.includes("holding after")), 60_000);
    assert.ok(await killNewest(`split_bolt.py --run ${p.tag}$`), "no Python split process to kill");
    assert.ok(await killNewest(`split_bolt.mjs --run=${p.tag}$`), "no Node split process to kill");
    await writeTextFile(`${p.out}-gate`, "");
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  const { code } = await child.exited;
  const [stdout] = await output;
  const r = { code, stdout, stderr };
  assert.is(code, 0, show(r));
  assert.match(stderr.join("\n"), /split-python \(task \d+\) crashed \(restarting\): MultilangError: /);
  assert.match(stderr.join("\n"), /split-node \(task \d+\) crashed \(restarting\): MultilangError: /);
  assert.match(stderr.join("\n"), /"flux-multilang-word-count" FINISHED .*restarts [2-9]/);
  const expected = await truth();
  const got = await reports(p.out);
  for (const [name, counts] of Object.entries(got)) {
    for (const [w, n] of Object.entries(expected)) {
      assert.ok((counts[w] ?? 0) >= n, `${name} ${w}: ${counts[w]} >= ${n}`);
    }
  }
});

test.run();
