// `ardea init` (cli/init.ts) and its command line, in process; the scaffold
// installed and run from a tarball is tests/package_test.ts.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { parseArgs, UsageError } from "../cli/args.ts";
import { runInit } from "../cli/init.ts";
import {
  ardeaRoot,
  listDir,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  writeTextFile,
} from "../runtime/mod.ts";

let dir: string;

test.before(async () => {
  dir = await makeTempDir("ardea-init-");
});

test.after(async () => {
  await removePath(dir);
});

test("parses `init <folder> [--ardea SPEC]`", () => {
  assert.equal(parseArgs(["init", "my-topology"]), { type: "init", dir: "my-topology" });
  assert.equal(parseArgs(["init", "x", "--ardea", "file:../a.tgz"]), {
    type: "init",
    dir: "x",
    ardea: "file:../a.tgz",
  });
  assert.equal(parseArgs(["init", "--help"]), { type: "help", topic: "init" });
  assert.throws(
    () => parseArgs(["init"]),
    (e: unknown) => e instanceof UsageError && /one folder name/.test(e.message),
  );
  assert.throws(() => parseArgs(["init", "a", "b"]), (e: unknown) => e instanceof UsageError);
});

test("writes the starter project with Ardea as a dependency and the allowScripts decisions", async () => {
  const target = resolvePath(dir, "word-counter");
  assert.is(await runInit({ type: "init", dir: target }), 0);
  assert.equal((await listDir(target)).sort(), [
    ".gitignore",
    "README.md",
    "package.json",
    "topology.ts",
    "tsconfig.json",
    "word_count.ts",
    "word_count_test.ts",
  ]);
  const pkg = JSON.parse(await readTextFile(resolvePath(target, "package.json")));
  const own = JSON.parse(await readTextFile(resolvePath(ardeaRoot(), "package.json")));
  assert.is(pkg.name, "word-counter");
  assert.equal(pkg.dependencies, { ardea: `^${own.version}` });
  assert.equal(pkg.scripts, {
    start: "ardea run topology.ts",
    test: "node --import ardea/register word_count_test.ts",
  });
  assert.equal(pkg.allowScripts, { esbuild: true, "msgpackr-extract": false });
  const readme = await readTextFile(resolvePath(target, "README.md"));
  assert.match(readme, /npm install && npm start/);
  assert.match(readme, /npm test/);
});

test("refuses a folder that is not empty and writes nothing into it", async () => {
  const target = resolvePath(dir, "busy");
  await writeTextFile(resolvePath(target, "notes.txt"), "mine\n");
  assert.is(await runInit({ type: "init", dir: target }), 1);
  assert.equal(await listDir(target), ["notes.txt"]);
});

test.run();
