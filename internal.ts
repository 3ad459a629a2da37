/**
 * Ardea's internals for tools, tests and benchmarks: everything `ardea`
 * exports, plus the parts of the model that are not public API (the tuple
 * implementation, `buildTopology`, the fields hash, config helpers, …).
 * Anything here may change in any release; a topology script needs only
 * `ardea`.
 *
 * @example
 * ```ts
 * import { buildTopology, hashFields, TupleImpl } from "ardea/internal";
 * ```
 *
 * @module
 */
export * from "./mod.ts";
export * from "./topology/mod.ts";
