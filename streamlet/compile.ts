/**
 * Compiles a streamlet graph into an ordinary topology: one component per
 * streamlet, except that chains of stateless operators are fused into one
 * bolt. Every edge carries tuples of one field, "value" (the element).
 *
 * @module
 */
import { type BoltDeclarer, TopologyBuilder } from "../topology/builder.ts";
import { Fields } from "../topology/fields.ts";
import type { CustomStreamGrouping } from "../topology/grouping.ts";
import type { TopologyContext } from "../topology/context.ts";
import { InvalidTopologyError } from "../topology/errors.ts";
import type { ISpout } from "../topology/components.ts";
import type { StormTopology } from "../topology/topology.ts";
import type { Builder, Node, PartitionFn } from "./graph.ts";
import { ChainBolt, ReduceByKeyBolt, SourceSpout, type Stage } from "./components.ts";
import { joinBolt, keyGrouping, reduceByKeyAndWindowBolt } from "./windowed.ts";

/** Operators that a chain can hold (the first three kinds only as its head). */
const HEAD_ONLY: ReadonlySet<string> = new Set(["union", "repartition"]);
const CHAINABLE: ReadonlySet<string> = new Set([
  "map",
  "filter",
  "flatMap",
  "transform",
  "split",
  "sink",
  "union",
  "repartition",
]);
/** Operators after which nothing is fused. */
const TAIL: ReadonlySet<string> = new Set(["split", "sink"]);

/** The fused chains and standalone nodes of a graph, in creation order. */
export interface Plan {
  /** Each component: its id and the nodes it runs (one, or a fused chain). */
  readonly components: ReadonlyArray<{ readonly id: string; readonly nodes: readonly Node[] }>;
  /** The component that runs each node. */
  readonly componentOf: ReadonlyMap<Node, string>;
}

/**
 * Groups a builder's nodes into components: a stateless operator joins
 * its parent's chain when it is the parent's only consumer, reads its
 * default stream, has the same number of partitions and subscribes with
 * the default (shuffle) grouping.
 *
 * @example
 * ```ts
 * import { Builder } from "./graph.ts";
 * const b = Builder.newBuilder();
 * b.newSource([1, 2]).map((x) => x * 2).filter((x) => x > 2).log();
 * plan(b).components.map((c) => c.id); // ["source-1", "map-2+filter-3+log-4"]
 * ```
 */
export function plan(builder: Builder): Plan {
  if (!builder.nodes.some((n) => n.op.kind === "source")) {
    throw new InvalidTopologyError("NO_SOURCE", "the streamlet graph has no source: add one with builder.newSource(…)");
  }
  const chains = new Map<Node, Node[]>();
  const components: { id: string; nodes: Node[] }[] = [];
  for (const node of builder.nodes) {
    const kind = node.op.kind;
    const parent = node.inputs.length === 1 ? node.inputs[0]! : null;
    const chain = parent === null ? undefined : chains.get(parent.from);
    if (
      chain !== undefined && CHAINABLE.has(kind) && !HEAD_ONLY.has(kind) && parent!.stream === "default" &&
      chain[chain.length - 1] === parent!.from && !TAIL.has(parent!.from.op.kind) && parent!.from.consumers === 1 &&
      parent!.from.partitions === node.partitions
    ) {
      chain.push(node);
      chains.set(node, chain);
      continue;
    }
    const nodes = [node];
    if (CHAINABLE.has(kind)) chains.set(node, nodes);
    components.push({ id: "", nodes });
  }
  const componentOf = new Map<Node, string>();
  const seen = new Map<string, string>();
  for (const c of components) {
    c.id = c.nodes.map((n) => n.name).join("+");
    for (const n of c.nodes) {
      const other = seen.get(n.name);
      if (other !== undefined) {
        throw new InvalidTopologyError("DUPLICATE_NAME", `two streamlets are named "${n.name}"; names must be unique`);
      }
      seen.set(n.name, n.name);
      componentOf.set(n, c.id);
    }
  }
  return { components, componentOf };
}

/**
 * The topology of a streamlet graph (see {@link plan} for the components).
 *
 * @example
 * ```ts
 * import { Builder } from "./graph.ts";
 * const b = Builder.newBuilder();
 * b.newSource(["a b"]).flatMap((l) => l.split(" ")).countByKey((w) => w).log();
 * const topology = compile(b);
 * ```
 */
export function compile(builder: Builder): StormTopology {
  const { components, componentOf } = plan(builder);
  const keyed = keyedChains(components);
  const tb = new TopologyBuilder();
  for (const { id, nodes } of components) {
    const head = nodes[0]!;
    const op = head.op;
    let decl: BoltDeclarer;
    switch (op.kind) {
      case "source": {
        const src = op.source;
        const isSpout = typeof src === "object" && src !== null && typeof (src as ISpout).nextTuple === "function";
        tb.setSpout(id, isSpout ? (src as ISpout) : () => new SourceSpout(src), head.partitions);
        continue;
      }
      case "reduceByKey": {
        const keyedInput = keyed.has(componentOf.get(head.inputs[0]!.from)!);
        decl = tb.setBolt(id, () => new ReduceByKeyBolt(op.key, op.reduce, keyedInput), head.partitions);
        break;
      }
      case "reduceByKeyAndWindow":
        decl = tb.setBolt(
          id,
          reduceByKeyAndWindowBolt({ key: op.key, window: op.window, reduce: op.reduce }),
          head.partitions,
        );
        break;
      case "join": {
        const [l, r] = head.inputs as [typeof head.inputs[0], typeof head.inputs[0]];
        const left = componentOf.get(l!.from)!;
        const right = componentOf.get(r!.from)!;
        if (left === right) {
          throw new InvalidTopologyError(
            "SELF_JOIN",
            `join "${head.name}": both sides come from "${left}"; clone the streamlet first`,
          );
        }
        decl = tb.setBolt(
          id,
          joinBolt({
            left,
            right,
            leftKey: op.leftKey,
            rightKey: op.rightKey,
            window: op.window,
            type: op.type,
            join: op.join,
          }),
          head.partitions,
        );
        decl.customGrouping(left, l!.stream, keyGrouping(op.leftKey));
        decl.customGrouping(right, r!.stream, keyGrouping(op.rightKey));
        continue;
      }
      case "operator":
        decl = tb.setBolt(id, op.bolt, head.partitions);
        break;
      default: {
        const stages: Stage[] = nodes.map((n) => ({ name: n.name, op: n.op }));
        const key = keyed.get(id);
        decl = tb.setBolt(id, () => new ChainBolt(stages, key), head.partitions);
      }
    }
    for (const e of head.inputs) {
      const from = componentOf.get(e.from)!;
      if (op.kind === "reduceByKey" && keyed.has(from)) decl.fieldsGrouping(from, e.stream, KEY_FIELDS);
      else if (op.kind === "reduceByKey" || op.kind === "reduceByKeyAndWindow") {
        decl.customGrouping(from, e.stream, keyGrouping(op.key));
      } else if (op.kind === "repartition" && op.fn !== undefined) {
        decl.customGrouping(from, e.stream, new PartitionGrouping(op.fn, head.name));
      } else decl.shuffleGrouping(from, e.stream);
    }
  }
  return tb.createTopology();
}

/** The field a chain feeding a `reduceByKey` adds: the element's key. */
const KEY_FIELDS = new Fields("key");

/**
 * Chains whose only output is a `reduceByKey`, with its key extractor:
 * such a chain emits `[element, key]` and the reduce subscribes with a
 * fields grouping on "key" (the engine's fast path; the same hash as
 * `keyGrouping`, so the same task gets each key) instead of a custom
 * grouping that calls the extractor once more per element.
 */
function keyedChains(components: Plan["components"]): Map<string, (e: unknown) => unknown> {
  const keyed = new Map<string, (e: unknown) => unknown>();
  const byLast = new Map<Node, { id: string; nodes: readonly Node[] }>();
  for (const c of components) byLast.set(c.nodes[c.nodes.length - 1]!, c);
  for (const c of components) {
    const op = c.nodes[0]!.op;
    if (op.kind !== "reduceByKey") continue;
    const { from, stream } = c.nodes[0]!.inputs[0]!;
    const chain = byLast.get(from);
    if (
      chain === undefined || stream !== "default" || from.consumers !== 1 || !CHAINABLE.has(chain.nodes[0]!.op.kind) ||
      TAIL.has(from.op.kind)
    ) continue;
    keyed.set(chain.id, op.key);
  }
  return keyed;
}

/** Heron's repartition function as a custom grouping. */
class PartitionGrouping implements CustomStreamGrouping {
  #targets: readonly number[] = [];
  constructor(readonly fn: PartitionFn<unknown>, readonly name: string) {}

  prepare(_ctx: TopologyContext, _stream: unknown, targets: readonly number[]): void {
    this.#targets = targets;
  }

  chooseTasks(_task: number, values: readonly unknown[]): readonly number[] {
    const n = this.#targets.length;
    const r = this.fn(values[0], n);
    const parts = typeof r === "number" ? [r] : r;
    const out: number[] = [];
    for (const p of parts) {
      if (!Number.isInteger(p) || p < 0 || p >= n) {
        throw new InvalidTopologyError(
          "BAD_PARTITION",
          `repartition "${this.name}": the partition function returned ${String(p)}; partitions are 0 to ${n - 1}`,
        );
      }
      out.push(this.#targets[p]!);
    }
    return out;
  }
}
