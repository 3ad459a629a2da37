/**
 * Ardea's versions of the small Storm components Flux examples name:
 * `LogInfoBolt` (flux-wrappers), `TestWordCounter` and `TestWordSpout`
 * (storm-client's `org.apache.storm.testing`).
 *
 * @module
 */
import { type BoltCollector, TASK_LOG } from "../actors/collectors.ts";
import type { BasicOutputCollector, OutputCollector, SpoutOutputCollector } from "../topology/collectors.ts";
import { BaseBasicBolt, BaseRichBolt, BaseRichSpout } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { Fields } from "../topology/fields.ts";
import type { Tuple } from "../topology/tuple.ts";

/**
 * Storm's `LogInfoBolt`: logs each tuple at info level (its source, stream
 * and values) in the engine's log (`ardea logs` of a container; stderr of
 * `ardea run`), acks it and emits nothing.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * new TopologyBuilder().setBolt("log", new LogInfoBolt()).shuffleGrouping("count");
 * ```
 */
export class LogInfoBolt extends BaseRichBolt {
  #collector: OutputCollector | undefined;

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(tuple: Tuple): void {
    const line =
      `source: ${tuple.getSourceComponent()}:${tuple.getSourceTask()}, stream: ${tuple.getSourceStreamId()}, ` +
      `values: ${JSON.stringify(tuple.getValues())}`;
    const collector = this.#collector as Partial<Pick<BoltCollector, typeof TASK_LOG>> & OutputCollector;
    if (collector[TASK_LOG] !== undefined) collector[TASK_LOG]("INFO", line);
    else console.info(line);
    collector.ack(tuple);
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

/**
 * Storm's `TestWordCounter`: counts the first field of each tuple (per
 * task) and emits `(word, count)` with the running count, on fields
 * "word" and "count".
 *
 * @example
 * ```ts
 * import { Fields, TopologyBuilder } from "ardea";
 * new TopologyBuilder().setBolt("count", new TestWordCounter(), 2).fieldsGrouping("split", new Fields("word"));
 * ```
 */
export class TestWordCounter extends BaseBasicBolt {
  #counts = new Map<unknown, number>();

  override prepare(_conf: TopologyConfig, _context: TopologyContext): void {
    this.#counts = new Map();
  }

  execute(input: Tuple, collector: BasicOutputCollector): void {
    const word = input.getValue(0);
    const count = (this.#counts.get(word) ?? 0) + 1;
    this.#counts.set(word, count);
    collector.emit([word, count]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word", "count"));
  }
}

const TEST_WORDS = ["nathan", "mike", "jackson", "golda", "bertels"] as const;

/**
 * Storm's `TestWordSpout`: emits a random one of five names on field
 * "word" every 100 ms, unanchored, forever (Ctrl-C drains it).
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * new TopologyBuilder().setSpout("words", new TestWordSpout());
 * ```
 */
export class TestWordSpout extends BaseRichSpout {
  #collector: SpoutOutputCollector | undefined;
  #next = 0;

  override open(_conf: TopologyConfig, _context: TopologyContext, collector: SpoutOutputCollector): void {
    this.#collector = collector;
  }

  nextTuple(): void {
    const now = Date.now();
    if (now < this.#next) return;
    this.#next = now + 100;
    this.#collector!.emit([TEST_WORDS[Math.floor(Math.random() * TEST_WORDS.length)]]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word"));
  }
}
