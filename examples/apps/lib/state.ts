/**
 * Where an application's EFFECTIVELY_ONCE checkpoints go when it runs
 * embedded. A generated run is a run of its own: by default it checkpoints
 * into a fresh folder, starts clean, and removes the folder at the end, so
 * that two runs (or the Node and Deno runs of a test) never share one and a
 * second run does not resume a finished first. With `--state-dir DIR` the
 * checkpoints stay in DIR, and a run started again there (after a crash, a
 * SIGKILL, Ctrl-C) resumes from the last one.
 *
 * On a cluster (`ardea submit`) checkpoints live in NATS whatever this says.
 *
 * @module
 */
import { env, pid, removePath, resolvePath } from "../../../runtime/mod.ts";
import type { StandardFlags } from "./flags.ts";

/** The state settings of one run, and what to do when it ends. */
export interface RunState {
  /** Config keys to add to the topology's config. */
  readonly config: {
    "topology.state.dir": string;
    "topology.stateful.start.clean": boolean;
  };
  /** Removes the run's own folder (nothing with `--state-dir`). */
  dispose(): Promise<void>;
}

/**
 * The state folder of a run of `app` (see the module doc). The folder is
 * named, not made: the engine makes it when the run is embedded.
 *
 * @example
 * ```ts
 * const state = runState({}, "trending");
 * state.config["topology.stateful.start.clean"]; // true: a fresh folder of its own
 * await state.dispose();
 * ```
 */
export function runState(flags: Pick<StandardFlags, "stateDir">, app: string): RunState {
  if (flags.stateDir !== undefined) {
    return {
      config: { "topology.state.dir": flags.stateDir, "topology.stateful.start.clean": false },
      dispose: async () => {},
    };
  }
  const dir = resolvePath(env("TMPDIR") ?? "/tmp", `ardea-${app}-${pid()}-${Date.now().toString(36)}`);
  return {
    config: { "topology.state.dir": dir, "topology.stateful.start.clean": true },
    dispose: () => removePath(dir),
  };
}
