/**
 * Restoring tasks from a committed checkpoint: each task gets the state it
 * saved, found by component and index; when a stateful bolt's parallelism
 * changed since (`ardea update`), its keyed state is repartitioned over the
 * new tasks with the fields-grouping hash, so each key lands on the task its
 * tuples now go to. A spout's state is split by the spout itself
 * (`rescaleStates`), or the rescale is refused.
 *
 * @module
 */
import { decodeState, encodeState, partition, State } from "../state/keyed_state.ts";
import type { CommittedCheckpoint, StateBackend } from "../state/state_backend.ts";
import { ArdeaError } from "../topology/errors.ts";
import type { StormTopology } from "../topology/topology.ts";
import { effectivelyOnceRefusal, isStateful } from "../topology/stateful.ts";
import { faultPoint } from "../runtime/mod.ts";
import { stateKey } from "./container.ts";
import { takeWindows, tuplesHeld } from "../topology/windowing/mod.ts";

/**
 * EFFECTIVELY_ONCE needs sources that can rewind: every spout must keep its
 * position in state (implement `initState`, e.g. `BaseStatefulSpout`), and no
 * component may refuse (`EFFECTIVELY_ONCE_REFUSAL`: a shell component).
 * Throws an `ArdeaError` naming the first component that cannot.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * assertRewindable(topology); // before running EFFECTIVELY_ONCE
 * ```
 */
export function assertRewindable(topology: StormTopology): void {
  assertAcyclic(topology);
  for (const def of topology.components.values()) {
    const why = effectivelyOnceRefusal(def.create());
    if (why !== null) {
      throw new ArdeaError(
        "CANNOT_RUN_EFFECTIVELY_ONCE",
        `${def.kind} "${def.id}" cannot run under EFFECTIVELY_ONCE: ${why}`,
      );
    }
  }
  for (const def of topology.spouts()) {
    if (!isStateful(def.create())) {
      throw new ArdeaError(
        "SPOUT_CANNOT_REWIND",
        `spout "${def.id}" keeps no state (no initState), so it cannot rewind to a checkpoint; ` +
          "EFFECTIVELY_ONCE needs replayable sources such as a BaseStatefulSpout",
      );
    }
  }
}

/**
 * The saved state of every task in `tasks` (task key → bytes).
 *
 * @example
 * ```ts
 * import type { StateBackend, StormTopology } from "ardea";
 * declare const backend: StateBackend, topology: StormTopology;
 * const last = (await backend.lastCommitted("wc"))!;
 * const restore = await restoreStates(backend, "wc", last, topology, [...topology.taskToComponent.keys()]);
 * ```
 */
export async function restoreStates(
  backend: StateBackend,
  name: string,
  last: CommittedCheckpoint,
  topology: StormTopology,
  tasks: Iterable<number>,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const saved = new Set(last.meta.tasks);
  const repartitioned = new Map<string, State<unknown, unknown>[]>();
  for (const task of tasks) {
    const component = topology.taskToComponent.get(task)!;
    const count = topology.componentTasks.get(component)!.length;
    const before = last.meta.tasks.filter((k) => k.startsWith(`${component}#`));
    const key = stateKey(topology, task);
    if (before.length === 0) continue;
    if (before.length === count) {
      if (!saved.has(key)) continue;
      const bytes = await backend.load(name, last.checkpointId, key);
      if (bytes !== undefined) out.set(key, bytes);
      faultPoint("restore");
      continue;
    }
    let parts = repartitioned.get(component);
    if (parts === undefined) {
      const states: State<unknown, unknown>[] = [];
      for (const k of before.sort((a, b) => Number(a.split("#")[1]) - Number(b.split("#")[1]))) {
        const bytes = await backend.load(name, last.checkpointId, k);
        if (bytes !== undefined) states.push(decodeState(bytes));
      }
      takeEmptyWindows(component, states);
      const def = topology.components.get(component)!;
      if (def.kind === "spout") {
        // A spout's position is its own business: only the spout can say how it splits.
        const spare = def.create();
        if (!isStateful(spare) || spare.rescaleStates === undefined) {
          throw new ArdeaError(
            "CANNOT_RESCALE_SPOUT",
            `spout "${component}" saved state for ${before.length} tasks and now has ${count}; a spout's position cannot be split (it has no rescaleStates)`,
          );
        }
        parts = Array.from({ length: count }, () => new State<unknown, unknown>());
        spare.rescaleStates(states, parts);
      } else {
        parts = partition(states, count);
      }
      repartitioned.set(component, parts);
    }
    out.set(key, encodeState(parts[Number(key.split("#")[1])]!));
  }
  return out;
}

/**
 * Tuples waiting in windows belong to their task: a windowed bolt holding
 * some cannot be rescaled. Empty windows are dropped from the saved states
 * (the new tasks start with empty windows).
 */
function takeEmptyWindows(component: string, states: readonly State<unknown, unknown>[]): void {
  for (const part of states) {
    const windows = takeWindows(part);
    if (windows !== undefined && tuplesHeld(windows) > 0) {
      throw new ArdeaError(
        "CANNOT_RESCALE_WINDOWS",
        `windowed bolt "${component}" has tuples in its windows at the checkpoint; they cannot be split over a new number of tasks ` +
          "(rescale it when its windows are empty, or keep its parallelism)",
      );
    }
  }
}

/**
 * Aligned checkpoints cannot snapshot tuples travelling round a loop:
 * EFFECTIVELY_ONCE refuses a topology with a cycle, naming a component on it.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * assertAcyclic(topology);
 * ```
 */
export function assertAcyclic(topology: StormTopology): void {
  const state = new Map<string, 1 | 2>();
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === 2) return;
    if (state.get(id) === 1) {
      throw new ArdeaError(
        "CYCLIC_TOPOLOGY",
        `EFFECTIVELY_ONCE cannot checkpoint the cycle ${[...path.slice(path.indexOf(id)), id].join(" → ")}`,
      );
    }
    state.set(id, 1);
    for (const c of topology.components.values()) {
      if (c.inputs.some((i) => i.component === id)) visit(c.id, [...path, id]);
    }
    state.set(id, 2);
  };
  for (const id of topology.components.keys()) visit(id, []);
}
