/**
 * Word count with the Streamlet API (Heron's functional API): the same job
 * as examples/word_count.ts, written as a pipeline, counted per window.
 *
 *   source(lines) → flatMap(split) → countByKeyAndWindow(word, tumbling window) → sink(totals)
 *
 * The stateless steps (split into words, drop empty ones) are fused into
 * one bolt; the windowed count is partitioned by word; the sink adds up
 * each word's window counts and, when the run ends (its `cleanup`), prints
 * a report and writes `--out` as one JSON object `{word: count}`.
 *
 *   npx ardea run examples/streamlet_word_count.ts --input book.txt --out counts.json
 *   deno run -A examples/streamlet_word_count.ts --mode atmost --counters 3
 *
 * Flags: --input FILE (default: a built-in text), --out FILE,
 * --mode atmost|atleast (default atleast), --counters N (partitions of the
 * count, default 2), --window-secs S (default 10). A bad flag prints one
 * line and exits with code 2.
 *
 * @module
 */
import { Builder, Runner, type Sink, StreamletConfig as Config, WindowConfig } from "../mod.ts";
import { args, exit, fileExists, LineReader, writeStderr, writeStdout, writeTextFile } from "../runtime/mod.ts";

const BUILT_IN_TEXT = `The grey heron stands in the shallows of the river and waits.
It waits for the fish, and the fish come, one by one, the way elements come to a streamlet.
Heron's streamlets map, filter and count; Ardea's do the same, typed.`;

function fail(message: string, code: number): never {
  writeStderr(`streamlet_word_count: ${message}\n`);
  return exit(code);
}

/** `--flag value` or `--flag=value` pairs, checked. */
function parseFlags(argv: readonly string[]): Record<string, string> {
  const known = new Set(["--input", "--out", "--mode", "--counters", "--window-secs"]);
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s) as [string, string | undefined];
    if (!known.has(flag)) fail(`unknown flag ${flag} (see the top of the file)`, 2);
    const value = inline ?? argv[++i];
    if (value === undefined) fail(`${flag} needs a value`, 2);
    flags[flag.slice(2)] = value;
  }
  if (flags.mode !== undefined && flags.mode !== "atmost" && flags.mode !== "atleast") {
    fail(`--mode must be "atmost" or "atleast" (got ${JSON.stringify(flags.mode)})`, 2);
  }
  for (const f of ["counters", "window-secs"]) {
    if (flags[f] !== undefined && !/^[1-9][0-9]{0,4}$/.test(flags[f])) {
      fail(`--${f} must be a whole number from 1 to 99999 (got ${JSON.stringify(flags[f])})`, 2);
    }
  }
  return flags;
}

/** The lines of `path`, read 2048 at a time, or the built-in text. */
async function* lines(path: string | undefined): AsyncGenerator<string> {
  if (path === undefined) {
    yield* BUILT_IN_TEXT.split("\n");
    return;
  }
  const reader = await LineReader.open(path, 0);
  try {
    for (let batch = await reader.read(2048); batch !== null; batch = await reader.read(2048)) yield* batch;
  } finally {
    await reader.close();
  }
}

/** Adds up each word's window counts; reports and writes them when the run ends. */
function totalsSink(out: string | undefined): Sink<{ getKey(): { getKey(): string }; getValue(): number }> {
  const totals = new Map<string, number>();
  return {
    setup() {},
    put(kv) {
      const word = kv.getKey().getKey();
      totals.set(word, (totals.get(word) ?? 0) + kv.getValue());
    },
    async cleanup() {
      const sorted = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const total = sorted.reduce((n, [, c]) => n + c, 0);
      const top = sorted.slice(0, 10).map(([w, n]) => `  ${String(n).padStart(8)}  ${w}`);
      writeStdout(`${total} words, ${sorted.length} distinct\ntop ${top.length}:\n${top.join("\n")}\n`);
      if (out !== undefined) {
        // One JSON.stringify per key, so words such as "__proto__" survive.
        const body = sorted.map(([w, n]) => `  ${JSON.stringify(w)}: ${n}`).join(",\n");
        await writeTextFile(out, sorted.length === 0 ? "{}\n" : `{\n${body}\n}\n`);
        writeStdout(`wrote ${sorted.length} counts to ${out}\n`);
      }
    },
  };
}

const flags = parseFlags(args());
if (flags.input !== undefined && !(await fileExists(flags.input))) fail(`input file not found: ${flags.input}`, 1);

const builder = Builder.newBuilder();
builder.newSource(lines(flags.input)).setName("lines")
  .flatMap((line) => line.split(/\s+/)).setName("split")
  .filter((word) => word !== "").setName("words")
  .countByKeyAndWindow((word) => word, WindowConfig.TumblingTimeWindow(Number(flags["window-secs"] ?? 10) * 1000))
  .setName("count").setNumPartitions(Number(flags.counters ?? 2))
  .toSink(totalsSink(flags.out)).setName("totals").setNumPartitions(1);

const config = Config.newBuilder()
  .setDeliverySemantics(
    flags.mode === "atmost" ? Config.DeliverySemantics.ATMOST_ONCE : Config.DeliverySemantics.ATLEAST_ONCE,
  )
  .build();
const handle = await new Runner().run("streamlet-word-count", config, builder);
const summary = await handle.done.catch((e: Error) => fail(`the run failed: ${e.message}`, 1));
writeStdout(`${summary.name}: ${summary.state} in ${Math.round(summary.durationMs)} ms\n`);
if (summary.state !== "FINISHED") exit(1);
