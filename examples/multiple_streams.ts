/**
 * Multiple streams: one bolt declares two output streams, "even" and "odd",
 * and each has its own subscriber. A third subscriber listens to both.
 *
 *                         ┌─"even"──▶ evens (sums them)
 *   numbers ──▶ classify ─┤
 *                         └─"odd"───▶ odds  (sums them)
 *               classify ─"even" + "odd"──▶ tally (counts both)
 *
 *   node --import ./runtime/node_loader.mjs examples/multiple_streams.ts
 *   deno run -A examples/multiple_streams.ts
 *
 * @module
 */
import {
  BaseBasicBolt,
  type BasicOutputCollector,
  bolt,
  iterableSpout,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { exit, writeStdout } from "../runtime/mod.ts";

/** Sends each number on the "even" or the "odd" stream. */
class ClassifyBolt extends BaseBasicBolt {
  execute(tuple: Tuple, collector: BasicOutputCollector): void {
    const n = tuple.getInteger(0);
    collector.emit(n % 2 === 0 ? "even" : "odd", [n]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declareStream("even", ["n"]);
    declarer.declareStream("odd", ["n"]);
  }
}

/**
 * A summing bolt built with the functional shorthand. Its state lives in the
 * closure, which every task of the component shares: fine for one task.
 */
function summer(label: string) {
  let sum = 0;
  let count = 0;
  return bolt((t) => {
    sum += t.getInteger(0);
    count++;
  }, { finish: () => writeStdout(`${label}: ${count} numbers, sum ${sum}\n`) });
}

const builder = new TopologyBuilder();
builder.setSpout("numbers", iterableSpout(() => Array.from({ length: 20 }, (_, i) => i + 1), { fields: ["n"] }));
builder.setBolt("classify", ClassifyBolt, 2).shuffleGrouping("numbers");
builder.setBolt("evens", summer("even")).shuffleGrouping("classify", "even");
builder.setBolt("odds", summer("odd")).shuffleGrouping("classify", "odd");
const seen = { even: 0, odd: 0 };
builder.setBolt(
  "tally",
  bolt((t) => {
    seen[t.getSourceStreamId() as "even" | "odd"]++;
  }, {
    finish: () => writeStdout(`tally: ${seen.even} on "even", ${seen.odd} on "odd"\n`),
  }),
)
  .globalGrouping("classify", "even")
  .globalGrouping("classify", "odd");

const summary = await (await submit("multiple-streams", {}, builder.createTopology())).done;
writeStdout(`${summary.state}\n`);
if (summary.state !== "FINISHED") exit(1);
