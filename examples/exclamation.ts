/**
 * Storm's classic ExclamationTopology, finite: a spout emits words, two
 * exclamation bolts in a row each append "!!!", and a printer shows what
 * comes out.
 *
 *   words ──shuffle──▶ exclaim1 (3 tasks) ──shuffle──▶ exclaim2 (2 tasks) ──global──▶ print
 *
 *   node --import ./runtime/node_loader.mjs examples/exclamation.ts
 *   deno run -A examples/exclamation.ts
 *
 * @module
 */
import {
  BaseBasicBolt,
  BaseRichBolt,
  type BasicOutputCollector,
  Fields,
  iterableSpout,
  type OutputCollector,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../mod.ts";
import { exit, writeStdout } from "../runtime/mod.ts";

const WORDS = ["nathan", "mike", "jackson", "golda", "bertels"];

/** Storm's ExclamationBolt, as a rich bolt: anchors its emit to the input, then acks it. */
class ExclamationBolt extends BaseRichBolt {
  #collector!: OutputCollector;

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(tuple: Tuple): void {
    this.#collector.emit(tuple, [tuple.getString(0) + "!!!"]);
    this.#collector.ack(tuple);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word"));
  }
}

/** Prints every tuple it receives, and a count at the end. */
class PrintBolt extends BaseBasicBolt {
  #seen = 0;

  execute(tuple: Tuple, _collector: BasicOutputCollector): void {
    this.#seen++;
    writeStdout(`${tuple.getStringByField("word")}\n`);
  }

  finish(): void {
    writeStdout(`printed ${this.#seen} words\n`);
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

const builder = new TopologyBuilder();
// Each word three times; iterableSpout is reliable (message ids, replay on failure).
builder.setSpout("words", iterableSpout(() => [...WORDS, ...WORDS, ...WORDS], { fields: ["word"] }));
builder.setBolt("exclaim1", ExclamationBolt, 3).shuffleGrouping("words");
builder.setBolt("exclaim2", ExclamationBolt, 2).shuffleGrouping("exclaim1");
builder.setBolt("print", PrintBolt).globalGrouping("exclaim2");

const handle = await submit("exclamation", { "topology.debug": false }, builder.createTopology());
const summary = await handle.done;
writeStdout(`${summary.state}: ${summary.stats.acked} tuple trees acked\n`);
if (summary.state !== "FINISHED") exit(1);
