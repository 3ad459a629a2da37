/**
 * One process of the `instances` benchmark (run by bench/instances.ts with
 * `node --expose-gc`): measures the heap and start time of N no-op bolt
 * tasks and prints one JSON line on stdout.
 *
 *   node --expose-gc --import ./runtime/node_loader.mjs bench/instances_child.ts ardea|plain N
 *
 * `ardea`: one embedded topology, an idle spout (emits nothing) and a no-op
 * bolt with parallelism N. `startMs` runs from the submit() call to the
 * N-th prepare(); the heap is read after a full GC once all tasks are
 * prepared and the topology has been idle for {@link SETTLE_MS}.
 * `plain`: the floor: N instances of the same bolt class, each given a
 * stub collector through prepare(), kept in an array.
 *
 * @module
 */
import process from "node:process";
import {
  BaseRichBolt,
  BaseRichSpout,
  type OutputCollector,
  type OutputFieldsDeclarer,
  submit,
  TopologyBuilder,
  type Tuple,
} from "../mod.ts";

/** How long the topology idles before the heap is read (ms). */
const SETTLE_MS = 500;

let prepared = 0;
let allPrepared!: () => void;
const ready = new Promise<void>((r) => (allPrepared = r));
let target = 0;

class NoopBolt extends BaseRichBolt {
  #c: OutputCollector | undefined;
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
    if (++prepared === target) allPrepared();
  }
  execute(t: Tuple): void {
    this.#c!.ack(t);
  }
  declareOutputFields(_d: OutputFieldsDeclarer): void {}
}

class IdleSpout extends BaseRichSpout {
  nextTuple(): void {}
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["x"]);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
function heap(): { heapUsed: number; rss: number; external: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}

async function main(): Promise<void> {
  const [mode, nArg] = process.argv.slice(2);
  const n = Number(nArg);
  if (!(mode === "ardea" || mode === "plain") || !Number.isInteger(n) || n < 1) {
    throw new Error("usage: instances_child.ts ardea|plain N");
  }
  target = n;
  // Load and warm everything the run uses before the baseline reading.
  const warm = new TopologyBuilder();
  warm.setSpout("s", () => new IdleSpout(), 1);
  warm.setBolt("b", () => new NoopBolt(), 1).shuffleGrouping("s");
  const wh = await submit("bench-instances-warm", {}, warm.createTopology(), { handleSignals: false });
  await settle(50);
  await wh.kill();
  prepared = 0;
  await settle(50);

  const before = heap();
  const t0 = performance.now();
  let keep: unknown;
  let stopMs = 0;
  if (mode === "plain") {
    const stub = { emit: () => [], ack: () => {}, fail: () => {} } as unknown as OutputCollector;
    const bolts: NoopBolt[] = [];
    for (let i = 0; i < n; i++) {
      const b = new NoopBolt();
      b.prepare({}, {}, stub);
      bolts.push(b);
    }
    keep = bolts;
    await ready;
  } else {
    const b = new TopologyBuilder();
    b.setSpout("idle", () => new IdleSpout(), 1);
    b.setBolt("noop", () => new NoopBolt(), n).shuffleGrouping("idle");
    const handle = await submit("bench-instances", {}, b.createTopology(), { handleSignals: false });
    keep = handle;
    await ready;
  }
  const startMs = performance.now() - t0;
  await settle(SETTLE_MS);
  const after = heap();
  if (mode === "ardea") {
    const t1 = performance.now();
    await (keep as { kill(): Promise<unknown> }).kill();
    stopMs = performance.now() - t1;
  }
  void keep;
  process.stdout.write(
    JSON.stringify({
      mode,
      tasks: n,
      prepared,
      startMs,
      stopMs,
      heapDelta: after.heapUsed - before.heapUsed,
      heapPerTask: (after.heapUsed - before.heapUsed) / n,
      rssDelta: after.rss - before.rss,
      // Typed-array backing stores live outside the V8 heap: not in heapUsed.
      externalDelta: after.external - before.external,
    }) + "\n",
  );
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
