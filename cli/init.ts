/**
 * `ardea init <dir>`: writes a starter project that depends on Ardea (a word
 * count topology, a test of it with `completeTopology`, a README), runnable
 * with `npm install && npm start` and `npm test` on Node, and with
 * `deno run -A topology.ts` under Deno (the file touches no runtime API itself).
 *
 * @module
 */
import {
  ardeaRoot,
  listDir,
  readTextFile,
  resolvePath,
  writeStderr,
  writeStdout,
  writeTextFile,
} from "../runtime/mod.ts";
import type { InitCommand } from "./args.ts";

/**
 * The install-script decisions a project depending on Ardea records in its
 * package.json (`allowScripts`; npm 11 warns about every dependency whose
 * install script is not covered, and runs it):
 *
 * - `esbuild` (transpiles the user's .ts on Node; the bundler of `ardea
 *   submit`): allowed. Its postinstall checks the platform binary and
 *   fetches one if the optional platform package is missing.
 * - `msgpackr-extract` (msgpackr's native string extractor): denied. Its
 *   prebuilt binary for the platform (an optional package) loads without the
 *   script; the script would only compile one with node-gyp where none is
 *   prebuilt, and without it msgpackr uses its pure JavaScript path.
 */
export const ALLOW_SCRIPTS: Readonly<Record<string, boolean>> = { esbuild: true, "msgpackr-extract": false };

/** A project name npm accepts: lowercase, no spaces, at most 214 characters. */
const NPM_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

async function ardeaVersion(): Promise<string> {
  const pkg = JSON.parse(await readTextFile(resolvePath(ardeaRoot(), "package.json"))) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "0.0.0";
}

function packageJson(name: string, ardeaSpec: string): string {
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      start: "ardea run topology.ts",
      test: "node --import ardea/register word_count_test.ts",
    },
    dependencies: { ardea: ardeaSpec },
    allowScripts: ALLOW_SCRIPTS,
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "allowImportingTsExtensions": true,
    "isolatedModules": true,
    "skipLibCheck": true
  }
}
`;

const WORD_COUNT = `/**
 * A word count: lines → split (shuffle) → count (fields "word").
 * \`count\` emits each word with its running count.
 */
import {
  BaseBasicBolt,
  type BasicOutputCollector,
  Fields,
  iterableSpout,
  type OutputFieldsDeclarer,
  type StormTopology,
  TopologyBuilder,
  type Tuple,
} from "ardea";

/** The text counted when no other lines are given. */
export const TEXT: readonly string[] = [
  "The grey heron stands in the shallows of the river and waits.",
  "It waits for the fish, and the fish come, one by one.",
];

/** Splits each line into lowercase words. */
export class SplitBolt extends BaseBasicBolt {
  execute(input: Tuple, collector: BasicOutputCollector): void {
    for (const word of input.getString(0).toLowerCase().split(/[^\\p{L}\\p{N}']+/u)) {
      if (word !== "") collector.emit([word]);
    }
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word"));
  }
}

/** Counts the words of its share (fields grouping); emits each word with its count so far. */
export class CountBolt extends BaseBasicBolt {
  readonly #counts = new Map<string, number>();

  execute(input: Tuple, collector: BasicOutputCollector): void {
    const word = input.getString(0);
    const count = (this.#counts.get(word) ?? 0) + 1;
    this.#counts.set(word, count);
    collector.emit([word, count]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(new Fields("word", "count"));
  }
}

/** The word count topology over \`lines\`. */
export function wordCount(lines: readonly string[] = TEXT): StormTopology {
  const builder = new TopologyBuilder();
  // Task 0 emits every line; the spout ends when they are all acked.
  builder.setSpout("lines", iterableSpout((context) => (context.getThisTaskIndex() === 0 ? lines : []), { fields: ["line"] }));
  builder.setBolt("split", SplitBolt, 2).shuffleGrouping("lines");
  builder.setBolt("count", CountBolt, 2).fieldsGrouping("split", new Fields("word"));
  return builder.createTopology();
}
`;

const TOPOLOGY = `/**
 * Runs the word count: \`npm start\` (ardea run topology.ts) or
 * \`deno run -A topology.ts\` in this process; on a NATS cluster with
 * \`npx ardea submit topology.ts --nats nats://host:4222 --wait\`.
 */
import { submit } from "ardea";
import { wordCount } from "./word_count.ts";

const handle = await submit("word-count", { "topology.reliability.mode": "ATLEAST_ONCE" }, wordCount());
const summary = await handle.done;
console.log(\`\${summary.name}: \${summary.state}, \${summary.stats.acked} lines acked\`);
`;

const TEST = `/**
 * Runs the word count to its end on fixed input with Ardea's testing helper
 * \`completeTopology\` and checks what \`count\` emitted. \`npm test\`, or
 * \`deno run -A word_count_test.ts\`; exits non-zero on a failed check.
 */
import { completeTopology } from "ardea";
import { wordCount } from "./word_count.ts";

const result = await completeTopology(wordCount(), {
  // Replaces the spout "lines": these tuples, then the end of input.
  mockedSources: { lines: [["the heron waits"], ["the river waits for the heron"]] },
});

const counts = new Map<string, number>();
for (const [word, count] of result.emitted("count")) {
  counts.set(String(word), Math.max(counts.get(String(word)) ?? 0, Number(count)));
}
const expected: Record<string, number> = { the: 3, heron: 2, waits: 2, river: 1, for: 1 };
let failed = 0;
for (const [word, count] of Object.entries(expected)) {
  if (counts.get(word) === count) continue;
  console.error(\`FAIL: "\${word}" counted \${counts.get(word) ?? 0} times, expected \${count}\`);
  failed++;
}
if (counts.size !== Object.keys(expected).length) {
  console.error(\`FAIL: \${counts.size} distinct words, expected \${Object.keys(expected).length}\`);
  failed++;
}
console.log(failed === 0 ? "ok: word count" : \`\${failed} check(s) failed\`);
if (failed > 0) throw new Error("word count test failed");
`;

function readme(name: string): string {
  return `# ${name}

A stream-processing topology on [Ardea](https://www.npmjs.com/package/ardea):
a word count (\`word_count.ts\`), run by \`topology.ts\`.

    npm install && npm start    # run topology.ts in this process
    npm test                    # word_count_test.ts: the topology on fixed input

On Deno (after \`npm install\`): \`deno run -A topology.ts\`.

On a NATS cluster: \`npx ardea submit topology.ts --nats nats://127.0.0.1:4222 --wait\`.
`;
}

const GITIGNORE = "node_modules/\n";

/**
 * Writes the starter project into `command.dir` (created; it must be empty
 * or missing) and prints the next steps. Returns the exit code: 0 written,
 * 1 the folder is not empty (nothing is written then).
 *
 * @example
 * ```ts
 * const code = await runInit({ type: "init", dir: "my-topology" });
 * ```
 */
export async function runInit(command: InitCommand): Promise<number> {
  const dir = resolvePath(command.dir);
  const name = dir.replace(/\\/g, "/").split("/").filter((part) => part !== "").at(-1) ?? "my-topology";
  const entries = await listDir(dir).catch(() => null);
  if (entries === null) {
    writeStderr(`ardea init: ${dir} is not a folder\n`);
    return 1;
  }
  if (entries.length > 0) {
    const some = `${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""}`;
    writeStderr(`ardea init: ${dir} is not empty (it holds ${some}); name a new or empty folder\n`);
    return 1;
  }
  const packageName = NPM_NAME.test(name) ? name : "my-topology";
  const spec = command.ardea ?? `^${await ardeaVersion()}`;
  const files: Record<string, string> = {
    "package.json": packageJson(packageName, spec),
    "tsconfig.json": TSCONFIG,
    "word_count.ts": WORD_COUNT,
    "topology.ts": TOPOLOGY,
    "word_count_test.ts": TEST,
    "README.md": readme(name),
    ".gitignore": GITIGNORE,
  };
  for (const [file, text] of Object.entries(files)) await writeTextFile(resolvePath(dir, file), text);
  writeStdout(
    `ardea init: wrote ${Object.keys(files).join(", ")} to ${dir}\n\n` +
      `  cd ${command.dir}\n  npm install && npm start\n  npm test\n`,
  );
  return 0;
}
