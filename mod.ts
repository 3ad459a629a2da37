/**
 * Ardea: a real-time, distributed, fault-tolerant stream processing engine
 * for TypeScript, with Apache Storm's API names.
 *
 * @example
 * ```ts
 * import { TopologyBuilder, Fields, submit } from "ardea";
 * ```
 *
 * @module
 */
export * from "./topology/mod.ts";
export { ComponentFailedError } from "./actors/mod.ts";
export {
  type CompletedTopology,
  type CompleteTopologyOptions,
  completeTopology,
  type ComponentStats,
  LocalCluster,
  onSubmit,
  type RunState,
  type RunSummary,
  submit,
  type SubmitOptions,
  type TaskStats,
  type TopologyHandle,
  type TopologyStats,
} from "./engine/mod.ts";
export { registerType, type TypeCodec } from "./transport/mod.ts";
export { FileStateBackend, MemoryStateBackend, NatsStateBackend, type StateBackend, State, StateError } from "./state/mod.ts";
export {
  effectivelyOnceRecoveryMs,
  encodeForNats,
  JetStreamSpout,
  JetStreamSpoutError,
  type JetStreamSpoutOptions,
  NatsSinkBolt,
  NatsSinkError,
  type NatsSinkOptions,
} from "./transport/mod.ts";
export { type NatsSettings, parseNatsFlags } from "./transport/nats_connect.ts";
