/**
 * Tick tuples: a bolt configured with `topology.tick.tuple.freq.secs`
 * receives a system tuple at that interval (`isTick(tuple)`), and uses it to
 * flush what it aggregated since the last tick. The spout is slow on purpose
 * (a reading every 40 ms), so several ticks fall inside the run; the bolt's
 * `finish` hook flushes the rest when the input ends.
 *
 *   readings (async generator) ──fields("sensor")──▶ average (tick every 0.5 s)
 *
 *   node --import ./runtime/node_loader.mjs examples/tick_tuples.ts
 *   deno run -A examples/tick_tuples.ts
 *
 * @module
 */
import {
  BaseBasicBolt,
  type BasicOutputCollector,
  Fields,
  isTick,
  iterableSpout,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";
import { exit, writeStdout } from "../runtime/mod.ts";

const READINGS = 40;
const SENSORS = ["north", "south"];

async function* readings(): AsyncGenerator<[string, number]> {
  for (let i = 0; i < READINGS; i++) {
    await new Promise((r) => setTimeout(r, 40));
    yield [SENSORS[i % SENSORS.length]!, 10 + (i % 7)];
  }
}

/** Averages readings per sensor; prints and resets on every tick. */
class AverageBolt extends BaseBasicBolt {
  #sums = new Map<string, { n: number; sum: number }>();
  #flushes = 0;
  #total = 0;

  execute(tuple: Tuple, _collector: BasicOutputCollector): void {
    if (isTick(tuple)) return this.#flush("tick");
    const sensor = tuple.getStringByField("sensor");
    const s = this.#sums.get(sensor) ?? { n: 0, sum: 0 };
    s.n++;
    s.sum += tuple.getDoubleByField("value");
    this.#sums.set(sensor, s);
  }

  finish(): void {
    this.#flush("end of input");
    writeStdout(`${this.#total} readings in ${this.#flushes} flushes\n`);
  }

  #flush(why: string): void {
    if (this.#sums.size === 0) return;
    this.#flushes++;
    const parts = [...this.#sums].sort().map(([sensor, s]) => {
      this.#total += s.n;
      return `${sensor} ${s.n} readings, mean ${(s.sum / s.n).toFixed(2)}`;
    });
    writeStdout(`flush (${why}): ${parts.join("; ")}\n`);
    this.#sums.clear();
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

const builder = new TopologyBuilder();
builder.setSpout("readings", iterableSpout(readings, { fields: ["sensor", "value"] }));
builder.setBolt("average", AverageBolt)
  .fieldsGrouping("readings", new Fields("sensor"))
  .addConfiguration("topology.tick.tuple.freq.secs", 0.5);

const summary = await (await submit("tick-tuples", {}, builder.createTopology())).done;
writeStdout(`${summary.state}\n`);
if (summary.state !== "FINISHED") exit(1);
