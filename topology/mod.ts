/**
 * The topology model: builder, components, groupings, streams, config,
 * logical plan, and the fields hash that groupings and keyed state agree on.
 * Imports nothing else of Ardea.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./fields.ts";
export * from "./config.ts";
export * from "./tuple.ts";
export * from "./fields_hash.ts";
export * from "./declarer.ts";
export * from "./collectors.ts";
export * from "./components.ts";
export * from "./grouping.ts";
export * from "./context.ts";
export * from "./metrics.ts";
export * from "./instantiate.ts";
export * from "./topology.ts";
export * from "./builder.ts";
export * from "./functional.ts";
export * from "./stateful.ts";
export * from "./windowing/mod.ts";
