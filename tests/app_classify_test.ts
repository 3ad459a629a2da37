// timeout: 120
/**
 * examples/apps/classify.ts (issue 16, application 3), on the runtime
 * running this file:
 * - engine check: the minute rows the app writes (`ardea run`, embedded,
 *   EFFECTIVELY_ONCE, 3 classify tasks; and `ardea submit --containers 2`
 *   over NATS, ATMOST_ONCE, 1 classify task: with more, a container that
 *   starts late makes its posts late, see classify.ts) equal those of
 *   examples/apps/classify/offline.ts over the same seed, row by row;
 * - quality check, the bounds as written: topic accuracy ≥ 0.85
 *   and sentiment sign agreement ≥ 0.9 against the generator's labels on
 *   held-out events (the posts, drawn apart from the training sample).
 */
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { makeTempDir, readTextFile, removePath, resolvePath, runtimeName } from "../runtime/mod.ts";
import { appSummary, runArdea, show, submitOnContainers } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { generatePosts, trainingSample } from "../examples/apps/classify/generator.ts";
import { runOffline, TRAINING_POSTS } from "../examples/apps/classify/offline.ts";
import type { MinuteRow } from "../examples/apps/classify/minutes.ts";

const SEED = 5;
const EVENTS = 20_000;

let dir = "";
let offline: ReturnType<typeof runOffline>;

test.before(async () => {
  dir = await makeTempDir("ardea-app-classify-");
  offline = runOffline({ seed: SEED, events: EVENTS });
});

test.after(async () => {
  if (dir !== "") await removePath(dir);
});

async function readRows(path: string): Promise<MinuteRow[]> {
  const rows = (await readTextFile(path)).split("\n").filter(Boolean).map((l) => JSON.parse(l) as MinuteRow);
  return rows.sort((a, b) =>
    a.minute - b.minute || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) ||
    (a.sentiment < b.sentiment ? -1 : a.sentiment > b.sentiment ? 1 : 0)
  );
}

/** Asserts equal rows, showing the first differences in one line each. */
function assertSameRows(got: MinuteRow[], want: MinuteRow[], what: string): void {
  const g = got.map((r) => JSON.stringify(r));
  const w = want.map((r) => JSON.stringify(r));
  const gs = new Set(g);
  const ws = new Set(w);
  const missing = w.filter((r) => !gs.has(r));
  const extra = g.filter((r) => !ws.has(r));
  const posts = (rs: MinuteRow[]) => rs.reduce((n, r) => n + r.posts, 0);
  assert.ok(
    missing.length === 0 && extra.length === 0 && g.length === w.length,
    `${what}: ${got.length} rows (${posts(got)} posts), offline ${want.length} (${posts(want)} posts)\n` +
      `missing:\n${missing.slice(0, 5).join("\n")}\nextra:\n${extra.slice(0, 5).join("\n")}`,
  );
}

function summaryOf(
  stdout: string[],
): { events: number; eventsPerSec: number; quality: Record<string, number | boolean> } {
  return appSummary<{ events: number; eventsPerSec: number; quality: Record<string, number | boolean> }>(stdout);
}

test("quality: topic accuracy ≥ 0.85 and sentiment sign agreement ≥ 0.9 on held-out posts", () => {
  const q = offline.quality;
  console.log(
    `  [${runtimeName()}] ${q.labelled} held-out posts: topic accuracy ${q.topicAccuracy.toFixed(4)}, ` +
      `sentiment sign agreement ${q.sentimentAgreement.toFixed(4)}, language accuracy ${
        q.languageAccuracy.toFixed(4)
      }; offline ${Math.round(offline.eventsPerSec)} posts/s`,
  );
  assert.is(q.labelled, EVENTS);
  assert.ok(q.topicAccuracy >= 0.85, `topic accuracy ${q.topicAccuracy}`);
  assert.ok(q.sentimentAgreement >= 0.9, `sentiment sign agreement ${q.sentimentAgreement}`);
  // Held out: the training sample is another random stream; a short post may repeat by chance, rarely.
  const trained = new Set(trainingSample(SEED, TRAINING_POSTS).map((s) => s.text));
  let seen = 0;
  for (const p of generatePosts({ seed: SEED, events: EVENTS })) if (trained.has(p.text)) seen++;
  assert.ok(seen < EVENTS * 0.001, `${seen} scored posts are in the training sample`);
});

test("engine check, embedded (ardea run, EFFECTIVELY_ONCE, 3 classify partitions): the minute rows equal the offline ones", async () => {
  const out = resolvePath(dir, "embedded.jsonl");
  const r = await runArdea([
    "run",
    "--quiet",
    "examples/apps/classify.ts",
    "--seed",
    String(SEED),
    "--events",
    String(EVENTS),
    "--classifiers",
    "3",
    "--out",
    out,
  ]);
  assert.is(r.code, 0, show(r));
  assertSameRows(await readRows(out), offline.rows, "embedded");
  const s = summaryOf(r.stdout);
  assert.is(s.events, EVENTS);
  assert.is(s.quality.topicAccuracy, offline.quality.topicAccuracy);
  assert.is(s.quality.ok, true, "the summary says the bounds are met");
  assert.is(s.quality.sentimentAgreement, offline.quality.sentimentAgreement);
  console.log(`  [${runtimeName()}] embedded: ${Math.round(s.eventsPerSec)} posts/s end to end (with training)`);
});

test("engine check, 2 containers over NATS (ardea submit, ATMOST_ONCE, 1 classify task): the minute rows equal the offline ones", async () => {
  let nats: NatsHandle | undefined;
  try {
    nats = await startNats({ servers: 1, jetstream: true });
    const out = resolvePath(dir, "distributed.jsonl");
    const r = await runArdea([
      ...submitOnContainers("examples/apps/classify.ts"),
      "--seed",
      String(SEED),
      "--events",
      String(EVENTS),
      "--mode",
      "atmost",
      "--classifiers",
      "1",
      "--out",
      out,
    ], { ARDEA_NATS_URL: nats.urls[0]! });
    assert.is(r.code, 0, show(r));
    assertSameRows(await readRows(out), offline.rows, "2 containers");
    assert.is(summaryOf(r.stdout).events, EVENTS);
  } finally {
    await nats?.stop();
  }
});

test("a bad flag names itself and exits 2", async () => {
  for (const bad of [["--lag", "soon"]]) {
    const r = await runArdea(["run", "--quiet", "examples/apps/classify.ts", ...bad]);
    assert.is(r.code, 2, show(r));
    assert.match(r.stderr.join("\n"), new RegExp(`^classify: ${bad[0]}`, "m"));
  }
});

test.run();
