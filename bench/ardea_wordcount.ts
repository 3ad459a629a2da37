/**
 * Ardea side of the `wordcount-embedded` benchmark: spout over `lines` →
 * split bolt (shuffle) → count bolt (fields grouping on "word"), embedded.
 */
import {
  BaseRichBolt,
  BaseRichSpout,
  Fields,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";

/** Delivery modes benchmarked (topology.reliability.mode). */
export type WordCountMode = "ATMOST_ONCE" | "ATLEAST_ONCE" | "EFFECTIVELY_ONCE";

/** Options of {@link runWordCount}. */
export interface WordCountOptions {
  mode: WordCountMode;
  /** Instances of the split bolt. */
  splitParallelism: number;
  /** Instances of the count bolt (fields grouping on "word"). */
  countParallelism: number;
  /** EFFECTIVELY_ONCE: checkpoint interval (s) and state directory (file backend). */
  checkpointSecs?: number;
  stateDir?: string;
}

/** Emits each line once (with its index as message id when reliable), replays failed ones, then finishes; its position is its EFFECTIVELY_ONCE state. */
export class LinesSpout extends BaseRichSpout {
  #c!: SpoutOutputCollector;
  #i = 0;
  #state: KeyValueState<string, number> | null = null;
  #replay: number[] = [];
  constructor(readonly lines: readonly string[], readonly reliable: boolean) {
    super();
  }
  override open(_conf: unknown, _ctx: unknown, c: SpoutOutputCollector): void {
    this.#c = c;
  }
  nextTuple(): void {
    if (this.#replay.length > 0) {
      const i = this.#replay.pop()!;
      this.#c.emit([this.lines[i]], i);
      return;
    }
    if (this.#i >= this.lines.length) return this.#c.finish();
    const i = this.#i++;
    if (this.reliable) this.#c.emit([this.lines[i]], i);
    else this.#c.emit([this.lines[i]]);
  }
  override fail(msgId: unknown): void {
    this.#replay.push(msgId as number);
  }
  /** EFFECTIVELY_ONCE: the position is the state (a spout that can rewind). */
  initState(state: KeyValueState<string, number>): void {
    this.#state = state;
    this.#i = state.get("pos") ?? 0;
  }
  preSave(): void {
    this.#state!.put("pos", this.#i);
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["line"]);
  }
}

/** Word separator, one RegExp object for the run as in the baselines (a literal in execute is a new object per call). */
const WS = /\s+/;

/** Splits field 0 on white space: one anchored `[word]` per non-empty word, then acks. */
export class SplitBolt extends BaseRichBolt {
  #c!: OutputCollector;
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
  }
  execute(t: Tuple): void {
    const words = (t.getValue(0) as string).split(WS);
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w.length > 0) this.#c.emit(t, [w]);
    }
    this.#c.ack(t);
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["word"]);
  }
}

class CountBolt extends BaseRichBolt {
  #c!: OutputCollector;
  #counts: Map<string, number> | KeyValueState<string, number> = new Map<string, number>();
  constructor(readonly result: Map<string, number>) {
    super();
  }
  /** EFFECTIVELY_ONCE: the counts are the state. */
  initState(state: KeyValueState<string, number>): void {
    this.#counts = state;
  }
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
  }
  execute(t: Tuple): void {
    const w = t.getValue(0) as string;
    const c = this.#counts;
    if (c instanceof Map) c.set(w, (c.get(w) ?? 0) + 1);
    else c.put(w, (c.get(w) ?? 0) + 1);
    this.#c.ack(t);
  }
  override finish(): void {
    for (const [w, n] of this.#counts.entries()) this.result.set(w, (this.result.get(w) ?? 0) + n);
  }
  declareOutputFields(): void {}
}

/**
 * Counts the words of `lines` with the embedded Ardea engine; resolves after
 * the topology has ended, with the counts of every count task merged.
 */
export async function runWordCount(
  lines: readonly string[],
  opts: WordCountOptions,
): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  const reliable = opts.mode === "ATLEAST_ONCE";
  const b = new TopologyBuilder();
  b.setSpout("lines", () => new LinesSpout(lines, reliable), 1);
  b.setBolt("split", () => new SplitBolt(), opts.splitParallelism).shuffleGrouping("lines");
  b.setBolt("count", () => new CountBolt(result), opts.countParallelism).fieldsGrouping("split", new Fields("word"));
  const eo = opts.mode === "EFFECTIVELY_ONCE";
  const config: Record<string, unknown> = { "topology.reliability.mode": opts.mode };
  if (eo) {
    config["topology.stateful.checkpoint.interval.seconds"] = opts.checkpointSecs ?? 1;
    if (opts.stateDir === undefined) throw new Error("EFFECTIVELY_ONCE needs a state directory");
    config["topology.state.dir"] = opts.stateDir;
    config["topology.stateful.start.clean"] = true;
  }
  const handle = await submit("bench-wordcount", config, b.createTopology(), {
    handleSignals: false,
  });
  await handle.done;
  return result;
}
