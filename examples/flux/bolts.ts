/**
 * The components examples/flux/word_count.yaml names by className
 * (`./bolts.ts#SentenceSpout`, …): a finite sentence spout, a split bolt
 * and a report bolt that prints the final counts.
 *
 * @module
 */
import {
  BaseBasicBolt,
  BaseRichSpout,
  type BasicOutputCollector,
  Fields,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../../mod.ts";
import { writeStdout, writeTextFile } from "../../runtime/mod.ts";

/**
 * Emits each of `sentences` (`withRepeat(n)` times over), each with a
 * message id, task i taking every i-th one; finishes once all are acked.
 */
export class SentenceSpout extends BaseRichSpout {
  #repeat = 1;
  #queue: string[] = [];
  #collector!: SpoutOutputCollector;
  #pending = new Map<number, string>();
  #next = 0;

  constructor(readonly sentences: string[]) {
    super();
  }

  /** Emits the sentences `n` times (Flux: `configMethods: [{ name: withRepeat, args: [n] }]`). */
  withRepeat(n: number): void {
    this.#repeat = n;
  }

  override open(_conf: TopologyConfig, context: TopologyContext, collector: SpoutOutputCollector): void {
    this.#collector = collector;
    const all = Array.from({ length: this.#repeat }, () => this.sentences).flat();
    const tasks = context.getComponentTasks(context.getThisComponentId()).length;
    this.#queue = all.filter((_, i) => i % tasks === context.getThisTaskIndex());
  }

  nextTuple(): void {
    const sentence = this.#queue.shift();
    if (sentence !== undefined) {
      const id = this.#next++;
      this.#pending.set(id, sentence);
      this.#collector.emit([sentence], id);
    } else if (this.#pending.size === 0) this.#collector.finish();
  }

  override ack(id: unknown): void {
    this.#pending.delete(id as number);
  }

  override fail(id: unknown): void {
    this.#queue.push(this.#pending.get(id as number)!);
    this.#pending.delete(id as number);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("sentence"));
  }
}

/** Splits a sentence into words; `lowerCase` (a Flux property) folds them to lower case. */
export class SplitBolt extends BaseBasicBolt {
  lowerCase = false;

  execute(input: Tuple, collector: BasicOutputCollector): void {
    for (const word of input.getString(0).split(/\s+/)) {
      if (word !== "") collector.emit([this.lowerCase ? word.toLowerCase() : word]);
    }
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word"));
  }
}

/**
 * Keeps the highest running count of each word (Storm's TestWordCounter
 * emits one per word it counts) and, once its inputs end, prints
 * `word count` lines, sorted by word, on stdout; or, with the property
 * `out` set, writes them to that file as one JSON object.
 */
export class ReportBolt extends BaseBasicBolt {
  #counts = new Map<string, number>();
  out = "";

  execute(input: Tuple, _collector: BasicOutputCollector): void {
    const word = input.getStringByField("word");
    this.#counts.set(word, Math.max(this.#counts.get(word) ?? 0, input.getIntegerByField("count")));
  }

  override async finish(_collector: BasicOutputCollector): Promise<void> {
    const words = [...this.#counts.keys()].sort();
    if (this.out !== "") await writeTextFile(this.out, JSON.stringify(Object.fromEntries(this.#counts)));
    else writeStdout(words.map((w) => `${w} ${this.#counts.get(w)}\n`).join(""));
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}
