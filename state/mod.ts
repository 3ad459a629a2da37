/**
 * State of the EFFECTIVELY_ONCE mode: the {@link StateBackend} interface
 * with its memory, file and NATS implementations, and keyed state.
 *
 * @example
 * ```ts
 * import { FileStateBackend, State, encodeState } from "./mod.ts";
 * const backend = new FileStateBackend(".ardea/state");
 * await backend.save("wc", 1, "count.1", encodeState(new State([["the", 3]])));
 * await backend.commit("wc", 1, { tasks: ["count.1"] });
 * ```
 *
 * @module
 */
export { type CheckpointMeta, type CommittedCheckpoint, type StateBackend, StateError } from "./state_backend.ts";
export { MemoryStateBackend } from "./memory_state_backend.ts";
export { FileStateBackend, type FileStateBackendOptions } from "./file_state_backend.ts";
export {
  DEFAULT_INLINE_LIMIT,
  NatsStateBackend,
  type NatsStateBackendOptions,
  natsStateKeys,
  STATE_BUCKET,
  STATE_OBJECT_BUCKET,
} from "./nats_state_backend.ts";
export { decodeState, defaultKeyHash, encodeState, partition, partitionOf, State } from "./keyed_state.ts";
