#!/usr/bin/env node
// The `ardea` command. On Node it first registers the TypeScript loader
// (runtime/node_loader.mjs) so the CLI and the user's topology script run
// from .ts source and share one instance of the `ardea` module; on Deno
// (`deno run -A bin/ardea.mjs …`) TypeScript runs natively.
import process from "node:process";

const deno = /** @type {{ args: string[], exitCode: number } | undefined} */ (
  /** @type {Record<string, unknown>} */ (globalThis).Deno
);
if (deno === undefined) await import("../runtime/node_loader.mjs");

const { main } = await import("../cli/main.ts");
const { exit, flushOutput } = await import("../runtime/mod.ts");
const code = await main(deno === undefined ? process.argv.slice(2) : [...deno.args]);
// Exit explicitly, once output is out, so a timer or socket the topology
// script left open cannot keep `ardea` running after its topologies ended.
await flushOutput();
exit(code);
