/**
 * Groupings compiled into routes: for each (task, stream), the choosers of
 * every subscriber. Choosing a target is a hash or a counter, no allocation.
 *
 * @module
 */
import type { Route } from "../actors/task_host.ts";
import type { TopologyContext } from "../topology/context.ts";
import { EmitError } from "../topology/errors.ts";
import type { Grouping } from "../topology/grouping.ts";
import type { StormTopology } from "../topology/topology.ts";
import { StreamInfo } from "../topology/tuple.ts";
import { fmix, hashFields, hashString } from "../topology/fields_hash.ts";

/** Picks target task(s) of one subscriber for a tuple. */
export interface Chooser {
  /** One target per tuple (`choose`) or several (`chooseMany`). */
  readonly single: boolean;
  choose(values: readonly unknown[]): number;
  chooseMany(values: readonly unknown[]): readonly number[];
}

abstract class One implements Chooser {
  readonly single = true;
  abstract choose(values: readonly unknown[]): number;
  chooseMany(values: readonly unknown[]): readonly number[] {
    return [this.choose(values)];
  }
}

class RoundRobin extends One {
  #i: number;
  constructor(readonly targets: readonly number[]) {
    super();
    this.#i = Math.floor(Math.random() * targets.length);
  }
  choose(): number {
    const i = this.#i + 1 === this.targets.length ? 0 : this.#i + 1;
    this.#i = i;
    return this.targets[i]!;
  }
}

/**
 * `h % n` for an unsigned 32-bit `h`, in small-integer arithmetic: a `%` of
 * an unsigned value above 2^31 is a floating-point remainder in V8, several
 * times slower. (h = 2a + b, so h mod n = (2 (a mod n) + b) mod n.)
 */
function indexOf(h: number, n: number): number {
  return (((h >>> 1) % n) * 2 + (h & 1)) % n;
}

class FieldsChooser extends One {
  readonly #n: number;
  readonly #index: number;
  constructor(readonly targets: readonly number[], readonly indexes: readonly number[]) {
    super();
    this.#n = targets.length;
    this.#index = indexes.length === 1 ? indexes[0]! : -1;
  }
  choose(values: readonly unknown[]): number {
    const i = this.#index;
    let h: number;
    if (i >= 0) {
      const v = values[i];
      h = typeof v === "string" ? hashString(v) : hashFields(values, this.indexes);
    } else h = hashFields(values, this.indexes);
    return this.targets[indexOf(h, this.#n)]!;
  }
}

class PartialKeyChooser extends One {
  readonly #sent: Float64Array;
  constructor(readonly targets: readonly number[], readonly indexes: readonly number[]) {
    super();
    this.#sent = new Float64Array(targets.length);
  }
  choose(values: readonly unknown[]): number {
    const h = hashFields(values, this.indexes);
    const n = this.targets.length;
    const a = indexOf(h, n);
    const b = indexOf(fmix(h ^ 0x9e3779b9), n);
    const i = this.#sent[a]! <= this.#sent[b]! ? a : b;
    this.#sent[i]!++;
    return this.targets[i]!;
  }
}

class Fixed extends One {
  constructor(readonly task: number) {
    super();
  }
  choose(): number {
    return this.task;
  }
}

class All implements Chooser {
  readonly single = false;
  constructor(readonly targets: readonly number[]) {}
  choose(): number {
    return this.targets[0]!;
  }
  chooseMany(): readonly number[] {
    return this.targets;
  }
}

class Custom implements Chooser {
  readonly single = false;
  readonly #valid: Set<number>;
  constructor(
    readonly grouping: Extract<Grouping, { type: "custom" }>["grouping"],
    readonly targets: readonly number[],
    readonly taskId: number,
    readonly label: string,
  ) {
    this.#valid = new Set(targets);
  }
  choose(values: readonly unknown[]): number {
    return this.chooseMany(values)[0]!;
  }
  chooseMany(values: readonly unknown[]): readonly number[] {
    const out = this.grouping.chooseTasks(this.taskId, values);
    for (const t of out) {
      if (!this.#valid.has(t)) {
        throw new EmitError(
          "BAD_CUSTOM_GROUPING",
          `custom grouping of ${this.label} chose task ${t}, which is not one of [${this.targets}]`,
        );
      }
    }
    return out;
  }
}

/** Everything needed to compile the groupings of one source task. */
export interface RouteContext {
  readonly topology: StormTopology;
  /** Container index of each task. */
  readonly taskContainer: (task: number) => number;
  /** A context for `CustomStreamGrouping.prepare`. */
  readonly context: TopologyContext;
}

function chooserFor(
  g: Grouping,
  targets: readonly number[],
  fieldIndexes: () => number[],
  source: { task: number; component: string; stream: string; bolt: string },
  rc: RouteContext,
): Chooser | null {
  switch (g.type) {
    case "shuffle":
    case "none":
      return targets.length === 1 ? new Fixed(targets[0]!) : new RoundRobin(targets);
    case "localOrShuffle": {
      const mine = rc.taskContainer(source.task);
      const local = targets.filter((t) => rc.taskContainer(t) === mine);
      const pick = local.length > 0 ? local : targets;
      return pick.length === 1 ? new Fixed(pick[0]!) : new RoundRobin(pick);
    }
    case "fields":
      return targets.length === 1 ? new Fixed(targets[0]!) : new FieldsChooser(targets, fieldIndexes());
    case "partialKey":
      return targets.length === 1 ? new Fixed(targets[0]!) : new PartialKeyChooser(targets, fieldIndexes());
    case "global":
      return new Fixed(Math.min(...targets));
    case "all":
      return targets.length === 1 ? new Fixed(targets[0]!) : new All(targets);
    case "direct":
      return null;
    case "custom": {
      g.grouping.prepare(rc.context, { componentId: source.component, streamId: source.stream }, targets);
      return new Custom(
        g.grouping,
        targets,
        source.task,
        `bolt "${source.bolt}" on stream "${source.stream}" of "${source.component}"`,
      );
    }
  }
}

class MultiRoute implements Route {
  /** The one single-target chooser when there is exactly one subscriber and it is not "all"-like: the collectors' fast path. */
  readonly one: Chooser | null;
  readonly arity: number;
  readonly direct: boolean;
  constructor(
    readonly info: StreamInfo,
    readonly choosers: readonly Chooser[],
    readonly directTargets: ReadonlySet<number>,
  ) {
    this.one = choosers.length === 1 && choosers[0]!.single ? choosers[0]! : null;
    this.arity = info.fields.size();
    this.direct = info.direct;
  }
  select(values: readonly unknown[], out: number[]): number {
    const one = this.one;
    if (one !== null) {
      out[0] = one.choose(values);
      return 1;
    }
    let n = 0;
    for (const c of this.choosers) {
      if (c.single) out[n++] = c.choose(values);
      else for (const t of c.chooseMany(values)) out[n++] = t;
    }
    return n;
  }
  acceptsDirect(task: number): boolean {
    return this.directTargets.has(task);
  }
}

/**
 * Compiles the routes of one task: stream id → route over every subscriber.
 *
 * @example
 * ```ts
 * declare const rc: RouteContext;
 * const routes = compileRoutes(3, rc);
 * const out: number[] = [];
 * routes.get("default")!.select(["the"], out); // e.g. 1, out[0] === 7
 * ```
 */
export function compileRoutes(task: number, rc: RouteContext): Map<string, Route> {
  const topo = rc.topology;
  const component = topo.taskToComponent.get(task)!;
  const def = topo.components.get(component)!;
  const routes = new Map<string, Route>();
  for (const decl of def.streams.values()) {
    const info = new StreamInfo(component, decl.id, decl.fields, decl.direct);
    const choosers: Chooser[] = [];
    const direct = new Set<number>();
    for (const { bolt, input } of topo.subscribers(component, decl.id)) {
      const targets = topo.componentTasks.get(bolt.id)!;
      const g = input.grouping;
      if (g.type === "direct") {
        for (const t of targets) direct.add(t);
        continue;
      }
      const idx = () => (g.type === "fields" || g.type === "partialKey"
        ? g.fields.toList().map((f) =>
          decl.fields.fieldIndex(f)
        )
        : []);
      const c = chooserFor(g, targets, idx, { task, component, stream: decl.id, bolt: bolt.id }, rc);
      if (c) choosers.push(c);
    }
    routes.set(decl.id, new MultiRoute(info, choosers, direct));
  }
  return routes;
}

/**
 * The tasks downstream of `task` over all its streams (end-of-input goes to each once).
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * downstreamTasks(topology, 1); // [3, 4]
 * ```
 */
export function downstreamTasks(topology: StormTopology, task: number): number[] {
  const component = topology.taskToComponent.get(task)!;
  const out = new Set<number>();
  for (const c of topology.components.values()) {
    if (c.inputs.some((i) => i.component === component)) {
      for (const t of topology.componentTasks.get(c.id)!) out.add(t);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The upstream tasks of a bolt: the tasks of every component it subscribes to.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * upstreamTasks(topology, "count"); // [3, 4, 5, 6] when "split" has those tasks
 * ```
 */
export function upstreamTasks(topology: StormTopology, bolt: string): number[] {
  // Along a cycle (a bolt subscribing to itself, or to a bolt downstream of
  // it), a bolt does not wait for the end of input of what it feeds: the
  // cycle's back edges do not count.
  const back = backEdges(topology);
  return tasksFeeding(topology, bolt, (c) => !back.has(`${c}\u0000${bolt}`));
}

/**
 * Every task `bolt` takes input from, back edges of cycles included (what it
 * accepts from the network).
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * inputTasks(topology, "count"); // task ids of every component "count" subscribes to
 * ```
 */
export function inputTasks(topology: StormTopology, bolt: string): number[] {
  return tasksFeeding(topology, bolt, () => true);
}

/** The sorted task ids of the components `bolt` subscribes to that `keep` accepts. */
function tasksFeeding(topology: StormTopology, bolt: string, keep: (component: string) => boolean): number[] {
  const out: number[] = [];
  for (const s of new Set(topology.components.get(bolt)!.inputs.map((i) => i.component))) {
    if (keep(s)) out.push(...topology.componentTasks.get(s)!);
  }
  return out.sort((a, b) => a - b);
}

const backEdgeCache = new WeakMap<StormTopology, Set<string>>();

/**
 * The edges that close cycles ("from\u0000to"), found by a depth-first walk
 * from the spouts in declaration order (then from any component left): an
 * edge to a component still on the walk's path. End of input flows along
 * the other edges, so every component of a cycle ends.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * backEdges(topology).has("b\u0000a"); // a → b → a: the edge b → a closes the cycle
 * ```
 */
export function backEdges(topology: StormTopology): Set<string> {
  const cached = backEdgeCache.get(topology);
  if (cached !== undefined) return cached;
  const out = new Set<string>();
  const downstream = new Map<string, string[]>();
  for (const c of topology.components.values()) {
    for (const i of c.inputs) {
      const l = downstream.get(i.component) ?? [];
      if (!l.includes(c.id)) l.push(c.id);
      downstream.set(i.component, l);
    }
  }
  const state = new Map<string, 1 | 2>(); // 1 on the path, 2 done
  const visit = (id: string): void => {
    state.set(id, 1);
    for (const d of downstream.get(id) ?? []) {
      const s = state.get(d);
      if (s === 1) out.add(`${id}\u0000${d}`);
      else if (s === undefined) visit(d);
    }
    state.set(id, 2);
  };
  const order = [...topology.components.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "spout" ? -1 : 1));
  for (const c of order) if (!state.has(c.id)) visit(c.id);
  backEdgeCache.set(topology, out);
  return out;
}
