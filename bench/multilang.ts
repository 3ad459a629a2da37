/**
 * `multilang`: sentences/s through a Python split bolt (one subprocess,
 * tests/fixtures/multilang/python/split_bolt.py: one anchored emit per word,
 * then an ack), with Storm's JSON serializer and with msgpack.
 *
 * - `direct-json`, `direct-msgpack` (the baselines, no engine): a small driver
 *   here spawns the same Python process, does the handshake, writes the same
 *   tuple messages the engine would as fast as the pipe takes them, and reads
 *   its replies, decoding every one (the words counted, the acks counted)
 *   until every sentence is acked.
 * - `ardea-json`, `ardea-msgpack`: an embedded ATLEAST_ONCE topology, a
 *   reliable spout over the sentences → `ShellBolt` split (1 task) → a
 *   counting bolt (fields grouping on "word").
 *
 * Every run starts its Python process (about 40 ms either way). Goals from
 * issue 14: Ardea ≥ 0.9× the baseline of its serializer; msgpack ≥ 1.5× JSON.
 * Metrics, steadier than wall time on a busy machine: CPU µs per sentence of
 * this process (`node-cpu`: the engine, or the driver) and of the Python
 * process (`python-cpu`, from /proc/self/stat's reaped-children times, in clock
 * ticks of 10 ms), and sentences per CPU-second of both.
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Packr, Unpackr } from "msgpackr";
import { bolt, Fields, iterableSpout, ShellBolt, submit, TopologyBuilder } from "../mod.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";
import { loadLines } from "./input.ts";
import { clockTicks, readStat } from "./proc_cpu.ts";

/** The Python interpreter of the fixtures (Debian's, with python3-msgpack). */
export const PYTHON = "/usr/bin/python3";
/** Folder of the Python fixtures. */
export const PYTHON_DIR = fileURLToPath(new URL("../tests/fixtures/multilang/python/", import.meta.url));

type Serializer = "json" | "msgpack";

/** What one run saw: sentences acked and words emitted, and the CPU it took. */
interface SplitRun {
  acked: number;
  words: number;
  /** CPU ms of this process (the engine, or the driver) during the run. */
  selfMs?: number;
  /** CPU ms of the Python process (children reaped during the run; Linux only). */
  pythonMs?: number;
}

/** Milliseconds per clock tick of /proc's times. */
const MS_PER_TICK = 1000 / clockTicks();

/** CPU ms of the reaped children of this process (cutime + cstime), or NaN without /proc. */
function childrenCpuMs(): number {
  return (readStat("self")?.childTicks ?? NaN) * MS_PER_TICK;
}

/** Runs `fn` and adds the CPU time of this process and of the children it reaped meanwhile. */
async function withCpu(fn: () => Promise<SplitRun>): Promise<SplitRun> {
  const c0 = process.cpuUsage(), k0 = childrenCpuMs();
  const r = await fn();
  const c = process.cpuUsage(c0);
  return { ...r, selfMs: (c.user + c.system) / 1000, pythonMs: childrenCpuMs() - k0 };
}

const packr = new Packr({ useRecords: false });
const END = "\nend\n";

/** Encodes multilang messages in `serializer`. */
function encoder(serializer: Serializer): (msg: unknown) => Uint8Array | string {
  return serializer === "json" ? (m) => JSON.stringify(m) + END : (m) => packr.pack(m);
}

/**
 * Incremental decoder of the messages a subprocess writes: feed it chunks,
 * it calls `onMessage` for each complete message.
 */
function decoder(serializer: Serializer, onMessage: (m: Record<string, unknown>) => void): (chunk: Uint8Array) => void {
  if (serializer === "json") {
    const td = new TextDecoder();
    let text = "";
    return (chunk) => {
      text += td.decode(chunk, { stream: true });
      let start = 0;
      for (let end = text.indexOf(END, start); end >= 0; end = text.indexOf(END, start)) {
        onMessage(JSON.parse(text.slice(start, end)));
        start = end + END.length;
      }
      text = text.slice(start);
    };
  }
  const unpackr = new Unpackr({ useRecords: false });
  let rest: Uint8Array | undefined;
  return (chunk) => {
    let buf = chunk;
    if (rest) {
      buf = new Uint8Array(rest.length + chunk.length);
      buf.set(rest);
      buf.set(chunk, rest.length);
      rest = undefined;
    }
    let done = 0;
    try {
      unpackr.unpackMultiple(buf, (m: unknown, _start?: number, end?: number) => {
        done = end!;
        onMessage(m as Record<string, unknown>);
      });
    } catch (e) {
      if (!(e as { incomplete?: boolean }).incomplete) throw e;
    }
    if (done < buf.length) rest = buf.slice(done);
  };
}

/** Tuples per write of the direct driver. */
const WRITE_BATCH = 256;

/**
 * The baseline: the split bolt's process driven with no engine. Resolves
 * when every sentence is acked (after the process exits on end of input).
 */
export function runDirect(lines: readonly string[], serializer: Serializer): Promise<SplitRun> {
  const pidDir = mkdtempSync(join(tmpdir(), "ardea-bench-multilang-"));
  const child = spawn(PYTHON, ["split_bolt.py"], {
    cwd: PYTHON_DIR,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ARDEA_MULTILANG_SERIALIZER: serializer }, // as ShellBolt sets it
  });
  const encode = encoder(serializer);
  const run: SplitRun = { acked: 0, words: 0 };
  return new Promise<SplitRun>((resolve, reject) => {
    let pid = false;
    const feed = decoder(serializer, (m) => {
      if (!pid) {
        if (typeof m.pid !== "number") return reject(new Error(`expected the pid reply, got ${JSON.stringify(m)}`));
        pid = true;
        return;
      }
      if (m.command === "emit") run.words++;
      else if (m.command === "ack" && ++run.acked === lines.length) child.stdin.end();
    });
    child.stdout.on("data", (c: Uint8Array) => {
      try {
        feed(c);
      } catch (e) {
        reject(e);
        child.kill();
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      rmSync(pidDir, { recursive: true, force: true });
      if (run.acked === lines.length) resolve(run);
      else reject(new Error(`split_bolt.py exited (${code ?? signal}) after ${run.acked} of ${lines.length} acks`));
    });
    child.stdin.on("error", reject);
    child.stdin.write(encode({
      conf: {},
      pidDir,
      context: { "task->component": { "1": "sentences", "2": "split", "3": "count" }, taskid: 2, componentid: "split" },
    }));
    let i = 0;
    const writeSome = (): void => {
      while (i < lines.length) {
        const parts: (Uint8Array | string)[] = [];
        for (const end = Math.min(i + WRITE_BATCH, lines.length); i < end; i++) {
          parts.push(encode({ id: String(i), comp: "sentences", stream: "default", task: 1, tuple: [lines[i]] }));
        }
        const chunk = serializer === "json" ? (parts as string[]).join("") : Buffer.concat(parts as Uint8Array[]);
        if (!child.stdin.write(chunk)) return void child.stdin.once("drain", writeSome);
      }
    };
    writeSome();
  });
}

/** Ardea: reliable spout → ShellBolt split (1 task) → counting bolt. */
export async function runArdea(lines: readonly string[], serializer: Serializer): Promise<SplitRun> {
  const run: SplitRun = { acked: 0, words: 0 };
  const b = new TopologyBuilder();
  b.setSpout(
    "sentences",
    iterableSpout((ctx) => (ctx.getThisTaskIndex() === 0 ? lines : []), { fields: ["sentence"] }),
  );
  b.setBolt("split", new ShellBolt([PYTHON, "split_bolt.py"], ["word"], { cwd: PYTHON_DIR, serializer }), 1)
    .shuffleGrouping("sentences");
  b.setBolt("count", bolt(() => void run.words++), 1).fieldsGrouping("split", new Fields("word"));
  const h = await submit(
    "multilang-bench",
    {
      "topology.reliability.mode": "ATLEAST_ONCE",
      "topology.max.spout.pending": 4096,
    },
    b.createTopology(),
    { handleSignals: false, log: () => {} },
  );
  const { stats } = await h.done;
  const spout = Object.values(stats.tasks ?? {}).find((t) => t.component === "sentences");
  run.acked = spout?.acked ?? 0;
  return run;
}

const benchmark: Benchmark = {
  name: "multilang",
  description: "Sentences/s through a Python split bolt (JSON, msgpack): Ardea ShellBolt vs a driver with no engine",
  defaultWords: 300_000,
  async run(opts: BenchOptions) {
    const lines = loadLines(opts);
    const words = lines.reduce((n, l) => n + l.split(" ").length, 0);
    const check = (r: SplitRun) => {
      if (r.acked !== lines.length) throw new Error(`${r.acked} sentences acked, expected ${lines.length}`);
      if (r.words !== words) throw new Error(`${r.words} words, expected ${words}`);
    };
    const perSentence = (ms: number | undefined) => (ms === undefined ? NaN : (ms * 1000) / lines.length);
    const variant = (name: string, description: string, fn: () => Promise<SplitRun>): Variant<SplitRun> => ({
      name,
      description,
      run: () => withCpu(fn),
      verify: check,
      metrics: (r) => ({
        "node-cpu": perSentence(r.selfMs),
        "python-cpu": perSentence(r.pythonMs),
        "cpu-sentences/s": lines.length / (((r.selfMs ?? NaN) + (r.pythonMs ?? NaN)) / 1000),
      }),
    });
    const variants = [
      variant("direct-json", "driver → python3 split_bolt.py, JSON, no engine", () => runDirect(lines, "json")),
      variant("ardea-json", "spout → ShellBolt(python3 split_bolt.py) → count, JSON", () => runArdea(lines, "json")),
      variant("direct-msgpack", "driver → python3 split_bolt.py, msgpack", () => runDirect(lines, "msgpack")),
      variant("ardea-msgpack", "the same topology, msgpack", () => runArdea(lines, "msgpack")),
    ];
    return await measure({
      unit: "sentences/s",
      unitsPerRun: lines.length,
      baseline: "direct-json",
      variants,
      goals: [
        { variant: "ardea-json", against: "direct-json", min: 0.9 },
        { variant: "ardea-msgpack", against: "direct-msgpack", min: 0.9 },
        { variant: "ardea-msgpack", against: "ardea-json", min: 1.5 },
      ],
      metrics: [
        { name: "node-cpu", unit: "µs/sentence", lowerIsBetter: true },
        { name: "python-cpu", unit: "µs/sentence", lowerIsBetter: true },
        { name: "cpu-sentences/s", unit: "sentences per CPU-s" },
      ],
      input: { sentences: lines.length, words, python: PYTHON },
    }, opts);
  },
};

export default benchmark;
