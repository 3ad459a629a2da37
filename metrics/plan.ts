/**
 * A topology's logical plan as plain JSON for the tracker: components with
 * their tasks, streams and inputs, and the edges of the graph with their
 * groupings.
 *
 * @module
 */
import type { Grouping } from "../topology/grouping.ts";
import type { StormTopology } from "../topology/topology.ts";

/** A grouping as JSON. */
export interface GroupingJson {
  type: Grouping["type"];
  /** Fields of a fields or partialKey grouping. */
  fields?: string[];
  /** Class name of a custom grouping. */
  name?: string;
}

/** One component of the plan. */
export interface ComponentPlan {
  id: string;
  kind: "spout" | "bolt";
  parallelism: number;
  tasks: number[];
  config: Record<string, unknown>;
  streams: Array<{ id: string; fields: string[]; direct: boolean }>;
  inputs: Array<{ component: string; stream: string; grouping: GroupingJson }>;
}

/** An edge of the graph: `to` subscribes to `stream` of `from`. */
export interface StreamEdge {
  from: string;
  to: string;
  stream: string;
  grouping: GroupingJson;
}

/** The logical plan as JSON. */
export interface LogicalPlan {
  spouts: string[];
  bolts: string[];
  components: ComponentPlan[];
  edges: StreamEdge[];
  taskCount: number;
}

/**
 * A grouping as JSON, and a short label for a graph edge.
 *
 * @example
 * ```ts
 * import { Fields } from "ardea";
 * groupingJson({ type: "fields", fields: new Fields("word") }); // { type: "fields", fields: ["word"] }
 * ```
 */
export function groupingJson(g: Grouping): GroupingJson {
  if (g.type === "fields" || g.type === "partialKey") return { type: g.type, fields: g.fields.toList() };
  if (g.type === "custom") return { type: g.type, name: (g.grouping as object).constructor?.name ?? "custom" };
  return { type: g.type };
}

/** A JSON-safe copy of a config object (functions and symbols dropped, bigints as strings). */
export function jsonSafe(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "function" || typeof v === "symbol") return undefined;
    return v;
  });
  return text === undefined ? {} : JSON.parse(text) as Record<string, unknown>;
}

/**
 * The logical plan of `topology`.
 *
 * @example
 * ```ts
 * import type { TopologyBuilder } from "ardea";
 * declare const builder: TopologyBuilder;
 * const plan = logicalPlan(builder.createTopology());
 * plan.edges; // [{ from: "sentences", to: "split", stream: "default", grouping: { type: "shuffle" } }, …]
 * ```
 */
export function logicalPlan(topology: StormTopology): LogicalPlan {
  const components: ComponentPlan[] = [];
  const edges: StreamEdge[] = [];
  for (const id of [...topology.components.keys()].sort()) {
    const def = topology.components.get(id)!;
    components.push({
      id,
      kind: def.kind,
      parallelism: def.tasks,
      tasks: [...(topology.componentTasks.get(id) ?? [])],
      config: jsonSafe(def.config),
      streams: [...def.streams.values()].map((s) => ({ id: s.id, fields: s.fields.toList(), direct: s.direct })),
      inputs: def.inputs.map((i) => ({ component: i.component, stream: i.stream, grouping: groupingJson(i.grouping) })),
    });
    for (const i of def.inputs) {
      edges.push({ from: i.component, to: id, stream: i.stream, grouping: groupingJson(i.grouping) });
    }
  }
  return {
    spouts: components.filter((c) => c.kind === "spout").map((c) => c.id),
    bolts: components.filter((c) => c.kind === "bolt").map((c) => c.id),
    components,
    edges,
    taskCount: topology.taskCount,
  };
}
