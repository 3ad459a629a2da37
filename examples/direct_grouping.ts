/**
 * Direct grouping: the emitter picks the receiving task. A `router` bolt
 * sends each number to one chosen task of `worker` with `emitDirect`, on a
 * stream it declares direct; `worker` subscribes with `directGrouping`.
 * Here number n goes to worker task index n % workers, and each worker
 * checks that it only ever sees its own numbers.
 *
 *   numbers ──shuffle──▶ router ══direct "work"══▶ worker (3 tasks) ──global──▶ report
 *
 *   node --import ./runtime/node_loader.mjs examples/direct_grouping.ts
 *   deno run -A examples/direct_grouping.ts
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

const WORKERS = 3;
const NUMBERS = Array.from({ length: 30 }, (_, i) => i + 1);

/** Routes number n to worker task index n % workers with emitDirect. */
class RouterBolt extends BaseRichBolt {
  #collector!: OutputCollector;
  #workerTasks: readonly number[] = [];

  override prepare(_conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
    this.#workerTasks = context.getComponentTasks("worker");
  }

  execute(tuple: Tuple): void {
    const n = tuple.getInteger(0);
    const task = this.#workerTasks[n % this.#workerTasks.length]!;
    this.#collector.emitDirect(task, "work", tuple, [n]);
    this.#collector.ack(tuple);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declareStream("work", true, new Fields("n")); // true: a direct stream
  }
}

/** Collects its numbers; at the end reports them (and whether any was not its own). */
class WorkerBolt extends BaseBasicBolt {
  #index = 0;
  #tasks = 1;
  #got: number[] = [];

  override prepare(_conf: TopologyConfig, context: TopologyContext): void {
    this.#index = context.getThisTaskIndex();
    this.#tasks = context.getComponentTasks(context.getThisComponentId()).length;
  }

  execute(tuple: Tuple, _collector: BasicOutputCollector): void {
    this.#got.push(tuple.getInteger(0));
  }

  finish(collector: BasicOutputCollector): void {
    const stray = this.#got.filter((n) => n % this.#tasks !== this.#index);
    collector.emit([this.#index, this.#got.sort((a, b) => a - b).join(" "), stray.length]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("worker", "numbers", "stray"));
  }
}

/** Prints one line per worker, in worker order. */
class ReportBolt extends BaseBasicBolt {
  #lines: Array<[number, string]> = [];

  execute(tuple: Tuple, _collector: BasicOutputCollector): void {
    const stray = tuple.getIntegerByField("stray");
    this.#lines.push([
      tuple.getIntegerByField("worker"),
      `worker ${tuple.getIntegerByField("worker")}: ${tuple.getStringByField("numbers")}` +
      (stray > 0 ? ` (${stray} not routed here!)` : ""),
    ]);
  }

  finish(): void {
    for (const [, line] of this.#lines.sort((a, b) => a[0] - b[0])) writeStdout(`${line}\n`);
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

const builder = new TopologyBuilder();
builder.setSpout("numbers", iterableSpout(() => NUMBERS, { fields: ["n"] }));
builder.setBolt("router", RouterBolt, 2).shuffleGrouping("numbers");
builder.setBolt("worker", WorkerBolt, WORKERS).directGrouping("router", "work");
builder.setBolt("report", ReportBolt).globalGrouping("worker");

const summary = await (await submit("direct-grouping", {}, builder.createTopology())).done;
writeStdout(`${summary.state}\n`);
if (summary.state !== "FINISHED") exit(1);
