#!/usr/bin/env node
// Transpiles every library .ts file (all but tests/, testing/, bench/, examples/,
// scripts/, node_modules/, dist/ and *_test.ts) to dist/ with esbuild,
// rewriting relative `.ts` import specifiers to `.js`, so that plain Node
// (no loader) and Deno (which will not strip types under node_modules) can
// import the package through `exports`. Then emits declarations (dist/**/*.d.ts,
// tsconfig.build.json) with tsc when it is installed (a dev dependency), with
// the same rewriting, so a user project type-checks against them.
//
//   node scripts/build.mjs            JavaScript and declarations
//   node scripts/build.mjs --no-types JavaScript only (fast)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outDir = join(root, "dist");
const SKIP_DIRS = new Set(["tests", "testing", "bench", "examples", "scripts", "node_modules", "dist", "coverage"]);

function* libraryFiles(dir, top) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (top && SKIP_DIRS.has(entry.name)) continue;
      yield* libraryFiles(path, false);
    } else if (
      entry.isFile() && /\.m?ts$/.test(entry.name) && !entry.name.endsWith(".d.ts") &&
      !/_test\.m?ts$/.test(entry.name)
    ) {
      yield path;
    }
  }
}

// esbuild and tsc print specifiers in double quotes after `from`, `import` or `import(`.
const RELATIVE_TS = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"(\.{1,2}\/[^"]*?)\.(m?)ts"/g;

/**
 * Rewrites relative `.ts` / `.mts` specifiers in esbuild output to `.js` / `.mjs`.
 *
 * @example
 * ```js
 * rewriteSpecifiers('import { a } from "./a.ts";'); // 'import { a } from "./a.js";'
 * ```
 */
export function rewriteSpecifiers(code) {
  return code.replace(RELATIVE_TS, (_all, lead, path, m) => `${lead}"${path}.${m}js"`);
}

function build() {
  const withTypes = !process.argv.includes("--no-types");
  rmSync(outDir, { recursive: true, force: true });
  let count = 0;
  const failures = [];
  for (const file of libraryFiles(root, true)) {
    const rel = relative(root, file);
    const outFile = join(outDir, rel.replace(/\.(m?)ts$/, ".$1js"));
    const mapName = `${outFile.slice(dirname(outFile).length + 1)}.map`;
    try {
      const { code, map } = transformSync(readFileSync(file, "utf8"), {
        // Deno type-checks a .js file imported by path (a deno.json import
        // map to node_modules/ardea/dist/mod.js) against the declaration this names.
        banner: withTypes ? `/* @ts-self-types="./${mapName.replace(/\.m?js\.map$/, ".d.ts")}" */` : undefined,
        loader: "ts",
        format: "esm",
        target: "es2022",
        sourcemap: "external",
        sourcefile: relative(dirname(outFile), file).split(sep).join("/"),
        tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
      });
      mkdirSync(dirname(outFile), { recursive: true });
      writeFileSync(outFile, `${rewriteSpecifiers(code)}//# sourceMappingURL=${mapName}\n`);
      writeFileSync(`${outFile}.map`, map);
      count++;
    } catch (error) {
      failures.push(`${rel}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const failure of failures) process.stderr.write(`build: ${failure}\n`);
  process.stdout.write(
    `build: ${count} files -> ${relative(root, outDir)}/${failures.length ? `, ${failures.length} failed` : ""}\n`,
  );
  if (failures.length > 0) return 1;
  return withTypes ? declarations() : 0;
}

function* declarationFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarationFiles(path);
    else if (entry.name.endsWith(".d.ts")) yield path;
  }
}

/** Emits dist/**\/*.d.ts with tsc and rewrites their `.ts` specifiers; 0 on success. */
function declarations() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) {
    // An installation without dev dependencies (e.g. `prepare` of a git dependency).
    process.stdout.write("build: typescript not installed, no declarations\n");
    return 0;
  }
  const result = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) {
    process.stderr.write(`build: tsc (declarations) failed with ${result.status ?? result.signal}\n`);
    return 1;
  }
  let count = 0;
  for (const file of declarationFiles(outDir)) {
    const text = readFileSync(file, "utf8");
    const rewritten = rewriteSpecifiers(text);
    if (rewritten !== text) writeFileSync(file, rewritten);
    count++;
  }
  process.stdout.write(`build: ${count} declarations -> ${relative(root, outDir)}/\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = build();
