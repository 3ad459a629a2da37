// Flux files (flux/): parsing each key, groupings, includes, filters,
// refs, configMethods and properties, errors with their lines, and the
// `ardea run|submit topology.yaml` commands end to end.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  buildFluxTopology,
  FluxError,
  importFluxModules,
  parseProperties,
  readFlux,
  type ReadFluxOptions,
} from "../flux/mod.ts";
import { completeTopology } from "../mod.ts";
import { makeTempDir, readTextFile, removePath, resolvePath, runtimeName, writeTextFile } from "../runtime/mod.ts";
import { asText, runArdea, show } from "../testing/child.ts";
import { startNats } from "../testing/nats_server.ts";
import type { Grouping } from "../topology/grouping.ts";

const COMPONENTS = resolvePath("tests/fixtures/flux/components.ts");
let dir: string;
let n = 0;

test.before(async () => {
  dir = await makeTempDir("ardea-flux-");
});

test.after(async () => {
  await removePath(dir);
});

/** Writes `text` as a new YAML file in the test folder (named `name` when given) and returns its path. */
async function yamlFile(text: string, name = `t${n++}.yaml`): Promise<string> {
  const path = resolvePath(dir, name);
  await writeTextFile(path, text.replaceAll("@C", COMPONENTS));
  return path;
}

async function read(text: string, options?: ReadFluxOptions) {
  return await readFlux(await yamlFile(text), options);
}

/** The FluxError reading (and building) `text` gives. */
async function fluxError(text: string, options?: ReadFluxOptions): Promise<FluxError> {
  const path = await yamlFile(text);
  try {
    const doc = await readFlux(path, options);
    buildFluxTopology(doc, await importFluxModules(doc));
  } catch (e) {
    if (e instanceof FluxError) return e;
    throw e;
  }
  assert.unreachable(`no error for\n${text}`);
  throw new Error("unreachable");
}

const BASE = `name: "t"
spouts:
  - id: "words"
    className: "@C#WordSpout"
    constructorArgs: [["a", "b", "a"]]
`;

test("parses every key: name, config, components, spouts, bolts, streams", async () => {
  const doc = await read(`${BASE}config:
  topology.workers: 2
  my.key: "x"
components:
  - id: "h"
    className: "@C#Holder"
    constructorArgs: [7]
bolts:
  - id: "echo"
    className: "@C#EchoBolt"
    constructorArgs: [1, { ref: "h" }]
    parallelism: 3
streams:
  - name: "w → e"
    from: "words"
    to: "echo"
    grouping:
      type: SHUFFLE
`);
  assert.is(doc.name, "t");
  assert.equal(doc.config, { "topology.workers": 2, "my.key": "x" });
  assert.equal(doc.components.map((c) => [c.id, c.className, c.constructorArgs]), [["h", `${COMPONENTS}#Holder`, [7]]]);
  assert.equal(doc.spouts.map((s) => [s.id, s.parallelism]), [["words", 1]]);
  assert.equal(doc.bolts.map((b) => [b.id, b.parallelism, b.constructorArgs]), [["echo", 3, [1, { ref: "h" }]]]);
  assert.equal(doc.streams.map((s) => [s.name, s.from, s.to, s.grouping.type]), [[
    "w → e",
    "words",
    "echo",
    "SHUFFLE",
  ]]);
  assert.equal(doc.bolts[0]!.class, { kind: "module", specifier: COMPONENTS, export: "EchoBolt" });
});

test("YAML anchors, aliases and merge keys (<<) work as in Storm's SnakeYAML", async () => {
  const doc = await read(`${BASE}bolts:
  - &echo { id: "e1", className: "@C#EchoBolt", parallelism: 2 }
  - { <<: *echo, id: "e2" }
streams:
  - { from: "words", to: "e1", grouping: &shuffle { type: SHUFFLE } }
  - { from: "words", to: "e2", grouping: *shuffle }
`);
  assert.equal(doc.bolts.map((b) => [b.id, b.parallelism, b.className]), [
    ["e1", 2, `${COMPONENTS}#EchoBolt`],
    ["e2", 2, `${COMPONENTS}#EchoBolt`],
  ]);
  assert.equal(doc.streams.map((s) => s.grouping.type), ["SHUFFLE", "SHUFFLE"]);
});

test("every grouping type becomes the builder's grouping", async () => {
  const types = ["SHUFFLE", "ALL", "GLOBAL", "NONE", "LOCAL_OR_SHUFFLE"];
  const bolts = [...types, "FIELDS", "DIRECT", "CUSTOM", "PARTIAL", "STREAM"].map((t) =>
    `  - id: "${t}"\n    className: "@C#EchoBolt"\n    parallelism: 2\n`
  ).join("");
  const streams = [
    ...types.map((t) => `  - { from: "words", to: "${t}", grouping: { type: ${t} } }\n`),
    `  - { from: "words", to: "FIELDS", grouping: { type: FIELDS, args: ["word"] } }\n`,
    `  - { from: "words", to: "DIRECT", grouping: { type: DIRECT, streamId: "direct" } }\n`,
    `  - { from: "words", to: "CUSTOM", grouping: { type: CUSTOM, customClass: { className: "@C#FirstTask", constructorArgs: ["x"] } } }\n`,
    `  - from: "words"\n    to: "PARTIAL"\n    grouping:\n      type: CUSTOM\n      customClass:\n` +
    `        className: "org.apache.storm.grouping.PartialKeyGrouping"\n        constructorArgs: [{ ref: "f" }]\n`,
    `  - { from: "words", to: "STREAM", grouping: { type: FIELDS, args: ["word"], streamId: "pairs" } }\n`,
  ].join("");
  const doc = await read(
    `${BASE}components:\n  - id: "f"\n    className: "org.apache.storm.tuple.Fields"\n    constructorArgs: [["word"]]\n` +
      `bolts:\n${bolts}streams:\n${streams}`,
  );
  const topology = buildFluxTopology(doc, await importFluxModules(doc));
  const input = (id: string) => topology.components.get(id)!.inputs[0]!;
  const kind = (g: Grouping) => g.type;
  assert.equal(types.map((t) => kind(input(t).grouping)), ["shuffle", "all", "global", "none", "localOrShuffle"]);
  const fields = input("FIELDS").grouping as { type: string; fields: { toList(): string[] } };
  assert.equal([fields.type, fields.fields.toList()], ["fields", ["word"]]);
  assert.equal([input("DIRECT").grouping.type, input("DIRECT").stream], ["direct", "direct"]);
  const custom = input("CUSTOM").grouping as { type: string; grouping: { tag: string } };
  assert.equal([custom.type, custom.grouping.tag], ["custom", "x"]);
  const partial = input("PARTIAL").grouping as { type: string; fields: { toList(): string[] } };
  assert.equal([partial.type, partial.fields.toList()], ["partialKey", ["word"]]);
  assert.equal([input("STREAM").grouping.type, input("STREAM").stream], ["fields", "pairs"]);
});

test("refs, reflists, factories, properties (setter or field) and configMethods build each task's object", async () => {
  const doc = await read(`${BASE}components:
  - id: "h1"
    className: "@C#Holder"
    constructorArgs: ["one"]
  - id: "h2"
    className: "@C#Holder"
    factory: "create"
    factoryArgs: [2]
  - id: "nested"
    className: "@C#Holder"
    constructorArgs: [{ ref: "h1" }]
bolts:
  - id: "echo"
    className: "@C#EchoBolt"
    constructorArgs: [{ ref: "nested" }, { reflist: ["h1", "h2"] }, [1, { ref: "h2" }]]
    properties:
      - { name: "label", value: "L" }
      - { name: "mode", value: "fast" }
    configMethods:
      - { name: "withSetting", args: ["a", { ref: "h1" }] }
      - { name: "withSetting" }
  - id: "made"
    className: "@C#EchoBolt"
    factory: "make"
    factoryArgs: [{ ref: "h1" }]
streams:
  - { from: "words", to: "echo", grouping: { type: SHUFFLE } }
  - { from: "words", to: "made", grouping: { type: SHUFFLE } }
`);
  const topology = buildFluxTopology(doc, await importFluxModules(doc));
  type Echo = { args: unknown[]; label: string; mode: string; calls: unknown[][] };
  const echo = topology.components.get("echo")!.create() as unknown as Echo;
  const value = (h: unknown) => (h as { value: unknown }).value;
  assert.is(value(value(echo.args[0])), "one");
  assert.equal((echo.args[1] as unknown[]).map(value), ["one", "made:2"]);
  assert.equal([(echo.args[2] as unknown[])[0], value((echo.args[2] as unknown[])[1])], [1, "made:2"]);
  // One task's objects: a component named twice is one object.
  assert.is(value(echo.args[0]), (echo.args[1] as unknown[])[0]);
  assert.is(echo.label, "L");
  assert.is(echo.mode, "set:fast");
  assert.equal(echo.calls.map((c) => c.map((v) => (typeof v === "object" ? value(v) : v))), [["a", "one"], []]);
  // Each task gets its own.
  assert.is.not(topology.components.get("echo")!.create(), echo);
  const made = topology.components.get("made")!.create() as unknown as Echo;
  assert.equal([made.args[0], value(made.args[1])], ["factory", "one"]);
});

test("a windowed bolt configured by configMethods with refs to Storm's BaseWindowedBolt$Count", async () => {
  const doc = await read(`${BASE}components:
  - id: "two"
    className: "org.apache.storm.topology.base.BaseWindowedBolt$Count"
    constructorArgs: [2]
bolts:
  - id: "windows"
    className: "@C#JoinWindowBolt"
    configMethods:
      - name: "withTumblingWindow"
        args: [ref: "two"]
streams:
  - { from: "words", to: "windows", grouping: { type: GLOBAL } }
`);
  const done = await completeTopology(buildFluxTopology(doc, await importFluxModules(doc)));
  // Tumbling windows of 2; the last, partial one fires when the input ends.
  assert.equal(done.emitted("windows"), [["a+b"], ["a"]]);
});

test("includes: files relative to the includer; override decides who wins; streams add up", async () => {
  await yamlFile(
    `name: "included"
config: { topology.debug: true, my.key: "inc" }
bolts:
  - id: "echo"
    className: "@C#EchoBolt"
    parallelism: 4
  - id: "extra"
    className: "@C#EchoBolt"
streams:
  - { from: "words", to: "extra", grouping: { type: SHUFFLE } }
`,
    "sub/inc.yaml",
  );
  const main = (override: boolean) =>
    `${BASE}config: { my.key: "main" }
includes:
  - { resource: false, file: "sub/inc.yaml", override: ${override} }
bolts:
  - id: "echo"
    className: "@C#EchoBolt"
    parallelism: 2
streams:
  - { from: "words", to: "echo", grouping: { type: SHUFFLE } }
`;
  const kept = await read(main(false));
  assert.is(kept.name, "t");
  assert.equal(kept.config, { "my.key": "main", "topology.debug": true });
  assert.equal(kept.bolts.map((b) => [b.id, b.parallelism]), [["echo", 2], ["extra", 1]]);
  assert.equal(kept.streams.map((s) => s.to), ["echo", "extra"]);
  const replaced = await read(main(true));
  assert.is(replaced.name, "included");
  assert.equal(replaced.config, { "my.key": "inc", "topology.debug": true });
  assert.equal(replaced.bolts.map((b) => [b.id, b.parallelism]), [["echo", 4], ["extra", 1]]);
});

test("--filter properties and --env-filter variables are substituted before parsing", async () => {
  const props = resolvePath(dir, "dev.properties");
  await writeTextFile(
    props,
    '# comment\n! also a comment\nbolt.parallelism = 3\nwords: ["x", \\\n    "y"]\nname\\ with\\ space=ok\n',
  );
  assert.equal(
    [...parseProperties(await readTextFile(props))],
    [["bolt.parallelism", "3"], ["words", '["x", "y"]'], ["name with space", "ok"]],
  );
  const text = `name: "\${ENV-FLUX_NAME}"
spouts:
  - id: "words"
    className: "@C#WordSpout"
    constructorArgs:
      - \${words}
bolts:
  - id: "echo"
    className: "@C#EchoBolt"
    parallelism: \${bolt.parallelism}
streams:
  - { from: "words", to: "echo", grouping: { type: SHUFFLE } }
`;
  const env = (name: string) => (name === "FLUX_NAME" ? "from-env" : undefined);
  const doc = await read(text, { filter: props, envFilter: true, env });
  assert.is(doc.name, "from-env");
  assert.equal(doc.spouts[0]!.constructorArgs, [["x", "y"]]);
  assert.is(doc.bolts[0]!.parallelism, 3);
  // Without the filters, ${…} stays as written (as in Storm), and a typed key says so.
  const e = await fluxError(text);
  assert.match(
    e.message,
    /:10: bolts\[0\]\.parallelism: expected an integer from 1 to 10000, got "\$\{bolt\.parallelism\}" \(a \$\{…\} left as written/,
    e.message,
  );
});

const ERRORS: Array<[string, string, RegExp]> = [
  ["invalid YAML", `name: "t"\nspouts: [\n`, /:3: not valid YAML/],
  ["unknown top key", `${BASE}workers: 2\n`, /:6: workers: unknown key "workers" \(expected one of: name, config,/],
  [
    "unknown bolt key",
    `${BASE}bolts:\n  - id: "b"\n    className: "@C#EchoBolt"\n    paralelism: 2\n`,
    /:9: bolts\[0\]\.paralelism: unknown key "paralelism" \(expected one of: id, className,/,
  ],
  [
    "wrong type",
    `${BASE}bolts:\n  - id: "b"\n    className: "@C#EchoBolt"\n    parallelism: "two"\n`,
    /:9: bolts\[0\]\.parallelism: expected an integer from 1 to 10000, got "two"/,
  ],
  ["missing key", `${BASE}bolts:\n  - id: "b"\n`, /:7: bolts\[0\]\.className: missing \(expected a string\)/],
  ["missing name", `spouts: []\n`, /:1: name: missing/],
  [
    "grouping type",
    `${BASE}bolts:\n  - { id: "b", className: "@C#EchoBolt" }\nstreams:\n  - from: "words"\n    to: "b"\n    grouping:\n      type: RANDOM\n`,
    /:12: streams\[0\]\.grouping\.type: expected one of SHUFFLE, FIELDS, ALL, GLOBAL, NONE, LOCAL_OR_SHUFFLE, DIRECT, CUSTOM, got "RANDOM"/,
  ],
  [
    "FIELDS without args",
    `${BASE}bolts:\n  - { id: "b", className: "@C#EchoBolt" }\nstreams:\n  - from: "words"\n    to: "b"\n    grouping:\n      type: FIELDS\n`,
    /:11: streams\[0\]\.grouping\.args: a FIELDS grouping needs args: the field names$/,
  ],
  [
    "unknown stream source",
    `${BASE}bolts:\n  - { id: "b", className: "@C#EchoBolt" }\nstreams:\n  - from: "wrds"\n    to: "b"\n    grouping: { type: SHUFFLE }\n`,
    /:9: streams\[0\]\.from: no spout or bolt "wrds" \(spouts: words; bolts: b\)/,
  ],
  [
    "stream to a spout",
    `${BASE}streams:\n  - from: "words"\n    to: "words"\n    grouping: { type: SHUFFLE }\n`,
    /:8: streams\[0\]\.to: no bolt "words" \(a spout cannot subscribe/,
  ],
  [
    "undeclared stream id",
    `${BASE}bolts:\n  - { id: "b", className: "@C#EchoBolt" }\n  - { id: "c", className: "@C#EchoBolt" }\nstreams:\n` +
    `  - { from: "words", to: "b", grouping: { type: SHUFFLE } }\n` +
    `  - { from: "b", to: "c", grouping: { type: SHUFFLE } }\n` +
    `  - { from: "b", to: "c", grouping: { type: SHUFFLE, streamId: "nope" } }\n`,
    /:12: bolt "c" subscribes to stream "nope" of "b", which declares only "default"/,
  ],
  [
    "undeclared field",
    `${BASE}bolts:\n  - { id: "b", className: "@C#EchoBolt" }\nstreams:\n` +
    `  - { from: "words", to: "b", grouping: { type: FIELDS, args: ["wrd"] } }\n`,
    /:9: bolt "b" groups stream "default" of "words" on field "wrd", which is not one of \[word\]/,
  ],
  [
    "unknown ref",
    `${BASE}bolts:\n  - id: "b"\n    className: "@C#EchoBolt"\n    constructorArgs:\n      - 1\n      - ref: "nope"\n`,
    /:11: bolts\[0\]\.constructorArgs\[1\]\.ref: no component "nope" \(there are no components\)/,
  ],
  [
    "duplicate id",
    `${BASE}bolts:\n  - { id: "words", className: "@C#EchoBolt" }\n`,
    /:3: spouts\[0\]\.id: "words" is also the id of a bolt/,
  ],
  [
    "bad config value",
    `${BASE}config:\n  topology.max.spout.pending: -1\n`,
    /:7: config "topology\.max\.spout\.pending":/,
  ],
  [
    "bad value of a Storm alias",
    `${BASE}config:\n  my.key: 1\n  topology.workers: 0\n`,
    /:8: config "topology\.containers":/,
  ],
  [
    "unknown Storm class",
    `${BASE}bolts:\n  - { id: "b", className: "org.apache.storm.testing.TestGlobalCount" }\n`,
    /:7: bolts\[0\]\.className: "org\.apache\.storm\.testing\.TestGlobalCount" is not a class Ardea knows/,
  ],
  [
    "missing export",
    `${BASE}bolts:\n  - { id: "b", className: "@C#Nope" }\n`,
    /:7: className "[^"]+#Nope": [^ ]+ exports no "Nope"/,
  ],
  ["not a class", `${BASE}bolts:\n  - { id: "b", className: "@C#notAClass" }\n`, /:7: [^:]+#notAClass: is not a class/],
  [
    "missing method",
    `${BASE}bolts:\n  - id: "b"\n    className: "@C#EchoBolt"\n    configMethods: [{ name: "withNothing" }]\n`,
    /:7: [^:]+#EchoBolt: has no method "withNothing" \(configMethods\)/,
  ],
  [
    "missing module",
    `${BASE}bolts:\n  - { id: "b", className: "./nowhere.ts#X" }\n`,
    /:7: className "\.\/nowhere\.ts#X": cannot import/,
  ],
  [
    "include not found",
    `${BASE}includes:\n  - { file: "missing.yaml" }\n`,
    /:7: includes\[0\]\.file: .*missing\.yaml: no such file/,
  ],
  [
    "classpath include",
    `${BASE}includes:\n  - { resource: true, file: "x.yaml" }\n`,
    /:7: includes\[0\]\.resource: classpath resources do not exist in Ardea/,
  ],
];

for (const [what, text, expected] of ERRORS) {
  test(`error with its line: ${what}`, async () => {
    const e = await fluxError(text);
    assert.match(e.message, expected, e.message);
    assert.match(e.message, /^[^:]*t\d+\.yaml:\d+: /, "the message starts with file:line");
  });
}

test("an include cycle is an error naming the file", async () => {
  await yamlFile(`includes:\n  - { file: "loop_b.yaml" }\n`, "loop_a.yaml");
  await yamlFile(`includes:\n  - { file: "loop_a.yaml" }\n`, "loop_b.yaml");
  const e = await fluxError(`${BASE}includes:\n  - { file: "loop_a.yaml" }\n`);
  assert.match(e.message, /loop_b\.yaml:2: includes\[0\]\.file: .*loop_a\.yaml includes itself/, e.message);
});

test("a Flux topology runs to its end in process, with exact counts", async () => {
  const doc = await read(`${BASE}bolts:
  - { id: "echo", className: "@C#EchoBolt", parallelism: 2 }
  - { id: "count", className: "org.apache.storm.testing.TestWordCounter", parallelism: 2 }
streams:
  - { from: "words", to: "echo", grouping: { type: LOCAL_OR_SHUFFLE } }
  - { from: "echo", to: "count", grouping: { type: FIELDS, args: ["word"] } }
`);
  const topology = buildFluxTopology(doc, await importFluxModules(doc));
  const done = await completeTopology(topology, { config: doc.config });
  const last = new Map<string, number>();
  for (const [w, c] of done.emitted("count") as Array<[string, number]>) last.set(w, Math.max(last.get(w) ?? 0, c));
  assert.equal([...last].sort(), [["a", 2], ["b", 1]]);
});

// ---------------------------------------------------------------- the commands

const WORD_COUNT = "examples/flux/word_count.yaml";
const TRUTH = {
  a: 10,
  at: 10,
  by: 10,
  come: 10,
  fish: 20,
  heron: 20,
  one: 30,
  takes: 10,
  the: 30,
  time: 10,
  waits: 10,
};

test("ardea run --dry-run prints the topology and runs nothing", async () => {
  const r = asText(await runArdea(["run", "--dry-run", WORD_COUNT]));
  assert.is(r.code, 0, show(r));
  assert.is(
    r.stdout,
    `Flux topology "flux-word-count" (examples/flux/word_count.yaml)
config:
  topology.reliability.mode: "ATLEAST_ONCE"
  topology.max.spout.pending: 100
spouts:
  sentences ×2: ./bolts.ts#SentenceSpout(["The heron waits","the fish come one by one","the heron takes one fish at a time"]) .withRepeat(10)
bolts:
  split ×2: ./bolts.ts#SplitBolt() .lowerCase=true
  count ×2: org.apache.storm.testing.TestWordCounter()
  report ×1: ./bolts.ts#ReportBolt()
streams:
  sentences → split: SHUFFLE (sentences --> split)
  split → count: FIELDS(word) (split --> count)
  count → report: GLOBAL (count --> report)
tasks: 7 (dry run: nothing was started)`,
  );
  assert.is(r.stderr, "");
  const submit = asText(await runArdea(["submit", "--dry-run", WORD_COUNT], { ARDEA_NATS_URL: "nats://127.0.0.1:1" }));
  assert.is(submit.code, 0, show(submit));
  assert.is(submit.stdout, r.stdout);
});

test("ardea run topology.yaml runs it with exact counts and exits 0", async () => {
  const r = asText(await runArdea(["run", WORD_COUNT]));
  assert.is(r.code, 0, show(r));
  const counts = Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]));
  assert.equal(counts, TRUTH);
  assert.match(r.stderr, /"flux-word-count" FINISHED/);
});

/** The word counts of tests/fixtures/flux/shell_word_count.yaml: 20 sentences of the Node fixture spout. */
function shellTruth(): Map<string, number> {
  const sentences = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
  ];
  const truth = new Map<string, number>();
  for (let i = 0; i < 20; i++) for (const w of sentences[i % 5]!.split(" ")) truth.set(w, (truth.get(w) ?? 0) + 1);
  return truth;
}

test("FluxShellSpout and FluxShellBolt (Storm's wrapper names) run Node multilang subprocesses, with exact counts", async () => {
  const r = asText(await runArdea(["run", "tests/fixtures/flux/shell_word_count.yaml"]));
  assert.is(r.code, 0, show(r));
  const truth = shellTruth();
  const lines = r.stdout.split("\n");
  // LogInfoBolt logs each (word, count) the counter emits, in the engine's log.
  assert.is(
    r.stderr.split("\n").filter((l) => /^\[ardea\] log \(task \d+\) INFO: source: count:/.test(l)).length,
    20 * 32 / 5,
  );
  const report = lines.filter((l) => l !== "");
  assert.equal(new Map(report.map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])])), truth);
  assert.match(r.stderr, /"flux-shell-word-count" FINISHED/);
});

test("a FluxShellBolt whose process crashes mid-run is restarted and loses no word (ATLEAST_ONCE)", async () => {
  const props = resolvePath(dir, "crash.properties");
  const marker = resolvePath(dir, "crashed");
  await writeTextFile(props, `marker=${marker}\n`);
  const r = asText(await runArdea(["run", "--filter", props, "tests/fixtures/flux/shell_crash_word_count.yaml"]));
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr, /splitsentence \(task \d+\) crashed \(restarting\): MultilangError: .*exited with code 3/);
  assert.match(r.stderr, /"flux-shell-crash-word-count" FINISHED .*restarts [1-9]/);
  const got = new Map(
    r.stdout.split("\n").filter((l) => l !== "").map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]),
  );
  for (const [w, n] of shellTruth()) assert.ok((got.get(w) ?? 0) >= n, `${w}: ${got.get(w)} >= ${n}`);
});

test("ardea run: a bad Flux file exits 1 naming its line; Flux flags with a script, or args after a Flux file, exit 2", async () => {
  const bad = await yamlFile(`${BASE}bolts:\n  - { id: "b", className: "@C#EchoBolt", parallelism: 0 }\n`);
  for (const argv of [["run", bad], ["run", "--dry-run", bad]]) {
    const r = asText(await runArdea(argv));
    assert.is(r.code, 1, show(r));
    assert.match(
      r.stderr,
      /FluxError: .*\.yaml:7: bolts\[0\]\.parallelism: expected an integer from 1 to 10000, got 0/,
    );
  }
  const script = asText(await runArdea(["run", "--filter", "x.properties", "tests/fixtures/cli_finite.ts"]));
  assert.is(script.code, 2, show(script));
  assert.match(
    script.stderr,
    /^ardea: --filter: only for a Flux file \(\.yaml, \.yml\), not tests\/fixtures\/cli_finite\.ts$/m,
  );
  const args = asText(await runArdea(["run", WORD_COUNT, "--dry-run"]));
  assert.is(args.code, 2, show(args));
  assert.match(args.stderr, /a Flux file takes no script arguments, got "--dry-run"/);
});

test("ardea submit topology.yaml over NATS in 2 containers gives exact counts (Ardea bolts; Node shell components)", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const cases: Array<[string, string, Record<string, number>]> = [
    ["dist_word_count", "flux-dist-word-count", TRUTH],
    ["dist_shell_word_count", "flux-dist-shell-word-count", Object.fromEntries(shellTruth())],
  ];
  try {
    for (const [file, name, truth] of cases) {
      const out = resolvePath(dir, `${file}.json`);
      const props = resolvePath(dir, `${file}.properties`);
      await writeTextFile(props, `out=${out}\n`);
      const r = asText(
        await runArdea([
          "submit",
          "--filter",
          props,
          `tests/fixtures/flux/${file}.yaml`,
          "--containers",
          "2",
          "--runtime",
          runtimeName(),
          "--wait",
        ], { ARDEA_NATS_URL: nats.urls[0]! }),
      );
      assert.is(r.code, 0, show(r));
      assert.match(r.stderr, new RegExp(`submitted "${name}" \\(2 container\\(s\\), 7 tasks`));
      assert.match(r.stderr, /ended FINISHED/);
      assert.equal(JSON.parse(await readTextFile(out)), truth);
    }
  } finally {
    await nats.stop();
  }
});

test.run();
