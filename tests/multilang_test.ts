// Storm multilang: ShellBolt and ShellSpout run our own Node multilang
// components (tests/fixtures/multilang/node, written from Storm's protocol
// document) as subprocesses: exact word counts with both serializers,
// anchoring and replay, need_task_ids, direct emits, heartbeats, logs,
// errors and metrics; faults (a crash, a hang, garbage, a stderr flood, a
// missing command) restart the task or fail clearly, with no word lost
// under ATLEAST_ONCE; EFFECTIVELY_ONCE refuses shell components.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import {
  BaseRichBolt,
  BaseRichSpout,
  BaseStatefulBolt,
  bolt,
  type ConfigInput,
  Fields,
  iterableSpout,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type RunSummary,
  ShellBolt,
  type ShellComponentOptions,
  ShellSpout,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../mod.ts";
import { makeTempDir, removePath, spawnProcess } from "../runtime/mod.ts";
import { GarbageError, serializerFor } from "../multilang/serializer.ts";
import { NumbersSpout } from "./fixtures/numbers_spout.ts";

const NODE_DIR = fileURLToPath(new URL("./fixtures/multilang/node/", import.meta.url));
const SENTENCES = [
  "the cow jumped over the moon",
  "an apple a day keeps the doctor away",
  "four score and seven years ago",
  "snow white and the seven dwarfs",
  "i am at two with nature",
];

/** The true word counts of `n` sentences of SENTENCES, cycling. */
function trueCounts(n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    for (const w of SENTENCES[i % SENTENCES.length]!.split(" ")) m.set(w, (m.get(w) ?? 0) + 1);
  }
  return m;
}

/** Where the count bolts of a run put their counts, by run name. */
const COUNTS = new Map<string, Map<string, number>>();
/** Task that received each word (run name → word → task ids). */
const RECEIVED = new Map<string, Map<string, Set<number>>>();

/** Counts words (field 0) into COUNTS[run] and notes the receiving task. */
class CountBolt extends BaseRichBolt {
  collector!: OutputCollector;
  run = "";
  task = 0;
  constructor(run = "") {
    super();
    this.run = run;
  }
  override prepare(_c: TopologyConfig, ctx: TopologyContext, collector: OutputCollector) {
    this.collector = collector;
    this.task = ctx.getThisTaskId();
  }
  execute(t: Tuple) {
    const w = t.getString(0);
    let m = COUNTS.get(this.run);
    if (m === undefined) COUNTS.set(this.run, m = new Map());
    m.set(w, (m.get(w) ?? 0) + 1);
    let r = RECEIVED.get(this.run);
    if (r === undefined) RECEIVED.set(this.run, r = new Map());
    let s = r.get(w);
    if (s === undefined) r.set(w, s = new Set());
    s.add(this.task);
    this.collector.ack(t);
  }
  declareOutputFields(_d: OutputFieldsDeclarer) {}
}

function sentences(n: number) {
  return iterableSpout(() => Array.from({ length: n }, (_, i) => [SENTENCES[i % SENTENCES.length]!]), {
    fields: ["sentence"],
  });
}

function splitBolt(args: string[] = [], options: ShellComponentOptions = {}): ShellBolt {
  const msgpack = options.serializer === "msgpack" ? ["--msgpack"] : [];
  return new ShellBolt(["node", "split_bolt.mjs", ...msgpack, ...args], ["word"], { cwd: NODE_DIR, ...options });
}

interface Run {
  summary: RunSummary;
  counts: Map<string, number>;
  logs: string[];
}

async function run(
  name: string,
  build: (b: TopologyBuilder) => void,
  config: ConfigInput = {},
  timeoutMs = 20_000,
): Promise<Run> {
  COUNTS.delete(name);
  const b = new TopologyBuilder();
  build(b);
  const logs: string[] = [];
  const handle = await submit(name, { "topology.reliability.mode": "ATLEAST_ONCE", ...config }, b.createTopology(), {
    handleSignals: false,
    log: (l) => logs.push(l),
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void handle.kill();
      reject(new Error(`run ${name} did not finish within ${timeoutMs} ms; log:\n${logs.join("\n")}`));
    }, timeoutMs);
  });
  try {
    const summary = await Promise.race([handle.done, timeout]);
    return { summary, counts: COUNTS.get(name) ?? new Map(), logs };
  } finally {
    clearTimeout(timer);
  }
}

function assertCounts(actual: Map<string, number>, expected: Map<string, number>, factor = 1): void {
  const a = Object.fromEntries([...actual].sort());
  const e = Object.fromEntries([...expected].sort().map(([w, n]) => [w, n * factor]));
  assert.equal(a, e);
}

for (const name of ["json", "msgpack"] as const) {
  test(`${name} framing: messages cut at every byte decode the same; garbage is a GarbageError`, () => {
    const s = serializerFor(name);
    const msgs = [{ command: "emit", anchors: ["1"], tuple: ["a\nb", 2, null, "é"] }, [3, 4], { command: "sync" }];
    const bytes = s.join(msgs.map((m) => s.encode(m)));
    const wire = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    for (let cut = 1; cut < wire.length; cut++) {
      const got: unknown[] = [];
      const d = s.decoder((m) => got.push(m));
      d.push(wire.subarray(0, cut));
      d.push(wire.subarray(cut));
      assert.equal(got, msgs, `cut at ${cut}`);
    }
    const garbage = name === "json" ? "print('debug')\nend\n" : "hello";
    assert.throws(
      () => serializerFor(name).decoder(() => {}).push(new TextEncoder().encode(garbage)),
      (e: unknown) => e instanceof GarbageError,
    );
  });
}

test("a command must be a non-empty array of strings; outputs may be Fields, an array or a record of streams", () => {
  assert.throws(() => new ShellBolt([]), /ShellBolt: the command must be a non-empty array/);
  assert.throws(() => new ShellSpout("node x.js" as unknown as string[]), /ShellSpout: the command must be/);
  const b = new TopologyBuilder();
  b.setSpout("a", new ShellSpout(["node", "a.js"], new Fields("x", "y")));
  b.setBolt("b", new ShellBolt(["node", "b.js"], { default: ["w"], other: new Fields("p", "q") })).shuffleGrouping("a");
  const t = b.createTopology();
  assert.equal(t.components.get("a")!.streams.get("default")!.fields.toList(), ["x", "y"]);
  assert.equal(t.components.get("b")!.streams.get("other")!.fields.toList(), ["p", "q"]);
});

test("JSON framing: a message over several lines and a CRLF end line (Storm's clients write lines)", () => {
  const got: unknown[] = [];
  serializerFor("json").decoder((m) => got.push(m)).push(new TextEncoder().encode('{"command":\n"sync"}\r\nend\r\n'));
  assert.equal(got, [{ command: "sync" }]);
});

test("spawnProcess: raw stdout chunks (onStdoutBytes) and stderr lines cut at maxLineLength", async () => {
  const chunks: Uint8Array[] = [];
  const lines: string[] = [];
  const child = spawnProcess("node", [
    "-e",
    "process.stdout.write('a\\nb'); process.stderr.write('x'.repeat(25) + '\\ny\\n')",
  ], {
    stdio: "pipe",
    onStdoutBytes: (c) => chunks.push(c.slice()),
    onLine: (l, stream) => lines.push(`${stream}:${l}`),
    maxLineLength: 10,
  });
  await child.exited;
  assert.is(new TextDecoder().decode(Uint8Array.from(chunks.flatMap((c) => [...c]))), "a\nb");
  assert.equal(lines, ["stderr:xxxxxxxxxx", "stderr:xxxxxxxxxx", "stderr:xxxxx", "stderr:y"]);
});

for (const serializer of ["json", "msgpack"] as const) {
  test(`Node split bolt (${serializer}): exact word counts, 2 tasks`, async () => {
    const r = await run(`wc-${serializer}`, (b) => {
      b.setSpout("sentences", sentences(200), 1);
      b.setBolt("split", splitBolt([], { serializer }), 2).shuffleGrouping("sentences");
      b.setBolt("count", new CountBolt(`wc-${serializer}`), 2).fieldsGrouping("split", new Fields("word"));
    });
    assertCounts(r.counts, trueCounts(200));
    assert.is(r.summary.state, "FINISHED");
  });
}

/** Emits `n` sentences, one every `everyMs`, tracked; then finishes. */
class SlowSpout extends BaseRichSpout {
  collector!: SpoutOutputCollector;
  i = 0;
  nextAt = 0;
  constructor(readonly n = 0, readonly everyMs = 0) {
    super();
  }
  override open(_c: TopologyConfig, _ctx: TopologyContext, collector: SpoutOutputCollector) {
    this.collector = collector;
    this.nextAt = Date.now();
  }
  nextTuple() {
    if (this.i >= this.n) return this.collector.finish();
    if (Date.now() < this.nextAt) return;
    this.nextAt += this.everyMs;
    const i = this.i++;
    this.collector.emit([SENTENCES[i % SENTENCES.length]!], i);
  }
  override fail(id: unknown) {
    const i = id as number;
    this.collector.emit([SENTENCES[i % SENTENCES.length]!], i);
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(["sentence"]);
  }
}

/** The lines of `logs` that mention `text`. */
const mentioning = (logs: string[], text: string) => logs.filter((l) => l.includes(text));

/** Sum of a user counter over the tasks of `component`. */
function counter(summary: RunSummary, component: string, name: string): number {
  let n = 0;
  for (const t of Object.values(summary.stats.tasks ?? {})) {
    if (t.component === component) n += t.userMetrics?.counters?.[name] ?? 0;
  }
  return n;
}

function restarts(summary: RunSummary, component: string): number {
  let n = 0;
  for (const t of Object.values(summary.stats.tasks ?? {})) if (t.component === component) n += t.restarts;
  return n;
}

test("a relative command path is resolved in the working directory, as Storm does", async () => {
  const r = await run("relative", (b) => {
    b.setSpout("sentences", sentences(10), 1);
    b.setBolt("split", new ShellBolt(["./split_bolt.sh"], ["word"], { cwd: NODE_DIR }), 1).shuffleGrouping("sentences");
    b.setBolt("count", new CountBolt("relative"), 1).shuffleGrouping("split");
  });
  assertCounts(r.counts, trueCounts(10));
});

for (const serializer of ["json", "msgpack"] as const) {
  test(`Node spout and Node split bolt (${serializer}): the spout finishes; exact counts, every sentence acked`, async () => {
    const msgpack = serializer === "msgpack" ? ["--msgpack"] : [];
    const r = await run(`spout-${serializer}`, (b) => {
      b.setSpout(
        "sentences",
        new ShellSpout(["node", "sentence_spout.mjs", "--count=300", ...msgpack], ["sentence"], { cwd: NODE_DIR }),
        1,
      );
      // The serializer from the configuration: the topology's for the spout, the bolt's own for the bolt,
      // which learns it from ARDEA_MULTILANG_SERIALIZER (no --msgpack).
      b.setBolt("split", splitBolt(), 2).shuffleGrouping("sentences")
        .addConfiguration("topology.multilang.serializer", serializer);
      b.setBolt("count", new CountBolt(`spout-${serializer}`), 2).fieldsGrouping("split", new Fields("word"));
    }, { "topology.multilang.serializer": serializer });
    assertCounts(r.counts, trueCounts(300));
    const spout = Object.values(r.summary.stats.tasks ?? {}).find((t) => t.component === "sentences")!;
    assert.is(spout.acked, 300);
    assert.is(spout.failed, 0);
    assert.ok(mentioning(r.logs, "sentence spout task").length === 1, r.logs.join("\n"));
  });
}

test("anchoring: a sentence failed after its anchored emits replays; its words are counted twice", async () => {
  const r = await run("anchors", (b) => {
    b.setSpout("sentences", sentences(50), 1);
    b.setBolt("split", splitBolt(["--fail-first"]), 1).shuffleGrouping("sentences");
    b.setBolt("count", new CountBolt("anchors"), 2).fieldsGrouping("split", new Fields("word"));
  });
  // The one split task sees each distinct sentence fail once: the first 5 tuples replay once each.
  const expected = trueCounts(50);
  for (const [w, n] of trueCounts(5)) expected.set(w, expected.get(w)! + n);
  assertCounts(r.counts, expected);
  const spout = Object.values(r.summary.stats.tasks ?? {}).find((t) => t.component === "sentences")!;
  assert.is(spout.failed, 5);
  assert.is(spout.acked, 50);
});

test("need_task_ids: the task ids sent back are the tasks that received each word", async () => {
  const receipts: string[][] = [];
  class Receipts extends BaseRichBolt {
    collector!: OutputCollector;
    override prepare(_c: TopologyConfig, _x: TopologyContext, collector: OutputCollector) {
      this.collector = collector;
    }
    execute(t: Tuple) {
      receipts.push([t.getString(0), t.getString(1)]);
      this.collector.ack(t);
    }
    declareOutputFields() {}
  }
  const r = await run("task-ids", (b) => {
    b.setSpout("sentences", sentences(20), 1);
    b.setBolt(
      "split",
      new ShellBolt(["node", "split_bolt.mjs", "--receipts"], { default: ["word"], receipts: ["word", "tasks"] }, {
        cwd: NODE_DIR,
      }),
      2,
    ).shuffleGrouping("sentences");
    b.setBolt("count", new CountBolt("task-ids"), 3).fieldsGrouping("split", new Fields("word"));
    b.setBolt("receipts", new Receipts(), 1).shuffleGrouping("split", "receipts");
  });
  assertCounts(r.counts, trueCounts(20));
  assert.is(receipts.length, [...trueCounts(20).values()].reduce((a, b) => a + b, 0));
  const received = RECEIVED.get("task-ids")!;
  for (const [word, tasks] of receipts) assert.equal(tasks, [...received.get(word)!].join(","), word);
});

test("direct emits: each word goes to the task the subprocess chose, on a direct stream its subclass declares (max pending 1)", async () => {
  class DirectSplit extends ShellBolt {
    override declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(true, new Fields("word"));
    }
  }
  const r = await run("direct", (b) => {
    b.setSpout("sentences", sentences(20), 1);
    b.setBolt("split", new DirectSplit(["node", "split_bolt.mjs", "--direct=count"], undefined, { cwd: NODE_DIR }), 2)
      .shuffleGrouping("sentences");
    b.setBolt("count", new CountBolt("direct"), 3).directGrouping("split");
  }, { "topology.shellbolt.max.pending": 1 });
  assertCounts(r.counts, trueCounts(20));
  // The fixture picks tasks[hash(word) % 3] among count's tasks (ascending): one task per word.
  for (const [word, tasks] of RECEIVED.get("direct")!) assert.is(tasks.size, 1, word);
  assert.ok(new Set([...RECEIVED.get("direct")!.values()].map((s) => [...s][0])).size > 1, "words spread over tasks");
});

test("logs, errors, metrics and heartbeats: levels by topology.debug, reportError, counters, a sync per heartbeat", async () => {
  const r = await run("observe", (b) => {
    b.setSpout("sentences", new SlowSpout(60, 40), 1);
    b.setBolt("split", splitBolt(["--logs", "--metrics", "--count-heartbeats"]), 1).shuffleGrouping("sentences");
    b.setBolt("count", new CountBolt("observe"), 1).shuffleGrouping("split");
  });
  assertCounts(r.counts, trueCounts(60));
  const task = Object.values(r.summary.stats.tasks ?? {}).find((t) => t.component === "split")!;
  for (const level of ["INFO: level 2", "WARN: level 3", "ERROR: level 4"]) {
    assert.is(mentioning(r.logs, level).length, 1, `${level} in\n${r.logs.join("\n")}`);
  }
  assert.is(mentioning(r.logs, "level 0").length + mentioning(r.logs, "level 1").length, 0, "trace/debug hidden");
  assert.is(mentioning(r.logs, "an error reported by task").length, 1);
  assert.is(task.errors, 1, "the reported error is counted");
  assert.is(counter(r.summary, "split", "words"), task.emitted);
  assert.ok(counter(r.summary, "split", "heartbeats") >= 1, "the subprocess saw heartbeats");
  assert.is(task.restarts, 0);
});

test("log levels 0 and 1 show with topology.debug", async () => {
  const r = await run("debug-logs", (b) => {
    b.setSpout("sentences", sentences(1), 1);
    b.setBolt("split", splitBolt(["--logs"]), 1).shuffleGrouping("sentences");
    b.setBolt("count", new CountBolt("debug-logs"), 1).shuffleGrouping("split");
  }, { "topology.debug": true });
  assert.is(mentioning(r.logs, "TRACE: level 0").length, 1, r.logs.join("\n"));
  assert.is(mentioning(r.logs, "DEBUG: level 1").length, 1);
});

/** Runs a word count whose split subprocesses (2) meet `fault` once (one of them, mostly), after `after` tuples. */
async function faultRun(
  fault: string,
  config: ConfigInput = {},
  spout = new SlowSpout(150, 4),
  after = 20,
): Promise<Run> {
  const dir = await makeTempDir("ardea-ml-fault-");
  try {
    return await run(
      `fault-${fault}`,
      (b) => {
        b.setSpout("sentences", spout, 1);
        b.setBolt("split", splitBolt([`--fault=${fault}`, `--after=${after}`, `--once=${dir}/tripped`]), 2)
          .shuffleGrouping("sentences");
        b.setBolt("count", new CountBolt(`fault-${fault}`), 2).fieldsGrouping("split", new Fields("word"));
      },
      { "topology.subprocess.timeout.secs": 1, ...config },
      30_000,
    );
  } finally {
    await removePath(dir);
  }
}

/** Every word counted at least as often as it occurs: nothing lost. */
function assertNoneLost(counts: Map<string, number>, n: number): void {
  for (const [w, c] of trueCounts(n)) assert.ok((counts.get(w) ?? 0) >= c, `"${w}": ${counts.get(w)} < ${c}`);
}

test("a subprocess that crashes mid-run: the task restarts, no word is lost, the error names command, component, task and stderr", async () => {
  const r = await faultRun("crash");
  assertNoneLost(r.counts, 150);
  assert.ok(restarts(r.summary, "split") >= 1, "restarted");
  const crash = mentioning(r.logs, "crashed (restarting)").join("\n");
  assert.match(crash, /bolt "split" \(task \d+\): subprocess `node split_bolt\.mjs --fault=crash/);
  assert.match(crash, /exited with code 3/);
  assert.match(crash, /Traceback: something went wrong in split_bolt/);
  // Its stderr is in the log too, as it came.
  assert.ok(mentioning(r.logs, "STDERR: Traceback: something went wrong in split_bolt").length >= 1, r.logs.join("\n"));
});

test("a subprocess that hangs: no heartbeat sync within topology.subprocess.timeout.secs; killed and restarted, no word lost", async () => {
  const r = await faultRun("hang", { "topology.subprocess.timeout.secs": 1 });
  assertNoneLost(r.counts, 150);
  assert.ok(restarts(r.summary, "split") >= 1, "restarted");
  assert.match(mentioning(r.logs, "crashed (restarting)").join("\n"), /did not answer a heartbeat \(sync\) within 1 s/);
});

test("a subprocess that ignores heartbeats (but acks): timed out and restarted", async () => {
  const r = await faultRun("noheartbeat", { "topology.subprocess.timeout.secs": 1 }, new SlowSpout(100, 40), 5);
  assertNoneLost(r.counts, 100);
  assert.ok(restarts(r.summary, "split") >= 1, "restarted");
  assert.match(mentioning(r.logs, "crashed (restarting)").join("\n"), /did not answer a heartbeat/);
});

test("a subprocess that writes garbage: a clear error, restarted, no word lost", async () => {
  const r = await faultRun("garbage");
  assertNoneLost(r.counts, 150);
  assert.ok(restarts(r.summary, "split") >= 1, "restarted");
  assert.match(
    mentioning(r.logs, "crashed (restarting)").join("\n"),
    /wrote output that is not a json multilang message: not a JSON message .*"this is not a multilang message\\n"/,
  );
});

test("a subprocess that floods stderr: stopped and restarted; only its last lines are kept", async () => {
  const r = await faultRun("flood");
  assertNoneLost(r.counts, 150);
  assert.ok(restarts(r.summary, "split") >= 1, "restarted");
  const crash = mentioning(r.logs, "crashed (restarting)").join("\n");
  assert.match(crash, /characters to stderr within a second \(topology.multilang.stderr.max.bytes.per.sec\)/);
  assert.ok(crash.length < 40_000, `the error keeps a bounded tail (${crash.length} characters)`);
  assert.ok(mentioning(r.logs, "STDERR: xxx").length <= 40, "at most 20 stderr lines a second are logged");
});

test("a spout subprocess that crashes: the spout restarts (a new subprocess from its start), no word lost", async () => {
  const dir = await makeTempDir("ardea-ml-spout-");
  try {
    const r = await run("spout-crash", (b) => {
      b.setSpout(
        "sentences",
        new ShellSpout(["node", "sentence_spout.mjs", "--count=200", "--crash-after=80", `--once=${dir}/tripped`], [
          "sentence",
        ], { cwd: NODE_DIR }),
        1,
      );
      b.setBolt("split", splitBolt(), 2).shuffleGrouping("sentences");
      b.setBolt("count", new CountBolt("spout-crash"), 2).fieldsGrouping("split", new Fields("word"));
    });
    assertNoneLost(r.counts, 200);
    assert.is(restarts(r.summary, "sentences"), 1);
    const crash = mentioning(r.logs, "crashed (restarting)").join("\n");
    assert.match(crash, /spout "sentences" \(task \d+\): subprocess `node sentence_spout\.mjs .*exited with code 4/);
    assert.match(crash, /sentence_spout: crashing after 80 sentences/);
  } finally {
    await removePath(dir);
  }
});

test("deactivate and activate reach a spout subprocess; kill stops it", async () => {
  const logs: string[] = [];
  const b = new TopologyBuilder();
  b.setSpout(
    "sentences",
    new ShellSpout(["node", "sentence_spout.mjs", "--count=100000000"], ["sentence"], { cwd: NODE_DIR }),
    1,
  );
  b.setBolt("split", splitBolt(), 1).shuffleGrouping("sentences");
  const handle = await submit("pause", {}, b.createTopology(), { handleSignals: false, log: (l) => logs.push(l) });
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(what(), logs.join("\n"));
  };
  try {
    await until(() => logs.length > 0);
    handle.deactivate();
    await until(() => mentioning(logs, "sentence spout: ").length === 1);
    handle.activate();
    await new Promise((r) => setTimeout(r, 50));
    handle.deactivate();
    await until(() => mentioning(logs, "sentence spout: ").length === 2);
  } finally {
    const summary = await handle.kill();
    assert.is(summary.state, "KILLED");
  }
});

test("a command that does not exist: a clear error, quickly", async () => {
  const started = Date.now();
  const err = await run("missing", (b) => {
    b.setSpout("sentences", sentences(5), 1);
    b.setBolt("split", new ShellBolt(["no-such-multilang-command", "x.py"], ["word"]), 1).shuffleGrouping("sentences");
  }, { "topology.supervisor.max.consecutive.failures": 2 }).then(() => null, (e: Error) => e);
  assert.ok(err !== null, "the run fails");
  assert.match(err!.message, /bolt "split" \(task \d+\): subprocess `no-such-multilang-command x\.py` could not start/);
  assert.ok(Date.now() - started < 10_000, `failed in ${Date.now() - started} ms`);
});

test("a subprocess that never answers the handshake: a clear error within the subprocess timeout", async () => {
  const err = await run("silent", (b) => {
    b.setSpout("sentences", sentences(5), 1);
    b.setBolt("split", new ShellBolt(["node", "-e", "setInterval(() => {}, 1000)"], ["word"]), 1)
      .shuffleGrouping("sentences");
  }, { "topology.supervisor.max.consecutive.failures": 1, "topology.subprocess.timeout.secs": 1 }).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err !== null, "the run fails");
  assert.match(err!.message, /did not answer the handshake within 1 s \(topology.subprocess.timeout.secs\)/);
});

test("EFFECTIVELY_ONCE refuses a ShellSpout, and a ShellBolt unless it is declared stateless", async () => {
  const eo = { "topology.reliability.mode": "EFFECTIVELY_ONCE" };
  const spoutErr = await run("eo-spout", (b) => {
    b.setSpout("sentences", new ShellSpout(["node", "sentence_spout.mjs"], ["sentence"], { cwd: NODE_DIR }), 1);
  }, eo).then(() => null, (e: Error) => e);
  assert.match(spoutErr?.message ?? "", /spout "sentences" cannot run under EFFECTIVELY_ONCE: .*cannot rewind/);
  const boltErr = await run("eo-bolt", (b) => {
    b.setSpout("sentences", sentences(5), 1);
    b.setBolt("split", splitBolt(), 1).shuffleGrouping("sentences");
  }, eo).then(() => null, (e: Error) => e);
  assert.match(boltErr?.message ?? "", /bolt "split" cannot run under EFFECTIVELY_ONCE: .*stateless: true/);
});

test("EFFECTIVELY_ONCE runs a stateless ShellBolt: exact counts through checkpoints and a subprocess crash (rollback)", async () => {
  const dir = await makeTempDir("ardea-ml-eo-");
  const out = new Map<string, number>();
  const logs: string[] = [];
  class Tally extends BaseStatefulBolt<string, number> {
    st!: KeyValueState<string, number>;
    c!: OutputCollector;
    initState(s: KeyValueState<string, number>) {
      this.st = s;
    }
    override prepare(_a: TopologyConfig, _b: TopologyContext, c: OutputCollector) {
      this.c = c;
    }
    execute(t: Tuple) {
      const w = t.getString(0);
      this.st.put(w, (this.st.get(w) ?? 0) + 1);
    }
    override finish() {
      for (const [k, v] of this.st.entries()) this.c.emit([k, v]);
    }
    declareOutputFields(d: OutputFieldsDeclarer) {
      d.declare(["word", "n"]);
    }
  }
  try {
    const b = new TopologyBuilder();
    b.setSpout("numbers", () => new NumbersSpout(300, 10), 1);
    b.setBolt("split", splitBolt(["--fault=crash", "--after=60", `--once=${dir}/tripped`], { stateless: true }), 2)
      .shuffleGrouping("numbers");
    b.setBolt("tally", () => new Tally(), 2).fieldsGrouping("split", new Fields("word"));
    b.setBolt("out", bolt((t) => void out.set(t.getString(0), t.getInteger(1)))).globalGrouping("tally");
    const h = await submit(
      "eo-shell",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.stateful.checkpoint.interval.seconds": 0.05,
      },
      b.createTopology(),
      { handleSignals: false, log: (l) => logs.push(l) },
    );
    const summary = await h.done;
    assert.is(summary.state, "FINISHED");
    assert.ok(mentioning(logs, "exited with code 3").length >= 1, `the crash rolled back:\n${logs.join("\n")}`);
    assert.is(out.size, 300);
    for (const [w, n] of out) assert.is(n, 1, w);
  } finally {
    await removePath(dir);
  }
});

test.run();
