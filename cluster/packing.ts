/**
 * The packing plan: which container runs which task. Round-robin over the
 * containers, component by component, so that every component is spread.
 *
 * @module
 */
import { ArdeaError } from "../topology/errors.ts";
import { StormTopology } from "../topology/topology.ts";

/**
 * Task ids (Storm's numbering: components in id order, from 1) and a
 * round-robin packing over `containers`, for given task counts.
 *
 * @example
 * ```ts
 * planFor({ count: 2, lines: 1 }, 2); // components { count: [1, 2], lines: [3] }, packing { 1: 0, 2: 1, 3: 0 }
 * ```
 */
export function planFor(counts: Readonly<Record<string, number>>, containers: number) {
  if (!Number.isInteger(containers) || containers < 1) {
    throw new RangeError(`containers must be ≥ 1, got ${containers}`);
  }
  const components: Record<string, number[]> = {};
  const packing: Record<string, number> = {};
  let task = 1;
  let next = 0;
  for (const id of Object.keys(counts).sort()) {
    const tasks: number[] = (components[id] = []);
    for (let k = 0; k < counts[id]!; k++) {
      tasks.push(task);
      packing[String(task++)] = next;
      next = (next + 1) % containers;
    }
  }
  return { components, packing };
}

/**
 * Assigns every task of `topology` to one of `containers` containers.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * const plan = packRoundRobin(topology, 2); // Map { 1 => 0, 2 => 1, 3 => 0, … }
 * ```
 */
export function packRoundRobin(topology: StormTopology, containers: number): Map<number, number> {
  const counts = Object.fromEntries([...topology.componentTasks].map(([id, t]) => [id, t.length]));
  return new Map(Object.entries(planFor(counts, containers).packing).map(([t, c]) => [Number(t), c]));
}

/**
 * The topology with some components' task counts replaced (`ardea update
 * --component-parallelism`). Task ids are renumbered as Storm numbers them.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * const bigger = rescale(topology, { split: 8 });
 * bigger.componentTasks.get("split")!.length; // 8
 * ```
 */
export function rescale(topology: StormTopology, parallelism: Readonly<Record<string, number>>): StormTopology {
  for (const [id, n] of Object.entries(parallelism)) {
    if (!topology.components.has(id)) throw new ArdeaError("UNKNOWN_COMPONENT", `no component "${id}" in the topology`);
    if (!Number.isInteger(n) || n < 1) {
      throw new ArdeaError("BAD_PARALLELISM", `parallelism of "${id}" must be an integer ≥ 1, got ${n}`);
    }
  }
  const defs = new Map(
    [...topology.components].map((
      [id, d],
    ) => [id, parallelism[id] === undefined ? d : { ...d, tasks: parallelism[id]! }]),
  );
  return new StormTopology(defs);
}
