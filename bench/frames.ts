/**
 * `frames`: CPU of the data frames that carry tuples between containers, on
 * word-count frames (one word per tuple, from 2 split tasks in runs of a
 * sentence, to 2 count tasks by a hash of the word), untracked
 * (ATMOST_ONCE) and tracked (ATLEAST_ONCE: a root, an edge id), 1000
 * tuples a frame (what the stream manager's 32 KB budget holds). No NATS:
 * only what both ends spend on a frame.
 *
 * Each variant writes every word into frames, encodes them, decodes them
 * (the codec phase) and turns each frame back into tuples as a receiving
 * stream manager does. Primary figure: tuples/s of that whole path (wall
 * clock). Metric `cpu`: tuples per second of this process's CPU time
 * (user + system, GC threads included) over the whole path, the figure
 * that holds best on a busy machine; `codec`: tuples/s of the codec phase
 * alone (wall clock, summed per frame); `bytes/tuple`. `old-*` is the version 1 frame (8 slots a tuple in one flat
 * msgpack list, markers as stream indexes), kept only here as the baseline;
 * `new-*` is transport/wire/data.ts (columns).
 */
import process from "node:process";
import { createStrictPackr } from "../transport/codec.ts";
import { type DataFrame, DataFrameWriter, decodeDataFrame } from "../transport/wire/mod.ts";
import { Fields } from "../topology/fields.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";
import { loadLines, mulberry32 } from "./input.ts";

/** Tuples a frame (the stream manager flushes at about 32 KB of estimated bytes: some 1000 words). */
const TUPLES_PER_FRAME = 1000;
const SPLIT_TASKS = [3, 4];
const COUNT_TASKS = [5, 6];
/** Stream index of split's default stream in the word count's stream table. */
const STREAM = 2;
const INFO = new StreamInfo("split", "default", new Fields("word"), false);

/** One crossing word as the sender holds it. */
interface Word {
  dest: number;
  t: TupleImpl;
}

/** The words of the input as frames of tuples, from split tasks (a sentence each in turn) to count tasks by hash. */
function framesOf(lines: readonly string[], tracked: boolean, seed: number): Word[][] {
  const rand = mulberry32(seed);
  const frames: Word[][] = [];
  let frame: Word[] = [];
  let split = 0;
  for (const line of lines) {
    const src = SPLIT_TASKS[split++ % SPLIT_TASKS.length]!;
    for (const word of line.split(" ")) {
      let h = 0;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
      const t = new TupleImpl([word], INFO, src);
      if (tracked) {
        t.root = 2 ** 30 + Math.floor(rand() * 1e6);
        t.eh = Math.floor(rand() * 2 ** 30);
        t.el = Math.floor(rand() * 2 ** 30);
      }
      frame.push({ dest: COUNT_TASKS[(h >>> 0) % COUNT_TASKS.length]!, t });
      if (frame.length === TUPLES_PER_FRAME) {
        frames.push(frame);
        frame = [];
      }
    }
  }
  if (frame.length > 0) frames.push(frame);
  return frames;
}

/** What one run measured. */
interface FrameRun {
  tuples: number;
  /** Wall time (ms) of the codec phase (summed over frames) and CPU time (ms) of the whole run. */
  codecMs: number;
  cpuMs: number;
  bytes: number;
  /** Sum over the received tuples, so that the work cannot be skipped. */
  check: number;
}

// ---------------------------------------------------------------- the version 1 frame (baseline)

const v1Packr = createStrictPackr();
const V1_WIDTH = 8;

/** Version 1: `[1, from, epoch, flat, seq]`, 8 slots a tuple. */
function v1Encode(frame: readonly Word[], seq: number): Uint8Array {
  const flat: unknown[] = [];
  for (const { dest, t } of frame) flat.push(dest, t.sourceTask, STREAM, t.values, t.root, t.eh, t.el, t.more);
  return v1Packr.pack([1, 0, 7, flat, seq]);
}

/** Version 1's decoder and checks (transport/wire.ts `checkFrame` as it was). */
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
    if (more !== null && (!Array.isArray(more) || more.length % 3 !== 0 || !more.every(Number.isInteger))) throw new Error("bad more");
  }
  return flat;
}

/** Version 1's receive loop (engine/stream_manager.ts `#onFrame` as it was, without the container). */
function v1Tuples(flat: unknown[]): number {
  let check = 0;
  for (let i = 0; i < flat.length; i += V1_WIDTH) {
    const values = flat[i + 3] as unknown[];
    if (values.length !== INFO.fields.size()) throw new Error("arity");
    const t = new TupleImpl(values, INFO, flat[i + 1] as number);
    const root = flat[i + 4] as number;
    if (root !== -1) {
      t.root = root;
      t.eh = flat[i + 5] as number;
      t.el = flat[i + 6] as number;
      t.more = flat[i + 7] as number[] | null;
    }
    check += (flat[i] as number) + (t.values[0] as string).length;
  }
  return check;
}

/** CPU time (ms, user + system) since `from` (a `process.cpuUsage()`). */
function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

/** Runs `codec` and then `toTuples` on each frame: the codec's wall time per frame, the CPU time of the whole. */
function runFrames<D>(frames: readonly Word[][], codec: (frame: readonly Word[], seq: number) => [Uint8Array, D], toTuples: (d: D) => number): FrameRun {
  let bytes = 0, check = 0, tuples = 0, codecMs = 0;
  const c0 = process.cpuUsage();
  for (let f = 0; f < frames.length; f++) {
    const t0 = performance.now();
    const [b, d] = codec(frames[f]!, f + 1);
    codecMs += performance.now() - t0;
    bytes += b.length;
    tuples += frames[f]!.length;
    check += toTuples(d);
  }
  return { tuples, codecMs, cpuMs: cpuMs(c0), bytes, check };
}

function runV1(frames: readonly Word[][]): FrameRun {
  return runFrames(frames, (frame, seq) => {
    const b = v1Encode(frame, seq);
    return [b, v1Decode(b)];
  }, v1Tuples);
}

// ---------------------------------------------------------------- the version 2 frame (transport/wire/data.ts)

const writer = new DataFrameWriter();

/** Version 2's receive loop, as engine/stream_manager.ts `#onFrame` walks the columns (without the container). */
function v2Tuples(f: DataFrame): number {
  const { dest, runs, trees, more } = f;
  const text = typeof f.values === "string" ? f.values : null;
  const values = text === null ? f.values as readonly unknown[] : null;
  const lengths = f.lengths!;
  const arity = INFO.fields.size();
  let check = 0, i = 0, k = 0, at = 0, x = 0;
  for (let r = 0; r < runs.length; r += 3) {
    const count = runs[r]!, src = runs[r + 1]!;
    for (const end = i + count; i < end; i++) {
      let vs: unknown[];
      if (text !== null) {
        vs = new Array(arity);
        for (let j = 0; j < arity; j++, k++) vs[j] = text.substring(at, at += lengths[k]!);
      } else {
        vs = values!.slice(k, k += arity);
      }
      const t = new TupleImpl(vs, INFO, src);
      if (trees !== null && trees[4 * i] !== -1) {
        const q = 4 * i;
        t.root = trees[q]! * 0x100000000 + (trees[q + 1]! >>> 0);
        t.eh = trees[q + 2]!;
        t.el = trees[q + 3]!;
      }
      if (more !== null && x < more.length && more[x] === i) {
        const roots: number[] = [];
        for (; x < more.length && more[x] === i; x += 4) roots.push(more[x + 1]!, more[x + 2]!, more[x + 3]!);
        t.more = roots;
      }
      check += dest[i]! + (t.values[0] as string).length;
    }
  }
  return check;
}

function runV2(frames: readonly Word[][]): FrameRun {
  return runFrames(frames, (frame, seq) => {
    for (const { dest, t } of frame) writer.tuple(dest, t.sourceTask, STREAM, t.values, t.root, t.eh, t.el, t.more);
    const b = writer.encode({ from: 0, epoch: 7, seq });
    writer.clear();
    return [b, decodeDataFrame(b)];
  }, v2Tuples);
}

const benchmark: Benchmark = {
  name: "frames",
  description: "Data frames between containers: write, encode, decode, check, build tuples (version 1 flat slots vs version 2 columns), word-count frames",
  async run(opts: BenchOptions) {
    const lines = loadLines(opts);
    const untracked = framesOf(lines, false, opts.seed);
    const tracked = framesOf(lines, true, opts.seed);
    const words = untracked.reduce((n, f) => n + f.length, 0);
    const expect = (frames: Word[][]) => {
      const v1 = runV1(frames).check;
      return (r: FrameRun) => {
        if (r.tuples !== words || r.check !== v1) throw new Error(`received ${r.tuples} tuples (checksum ${r.check}), sent ${words} (checksum ${v1})`);
      };
    };
    const metrics = (r: FrameRun) => ({ cpu: r.tuples / (r.cpuMs / 1000), codec: r.tuples / (r.codecMs / 1000), "bytes/tuple": r.bytes / r.tuples });
    const variant = (name: string, description: string, frames: Word[][], run: (f: Word[][]) => FrameRun): Variant<FrameRun> => ({
      name,
      description,
      run: () => run(frames),
      verify: expect(frames),
      metrics,
    });
    // 35 % less CPU a tuple is 1/0.65 = 1.54× the rate.
    const goal = (variant: string, against: string, metric: string) => ({ variant, against, min: 1.54, metric, label: `${metric} ≥1.54× ${against} (35 % less CPU)` });
    return await measure({
      unit: "tuples/s",
      unitsPerRun: words,
      baseline: "old-atmost",
      variants: [
        variant("old-atmost", "version 1 frames, untracked tuples", untracked, runV1),
        variant("new-atmost", "version 2 frames (columns), untracked tuples", untracked, runV2),
        variant("old-atleast", "version 1 frames, tracked tuples", tracked, runV1),
        variant("new-atleast", "version 2 frames (columns), tracked tuples", tracked, runV2),
      ],
      metrics: [
        { name: "cpu", unit: "tuples/CPU-s" },
        { name: "codec", unit: "tuples/s" },
        { name: "bytes/tuple", unit: "B", lowerIsBetter: true },
      ],
      goals: [
        goal("new-atmost", "old-atmost", "cpu"),
        goal("new-atleast", "old-atleast", "cpu"),
        goal("new-atmost", "old-atmost", "codec"),
        goal("new-atleast", "old-atleast", "codec"),
      ],
      input: { source: opts.input ?? `generated (seed ${opts.seed})`, words, frames: untracked.length, tuplesPerFrame: TUPLES_PER_FRAME },
    }, opts);
  },
};

export default benchmark;
