// timeout: 400
// Streamlet topologies on a cluster: `ardea submit --containers 2` against a
// real nats-server runs the windowed word count example and windowed joins
// (count and event-time windows) with exact results, KeyValue and
// KeyedWindow crossing processes; a script that builds another graph in its
// containers than at submit (plain topology or streamlets) ends FAILED at
// once with an error naming the first difference.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import { makeTempDir, readTextFile, removePath, resolvePath, runtimeName, writeTextFile } from "../runtime/mod.ts";
import { asText, runArdea, show } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

let nats: NatsHandle;
let nc: NatsConnection;
let dir: string;

const ardea = async (args: string[]) => asText(await runArdea(args, { ARDEA_NATS_URL: nats.urls[0]! }));
const submit = (script: string, scriptArgs: string[]) =>
  ardea(["submit", script, "--containers", "2", "--runtime", runtimeName(), "--wait", "--", ...scriptArgs]);

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
  dir = await makeTempDir("ardea-sl-dist-");
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
  await removePath(dir);
});

async function state(topology: string): Promise<{ state?: string; error?: string }> {
  const rec = await (await Records.bind(nc))!.getTopology(topology);
  return { state: rec?.state, error: rec?.error };
}

test("streamlet word count (windowed) on 2 containers is exact", async () => {
  const vocab = ["heron", "streamlet", "naïve", "日本語", "🦩", "constructor", "__proto__", "toString"];
  const lines: string[] = [];
  let seed = 11;
  for (let i = 0; i < 4000; i++) {
    const words: string[] = [];
    for (let k = 0; k < 7; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      words.push(seed % 4 === 0 ? `w${seed % 211}` : vocab[seed % vocab.length]!);
    }
    lines.push(words.join(" "));
  }
  const truth = new Map<string, number>();
  for (const l of lines) for (const w of l.split(/\s+/)) if (w) truth.set(w, (truth.get(w) ?? 0) + 1);
  const input = resolvePath(dir, "wc-in.txt");
  const out = resolvePath(dir, "wc-out.json");
  await writeTextFile(input, lines.join("\n") + "\n");
  const r = await submit("examples/streamlet_word_count.ts", ["--input", input, "--out", out, "--counters", "3"]);
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr, /FINISHED/);
  const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
  assert.is(Object.keys(got).length, truth.size, "distinct words");
  for (const [w, n] of truth) assert.is(got[w], n, `count of ${w}`);
  assert.is((await state("streamlet-word-count")).state, "FINISHED");
});

/** What tests/fixtures/streamlet_join.ts must write: the inner join of its inputs, per window when `byTime`. */
function expectedJoin(byTime: boolean): string {
  const left = Array.from({ length: 300 }, (_, i) => ({ k: i % 37, v: `L${i}`, at: i * 13 }));
  const right = Array.from({ length: 200 }, (_, i) => ({ k: (i * 7) % 41, v: `R${i}`, at: i * 17 }));
  const window = (at: number) => Math.floor(at / 1000) * 1000;
  const lines: string[] = [];
  for (const l of left) {
    for (const r of right) {
      if (l.k !== r.k || (byTime && window(l.at) !== window(r.at))) continue;
      lines.push(`${byTime ? `${window(l.at)} ` : ""}${l.k} ${l.v}:${r.v}`);
    }
  }
  return lines.sort().join("\n") + "\n";
}

for (const mode of ["count", "time"] as const) {
  test(`streamlet join in a ${mode} window on 2 containers is exact`, async () => {
    const out = resolvePath(dir, `join-${mode}.txt`);
    const r = await submit("tests/fixtures/streamlet_join.ts", [out, mode]);
    assert.is(r.code, 0, show(r));
    const got = await readTextFile(out);
    const want = expectedJoin(mode === "time");
    assert.ok(want.split("\n").length > 300, "the join has results");
    assert.is(got.split("\n").length, want.split("\n").length, "result count");
    assert.is(got, want);
    assert.is((await state(`streamlet-join-${mode}`)).state, "FINISHED");
  });
}

const differs = [
  ["tasks", "differs-tasks", /bolt "count" has 3 tasks here, 2 at submit/],
  ["component", "differs-component", /bolt "evens" missing here/],
] as const;
for (const [mode, topology, difference] of differs) {
  test(`a script that builds another graph in its containers (${mode}): FAILED at once, naming the difference`, async () => {
    const t0 = Date.now();
    const r = await submit("tests/fixtures/topology_differs.ts", [resolvePath(dir, `marker-${mode}`), mode]);
    assert.is(r.code, 1, show(r));
    assert.match(r.stderr, /FAILED/);
    const whole = /the script built a different topology in container [01] than at submit: /;
    assert.match(r.stderr, whole);
    assert.match(r.stderr, difference);
    const s = await state(topology);
    assert.is(s.state, "FAILED");
    assert.match(s.error ?? "", whole);
    assert.match(s.error ?? "", difference);
    const status = await ardea(["status", topology]);
    assert.match(status.stdout, difference, show(status));
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms (no restart loop)`);
  });
}

test.run();
