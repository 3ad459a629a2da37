/**
 * The logical plan: components, their streams and subscriptions, task ids,
 * validated once when the builder creates it.
 *
 * @module
 */
import type { IBolt, ISpout } from "./components.ts";
import { isBasicBolt } from "./components.ts";
import { StreamCollector, type StreamDecl } from "./declarer.ts";
import { checkComponentConfig } from "./config.ts";
import { InvalidTopologyError } from "./errors.ts";
import type { InputDecl } from "./grouping.ts";

/** One spout or bolt of a topology. */
export interface ComponentDef {
  readonly id: string;
  readonly kind: "spout" | "bolt";
  /** Makes a fresh component object (per task and per restart). */
  readonly create: () => ISpout | IBolt;
  /** Whether the bolt is a basic bolt (auto-ack). */
  readonly basic: boolean;
  /** Number of tasks (instances). */
  readonly tasks: number;
  /** Per-component configuration overrides. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly inputs: readonly InputDecl[];
  readonly streams: ReadonlyMap<string, StreamDecl>;
}

/** What the builder hands over for each component. */
export interface ComponentSpec {
  id: string;
  kind: "spout" | "bolt";
  create: () => ISpout | IBolt;
  tasks: number;
  config: Record<string, unknown>;
  inputs: InputDecl[];
}

/**
 * A validated topology (Storm's `StormTopology`). Task ids are assigned from
 * 1 in component-id order, as Storm does.
 *
 * @example
 * ```ts
 * import type { TopologyBuilder } from "ardea";
 * declare const builder: TopologyBuilder;
 * const topo = builder.createTopology();
 * topo.componentTasks.get("split"); // [3, 4, 5, 6]
 * ```
 */
export class StormTopology {
  readonly components: ReadonlyMap<string, ComponentDef>;
  readonly taskToComponent: ReadonlyMap<number, string>;
  readonly componentTasks: ReadonlyMap<string, readonly number[]>;

  constructor(components: ReadonlyMap<string, ComponentDef>) {
    this.components = components;
    const t2c = new Map<number, string>();
    const c2t = new Map<string, number[]>();
    let next = 1;
    for (const id of [...components.keys()].sort()) {
      const ids: number[] = [];
      for (let i = 0; i < components.get(id)!.tasks; i++) {
        t2c.set(next, id);
        ids.push(next++);
      }
      c2t.set(id, ids);
    }
    this.taskToComponent = t2c;
    this.componentTasks = c2t;
  }

  /** Number of tasks in the topology. */
  get taskCount(): number {
    return this.taskToComponent.size;
  }

  /** Component ids of spouts. */
  spouts(): ComponentDef[] {
    return [...this.components.values()].filter((c) => c.kind === "spout");
  }

  /** Component ids of bolts. */
  bolts(): ComponentDef[] {
    return [...this.components.values()].filter((c) => c.kind === "bolt");
  }

  /** Subscribers of `component`'s `stream`: bolt id and its input declaration. */
  subscribers(component: string, stream: string): Array<{ bolt: ComponentDef; input: InputDecl }> {
    const out: Array<{ bolt: ComponentDef; input: InputDecl }> = [];
    for (const c of this.components.values()) {
      for (const input of c.inputs) {
        if (input.component === component && input.stream === stream) out.push({ bolt: c, input });
      }
    }
    return out;
  }
}

function err(code: string, msg: string): InvalidTopologyError {
  return new InvalidTopologyError(code, msg);
}

/**
 * Validates component specs and builds the topology. Throws an
 * `InvalidTopologyError` naming the component and stream at fault.
 *
 * @example
 * ```ts
 * declare const specs: ComponentSpec[];
 * const topo = buildTopology(specs); // what TopologyBuilder.createTopology() calls
 * ```
 */
export function buildTopology(specs: readonly ComponentSpec[]): StormTopology {
  if (specs.length === 0) throw err("EMPTY_TOPOLOGY", "the topology has no components");
  if (!specs.some((s) => s.kind === "spout")) throw err("NO_SPOUT", "the topology has no spout");
  const defs = new Map<string, ComponentDef>();
  for (const s of specs) {
    if (defs.has(s.id)) throw err("DUPLICATE_COMPONENT", `component id "${s.id}" is used twice`);
    const kind = s.kind;
    let proto: ISpout | IBolt;
    try {
      proto = s.create();
    } catch (e) {
      throw new InvalidTopologyError("BAD_COMPONENT", `${kind} "${s.id}": ${(e as Error).message}`, { cause: e });
    }
    const required = kind === "spout" ? "nextTuple" : "execute";
    if (typeof (proto as unknown as Record<string, unknown>)[required] !== "function") {
      throw err("BAD_COMPONENT", `${kind} "${s.id}" has no ${required}() method`);
    }
    if (typeof proto.declareOutputFields !== "function") {
      throw err("BAD_COMPONENT", `${kind} "${s.id}" has no declareOutputFields() method`);
    }
    const declarer = new StreamCollector(s.id);
    try {
      proto.declareOutputFields(declarer);
    } catch (e) {
      throw new InvalidTopologyError(
        "BAD_DECLARATION",
        `${kind} "${s.id}": declareOutputFields failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const own = proto.getComponentConfiguration?.() ?? {};
    checkComponentConfig(s.id, { ...own, ...s.config });
    defs.set(s.id, {
      id: s.id,
      kind,
      create: s.create,
      basic: kind === "bolt" && isBasicBolt(proto as IBolt),
      tasks: s.tasks,
      config: { ...own, ...s.config },
      inputs: s.inputs,
      streams: declarer.streams,
    });
  }
  for (const c of defs.values()) {
    if (c.kind === "bolt" && c.inputs.length === 0) {
      throw err("NO_INPUT", `bolt "${c.id}" subscribes to no stream`);
    }
    const seen = new Set<string>();
    for (const input of c.inputs) {
      const src = defs.get(input.component);
      if (!src) {
        throw err(
          "UNKNOWN_COMPONENT",
          `bolt "${c.id}" subscribes to component "${input.component}", which does not exist`,
        );
      }
      const stream = src.streams.get(input.stream);
      if (!stream) {
        const declared = [...src.streams.keys()].map((k) => `"${k}"`).join(", ") || "no stream";
        throw err(
          "UNKNOWN_STREAM",
          `bolt "${c.id}" subscribes to stream "${input.stream}" of "${input.component}", which declares only ${declared}`,
        );
      }
      const key = `${input.component}:${input.stream}`;
      if (seen.has(key)) {
        throw err(
          "DUPLICATE_SUBSCRIPTION",
          `bolt "${c.id}" subscribes to stream "${input.stream}" of "${input.component}" twice`,
        );
      }
      seen.add(key);
      const g = input.grouping;
      if (g.type === "fields" || g.type === "partialKey") {
        if (g.fields.size() === 0) {
          throw err(
            "BAD_GROUPING",
            `bolt "${c.id}" groups stream "${input.stream}" of "${input.component}" on no field`,
          );
        }
        for (const f of g.fields) {
          if (!stream.fields.contains(f)) {
            throw err(
              "UNKNOWN_FIELD",
              `bolt "${c.id}" groups stream "${input.stream}" of "${input.component}" on field "${f}", which is not one of ${stream.fields}`,
            );
          }
        }
      }
      if (g.type === "direct" && !stream.direct) {
        throw err(
          "NOT_DIRECT",
          `bolt "${c.id}" uses directGrouping on stream "${input.stream}" of "${input.component}", which is not declared direct`,
        );
      }
      if (g.type !== "direct" && stream.direct) {
        throw err(
          "DIRECT_STREAM",
          `bolt "${c.id}" uses ${g.type} grouping on direct stream "${input.stream}" of "${input.component}"; use directGrouping`,
        );
      }
    }
  }
  return new StormTopology(defs);
}
