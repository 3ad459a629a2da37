import { suite } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import {
  ardeaRoot,
  args,
  builtArdeaCommand,
  cwd,
  env,
  fileExists,
  isTTY,
  LineReader,
  makeTempDir,
  onSignal,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
  terminalColumns,
  toFileUrl,
  writeTextFile,
  yieldNow,
} from "../runtime/mod.ts";

let tmp = "";

async function fileWith(name: string, text: string | Uint8Array): Promise<string> {
  const path = resolvePath(tmp, name);
  if (typeof text === "string") await writeTextFile(path, text);
  else {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, text);
  }
  return path;
}

async function readAll(
  path: string,
  opts: { chunkSize?: number; maxLines?: number; startOffset?: number } = {},
): Promise<{ lines: string[]; offsets: number[] }> {
  const reader = await LineReader.open(path, opts.startOffset ?? 0, { chunkSize: opts.chunkSize });
  const lines: string[] = [];
  const offsets: number[] = [];
  try {
    for (let batch = await reader.read(opts.maxLines); batch !== null; batch = await reader.read(opts.maxLines)) {
      assert.ok(batch.length > 0, "read() never returns an empty batch");
      if (opts.maxLines !== undefined) assert.ok(batch.length <= opts.maxLines);
      lines.push(...batch);
      offsets.push(reader.offset);
    }
    assert.is(await reader.read(), null, "stays at end of file");
  } finally {
    await reader.close();
  }
  return { lines, offsets };
}

// ---------------------------------------------------------------- LineReader
const lines = suite("LineReader");
lines.before(async () => {
  tmp = await makeTempDir("ardea-runtime-test-");
});
lines.after(async () => {
  await removePath(tmp);
});

lines("decodes multi-byte characters split across chunks", async () => {
  const text = ["héllo wörld", "日本語のテキスト", "emoji 🚀🎉 end", "", "ünïcödé"].join("\n") + "\n";
  const path = await fileWith("utf8.txt", text);
  const expected = text.split("\n").slice(0, -1);
  for (const chunkSize of [1, 2, 3, 4, 5, 7, 64 * 1024]) {
    for (const maxLines of [undefined, 1, 2]) {
      const { lines: got } = await readAll(path, { chunkSize, maxLines });
      assert.equal(got, expected, `chunkSize ${chunkSize}, maxLines ${maxLines}`);
    }
  }
});

lines("strips CR of CRLF and returns a final line without newline", async () => {
  const path = await fileWith("crlf.txt", "alpha\r\nbeta\r\n\r\ngamma\r");
  for (const chunkSize of [1, 3, 1024]) {
    const { lines: got, offsets } = await readAll(path, { chunkSize, maxLines: 1 });
    assert.equal(got, ["alpha", "beta", "", "gamma"]);
    assert.equal(offsets, [7, 13, 15, 21]);
  }
  const noNewline = await fileWith("final.txt", "one\ntwo");
  assert.equal((await readAll(noNewline)).lines, ["one", "two"]);
});

lines("offset points after the last returned line; startOffset resumes there", async () => {
  const path = await fileWith("offsets.txt", "ab\ncdé\nef\ngh");
  const reader = await LineReader.open(path, 0, { chunkSize: 2 });
  assert.is(reader.offset, 0);
  assert.equal(await reader.read(1), ["ab"]);
  assert.is(reader.offset, 3);
  assert.equal(await reader.read(1), ["cdé"]);
  assert.is(reader.offset, 8); // "é" is two bytes
  const resumeAt = reader.offset;
  await reader.close();
  await reader.close(); // twice is fine

  const resumed = await LineReader.open(path, resumeAt);
  assert.equal(await resumed.read(), ["ef"]);
  assert.is(resumed.offset, 11);
  assert.equal(await resumed.read(), ["gh"]);
  assert.is(resumed.offset, 13);
  assert.is(await resumed.read(), null);
  await resumed.close();
});

lines("reads many lines in bounded batches and in one go", async () => {
  const expected = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${"ß".repeat(i % 13)}`);
  const path = await fileWith("many.txt", expected.join("\n") + "\n");
  assert.equal((await readAll(path)).lines, expected);
  const batched = await readAll(path, { maxLines: 333, chunkSize: 4096 });
  assert.equal(batched.lines, expected);
  const size = new TextEncoder().encode(expected.join("\n") + "\n").length;
  assert.is(batched.offsets.at(-1), size);
});

lines("empty file, blank lines, long lines, byte order mark", async () => {
  assert.equal((await readAll(await fileWith("empty.txt", ""))).lines, []);
  assert.equal((await readAll(await fileWith("blank.txt", "\n\n"), { chunkSize: 1 })).lines, ["", ""]);
  const long = "x".repeat(200_000);
  assert.equal((await readAll(await fileWith("long.txt", `${long}\nshort\n`), { chunkSize: 1000 })).lines, [
    long,
    "short",
  ]);
  const bom = await fileWith("bom.txt", new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x0a, 0xef, 0xbb, 0xbf, 0x62]));
  const reader = await LineReader.open(bom);
  assert.equal(await reader.read(1), ["a"]);
  assert.is(reader.offset, 5);
  assert.equal(await reader.read(1), ["\ufeffb"], "a BOM inside the file is data");
  await reader.close();
});

lines("rejects bad arguments", async () => {
  const path = await fileWith("args.txt", "a\n");
  await LineReader.open(path, -1).then(() => assert.unreachable(), (e: Error) => assert.instance(e, RangeError));
  await LineReader.open(path, 0, { chunkSize: 0 }).then(
    () => assert.unreachable(),
    (e: Error) => assert.instance(e, RangeError),
  );
  await LineReader.open(resolvePath(tmp, "missing.txt")).then(() => assert.unreachable(), () => {});
});

lines.run();

// --------------------------------------------------------------------- files
const files = suite("files");
files.before(async () => {
  tmp = await makeTempDir("ardea-runtime-test-");
});
files.after(async () => {
  await removePath(tmp);
  assert.not.ok(await fileExists(tmp));
});

files("write creates parents, read returns the text, exists, remove", async () => {
  const path = resolvePath(tmp, "a", "b", "c.txt");
  assert.not.ok(await fileExists(path));
  await writeTextFile(path, "grüße\n");
  assert.ok(await fileExists(path));
  assert.is(await readTextFile(path), "grüße\n");
  await writeTextFile(path, "replaced");
  assert.is(await readTextFile(path), "replaced");
  await removePath(resolvePath(tmp, "a"));
  assert.not.ok(await fileExists(path));
  await removePath(resolvePath(tmp, "a")); // missing is fine
});

files("makeTempDir, resolvePath, toFileUrl", async () => {
  const dir = await makeTempDir("ardea-x-");
  assert.ok(/ardea-x-/.test(dir));
  assert.ok(await fileExists(dir));
  await removePath(dir);
  assert.is(resolvePath("/a", "b", "../c"), "/a/c");
  assert.is(resolvePath("x"), `${cwd()}/x`);
  assert.is(toFileUrl("/tmp/a b.ts"), "file:///tmp/a%20b.ts");
  const url = toFileUrl(resolvePath(ardeaRoot(), "runtime", "mod.ts"));
  const mod = await import(url);
  assert.type(mod.LineReader, "function");
});

files.run();

// ------------------------------------------------------------------- process
const proc = suite("process");
proc.before(async () => {
  tmp = await makeTempDir("ardea-runtime-test-");
});
proc.after(async () => {
  await removePath(tmp);
});

proc("runtime facts", () => {
  const name = runtimeName();
  assert.ok(name === "node" || name === "deno");
  assert.is(name, "Deno" in globalThis ? "deno" : "node");
  assert.ok(Array.isArray(args()));
  assert.is(env("ARDEA_DEFINITELY_UNSET_VARIABLE"), undefined);
  assert.is(env("PATH"), process.env.PATH);
  assert.type(isTTY("stdout"), "boolean");
  assert.type(isTTY("stderr"), "boolean");
  assert.ok(terminalColumns() > 0);
  assert.ok(ardeaRoot().startsWith("/"));
});

proc("yieldNow runs after microtasks and lets timers and I/O run", async () => {
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    yieldNow(() => {
      order.push("yield");
      resolve();
    });
    void Promise.resolve().then(() => order.push("microtask"));
  });
  assert.equal(order, ["microtask", "yield"]);

  // A loop that only yields with yieldNow must not starve a timer or a read.
  let timerFired = false;
  let readDone = false;
  setTimeout(() => (timerFired = true), 5);
  void readTextFile(resolvePath(ardeaRoot(), "package.json")).then(() => (readDone = true));
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const spin = (): void => {
      if (timerFired && readDone) return resolve();
      if (Date.now() - started > 5000) return reject(new Error("timer or I/O starved"));
      yieldNow(spin);
    };
    spin();
  });
});

proc("onSignal calls the handler and unsubscribes", async () => {
  let calls = 0;
  const off = onSignal("SIGTERM", () => calls++);
  // Another listener stays installed while `off` runs, so the default
  // action (exit) can never apply during this test.
  const keep = onSignal("SIGTERM", () => {});
  process.kill(process.pid, "SIGTERM");
  const until = Date.now() + 5000;
  while (calls === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.is(calls, 1);
  off();
  off();
  process.kill(process.pid, "SIGTERM");
  await new Promise((r) => setTimeout(r, 100));
  assert.is(calls, 1);
  keep();
});

proc("a signal listener does not keep the process alive; output survives exit()", async () => {
  const script = resolvePath(tmp, "child.ts");
  const runtimeUrl = toFileUrl(resolvePath(ardeaRoot(), "runtime", "mod.ts"));
  await writeTextFile(
    script,
    `import { args, exit, onSignal, writeStdout } from ${JSON.stringify(runtimeUrl)};
onSignal("SIGINT", () => {});
onSignal("SIGTERM", () => {});
for (let i = 0; i < 5000; i++) writeStdout(\`line \${i}\\n\`);
writeStdout("args=" + JSON.stringify(args()));
if (args()[0] === "exit") exit(3);
`,
  );
  const plain = scriptCommand(script);
  const child = spawnProcess(plain.cmd, plain.args, { stdio: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const out: string[] = [];
  for await (const line of child.lines("stdout")) out.push(line);
  const result = await child.exited;
  clearTimeout(timer);
  assert.equal(result, { code: 0, signal: null }, "exits by itself");
  assert.is(out.length, 5001);
  assert.is(out.at(-1), "args=[]");

  const withExit = scriptCommand(script, ["exit", "x y"]);
  const seen: string[] = [];
  const second = spawnProcess(withExit.cmd, withExit.args, { stdio: "pipe", onLine: (l) => seen.push(l) });
  assert.equal(await second.exited, { code: 3, signal: null });
  assert.is(seen.length, 5001);
  assert.is(seen.at(-1), 'args=["exit","x y"]', "last line without newline is not lost");
});

proc("spawnProcess: env, cwd, stdin, stderr, kill, missing command", async () => {
  const child = spawnProcess("sh", ["-c", 'echo "$ARDEA_X in $(pwd)"; read l; echo "got $l" >&2; exec sleep 30'], {
    stdio: "pipe",
    env: { ARDEA_X: "hello" },
    cwd: tmp,
  });
  assert.type(child.pid, "number");
  const stdout = child.lines("stdout");
  const first = await stdout.next();
  assert.is(first.value, `hello in ${tmp}`);
  await child.writeStdin("ping\n");
  const stderr = child.lines("stderr");
  assert.is((await stderr.next()).value, "got ping");
  assert.ok(child.kill());
  assert.equal(await child.exited, { code: null, signal: "SIGTERM" });
  assert.ok((await stdout.next()).done);
  assert.not.ok(child.kill(), "kill after exit reports false");

  // A grandchild holding the output pipe does not delay `exited` for long.
  const started = Date.now();
  const parent = spawnProcess("sh", ["-c", "sleep 3 & echo started"], { stdio: "pipe" });
  const parentLines: string[] = [];
  for await (const line of parent.lines("stdout")) parentLines.push(line);
  assert.equal(await parent.exited, { code: 0, signal: null });
  assert.equal(parentLines, ["started"]);
  assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);

  const missing = spawnProcess("ardea-no-such-command", [], { stdio: "pipe" });
  await missing.exited.then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /ardea-no-such-command/),
  );
});

proc("spawnProcess: a child that traps a signal and exits with its own code reports that code", async () => {
  // The shell traps SIGINT only once it runs the trap line: wait for its "ready".
  const child = spawnProcess("sh", ["-c", "trap 'exit 3' INT; echo ready; sleep 5 & wait"], { stdio: "pipe" });
  const out = child.lines("stdout");
  assert.is((await out.next()).value, "ready");
  assert.ok(child.kill("SIGINT"));
  assert.equal(await child.exited, { code: 3, signal: null });
  const plain = spawnProcess("sh", ["-c", "echo ready; exec sleep 5"], { stdio: "pipe" });
  assert.is((await plain.lines("stdout").next()).value, "ready");
  assert.ok(plain.kill("SIGINT"));
  assert.equal(
    await plain.exited,
    { code: null, signal: "SIGINT" },
    "a child the signal kills still reports the signal",
  );
});

proc('readStdinLine: the first line of stdin (stdio "stdin"), or null when stdin ends first', async () => {
  const script = resolvePath(tmp, "stdin_child.ts");
  const runtimeUrl = toFileUrl(resolvePath(ardeaRoot(), "runtime", "mod.ts"));
  await writeTextFile(
    script,
    `import { args, exit, readStdinLine, writeTextFile } from ${JSON.stringify(runtimeUrl)};
await writeTextFile(args()[0]!, JSON.stringify(await readStdinLine()));
exit(0);
`,
  );
  const read = async (input: string | null) => {
    const out = resolvePath(tmp, `stdin-${Math.random().toString(36).slice(2)}.json`);
    const { cmd, args } = scriptCommand(script, [out]);
    const child = spawnProcess(cmd, args, { stdio: "stdin" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    if (input !== null) await child.writeStdin(input);
    else child.closeStdin();
    assert.equal(await child.exited, { code: 0, signal: null });
    clearTimeout(timer);
    return JSON.parse(await readTextFile(out)) as string | null;
  };
  // The line is read although stdin stays open (the parent holds it) and more follows.
  assert.is(await read("word-count\r\nmore"), "word-count");
  assert.is(await read(null), null);
});

proc("builtArdeaCommand: dist/ when it is current with the sources, or in an installed package", async () => {
  const { utimesSync } = await import("node:fs");
  const root = resolvePath(tmp, "pkg");
  const files = [
    "mod.ts",
    "engine/a.ts",
    "engine/deep/b.ts",
    "engine/a_test.ts",
    "examples/x.ts",
    "runtime/node_dist.mjs",
    "dist/mod.js",
    "dist/cli/main.js",
    "dist/engine/a.js",
  ];
  for (const f of files) await writeTextFile(resolvePath(root, f), "");
  const past = new Date(Date.now() - 60_000);
  for (const f of ["mod.ts", "engine/a.ts", "engine/deep/b.ts", "engine/a_test.ts"]) {
    utimesSync(resolvePath(root, f), past, past);
  }
  const command = () => builtArdeaCommand(["container", "wc", "--index", "0"], root);
  assert.is(command(), undefined, "engine/deep/b.ts has no dist/engine/deep/b.js");
  await writeTextFile(resolvePath(root, "dist/engine/deep/b.js"), "");
  const built = command();
  assert.ok(
    built !== undefined,
    "every source has its newer .js (a _test.ts, or a folder the build has not, needs none)",
  );
  assert.equal(built.args, [resolvePath(root, "runtime", "node_dist.mjs"), "container", "wc", "--index", "0"]);
  const future = new Date(Date.now() + 60_000);
  utimesSync(resolvePath(root, "engine/a.ts"), future, future);
  assert.is(command(), undefined, "engine/a.ts changed after its build");
  await removePath(resolvePath(root, "mod.ts"));
  assert.ok(command() !== undefined, "an installed package (no sources) has only the build");
  await removePath(resolvePath(root, "dist/cli/main.js"));
  assert.is(command(), undefined, "no build");
});

proc.run();
