/**
 * Word count: the "hello world" of stream processing, reliable end to end.
 *
 *   lines (LineSpout) ──shuffle──▶ split ──fields("word")──▶ count ──global "counts"──▶ sink
 *
 * The spout reads a UTF-8 file line by line and emits each line with a
 * message id; a failed line is replayed. `split` cuts lines into words and,
 * with `--chaos P`, crashes on purpose with probability P per line (before it
 * emits anything): its supervisor restarts it and the spout replays the
 * line, so the counts stay exact. `count` keeps one `Map` per task and, once
 * every input has ended, sends its totals to the single `sink` task, which
 * prints a report and writes `--out` as one JSON object `{word: count}`.
 *
 *   npm start                                          # built-in text
 *   node --import ./runtime/node_loader.mjs examples/word_count.ts --input book.txt --out counts.json
 *   deno run -A examples/word_count.ts --input book.txt --chaos 0.05 --splitters 4 --counters 3
 *
 * Flags: --input FILE, --out FILE, --mode atmost|atleast (default atleast),
 * --chaos P (0 ≤ P < 1), --spouts N, --splitters N, --counters N,
 * --max-pending N. A bad flag prints one line and exits with code 2.
 *
 * @module
 */
import { z } from "zod";
import {
  BaseBasicBolt,
  BaseStatefulBolt,
  BaseStatefulSpout,
  type BasicOutputCollector,
  Fields,
  type KeyValueState,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  State,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../mod.ts";
import { args, exit, fileExists, LineReader, writeStderr, writeStdout, writeTextFile } from "../runtime/mod.ts";

const USAGE =
  "usage: word_count [--input FILE] [--out FILE] [--mode atmost|atleast|effectively-once] [--state-dir DIR] [--checkpoint-secs S] [--chaos P] " +
  "[--spouts N] [--splitters N] [--counters N] [--max-pending N]";

/** Read when no `--input` is given, so `npm start` needs no arguments. */
const BUILT_IN_TEXT = `The grey heron stands in the shallows of the river and waits.
It waits for the fish, and the fish come, one by one, the way tuples come to a bolt.
The heron does not hurry; it takes one fish at a time and never drops one it has caught.

Ardea is the name of the genus of the great herons: the grey heron, the great blue heron,
the great egret and their cousins. A heron is patient, precise and hard to knock over,
which is what we want from a stream processing engine.

Storm gave us spouts and bolts, groupings and acks; Heron kept the names and rebuilt the
machinery underneath. Ardea keeps the names again and runs them on Deno and on Node,
in one process or, soon, on many machines that talk through NATS.

Count the words of this text and you will find that "the" wins, as it always does.
`;

// ---------------------------------------------------------------- flags

const FLAGS: Readonly<Record<string, string>> = {
  "--input": "input",
  "--out": "out",
  "--mode": "mode",
  "--state-dir": "stateDir",
  "--checkpoint-secs": "checkpointSecs",
  "--chaos": "chaos",
  "--spouts": "spouts",
  "--splitters": "splitters",
  "--counters": "counters",
  "--max-pending": "maxPending",
};

const count = z.string().regex(/^[1-9][0-9]{0,5}$/, { error: "must be a whole number from 1 to 999999" })
  .transform(Number);

const OptionsSchema = z.object({
  input: z.string().min(1, { error: "must name a file" }).optional(),
  out: z.string().min(1, { error: "must name a file" }).optional(),
  mode: z.enum(["atmost", "atleast", "effectively-once"], {
    error: 'must be "atmost", "atleast" or "effectively-once"',
  }).optional(),
  stateDir: z.string().min(1, { error: "must name a folder" }).optional(),
  checkpointSecs: z.string().regex(/^[0-9]*\.?[0-9]+$/, { error: "must be a number of seconds" }).transform(Number)
    .refine((v) => v > 0, { error: "must be more than 0" }).optional(),
  chaos: z.string()
    .regex(/^(0|0?\.[0-9]+|0\.)$/, { error: "must be a probability P with 0 ≤ P < 1" })
    .transform(Number)
    .optional(),
  spouts: count.optional(),
  splitters: count.optional(),
  counters: count.optional(),
  maxPending: count.optional(),
}).strict();

/** What the flags ask for. */
export type WordCountOptions = z.infer<typeof OptionsSchema>;

class UsageError extends Error {}

/** Parses `--flag value` and `--flag=value` pairs; throws a one-line {@link UsageError}. */
export function parseFlags(argv: readonly string[]): WordCountOptions {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq > 0 && arg.startsWith("--") ? arg.slice(0, eq) : arg;
    const key = FLAGS[flag];
    if (key === undefined) {
      throw new UsageError(
        arg.startsWith("-") ? `unknown flag ${flag}` : `unexpected argument ${JSON.stringify(arg)}`,
      );
    }
    const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (key in raw) throw new UsageError(`${flag} is given twice`);
    raw[key] = value;
  }
  const r = OptionsSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0] ?? "");
    const flag = Object.keys(FLAGS).find((f) => FLAGS[f] === key) ?? key;
    throw new UsageError(`${flag} ${issue.message} (got ${JSON.stringify(raw[key])})`);
  }
  return r.data;
}

// ---------------------------------------------------------------- spout

/** Where lines come from: a {@link LineReader} or the built-in text. */
interface LineSource {
  read(maxLines: number): Promise<string[] | null>;
  /** Byte offset after the last line read (0 for the built-in text). */
  readonly offset: number;
  close(): Promise<void>;
}

function textSource(text: string): LineSource {
  let lines: string[] | null = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return {
    read: () => {
      const batch = lines;
      lines = null;
      return Promise.resolve(batch);
    },
    offset: 0,
    close: () => Promise.resolve(),
  };
}

/** Lines read per file read; a refill starts when fewer than this many are buffered. */
const BATCH_LINES = 2048;

/**
 * Emits the lines of a file (or of the built-in text), each with its line
 * number as message id. With several tasks, task i takes the lines whose
 * number modulo the task count is i. Reads ahead asynchronously, so nearly
 * every `nextTuple` call is synchronous; only an empty buffer returns a
 * Promise. Finite: calls `collector.finish()` at end of file, and keeps
 * replaying failed lines until every line is acked.
 */
class LineSpout extends BaseStatefulSpout<string, number> {
  readonly #path: string | undefined;
  /** EFFECTIVELY_ONCE: where to resume (kept in the state at each checkpoint). */
  #state: KeyValueState<string, number> | null = null;
  #startOffset = 0;
  #resumeAt = 0;
  /** Byte offset and first line number of each batch still buffered. */
  #batches: Array<[offset: number, firstLineNo: number]> = [];
  #collector!: SpoutOutputCollector;
  #source!: LineSource;
  #reliable = true;
  #tasks = 1;
  #taskIndex = 0;
  /** Number of the next line read from the source (all tasks' lines counted). */
  #nextLineNo = 0;
  /** This task's lines read ahead, not yet emitted, and their numbers. */
  #lines: string[] = [];
  #lineNos: number[] = [];
  #head = 0;
  #reading: Promise<void> | null = null;
  #readError: unknown = null;
  #eof = false;
  #finished = false;
  /** Line number → line, for every emitted line not yet acked (reliable mode). */
  readonly #pending = new Map<number, string>();
  readonly #replay: number[] = [];

  constructor(path: string | undefined) {
    super();
    this.#path = path;
  }

  /** EFFECTIVELY_ONCE: rewind to the position of the last committed checkpoint. */
  initState(state: KeyValueState<string, number>): void {
    this.#state = state;
    this.#startOffset = state.get("offset") ?? 0;
    this.#nextLineNo = state.get("firstLineNo") ?? 0;
    this.#resumeAt = state.get("next") ?? 0;
  }

  /** Saves the position of the next line to emit: its batch's byte offset and its number. */
  override preSave(): void {
    const next = this.#head < this.#lines.length ? this.#lineNos[this.#head]! : this.#nextLineNo;
    let i = this.#batches.length - 1;
    while (i > 0 && this.#batches[i]![1] > next) i--;
    const [offset, first] = this.#batches[i] ?? [this.#startOffset, this.#nextLineNo];
    this.#batches.splice(0, Math.max(0, i));
    this.#state!.put("offset", offset);
    this.#state!.put("firstLineNo", first);
    this.#state!.put("next", next);
  }

  override async open(conf: TopologyConfig, context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    this.#collector = collector;
    this.#reliable = conf["topology.reliability.mode"] === "ATLEAST_ONCE";
    this.#tasks = context.getComponentTasks(context.getThisComponentId()).length;
    this.#taskIndex = context.getThisTaskIndex();
    this.#source = this.#path === undefined
      ? textSource(BUILT_IN_TEXT)
      : await LineReader.open(this.#path, this.#startOffset);
  }

  nextTuple(): void | Promise<void> {
    if (this.#readError !== null) throw this.#readError;
    if (this.#replay.length > 0) {
      const lineNo = this.#replay.pop()!;
      this.#collector.emit([this.#pending.get(lineNo)!], lineNo);
      return;
    }
    if (this.#head < this.#lines.length) {
      const i = this.#head++;
      this.#emit(this.#lineNos[i]!, this.#lines[i]!);
      if (this.#lines.length - this.#head < BATCH_LINES && !this.#eof && this.#reading === null) this.#readAhead();
      return;
    }
    if (this.#eof) {
      if (!this.#finished) {
        this.#finished = true;
        this.#source.close().catch(() => {});
        this.#collector.finish();
      }
      return;
    }
    // The buffer is empty: wait for the read in flight, then emit.
    return (this.#reading ?? this.#readAhead()).then(() => this.nextTuple());
  }

  #emit(lineNo: number, line: string): void {
    if (!this.#reliable) return this.#collector.emit([line]);
    this.#pending.set(lineNo, line);
    this.#collector.emit([line], lineNo);
  }

  #readAhead(): Promise<void> {
    const batchStart: [number, number] = [this.#source.offset, this.#nextLineNo];
    const reading = this.#source.read(BATCH_LINES).then((batch) => {
      if (batch !== null && this.#state !== null) this.#batches.push(batchStart);
      this.#reading = null;
      if (batch === null) {
        this.#eof = true;
        return;
      }
      if (this.#head > 0) {
        this.#lines = this.#lines.slice(this.#head);
        this.#lineNos = this.#lineNos.slice(this.#head);
        this.#head = 0;
      }
      for (const line of batch) {
        const lineNo = this.#nextLineNo++;
        if (lineNo % this.#tasks !== this.#taskIndex || lineNo < this.#resumeAt) continue;
        this.#lines.push(line);
        this.#lineNos.push(lineNo);
      }
    }, (error) => {
      // Surfaces in the next nextTuple call, which crashes the spout.
      this.#reading = null;
      this.#readError = error;
    });
    this.#reading = reading;
    return reading;
  }

  override ack(lineNo: unknown): void {
    this.#pending.delete(lineNo as number);
  }

  override fail(lineNo: unknown): void {
    if (this.#pending.has(lineNo as number)) this.#replay.push(lineNo as number);
  }

  override async close(): Promise<void> {
    await this.#source?.close();
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("line"));
  }
}

// ---------------------------------------------------------------- bolts

/** Splits lines on whitespace; with `chaos` > 0 it crashes on purpose now and then. */
class SplitBolt extends BaseBasicBolt {
  constructor(readonly chaos: number) {
    super();
  }

  execute(input: Tuple, collector: BasicOutputCollector): void {
    // Crash before emitting anything: the spout replays the whole line.
    if (this.chaos > 0 && Math.random() < this.chaos) throw new Error("chaos: split crashed on purpose");
    for (const word of input.getString(0).split(/\s+/)) {
      if (word !== "") collector.emit([word]);
    }
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word"));
  }
}

/**
 * Counts the words of its share (fields grouping); sends its totals once all
 * input has ended. The counts live in a `KeyValueState`, which
 * EFFECTIVELY_ONCE checkpoints and restores.
 */
class CountBolt extends BaseStatefulBolt<string, number> {
  #collector!: OutputCollector;
  #counts: KeyValueState<string, number> = new State<string, number>();

  initState(state: KeyValueState<string, number>): void {
    this.#counts = state;
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(input: Tuple): void {
    const word = input.getString(0);
    this.#counts.put(word, (this.#counts.get(word) ?? 0) + 1);
    this.#collector.ack(input);
  }

  finish(): void {
    for (const [word, n] of this.#counts.entries()) this.#collector.emit("counts", [word, n]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declareStream("counts", new Fields("word", "count"));
  }
}

/** Merges every counter's totals; at the end prints a report and writes the JSON file. */
class SinkBolt extends BaseBasicBolt {
  readonly #totals = new Map<string, number>();

  constructor(readonly out: string | undefined) {
    super();
  }

  execute(input: Tuple): void {
    const word = input.getString(0);
    this.#totals.set(word, (this.#totals.get(word) ?? 0) + input.getInteger(1));
  }

  async finish(): Promise<void> {
    const sorted = [...this.#totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let total = 0;
    for (const [, n] of sorted) total += n;
    const top = sorted.slice(0, 10).map(([w, n]) => `  ${String(n).padStart(8)}  ${w}`);
    writeStdout(`${total} words, ${sorted.length} distinct\ntop ${top.length}:\n${top.join("\n")}\n`);
    if (this.out !== undefined) {
      // One JSON.stringify per key, so words such as "__proto__" survive.
      const body = sorted.map(([w, n]) => `  ${JSON.stringify(w)}: ${n}`).join(",\n");
      await writeTextFile(this.out, sorted.length === 0 ? "{}\n" : `{\n${body}\n}\n`);
      writeStdout(`wrote ${sorted.length} counts to ${this.out}\n`);
    }
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

// ---------------------------------------------------------------- main

function fail(message: string, code: number): never {
  writeStderr(`word_count: ${message}\n`);
  return exit(code);
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    writeStdout(`${USAGE}\n`);
    return;
  }
  let opts: WordCountOptions;
  try {
    opts = parseFlags(argv);
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message} (see --help)`, 2);
    throw e;
  }
  if (opts.input !== undefined && !(await fileExists(opts.input))) fail(`input file not found: ${opts.input}`, 1);

  const chaos = opts.chaos ?? 0;
  const builder = new TopologyBuilder();
  builder.setSpout("lines", () => new LineSpout(opts.input), opts.spouts ?? 1);
  builder.setBolt("split", () => new SplitBolt(chaos), opts.splitters ?? 2).shuffleGrouping("lines");
  builder.setBolt("count", CountBolt, opts.counters ?? 2).fieldsGrouping("split", new Fields("word"));
  builder.setBolt("sink", () => new SinkBolt(opts.out)).globalGrouping("count", "counts");

  const config: Record<string, unknown> = {
    "topology.reliability.mode": opts.mode === "atmost"
      ? "ATMOST_ONCE"
      : opts.mode === "effectively-once"
      ? "EFFECTIVELY_ONCE"
      : "ATLEAST_ONCE",
  };
  if (opts.stateDir !== undefined) config["topology.state.dir"] = opts.stateDir;
  if (opts.checkpointSecs !== undefined) config["topology.stateful.checkpoint.interval.seconds"] = opts.checkpointSecs;
  if (opts.maxPending !== undefined) config["topology.max.spout.pending"] = opts.maxPending;

  const handle = await submit("word-count", config, builder.createTopology());
  let summary;
  try {
    summary = await handle.done;
  } catch (e) {
    fail(`the topology failed: ${(e as Error).message}`, 1);
  }
  const s = summary.stats;
  writeStdout(
    `${summary.name}: ${summary.state} in ${Math.round(summary.durationMs)} ms; ` +
      `${s.spoutEmitted} lines emitted, ${s.acked} acked, ${s.failed} failed and replayed, ${s.restarts} restarts\n`,
  );
  if (summary.state !== "FINISHED") exit(1);
}

await main(args());
