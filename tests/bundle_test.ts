// timeout: 240
/**
 * Topology bundles (cluster/bundle.ts): bundling keeps Ardea's modules
 * external and inlines the user's own files, deterministically; store and
 * load round-trip through a real nats-server; corrupt and foreign-version
 * bundles are refused; a loaded bundle imported by a child process (a
 * stand-in container) shares that process's engine module instance.
 */
import { suite } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import {
  ARDEA_PLACEHOLDER,
  ardeaVersion,
  BundleError,
  bundleScript,
  linkBundle,
  loadBundle,
  type ScriptBundle,
  sha256Hex,
  storeBundle,
} from "../cluster/bundle.ts";
import { CODE_BUCKET } from "../transport/wire/mod.ts";
import {
  ardeaRoot,
  makeTempDir,
  pid,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
  toFileUrl,
  writeTextFile,
} from "../runtime/mod.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

const ROOT = ardeaRoot();
const WORD_COUNT = resolvePath(ROOT, "examples", "word_count.ts");
const FIXTURE = resolvePath(ROOT, "tests", "fixtures", "bundle_topology.ts");
const HARNESS = resolvePath(ROOT, "tests", "fixtures", "bundle_harness.ts");

async function rejection(p: Promise<unknown>): Promise<BundleError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BundleError) return e;
    throw e;
  }
  throw new Error("expected a BundleError, but the call succeeded");
}

// ---------------------------------------------------------------- bundling

const bundling = suite("bundleScript");

bundling("word_count: Ardea's modules stay external as placeholders, npm packages stay bare", async () => {
  const b = await bundleScript(WORD_COUNT);
  assert.is(b.entry, "examples/word_count.ts");
  assert.is(b.ardeaVersion, await ardeaVersion());
  assert.is(b.sha256, await sha256Hex(b.code));
  assert.match(b.sha256, /^[0-9a-f]{64}$/);
  assert.ok(
    b.code.startsWith(`// ardea-bundle {"ardeaVersion":"${b.ardeaVersion}","entry":"examples/word_count.ts"}\n`),
  );
  assert.ok(b.code.includes(`from "${ARDEA_PLACEHOLDER}mod.ts"`), "../mod.ts became ardea:/mod.ts");
  assert.ok(
    b.code.includes(`from "${ARDEA_PLACEHOLDER}runtime/mod.ts"`),
    "../runtime/mod.ts became ardea:/runtime/mod.ts",
  );
  assert.ok(b.code.includes(`from "zod"`), "zod stays a bare import");
  // The engine is not inlined: none of its classes are defined in the bundle.
  for (const cls of ["class XorLedger", "class TopologyBuilder", "class Container", "function submit("]) {
    assert.not.ok(b.code.includes(cls), `${cls} must not be in the bundle`);
  }
  assert.ok(b.code.includes("LineSpout = class extends BaseStatefulSpout"), "the script itself is in");
  assert.match(b.code, /\/\/# sourceMappingURL=data:application\/json;base64,[A-Za-z0-9+/=]+\s*$/);
});

bundling(
  "a fixture: its relative helper is inlined; bare `ardea` and relative library imports are placeholders",
  async () => {
    const b = await bundleScript(FIXTURE);
    assert.is(b.entry, "tests/fixtures/bundle_topology.ts");
    assert.ok(b.code.includes("bundle-helper-inlined-5d1e"), "the helper's code is in the bundle");
    assert.not.ok(b.code.includes('bundle_helper.ts"'), "no import of the helper remains");
    assert.ok(b.code.includes(`"${ARDEA_PLACEHOLDER}mod.ts"`), "`ardea` and ../../mod.ts became ardea:/mod.ts");
    assert.ok(b.code.includes(`"${ARDEA_PLACEHOLDER}runtime/mod.ts"`));
    assert.ok(b.code.includes(`from "zod"`), "the helper's npm import stays bare");
    assert.not.ok(/from\s+"ardea"/.test(b.code), "no bare ardea import remains");
  },
);

bundling("deterministic: the same script gives the same bytes and sha256", async () => {
  const [a, b] = [await bundleScript(WORD_COUNT), await bundleScript(WORD_COUNT)];
  assert.is(a.sha256, b.sha256);
  assert.is(a.code, b.code);
  const c = await bundleScript(resolvePath(ROOT, "tests", "..", "examples", "word_count.ts"));
  assert.is(c.sha256, a.sha256, "another spelling of the same path");
});

bundling("a script outside the Ardea root: its helper is inlined, bare `ardea` stays external", async () => {
  const dir = await makeTempDir("ardea-bundle-");
  try {
    await writeTextFile(resolvePath(dir, "helper.ts"), 'export const OUTSIDE_MARK = "outside-helper-91c2";\n');
    await writeTextFile(
      resolvePath(dir, "topo.ts"),
      'import { TopologyBuilder } from "ardea";\nimport { OUTSIDE_MARK } from "./helper.ts";\n' +
        "console.log(OUTSIDE_MARK, new TopologyBuilder());\n",
    );
    const b = await bundleScript(resolvePath(dir, "topo.ts"));
    assert.ok(b.entry.endsWith("/topo.ts") && b.entry.startsWith("/"), b.entry);
    assert.ok(b.code.includes("outside-helper-91c2"));
    assert.ok(b.code.includes(`from "${ARDEA_PLACEHOLDER}mod.ts"`));
  } finally {
    await removePath(dir);
  }
});

bundling("a script bundles again when a file it read changes, or a file beside them may change an import", async () => {
  const dir = await makeTempDir("ardea-bundle-");
  const settle = () => new Promise((r) => setTimeout(r, 20)); // a file changed in the build's millisecond is not trusted
  try {
    const script = resolvePath(dir, "topo.ts");
    await writeTextFile(script, 'import { n } from "./dep";\nconsole.log(n);\n');
    await writeTextFile(resolvePath(dir, "dep.ts"), "export const n = 1;\n");
    await settle();
    const first = await bundleScript(script);
    assert.equal(await bundleScript(script), first, "nothing changed: the same bundle");
    await writeTextFile(resolvePath(dir, "dep.ts"), "export const n = 2;\n");
    await settle();
    const second = await bundleScript(script);
    assert.ok(second.code.includes("n = 2"), "the helper's change is in");
    // esbuild resolves "./dep" to dep.tsx before dep.ts: a new file, no changed input.
    await writeTextFile(resolvePath(dir, "dep.tsx"), "export const n = 3;\n");
    await settle();
    assert.ok((await bundleScript(script)).code.includes("n = 3"), "the new file beside the helper is in");
  } finally {
    await removePath(dir);
  }
});

bundling("a missing script or an unresolvable import is a BUNDLE_FAILED error naming it", async () => {
  const missing = await rejection(bundleScript(resolvePath(ROOT, "tests", "fixtures", "bundle_nope.ts")));
  assert.is(missing.code, "BUNDLE_FAILED");
  assert.match(missing.message, /bundle_nope\.ts/);
  const dir = await makeTempDir("ardea-bundle-");
  try {
    await writeTextFile(resolvePath(dir, "broken.ts"), 'import { x } from "./no_such_helper.ts";\nconsole.log(x);\n');
    const broken = await rejection(bundleScript(resolvePath(dir, "broken.ts")));
    assert.is(broken.code, "BUNDLE_FAILED");
    assert.match(broken.message, /broken\.ts:1:\d+: .*no_such_helper\.ts/);
  } finally {
    await removePath(dir);
  }
});

bundling("linkBundle points placeholders at this installation and refuses modules it lacks", async () => {
  const linked = await linkBundle(
    `import { submit } from "${ARDEA_PLACEHOLDER}mod.ts";\nimport "${ARDEA_PLACEHOLDER}runtime/mod.ts";`,
  );
  assert.ok(linked.includes(JSON.stringify(toFileUrl(resolvePath(ROOT, "mod.ts")))));
  assert.ok(linked.includes(JSON.stringify(toFileUrl(resolvePath(ROOT, "runtime", "mod.ts")))));
  assert.not.ok(linked.includes(ARDEA_PLACEHOLDER));
  const e = await rejection(linkBundle(`import "${ARDEA_PLACEHOLDER}engine/no_such_module.ts";`));
  assert.is(e.code, "BUNDLE_UNLINKABLE");
  assert.match(e.message, /ardea:\/engine\/no_such_module\.ts/);
});

bundling.run();

// ---------------------------------------------------------------- store and load

const store = suite("storeBundle / loadBundle through nats-server");
let nats: NatsHandle | undefined;
let nc: NatsConnection | undefined;
const written: string[] = [];

store.before(async () => {
  nats = await startNats({ jetstream: true });
  nc = await connect({ servers: nats.urls[0]! });
});

store.after(async () => {
  await nc?.close();
  await nats?.stop();
  for (const file of written) await removePath(file);
  await removePath(resolvePath(ardeaRoot(), ".ardea", `test-bundles-${runtimeName()}-${pid()}`));
});

function conn(): NatsConnection {
  if (nc === undefined) throw new Error("not connected");
  return nc;
}

async function load(sha: string, expectVersion?: string): Promise<string> {
  // A cache folder of this process's own: Node's and Deno's runs of this file go in parallel.
  const cacheDir = resolvePath(ardeaRoot(), ".ardea", `test-bundles-${runtimeName()}-${pid()}`);
  const file = await loadBundle(conn(), sha, expectVersion === undefined ? { cacheDir } : { expectVersion, cacheDir });
  written.push(file);
  return file;
}

/** A bundle of `code` as bundleScript would describe it. */
async function rawBundle(code: string, version: string): Promise<ScriptBundle> {
  return { code, sha256: await sha256Hex(code), entry: "tests/fixtures/forged.ts", ardeaVersion: version };
}

store("loading before anything was stored is BUNDLE_NOT_FOUND and creates no bucket", async () => {
  const e = await rejection(load("1".repeat(64)));
  assert.is(e.code, "BUNDLE_NOT_FOUND");
  assert.match(e.message, new RegExp(`no object store "${CODE_BUCKET}"`));
  const names: string[] = [];
  for await (const s of (await conn().jetstreamManager()).streams.names()) names.push(s);
  assert.not.ok(names.includes(`OBJ_${CODE_BUCKET}`), names.join(", "));
});

store(
  "round trip: stored under its sha256 with metadata, idempotently; loaded, linked, in the installation",
  async () => {
    const b = await bundleScript(WORD_COUNT);
    assert.is(await storeBundle(conn(), b), b.sha256);
    const os = await conn().jetstream().views.os(CODE_BUCKET);
    const info = await os.info(b.sha256);
    assert.ok(info !== null);
    assert.is(info.metadata?.["ardeaVersion"], b.ardeaVersion);
    assert.is(info.metadata?.["entry"], "examples/word_count.ts");
    assert.ok(info.description?.includes(b.ardeaVersion));
    assert.is(await storeBundle(conn(), b), b.sha256);
    const again = await os.info(b.sha256);
    assert.is(again?.nuid, info.nuid, "storing again does not rewrite the object");

    const file = await load(b.sha256);
    assert.is(
      file,
      resolvePath(ROOT, ".ardea", `test-bundles-${runtimeName()}-${pid()}`, `${b.sha256}.mjs`),
      "in the installation, named by its hash",
    );
    const text = await readTextFile(file);
    assert.not.ok(text.includes(ARDEA_PLACEHOLDER), "every placeholder is linked");
    assert.ok(text.includes(JSON.stringify(toFileUrl(resolvePath(ROOT, "mod.ts")))));
    assert.ok(text.includes(JSON.stringify(toFileUrl(resolvePath(ROOT, "runtime", "mod.ts")))));
    assert.ok(text.startsWith("// ardea-bundle "));
    assert.is(await load(b.sha256), file, "loading again gives the same file");
  },
);

store("a storeBundle whose code does not match its sha256 is refused", async () => {
  const b = await bundleScript(FIXTURE);
  const e = await rejection(storeBundle(conn(), { ...b, code: `${b.code}\n// tampered` }));
  assert.is(e.code, "BUNDLE_CORRUPT");
});

store("a corrupt object (other bytes under the name) is refused", async () => {
  const good = await bundleScript(FIXTURE);
  const sha = (await sha256Hex(`${good.code}// another`)).replace(/.$/, (c) => (c === "0" ? "1" : "0"));
  const os = await conn().jetstream().views.os(CODE_BUCKET);
  await os.putBlob({ name: sha }, new TextEncoder().encode(good.code));
  const e = await rejection(load(sha));
  assert.is(e.code, "BUNDLE_CORRUPT");
  assert.ok(e.message.includes(sha) && e.message.includes(good.sha256), e.message);
  assert.match(e.message, /refusing/);
});

store("a missing bundle, or a name that is not a sha256, is BUNDLE_NOT_FOUND", async () => {
  const e = await rejection(load("0".repeat(64)));
  assert.is(e.code, "BUNDLE_NOT_FOUND");
  assert.match(e.message, new RegExp(`0{64}.*${CODE_BUCKET}`));
  assert.is((await rejection(load("../../etc/passwd"))).code, "BUNDLE_NOT_FOUND");
});

store("a bundle of another Ardea version is refused, naming both versions", async () => {
  const local = await ardeaVersion();
  const good = await bundleScript(FIXTURE);
  const forged = await rawBundle(
    good.code.replace(`"ardeaVersion":"${local}"`, `"ardeaVersion":"0.0.0-other"`),
    "0.0.0-other",
  );
  await storeBundle(conn(), forged);
  const e = await rejection(load(forged.sha256));
  assert.is(e.code, "BUNDLE_VERSION_MISMATCH");
  assert.ok(e.message.includes("0.0.0-other") && e.message.includes(local), e.message);

  await storeBundle(conn(), good);
  const expected = await rejection(load(good.sha256, "9.9.9"));
  assert.is(expected.code, "BUNDLE_VERSION_MISMATCH");
  assert.ok(expected.message.includes("9.9.9") && expected.message.includes(local), expected.message);
});

store(
  "this machine's copy serves later loads without the object store; a copy whose bytes changed does not",
  async () => {
    const cacheDir = resolvePath(ardeaRoot(), ".ardea", `test-bundles-${runtimeName()}-${pid()}`);
    const good = await bundleScript(FIXTURE);
    const b = await rawBundle(`${good.code}// kept copy ${Math.random()}\n`, good.ardeaVersion);
    await storeBundle(conn(), b, { cacheDir });
    const os = await conn().jetstream().views.os(CODE_BUCKET);
    await os.delete(b.sha256);
    const file = await load(b.sha256);
    assert.ok((await readTextFile(file)).startsWith("// ardea-bundle "), "loaded from the copy storeBundle kept");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(resolvePath(cacheDir, `${b.sha256}.bundle`), `${b.code}// changed`);
    assert.is(
      (await rejection(load(b.sha256))).code,
      "BUNDLE_NOT_FOUND",
      "a copy that no longer hashes to its name is not used",
    );
  },
);

store("text without a bundle banner is refused", async () => {
  const forged = await rawBundle("export const x = 1;\n", await ardeaVersion());
  await storeBundle(conn(), forged);
  assert.is((await rejection(load(forged.sha256))).code, "BUNDLE_CORRUPT");
});

store("a loaded bundle, imported by a child process, submits to that process's engine", async () => {
  const b = await bundleScript(FIXTURE);
  const file = await load(await storeBundle(conn(), b));
  const { cmd, args } = scriptCommand(HARNESS, [file]);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = spawnProcess(cmd, args, {
    cwd: ROOT,
    stdio: "pipe",
    env: { NO_COLOR: "1" },
    onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const exit = await child.exited.finally(() => clearTimeout(timer));
  const show = `exit ${exit.code}\n--- stdout\n${stdout.join("\n")}\n--- stderr\n${stderr.slice(0, 40).join("\n")}`;
  assert.is(exit.code, 0, show);
  assert.ok(stdout.includes("helper: bundle-helper-inlined-5d1e"), show);
  assert.ok(stdout.includes("submitted: bundle-fixture"), `the harness's onSubmit saw the bundle's submit()\n${show}`);
  assert.ok(stdout.includes("done: FINISHED a=2"), show);
  assert.is(stdout.at(-1), "imported", show);
});

store.run();
