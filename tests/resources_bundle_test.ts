// timeout: 300
// A topology's resources folder (Storm's resources/ in the jar): packed and
// extracted with nested folders, modes and symbolic links, named by hash,
// reused, capped in size; the code dir rules of `ardea run`, a bare run and
// `ardea submit`; and 2 containers over a real nats-server that each run in
// the extracted folder.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { chmodSync, copyFileSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, type NatsConnection } from "nats";
import {
  ardeaRoot,
  execPath,
  fileStamp,
  listDir,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { codeDirOf, processCodeDir, setCodeDir } from "../engine/code_dir.ts";
import {
  extractResources,
  loadResources,
  packResources,
  RESOURCES_MAX_BYTES,
  resourcesToShip,
  storeResources,
} from "../cluster/resources.ts";
import { Records } from "../cluster/records.ts";
import { parseTopologyRecord, WIRE_VERSION } from "../transport/wire/mod.ts";
import { asText, collect, runArdea, show } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

let dir: string;
let nats: NatsHandle;
let nc: NatsConnection;

test.before(async () => {
  dir = await makeTempDir("ardea-resources-");
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
  await removePath(dir);
});

/** A folder tree: nested folders, an executable, a private file, an empty folder, a link to a file. */
function makeTree(root: string): void {
  mkdirSync(resolvePath(root, "bin", "deep"), { recursive: true });
  mkdirSync(resolvePath(root, "empty"));
  writeFileSync(resolvePath(root, "data.txt"), "hello resources\n");
  writeFileSync(resolvePath(root, "bin", "run.sh"), "#!/bin/sh\necho ran\n");
  chmodSync(resolvePath(root, "bin", "run.sh"), 0o755);
  writeFileSync(resolvePath(root, "bin", "deep", "secret"), new Uint8Array([0, 1, 2, 255]));
  chmodSync(resolvePath(root, "bin", "deep", "secret"), 0o600);
  symlinkSync(resolvePath(root, "data.txt"), resolvePath(root, "link.txt"));
}

const mode = (path: string) => statSync(path).mode & 0o7777;

async function rejects(p: Promise<unknown>, code: string, ...parts: string[]): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, Error);
    assert.is((e as { code?: unknown }).code, code, (e as Error).message);
    for (const part of parts) assert.ok((e as Error).message.includes(part), `"${part}" in: ${(e as Error).message}`);
    return e as Error;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error("unreachable");
}

test("pack and extract: nested folders, bytes, modes and links kept; the same tree, the same hash", async () => {
  const src = resolvePath(dir, "tree");
  makeTree(src);
  const archive = await packResources(src);
  assert.is(archive.folder, src);
  assert.is(archive.files, 4);
  assert.match(archive.sha256, /^[0-9a-f]{64}$/);
  assert.is((await packResources(src)).sha256, archive.sha256, "packing again gives the same bytes");
  const cacheDir = resolvePath(dir, "cache");
  const out = await extractResources(archive.bytes, { cacheDir });
  assert.is(out, resolvePath(cacheDir, archive.sha256, "resources"));
  assert.equal(await listDir(out), ["bin", "data.txt", "empty", "link.txt"]);
  assert.is(await readTextFile(resolvePath(out, "data.txt")), "hello resources\n");
  assert.is(await readTextFile(resolvePath(out, "link.txt")), "hello resources\n", "a link travels as its file");
  assert.is(mode(resolvePath(out, "bin", "run.sh")), 0o755);
  assert.is(mode(resolvePath(out, "bin", "deep", "secret")), 0o600);
  assert.equal([...(await import("node:fs")).readFileSync(resolvePath(out, "bin", "deep", "secret"))], [0, 1, 2, 255]);
  assert.equal(await listDir(resolvePath(out, "empty")), []);
  assert.is((await packResources(out)).sha256, archive.sha256, "the extracted tree packs to the same archive");
  // Nothing but the folder and its package.json is left beside it (no temporary folders).
  assert.equal(await listDir(resolvePath(cacheDir, archive.sha256)), ["package.json", "resources"]);
});

test("Node reads the extracted .js files as it did where they were packed (CommonJS or ES modules)", async () => {
  // Storm's storm.js is CommonJS; the extracted copy sits in an installation that says "type": "module".
  const cases: Array<[string, string | undefined, string]> = [
    ["cjs-none", undefined, `const path = require("node:path"); console.log("ran " + path.basename(__filename));`],
    ["cjs-typed", "commonjs", `console.log("ran " + require("node:path").basename(__filename));`],
    ["esm", "module", `import { basename } from "node:path"; console.log("ran " + basename(import.meta.url));`],
  ];
  for (const [name, type, code] of cases) {
    const project = resolvePath(dir, `types-${name}`);
    mkdirSync(resolvePath(project, "resources"), { recursive: true });
    if (type !== undefined) writeFileSync(resolvePath(project, "package.json"), JSON.stringify({ type }));
    writeFileSync(resolvePath(project, "resources", "script.js"), code);
    const archive = await packResources(resolvePath(project, "resources"));
    for (const around of ["module", "commonjs"]) {
      const install = resolvePath(dir, `install-${name}-${around}`);
      mkdirSync(install, { recursive: true });
      writeFileSync(resolvePath(install, "package.json"), JSON.stringify({ type: around }));
      const out = await extractResources(archive.bytes, { cacheDir: resolvePath(install, ".ardea", "bundles") });
      const child = spawnProcess("node", ["script.js"], { cwd: out, stdio: "pipe" });
      const [lines, errors, exit] = await Promise.all([
        collect(child.lines("stdout")),
        collect(child.lines("stderr")),
        child.exited,
      ]);
      assert.is(exit.code, 0, `${name} in a "${around}" installation:\n${errors.join("\n")}`);
      assert.equal(lines, ["ran script.js"]);
    }
  }
});

test("extract: a folder already there is reused; a changed one is replaced; added files do not matter", async () => {
  const src = resolvePath(dir, "reuse");
  makeTree(src);
  const archive = await packResources(src);
  const cacheDir = resolvePath(dir, "cache-reuse");
  const out = await extractResources(archive.bytes, { cacheDir });
  const before = await fileStamp(resolvePath(out, "data.txt"));
  writeFileSync(resolvePath(out, "4242.pid"), ""); // what a multilang subprocess may leave
  assert.is(await extractResources(archive.bytes, { cacheDir }), out);
  assert.is((await fileStamp(resolvePath(out, "data.txt")))?.stamp, before?.stamp, "reused, not written again");
  writeFileSync(resolvePath(out, "data.txt"), "tampered\n");
  await extractResources(archive.bytes, { cacheDir });
  assert.is(await readTextFile(resolvePath(out, "data.txt")), "hello resources\n", "a changed file is restored");
  chmodSync(resolvePath(out, "bin", "run.sh"), 0o644);
  await extractResources(archive.bytes, { cacheDir });
  assert.is(mode(resolvePath(out, "bin", "run.sh")), 0o755, "a changed mode is restored");
  // Containers of one machine extracting at once all get the complete folder.
  const many = await Promise.all(
    [1, 2, 3, 4].map(() => extractResources(archive.bytes, { cacheDir: `${cacheDir}-2` })),
  );
  assert.ok(many.every((f) => f === many[0]));
  assert.is(await readTextFile(resolvePath(many[0]!, "bin", "run.sh")), "#!/bin/sh\necho ran\n");
  assert.equal(await listDir(resolvePath(`${cacheDir}-2`, archive.sha256)), ["package.json", "resources"]);
});

test("pack: the size cap, a missing folder, a file, a link loop and a dangling link are errors naming the folder", async () => {
  const big = resolvePath(dir, "big");
  mkdirSync(big);
  writeFileSync(resolvePath(big, "a.bin"), new Uint8Array(600 * 1024));
  writeFileSync(resolvePath(big, "b.bin"), new Uint8Array(600 * 1024));
  await rejects(
    packResources(big, { maxBytes: 1024 * 1024 }),
    "RESOURCES_TOO_LARGE",
    big,
    "1.2 MiB",
    "2 files",
    "1.0 MiB",
  );
  assert.is((await packResources(big, { maxBytes: 2 * 1024 * 1024 })).size, 1200 * 1024);
  assert.is(RESOURCES_MAX_BYTES, 64 * 1024 * 1024);
  const missing = resolvePath(dir, "no-such-folder");
  await rejects(packResources(missing), "RESOURCES_NOT_FOUND", missing, "does not exist");
  await rejects(packResources(resolvePath(big, "a.bin")), "RESOURCES_NOT_FOUND", "is a file");
  const loop = resolvePath(dir, "loop");
  mkdirSync(resolvePath(loop, "sub"), { recursive: true });
  symlinkSync(loop, resolvePath(loop, "sub", "up"));
  await rejects(packResources(loop), "RESOURCES_UNREADABLE", loop, "inside of");
  const dangling = resolvePath(dir, "dangling");
  mkdirSync(dangling);
  symlinkSync(resolvePath(dir, "nowhere"), resolvePath(dangling, "gone"));
  await rejects(packResources(dangling), "RESOURCES_UNREADABLE", resolvePath(dangling, "gone"), "link to nothing");
});

test("extract: an archive that is not one, or that reaches outside its folder, is refused", async () => {
  const cacheDir = resolvePath(dir, "cache-bad");
  const enc = (s: string) => new TextEncoder().encode(s);
  await rejects(
    extractResources(enc("PK\u0003\u0004 a zip"), { cacheDir }),
    "RESOURCES_CORRUPT",
    "not a resources archive",
  );
  const escape = `ardea-resources 1\n${
    JSON.stringify({ moduleType: "commonjs", entries: [{ path: "../evil", kind: "file", mode: 420, size: 1 }] })
  }\nx`;
  await rejects(extractResources(enc(escape), { cacheDir }), "RESOURCES_CORRUPT", "../evil");
  const short = `ardea-resources 1\n${
    JSON.stringify({ moduleType: "commonjs", entries: [{ path: "a", kind: "file", mode: 420, size: 5 }] })
  }\nx`;
  await rejects(extractResources(enc(short), { cacheDir }), "RESOURCES_CORRUPT", "entries say");
  const orphan = `ardea-resources 1\n${
    JSON.stringify({ moduleType: "commonjs", entries: [{ path: "a/b", kind: "file", mode: 420, size: 1 }] })
  }\nx`;
  await rejects(extractResources(enc(orphan), { cacheDir }), "RESOURCES_CORRUPT", "before its folder");
  assert.equal(await listDir(cacheDir), [], "nothing written");
});

test("code dir rules: resources/ beside the entry file, else its folder; submit ships resources/ or --resources", () => {
  const withRes = resolvePath(dir, "with");
  mkdirSync(resolvePath(withRes, "resources"), { recursive: true });
  const without = resolvePath(dir, "without");
  mkdirSync(without);
  assert.is(codeDirOf(resolvePath(withRes, "topo.ts")), resolvePath(withRes, "resources"));
  assert.is(codeDirOf(resolvePath(withRes, "flux.yaml")), resolvePath(withRes, "resources"));
  assert.is(codeDirOf(resolvePath(without, "topo.ts")), without);
  assert.is(resourcesToShip(resolvePath(withRes, "topo.ts")), resolvePath(withRes, "resources"));
  assert.is(resourcesToShip(resolvePath(without, "topo.ts")), undefined, "no resources/: nothing shipped");
  assert.is(resourcesToShip(resolvePath(without, "topo.ts"), without), without);
  setCodeDir(without);
  assert.is(processCodeDir(), without);
  setCodeDir(undefined);
  assert.ok(processCodeDir() !== without);
});

test("the topology record: resources optional (old records parse), a bad reference refused", () => {
  const rec = {
    version: WIRE_VERSION,
    name: "t",
    state: "SUBMITTED",
    config: {},
    bundle: "a".repeat(64),
    args: [],
    cwd: "/",
    containers: 1,
    packing: { "1": 0 },
    components: { s: [1] },
    scheduler: "local",
    runtime: "node",
    ardeaVersion: "0",
    submittedAt: 1,
    updatedAt: 1,
  };
  assert.is(parseTopologyRecord(rec).resources, undefined);
  assert.is(parseTopologyRecord({ ...rec, resources: "b".repeat(64) }).resources, "b".repeat(64));
  assert.throws(() => parseTopologyRecord({ ...rec, resources: "../x" }), /resources/);
});

/**
 * A topology script in its own folder: a probe bolt (2 tasks) writes, from
 * each task's prepare, the code dir it was given, what data.txt there
 * holds and the mode of bin/run.sh, to `<out>/<task>.json`.
 */
async function probeScript(folder: string, name: string): Promise<string> {
  const script = resolvePath(folder, "topo.ts");
  const mod = resolvePath(ardeaRoot(), "mod.ts");
  await writeTextFile(
    script,
    `import { bolt, iterableSpout, submit, TopologyBuilder } from ${JSON.stringify(mod)};
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import process from "node:process";
const out = process.argv[2]!;
const b = new TopologyBuilder();
b.setSpout("items", iterableSpout(() => [1, 2, 3, 4], { fields: ["n"] }), 1);
b.setBolt("probe", bolt(() => {}, {
  prepare: (_conf, ctx) => {
    const dir = ctx.getCodeDir();
    const at = (p: string) => dir === "" ? p : dir + "/" + p;
    writeFileSync(out + "/" + ctx.getThisTaskId() + ".json", JSON.stringify({
      container: ctx.getThisContainer(),
      codeDir: dir,
      data: existsSync(at("data.txt")) ? readFileSync(at("data.txt"), "utf8") : null,
      mode: existsSync(at("bin/run.sh")) ? statSync(at("bin/run.sh")).mode & 0o777 : null,
    }));
  },
}), 2).shuffleGrouping("items");
await (await submit(${JSON.stringify(name)}, { "topology.containers": 2 }, b.createTopology())).done;
`,
  );
  return script;
}

interface Probe {
  container: number;
  codeDir: string;
  data: string | null;
  mode: number | null;
}

async function probes(out: string): Promise<Probe[]> {
  const names = (await listDir(out)).filter((n) => n.endsWith(".json"));
  return await Promise.all(names.map(async (n) => JSON.parse(await readTextFile(resolvePath(out, n))) as Probe));
}

test("ardea run: the code dir is resources/ beside the script, or --resources; a missing --resources is refused", async () => {
  const folder = resolvePath(dir, "run-topo");
  makeTree(resolvePath(folder, "resources"));
  const script = await probeScript(folder, "res-run");
  const out = resolvePath(dir, "run-out");
  mkdirSync(out);
  const r = asText(await runArdea(["run", "-q", script, out]));
  assert.is(r.code, 0, show(r));
  const got = await probes(out);
  assert.is(got.length, 2);
  for (const p of got) {
    assert.equal(p, {
      container: 0,
      codeDir: resolvePath(folder, "resources"),
      data: "hello resources\n",
      mode: 0o755,
    });
  }
  const other = resolvePath(dir, "other");
  mkdirSync(other);
  writeFileSync(resolvePath(other, "data.txt"), "other\n");
  const out2 = resolvePath(dir, "run-out-2");
  mkdirSync(out2);
  const r2 = asText(await runArdea(["run", "-q", "--resources", other, script, out2]));
  assert.is(r2.code, 0, show(r2));
  for (const p of await probes(out2)) assert.equal([p.codeDir, p.data], [other, "other\n"]);
  const r3 = asText(await runArdea(["run", "--resources", resolvePath(dir, "none"), script, out2]));
  assert.is(r3.code, 2, show(r3));
  assert.match(r3.stderr, /--resources .*none: no such folder/);
  const r4 = asText(
    await runArdea(["submit", "--resources", resolvePath(dir, "none"), script, "--nats", "nats://127.0.0.1:1"]),
  );
  assert.is(r4.code, 2, show(r4));
  assert.match(r4.stderr, /--resources .*none: no such folder/);
});

test("a bare run (deno run / node --import): the main module's folder, by the same rule", async () => {
  const folder = resolvePath(dir, "bare-topo");
  mkdirSync(folder);
  writeFileSync(resolvePath(folder, "data.txt"), "beside\n");
  const script = await probeScript(folder, "res-bare");
  const out = resolvePath(dir, "bare-out");
  mkdirSync(out);
  // Deno: the script lives outside the repository, so name the repository's import map.
  const { cmd, args } = runtimeName() === "deno"
    ? { cmd: execPath(), args: ["run", "-A", "--config", resolvePath(ardeaRoot(), "deno.json"), script, out] }
    : scriptCommand(script, [out]);
  const child = spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe" });
  const [stdout, stderr, exit] = await Promise.all([
    collect(child.lines("stdout")),
    collect(child.lines("stderr")),
    child.exited,
  ]);
  assert.is(exit.code, 0, show({ code: exit.code, stdout, stderr }));
  const got = await probes(out);
  assert.is(got.length, 2);
  for (const p of got) assert.equal([p.codeDir, p.data, p.mode], [folder, "beside\n", null]);
});

test("store and load over NATS: a container's copy comes from the object store, checked by hash", async () => {
  const src = resolvePath(dir, "stored");
  makeTree(src);
  const archive = await packResources(src);
  const here = resolvePath(dir, "cache-submitter");
  assert.is(await storeResources(nc, archive, { cacheDir: here }), archive.sha256);
  // Another machine: an empty bundle folder.
  const there = resolvePath(dir, "cache-worker");
  const folder = await loadResources(nc, archive.sha256, { cacheDir: there });
  assert.is(folder, resolvePath(there, archive.sha256, "resources"));
  assert.is(mode(resolvePath(folder, "bin", "run.sh")), 0o755);
  assert.is(await readTextFile(resolvePath(folder, "data.txt")), "hello resources\n");
  // A kept copy whose bytes are not its name is not trusted: the store's is used.
  writeFileSync(resolvePath(there, archive.sha256, "resources.pack"), "garbage");
  await removePath(folder);
  assert.is(await loadResources(nc, archive.sha256, { cacheDir: there }), folder);
  assert.is(await readTextFile(resolvePath(folder, "data.txt")), "hello resources\n");
  await rejects(loadResources(nc, "c".repeat(64), { cacheDir: there }), "BUNDLE_NOT_FOUND", "no resources folder");
});

test("ardea submit: 2 containers each run their tasks in the extracted resources/", async () => {
  const folder = resolvePath(dir, "dist-topo");
  makeTree(resolvePath(folder, "resources"));
  const script = await probeScript(folder, "res-dist");
  const out = resolvePath(dir, "dist-out");
  mkdirSync(out);
  const r = asText(
    await runArdea(
      ["submit", script, "--containers", "2", "--runtime", runtimeName(), "--wait", "--", out],
      { ARDEA_NATS_URL: nats.urls[0]! },
    ),
  );
  assert.is(r.code, 0, show(r));
  const rec = await (await Records.bind(nc))!.getTopology("res-dist");
  assert.is(rec?.state, "FINISHED");
  const sha = rec!.resources!;
  assert.match(sha, /^[0-9a-f]{64}$/);
  assert.is(sha, (await packResources(resolvePath(folder, "resources"))).sha256);
  const got = await probes(out);
  assert.equal(got.map((p) => p.container).sort(), [0, 1], "a probe task in each container");
  const extracted = resolvePath(ardeaRoot(), ".ardea", "bundles", sha, "resources");
  for (const p of got) {
    assert.equal(p, { container: p.container, codeDir: extracted, data: "hello resources\n", mode: 0o755 });
  }
});

/**
 * Storm's layout: a topology script with a resources/ folder holding a Node
 * multilang split bolt, run by a ShellBolt with a path relative to the code
 * dir; the words are counted by field and each counter task writes its
 * counts to `<out>/<task>.json` at the end.
 */
async function shellScript(folder: string, name: string): Promise<string> {
  const fixtures = resolvePath(ardeaRoot(), "tests", "fixtures", "multilang", "node");
  mkdirSync(resolvePath(folder, "resources"), { recursive: true });
  for (const f of ["split_bolt.mjs", "multilang.mjs"]) {
    copyFileSync(resolvePath(fixtures, f), resolvePath(folder, "resources", f));
  }
  const script = resolvePath(folder, "topo.ts");
  await writeTextFile(
    script,
    `import { BaseRichBolt, Fields, iterableSpout, ShellBolt, submit, TopologyBuilder, type OutputCollector, type TopologyConfig, type TopologyContext, type Tuple } from ${
      JSON.stringify(resolvePath(ardeaRoot(), "mod.ts"))
    };
import { writeFileSync } from "node:fs";
import process from "node:process";
const out = process.argv[2]!;
const SENTENCES = ${JSON.stringify(SENTENCES)};
class Count extends BaseRichBolt {
  counts: Record<string, number> = {};
  task = 0;
  collector!: OutputCollector;
  override prepare(_c: TopologyConfig, ctx: TopologyContext, collector: OutputCollector) {
    this.collector = collector;
    this.task = ctx.getThisTaskId();
  }
  execute(t: Tuple) {
    const w = t.getString(0);
    this.counts[w] = (this.counts[w] ?? 0) + 1;
    this.collector.ack(t);
  }
  override cleanup() {
    writeFileSync(out + "/" + this.task + ".json", JSON.stringify(this.counts));
  }
  declareOutputFields() {}
}
const b = new TopologyBuilder();
b.setSpout("sentences", iterableSpout(() => SENTENCES, { fields: ["sentence"] }), 1);
b.setBolt("split", new ShellBolt(["node", "split_bolt.mjs"], ["word"]), 2).shuffleGrouping("sentences");
b.setBolt("count", () => new Count(), 2).fieldsGrouping("split", new Fields("word"));
const h = await submit(${
      JSON.stringify(name)
    }, { "topology.containers": 2, "topology.reliability.mode": "ATLEAST_ONCE" }, b.createTopology());
await h.done;
`,
  );
  return script;
}

const SENTENCES = Array.from({ length: 200 }, (_, i) => `line ${i % 7} of the shell test word${i % 13}`);

// The containers run on the other runtime than this test (the probe test above runs them on this one).
const otherRuntime = runtimeName() === "node" ? "deno" : "node";

test(`ardea submit --runtime ${otherRuntime}: a ShellBolt runs a Node script from resources/ in 2 containers; exact counts`, async () => {
  const folder = resolvePath(dir, "shell-topo");
  const script = await shellScript(folder, "res-shell");
  const out = resolvePath(dir, "shell-out");
  mkdirSync(out);
  const r = asText(
    await runArdea(
      ["submit", script, "--containers", "2", "--runtime", otherRuntime, "--wait", "--", out],
      { ARDEA_NATS_URL: nats.urls[0]! },
    ),
  );
  assert.is(r.code, 0, show(r));
  const rec = await (await Records.bind(nc))!.getTopology("res-shell");
  assert.is(rec?.runtime, otherRuntime);
  assert.is(rec?.state, "FINISHED");
  const shipped = resolvePath(ardeaRoot(), ".ardea", "bundles", rec!.resources!, "resources");
  assert.equal(await listDir(shipped), ["multilang.mjs", "split_bolt.mjs"], "resources shipped and extracted");
  const got = new Map<string, number>();
  for (const name of (await listDir(out)).filter((n) => n.endsWith(".json"))) {
    for (
      const [w, n] of Object.entries(JSON.parse(await readTextFile(resolvePath(out, name))) as Record<string, number>)
    ) {
      got.set(w, (got.get(w) ?? 0) + n);
    }
  }
  const truth = new Map<string, number>();
  for (const l of SENTENCES) for (const w of l.split(" ")) truth.set(w, (truth.get(w) ?? 0) + 1);
  assert.equal(Object.fromEntries([...got].sort()), Object.fromEntries([...truth].sort()));
  // The two split tasks (two Node subprocesses) ran in different containers, each in its extracted folder.
  assert.equal(new Set(rec!.components.split!.map((t) => rec!.packing[String(t)])).size, 2);
});

test.run();
