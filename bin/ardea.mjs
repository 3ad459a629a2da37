#!/usr/bin/env node
// The `ardea` command.
//
// In this repository (mod.ts is next to bin/) Ardea runs from its .ts
// sources: on Node through the TypeScript loader (runtime/node_loader.mjs),
// on Deno natively. Installed from npm the package holds no sources, only
// the JavaScript and declarations of dist/: the CLI runs from dist/ on both
// runtimes (Deno will not strip types under node_modules), and on Node the
// loader is still registered so the user's own topology.ts can be imported;
// it resolves `ardea` to the same dist/ modules the CLI runs, so the script
// and the CLI share one instance of the engine.
import { existsSync } from "node:fs";
import process from "node:process";

const deno = /** @type {{ args: string[], exitCode: number } | undefined} */ (
  /** @type {Record<string, unknown>} */ (globalThis).Deno
);
const fromSource = existsSync(new URL("../mod.ts", import.meta.url));
if (deno === undefined) await import("../runtime/node_loader.mjs");

const lib = fromSource
  ? { main: "../cli/main.ts", runtime: "../runtime/mod.ts" }
  : { main: "../dist/cli/main.js", runtime: "../dist/runtime/mod.js" };
const { main } = await import(lib.main);
const { exit, flushOutput } = await import(lib.runtime);
const code = await main(deno === undefined ? process.argv.slice(2) : [...deno.args]);
// Exit explicitly, once output is out, so a timer or socket the topology
// script left open cannot keep `ardea` running after its topologies ended.
await flushOutput();
exit(code);
