// timeout: 120
// examples/apps/trending.ts, the trending-hashtags application (issue 16,
// item 2). Engine check: the top 10 of every window (counts and velocities)
// from the streaming run equals the same windows computed offline over the
// same tweets, embedded, after a SIGKILL and a resume from the checkpoints,
// and on 2 containers over NATS. Quality check, with the bound: each
// planted trend is in the top 10 within one slide of its rise and out within
// one window length of its fall.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  ardeaRoot,
  execPath,
  fileExists,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  toFileUrl,
} from "../runtime/mod.ts";
import { asText, runArdea, show, submitOnContainers } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { connect } from "nats";
import { generateTweets, type GeneratorOptions, plantedTrends } from "../examples/apps/trending/generator.ts";
import {
  byRank,
  DEFAULT_WINDOWING,
  type Entry,
  hashtagsOf,
  rankWindow,
  topN,
  windowEndsOf,
  type WindowRanking,
} from "../examples/apps/trending/model.ts";
import { rankingsOffline, scoreTrends } from "../examples/apps/trending/offline.ts";

const ROOT = ardeaRoot();
const CHILD_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

/** Runs the application as a child on this runtime (Node through the loader, Deno with `run -A`). */
async function runApp(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const script = "examples/apps/trending.ts";
  const [cmd, cmdArgs] = runtimeName() === "deno"
    ? [execPath(), ["run", "-A", script, ...args]]
    : [execPath(), ["--import", toFileUrl(resolvePath(ROOT, "runtime", "node_loader.mjs")), script, ...args]];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = spawnProcess(cmd, cmdArgs, {
    cwd: ROOT,
    stdio: "pipe",
    env: { NO_COLOR: "1", ...env },
    onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  try {
    return { code: (await child.exited).code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function readRankings(path: string): Promise<WindowRanking[]> {
  const text = await readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as WindowRanking);
}

/** The first window whose ranking differs, for a readable failure. */
function firstDifference(got: readonly WindowRanking[], want: readonly WindowRanking[]): string {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = JSON.stringify(got[i]);
    const w = JSON.stringify(want[i]);
    if (g !== w) return `window ${i} of ${want.length}:\n  streamed ${g}\n  offline  ${w}`;
  }
  return "none";
}

function assertSameRankings(got: readonly WindowRanking[], want: readonly WindowRanking[], least = 100): void {
  assert.ok(want.length > least, `the offline run has windows (${want.length})`);
  assert.ok(
    JSON.stringify(got) === JSON.stringify(want),
    `streamed rankings differ from offline: ${firstDifference(got, want)}`,
  );
}

/** Offline rankings by seed and tweets (several tests compare with the same run). */
const offlineRuns = new Map<string, ReturnType<typeof rankingsOffline>>();
function offline(seed: number, events: number): ReturnType<typeof rankingsOffline> {
  const key = `${seed}/${events}`;
  let r = offlineRuns.get(key);
  if (r === undefined) {
    offlineRuns.set(key, r = rankingsOffline(generateTweets({ seed, events }), DEFAULT_WINDOWING, 10));
  }
  return r;
}

let dir: string;
let nats: NatsHandle;
test.before(async () => {
  dir = await makeTempDir("ardea-trending-test-");
  nats = await startNats({ servers: 1, jetstream: true });
});
test.after(async () => {
  await nats?.stop();
  await removePath(dir);
});

// ---------------------------------------------------------------- the model

test("hashtags: twitter-text's rules, Unicode ones included, one per tweet whatever its case", () => {
  assert.equal(
    hashtagsOf(
      "Goal! #WorldCup #worldcup #WORLDCUP in #日本 at the #café #München #Ελλάδα #한국 #123 # https://t.co/x#y",
    ),
    ["worldcup", "日本", "café", "münchen", "ελλάδα", "한국"],
  );
  assert.equal(hashtagsOf("@heron no tags here, just a mention and https://example.com/#anchor"), []);
  // NFC: a decomposed é is the same hashtag as a precomposed one.
  assert.equal(hashtagsOf("#cafe\u0301 #café"), ["café"]);
});

test("windows and rankings: the windows of an instant, top N by count then tag, velocity against the previous window", () => {
  assert.equal(windowEndsOf(25_000, { lengthMs: 30_000, slideMs: 10_000, lagMs: 0 }), [30_000, 40_000, 50_000]);
  assert.equal(windowEndsOf(30_000, { lengthMs: 30_000, slideMs: 10_000, lagMs: 0 }), [40_000, 50_000, 60_000]);
  const entries: Entry[] = [];
  for (let i = 0; i < 200; i++) entries.push([`t${(i * 37) % 101}`, (i * 13) % 17, i]);
  assert.equal(topN(entries, 10), [...entries].sort(byRank).slice(0, 10));
  assert.equal(topN(entries, 0), []);
  const now = new Map([["heron", 9], ["storm", 4], ["ardea", 4]]);
  assert.equal(rankWindow(now, new Map([["heron", 2], ["storm", 6]]), 2), [["heron", 9, 7], ["ardea", 4, 4]]);
});

test("generator: the same tweets for a seed, late ones within 20 s, Unicode hashtags", () => {
  const opts: GeneratorOptions = { seed: 5, events: 20_000 };
  const a = [...generateTweets(opts)];
  const b = [...generateTweets(opts)];
  assert.is(a.length, 20_000);
  assert.equal(a.slice(0, 500), b.slice(0, 500));
  assert.equal(a.at(-1), b.at(-1));
  let newest = -Infinity;
  let late = 0;
  for (const t of a) {
    assert.ok(t.ts >= newest - 20_000, `tweet ${t.id} is ${newest - t.ts} ms late`);
    if (t.ts < newest) late++;
    newest = Math.max(newest, t.ts);
  }
  assert.ok(late > 1400 && late < 2600, `about one tweet in ten arrives late (${late})`);
  const tags = new Set(a.flatMap((t) => hashtagsOf(t.text)));
  assert.ok(
    ["日本", "café", "münchen", "ελλάδα", "한국"].every((t) => tags.has(t)),
    "Unicode hashtags in the background",
  );
  // The planted trends (checked in the stream by the quality tests) are a function of the options.
  assert.equal(plantedTrends({ seed: 5, events: 100_000 }), plantedTrends({ seed: 5, events: 100_000 }));
});

// ---------------------------------------------------------------- quality, offline

test("quality (offline, seed 1): every planted trend in the top 10 within one slide of its rise, out within one window of its fall", () => {
  for (const seed of [1]) {
    const opts = { seed, events: 100_000 };
    const off = offline(seed, 100_000);
    const { trends, figures } = scoreTrends(off.rankings, plantedTrends(opts), DEFAULT_WINDOWING);
    assert.ok(trends.length >= 2, `seed ${seed}: planted trends (${trends.length})`);
    for (const t of trends) {
      assert.ok(t.riseOk, `seed ${seed}: #${t.tag} rose at ${t.riseMs}, first in the top 10 at ${t.firstIn}`);
      assert.ok(t.fallOk, `seed ${seed}: #${t.tag} fell at ${t.fallMs}, out of the top 10 at ${t.outAt}`);
    }
    assert.is(figures.ok, true);
  }
});

// ---------------------------------------------------------------- the application

const SEED = 2;
const EVENTS = 70_000;

test("embedded: every window's top 10 equals offline, and the planted trends meet the bound", async () => {
  const out = resolvePath(dir, "embedded.jsonl");
  const r = await runApp(["--seed", String(SEED), "--events", String(EVENTS), "--out", out]);
  assert.is(r.code, 0, show(r));
  const opts = { seed: SEED, events: EVENTS };
  const off = offline(SEED, EVENTS);
  assert.is(off.late, 0, "no tweet later than the allowed lateness");
  const got = await readRankings(out);
  assertSameRankings(got, off.rankings);
  // Quality, on what the engine produced.
  const { trends } = scoreTrends(got, plantedTrends(opts), DEFAULT_WINDOWING);
  assert.ok(trends.length >= 2, `planted trends (${trends.length})`);
  for (const t of trends) {
    assert.ok(t.riseOk, `#${t.tag} rose at ${t.riseMs}, first in the top 10 at ${t.firstIn}`);
    assert.ok(t.fallOk, `#${t.tag} fell at ${t.fallMs}, out of the top 10 at ${t.outAt}`);
  }
  // The live view and the summary line.
  assert.ok(r.stdout.some((l) => /^\[trending\] .*tweets 70\.0k .*top #/.test(l)), show(r));
  const summary = JSON.parse(r.stdout.at(-1)!.replace(/^summary /, "")) as {
    events: number;
    quality: Record<string, unknown>;
  };
  assert.is(summary.events, EVENTS);
  assert.equal(summary.quality.ok, true);
  assert.is(summary.quality.windows, off.rankings.length);
});

test("EFFECTIVELY_ONCE (3 counters, 1 ranker): SIGKILLed after a checkpoint and started again on its state, the --out file holds every window once", async () => {
  const state = resolvePath(dir, "state");
  const log = resolvePath(dir, "faults.log");
  const out = resolvePath(dir, "resumed.jsonl");
  const args = [
    "--seed",
    "4",
    "--events",
    "40000",
    "--counters",
    "3",
    "--rankers",
    "1",
    "--state-dir",
    state,
    "--out",
    out,
  ];
  // Paced to 12k tweets a second (3.3 s), so the first checkpoint (after 1 s) commits mid-run.
  const killed = await runApp([...args, "--rate", "12000"], { ARDEA_FAULT_AT: "committed:1", ARDEA_FAULT_LOG: log });
  assert.is(killed.code, null, `killed by its fault point: ${show(killed)}`);
  assert.ok(await fileExists(log) && /committed:1/.test(await readTextFile(log)), "the fault point fired");
  const before = (await readRankings(out)).length;
  const resumed = await runApp(args);
  assert.is(resumed.code, 0, show(resumed));
  const summary = JSON.parse(resumed.stdout.at(-1)!.replace(/^summary /, "")) as { events: number; resumed?: boolean };
  assert.is(summary.resumed, true, show(resumed));
  assert.ok(summary.events < 40_000, `the second run read on from the checkpoint (${summary.events} tweets)`);
  const off = offline(4, 40_000);
  assertSameRankings(await readRankings(out), off.rankings, 60);
  assert.ok(before < off.rankings.length, `the first run was killed before its end (${before} windows)`);
});

test("2 containers over NATS (ardea submit), 3 counters and 3 rankers: every window's top 10 equals offline", async () => {
  const out = resolvePath(dir, "submit.jsonl");
  const r = asText(
    await runArdea(
      [
        ...submitOnContainers("examples/apps/trending.ts"),
        "--seed",
        "4",
        "--events",
        "40000",
        "--counters",
        "3",
        "--rankers",
        "3",
        "--out",
        out,
      ],
      { ARDEA_NATS_URL: nats.urls[0]! },
    ),
  );
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr, /FINISHED/);
  assertSameRankings(await readRankings(out), offline(4, 40_000).rankings, 60);
});

test("--from-stream: JSON tweets from JetStream (and two that are not tweets, dropped) give the same windows", async () => {
  const nc = await connect({ servers: nats.urls[0]! });
  try {
    await (await nc.jetstreamManager()).streams.add({ name: "TWEETS", subjects: ["tweets"] });
    const js = nc.jetstream();
    const enc = new TextEncoder();
    const acks: Promise<unknown>[] = [];
    const publish = (text: string) => acks.push(js.publish("tweets", enc.encode(text)));
    let i = 0;
    for (const t of generateTweets({ seed: 6, events: 15_000 })) {
      publish(JSON.stringify(t));
      if (++i === 5000) publish("{not json"), publish(JSON.stringify({ id: "x", user: "u" }));
      if (acks.length >= 1000) await Promise.all(acks.splice(0));
    }
    await Promise.all(acks);
  } finally {
    await nc.close();
  }
  const out = resolvePath(dir, "from-stream.jsonl");
  const r = await runApp(["--from-stream", "TWEETS", "--nats", nats.urls[0]!, "--idle-ms", "1000", "--out", out]);
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr.join("\n"), /cannot decode message 5001 of "TWEETS"/);
  assert.match(r.stderr.join("\n"), /cannot decode message 5002 of "TWEETS"/);
  const off = rankingsOffline(generateTweets({ seed: 6, events: 15_000 }), DEFAULT_WINDOWING, 10);
  assertSameRankings(await readRankings(out), off.rankings, 50);
  assert.match(r.stdout.at(-1)!, /^summary \{"app":"trending","events":15000,/);
});

test("--mode atleast is refused with the reason", async () => {
  const r = await runApp(["--mode", "atleast"]);
  assert.is(r.code, 2, show(r));
  assert.match(r.stderr.join("\n"), /^trending: --mode atleast cannot run windows of 300 s/);
});

test.run();
