/**
 * The run states of a topology, as in Heron: the one list every part reads
 * (the topology record, the `stop` message, container metrics, the engine's
 * `RunState`, the CLI, the tracker and its Prometheus series).
 *
 * `SUBMITTED` (record written, containers starting) → `RUNNING` ⇄ `PAUSED`
 * (spouts held by `deactivate`) → one of the {@link TERMINAL_STATES}
 * (`FINISHED`: every spout's input ended; `KILLED`; `FAILED`). A process
 * running a topology is never `SUBMITTED` ({@link RunState}).
 *
 * @module
 */
import { z } from "zod";

/** Every state of a topology (the record's `state`). */
export const topologyStateSchema = z.enum(["SUBMITTED", "RUNNING", "PAUSED", "FINISHED", "KILLED", "FAILED"]);
/** A topology's state (the record's `state`). */
export type TopologyState = z.infer<typeof topologyStateSchema>;
/** Every state of a topology, in the order of {@link topologyStateSchema}. */
export const TopologyStates: readonly TopologyState[] = topologyStateSchema.options;

/** How a run ends (the `stop` message's `state`). */
export const terminalStateSchema = topologyStateSchema.extract(["FINISHED", "KILLED", "FAILED"]);
/** How a run ended. */
export type TerminalState = z.infer<typeof terminalStateSchema>;
/** The states a run ends in. */
export const TERMINAL_STATES: readonly TerminalState[] = terminalStateSchema.options;

/** The state of a run inside a process: running, paused, or how it ended (container metrics' `state`). */
export const runStateSchema = topologyStateSchema.exclude(["SUBMITTED"]);
/** The state of a run inside a process (the engine's `RunState`). */
export type RunState = z.infer<typeof runStateSchema>;
/** The states of a run inside a process, in order (a Prometheus series each). */
export const RunStates: readonly RunState[] = runStateSchema.options;

/**
 * Whether `state` is one a run ends in (`FINISHED`, `KILLED`, `FAILED`).
 * Every other state is live: its record may still change.
 *
 * @example
 * ```ts
 * isTerminal("KILLED"); // true
 * isTerminal("SUBMITTED"); // false
 * ```
 */
export function isTerminal(state: string): state is TerminalState {
  return state === "FINISHED" || state === "KILLED" || state === "FAILED";
}

/**
 * Whether a run in `state` has started and not ended (`RUNNING` or
 * `PAUSED`): the states `activate`, `deactivate`, `restart` and `update`
 * act on.
 *
 * @example
 * ```ts
 * isRunning("PAUSED"); // true
 * isRunning("SUBMITTED"); // false
 * ```
 */
export function isRunning(state: string): state is "RUNNING" | "PAUSED" {
  return state === "RUNNING" || state === "PAUSED";
}
