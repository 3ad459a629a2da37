// timeout: 300
/**
 * Runs every example as a child process on the runtime running this file
 * (Node through runtime/node_loader.mjs, Deno with `run -A`) and checks
 * what it prints and writes. The word count is checked word by word against
 * a plain JavaScript count of generated input.
 */
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  ardeaRoot,
  execPath,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  toFileUrl,
  writeTextFile,
} from "../runtime/mod.ts";
import { mulberry32 as prng } from "../testing/random.ts";
import { adEvents } from "../examples/streamlet_join_data.ts";

const ROOT = ardeaRoot();
const CHILD_TIMEOUT_MS = 90_000;

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string[];
  stderr: string[];
}

/** Runs examples/<name>.ts with `args` (through `ardea run` with `viaCli`) and collects its output. */
async function runExample(name: string, args: string[] = [], viaCli = false): Promise<Run> {
  const script = viaCli ? ["bin/ardea.mjs", "run", "--quiet", `examples/${name}.ts`] : [`examples/${name}.ts`];
  const [cmd, cmdArgs] = runtimeName() === "deno"
    ? [resolvePath(ROOT, "node_modules", ".bin", "deno"), ["run", "-A", ...script, ...args]]
    : [execPath(), ["--import", toFileUrl(resolvePath(ROOT, "runtime", "node_loader.mjs")), ...script, ...args]];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = spawnProcess(cmd, cmdArgs, {
    cwd: ROOT,
    stdio: "pipe",
    env: { NO_COLOR: "1" },
    onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  try {
    const { code, signal } = await child.exited;
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function show(r: Run): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}\n--- stdout\n${r.stdout.join("\n")}\n--- stderr\n${
    r.stderr.slice(0, 40).join("\n")
  }`;
}

function assertOk(r: Run): void {
  assert.is(r.code, 0, show(r));
}

// ---------------------------------------------------------------- input

const VOCABULARY = [
  "naïve",
  "café",
  "日本語",
  "中文",
  "Ärger",
  "straße",
  "🦩",
  "👍🏽",
  "🇯🇵",
  "heron",
  "Heron",
  "HERON",
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
  "the",
  "a",
  "of",
  "tuple",
  "bolt",
  "spout",
  '"quoted"',
  "back\\slash",
  "comma,",
  "{brace}",
  "1",
  "0",
  "-1",
  "NaN",
];
const SEPARATORS = [" ", " ", " ", "  ", "\t", " \t ", "\u00a0"];

/**
 * Builds an input of about `bytes` bytes: CRLF line endings, empty and
 * blank lines, leading and trailing whitespace, a final line without a
 * newline. Returns the text and its true word counts.
 */
function makeInput(bytes: number, seed: number): { text: string; truth: Map<string, number> } {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = Math.floor(rand() * 14);
    let line = rand() < 0.1 ? " " : "";
    for (let i = 0; i < n; i++) line += (i > 0 ? pick(SEPARATORS) : "") + pick(VOCABULARY);
    if (rand() < 0.05) line += "\t ";
    lines.push(line);
    size += new TextEncoder().encode(line).length + 2;
  }
  lines.push("the last line has no newline naïve 日本語 🦩");
  const text = lines.join("\r\n");
  const truth = new Map<string, number>();
  for (const line of text.split("\n")) {
    for (const w of line.split(/\s+/)) if (w !== "") truth.set(w, (truth.get(w) ?? 0) + 1);
  }
  return { text, truth };
}

let tmp = "";
let inputPath = "";
let truth = new Map<string, number>();
let trueTotal = 0;

test.before(async () => {
  tmp = await makeTempDir("ardea-examples-");
  const input = makeInput(300 * 1024, 20240229);
  inputPath = resolvePath(tmp, "input.txt");
  await writeTextFile(inputPath, input.text);
  truth = input.truth;
  for (const n of truth.values()) trueTotal += n;
});

test.after(async () => {
  if (tmp !== "") await removePath(tmp);
});

/** Reads a word count output file into a Map (JSON.parse keeps "__proto__" as an own key). */
async function readCounts(path: string): Promise<Map<string, number>> {
  const parsed = JSON.parse(await readTextFile(path)) as Record<string, unknown>;
  assert.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), "output is one JSON object");
  const counts = new Map<string, number>();
  for (const key of Object.keys(parsed)) {
    const n = parsed[key];
    assert.ok(typeof n === "number" && Number.isInteger(n) && n > 0, `count of ${JSON.stringify(key)} is ${n}`);
    counts.set(key, n);
  }
  return counts;
}

function assertExact(got: Map<string, number>, what: string): void {
  const wrong: string[] = [];
  for (const [w, n] of truth) if (got.get(w) !== n) wrong.push(`${JSON.stringify(w)}: ${got.get(w)} ≠ ${n}`);
  for (const w of got.keys()) if (!truth.has(w)) wrong.push(`${JSON.stringify(w)} is not in the input`);
  assert.equal(wrong, [], `${what}: ${wrong.length} wrong counts`);
}

// ---------------------------------------------------------------- word count

test("input fixture: larger than one 64 KiB read, CRLF, tricky words, no final newline", async () => {
  const text = await readTextFile(inputPath);
  assert.ok(new TextEncoder().encode(text).length > 4 * 64 * 1024);
  assert.ok(text.includes("\r\n"));
  assert.not.ok(text.endsWith("\n"));
  for (const w of ["naïve", "日本語", "🦩", "constructor", "__proto__", "toString"]) assert.ok(truth.has(w), w);
});

test("word_count: exact counts, default mode (ATLEAST_ONCE), several tasks", async () => {
  const out = resolvePath(tmp, "atleast.json");
  const r = await runExample("word_count", [
    "--input",
    inputPath,
    "--out",
    out,
    "--spouts",
    "2",
    "--splitters",
    "3",
    "--counters",
    "2",
  ]);
  assertOk(r);
  assertExact(await readCounts(out), "ATLEAST_ONCE");
  assert.ok(r.stdout.includes(`${trueTotal} words, ${truth.size} distinct`), show(r));
  assert.ok(r.stdout.some((l) => /^word-count: FINISHED/.test(l)), show(r));
  assert.ok(r.stdout.some((l) => /0 failed and replayed, 0 restarts/.test(l)), show(r));
});

test("word_count: exact counts in ATMOST_ONCE mode", async () => {
  const out = resolvePath(tmp, "atmost.json");
  const r = await runExample("word_count", [
    "--input",
    inputPath,
    "--out",
    out,
    "--mode",
    "atmost",
    "--splitters",
    "2",
  ]);
  assertOk(r);
  assertExact(await readCounts(out), "ATMOST_ONCE");
});

test("word_count: --flag=value form and --max-pending 1 (one line in flight at a time)", async () => {
  const small = resolvePath(tmp, "small.txt");
  await writeTextFile(small, "b a\r\nb\n\n  c  b\n__proto__ constructor");
  const out = resolvePath(tmp, "small.json");
  const r = await runExample("word_count", [`--input=${small}`, `--out=${out}`, "--max-pending=1", "--spouts=2"]);
  assertOk(r);
  assert.equal(
    Object.fromEntries(await readCounts(out)),
    JSON.parse('{"b":3,"a":1,"c":1,"__proto__":1,"constructor":1}'),
  );
});

test("word_count: --chaos 0.05 crashes the splitter yet every word is counted", async () => {
  const out = resolvePath(tmp, "chaos.json");
  const r = await runExample("word_count", [
    "--input",
    inputPath,
    "--out",
    out,
    "--chaos",
    "0.05",
    "--spouts",
    "3",
    "--splitters",
    "4",
    "--counters",
    "3",
    "--max-pending",
    "500",
  ]);
  assertOk(r);
  const got = await readCounts(out);
  const under = [...truth].filter(([w, n]) => (got.get(w) ?? 0) < n).map(([w, n]) => `${w}: ${got.get(w)} < ${n}`);
  assert.equal(under, [], "no word is undercounted");
  for (const w of got.keys()) assert.ok(truth.has(w), `${JSON.stringify(w)} is not in the input`);
  const restarts = Number(/(\d+) restarts/.exec(r.stdout.join("\n"))?.[1] ?? NaN);
  assert.ok(restarts > 0, `the splitter crashed at least once\n${show(r)}`);
  const extra = [...truth].reduce((sum, [w, n]) => sum + (got.get(w)! - n), 0);
  console.log(
    `  [${runtimeName()}] chaos run: ${restarts} restarts; counts ${
      extra === 0 ? "exact" : `over by ${extra} words in total`
    }`,
  );
  assert.ok(r.stderr.some((l) => l.includes("chaos: split crashed on purpose")), "crashes are logged");
});

test("word_count: without --input it counts its built-in text", async () => {
  const r = await runExample("word_count");
  assertOk(r);
  assert.ok(r.stdout.some((l) => /^\d+ words, \d+ distinct$/.test(l)), show(r));
  assert.ok(r.stdout.includes("top 10:"), show(r));
  assert.ok(r.stdout.some((l) => /^\s+\d+\s+the$/.test(l)), show(r));
});

test("word_count under `ardea run`: the script gets its own flags", async () => {
  const out = resolvePath(tmp, "cli.json");
  const r = await runExample("word_count", ["--input", inputPath, "--out", out, "--counters", "3"], true);
  assertOk(r);
  assertExact(await readCounts(out), "ardea run");
  const bad = await runExample("word_count", ["--bogus"], true);
  assert.is(bad.code, 2, show(bad));
});

test("word_count: a bad flag prints one line and exits 2", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["--bogus", "1"], /unknown flag --bogus/],
    [["--chaos", "1"], /--chaos .*0 ≤ P < 1/],
    [["--chaos", "-0.1"], /--chaos/],
    [["--chaos", "abc"], /--chaos/],
    [["--spouts", "0"], /--spouts/],
    [["--splitters", "2.5"], /--splitters/],
    [["--counters", "many"], /--counters/],
    [["--max-pending", "-3"], /--max-pending/],
    [["--mode", "exactly"], /--mode must be "atmost", "atleast" or "effectively-once"/],
    [["--input"], /--input needs a value/],
    [["--out", "a", "--out", "b"], /--out is given twice/],
    [["stray"], /unexpected argument "stray"/],
  ];
  for (const [args, message] of cases) {
    const r = await runExample("word_count", args);
    assert.is(r.code, 2, `${args.join(" ")}: ${show(r)}`);
    const lines = r.stderr.filter((l) => l.trim() !== "");
    assert.is(lines.length, 1, `${args.join(" ")}: one line on stderr\n${show(r)}`);
    assert.match(lines[0]!, message, args.join(" "));
    assert.equal(r.stdout, [], `${args.join(" ")}: nothing on stdout`);
  }
});

test("word_count: a missing input file is a clear error and a non-zero exit", async () => {
  const missing = resolvePath(tmp, "no-such-file.txt");
  const r = await runExample("word_count", ["--input", missing]);
  assert.ok(r.code !== 0 && r.code !== null, show(r));
  assert.ok(r.stderr.some((l) => l.includes("not found") && l.includes(missing)), show(r));
});

// ---------------------------------------------------------------- the others

test("streamlet_word_count: exact counts with windows, ATMOST_ONCE, 3 count partitions", async () => {
  const out = resolvePath(tmp, "streamlet-atmost.json");
  const r = await runExample("streamlet_word_count", [
    "--input",
    inputPath,
    "--out",
    out,
    "--mode",
    "atmost",
    "--counters",
    "3",
  ]);
  assertOk(r);
  assertExact(await readCounts(out), "streamlet ATMOST_ONCE");
  assert.ok(r.stdout.includes(`${trueTotal} words, ${truth.size} distinct`), show(r));
  assert.ok(r.stdout.some((l) => /^streamlet-word-count: FINISHED/.test(l)), show(r));
});

test("streamlet_word_count under `ardea run` (ATLEAST_ONCE, 1-second windows): exact counts; a bad flag exits 2", async () => {
  const out = resolvePath(tmp, "streamlet-cli.json");
  const r = await runExample("streamlet_word_count", ["--input", inputPath, "--out", out, "--window-secs", "1"], true);
  assertOk(r);
  assertExact(await readCounts(out), "streamlet ardea run");
  const bad = await runExample("streamlet_word_count", ["--bogus"], true);
  assert.is(bad.code, 2, show(bad));
});

/** examples/streamlet_join.ts's output computed plainly: per ad, [user, impression time, click time] of every click
 * by the same user on the same ad at or after an impression, both in one tumbling window of `windowMs`. */
function plainJoin(seed: number, impressions: number, windowMs: number): Record<string, [string, number, number][]> {
  const events = adEvents(seed, impressions);
  const byAd = new Map<string, [string, number, number][]>();
  for (const i of events.impressions) {
    for (const c of events.clicks) {
      if (
        i.userId === c.userId && i.adId === c.adId && c.time >= i.time &&
        Math.floor(i.time / windowMs) === Math.floor(c.time / windowMs)
      ) {
        if (!byAd.has(i.adId)) byAd.set(i.adId, []);
        byAd.get(i.adId)!.push([i.userId, i.time, c.time]);
      }
    }
  }
  const out: Record<string, [string, number, number][]> = {};
  for (const ad of [...byAd.keys()].sort()) {
    out[ad] = byAd.get(ad)!.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2]));
  }
  return out;
}

test("streamlet_join: exactly the plain join's pairs (seed 7, 3-second windows, 3 joiners, ATMOST_ONCE)", async () => {
  const out = resolvePath(tmp, "streamlet-join-atmost.json");
  const r = await runExample("streamlet_join", [
    "--seed",
    "7",
    "--impressions",
    "3000",
    "--window-secs",
    "3",
    "--joiners",
    "3",
    "--mode",
    "atmost",
    "--out",
    out,
  ]);
  assertOk(r);
  const truth = plainJoin(7, 3000, 3000);
  const pairs = Object.values(truth).reduce((n, l) => n + l.length, 0);
  assert.ok(pairs > 100, `the seed gives pairs to check (${pairs})`);
  assert.equal(JSON.parse(await readTextFile(out)), truth);
  const clicks = adEvents(7, 3000).clicks.length;
  assert.ok(
    r.stdout.includes(`3000 impressions, ${clicks} clicks: ${pairs} clicks after an impression, over 8 ads`),
    show(r),
  );
  assert.ok(r.stdout.some((l) => /^streamlet-join: FINISHED/.test(l)), show(r));
});

test("streamlet_join under `ardea run` (defaults: seed 1, ATLEAST_ONCE, 10-second windows): exact pairs; a bad flag exits 2", async () => {
  const out = resolvePath(tmp, "streamlet-join-cli.json");
  const r = await runExample("streamlet_join", ["--out", out], true);
  assertOk(r);
  assert.equal(JSON.parse(await readTextFile(out)), plainJoin(1, 2000, 10_000));
  for (const bad of [["--bogus"], ["--joiners", "0"], ["--mode", "exactly"], ["--impressions", "-1"]]) {
    const b = await runExample("streamlet_join", bad, true);
    assert.is(b.code, 2, `${bad.join(" ")}: ${show(b)}`);
  }
});

test("exclamation: every word leaves with six exclamation marks", async () => {
  const r = await runExample("exclamation");
  assertOk(r);
  const words = r.stdout.filter((l) => l.endsWith("!!!"));
  assert.is(words.length, 15, show(r));
  for (const w of ["nathan", "mike", "jackson", "golda", "bertels"]) {
    assert.is(words.filter((l) => l === `${w}!!!!!!`).length, 3, `${w}\n${show(r)}`);
  }
  assert.ok(r.stdout.includes("printed 15 words"), show(r));
  assert.ok(r.stdout.includes("FINISHED: 15 tuple trees acked"), show(r));
});

test("direct_grouping: each worker gets exactly the numbers routed to it", async () => {
  const r = await runExample("direct_grouping");
  assertOk(r);
  assert.equal(r.stdout, [
    "worker 0: 3 6 9 12 15 18 21 24 27 30",
    "worker 1: 1 4 7 10 13 16 19 22 25 28",
    "worker 2: 2 5 8 11 14 17 20 23 26 29",
    "FINISHED",
  ], show(r));
});

test("multiple_streams: even and odd streams reach their own subscribers", async () => {
  const r = await runExample("multiple_streams");
  assertOk(r);
  assert.equal([...r.stdout].sort(), [
    "FINISHED",
    "even: 10 numbers, sum 110",
    "odd: 10 numbers, sum 100",
    'tally: 10 on "even", 10 on "odd"',
  ], show(r));
});

test("tick_tuples: ticks flush while the input flows; finish flushes the rest", async () => {
  const started = Date.now();
  const r = await runExample("tick_tuples");
  assertOk(r);
  assert.ok(Date.now() - started < 15_000, "ends within seconds");
  assert.ok(r.stdout.some((l) => l.startsWith("flush (tick):")), `at least one tick flush\n${show(r)}`);
  assert.ok(
    r.stdout.includes("40 readings in " + r.stdout.filter((l) => l.startsWith("flush")).length + " flushes"),
    show(r),
  );
  assert.is(r.stdout.at(-1), "FINISHED", show(r));
});

test.run();
