/**
 * `instances`: heap and start time of 10 000 tasks of a no-op bolt in one
 * embedded container, each run in a fresh `node --expose-gc` child
 * (bench/instances_child.ts) so that heap deltas are clean. Baseline: the
 * same number of bolt objects built and prepared by hand, no engine.
 *
 * Primary figure: wall time of the child (ms). Metrics, as the child
 * reports them: `start-ms` (submit() → the last prepare()), `heap-per-task`
 * (heapUsed after GC, minus before, divided by the task count, in bytes;
 * read after the topology idled 500 ms), `external-per-task` (the same for
 * memoryUsage().external: typed-array stores, outside heapUsed),
 * `rss-delta-MB`, `kill-ms`.
 */
import { join } from "node:path";
import process from "node:process";
import { ardeaRoot, runtimeName } from "../runtime/mod.ts";
import { assertExitedOk, type ChildResult, runChild } from "./child.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";

/** Tasks of the no-op bolt. */
export const TASKS = 10_000;

interface ChildReport {
  mode: string;
  tasks: number;
  prepared: number;
  startMs: number;
  stopMs: number;
  heapDelta: number;
  heapPerTask: number;
  rssDelta: number;
  externalDelta: number;
}

const report = (r: ChildResult): ChildReport => JSON.parse(r.stdout.at(-1) ?? "null") as ChildReport;

const benchmark: Benchmark = {
  name: "instances",
  description:
    `Heap per idle task and start time of ${TASKS} no-op bolt tasks in one embedded container (node --expose-gc child)`,
  async run(opts: BenchOptions) {
    const root = ardeaRoot();
    const node = runtimeName() === "node" ? process.execPath : "node";
    const child = (name: string, mode: "ardea" | "plain", description: string): Variant<ChildResult> => ({
      name,
      description,
      run: () =>
        runChild(
          node,
          [
            "--expose-gc",
            "--import",
            "./runtime/node_loader.mjs",
            join("bench", "instances_child.ts"),
            mode,
            String(TASKS),
          ],
          root,
          120_000,
        ),
      verify: (r) => {
        assertExitedOk(r, name);
        const x = report(r);
        if (x?.prepared !== TASKS) throw new Error(`${x?.prepared} of ${TASKS} tasks prepared`);
      },
      metrics: (r) => {
        const x = report(r);
        return {
          "start-ms": x.startMs,
          "heap-per-task": x.heapPerTask,
          "heap-delta-MB": x.heapDelta / 2 ** 20,
          "rss-delta-MB": x.rssDelta / 2 ** 20,
          "external-per-task": x.externalDelta / TASKS,
          ...(mode === "ardea" ? { "kill-ms": x.stopMs } : {}),
        };
      },
    });
    return await measure({
      unit: "ms",
      unitsPerRun: 1,
      primary: "ms",
      baseline: "plain-objects",
      variants: [
        child(
          "plain-objects",
          "plain",
          `${TASKS} NoopBolt objects, prepare()d with a stub collector, kept in an array`,
        ),
        child("ardea-10k-tasks", "ardea", `embedded topology: idle spout → no-op bolt ×${TASKS} (shuffle)`),
      ],
      metrics: [
        { name: "start-ms", unit: "ms", lowerIsBetter: true },
        { name: "heap-per-task", unit: "B", lowerIsBetter: true },
        { name: "heap-delta-MB", unit: "MB", lowerIsBetter: true },
        { name: "rss-delta-MB", unit: "MB", lowerIsBetter: true },
        { name: "external-per-task", unit: "B", lowerIsBetter: true },
        { name: "kill-ms", unit: "ms", lowerIsBetter: true },
      ],
      goals: [
        { variant: "ardea-10k-tasks", metric: "heap-per-task", atMost: 10 * 1024 },
        { variant: "ardea-10k-tasks", metric: "start-ms", atMost: 2000 },
      ],
      input: { tasks: TASKS, node, settleMs: 500 },
    }, opts);
  },
};

export default benchmark;
