/**
 * Flux topology files: a topology written as YAML (Storm's Flux format),
 * read with {@link readFlux}, built with {@link buildFluxTopology} and run
 * with {@link submitFlux}, as `ardea run topology.yaml` and
 * `ardea submit topology.yaml` do.
 *
 * @example
 * ```ts
 * import { importFluxModules, readFlux, submitFlux } from "./mod.ts";
 * const doc = await readFlux("examples/flux/word_count.yaml", { filter: "dev.properties" });
 * const handle = await submitFlux(doc, await importFluxModules(doc));
 * await handle.done;
 * ```
 *
 * @module
 */
export { buildFluxTopology, type FluxModules, moduleSpecifiers } from "./build.ts";
export { classRef, PartialKeyGrouping, STORM_CLASSES } from "./classes.ts";
export { describeFlux } from "./describe.ts";
export { readFlux, type ReadFluxOptions } from "./document.ts";
export { FluxError } from "./errors.ts";
export { parseProperties } from "./properties.ts";
export { fluxEntry, importFluxModules, submitFlux } from "./run.ts";
export {
  type ClassRef,
  type ComponentDef,
  type FluxDocument,
  GROUPING_TYPES,
  type GroupingType,
  isFluxFile,
  type ObjectDef,
  type StreamDef,
  type VertexDef,
} from "./schema.ts";
export { LogInfoBolt, TestWordCounter, TestWordSpout } from "./wrappers.ts";
