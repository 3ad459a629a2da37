/**
 * `streamlet-wordcount`: the cost of the Streamlet API against the same job
 * written with spouts and bolts, embedded, same run, ATMOST_ONCE and
 * ATLEAST_ONCE.
 *
 * Word count. The Streamlet version is the natural one:
 * `newSource(lines).flatMap(split).filter(non-empty)` (one fused bolt,
 * split×2) `.countByKey(word)` (count×2) `.consume(kv → result)` (sink×2).
 * `countByKey` emits a running `KeyValue(word, count)` for every word, and
 * the sinks keep the highest count of each word. The bolt version
 * (`bolts-*`) does the same work with hand-written components: a spout over
 * the lines (bench/ardea_wordcount.ts's), a split bolt (split and drop
 * empty tokens in one `execute`), a count bolt (fields grouping on the word,
 * counts in a `Map`) that emits `[word, count]` for every word, and a sink
 * bolt (shuffle) that keeps the highest count of each word. Both have the same
 * four stages, the same parallelism, the same groupings and one tuple per
 * word into the count and into the sink, so the ratio is what the API
 * itself costs (its source spout, fused chain, keyed-state reduce and
 * `KeyValue` elements). bench/ardea_wordcount.ts's count bolt emits nothing
 * (it merges its Map when the topology finishes), so it would not be the
 * same work. Goal (issue 15): Streamlet ≥ 0.95× bolts in both modes.
 *
 * Fused chain: integers 0…N-1 (N = the words of the input) through
 * map → filter → map → flatMap → map and a sink that sums, written as a
 * streamlet (compiled to one fused bolt, 6 stages) and as one hand-written
 * bolt calling the same 6 functions. Both read the same source spout (the
 * streamlet compiler's), so the ratio is the fused chain's overhead
 * against a plain `execute`. Goal: chain ≥ 0.9× the bolt.
 *
 * Every run is verified: exact counts of every word, exact sum and count of
 * the chain's output. `ARDEA_BENCH_VARIANTS=chain-atmost,one-bolt-atmost`
 * runs only the named variants (the first is the baseline of the ratios).
 */
import {
  BaseRichBolt,
  Fields,
  type OutputCollector,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { env } from "../runtime/mod.ts";
import { Builder, Config, Runner } from "../streamlet/mod.ts";
import { SourceSpout } from "../streamlet/components.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";
import { loadLines } from "./input.ts";
import { LinesSpout, SplitBolt } from "./ardea_wordcount.ts";
import { assertSameCounts, countPlain } from "./wordcount_embedded.ts";

type Mode = "ATMOST_ONCE" | "ATLEAST_ONCE";

/** Parallelism of the split, count and sink stages (both versions). */
const PAR = { split: 2, count: 2, sink: 2 };

const WS = /\s+/;
const NON_EMPTY = (w: string) => w.length > 0;
const SPLIT = (l: string) => l.split(WS);

/**
 * A sink's update: the highest running count of `word` seen. Two sink tasks
 * (shuffle) may receive a word's running counts in either order, so the
 * last one written is not always the final one; the highest is.
 */
function keepMax(result: Map<string, number>, word: string, n: number): void {
  if ((result.get(word) ?? 0) < n) result.set(word, n);
}

/** The streamlet word count: highest running count of each word. */
async function streamletWordCount(lines: readonly string[], mode: Mode): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  const b = Builder.newBuilder();
  b.newSource(lines)
    .flatMap(SPLIT).setNumPartitions(PAR.split)
    .filter(NON_EMPTY)
    .countByKey((w) => w).setNumPartitions(PAR.count)
    .consume((kv) => keepMax(result, kv.getKey(), kv.getValue())).setNumPartitions(PAR.sink);
  const config = Config.newBuilder().setDeliverySemantics(mode).build();
  const handle = await new Runner().run("bench-streamlet-wordcount", config, b, { handleSignals: false });
  await handle.done;
  return result;
}

/** Running counts: `[word, count]` for every word. */
class RunningCountBolt extends BaseRichBolt {
  #c!: OutputCollector;
  readonly #counts = new Map<string, number>();
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
  }
  execute(t: Tuple): void {
    const w = t.getValue(0) as string;
    const n = (this.#counts.get(w) ?? 0) + 1;
    this.#counts.set(w, n);
    this.#c.emit(t, [w, n]);
    this.#c.ack(t);
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["word", "count"]);
  }
}

/** Keeps the highest count of each word in `result`. */
class LastCountSink extends BaseRichBolt {
  #c!: OutputCollector;
  constructor(readonly result: Map<string, number>) {
    super();
  }
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
  }
  execute(t: Tuple): void {
    keepMax(this.result, t.getValue(0) as string, t.getValue(1) as number);
    this.#c.ack(t);
  }
  declareOutputFields(): void {}
}

/** The same word count with hand-written spout and bolts. */
async function boltWordCount(lines: readonly string[], mode: Mode): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  const b = new TopologyBuilder();
  b.setSpout("lines", () => new LinesSpout(lines, mode === "ATLEAST_ONCE"), 1);
  b.setBolt("split", () => new SplitBolt(), PAR.split).shuffleGrouping("lines");
  b.setBolt("count", () => new RunningCountBolt(), PAR.count).fieldsGrouping("split", new Fields("word"));
  b.setBolt("sink", () => new LastCountSink(result), PAR.sink).shuffleGrouping("count");
  const handle = await submit("bench-bolt-wordcount", { "topology.reliability.mode": mode }, b.createTopology(), {
    handleSignals: false,
  });
  await handle.done;
  return result;
}

/** The chain's five operators. */
const F1 = (x: number) => x * 3 + 1;
const F2 = (x: number) => (x & 1) === 0;
const F3 = (x: number) => x >> 1;
const F4 = (x: number) => (x % 4 === 0 ? [x, x + 1] : [x]);
const F5 = (x: number) => x + 7;

/** What the chain's sink saw. */
interface ChainResult {
  sum: number;
  count: number;
}

function chainPlain(input: readonly number[]): ChainResult {
  const r = { sum: 0, count: 0 };
  for (const v of input) {
    const a = F1(v);
    if (!F2(a)) continue;
    for (const x of F4(F3(a))) {
      r.sum += F5(x);
      r.count++;
    }
  }
  return r;
}

async function streamletChain(input: readonly number[], mode: Mode): Promise<ChainResult> {
  const r = { sum: 0, count: 0 };
  const b = Builder.newBuilder();
  b.newSource(input).map(F1).filter(F2).map(F3).flatMap(F4).map(F5).consume((x) => {
    r.sum += x;
    r.count++;
  });
  const config = Config.newBuilder().setDeliverySemantics(mode).build();
  const handle = await new Runner().run("bench-streamlet-chain", config, b, { handleSignals: false });
  await handle.done;
  return r;
}

/** One bolt calling F1…F5 and the sink's addition. */
class OneBolt extends BaseRichBolt {
  #c!: OutputCollector;
  constructor(readonly r: ChainResult) {
    super();
  }
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
  }
  execute(t: Tuple): void {
    const a = F1(t.getValue(0) as number);
    if (F2(a)) {
      for (const x of F4(F3(a))) {
        this.r.sum += F5(x);
        this.r.count++;
      }
    }
    this.#c.ack(t);
  }
  declareOutputFields(): void {}
}

async function boltChain(input: readonly number[], mode: Mode): Promise<ChainResult> {
  const r = { sum: 0, count: 0 };
  const b = new TopologyBuilder();
  b.setSpout("source", () => new SourceSpout(input), 1);
  b.setBolt("chain", () => new OneBolt(r), 1).shuffleGrouping("source");
  const handle = await submit("bench-bolt-chain", { "topology.reliability.mode": mode }, b.createTopology(), {
    handleSignals: false,
  });
  await handle.done;
  return r;
}

const MODES: ReadonlyArray<readonly [string, Mode]> = [["atmost", "ATMOST_ONCE"], ["atleast", "ATLEAST_ONCE"]];

const benchmark: Benchmark = {
  name: "streamlet-wordcount",
  description: "Streamlet API vs spouts and bolts: word count with running counts, and a fused 5-operator chain",
  async run(opts: BenchOptions) {
    const lines = loadLines(opts);
    const reference = countPlain(lines);
    let words = 0;
    for (const n of reference.values()) words += n;
    const verifyCounts = (got: unknown) => assertSameCounts(reference, got as Map<string, number>);
    const input = Array.from({ length: words }, (_, i) => i);
    const want = chainPlain(input);
    const verifyChain = (got: unknown) => {
      const g = got as ChainResult;
      if (g.count !== want.count || g.sum !== want.sum) {
        throw new Error(
          `chain: ${g.count} elements summing to ${g.sum}, expected ${want.count} summing to ${want.sum}`,
        );
      }
    };
    const variants: Variant[] = [];
    for (const [m, mode] of MODES) {
      variants.push(
        {
          name: `bolts-${m}`,
          description: `spout → split×${PAR.split} → running count×${PAR.count} → sink×${PAR.sink}, ${mode}`,
          run: () => boltWordCount(lines, mode),
          verify: verifyCounts,
        },
        {
          name: `streamlet-${m}`,
          description: `source → flatMap+filter×${PAR.split} → countByKey×${PAR.count} → consume×${PAR.sink}, ${mode}`,
          run: () => streamletWordCount(lines, mode),
          verify: verifyCounts,
        },
      );
    }
    for (const [m, mode] of MODES) {
      variants.push(
        {
          name: `one-bolt-${m}`,
          description: `source spout → one bolt calling the 5 functions and the sum, ${mode}`,
          run: () => boltChain(input, mode),
          verify: verifyChain,
        },
        {
          name: `chain-${m}`,
          description: `source → map+filter+map+flatMap+map+consume fused, ${mode}`,
          run: () => streamletChain(input, mode),
          verify: verifyChain,
        },
      );
    }
    const only = env("ARDEA_BENCH_VARIANTS")?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
    const unknown = only.filter((n) => !variants.some((v) => v.name === n));
    if (unknown.length > 0) {
      throw new Error(
        `ARDEA_BENCH_VARIANTS: unknown variant ${unknown.join(", ")} (${variants.map((v) => v.name).join(", ")})`,
      );
    }
    const selected = only.length > 0 ? variants.filter((v) => only.includes(v.name)) : variants;
    return await measure({
      unit: "elements/s",
      unitsPerRun: words,
      baseline: selected[0]!.name,
      variants: selected,
      goals: [
        { variant: "streamlet-atmost", against: "bolts-atmost", min: 0.95 },
        { variant: "streamlet-atleast", against: "bolts-atleast", min: 0.95 },
        { variant: "chain-atmost", against: "one-bolt-atmost", min: 0.9 },
        { variant: "chain-atleast", against: "one-bolt-atleast", min: 0.9 },
      ],
      input: {
        source: opts.input ?? `generated (seed ${opts.seed})`,
        lines: lines.length,
        words,
        distinct: reference.size,
        chainElements: input.length,
        chainOutputs: want.count,
      },
    }, opts);
  },
};

export default benchmark;
