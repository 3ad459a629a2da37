// timeout: 420
// Ardea as a dependency: packs this repository (`npm pack` of a copy, so its
// prepack build runs there, not in the checkout), scaffolds a project with
// `ardea init --ardea file:<tarball>`, installs it with npm once per file, and
// runs each way a user runs Ardea from their own project. Under Node: the
// install prints no warning, `npm start` (`ardea run topology.ts`),
// `npm test` (completeTopology), plain `node topo.mjs`, the public surface
// and `ardea/internal`, `tsc --noEmit` of the strict project (and a type
// error caught), a 2-container `ardea submit --wait`, and one on the pool
// scheduler run by an `ardea worker` started in the project. Under Deno: `deno run
// -A topology.ts` and `deno check` in the npm project, a Deno project whose
// deno.json maps `ardea` to the installed package, a 2-container submit.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { connect } from "nats";
import { Records } from "../cluster/records.ts";
import { ardeaRoot, execPath, makeTempDir, removePath, runtimeName } from "../runtime/mod.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

const root = ardeaRoot();
const onNode = runtimeName() === "node";
let dir: string;
/** The project `ardea init` wrote, installed from the tarball. */
let project: string;
let tarball: string;
let nats: NatsHandle | undefined;
/** What `npm install` of the project printed. */
let install: Result;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const show = (what: string, r: Result) => `${what}: exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/**
 * Runs a command to its end. The environment is this process's without
 * npm's `npm_*` variables (`npm test` sets them for the repository, not for
 * the user's project), plus `env`.
 */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Result> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith("npm_") && v !== undefined) clean[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...clean, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Result> {
  const r = await run(cmd, args, cwd, env);
  assert.is(r.code, 0, show(`${cmd} ${args.join(" ")}`, r));
  return r;
}

/** What a source folder of the repository holds that `npm pack` and its build need. */
const PACK_SKIP = new Set([
  "node_modules",
  "dist",
  "tests",
  "testing",
  "bench",
  "examples",
  "scripts",
  "docs",
  "coverage",
  ".git",
  ".ardea",
  ".ci",
  "scratch",
]);

test.before(async () => {
  // uvu does not print an error thrown by a before hook.
  await setUp().catch((error) => {
    process.stderr.write(
      `package_test: setting up failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`,
    );
    throw error;
  });
});

async function setUp(): Promise<void> {
  dir = await makeTempDir("ardea-package-");
  // A copy of the sources, with the repository's node_modules (esbuild, tsc)
  // linked in: its prepack build writes the copy's dist/, never the
  // checkout's, which other test files may be reading.
  const src = join(dir, "src");
  mkdirSync(join(src, "scripts"), { recursive: true });
  for (const entry of readdirSync(root)) {
    if (!PACK_SKIP.has(entry)) cpSync(join(root, entry), join(src, entry), { recursive: true });
  }
  cpSync(join(root, "scripts", "build.mjs"), join(src, "scripts", "build.mjs"));
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"), "dir");
  const packed = await ok("npm", ["pack", "--pack-destination", dir], src);
  const name = packed.stdout.trim().split("\n").at(-1)!;
  tarball = join(dir, name);
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);

  // `ardea init` from the checkout, pointed at the tarball.
  const init = await run(
    execPath(),
    onNode
      ? [join(root, "bin", "ardea.mjs"), "init", "my-topology", "--ardea", `file:${tarball}`]
      : ["run", "-A", join(root, "bin", "ardea.mjs"), "init", "my-topology", "--ardea", `file:${tarball}`],
    dir,
  );
  assert.is(init.code, 0, show("ardea init", init));
  project = join(dir, "my-topology");
  install = await ok("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], project);
  nats = await startNats({ servers: 1, jetstream: true });
}

test.after(async () => {
  await nats?.stop();
  if (dir !== undefined) await removePath(dir);
});

test("npm install of the project prints no warning (allowScripts written by ardea init)", () => {
  const warnings = `${install.stdout}\n${install.stderr}`.split("\n").filter((l) => /\bwarn/i.test(l));
  assert.equal(warnings, [], show("npm install printed warnings", install));
  const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
  assert.equal(manifest.allowScripts, { esbuild: true, "msgpackr-extract": false });
});

test("the tarball holds JavaScript and declarations, not sources", () => {
  const pkg = join(project, "node_modules", "ardea");
  assert.ok(existsSync(join(pkg, "dist", "mod.js")));
  assert.ok(existsSync(join(pkg, "dist", "internal.d.ts")));
  assert.not.ok(existsSync(join(pkg, "mod.ts")), "no raw mod.ts: Deno would refuse it under node_modules");
  // Declarations keep the JSDoc (editors show it) and import .js files.
  const builder = readFileSync(join(pkg, "dist", "topology", "builder.d.ts"), "utf8");
  assert.match(builder, /\/\*\*[\s\S]*@example[\s\S]*export declare class TopologyBuilder/);
  assert.not.match(readFileSync(join(pkg, "dist", "mod.d.ts"), "utf8"), /from "\.[^"]*\.ts"/);
});

if (onNode) {
  test("node: npm start runs topology.ts (ardea run) and npm test passes", async () => {
    const start = await ok("npm", ["start"], project);
    assert.match(start.stdout, /word-count: FINISHED, 2 lines acked/);
    const t = await ok("npm", ["test"], project);
    assert.match(t.stdout, /ok: word count/);
  });

  test("node: a plain JavaScript script imports ardea; internals only from ardea/internal", async () => {
    writeFileSync(
      join(project, "topo.mjs"),
      `import * as ardea from "ardea";
import * as internal from "ardea/internal";
const { completeTopology, bolt, iterableSpout, TopologyBuilder } = ardea;
const builder = new TopologyBuilder();
builder.setSpout("lines", iterableSpout((c) => (c.getThisTaskIndex() === 0 ? ["a b", "b"] : []), { fields: ["line"] }));
builder.setBolt("split", bolt((t, c) => { for (const w of t.getString(0).split(" ")) c.emit([w]); }, { fields: ["word"] }), 2).shuffleGrouping("lines");
const r = await completeTopology(builder.createTopology());
const hidden = ["TupleImpl", "buildTopology", "hashFields"];
console.log(JSON.stringify({ words: r.emitted("split").length, public: hidden.filter((n) => n in ardea), internal: hidden.filter((n) => n in internal) }));
`,
    );
    const r = await ok(process.execPath, ["topo.mjs"], project);
    assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!), {
      words: 3,
      public: [],
      internal: ["TupleImpl", "buildTopology", "hashFields"],
    });
  });

  test("node: the strict project type-checks with tsc, and a type error is caught", async () => {
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    await ok(process.execPath, [tsc, "--noEmit", "-p", "."], project);
    const bad = join(project, "bad");
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, "tsconfig.json"), `{ "extends": "../tsconfig.json", "include": ["*.ts"] }\n`);
    writeFileSync(
      join(bad, "bad.ts"),
      `import { Fields } from "ardea";\nconst n: number = new Fields("a").size();\nconst f: Fields = "a";\nexport { f, n };\n`,
    );
    const r = await run(process.execPath, [tsc, "--noEmit", "-p", "bad"], project);
    assert.is.not(r.code, 0, show("tsc of bad.ts", r));
    assert.match(r.stdout, /bad\.ts\(3,7\): error TS2322/);
  });

  test("node: ardea submit --wait with 2 containers from the project", async () => {
    const r = await ok(
      join(project, "node_modules", ".bin", "ardea"),
      ["submit", "topology.ts", "--containers", "2", "--wait"],
      project,
      {
        ARDEA_NATS_URL: nats!.urls[0]!,
      },
    );
    assert.match(r.stdout + r.stderr, /"word-count" ended FINISHED/);
    assert.match(r.stdout, /word-count: FINISHED, 2 lines acked/);
  });
  test("node: a worker in the project runs the pool containers of a submit", async () => {
    const env = { ARDEA_NATS_URL: nats!.urls[0]! };
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.toLowerCase().startsWith("npm_") && v !== undefined) clean[k] = v;
    }
    const worker = spawn(join(project, "node_modules", ".bin", "ardea"), ["worker", "--slots", "2", "--id", "w0"], {
      cwd: project,
      env: { ...clean, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    worker.stdout.on("data", (d) => (log += d));
    worker.stderr.on("data", (d) => (log += d));
    const exited = new Promise((resolve) => worker.on("close", resolve));
    const nc = await connect({ servers: nats!.urls[0]! });
    try {
      const deadline = Date.now() + 30_000;
      let records: Records | undefined;
      while (Date.now() < deadline) {
        records ??= await Records.bind(nc);
        if (records && (await records.listWorkers()).length === 1) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.is((await records!.listWorkers()).length, 1, `the worker registered:\n${log}`);
      const r = await ok(
        join(project, "node_modules", ".bin", "ardea"),
        ["submit", "topology.ts", "--scheduler", "pool", "--containers", "2", "--wait"],
        project,
        env,
      );
      assert.match(r.stdout + r.stderr, /"word-count" ended FINISHED/);
      assert.match(log, /running word-count container/);
    } finally {
      worker.kill("SIGTERM");
      await exited;
      await nc.close();
    }
  });
} else {
  test("deno: deno run -A topology.ts and the test, and deno check, in the npm project", async () => {
    const run1 = await ok(execPath(), ["run", "-A", "topology.ts"], project);
    assert.match(run1.stdout, /word-count: FINISHED, 2 lines acked/);
    const t = await ok(execPath(), ["run", "-A", "word_count_test.ts"], project);
    assert.match(t.stdout, /ok: word count/);
    await ok(execPath(), ["check", "topology.ts", "word_count_test.ts"], project);
  });

  test("deno: a Deno project whose deno.json maps ardea to the installed package", async () => {
    const denoProject = join(dir, "deno-project");
    mkdirSync(denoProject, { recursive: true });
    symlinkSync(join(project, "node_modules"), join(denoProject, "node_modules"), "dir");
    writeFileSync(
      join(denoProject, "deno.json"),
      `{ "nodeModulesDir": "manual", "imports": { "ardea": "npm:ardea@^0.1.0" } }\n`,
    );
    for (const file of ["word_count.ts", "topology.ts"]) cpSync(join(project, file), join(denoProject, file));
    const r = await ok(execPath(), ["run", "-A", "topology.ts"], denoProject);
    assert.match(r.stdout, /word-count: FINISHED, 2 lines acked/);
    await ok(execPath(), ["check", "topology.ts"], denoProject);
    writeFileSync(
      join(denoProject, "bad.ts"),
      `import { Fields } from "ardea";\nconst f: Fields = "a";\nexport { f };\n`,
    );
    const bad = await run(execPath(), ["check", "bad.ts"], denoProject);
    assert.is.not(bad.code, 0, show("deno check bad.ts", bad));
    assert.match(bad.stdout + bad.stderr, /TS2322/);
  });

  test("deno: ardea submit --wait with 2 containers from the project", async () => {
    const bin = join(project, "node_modules", "ardea", "bin", "ardea.mjs");
    const r = await ok(
      execPath(),
      ["run", "-A", bin, "submit", "topology.ts", "--containers", "2", "--wait"],
      project,
      {
        ARDEA_NATS_URL: nats!.urls[0]!,
      },
    );
    assert.match(r.stdout + r.stderr, /"word-count" ended FINISHED/);
    assert.match(r.stdout, /word-count: FINISHED, 2 lines acked/);
  });
}

test.run();
