/**
 * The packing plan: which container runs which task. Round-robin over the
 * containers, component by component, so that every component is spread.
 *
 * @module
 */
import type { StormTopology } from "../topology/topology.ts";

/**
 * Assigns every task of `topology` to one of `containers` containers.
 *
 * @example
 * ```ts
 * const plan = packRoundRobin(topology, 2); // Map { 1 => 0, 2 => 1, 3 => 0, … }
 * ```
 */
export function packRoundRobin(topology: StormTopology, containers: number): Map<number, number> {
  if (!Number.isInteger(containers) || containers < 1) throw new RangeError(`containers must be ≥ 1, got ${containers}`);
  const plan = new Map<number, number>();
  let next = 0;
  for (const id of [...topology.components.keys()].sort()) {
    for (const task of topology.componentTasks.get(id)!) {
      plan.set(task, next);
      next = (next + 1) % containers;
    }
  }
  return plan;
}
