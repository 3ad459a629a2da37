/**
 * What the applications in `examples/apps/` share: flags, seeded random
 * numbers, event time, sources (generator or JetStream), `--out`, and the
 * live view. Copy this folder with an application to start your own.
 *
 * @module
 */
export { FlagError, type ModeFlag, parseAppFlags, parseFlags, reliabilityMode } from "./flags.ts";
export type { StandardDefaults, StandardFlags } from "./flags.ts";
export { Random, zipfWeights } from "./random.ts";
export { EPOCH_MS, formatDuration, formatTime, parseDuration } from "./time.ts";
export { appSource, jsonStreamSpout, paced, replayable } from "./source.ts";
export { natsSettings, openOutput, type Output, outputSink } from "./output.ts";
export { LiveView, printSummary } from "./live.ts";
export { type RunState, runState } from "./state.ts";
