// timeout: 120
/**
 * examples/apps/fraud.ts (issue 16, application 4), on the runtime running
 * this file:
 * - engine check: the alerts the app writes (`ardea run`, embedded,
 *   ATLEAST_ONCE, two slice partitions; and `ardea submit --containers 2`
 *   over NATS, ATMOST_ONCE, one slice partition: with two, a container
 *   that starts late makes its slices late, see fraud.ts) equal those of
 *   examples/apps/fraud/offline.ts over the same seed: same accounts, times,
 *   reasons, forest scores and features;
 * - quality check, the bounds as written: precision ≥ 0.9,
 *   recall ≥ 0.9, median time from a bot's first post to its alert ≤ 60 s
 *   of event time;
 * - the isolation forest trains deterministically (seeded for the length
 *   of the call) and leaves Math.random as it found it.
 */
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { makeTempDir, readTextFile, removePath, resolvePath, runtimeName } from "../runtime/mod.ts";
import { appSummary, runArdea, show, submitOnContainers } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { generateActivity } from "../examples/apps/fraud/generator.ts";
import {
  type AccountSlice,
  addEvent,
  type Alert,
  EMPTY_SLICE,
  FraudScorer,
  SLICE_MS,
  withSeededRandom,
} from "../examples/apps/fraud/model.ts";
import { compareAlerts, runOffline } from "../examples/apps/fraud/offline.ts";

const SEED = 3;
const EVENTS = 48_000;

let dir = "";
let offline: ReturnType<typeof runOffline>;

test.before(async () => {
  dir = await makeTempDir("ardea-app-fraud-");
  offline = runOffline({ seed: SEED, events: EVENTS });
});

test.after(async () => {
  if (dir !== "") await removePath(dir);
});

async function readAlerts(path: string): Promise<Alert[]> {
  const lines = (await readTextFile(path)).split("\n").filter(Boolean);
  return lines.map((l) => {
    const { time: _time, ...alert } = JSON.parse(l) as Alert & { time: string };
    return alert;
  }).sort(compareAlerts);
}

/** Asserts equal alerts, showing the first differences in one line each. */
function assertSameAlerts(got: Alert[], want: Alert[], what: string): void {
  const g = got.map((a) => JSON.stringify(a));
  const w = want.map((a) => JSON.stringify(a));
  const gs = new Set(g);
  const ws = new Set(w);
  const missing = w.filter((a) => !gs.has(a));
  const extra = g.filter((a) => !ws.has(a));
  assert.ok(
    missing.length === 0 && extra.length === 0 && g.length === w.length,
    `${what}: ${got.length} alerts, offline ${want.length}\nmissing:\n${missing.slice(0, 4).join("\n")}\nextra:\n${
      extra.slice(0, 4).join("\n")
    }`,
  );
}

function summaryOf(
  stdout: string[],
): { events: number; eventsPerSec: number; quality: Record<string, number | boolean> } {
  return appSummary<{ events: number; eventsPerSec: number; quality: Record<string, number | boolean> }>(stdout);
}

test("quality: precision ≥ 0.9, recall ≥ 0.9, median delay from a bot's first post to its alert ≤ 60 s", () => {
  const q = offline.quality;
  console.log(
    `  [${runtimeName()}] ${offline.events} events: ${q.alerts} alerts, ${q.truePositives} of ${q.bots} bots; ` +
      `precision ${q.precision.toFixed(3)}, recall ${q.recall.toFixed(3)}, median delay ${
        q.medianDelaySec.toFixed(1)
      } s; by kind ${JSON.stringify(q.recallByKind)}; offline ${Math.round(offline.eventsPerSec)} events/s`,
  );
  assert.is(q.bots, 80, "every planted bot started in time to be found");
  assert.ok(q.precision >= 0.9, `precision ${q.precision}`);
  assert.ok(q.recall >= 0.9, `recall ${q.recall}`);
  assert.ok(q.medianDelaySec <= 60, `median delay ${q.medianDelaySec} s`);
  assert.ok(offline.alerts.some((a) => a.reasons.some((r) => r.startsWith("anomaly score"))), "the forest alerts too");
});

test("quality holds beyond the test's seed: seeds 7 and 42 (those that missed the precision bound before the model's two fixes), 100 000 events", () => {
  for (const seed of [7, 42]) {
    const q = runOffline({ seed, events: 100_000 }).quality;
    const what = `seed ${seed}: precision ${q.precision.toFixed(3)}, recall ${
      q.recall.toFixed(3)
    }, delay ${q.medianDelaySec} s`;
    assert.ok(q.precision >= 0.9 && q.recall >= 0.9 && q.medianDelaySec <= 60, what);
  }
});

test("the isolation forest: same batches, same alerts and scores; Math.random is left as it was", () => {
  const original = Math.random;
  const batches: [number, AccountSlice[]][] = [];
  let slices = new Map<string, AccountSlice>();
  let window = -1;
  for (const e of generateActivity({ seed: 9, events: 15_000 })) {
    const start = Math.floor(e.ts / SLICE_MS) * SLICE_MS;
    if (start !== window && slices.size > 0) batches.push([window, [...slices.values()]]), slices = new Map();
    window = start;
    if (!slices.has(e.account)) slices.set(e.account, { account: e.account, start, ...structuredClone(EMPTY_SLICE) });
    addEvent(slices.get(e.account)!, e);
  }
  const run = () => {
    const scores: number[] = [];
    const scorer = new FraudScorer({ seed: 9, retrainEvery: 2, onScored: (_a, s) => scores.push(s) });
    const alerts = batches.flatMap(([start, b]) => scorer.process(start, b));
    return { alerts, scores, trainings: scorer.trainings };
  };
  const a = run();
  const b = run();
  assert.ok(a.trainings > 5, `trained ${a.trainings} times`);
  assert.equal(b, a);
  assert.is(Math.random, original);
  const x = withSeededRandom(1, () => [Math.random(), Math.random()]);
  assert.equal(withSeededRandom(1, () => [Math.random(), Math.random()]), x);
  assert.is(Math.random, original);
});

test("engine check, embedded (ardea run, ATLEAST_ONCE, 2 slice partitions): the alerts equal the offline ones", async () => {
  const out = resolvePath(dir, "embedded.jsonl");
  const r = await runArdea([
    "run",
    "--quiet",
    "examples/apps/fraud.ts",
    "--seed",
    String(SEED),
    "--events",
    String(EVENTS),
    "--partitions",
    "2",
    "--batch-lag",
    "30m",
    "--out",
    out,
  ]);
  assert.is(r.code, 0, show(r));
  assertSameAlerts(await readAlerts(out), offline.alerts, "embedded");
  const s = summaryOf(r.stdout);
  assert.is(s.events, EVENTS);
  assert.is(s.quality.precision, offline.quality.precision);
  assert.is(s.quality.ok, true, "the summary says the bounds are met");
  assert.is(s.quality.recall, offline.quality.recall);
  assert.is(s.quality.medianDelaySec, offline.quality.medianDelaySec);
  assert.ok(r.stdout.some((l) => / ALERT spam_/.test(l)), "alerts are shown as they come");
  console.log(`  [${runtimeName()}] embedded: ${Math.round(s.eventsPerSec)} events/s end to end`);
});

test("engine check, 2 containers over NATS (ardea submit, ATMOST_ONCE, 1 slice partition): the alerts equal the offline ones", async () => {
  let nats: NatsHandle | undefined;
  try {
    nats = await startNats({ servers: 1, jetstream: true });
    const out = resolvePath(dir, "distributed.jsonl");
    const r = await runArdea([
      ...submitOnContainers("examples/apps/fraud.ts"),
      "--seed",
      String(SEED),
      "--events",
      String(EVENTS),
      "--mode",
      "atmost",
      "--out",
      out,
    ], { ARDEA_NATS_URL: nats.urls[0]! });
    assert.is(r.code, 0, show(r));
    assertSameAlerts(await readAlerts(out), offline.alerts, "2 containers");
    assert.is(summaryOf(r.stdout).events, EVENTS);
  } finally {
    await nats?.stop();
  }
});

test.run();
