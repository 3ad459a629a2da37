// Module customization hooks for Node 20 (registered by node_loader.mjs via
// module.register; they run on the loader thread).
//
// - load: `.ts` / `.mts` files are transpiled from source with esbuild
//   (esm, es2022, inline source map), so Node runs the same files Deno does.
// - resolve: the bare specifier `ardea` (and `ardea/<sub>`) resolves to the
//   modules the CLI runs, so a user script and the CLI share one module
//   instance of the engine: this repository's .ts sources in a checkout
//   (mod.ts present), the package's dist/ JavaScript when installed from npm
//   (which ships no sources).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

/** esbuild is loaded only when a file is not in the transpile cache. */
let esbuild;
/**
 * Transpiled files, by path and file status (inode, size, change time: any
 * write changes the change time, and no tool can set it back): every process
 * after the first starts without esbuild, and without reading the source.
 */
const cacheDir = new URL(".ardea/ts-cache/", new URL("../", import.meta.url));
const CACHE_VERSION = "2";

const rootUrl = new URL("../", import.meta.url);
const TS_FILE = /\.m?ts$/;

/** @type {Record<string, unknown> | undefined} */
let packageExports;

function exportsMap() {
  if (packageExports === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", rootUrl), "utf8"));
      const exp = pkg.exports;
      packageExports = typeof exp === "string" ? { ".": exp } : (exp ?? {});
    } catch {
      packageExports = {};
    }
  }
  return packageExports;
}

/** Whether this is a checkout (sources present) rather than an installed package (dist/ only). */
const fromSource = isFile(new URL("mod.ts", rootUrl));

/** The target of an `exports` entry: the JavaScript one (`import`, then `default`). */
function jsTarget(entry) {
  if (typeof entry === "string") return entry;
  if (entry !== null && typeof entry === "object") {
    for (const condition of ["import", "default"]) {
      const target = jsTarget(entry[condition]);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}

function isFile(url) {
  try {
    return statSync(url).isFile();
  } catch {
    return false;
  }
}

/** file: URL of `ardea` or `ardea/<sub>`, or undefined if nothing matches. */
function mapArdea(specifier) {
  const sub = specifier === "ardea" ? "" : specifier.slice("ardea/".length);
  let candidates;
  if (fromSource) {
    // dist/ targets in `exports` are built from <sub>.ts / <sub>/mod.ts.
    candidates = sub === "" ? ["mod.ts"] : [sub, `${sub}.ts`, `${sub}/mod.ts`];
  } else {
    const target = jsTarget(exportsMap()[sub === "" ? "." : `./${sub}`]);
    if (target === undefined) return undefined;
    candidates = [target];
  }
  for (const candidate of candidates) {
    const url = new URL(candidate, rootUrl);
    if (url.href.startsWith(rootUrl.href) && isFile(url)) {
      return url.href;
    }
  }
  return undefined;
}

/**
 * Resolve hook. In a checkout: `ardea` → <root>/mod.ts, `ardea/<sub>` →
 * <root>/<sub>[.ts|/mod.ts]. Installed: the package export's JavaScript
 * (`ardea` → <root>/dist/mod.js).
 *
 * @example
 * ```ts
 * // in a topology script run with `node --import ./runtime/node_loader.mjs`:
 * import { TopologyBuilder } from "ardea";
 * ```
 */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === "ardea" || specifier.startsWith("ardea/")) {
    const url = mapArdea(specifier);
    if (url !== undefined) return { url, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

/**
 * Load hook: transpiles `file:` URLs ending in .ts/.mts with esbuild. The
 * files are read synchronously: this thread has nothing else to do while
 * the main thread waits for it, and a promise per read costs more than the
 * read.
 *
 * @example
 * ```ts
 * // node --import ./runtime/node_loader.mjs --enable-source-maps tests/runtime_test.ts
 * ```
 */
export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && TS_FILE.test(new URL(url).pathname)) {
    const filename = fileURLToPath(url);
    const st = statSync(filename, { bigint: true });
    const key = createHash("sha256").update(`${CACHE_VERSION}\0${filename}\0${st.ino}\0${st.size}\0${st.ctimeNs}`)
      .digest("hex");
    const cached = new URL(`${key}.js`, cacheDir);
    try {
      return { format: "module", source: readFileSync(cached, "utf8"), shortCircuit: true };
    } catch {
      // Not cached yet.
    }
    const source = readFileSync(filename, "utf8");
    esbuild ??= await import("esbuild");
    const { code } = esbuild.transformSync(source, {
      loader: "ts",
      format: "esm",
      target: "es2022",
      sourcemap: "inline",
      sourcesContent: false,
      sourcefile: pathToFileURL(filename).href,
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    });
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = new URL(`${key}.${process.pid}.tmp`, cacheDir);
      writeFileSync(tmp, code);
      renameSync(tmp, cached);
    } catch {
      // A read-only installation transpiles every time.
    }
    return { format: "module", source: code, shortCircuit: true };
  }
  return nextLoad(url, context);
}
