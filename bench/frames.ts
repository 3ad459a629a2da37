/**
 * `frames`: CPU of the data frames that carry tuples between containers,
 * on word-count traffic: one word per tuple, from 2 split tasks (a
 * sentence each in turn) to 2 count tasks by a hash of the word, untracked
 * (ATMOST_ONCE) and tracked (ATLEAST_ONCE: a root and an edge id each). No
 * NATS: only what the two ends spend.
 *
 * Two pairs of variants per mode, version 1 frames (`old-*`: 8 slots a
 * tuple in one flat msgpack list, markers as stream indexes; kept only
 * here, as the baseline) against version 2 (`new-*`: columns,
 * transport/wire/data.ts):
 *
 * - `codec-*`: frames of 1000 tuples written, encoded, decoded and
 *   checked (pack + unpack, no tuple built).
 * - `path-*`: every word sent through a sending stream manager to a
 *   receiving one, which builds the tuples and hands them to its container
 *   (a stand-in that sums them): frames at the stream manager's byte
 *   budget, credits included. `new-*` runs cluster/stream_manager.ts over an
 *   in-process stand-in for the NATS connection; `old-*` runs a copy of
 *   version 1's send and receive loops.
 *
 * Primary figure: tuples/s (wall clock). Metric `cpu`: tuples per second of
 * this process's CPU time (user + system, GC threads included), the figure
 * that holds best on a busy machine; `bytes/tuple` of the data frames.
 */
import process from "node:process";
import type { NatsConnection } from "nats";
import { createStrictPackr } from "../transport/codec.ts";
import { DataFrameWriter, decodeDataFrame, streamTable } from "../transport/wire/mod.ts";
import { StreamManager } from "../cluster/stream_manager.ts";
import { Pressure } from "../actors/mailbox.ts";
import type { Message } from "../actors/task_host.ts";
import { bolt, Fields, TopologyBuilder } from "../mod.ts";
import type { StormTopology } from "../topology/topology.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";
import { mulberry32 } from "../testing/random.ts";
import { loadLines } from "./input.ts";

/** Tuples a frame of the codec variants (the stream manager's 32 KB budget holds about as many words). */
const TUPLES_PER_FRAME = 1000;
/** The stream manager's flush budget (cluster/stream_manager.ts `BYTE_BUDGET`), for version 1's loop. */
const BYTE_BUDGET = 32 * 1024;

/** The word count's topology: lines → split ×2 → count ×2 (fields "word"). */
function wordCount(): StormTopology {
  const b = new TopologyBuilder();
  b.setSpout("lines", () => ({ open() {}, nextTuple() {}, declareOutputFields: (d) => d.declare(["line"]) }), 1);
  b.setBolt("split", bolt(() => {}, { fields: ["word"] }), 2).shuffleGrouping("lines");
  b.setBolt("count", bolt(() => {}), 2).fieldsGrouping("split", new Fields("word"));
  return b.createTopology();
}

/** One crossing word as the sender holds it. */
interface Word {
  dest: number;
  t: TupleImpl;
}

/** The words of the input as tuples from split tasks (a sentence each in turn) to count tasks by hash. */
function wordsOf(
  lines: readonly string[],
  topology: StormTopology,
  info: StreamInfo,
  tracked: boolean,
  seed: number,
): Word[] {
  const rand = mulberry32(seed);
  const splits = topology.componentTasks.get("split")!, counts = topology.componentTasks.get("count")!;
  const out: Word[] = [];
  let split = 0;
  for (const line of lines) {
    const src = splits[split++ % splits.length]!;
    for (const word of line.split(" ")) {
      let h = 0;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
      const t = new TupleImpl([word], info, src);
      if (tracked) {
        t.root = 2 ** 30 + Math.floor(rand() * 1e6);
        t.eh = Math.floor(rand() * 2 ** 30);
        t.el = Math.floor(rand() * 2 ** 30);
      }
      out.push({ dest: counts[(h >>> 0) % counts.length]!, t });
    }
  }
  return out;
}

/** What one run measured. */
interface FrameRun {
  tuples: number;
  /** CPU time (ms) of the run. */
  cpuMs: number;
  /** Bytes of the data frames. */
  bytes: number;
  /** Sum over the received tuples, so that the work cannot be skipped. */
  check: number;
}

/** What the receiving side sums over each tuple it gets. */
const sum = (dest: number, t: TupleImpl) => dest + (t.values[0] as string).length;

/** Runs `fn` and adds its CPU time. */
function timed(fn: () => Omit<FrameRun, "cpuMs">): FrameRun {
  const c0 = process.cpuUsage();
  const r = fn();
  const d = process.cpuUsage(c0);
  return { ...r, cpuMs: (d.user + d.system) / 1000 };
}

async function timedAsync(fn: () => Promise<Omit<FrameRun, "cpuMs">>): Promise<FrameRun> {
  const c0 = process.cpuUsage();
  const r = await fn();
  const d = process.cpuUsage(c0);
  return { ...r, cpuMs: (d.user + d.system) / 1000 };
}

// ---------------------------------------------------------------- version 1 (the baseline, copied from before)

const v1Packr = createStrictPackr();
const V1_WIDTH = 8;

/** Version 1's `encodeDataFrame`. */
function v1Encode(flat: unknown[], seq: number): Uint8Array {
  return v1Packr.pack([1, 0, 7, flat, seq]);
}

/** Version 1's `decodeDataFrame` with its checks. */
function v1Decode(bytes: Uint8Array): unknown[] {
  const v = v1Packr.unpack(bytes) as unknown[];
  if (!Array.isArray(v) || v.length !== 5 || v[0] !== 1) throw new Error("not a version 1 frame");
  const flat = v[3] as unknown[];
  if (!Array.isArray(flat) || flat.length % V1_WIDTH !== 0) throw new Error("bad flat");
  for (let i = 0; i < flat.length; i += V1_WIDTH) {
    const dest = flat[i], src = flat[i + 1], stream = flat[i + 2], values = flat[i + 3];
    const root = flat[i + 4], eh = flat[i + 5], el = flat[i + 6], more = flat[i + 7];
    if (!Number.isInteger(dest) || !Number.isInteger(src) || !Number.isInteger(stream)) throw new Error("bad task");
    if ((stream as number) < 0) continue;
    if (!Array.isArray(values)) throw new Error("bad values");
    if (typeof root !== "number" || !Number.isInteger(eh) || !Number.isInteger(el)) throw new Error("bad tree");
    if (more !== null && (!Array.isArray(more) || more.length % 3 !== 0 || !more.every(Number.isInteger))) {
      throw new Error("bad more");
    }
  }
  return flat;
}

/** Version 1's byte estimate of a tuple. */
function v1Estimate(values: unknown[]): number {
  let n = 24;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    n += typeof v === "string" ? v.length + 2 : 9;
  }
  return n;
}

/** Version 1's stream manager, both ends: flat slots at the byte budget, and the receive loop with its checks. */
function v1Path(
  words: readonly Word[],
  topology: StormTopology,
  streams: StreamInfo[],
  stream: number,
): Omit<FrameRun, "cpuMs"> {
  const sources = new Map(
    topology.componentTasks.get("count")!.map((t) => [t, new Set(topology.componentTasks.get("split")!)]),
  );
  let flat: unknown[] = [], estimate = 0, seq = 0, bytes = 0, check = 0, tuples = 0;
  const receive = (b: Uint8Array) => {
    const f = v1Decode(b);
    for (let i = 0; i < f.length; i += V1_WIDTH) {
      const dest = f[i] as number, src = f[i + 1] as number, s = f[i + 2] as number;
      const from = sources.get(dest);
      const srcComponent = topology.taskToComponent.get(src);
      if (from === undefined || srcComponent === undefined || !from.has(src)) throw new Error("not a source");
      const info = streams[s]!;
      const values = f[i + 3] as unknown[];
      if (info.component !== srcComponent || values.length !== info.fields.size()) throw new Error("arity");
      const t = new TupleImpl(values, info, src);
      const root = f[i + 4] as number;
      if (root !== -1) {
        t.root = root;
        t.eh = f[i + 5] as number;
        t.el = f[i + 6] as number;
        t.more = f[i + 7] as number[] | null;
      }
      check += sum(dest, t);
      tuples++;
    }
  };
  const flush = () => {
    const b = v1Encode(flat, ++seq);
    flat = [];
    estimate = 0;
    bytes += b.length;
    receive(b);
  };
  for (const { dest, t } of words) {
    flat.push(dest, t.sourceTask, stream, t.values, t.root, t.eh, t.el, t.more);
    estimate += v1Estimate(t.values);
    if (estimate >= BYTE_BUDGET) flush();
  }
  if (flat.length > 0) flush();
  return { tuples, bytes, check };
}

function v1Codec(words: readonly Word[], stream: number): Omit<FrameRun, "cpuMs"> {
  let bytes = 0, tuples = 0;
  for (let i = 0, seq = 1; i < words.length; i += TUPLES_PER_FRAME, seq++) {
    const flat: unknown[] = [];
    for (const { dest, t } of words.slice(i, i + TUPLES_PER_FRAME)) {
      flat.push(dest, t.sourceTask, stream, t.values, t.root, t.eh, t.el, t.more);
    }
    const b = v1Encode(flat, seq);
    bytes += b.length;
    tuples += v1Decode(b).length / V1_WIDTH;
  }
  return { tuples, bytes, check: 0 };
}

// ---------------------------------------------------------------- version 2 (transport/wire/data.ts, cluster/stream_manager.ts)

const writer = new DataFrameWriter();

function v2Codec(words: readonly Word[], stream: number): Omit<FrameRun, "cpuMs"> {
  let bytes = 0, tuples = 0;
  for (let i = 0, seq = 1; i < words.length; i += TUPLES_PER_FRAME, seq++) {
    for (const { dest, t } of words.slice(i, i + TUPLES_PER_FRAME)) {
      writer.tuple(dest, t.sourceTask, stream, t.values, t.root, t.eh, t.el, t.more);
    }
    const b = writer.encode({ from: 0, epoch: 7, seq });
    writer.clear();
    bytes += b.length;
    tuples += decodeDataFrame(b).dest.length;
  }
  return { tuples, bytes, check: 0 };
}

/**
 * Just what two stream managers ask of a NATS connection, in one process: a
 * publish goes at once to the subscribers of its subject. Counts the bytes
 * of data frames.
 */
function loopback() {
  const subs = new Map<string, Array<(err: null, msg: { data: Uint8Array }) => void>>();
  const stats = { dataBytes: 0 };
  const nc = {
    info: { max_payload: 1024 * 1024 },
    subscribe(subject: string, opts: { callback: (err: null, msg: { data: Uint8Array }) => void }) {
      const list = subs.get(subject) ?? [];
      list.push(opts.callback);
      subs.set(subject, list);
      return { unsubscribe: () => list.splice(list.indexOf(opts.callback), 1) };
    },
    publish(subject: string, data: Uint8Array) {
      if (subject.includes(".data.")) stats.dataBytes += data.length;
      for (const cb of subs.get(subject) ?? []) cb(null, { data });
    },
    flush: () => Promise.resolve(),
    status: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }) }),
  };
  return { nc: nc as unknown as NatsConnection, stats };
}

/** A container that sums what it is handed (cluster/stream_manager.ts `StreamHost`). */
function summingHost(topology: StormTopology) {
  const splits = new Set(topology.componentTasks.get("split")!);
  const counts = new Set(topology.componentTasks.get("count")!);
  const got = { tuples: 0, check: 0 };
  const inputs = { acceptsFrom: (task: number) => splits.has(task) };
  return {
    got,
    localBolt: (task: number) => (counts.has(task) ? inputs : undefined),
    deliver(dest: number, m: Message) {
      if (!(m instanceof TupleImpl)) return;
      got.check += sum(dest, m);
      got.tuples++;
    },
    applyAck() {},
    setRemotePressure() {},
    pressure: new Pressure(() => {}),
    scheduler: { now: 0 },
    ownPressure: () => false,
    fatal(e: Error) {
      throw e;
    },
    effectivelyOnce: false,
    rollback() {},
  };
}

async function v2Path(words: readonly Word[], topology: StormTopology): Promise<Omit<FrameRun, "cpuMs">> {
  const { nc, stats } = loopback();
  const common = { nc, topologyName: "frames", topology, onControl() {}, log() {}, epoch: 7 };
  const sender = new StreamManager({ ...common, index: 0 });
  const receiver = new StreamManager({ ...common, index: 1 });
  const host = summingHost(topology);
  sender.attach(summingHost(topology));
  receiver.attach(host);
  for (const { dest, t } of words) sender.sendTuple(1, dest, t);
  await sender.close();
  await receiver.close();
  if (receiver.dropped > 0) throw new Error(`the receiver dropped ${receiver.dropped} frames`);
  return { tuples: host.got.tuples, bytes: stats.dataBytes, check: host.got.check };
}

const benchmark: Benchmark = {
  name: "frames",
  description:
    "Data frames between containers, version 1 (flat slots) vs 2 (columns): pack + unpack, and stream manager to stream manager, word-count tuples",
  async run(opts: BenchOptions) {
    const lines = loadLines(opts);
    const topology = wordCount();
    const table = streamTable([...topology.components].map(([id, c]) => [id, [...c.streams.keys()]]));
    const streams = table.map(([c, s]) =>
      new StreamInfo(c, s, topology.components.get(c)!.streams.get(s)!.fields, false)
    );
    const stream = table.findIndex(([c, s]) => c === "split" && s === "default");
    const info = streams[stream]!;
    const untracked = wordsOf(lines, topology, info, false, opts.seed);
    const tracked = wordsOf(lines, topology, info, true, opts.seed);
    const words = untracked.length;
    const expected = untracked.reduce((n, w) => n + sum(w.dest, w.t), 0);
    const verify = (codec: boolean) => (r: FrameRun) => {
      if (r.tuples !== words || (!codec && r.check !== expected)) {
        throw new Error(`received ${r.tuples} tuples (checksum ${r.check}), sent ${words} (checksum ${expected})`);
      }
    };
    const metrics = (r: FrameRun) => ({ cpu: r.tuples / (r.cpuMs / 1000), "bytes/tuple": r.bytes / r.tuples });
    const variants: Variant<FrameRun>[] = [];
    for (const [mode, ws] of [["atmost", untracked], ["atleast", tracked]] as const) {
      const what = mode === "atmost" ? "untracked" : "tracked";
      variants.push(
        {
          name: `codec-old-${mode}`,
          description: `version 1 frames of ${TUPLES_PER_FRAME} ${what} tuples: pack + unpack`,
          run: () => timed(() => v1Codec(ws, stream)),
          verify: verify(true),
          metrics,
        },
        {
          name: `codec-new-${mode}`,
          description: `version 2 frames of ${TUPLES_PER_FRAME} ${what} tuples: pack + unpack`,
          run: () => timed(() => v2Codec(ws, stream)),
          verify: verify(true),
          metrics,
        },
        {
          name: `path-old-${mode}`,
          description: `version 1 stream manager loops, ${what} tuples`,
          run: () => timed(() => v1Path(ws, topology, streams, stream)),
          verify: verify(false),
          metrics,
        },
        {
          name: `path-new-${mode}`,
          description: `cluster/stream_manager.ts to cluster/stream_manager.ts, ${what} tuples`,
          run: () => timedAsync(() => v2Path(ws, topology)),
          verify: verify(false),
          metrics,
        },
      );
    }
    // 35 % less CPU a tuple is 1/0.65 = 1.54× the rate.
    const goals = ["codec", "path"].flatMap((kind) =>
      ["atmost", "atleast"].map((mode) => ({
        variant: `${kind}-new-${mode}`,
        against: `${kind}-old-${mode}`,
        metric: "cpu",
        min: 1.54,
        label: `cpu ≥1.54× ${kind}-old-${mode} (35 % less CPU)`,
      }))
    );
    return await measure({
      unit: "tuples/s",
      unitsPerRun: words,
      baseline: "codec-old-atmost",
      variants,
      metrics: [{ name: "cpu", unit: "tuples/CPU-s" }, { name: "bytes/tuple", unit: "B", lowerIsBetter: true }],
      goals,
      input: { source: opts.input ?? `generated (seed ${opts.seed})`, words },
    }, opts);
  },
};

export default benchmark;
