/**
 * Event-time windows, exactly once: per-key totals over tumbling windows of
 * event time, on events that arrive out of order.
 *
 *   events (EventSpout) ──fields("key")──▶ windows (tumbling, event time) ──global──▶ totals
 *
 * The spout generates `--events N` events `[key, value, ts]` from `--seed`:
 * event i has a timestamp near `i × 2` ms, moved later by up to
 * `--disorder` ms, so events arrive out of order. `windows` groups them by
 * event time (`withTimestampField("ts")`, `withLag(--lag)`, tumbling
 * `--window` ms) and emits one row per key and window: key, window start
 * and end, event count and value sum. `totals` keeps every row in its state
 * (a row seen twice would show: it counts how often each row arrived) and,
 * at the end, writes them to `--out` as JSON lines, sorted.
 *
 * With a lag larger than the disorder no event is late, so the rows equal a
 * plain computation over the same events (tests/event_windows_test.ts checks
 * it, with the process killed and resumed): bucket each event by
 * `floor(ts / window)` per key. Under `--mode effectively-once` the windows
 * and the totals are checkpointed and survive a SIGKILL.
 *
 *   node --import ./runtime/node_loader.mjs examples/event_windows.ts --events 200000 --out rows.jsonl
 *   ardea run examples/event_windows.ts -- --mode effectively-once --state-dir /tmp/st --out rows.jsonl
 *
 * Flags: --events N, --seed S, --keys K, --disorder MS, --lag MS, --window MS,
 * --out FILE, --mode atleast|effectively-once, --state-dir DIR,
 * --checkpoint-secs S, --windowers N.
 *
 * @module
 */
import {
  BaseStatefulBolt,
  BaseStatefulSpout,
  BaseWindowedBolt,
  Duration,
  Fields,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  submit,
  TopologyBuilder,
  type Tuple,
  type TupleWindow,
} from "../mod.ts";
import { args, exit, writeStderr, writeStdout, writeTextFile } from "../runtime/mod.ts";
import { eventAt } from "./event_windows_data.ts";

const FLAGS = [
  "events",
  "seed",
  "keys",
  "disorder",
  "lag",
  "window",
  "out",
  "mode",
  "state-dir",
  "checkpoint-secs",
  "windowers",
] as const;
type Flag = (typeof FLAGS)[number];

function parseFlags(argv: readonly string[]): Map<Flag, string> {
  const out = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, "") as Flag;
    const value = argv[i + 1];
    if (!argv[i]!.startsWith("--") || !FLAGS.includes(name)) fail(`unknown argument ${JSON.stringify(argv[i])}`);
    if (value === undefined) fail(`--${name} needs a value`);
    out.set(name, value);
    i++;
  }
  return out;
}

function fail(message: string): never {
  writeStderr(`event_windows: ${message}\n`);
  return exit(2);
}

function whole(flags: Map<Flag, string>, name: Flag, fallback: number, min = 0): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    fail(`--${name} must be a whole number ≥ ${min} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

/** Emits events 0…N-1 in order of `i` (out of order in time); the next `i` is its state. */
class EventSpout extends BaseStatefulSpout<string, number> {
  #state!: KeyValueState<string, number>;
  #next = 0;
  #collector!: SpoutOutputCollector;
  constructor(readonly n: number, readonly seed: number, readonly keys: number, readonly disorder: number) {
    super();
  }
  initState(state: KeyValueState<string, number>): void {
    this.#state = state;
    this.#next = state.get("next") ?? 0;
  }
  override preSave(): void {
    this.#state.put("next", this.#next);
  }
  override open(_conf: unknown, _context: unknown, collector: SpoutOutputCollector): void {
    this.#collector = collector;
  }
  nextTuple(): void {
    if (this.#next >= this.n) return this.#collector.finish();
    for (let k = 0; k < 64 && this.#next < this.n; k++) {
      const e = eventAt(this.seed, this.#next, this.keys, this.disorder);
      this.#collector.emit([e.key, e.value, e.ts], this.#next++);
    }
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(new Fields("key", "value", "ts"));
  }
}

/** One row per key of a window: key, start, end, count, sum. */
class WindowTotals extends BaseWindowedBolt {
  #collector!: OutputCollector;
  override prepare(_conf: unknown, _context: unknown, collector: OutputCollector): void {
    this.#collector = collector;
  }
  execute(window: TupleWindow): void {
    const byKey = new Map<string, [number, number]>();
    for (const t of window.get()) {
      const k = t.getString(0);
      const acc = byKey.get(k) ?? [0, 0];
      acc[0]++;
      acc[1] += t.getInteger(1);
      byKey.set(k, acc);
    }
    for (const [k, [count, sum]] of byKey) {
      this.#collector.emit([k, window.getStartTimestamp(), window.getEndTimestamp(), count, sum]);
    }
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(new Fields("key", "start", "end", "count", "sum"));
  }
}

/** Every row it received, with how many times, in its state; written sorted at the end. */
class Totals extends BaseStatefulBolt<string, number> {
  #rows!: KeyValueState<string, number>;
  #collector!: OutputCollector;
  constructor(readonly out: string | undefined) {
    super();
  }
  initState(state: KeyValueState<string, number>): void {
    this.#rows = state;
  }
  override prepare(_conf: unknown, _context: unknown, collector: OutputCollector): void {
    this.#collector = collector;
  }
  execute(t: Tuple): void {
    const row = JSON.stringify([t.getString(0), t.getInteger(1), t.getInteger(2), t.getInteger(3), t.getInteger(4)]);
    this.#rows.put(row, (this.#rows.get(row) ?? 0) + 1);
    this.#collector.ack(t);
  }
  async finish(): Promise<void> {
    const lines = [...this.#rows.entries()].map((
      [row, times],
    ) => (times === 1 ? row : `${row.slice(0, -1)},"seen ${times} times"]`)).sort();
    writeStdout(`${lines.length} window rows\n`);
    if (this.out !== undefined) await writeTextFile(this.out, lines.map((l) => `${l}\n`).join(""));
  }
  declareOutputFields(): void {}
}

async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv);
  const n = whole(flags, "events", 100_000, 1);
  const seed = whole(flags, "seed", 1);
  const keys = whole(flags, "keys", 16, 1);
  const disorder = whole(flags, "disorder", 500, 1);
  const lag = whole(flags, "lag", 1000);
  const windowMs = whole(flags, "window", 1000, 1);
  const mode = flags.get("mode") ?? "effectively-once";
  if (mode !== "atleast" && mode !== "effectively-once") {
    fail(`--mode must be "atleast" or "effectively-once" (got ${JSON.stringify(mode)})`);
  }

  const builder = new TopologyBuilder();
  builder.setSpout("events", () => new EventSpout(n, seed, keys, disorder), 1);
  builder.setBolt(
    "windows",
    () =>
      new WindowTotals().withTumblingWindow(Duration.of(windowMs)).withTimestampField("ts").withLag(Duration.of(lag)),
    whole(flags, "windowers", 2, 1),
  ).fieldsGrouping("events", new Fields("key"));
  builder.setBolt("totals", () => new Totals(flags.get("out")), 1).globalGrouping("windows");

  const config: Record<string, unknown> = {
    "topology.reliability.mode": mode === "atleast" ? "ATLEAST_ONCE" : "EFFECTIVELY_ONCE",
  };
  if (flags.has("state-dir")) config["topology.state.dir"] = flags.get("state-dir");
  if (flags.has("checkpoint-secs")) {
    config["topology.stateful.checkpoint.interval.seconds"] = Number(flags.get("checkpoint-secs"));
  }
  const handle = await submit("event-windows", config, builder.createTopology());
  try {
    const summary = await handle.done;
    writeStdout(`${summary.name}: ${summary.state} in ${Math.round(summary.durationMs)} ms\n`);
    if (summary.state !== "FINISHED") exit(1);
  } catch (e) {
    writeStderr(`event_windows: the topology failed: ${(e as Error).message}\n`);
    exit(1);
  }
}

await main(args());
