// timeout: 300
// EFFECTIVELY_ONCE, embedded: exact counts under bolt crashes (stateless
// retry and stateful rollback), aligned markers across a diamond, a process
// killed with SIGKILL and started again, corrupted state refused.
import { NumbersSpout } from "./fixtures/numbers_spout.ts";
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import {
  BaseStatefulBolt,
  BaseStatefulSpout,
  bolt,
  Fields,
  iterableSpout,
  type KeyValueState,
  type OutputCollector,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import {
  ardeaRoot,
  env,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  scriptCommand,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { collect } from "../testing/child.ts";

const N = 60_000;

/** Sums its input by key (n mod 7) in state; fails on given global counts, once each. */
const crashes = { at: new Set<number>(), seen: 0, fired: 0 };
class KeyedSum extends BaseStatefulBolt<number, number> {
  st!: KeyValueState<number, number>;
  c!: OutputCollector;
  initState(s: KeyValueState<number, number>) {
    this.st = s;
  }
  override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
    this.c = c;
  }
  execute(t: Tuple) {
    const n = t.getInteger(0);
    const seen = ++crashes.seen;
    if (crashes.at.has(seen)) {
      crashes.at.delete(seen);
      crashes.fired++;
      throw new Error(`planned crash at ${seen}`);
    }
    this.st.put(n % 7, (this.st.get(n % 7) ?? 0) + n);
  }
  override finish() {
    for (const [k, v] of this.st.entries()) this.c.emit([k, v]);
  }
  declareOutputFields(d: { declare(f: string[]): void }) {
    d.declare(["key", "sum"]);
  }
}

function truth(): Map<number, number> {
  const m = new Map<number, number>();
  for (let n = 0; n < N; n++) m.set(n % 7, (m.get(n % 7) ?? 0) + n);
  return m;
}

async function runSums(dir: string, crashAt: number[], diamond: boolean, intervalSecs = 0.02) {
  crashes.at = new Set(crashAt);
  crashes.seen = 0;
  crashes.fired = 0;
  const out = new Map<number, number>();
  const b = new TopologyBuilder();
  b.setSpout("numbers", () => new NumbersSpout(N, 20), 1);
  let flaky = 0;
  // A stateless stage that fails now and then before emitting: retried in place.
  b.setBolt(
    "relay",
    bolt((t, c) => {
      if (++flaky % 997 === 0) throw new Error("relay hiccup");
      c.emit([t.getValue(0)]);
    }, { fields: ["n"] }),
    2,
  ).shuffleGrouping("numbers");
  if (diamond) {
    b.setBolt("left", bolt((t, c) => c.emit([t.getValue(0)]), { fields: ["n"] })).shuffleGrouping("relay");
    b.setBolt("right", bolt((t, c) => c.emit([t.getValue(0)]), { fields: ["n"] })).shuffleGrouping("relay");
    b.setBolt("sum", () => new KeyedSum(), 2)
      .fieldsGrouping("left", new Fields("n"))
      .fieldsGrouping("right", new Fields("n"));
  } else {
    b.setBolt("sum", () => new KeyedSum(), 2).fieldsGrouping("relay", new Fields("n"));
  }
  b.setBolt(
    "out",
    bolt((t) => {
      out.set(t.getInteger(0), (out.get(t.getInteger(0)) ?? 0) + t.getInteger(1));
    }),
  ).globalGrouping("sum");
  const h = await submit(
    "eo-sums",
    {
      "topology.reliability.mode": "EFFECTIVELY_ONCE",
      "topology.state.dir": dir,
      "topology.stateful.checkpoint.interval.seconds": intervalSecs,
    },
    b.createTopology(),
    { handleSignals: false, log: () => {} },
  );
  const summary = await h.done;
  return { out, summary };
}

test("stateless retries and stateful rollbacks keep sums exact", async () => {
  const dir = await makeTempDir("ardea-eo-");
  try {
    const { out, summary } = await runSums(dir, [9_000, 30_000, 45_000], false);
    assert.is(summary.state, "FINISHED");
    assert.ok(crashes.fired >= 3, `crashes fired: ${crashes.fired}`);
    const want = truth();
    for (const [k, v] of want) assert.is(out.get(k), v, `sum of key ${k}`);
    assert.is(out.size, want.size);
  } finally {
    await removePath(dir);
  }
});

test("a diamond (two inputs into one bolt) aligns its markers and stays exact through rollbacks", async () => {
  const dir = await makeTempDir("ardea-eo-");
  try {
    const { out } = await runSums(dir, [20_000, 70_000], true);
    const want = truth();
    // Each number reaches "sum" twice (left and right).
    for (const [k, v] of want) assert.is(out.get(k), 2 * v, `sum of key ${k}`);
  } finally {
    await removePath(dir);
  }
});

test("word_count --mode effectively-once: chaos, then SIGKILL and a restart, exact counts", async () => {
  const dir = await makeTempDir("ardea-eo-wc-");
  try {
    const lines: string[] = [];
    let seed = 11;
    for (let i = 0; i < 120_000; i++) {
      const ws: string[] = [];
      for (let k = 0; k < 8; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        ws.push(`w${seed % 500}`);
      }
      lines.push(ws.join(" "));
    }
    const want = new Map<string, number>();
    for (const l of lines) for (const w of l.split(" ")) want.set(w, (want.get(w) ?? 0) + 1);
    const input = resolvePath(dir, "in.txt");
    const out = resolvePath(dir, "out.json");
    const state = resolvePath(dir, "state");
    await writeTextFile(input, lines.join("\n") + "\n");
    const args = [
      "--input",
      input,
      "--out",
      out,
      "--mode",
      "effectively-once",
      "--state-dir",
      state,
      "--chaos",
      "0.01",
      "--splitters",
      "2",
      "--counters",
      "2",
      "--checkpoint-secs",
      "0.05",
    ];
    const { cmd, args: argv } = scriptCommand(resolvePath(ardeaRoot(), "examples", "word_count.ts"), args);

    // First run: killed with SIGKILL once a checkpoint is committed.
    const first = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe" });
    void (async () => {
      for await (const _ of first.lines("stdout"));
    })();
    void (async () => {
      for await (const _ of first.lines("stderr"));
    })();
    const committed = () => {
      try {
        return readdirSync(resolvePath(state, "word-count")).some((d) => {
          try {
            return readdirSync(resolvePath(state, "word-count", d)).includes("commit.json");
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    };
    const until = Date.now() + 60_000;
    while (Date.now() < until && !committed()) await new Promise((r) => setTimeout(r, 5));
    assert.ok(committed(), "no checkpoint was committed");
    process.kill(first.pid!, "SIGKILL");
    await first.exited;

    // Second run: resumes from the checkpoint and finishes exactly.
    const second = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe" });
    const logs: string[] = [];
    await Promise.all([
      collect(second.lines("stdout"), logs),
      collect(second.lines("stderr"), logs),
    ]);
    const exit = await second.exited;
    assert.is(exit.code, 0, logs.join("\n"));
    const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
    assert.is(Object.keys(got).length, want.size);
    for (const [w, n] of want) assert.is(got[w], n, w);
  } finally {
    await removePath(dir);
  }
});

test("seeded random crash schedules: every run exact (ARDEA_EO_SEEDS runs, default 4)", async () => {
  const seeds = Number(env("ARDEA_EO_SEEDS") ?? 4);
  for (let seed = 1; seed <= seeds; seed++) {
    const dir = await makeTempDir("ardea-eo-seed-");
    try {
      let x = seed * 7919;
      const rand = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const at = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => 1 + Math.floor(rand() * N * 1.5));
      const diamond = rand() < 0.5;
      const { out } = await runSums(dir, at, diamond, 0.005 + rand() * 0.03);
      const want = truth();
      const factor = diamond ? 2 : 1; // in a diamond every number reaches "sum" twice
      for (const [k, v] of want) assert.is(out.get(k), factor * v, `seed ${seed}, crashes at ${at}: sum of key ${k}`);
    } finally {
      await removePath(dir);
    }
  }
});

test("a spout task that finished early keeps its state in later checkpoints (rollback after it ended)", async () => {
  const sizes = [50, 30_000];
  let seen = 0;
  let fired = false;
  class Part extends BaseStatefulSpout<string, number> {
    st!: KeyValueState<string, number>;
    pos = 0;
    n = 0;
    idx = 0;
    c!: SpoutOutputCollector;
    initState(s: KeyValueState<string, number>) {
      this.st = s;
      this.pos = s.get("pos") ?? 0;
    }
    override preSave() {
      this.st.put("pos", this.pos);
    }
    override open(_a: unknown, ctx: { getThisTaskIndex(): number }, c: SpoutOutputCollector) {
      this.c = c;
      this.idx = ctx.getThisTaskIndex();
      this.n = sizes[this.idx]!;
    }
    nextTuple() {
      if (this.pos >= this.n) return this.c.finish();
      this.c.emit([this.pos++]);
    }
    declareOutputFields(d: { declare(f: string[]): void }) {
      d.declare(["n"]);
    }
  }
  class Total extends BaseStatefulBolt<string, number> {
    st!: KeyValueState<string, number>;
    c!: OutputCollector;
    initState(s: KeyValueState<string, number>) {
      this.st = s;
    }
    override prepare(_a: unknown, _b: unknown, c: OutputCollector) {
      this.c = c;
    }
    execute() {
      if (++seen === 20_000 && !fired) {
        fired = true;
        throw new Error("planned crash after task 0 ended");
      }
      this.st.put("n", (this.st.get("n") ?? 0) + 1);
    }
    override finish() {
      this.c.emit([this.st.get("n") ?? 0]);
    }
    declareOutputFields(d: { declare(f: string[]): void }) {
      d.declare(["n"]);
    }
  }
  const dir = await makeTempDir("ardea-eo-fin-");
  try {
    let total = -1;
    const b = new TopologyBuilder();
    b.setSpout("parts", () => new Part(), 2);
    b.setBolt("total", () => new Total()).shuffleGrouping("parts");
    b.setBolt(
      "out",
      bolt((t) => {
        total = t.getInteger(0);
      }),
    ).globalGrouping("total");
    const h = await submit(
      "eo-finished",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        "topology.stateful.checkpoint.interval.seconds": 0.005,
      },
      b.createTopology(),
      { handleSignals: false, log: () => {} },
    );
    await h.done;
    assert.ok(fired);
    assert.is(total, sizes[0]! + sizes[1]!);
  } finally {
    await removePath(dir);
  }
});

/** A two-phase sink: what came since the last checkpoint is kept in state at preSave and "published" at postSave. */
class TwoPhaseSink extends BaseStatefulBolt<string, number[]> {
  st!: KeyValueState<string, number[]>;
  buffer: number[] = [];
  constructor(readonly published: number[]) {
    super();
  }
  initState(s: KeyValueState<string, number[]>) {
    this.st = s;
  }
  execute(t: Tuple) {
    this.buffer.push(t.getInteger(0));
  }
  override preSave(id: number) {
    this.st.put(`batch-${String(id).padStart(8, "0")}`, this.buffer);
    this.buffer = [];
  }
  override postSave(id: number) {
    for (const [k, batch] of [...this.st.entries()]) {
      if (Number(k.slice(6)) > id) continue;
      this.published.push(...batch);
      this.st.delete(k);
    }
  }
  declareOutputFields() {}
}

test("a finished EFFECTIVELY_ONCE run commits a last checkpoint: a two-phase sink publishes everything, once", async () => {
  const dir = await makeTempDir("ardea-eo-final-");
  try {
    const published: number[] = [];
    const b = new TopologyBuilder();
    b.setSpout("numbers", () => new NumbersSpout(N, 20), 1);
    b.setBolt("sink", () => new TwoPhaseSink(published), 1).globalGrouping("numbers");
    const h = await submit(
      "eo-final",
      {
        "topology.reliability.mode": "EFFECTIVELY_ONCE",
        "topology.state.dir": dir,
        // Longer than the run: only the final checkpoint publishes.
        "topology.stateful.checkpoint.interval.seconds": 600,
      },
      b.createTopology(),
      { handleSignals: false, log: () => {} },
    );
    assert.is((await h.done).state, "FINISHED");
    assert.is(published.length, N, "every number published");
    assert.is(new Set(published).size, N, "each once");
  } finally {
    await removePath(dir);
  }
});

test("a spout that keeps no state is refused in EFFECTIVELY_ONCE", async () => {
  const b = new TopologyBuilder();
  b.setSpout("plain", iterableSpout(() => [1, 2, 3], { fields: ["n"] }));
  b.setBolt("sink", bolt(() => {})).shuffleGrouping("plain");
  const e = await submit("eo-plain", { "topology.reliability.mode": "EFFECTIVELY_ONCE" }, b.createTopology(), {
    handleSignals: false,
  })
    .then(() => null, (err) => err as Error);
  assert.ok(e);
  assert.match(e!.message, /spout "plain" keeps no state/);
});

test("corrupted checkpoint state is refused with a clear error", async () => {
  const dir = await makeTempDir("ardea-eo-bad-");
  try {
    await runSums(dir, [], false, 0.002);
    const topo = resolvePath(dir, "eo-sums");
    const ck = readdirSync(topo)
      .filter((d) => /^\d+$/.test(d) && readdirSync(resolvePath(topo, d)).includes("commit.json"))
      .sort((a, b) => Number(b) - Number(a))[0]!;
    const file = readdirSync(resolvePath(topo, ck)).find((f) => f.endsWith(".state"))!;
    const path = resolvePath(topo, ck, file);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
    const e = await runSums(dir, [], false, 0.002).then(() => null, (err) => err as Error);
    assert.ok(e, "the run should refuse corrupt state");
    assert.match(e!.message, /corrupt/i);
  } finally {
    await removePath(dir);
  }
});

test.run();
