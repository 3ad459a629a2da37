// Runs the `ardea` command on Node from the package's JavaScript build
// (dist/), without the TypeScript loader:
//
//   node runtime/node_dist.mjs container word-count --index 0
//
// A container process runs only JavaScript (the engine, and the topology's
// bundle, which esbuild made), so registering the loader would only cost
// its start-up (a loader thread, and a hop to it for every module).
// Schedulers start containers this way when dist/ is current
// (runtime/process.ts `builtArdeaCommand`).
import process from "node:process";

// As runtime/node_loader.mjs: stack traces name the .ts lines (the bundle's and the engine's).
process.setSourceMapsEnabled(true);
const { main } = await import("../dist/cli/main.js");
const { exit, flushOutput } = await import("../dist/runtime/mod.js");
const code = await main(process.argv.slice(2));
await flushOutput();
exit(code);
