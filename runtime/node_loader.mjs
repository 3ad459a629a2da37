// Lets Node 20 run Ardea's TypeScript sources directly:
//
//   node --import ./runtime/node_loader.mjs topology.ts
//
// Registers node_hooks.mjs (transpile `.ts` with esbuild, resolve `ardea` to
// this repository) and turns on source maps so stack traces name .ts lines.
import { register } from "node:module";
import process from "node:process";

process.setSourceMapsEnabled(true);
register("./node_hooks.mjs", import.meta.url);
