/**
 * Topology bundles: how a topology script travels to containers on other
 * machines (Storm's `storm jar`).
 *
 * - {@link bundleScript} (the submitter) bundles a script with its own
 *   relative imports into one ES module. Ardea's library modules stay
 *   imports, written as placeholders `ardea:/<path in the package>`; npm
 *   packages stay bare imports. The first line is a banner recording the
 *   Ardea version and the entry, so both are covered by the hash.
 * - {@link storeBundle} puts the bundle in the object store
 *   {@link CODE_BUCKET} under its sha256 (hex).
 * - {@link loadBundle} (each container) fetches the bundle, checks its hash
 *   and version, links the placeholders to THIS installation and writes it
 *   to `<ardeaRoot>/.ardea/bundles/<sha256>.mjs`, ready to `import()`. Living
 *   inside the installation, the file resolves bare npm imports from its
 *   `node_modules` (Node) or `deno.json` import map (Deno); and because the
 *   placeholders point at the very modules the container runs, the script's
 *   `submit()` reaches the container's engine, not a copy of it.
 *
 * @module
 */
import type * as esbuild from "esbuild";
import type { NatsConnection } from "nats";
import {
  ardeaRoot,
  fileExists,
  fileStamp,
  readBinaryFile,
  readTextFile,
  resolvePath,
  toFileUrl,
  writeBinaryFileAtomic,
  writeTextFileAtomic,
} from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { CODE_BUCKET } from "../transport/wire/mod.ts";

/** Prefix of an import of an Ardea library module inside a bundle. */
export const ARDEA_PLACEHOLDER = "ardea:/";

/**
 * Top-level folders of the package that hold library code: an import that
 * resolves into one of them (or to a `.ts` file at the package root, such as
 * `mod.ts`) stays external. Everything else (examples/, tests/, the user's
 * own folders) is bundled in.
 */
export const LIBRARY_DIRS: ReadonlySet<string> = new Set([
  "topology",
  "actors",
  "engine",
  "cluster",
  "tracker",
  "transport",
  "runtime",
  "metrics",
  "state",
  "cli",
  "multilang",
  "flux",
  "streamlet",
]);

/** Options of {@link bundleScript}. */
export interface BundleScriptOptions {
  /**
   * The entry module's source (JavaScript), bundled instead of the file at
   * `scriptPath`, its imports resolved from that file's folder; the bundle
   * still names `scriptPath` as its entry. A Flux file travels this way.
   */
  entryCode?: string;
}

/** A bundled topology script. */
export interface ScriptBundle {
  /** The ES module: banner line, code, inline source map. */
  readonly code: string;
  /** sha256 of the UTF-8 bytes of `code`, lowercase hex: the bundle's name in {@link CODE_BUCKET}. */
  readonly sha256: string;
  /** The script, relative to the Ardea root when inside it, else absolute. */
  readonly entry: string;
  /** Version of the Ardea package that bundled it; a container of another version refuses it. */
  readonly ardeaVersion: string;
}

/** Options of {@link storeBundle}. */
export interface StoreBundleOptions {
  /** Replicas of the object store when this call creates it (default 1). */
  replicas?: number;
  /** This machine's bundle folder, where a copy is kept for {@link loadBundle} (default `<ardeaRoot>/.ardea/bundles`). */
  cacheDir?: string;
}

/** Options of {@link loadBundle}. */
export interface LoadBundleOptions {
  /** The Ardea version the bundle must have been made by (default: this installation's). */
  expectVersion?: string;
  /**
   * This machine's bundle folder (default `<ardeaRoot>/.ardea/bundles`):
   * the linked file is written there, beside a copy of the bundle that a
   * later load reads instead of the object store. Keep it inside the
   * installation.
   */
  cacheDir?: string;
}

/**
 * This machine's bundle folder: `cacheDir`, else `<ardeaRoot>/.ardea/bundles`.
 *
 * @example
 * ```ts
 * bundleDir(undefined); // "/opt/ardea/.ardea/bundles"
 * ```
 */
export function bundleDir(cacheDir: string | undefined): string {
  return cacheDir ?? resolvePath(ardeaRoot(), ".ardea", "bundles");
}

/** The bundle's own bytes, kept beside its linked module (not importable: its `ardea:/` imports are not linked). */
function keptCopy(dir: string, sha256: string): string {
  return resolvePath(dir, `${sha256}.bundle`);
}

/** The kept copy of bundle `sha256`, if this machine has one with those very bytes. */
async function readKeptCopy(dir: string, sha256: string): Promise<Uint8Array | null> {
  const bytes = await readBinaryFile(keptCopy(dir, sha256)).catch(() => null);
  return bytes !== null && (await sha256Hex(bytes)) === sha256 ? bytes : null;
}

/** Keeps a copy of a bundle on this machine; a folder that cannot be written only costs the next load a fetch. */
async function keepCopy(dir: string, sha256: string, bytes: Uint8Array): Promise<void> {
  if ((await readKeptCopy(dir, sha256)) !== null) return;
  await writeBinaryFileAtomic(keptCopy(dir, sha256), bytes).catch(() => {});
}

/**
 * A bundle that cannot be made, stored or loaded. Codes: `BUNDLE_FAILED`
 * (esbuild errors), `BUNDLE_NOT_FOUND`, `BUNDLE_CORRUPT` (hash or banner),
 * `BUNDLE_VERSION_MISMATCH`, `BUNDLE_UNLINKABLE` (imports a library module
 * this installation lacks).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * declare const sha: string;
 * try { await loadBundle(nc, sha); } catch (e) {
 *   if (e instanceof BundleError && e.code === "BUNDLE_VERSION_MISMATCH") console.error(e.message);
 * }
 * ```
 */
export class BundleError extends ArdeaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

// ---------------------------------------------------------------- version

let cachedVersion: string | undefined;

/**
 * The version of this Ardea installation (`version` of its package.json).
 *
 * @example
 * ```ts
 * console.log(`ardea ${await ardeaVersion()}`);
 * ```
 */
export async function ardeaVersion(): Promise<string> {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(await readTextFile(resolvePath(ardeaRoot(), "package.json"))) as { version?: unknown };
    cachedVersion = typeof pkg.version === "string" ? pkg.version : "unknown";
  }
  return cachedVersion;
}

// ---------------------------------------------------------------- hashing

/**
 * sha256 of `data` (a string is hashed as UTF-8), lowercase hex.
 *
 * @example
 * ```ts
 * await sha256Hex("abc"); // "ba7816bf…15ad"
 * ```
 */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** The object store's digest string (`SHA-256=<base64url, padded>`) of a hex sha256. */
function natsDigest(hex: string): string {
  let binary = "";
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return `SHA-256=${btoa(binary).replace(/\+/g, "-").replace(/\//g, "_")}`;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------- paths

/** `path` relative to `root` with "/" separators, or undefined if it is not inside. */
function insideRoot(root: string, path: string): string | undefined {
  const norm = (p: string) => p.replace(/\\/g, "/");
  const r = norm(root).replace(/\/$/, "");
  const p = norm(path);
  return p.startsWith(`${r}/`) ? p.slice(r.length + 1) : undefined;
}

/** Whether a path relative to the Ardea root names library code (kept external). */
function isLibraryPath(rel: string): boolean {
  const slash = rel.indexOf("/");
  if (slash < 0) return /\.m?[jt]s$/.test(rel);
  return LIBRARY_DIRS.has(rel.slice(0, slash));
}

type PackageExports = Record<string, unknown>;

async function packageExports(root: string): Promise<PackageExports> {
  try {
    const pkg = JSON.parse(await readTextFile(resolvePath(root, "package.json"))) as { exports?: unknown };
    const exp = pkg.exports;
    if (typeof exp === "string") return { ".": exp };
    return exp !== null && typeof exp === "object" ? (exp as PackageExports) : {};
  } catch {
    return {};
  }
}

/** Source target of a package `exports` entry, as in runtime/node_hooks.mjs. */
function sourceTarget(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (entry !== null && typeof entry === "object") {
    for (const condition of ["deno", "types", "import", "default"]) {
      const target = sourceTarget((entry as Record<string, unknown>)[condition]);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}

/**
 * Path (relative to the root) of the file the bare specifier `ardea` or
 * `ardea/<sub>` names, resolved as runtime/node_hooks.mjs does; undefined
 * when nothing matches.
 */
async function resolveBareArdea(root: string, specifier: string): Promise<string | undefined> {
  if (specifier === "ardea") return "mod.ts";
  const sub = specifier.slice("ardea/".length);
  const target = sourceTarget((await packageExports(root))[`./${sub}`]);
  const candidates = target !== undefined && !target.startsWith("./dist/")
    ? [target]
    : [sub, `${sub}.ts`, `${sub}/mod.ts`];
  for (const candidate of candidates) {
    const rel = insideRoot(root, resolvePath(root, candidate));
    // Installed from npm, the package holds dist/<rel>.js, not <rel>.ts.
    if (rel !== undefined && !rel.endsWith("/") && (await fileExists(installedModule(root, rel).path))) {
      // A directory "exists" too; only files are importable.
      if (/\.[cm]?[jt]s$/.test(rel)) return rel;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- bundling

const BANNER_PREFIX = "// ardea-bundle ";
const SKIP = Symbol("ardea-bundle-resolving");

/** Keeps Ardea's library modules external as `ardea:/<rel>` placeholders. */
function ardeaExternals(root: string): esbuild.Plugin {
  return {
    name: "ardea-externals",
    setup(build) {
      build.onResolve({ filter: /^ardea(\/|$)/ }, async (args) => {
        const rel = await resolveBareArdea(root, args.path);
        if (rel === undefined) {
          return { errors: [{ text: `"${args.path}" names no module of the Ardea package at ${root}` }] };
        }
        // `ardea/examples/x.ts` is not library code: bundle it in like a relative import.
        return isLibraryPath(rel)
          ? { path: ARDEA_PLACEHOLDER + rel, external: true }
          : { path: resolvePath(root, rel) };
      });
      build.onResolve({ filter: /^(\.\.?\/|\/)/ }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData === SKIP) return undefined;
        const resolved = await build.resolve(args.path, {
          importer: args.importer,
          resolveDir: args.resolveDir,
          kind: args.kind,
          pluginData: SKIP,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external || resolved.namespace !== "file") return undefined;
        const rel = insideRoot(root, resolved.path);
        if (rel !== undefined && isLibraryPath(rel)) return { path: ARDEA_PLACEHOLDER + rel, external: true };
        return undefined;
      });
    },
  };
}

/**
 * Bundles the topology script at `scriptPath` with its own relative imports
 * into one ES module (es2022, inline source map). Imports of Ardea's library
 * (relative ones into the package, and the bare `ardea` / `ardea/<sub>`)
 * become `ardea:/<path>` placeholders; npm packages, `node:`, `npm:`,
 * `jsr:` and URL imports stay as they are. The same script and imports give
 * the same bytes, hence the same sha256: while none of the files the last
 * build read (nor their folders) has changed, that build's bundle is
 * returned without esbuild.
 *
 * @example
 * ```ts
 * const bundle = await bundleScript("examples/word_count.ts");
 * console.log(bundle.sha256, bundle.code.length);
 * ```
 */
export async function bundleScript(scriptPath: string, options: BundleScriptOptions = {}): Promise<ScriptBundle> {
  const root = ardeaRoot();
  const absolute = resolvePath(scriptPath);
  if (!(await fileExists(absolute))) throw new BundleError("BUNDLE_FAILED", `topology script not found: ${absolute}`);
  const entry = insideRoot(root, absolute) ?? absolute.replace(/\\/g, "/");
  const version = await ardeaVersion();
  const dir = bundleDir(undefined);
  const { entryCode } = options;
  const key = entryCode === undefined ? absolute : `${absolute}\n${entryCode}`;
  const record = resolvePath(dir, "scripts", `${await sha256Hex(key)}.json`);
  const previous = await previousBuild(record, dir, absolute, version);
  if (previous !== undefined) return { code: previous.code, sha256: previous.sha256, entry, ardeaVersion: version };
  const banner = BANNER_PREFIX + JSON.stringify({ ardeaVersion: version, entry });
  // Loaded here, not at the top: containers load bundles without esbuild.
  const { build, stop } = await import("esbuild");
  const startedMs = Date.now();
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await build({
      ...(entryCode === undefined ? { entryPoints: [absolute] } : {
        stdin: { contents: entryCode, resolveDir: resolvePath(absolute, ".."), sourcefile: absolute, loader: "js" },
      }),
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      // The output's notional place is where containers write it, so the
      // source map's relative `sources` resolve to the script's path there.
      outfile: resolvePath(root, ".ardea", "bundles", "bundle.mjs"),
      absWorkingDir: root,
      sourcemap: "inline",
      sourcesContent: true,
      packages: "external",
      external: ["node:*", "npm:*", "jsr:*", "http:*", "https:*"],
      banner: { js: banner },
      charset: "utf8",
      legalComments: "inline",
      logLevel: "silent",
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
      plugins: [ardeaExternals(root)],
      metafile: true,
    });
  } catch (error) {
    const failure = error as { errors?: esbuild.Message[] };
    const messages = (failure.errors ?? []).map((m) =>
      m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text
    );
    throw new BundleError(
      "BUNDLE_FAILED",
      `cannot bundle ${entry}: ${messages.length > 0 ? messages.join("; ") : String(error)}`,
      { cause: error },
    );
  } finally {
    // esbuild's service process would otherwise live (and wake up) as long as this one: a submit bundles once.
    await stop();
  }
  const code = result.outputFiles[0]!.text;
  const sha256 = await sha256Hex(code);
  // A generated entry (esbuild's "<stdin>") is no file: the record's key covers it.
  const inputs = Object.keys(result.metafile.inputs).filter((p) => p !== "<stdin>").map((p) => resolvePath(root, p));
  await rememberBuild(record, dir, { script: absolute, ardeaVersion: version, sha256, inputs, startedMs }, code).catch(
    () => {},
  );
  return { code, sha256, entry, ardeaVersion: version };
}

/**
 * What a build of a script read, in `<bundles>/scripts/<sha256 of its
 * path>.json`: every file esbuild bundled and their folders (a file added
 * beside them may change how an import resolves), each with its
 * `fileStamp`, and the bundle it made (kept as `<sha256>.bundle`). While
 * none of them changed, the script bundles to the same bytes.
 */
interface BuildRecord {
  script: string;
  ardeaVersion: string;
  sha256: string;
  stamps: Record<string, string>;
}

/** The bundle of the last build of `script`, if nothing it read has changed since. */
async function previousBuild(
  record: string,
  dir: string,
  script: string,
  version: string,
): Promise<{ code: string; sha256: string } | undefined> {
  let r: Partial<BuildRecord>;
  try {
    r = JSON.parse(await readTextFile(record)) as Partial<BuildRecord>;
  } catch {
    return undefined; // none, or unreadable: build
  }
  if (
    r.script !== script || r.ardeaVersion !== version || typeof r.sha256 !== "string" || typeof r.stamps !== "object" ||
    r.stamps === null
  ) return undefined;
  const stamps = Object.entries(r.stamps);
  const now = await Promise.all(stamps.map(([path]) => fileStamp(path)));
  if (stamps.some(([, stamp], i) => now[i]?.stamp !== stamp)) return undefined;
  const bytes = await readKeptCopy(dir, r.sha256);
  return bytes === null ? undefined : { code: new TextDecoder().decode(bytes), sha256: r.sha256 };
}

/**
 * Records a build (and keeps its bundle) unless something it read changed
 * after the build started: a later build could then make other bytes.
 */
async function rememberBuild(
  record: string,
  dir: string,
  b: { script: string; ardeaVersion: string; sha256: string; inputs: string[]; startedMs: number },
  code: string,
): Promise<void> {
  const paths = [...new Set([...b.inputs, ...b.inputs.map((p) => resolvePath(p, ".."))])];
  const stamps = await Promise.all(paths.map((p) => fileStamp(p)));
  if (stamps.some((s) => s === undefined || s.changedMs >= b.startedMs)) return;
  await keepCopy(dir, b.sha256, new TextEncoder().encode(code));
  const r: BuildRecord = {
    script: b.script,
    ardeaVersion: b.ardeaVersion,
    sha256: b.sha256,
    stamps: Object.fromEntries(paths.map((p, i) => [p, stamps[i]!.stamp])),
  };
  await writeTextFileAtomic(record, JSON.stringify(r));
}

// ---------------------------------------------------------------- store

/**
 * Puts `bundle` in the object store {@link CODE_BUCKET} (created if missing)
 * under its sha256, with the Ardea version and entry as metadata, and
 * returns the sha256. Storing a bundle that is already there does nothing.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const sha = await storeBundle(nc, await bundleScript("topo.ts"), { replicas: 3 });
 * ```
 */
export async function storeBundle(
  nc: NatsConnection,
  bundle: ScriptBundle,
  options: StoreBundleOptions = {},
): Promise<string> {
  const bytes = new TextEncoder().encode(bundle.code);
  const sha = await sha256Hex(bytes);
  if (sha !== bundle.sha256) {
    throw new BundleError(
      "BUNDLE_CORRUPT",
      `bundle of ${bundle.entry} claims sha256 ${bundle.sha256} but its code hashes to ${sha}`,
    );
  }
  // The containers this machine starts find it here, without the object store.
  await keepCopy(bundleDir(options.cacheDir), sha, bytes);
  return await putCodeObject(nc, sha, bytes, {
    replicas: options.replicas,
    description: `ardea ${bundle.ardeaVersion} bundle of ${bundle.entry}`,
    metadata: { ardeaVersion: bundle.ardeaVersion, entry: bundle.entry },
  });
}

/** What {@link putCodeObject} records with an object. */
export interface CodeObjectInfo {
  /** Replicas of the object store when this call creates it (default 1). */
  replicas?: number | undefined;
  description: string;
  metadata: Record<string, string>;
}

/**
 * Puts `bytes` in the object store {@link CODE_BUCKET} (created if missing)
 * under `sha256`, their hash (lowercase hex), unless an object of that name
 * and digest is there already; returns `sha256`. Bundles and resources
 * folders (cluster/resources.ts) are stored so.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const bytes = new TextEncoder().encode("export {};");
 * await putCodeObject(nc, await sha256Hex(bytes), bytes, { description: "a bundle", metadata: {} });
 * ```
 */
export async function putCodeObject(
  nc: NatsConnection,
  sha256: string,
  bytes: Uint8Array,
  info: CodeObjectInfo,
): Promise<string> {
  const store = await nc.jetstream().views.os(CODE_BUCKET, {
    replicas: info.replicas ?? 1,
    description: "Ardea topology bundles, named by sha256",
  });
  const existing = await store.info(sha256);
  if (existing !== null && !existing.deleted && existing.digest === natsDigest(sha256)) return sha256;
  await store.putBlob({ name: sha256, description: info.description, metadata: info.metadata }, bytes);
  return sha256;
}

// ---------------------------------------------------------------- load

/** What a bundle's banner line records. */
export interface BannerInfo {
  ardeaVersion: string;
  entry: string;
}

/**
 * The banner line of a bundle's code (Ardea version and entry script), or
 * undefined when it has none or it is malformed.
 *
 * @example
 * ```ts
 * readBanner('// ardea-bundle {"ardeaVersion":"0.1.0","entry":"topo.ts"}\n…')?.entry; // "topo.ts"
 * ```
 */
export function readBanner(code: string): BannerInfo | undefined {
  if (!code.startsWith(BANNER_PREFIX)) return undefined;
  const end = code.indexOf("\n");
  try {
    const parsed: unknown = JSON.parse(code.slice(BANNER_PREFIX.length, end < 0 ? undefined : end));
    if (parsed === null || typeof parsed !== "object") return undefined;
    const { ardeaVersion, entry } = parsed as Record<string, unknown>;
    return typeof ardeaVersion === "string" && typeof entry === "string" ? { ardeaVersion, entry } : undefined;
  } catch {
    return undefined;
  }
}

// esbuild prints specifiers in double quotes; any quote is accepted here.
const PLACEHOLDER = /(["'`])ardea:\/([A-Za-z0-9_.\-/]+)\1/g;

/**
 * Where `rel` (a path in the package, e.g. `runtime/mod.ts`) lives in the
 * installation running this module: its source, or, when this module was
 * loaded from the `dist/` build, the transpiled `.js` beside it, so the
 * bundle always shares the module instances the container itself uses.
 */
function installedModule(root: string, rel: string): { path: string; url: string } {
  const self = import.meta.url;
  const fromDist = /\/dist\/cluster\/bundle\.js$/.test(self);
  const path = fromDist ? resolvePath(root, "dist", rel.replace(/\.(m?)ts$/, ".$1js")) : resolvePath(root, rel);
  return { path, url: toFileUrl(path) };
}

/**
 * Replaces every `ardea:/<rel>` placeholder in `code` with the file URL of
 * that module in this installation. Throws `BUNDLE_UNLINKABLE` naming the
 * first module this installation lacks.
 *
 * @example
 * ```ts
 * const linked = await linkBundle('import { submit } from "ardea:/mod.ts";');
 * // 'import { submit } from "file:///…/ardea/mod.ts";'
 * ```
 */
export async function linkBundle(code: string): Promise<string> {
  const root = ardeaRoot();
  const urls = new Map<string, string>();
  for (const match of code.matchAll(PLACEHOLDER)) {
    const rel = match[2]!;
    if (urls.has(rel)) continue;
    const target = installedModule(root, rel);
    if (rel.split("/").includes("..") || !(await fileExists(target.path))) {
      throw new BundleError(
        "BUNDLE_UNLINKABLE",
        `the bundle imports ${ARDEA_PLACEHOLDER}${rel}, which the Ardea installation at ${root} does not have`,
      );
    }
    urls.set(rel, target.url);
  }
  return code.replace(PLACEHOLDER, (_all, _quote: string, rel: string) => JSON.stringify(urls.get(rel)!));
}

/**
 * Fetches the bundle named `sha256` from {@link CODE_BUCKET} (or takes
 * this machine's copy, kept by an earlier store or load, when its bytes
 * still hash to that name), verifies its hash and the Ardea version that
 * made it, links its `ardea:/` imports to this installation and writes it
 * to `<ardeaRoot>/.ardea/bundles/<sha256>.mjs`.
 * Returns that file's absolute path, ready for `import(toFileUrl(path))`.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * import { toFileUrl } from "../runtime/mod.ts";
 * declare const nc: NatsConnection;
 * declare const record: TopologyRecord;
 * const file = await loadBundle(nc, record.bundle);
 * await import(toFileUrl(file)); // runs the script; its submit() reaches this engine
 * ```
 */
export async function loadBundle(nc: NatsConnection, sha256: string, options: LoadBundleOptions = {}): Promise<string> {
  if (!SHA256_HEX.test(sha256)) {
    throw new BundleError(
      "BUNDLE_NOT_FOUND",
      `${JSON.stringify(sha256)} is not a bundle name (64 lowercase hex digits)`,
    );
  }
  const dir = bundleDir(options.cacheDir);
  let bytes = await readKeptCopy(dir, sha256);
  if (bytes === null) {
    bytes = await fetchBundle(nc, sha256);
    await keepCopy(dir, sha256, bytes);
  }
  let code: string;
  try {
    code = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new BundleError("BUNDLE_CORRUPT", `bundle ${sha256} is not UTF-8 text`, { cause: error });
  }
  const banner = readBanner(code);
  if (banner === undefined) throw new BundleError("BUNDLE_CORRUPT", `bundle ${sha256} has no Ardea bundle banner`);
  const expected = options.expectVersion ?? (await ardeaVersion());
  if (banner.ardeaVersion !== expected) {
    throw new BundleError(
      "BUNDLE_VERSION_MISMATCH",
      `bundle ${sha256} of ${banner.entry} was made by Ardea ${banner.ardeaVersion}, but this installation is Ardea ${expected}`,
    );
  }
  const linked = await linkBundle(code);
  const file = resolvePath(dir, `${sha256}.mjs`);
  // Containers on one machine load the same bundle at once: only write when
  // the file is missing or differs, so a complete file is never rewritten
  // under a reader.
  if (!(await fileExists(file)) || (await readTextFile(file)) !== linked) await writeTextFileAtomic(file, linked);
  return file;
}

/** Bundle `sha256`'s bytes from {@link CODE_BUCKET}, their hash checked. */
function fetchBundle(nc: NatsConnection, sha256: string): Promise<Uint8Array> {
  return getCodeObject(nc, sha256, "bundle");
}

/**
 * The bytes of object `sha256` of {@link CODE_BUCKET}, their hash checked.
 * Throws `BUNDLE_NOT_FOUND` (no such store or object) and `BUNDLE_CORRUPT`
 * (other bytes), naming `what` the object is.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * declare const sha: string;
 * const bytes = await getCodeObject(nc, sha, "resources folder");
 * ```
 */
export async function getCodeObject(nc: NatsConnection, sha256: string, what: string): Promise<Uint8Array> {
  // Bind only: a container pointed at the wrong NATS must not create an empty bucket.
  try {
    await (await nc.jetstreamManager()).streams.info(`OBJ_${CODE_BUCKET}`);
  } catch (error) {
    if ((error as Error).message !== "stream not found") throw error;
    throw new BundleError(
      "BUNDLE_NOT_FOUND",
      `no object store "${CODE_BUCKET}" on this NATS: nothing was submitted here`,
    );
  }
  const store = await nc.jetstream().views.os(CODE_BUCKET);
  const bytes = await store.getBlob(sha256);
  if (bytes === null) {
    throw new BundleError("BUNDLE_NOT_FOUND", `no ${what} ${sha256} in object store "${CODE_BUCKET}"`);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== sha256) {
    throw new BundleError(
      "BUNDLE_CORRUPT",
      `${what} ${sha256} in object store "${CODE_BUCKET}" hashes to ${actual}; refusing to load it`,
    );
  }
  return bytes;
}
