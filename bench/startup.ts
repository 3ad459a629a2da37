/**
 * `startup`: wall time of starting processes, from spawn to exit (lower is
 * better): `node bin/ardea.mjs run` of a trivial finite topology
 * (bench/fixtures/trivial_topology.ts) against `node -e ""` and against
 * `node --import ./runtime/node_loader.mjs` of an empty .ts file
 * (bench/fixtures/empty.ts). Always on Node (the node binary running the
 * benchmark, or `node` from PATH under Deno).
 */
import { join } from "node:path";
import process from "node:process";
import { ardeaRoot, runtimeName } from "../runtime/mod.ts";
import { assertExitedOk, type ChildResult, runChild } from "./child.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";

const benchmark: Benchmark = {
  name: "startup",
  description:
    'Wall time of `node bin/ardea.mjs run` of a trivial topology vs `node -e ""` vs the TS loader on an empty .ts',
  async run(opts: BenchOptions) {
    const root = ardeaRoot();
    const node = runtimeName() === "node" ? process.execPath : "node";
    const proc = (
      name: string,
      description: string,
      args: string[],
      check?: (r: ChildResult) => void,
    ): Variant<ChildResult> => ({
      name,
      description,
      run: () => runChild(node, args, root),
      verify: (r) => {
        assertExitedOk(r, name);
        check?.(r);
      },
    });
    const variants = [
      proc("node-e", 'node -e ""', ["-e", ""]),
      proc("node-loader-empty-ts", "node --import ./runtime/node_loader.mjs bench/fixtures/empty.ts", [
        "--import",
        "./runtime/node_loader.mjs",
        join("bench", "fixtures", "empty.ts"),
      ]),
      proc("ardea-run", "node bin/ardea.mjs run bench/fixtures/trivial_topology.ts", [
        join("bin", "ardea.mjs"),
        "run",
        join("bench", "fixtures", "trivial_topology.ts"),
      ], (r) => {
        if (!r.stdout.includes("words: 6 (FINISHED)")) throw new Error(`unexpected output: ${r.stdout.join(" | ")}`);
      }),
    ];
    return await measure({
      unit: "ms",
      unitsPerRun: 1,
      primary: "ms",
      baseline: "node-e",
      variants,
      input: { node, fixture: "bench/fixtures/trivial_topology.ts (3 lines → 1 bolt)" },
    }, opts);
  },
};

export default benchmark;
