/**
 * The shape of one Flux file, as zod schemas, and what a checked file
 * becomes: plain data (JSON-able, so a bundle can carry it).
 *
 * @module
 */
import { z } from "zod";
import { MAX_COMPONENT_TASKS } from "../topology/builder.ts";

/** Flux's grouping types. */
export const GROUPING_TYPES = [
  "SHUFFLE",
  "FIELDS",
  "ALL",
  "GLOBAL",
  "NONE",
  "LOCAL_OR_SHUFFLE",
  "DIRECT",
  "CUSTOM",
] as const;

/** One of {@link GROUPING_TYPES}. */
export type GroupingType = typeof GROUPING_TYPES[number];

const name = z.string().min(1, "expected a non-empty string");
const args = z.array(z.unknown()).optional();
const configMethod = z.strictObject({ name, args });
const property = z.strictObject({ name, value: z.unknown().optional(), ref: name.optional() }).refine(
  (p) => (p.value === undefined) !== (p.ref === undefined),
  "expected either value or ref",
);
const objectKeys = {
  className: name,
  constructorArgs: args,
  configMethods: z.array(configMethod).optional(),
  properties: z.array(property).optional(),
  factory: name.optional(),
  factoryArgs: args,
};
const parallelism = z.custom<number>(
  (n) => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_COMPONENT_TASKS,
  `expected an integer from 1 to ${MAX_COMPONENT_TASKS}`,
);
const grouping = z.strictObject({
  type: z.enum(GROUPING_TYPES, `expected one of ${GROUPING_TYPES.join(", ")}`),
  args: z.array(name).min(1, "expected at least one field name").optional(),
  customClass: z.strictObject(objectKeys).optional(),
  streamId: name.optional(),
}).superRefine((g, ctx) => {
  if (g.type === "FIELDS" && g.args === undefined) {
    ctx.addIssue({ code: "custom", path: ["args"], message: "a FIELDS grouping needs args: the field names" });
  }
  if (g.type !== "FIELDS" && g.args !== undefined) {
    ctx.addIssue({ code: "custom", path: ["args"], message: `args belong to a FIELDS grouping, not ${g.type}` });
  }
  if (g.type === "CUSTOM" && g.customClass === undefined) {
    ctx.addIssue({ code: "custom", path: ["customClass"], message: "a CUSTOM grouping needs customClass" });
  }
  if (g.type !== "CUSTOM" && g.customClass !== undefined) {
    ctx.addIssue({ code: "custom", path: ["customClass"], message: `customClass belongs to CUSTOM, not ${g.type}` });
  }
});

/** What each map of a Flux file may hold, by where it is: for "unknown key" messages. */
export const KEYS = {
  file: ["name", "config", "components", "spouts", "bolts", "streams", "includes"],
  component: ["id", ...Object.keys(objectKeys)],
  vertex: ["id", ...Object.keys(objectKeys), "parallelism"],
  object: Object.keys(objectKeys),
  stream: ["name", "from", "to", "grouping"],
  grouping: ["type", "args", "customClass", "streamId"],
  include: ["resource", "file", "override"],
  configMethod: ["name", "args"],
  property: ["name", "value", "ref"],
} as const;

/** One Flux file as written (before includes are merged). */
export const fluxFileSchema = z.strictObject({
  name: name.optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  components: z.array(z.strictObject({ id: name, ...objectKeys })).optional(),
  spouts: z.array(z.strictObject({ id: name, ...objectKeys, parallelism: parallelism.optional() })).optional(),
  bolts: z.array(z.strictObject({ id: name, ...objectKeys, parallelism: parallelism.optional() })).optional(),
  streams: z.array(z.strictObject({ name: z.string().optional(), from: name, to: name, grouping })).optional(),
  includes: z.array(z.strictObject({ resource: z.boolean().optional(), file: name, override: z.boolean().optional() }))
    .optional(),
});

/** A Flux file as zod checked it. */
export type FluxFile = z.infer<typeof fluxFileSchema>;

/**
 * Where a class comes from: one of Storm's names Ardea maps (`storm`), an
 * export of the `ardea` package (`ardea`), or an export of a module
 * (`module`: an absolute file path, or a package name).
 */
export type ClassRef =
  | { readonly kind: "storm"; readonly name: string }
  | { readonly kind: "ardea"; readonly export: string }
  | { readonly kind: "module"; readonly specifier: string; readonly export: string };

/** An object to build: `className` and how (Flux's `component` without the id). */
export interface ObjectDef {
  readonly className: string;
  /** Where `className` points. */
  readonly class: ClassRef;
  readonly constructorArgs: readonly unknown[];
  readonly configMethods: ReadonlyArray<{ readonly name: string; readonly args: readonly unknown[] }>;
  readonly properties: ReadonlyArray<{ readonly name: string; readonly value?: unknown; readonly ref?: string }>;
  /** A static method of the class that makes the object, called with `factoryArgs`. */
  readonly factory?: string;
  readonly factoryArgs?: readonly unknown[];
  /** `file:line` of its definition, for messages. */
  readonly at: string;
}

/** A component (`components`), a spout or a bolt. */
export interface ComponentDef extends ObjectDef {
  readonly id: string;
}

/** A spout or a bolt: a component with tasks. */
export interface VertexDef extends ComponentDef {
  readonly parallelism: number;
}

/** A stream: `from` → `to` with a grouping. */
export interface StreamDef {
  readonly name?: string;
  readonly from: string;
  readonly to: string;
  readonly grouping: {
    readonly type: GroupingType;
    readonly args?: readonly string[];
    readonly customClass?: ObjectDef;
    readonly streamId?: string;
  };
  readonly at: string;
}

/**
 * A Flux topology, read, merged with its includes and checked: every
 * reference names a component, every stream a spout or bolt and a bolt.
 */
export interface FluxDocument {
  readonly name: string;
  /** The topology config as given (checked with `parseConfig`). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly components: readonly ComponentDef[];
  readonly spouts: readonly VertexDef[];
  readonly bolts: readonly VertexDef[];
  readonly streams: readonly StreamDef[];
  /** The file it was read from, as given. */
  readonly file: string;
}

/**
 * Whether `path` names a Flux file (`.yaml` or `.yml`) rather than a
 * topology script.
 *
 * @example
 * ```ts
 * isFluxFile("topology.yaml"); // true
 * isFluxFile("topology.ts"); // false
 * ```
 */
export function isFluxFile(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}
