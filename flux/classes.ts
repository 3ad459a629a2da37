/**
 * What a Flux `className` names: `./bolts.ts#CountBolt` (a module,
 * relative to the YAML file, and its export), `ardea#Name` (an export of
 * the package root), `some-package#Name`, or one of Storm's class names
 * that Ardea maps to its own ({@link STORM_CLASSES}).
 *
 * @module
 */
import { ShellBolt, ShellSpout } from "../multilang/mod.ts";
import { resolvePath } from "../runtime/mod.ts";
import { Fields } from "../topology/fields.ts";
import { Count } from "../topology/windowing/mod.ts";
import type { ClassRef } from "./schema.ts";
import { LogInfoBolt, TestWordCounter, TestWordSpout } from "./wrappers.ts";

/**
 * Storm's `PartialKeyGrouping` as Flux builds it (`customClass`): it only
 * holds the key fields; the topology gets Ardea's partial-key grouping.
 *
 * @example
 * ```ts
 * new PartialKeyGrouping(["word"]).fields?.toList(); // ["word"]
 * ```
 */
export class PartialKeyGrouping {
  /** The key fields (Storm's no-argument form has none). */
  readonly fields: Fields | undefined;
  constructor(fields?: Fields | readonly string[]) {
    this.fields = fields === undefined ? undefined : fields instanceof Fields ? fields : new Fields(...fields);
  }
}

/** Storm class names that Ardea's own classes stand in for, in Flux files. */
export const STORM_CLASSES: Readonly<Record<string, unknown>> = {
  "org.apache.storm.flux.wrappers.spouts.FluxShellSpout": ShellSpout,
  "org.apache.storm.flux.wrappers.bolts.FluxShellBolt": ShellBolt,
  "org.apache.storm.flux.wrappers.bolts.LogInfoBolt": LogInfoBolt,
  "org.apache.storm.testing.TestWordCounter": TestWordCounter,
  "org.apache.storm.testing.TestWordSpout": TestWordSpout,
  "org.apache.storm.grouping.PartialKeyGrouping": PartialKeyGrouping,
  "org.apache.storm.tuple.Fields": Fields,
  "org.apache.storm.topology.base.BaseWindowedBolt$Count": Count,
};

/**
 * Where `className` points, for a file in folder `dir`; a string with the
 * problem when it names nothing Ardea can load.
 *
 * @example
 * ```ts
 * classRef("./bolts.ts#Split", "/topo"); // { kind: "module", specifier: "/topo/bolts.ts", export: "Split" }
 * classRef("ardea#TopologyBuilder", "/topo"); // { kind: "ardea", export: "TopologyBuilder" }
 * ```
 */
export function classRef(className: string, dir: string): ClassRef | string {
  if (Object.hasOwn(STORM_CLASSES, className)) return { kind: "storm", name: className };
  const hash = className.lastIndexOf("#");
  if (hash < 0) {
    return `"${className}" is not a class Ardea knows; expected "<module>#<export>" (such as "./bolts.ts#CountBolt" ` +
      `or "ardea#Name") or one of Storm's: ${Object.keys(STORM_CLASSES).join(", ")}`;
  }
  const specifier = className.slice(0, hash);
  const name = className.slice(hash + 1);
  if (specifier === "" || !/^[A-Za-z_$][\w$]*$/.test(name)) {
    return `"${className}" should be "<module>#<export>", with the export's name after "#"`;
  }
  if (specifier === "ardea") return { kind: "ardea", export: name };
  const local = specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
  return { kind: "module", specifier: local ? resolvePath(dir, specifier) : specifier, export: name };
}
