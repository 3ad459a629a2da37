// Python multilang components (tests/fixtures/multilang/python/, our own
// client of Storm's protocol on the standard library and python3-msgpack)
// as ShellSpout and ShellBolt: exact word counts with both serializers,
// anchoring and replay, need_task_ids, logs, metrics, and subprocesses that
// crash, hang or go silent without losing a word under ATLEAST_ONCE.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Fields, ShellBolt, ShellSpout, TopologyBuilder, type Tuple } from "../mod.ts";
import { finished, richBolt, type RunResult, runTopology } from "./fixtures/engine_components.ts";

const PYTHON = "/usr/bin/python3";
const DIR = fileURLToPath(new URL("./fixtures/multilang/python/", import.meta.url));
const SENTENCES = join(DIR, "sentences.txt");
const LINES = readFileSync(SENTENCES, "utf8").split("\n").filter((l) => l.trim() !== "");

/** Word counts of the sentence file emitted `repeat` times. */
function expectedCounts(repeat: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of LINES) for (const w of line.split(/\s+/)) m.set(w, (m.get(w) ?? 0) + repeat);
  return m;
}

/** What a run's count bolts saw. */
interface Seen {
  counts: Map<string, number>;
  /** Word → task ids of the count tasks that received it. */
  taskOf: Map<string, Set<number>>;
  /** Word → task id lists the split bolt got back for it (stream "taskids"). */
  reported: Map<string, string[]>;
}

interface RunOptions {
  repeat?: number;
  spoutArgs?: string[];
  splitArgs?: string[];
  spoutTasks?: number;
  splitTasks?: number;
  config?: Record<string, unknown>;
  /** The count bolt fails the first tuple of this word (once). */
  failWord?: string;
  timeoutMs?: number;
}

const ATLEAST = {
  "topology.reliability.mode": "ATLEAST_ONCE",
  "topology.message.timeout.secs": 30,
  "topology.max.spout.pending": 200,
};

/** Python sentence spout → Python split bolt → TS count bolt (fields "word"). */
async function runWords(opts: RunOptions = {}): Promise<{ r: RunResult; seen: Seen }> {
  const seen: Seen = { counts: new Map(), taskOf: new Map(), reported: new Map() };
  const task = taskIdsStream(opts.splitArgs);
  const b = new TopologyBuilder();
  b.setSpout(
    "sentences",
    new ShellSpout([
      PYTHON,
      "sentence_spout.py",
      SENTENCES,
      "--repeat",
      String(opts.repeat ?? 1),
      ...(opts.spoutArgs ?? []),
    ], [
      "sentence",
    ], { cwd: DIR }),
    opts.spoutTasks ?? 1,
  );
  b.setBolt(
    "split",
    new ShellBolt(
      [PYTHON, "split_bolt.py", ...(opts.splitArgs ?? [])],
      task ? { default: ["word"], taskids: ["word", "tasks"] } : [
        "word",
      ],
      { cwd: DIR },
    ),
    opts.splitTasks ?? 2,
  ).shuffleGrouping("sentences");
  let failed = false;
  b.setBolt(
    "count",
    richBolt((self, t: Tuple) => {
      const w = t.getString(0);
      if (w === opts.failWord && !failed) {
        failed = true;
        return self.collector.fail(t);
      }
      seen.counts.set(w, (seen.counts.get(w) ?? 0) + 1);
      let s = seen.taskOf.get(w);
      if (!s) seen.taskOf.set(w, s = new Set());
      s.add(self.context.getThisTaskId());
      self.collector.ack(t);
    }),
    2,
  ).fieldsGrouping("split", new Fields("word"));
  if (task) {
    b.setBolt(
      "taskids",
      richBolt((self, t: Tuple) => {
        const w = t.getString(0);
        let l = seen.reported.get(w);
        if (!l) seen.reported.set(w, l = []);
        l.push(JSON.stringify(t.getValue(1)));
        self.collector.ack(t);
      }),
      1,
    ).globalGrouping("split", "taskids");
  }
  const r = await runTopology(b.createTopology(), { ...ATLEAST, ...opts.config }, {
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
  return { r, seen };
}

function taskIdsStream(args: string[] | undefined): boolean {
  return args?.includes("--task-ids") ?? false;
}

/** The spout tasks' closing lines: "emitted E acked A failed F bad-task-ids B", summed. */
function spoutTotals(r: RunResult): { tasks: number; emitted: number; acked: number; failed: number; bad: number } {
  const t = { tasks: 0, emitted: 0, acked: 0, failed: 0, bad: 0 };
  for (const l of r.logs) {
    const m = /done: emitted (\d+) acked (\d+) failed (\d+) bad-task-ids (\d+)/.exec(l);
    if (!m) continue;
    t.tasks++;
    t.emitted += Number(m[1]);
    t.acked += Number(m[2]);
    t.failed += Number(m[3]);
    t.bad += Number(m[4]);
  }
  return t;
}

function assertExact(seen: Seen, repeat: number): void {
  const want = expectedCounts(repeat);
  assert.equal(Object.fromEntries([...seen.counts].sort()), Object.fromEntries([...want].sort()));
}

/** Every word counted at least as often as it occurs: none lost (replays may count some twice). */
function assertNoneLost(seen: Seen, repeat: number): void {
  for (const [w, n] of expectedCounts(repeat)) {
    const got = seen.counts.get(w) ?? 0;
    assert.ok(got >= n, `word "${w}": counted ${got}, occurs ${n}`);
  }
}

/** A fresh marker path: the first process to create it misbehaves, no other. */
function marker(): { path: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ardea-multilang-"));
  return { path: join(dir, "once"), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

for (const serializer of ["json", "msgpack"] as const) {
  test(`Python spout (2 tasks) → Python split bolt (2 tasks), ${serializer}: exact word counts, every sentence acked`, async () => {
    const { r, seen } = await runWords({
      repeat: 5,
      spoutTasks: 2,
      config: { "topology.multilang.serializer": serializer },
    });
    finished(r);
    assertExact(seen, 5);
    const s = spoutTotals(r);
    assert.is(s.tasks, 2, "both spout tasks finished");
    assert.is(s.acked, LINES.length * 5);
    assert.is(s.failed, 0);
  });
}

test("anchoring: a word failed by the count bolt fails its sentence (a string message id) in the Python spout, which replays it", async () => {
  const { r, seen } = await runWords({ repeat: 2, failWord: "heron", spoutArgs: ["--string-ids"] });
  finished(r);
  const s = spoutTotals(r);
  assert.is(s.failed, 1, "the sentence of the failed word came back failed to the spout");
  assert.is(s.acked, LINES.length * 2);
  assert.is(s.emitted, LINES.length * 2 + 1, "one replay");
  assertNoneLost(seen, 2);
});

test("a tuple failed by the Python bolt is replayed by the Python spout (msgpack)", async () => {
  const m = marker();
  try {
    const { r, seen } = await runWords({
      splitArgs: ["--fail-word", "ardea", "--once", m.path],
      config: { "topology.multilang.serializer": "msgpack" },
    });
    finished(r);
    const s = spoutTotals(r);
    assert.is(s.failed, 1);
    assert.is(s.acked, LINES.length);
    assertExact(seen, 1); // the failed sentence emitted nothing before its fail
  } finally {
    m.dispose();
  }
});

for (const serializer of ["json", "msgpack"] as const) {
  test(`need_task_ids, ${serializer}: the ids a Python emit gets back name the task that received the tuple`, async () => {
    const { r, seen } = await runWords({
      splitArgs: ["--task-ids"],
      spoutArgs: ["--task-ids"],
      config: { "topology.multilang.serializer": serializer },
    });
    finished(r);
    assertExact(seen, 1);
    assert.is(spoutTotals(r).bad, 0, "the spout's emits got task ids of the topology");
    assert.is(seen.reported.size, seen.counts.size);
    for (const [w, lists] of seen.reported) {
      const tasks = [...seen.taskOf.get(w)!];
      assert.is(tasks.length, 1, `fields grouping: "${w}" went to one task`);
      for (const l of lists) assert.is(l, JSON.stringify(tasks), `task ids of "${w}"`);
    }
  });
}

test("logs: info, warn and error reach the run's log; trace and debug only with topology.debug", async () => {
  for (const debug of [false, true]) {
    const { r } = await runWords({ splitArgs: ["--log"], config: { "topology.debug": debug } });
    finished(r);
    const text = r.logs.join("\n");
    for (const level of ["info", "warn", "error"]) {
      assert.match(text, new RegExp(`split task \\d+ first tuple ${level}`), `a ${level} line`);
    }
    for (const level of ["trace", "debug"]) {
      const seen = new RegExp(`split task \\d+ first tuple ${level}`).test(text);
      assert.is(seen, debug, `${level} line with topology.debug ${debug}`);
    }
    assert.match(text, /split task \d+: 100 sentences/);
    assert.match(text, /sentence spout task \d+ done: emitted 200/);
  }
});

test("logs a subprocess sends before its first tuple (right after the pid reply) reach the run's log", async () => {
  const { r } = await runWords({ splitArgs: ["--log"] });
  finished(r);
  const text = r.logs.join("\n");
  assert.match(text, /split task \d+ info/, "the bolt's log from its initialization");
  assert.match(text, /sentence spout task \d+: 200 sentences/, "the spout's log from its initialization");
});

test("metrics: a Python bolt's metrics commands add to counters of its task", async () => {
  const { r } = await runWords({ splitArgs: ["--metrics"] });
  const summary = finished(r);
  let sentences = 0, words = 0;
  for (const t of Object.values(summary.stats.tasks ?? {})) {
    if (t.component !== "split") continue;
    sentences += t.userMetrics?.counters?.["split-sentences"] ?? 0;
    words += t.userMetrics?.counters?.["split-words"] ?? 0;
  }
  assert.is(sentences, LINES.length);
  assert.is(words, [...expectedCounts(1).values()].reduce((a, n) => a + n, 0));
});

test("a Python subprocess that crashes mid-run is restarted and no word is lost", async () => {
  const m = marker();
  try {
    const { r, seen } = await runWords({ repeat: 3, splitArgs: ["--crash-after", "150", "--once", m.path] });
    finished(r);
    const s = spoutTotals(r);
    assert.ok(s.failed >= 1, "the tuples the crashed process held failed");
    assert.is(s.acked, LINES.length * 3);
    assertNoneLost(seen, 3);
  } finally {
    m.dispose();
  }
});

for (const fault of ["hang", "mute"] as const) {
  test(`a Python subprocess that ${fault === "hang" ? "hangs" : "stops answering (heartbeats included)"} is killed after the subprocess timeout, restarted, no word lost`, async () => {
    const m = marker();
    try {
      const { r, seen } = await runWords({
        repeat: 2,
        splitArgs: [`--${fault}-after`, "100", "--once", m.path],
        config: { "topology.subprocess.timeout.secs": 2 },
      });
      finished(r);
      const s = spoutTotals(r);
      assert.ok(s.failed >= 1, "the tuples the stuck process held failed");
      assert.is(s.acked, LINES.length * 2);
      assertNoneLost(seen, 2);
      assert.ok(r.ms < 20_000, `ended in ${r.ms.toFixed(0)} ms`);
    } finally {
      m.dispose();
    }
  });
}

test.run();
