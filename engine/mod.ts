/**
 * The engine: containers, routing, submit, the testing helper.
 *
 * @module
 */
export * from "./code_dir.ts";
export * from "./container.ts";
export * from "./groupings.ts";
export * from "./submit.ts";
export * from "./testing.ts";
