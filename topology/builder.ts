/**
 * `TopologyBuilder`: Storm's way of wiring spouts and bolts.
 *
 * @module
 */
import type { IBasicBolt, IRichBolt, ISpout } from "./components.ts";
import { COMPONENT_KEYS } from "./config.ts";
import { InvalidTopologyError } from "./errors.ts";
import { type FieldsLike, toFields } from "./fields.ts";
import type { CustomStreamGrouping, Grouping, InputDecl } from "./grouping.ts";
import { componentFactory, type ComponentSource } from "./instantiate.ts";
import { buildTopology, type ComponentSpec, type StormTopology } from "./topology.ts";
import { DEFAULT_STREAM } from "./tuple.ts";
import type { BaseWindowedBolt } from "./windowing/windowed_bolt.ts";
import { boltForTask } from "./windowing/windowed_bolt_executor.ts";

/**
 * Per-component settings shared by spout and bolt declarers.
 *
 * @example
 * ```ts
 * import type { ISpout } from "ardea";
 * declare const S: new () => ISpout;
 * const builder = new TopologyBuilder();
 * builder.setSpout("s", new S(), 2).setMaxSpoutPending(100).setNumTasks(4);
 * ```
 */
export class ComponentDeclarer<Self> {
  constructor(protected readonly spec: ComponentSpec) {}

  /** Adds per-component configuration (e.g. `topology.tick.tuple.freq.secs`). */
  addConfiguration(key: string, value: unknown): Self {
    if (!COMPONENT_KEYS.includes(key) && key.startsWith("topology.")) {
      throw new InvalidTopologyError(
        "BAD_COMPONENT_CONFIG",
        `component "${this.spec.id}": "${key}" cannot be set per component (allowed: ${COMPONENT_KEYS.join(", ")})`,
      );
    }
    this.spec.config[key] = value;
    return this as unknown as Self;
  }

  /** Adds several per-component configuration entries. */
  addConfigurations(conf: Record<string, unknown>): Self {
    for (const [k, v] of Object.entries(conf)) this.addConfiguration(k, v);
    return this as unknown as Self;
  }

  /** `topology.max.spout.pending` for this component. */
  setMaxSpoutPending(n: number): Self {
    return this.addConfiguration("topology.max.spout.pending", n);
  }

  /** `topology.debug` for this component. */
  setDebug(on: boolean): Self {
    return this.addConfiguration("topology.debug", on);
  }

  /** Number of tasks (instances); defaults to the parallelism hint. */
  setNumTasks(n: number): Self {
    checkCount(this.spec.id, "number of tasks", n);
    this.spec.tasks = n;
    return this as unknown as Self;
  }
}

/** Declarer returned by `setSpout`. */
export class SpoutDeclarer extends ComponentDeclarer<SpoutDeclarer> {}

/**
 * Declarer returned by `setBolt`: one method per grouping, each with an
 * optional stream id (default `"default"`).
 *
 * @example
 * ```ts
 * import { Fields, type IRichBolt } from "ardea";
 * declare const Count: new () => IRichBolt, Report: new () => IRichBolt;
 * const builder = new TopologyBuilder();
 * builder.setBolt("count", new Count(), 4).fieldsGrouping("split", new Fields("word"));
 * builder.setBolt("report", new Report()).globalGrouping("count", "totals");
 * ```
 */
export class BoltDeclarer extends ComponentDeclarer<BoltDeclarer> {
  #add(component: string, stream: string | undefined, grouping: Grouping): this {
    if (typeof component !== "string" || component.length === 0) {
      throw new InvalidTopologyError("BAD_INPUT", `bolt "${this.spec.id}" subscribes to an empty component id`);
    }
    const input: InputDecl = { component, stream: stream ?? DEFAULT_STREAM, grouping };
    this.spec.inputs.push(input);
    return this;
  }
  shuffleGrouping(componentId: string, streamId?: string): this {
    return this.#add(componentId, streamId, { type: "shuffle" });
  }
  localOrShuffleGrouping(componentId: string, streamId?: string): this {
    return this.#add(componentId, streamId, { type: "localOrShuffle" });
  }
  noneGrouping(componentId: string, streamId?: string): this {
    return this.#add(componentId, streamId, { type: "none" });
  }
  allGrouping(componentId: string, streamId?: string): this {
    return this.#add(componentId, streamId, { type: "all" });
  }
  globalGrouping(componentId: string, streamId?: string): this {
    return this.#add(componentId, streamId, { type: "global" });
  }
  directGrouping(componentId: string, streamId?: string): this {
    return this.#add(componentId, streamId, { type: "direct" });
  }
  fieldsGrouping(componentId: string, fields: FieldsLike): this;
  fieldsGrouping(componentId: string, streamId: string, fields: FieldsLike): this;
  fieldsGrouping(componentId: string, a: string | FieldsLike, b?: FieldsLike): this {
    const [stream, fields] = typeof a === "string" ? [a, b] : [undefined, a];
    if (!fields) throw new InvalidTopologyError("BAD_GROUPING", `bolt "${this.spec.id}": fieldsGrouping needs fields`);
    return this.#add(componentId, stream, { type: "fields", fields: toFields(fields) });
  }
  partialKeyGrouping(componentId: string, fields: FieldsLike): this;
  partialKeyGrouping(componentId: string, streamId: string, fields: FieldsLike): this;
  partialKeyGrouping(componentId: string, a: string | FieldsLike, b?: FieldsLike): this {
    const [stream, fields] = typeof a === "string" ? [a, b] : [undefined, a];
    if (!fields) {
      throw new InvalidTopologyError("BAD_GROUPING", `bolt "${this.spec.id}": partialKeyGrouping needs fields`);
    }
    return this.#add(componentId, stream, { type: "partialKey", fields: toFields(fields) });
  }
  customGrouping(componentId: string, grouping: CustomStreamGrouping): this;
  customGrouping(componentId: string, streamId: string, grouping: CustomStreamGrouping): this;
  customGrouping(componentId: string, a: string | CustomStreamGrouping, b?: CustomStreamGrouping): this {
    const [stream, grouping] = typeof a === "string" ? [a, b] : [undefined, a];
    if (!grouping || typeof grouping.chooseTasks !== "function") {
      throw new InvalidTopologyError(
        "BAD_GROUPING",
        `bolt "${this.spec.id}": customGrouping needs an object with chooseTasks()`,
      );
    }
    return this.#add(componentId, stream, { type: "custom", grouping });
  }
}

/**
 * Most tasks one component may have. Every task is an actor with its own
 * mailbox and component object: measured embedded, about 50 KB of memory
 * each (10 000 tasks: 0.57 GB resident), so a mistyped 1e9 is refused here
 * instead of exhausting memory.
 *
 * @example
 * ```ts
 * import type { IRichBolt } from "ardea";
 * declare const CountBolt: new () => IRichBolt;
 * const builder = new TopologyBuilder();
 * builder.setBolt("count", CountBolt, MAX_COMPONENT_TASKS); // the most allowed
 * ```
 */
export const MAX_COMPONENT_TASKS = 10_000;

/**
 * Most tasks a topology may have in all: about 1 GB resident embedded, and
 * its packing plan (about 15 bytes a task in the topology record, twice
 * while an update is pending) stays well under NATS's default 1 MB message.
 *
 * @example
 * ```ts
 * const topology = new TopologyBuilder().createTopology();
 * topology.taskCount <= MAX_TOPOLOGY_TASKS; // true for every built topology
 * ```
 */
export const MAX_TOPOLOGY_TASKS = 20_000;

/**
 * The problem with `n` as the task count of component `id`, or null: an
 * integer from 1 to {@link MAX_COMPONENT_TASKS}.
 *
 * @example
 * ```ts
 * taskCountProblem("split", 1e9); // 'component "split": … must be at most 10000, got 1000000000'
 * ```
 */
export function taskCountProblem(id: string, n: unknown, what = "parallelism"): string | null {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    return `component "${id}": ${what} must be an integer ≥ 1, got ${String(n)}`;
  }
  if (n > MAX_COMPONENT_TASKS) {
    return `component "${id}": ${what} must be at most ${MAX_COMPONENT_TASKS} tasks (each task is an instance with its own mailbox), got ${n}`;
  }
  return null;
}

/**
 * The problem with a topology of `total` tasks, or null when it is at most
 * {@link MAX_TOPOLOGY_TASKS}.
 *
 * @example
 * ```ts
 * totalTasksProblem(30_000); // "the topology would have 30000 tasks; at most 20000 are allowed …"
 * ```
 */
export function totalTasksProblem(total: number): string | null {
  if (total <= MAX_TOPOLOGY_TASKS) return null;
  return `the topology would have ${total} tasks; at most ${MAX_TOPOLOGY_TASKS} are allowed in all (at most ${MAX_COMPONENT_TASKS} per component)`;
}

function checkCount(id: string, what: string, n: unknown): void {
  const problem = taskCountProblem(id, n, what);
  if (problem !== null) throw new InvalidTopologyError("BAD_PARALLELISM", problem);
}

/**
 * Storm's `TopologyBuilder`.
 *
 * @example
 * ```ts
 * import { Fields, type IRichBolt, type ISpout } from "ardea";
 * declare const SentenceSpout: new () => ISpout, SplitBolt: new () => IRichBolt, CountBolt: new () => IRichBolt;
 * const b = new TopologyBuilder();
 * b.setSpout("sentences", new SentenceSpout(), 2);
 * b.setBolt("split", new SplitBolt(), 4).shuffleGrouping("sentences");
 * b.setBolt("count", new CountBolt(), 4).fieldsGrouping("split", new Fields("word"));
 * const topology = b.createTopology();
 * ```
 */
export class TopologyBuilder {
  readonly #specs: ComponentSpec[] = [];

  #spec(id: string, kind: "spout" | "bolt", src: unknown, parallelism: number | undefined): ComponentSpec {
    if (typeof id !== "string" || id.length === 0) {
      throw new InvalidTopologyError("BAD_ID", `${kind} id must be a non-empty string`);
    }
    if (id.startsWith("__")) {
      throw new InvalidTopologyError("BAD_ID", `${kind} id "${id}": ids starting with "__" are reserved`);
    }
    if (this.#specs.some((s) => s.id === id)) {
      throw new InvalidTopologyError("DUPLICATE_COMPONENT", `component id "${id}" is used twice`);
    }
    const tasks = parallelism ?? 1;
    checkCount(id, "parallelism", tasks);
    let make: () => ISpout | IRichBolt | IBasicBolt;
    try {
      make = componentFactory(src as object) as typeof make;
    } catch (e) {
      throw new InvalidTopologyError("BAD_COMPONENT", `${kind} "${id}": ${(e as Error).message}`);
    }
    // As Storm's setBolt(id, IWindowedBolt): each task runs a windowed bolt behind its executor.
    const create = kind === "bolt" ? () => boltForTask(make()) : make;
    const spec: ComponentSpec = { id, kind, create, tasks, config: {}, inputs: [] };
    this.#specs.push(spec);
    return spec;
  }

  /** Adds a spout with `parallelism` tasks (default 1). */
  setSpout(id: string, spout: ComponentSource<ISpout>, parallelism?: number): SpoutDeclarer {
    return new SpoutDeclarer(this.#spec(id, "spout", spout, parallelism));
  }

  /**
   * Adds a bolt (rich, basic or windowed) with `parallelism` tasks (default
   * 1). A windowed bolt ({@link BaseWindowedBolt}) runs behind a windowed
   * bolt executor, which keeps its windows and calls its `execute(window)`.
   */
  setBolt(
    id: string,
    bolt: ComponentSource<IRichBolt | IBasicBolt | BaseWindowedBolt>,
    parallelism?: number,
  ): BoltDeclarer {
    return new BoltDeclarer(this.#spec(id, "bolt", bolt, parallelism));
  }

  /** Validates and returns the topology; throws `InvalidTopologyError`. */
  createTopology(): StormTopology {
    const problem = totalTasksProblem(this.#specs.reduce((n, s) => n + s.tasks, 0));
    if (problem !== null) {
      const counts = this.#specs.map((s) => `${s.id}×${s.tasks}`).join(", ");
      throw new InvalidTopologyError("TOO_MANY_TASKS", `${problem}: ${counts}`);
    }
    return buildTopology(this.#specs.map((s) => ({ ...s, config: { ...s.config }, inputs: [...s.inputs] })));
  }
}
