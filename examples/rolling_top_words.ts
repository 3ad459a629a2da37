/**
 * Storm's RollingTopWords with a windowed bolt: words carry an event time
 * (one every 250 ms); `counter` counts them in sliding windows of 3 s every
 * 1 s; `intermediate` rankers keep the top words of their share of the
 * vocabulary per window; `total` merges the partial rankings and prints the
 * top N of each window. The input is a built-in text, so the run is finite
 * and every window's ranking is exact (the last windows fire in `finish`).
 *
 *   words ──fields(word)──▶ counter ×2 (windowed) ──fields(word)──▶ intermediate ×2 ──global──▶ total
 *                                 └──── all("ends"): which windows a counter has closed ────┘
 *
 *   node --import ./runtime/node_loader.mjs examples/rolling_top_words.ts [--top N]
 *   deno run -A examples/rolling_top_words.ts
 *
 * @module
 */
import {
  BaseBasicBolt,
  BaseWindowedBolt,
  type BasicOutputCollector,
  Duration,
  Fields,
  iterableSpout,
  type OutputCollector,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
  type TupleWindow,
} from "../mod.ts";
import { args, exit, writeStdout } from "../runtime/mod.ts";

const TEXT = `
The heron stood in the shallow water of the river and the river ran past the heron.
A storm came over the hills and the storm broke over the river, and the heron waited.
The stream carried the rain down from the hills; the stream grew, and the heron flew.
After the storm the river was wide and brown, and the heron came back to the shallow water.
Every morning the heron fished in the stream, and every evening the heron rested by the river.
The storm returned in the autumn; the wind and the rain and the storm filled the stream.
Still the heron stood in the water, patient as the river, watching the stream for fish.
`;

const WINDOW = Duration.seconds(3);
const SLIDE = Duration.seconds(1);
const STEP_MS = 250;
const topIndex = args().indexOf("--top");
const TOP_N = topIndex >= 0 ? Number(args()[topIndex + 1]) : 3;

const WORDS = TEXT.toLowerCase().split(/[^a-z]+/).filter((w) => w.length > 3);

type Ranking = [word: string, count: number][];

/** Windows printed by the total ranker (one task, in this process). */
let windowsPrinted = 0;

function rank(counts: Iterable<[string, number]>, n: number): Ranking {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

/** Counts words per sliding window; emits [end, word, count] per word and, on "ends", the window's end. */
class RollingCountBolt extends BaseWindowedBolt {
  collector!: OutputCollector;
  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }
  execute(window: TupleWindow): void {
    const counts = new Map<string, number>();
    for (const t of window.get()) {
      counts.set(t.getStringByField("word"), (counts.get(t.getStringByField("word")) ?? 0) + 1);
    }
    const end = window.getEndTimestamp();
    for (const [word, count] of counts) this.collector.emit([end, word, count]);
    this.collector.emit("ends", [end]);
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["end", "word", "count"]);
    d.declareStream("ends", ["end"]);
  }
}

/**
 * Top words of its share, per window. A window is complete once every
 * counter task has closed it or a later one (a task's tuples arrive in order).
 */
class IntermediateRankingsBolt extends BaseBasicBolt {
  counters = 0;
  readonly counts = new Map<number, Map<string, number>>();
  readonly closed = new Map<number, number>(); // counter task → last window end closed
  emittedUpTo = -Infinity;

  override prepare(_conf: TopologyConfig, context: TopologyContext): void {
    this.counters = context.getComponentTasks("counter").length;
  }
  execute(t: Tuple, c: BasicOutputCollector): void {
    const end = t.getIntegerByField("end");
    if (t.getSourceStreamId() === "ends") {
      this.closed.set(t.getSourceTask(), end);
      if (this.closed.size < this.counters) return;
      this.emitUpTo(Math.min(...this.closed.values()), c);
      return;
    }
    let m = this.counts.get(end);
    if (m === undefined) this.counts.set(end, m = new Map());
    m.set(t.getStringByField("word"), t.getIntegerByField("count"));
  }
  override finish(c: BasicOutputCollector): void {
    this.emitUpTo(Infinity, c);
  }
  emitUpTo(upTo: number, c: BasicOutputCollector): void {
    const ends = new Set([...this.counts.keys(), ...this.closed.values()]);
    for (const end of [...ends].sort((a, b) => a - b)) {
      if (end > upTo || end <= this.emittedUpTo) continue;
      c.emit([end, rank(this.counts.get(end) ?? [], TOP_N)]);
      this.counts.delete(end);
      this.emittedUpTo = end;
    }
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["end", "rankings"]);
  }
}

/** Merges the partial rankings of each window and prints its top N, in window order. */
class TotalRankingsBolt extends BaseBasicBolt {
  rankers = 0;
  readonly partial = new Map<number, { n: number; ranking: Ranking }>();
  printed = 0;
  override prepare(_conf: TopologyConfig, context: TopologyContext): void {
    this.rankers = context.getComponentTasks("intermediate").length;
  }
  execute(t: Tuple): void {
    const end = t.getIntegerByField("end");
    const p = this.partial.get(end) ?? { n: 0, ranking: [] };
    p.n++;
    p.ranking = rank([...p.ranking, ...(t.getValueByField("rankings") as Ranking)], TOP_N);
    this.partial.set(end, p);
    // Every ranker reports every window, in order: print what all have reported.
    for (const e of [...this.partial.keys()].sort((a, b) => a - b)) {
      const q = this.partial.get(e)!;
      if (q.n < this.rankers) break;
      this.print(e, q.ranking);
    }
  }
  override finish(): void {
    for (const e of [...this.partial.keys()].sort((a, b) => a - b)) this.print(e, this.partial.get(e)!.ranking);
  }
  print(end: number, ranking: Ranking): void {
    this.partial.delete(end);
    const start = end - WINDOW.ms;
    const top = ranking.map(([w, n]) => `${w} (${n})`).join(", ");
    windowsPrinted++;
    writeStdout(`window ${++this.printed} [${start / 1000} s, ${end / 1000} s): ${top}\n`);
  }
  declareOutputFields(_d: OutputFieldsDeclarer): void {}
}

const builder = new TopologyBuilder();
builder.setSpout("words", iterableSpout(() => WORDS.map((w, i) => [w, i * STEP_MS]), { fields: ["word", "ts"] }));
builder.setBolt(
  "counter",
  new RollingCountBolt().withWindow(WINDOW, SLIDE).withTimestampField("ts").withWatermarkInterval(0),
  2,
)
  .fieldsGrouping("words", new Fields("word"));
builder.setBolt("intermediate", IntermediateRankingsBolt, 2)
  .fieldsGrouping("counter", new Fields("word"))
  .allGrouping("counter", "ends");
builder.setBolt("total", TotalRankingsBolt).globalGrouping("intermediate");

const summary =
  await (await submit("rolling-top-words", { "topology.reliability.mode": "ATLEAST_ONCE" }, builder.createTopology(), {
    handleSignals: false,
  })).done;
const s = summary.stats;
const ok = summary.state === "FINISHED" && s.acked === WORDS.length && s.failed === 0;
writeStdout(
  `done: ${windowsPrinted} windows, ${WORDS.length} words, ${
    ok ? "all acked" : `acked ${s.acked}, failed ${s.failed}`
  }\n`,
);
if (!ok) exit(1);
