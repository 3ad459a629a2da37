/**
 * The streamlet graph (Heron's `Builder` and `Streamlet`): what a user
 * builds with `Builder.newBuilder()`, before {@link compile} turns it into
 * a topology. Every method only records a node; nothing runs here.
 *
 * @module
 */
import type { ComponentSource } from "../topology/instantiate.ts";
import type { IBasicBolt, IRichBolt, ISpout } from "../topology/components.ts";
import { InvalidTopologyError } from "../topology/errors.ts";
import { checkIdentity } from "./keys.ts";
import { type KeyedWindow, KeyValue, type Sink, type Source, type Transformer } from "./types.ts";
import type { JoinType, WindowConfig } from "./types.ts";

/** What a streamlet's node does. */
export type Op =
  | { readonly kind: "source"; readonly source: SourceInput<unknown> }
  | { readonly kind: "map"; readonly fn: (e: unknown) => unknown }
  | { readonly kind: "filter"; readonly fn: (e: unknown) => boolean }
  | { readonly kind: "flatMap"; readonly fn: (e: unknown) => Iterable<unknown> }
  | { readonly kind: "transform"; readonly transformer: Transformer<unknown, unknown> }
  | { readonly kind: "union" }
  | { readonly kind: "repartition"; readonly fn: PartitionFn<unknown> | undefined }
  | { readonly kind: "split"; readonly predicates: ReadonlyArray<readonly [string, (e: unknown) => boolean]> }
  | { readonly kind: "sink"; readonly sink: Sink<unknown> }
  | { readonly kind: "reduceByKey"; readonly key: (e: unknown) => unknown; readonly reduce: Reduce }
  | {
    readonly kind: "reduceByKeyAndWindow";
    readonly key: (e: unknown) => unknown;
    readonly window: WindowConfig;
    readonly reduce: Reduce;
  }
  | {
    readonly kind: "join";
    readonly leftKey: (e: unknown) => unknown;
    readonly rightKey: (e: unknown) => unknown;
    readonly window: WindowConfig;
    readonly type: JoinType;
    readonly join: (l: unknown, r: unknown) => unknown;
  }
  | { readonly kind: "operator"; readonly bolt: ComponentSource<IRichBolt | IBasicBolt> };

/** A keyed reduction: a value extractor and a binary operator, or an identity and a fold. */
export type Reduce =
  | {
    readonly kind: "binary";
    readonly value: (e: unknown) => unknown;
    readonly op: (a: unknown, b: unknown) => unknown;
  }
  | { readonly kind: "fold"; readonly identity: unknown; readonly op: (acc: unknown, e: unknown) => unknown };

/** Where a streamlet's elements come from (see {@link Builder.newSource}). */
export type SourceInput<R> = (() => R) | Source<R> | Iterable<R> | AsyncIterable<R> | ISpout;

/**
 * Heron's `repartition` function: the partitions (0-based, fewer than
 * `partitions`) an element goes to; Ardea also takes a single number.
 */
export type PartitionFn<R> = (element: R, partitions: number) => number | readonly number[];

/** One input of a node: the node it reads and the stream (a `split` id, or "default"). */
export interface Edge {
  readonly from: Node;
  readonly stream: string;
}

/** A node of the streamlet graph. */
export interface Node {
  readonly builder: Builder;
  readonly op: Op;
  readonly inputs: readonly Edge[];
  /** The default name (`map-3`), replaced by `setName`. */
  name: string;
  partitions: number;
  /** Edges out of this node (each consumer counts once per subscription). */
  consumers: number;
}

/** The stream of a streamlet that is not one of a split's. */
const DEFAULT_STREAM = "default";

/**
 * Heron's `Builder`: where a streamlet graph starts. `newSource` adds a
 * source; a {@link Runner} compiles and runs the graph.
 *
 * Default names differ from Heron's (`map1`, the first index unused by that
 * operator): here the operator's method name and the builder's running
 * number, `source-1`, `flatMap-2`, `countByKey-3`. A fused chain's
 * component is named after its streamlets joined by "+"
 * (`flatMap-2+filter-3`); `setName` replaces a streamlet's part.
 *
 * @example
 * ```ts
 * import { Builder } from "./mod.ts";
 * const builder = Builder.newBuilder();
 * builder.newSource(["a b", "b c"]).flatMap((line) => line.split(" ")).consume((w) => console.log(w));
 * ```
 */
export class Builder {
  /** Every node, in the order made. */
  readonly nodes: Node[] = [];
  #counter = 0;

  /** Heron's factory. */
  static newBuilder(): Builder {
    return new Builder();
  }

  /**
   * A source streamlet, from:
   * - a supplier function, called again and again, one element per call
   *   (Heron's `newSource(SerializableSupplier)`; it never ends);
   * - a {@link Source}: `setup`, then `get` returns a batch each call (an
   *   empty batch: nothing now), `cleanup` at the end. Ardea: `get`
   *   returning `null` ends the source;
   * - an iterable or async iterable (Ardea): a finite source, ended when
   *   exhausted. With several partitions, partition i takes the elements at
   *   positions i, i + n, … (each task iterates it: an array, not a
   *   one-shot generator);
   * - any spout (a `JetStreamSpout`, your own `IRichSpout`): its default
   *   stream's first field is the element; other fields and streams are
   *   ignored.
   *
   * A source has 1 partition unless `setNumPartitions` says otherwise.
   */
  newSource<R>(source: (() => R) | Source<R> | Iterable<R> | AsyncIterable<R>): Streamlet<R>;
  newSource<R = unknown>(spout: ISpout): Streamlet<R>;
  newSource<R>(source: SourceInput<R>): Streamlet<R> {
    if (typeof source === "string") {
      throw new InvalidTopologyError(
        "BAD_SOURCE",
        "newSource: a string is not a source (wrap it in an array for a one-element source)",
      );
    }
    const ok = typeof source === "function" ||
      (typeof source === "object" && source !== null &&
        (Symbol.iterator in source || Symbol.asyncIterator in source ||
          typeof (source as Source<R>).get === "function" ||
          typeof (source as ISpout).nextTuple === "function"));
    if (!ok) {
      throw new InvalidTopologyError(
        "BAD_SOURCE",
        "newSource: expected a supplier function, a Source (setup/get/cleanup), an iterable, an async iterable or a spout",
      );
    }
    return new Streamlet<R>(this.addNode({ kind: "source", source: source as SourceInput<unknown> }, [], 1, "source"));
  }

  /** Adds a node; `prefix` names it (`prefix-N`). */
  addNode(op: Op, inputs: readonly Edge[], partitions: number, prefix: string): Node {
    for (const e of inputs) {
      if (e.from.builder !== this) {
        throw new InvalidTopologyError(
          "FOREIGN_STREAMLET",
          `${prefix}: streamlet "${e.from.name}" belongs to another Builder; a graph is made with one builder`,
        );
      }
    }
    const node: Node = { builder: this, op, inputs, name: `${prefix}-${++this.#counter}`, partitions, consumers: 0 };
    for (const e of inputs) e.from.consumers++;
    this.nodes.push(node);
    return node;
  }
}

function checkFunction(f: unknown, what: string): void {
  if (typeof f !== "function") {
    throw new InvalidTopologyError("BAD_STREAMLET", `${what} must be a function, got ${typeof f}`);
  }
}

function checkPartitions(n: unknown, what: string): number {
  if (!Number.isInteger(n) || (n as number) < 1) {
    throw new InvalidTopologyError(
      "BAD_PARTITIONS",
      `${what}: the number of partitions must be a whole number ≥ 1, got ${String(n)}`,
    );
  }
  return n as number;
}

/**
 * A streamlet ending in a sink (Heron's `StreamletBase`): it can be named
 * and partitioned, and nothing can follow it.
 *
 * @example
 * ```ts
 * import { Builder } from "./mod.ts";
 * Builder.newBuilder().newSource([1, 2]).log().setName("print");
 * ```
 */
export class SinkStreamlet<R> {
  /** @internal */
  constructor(readonly node: Node) {}

  /** Names the component (unique in the graph). */
  setName(name: string): this {
    if (typeof name !== "string" || name.trim() === "") {
      throw new InvalidTopologyError(
        "BAD_NAME",
        `setName: a streamlet name must be a non-empty string, got ${JSON.stringify(name)}`,
      );
    }
    this.node.name = name;
    return this;
  }

  getName(): string {
    return this.node.name;
  }

  /** How many tasks run this streamlet (≥ 1). */
  setNumPartitions(n: number): this {
    this.node.partitions = checkPartitions(n, `setNumPartitions of "${this.node.name}"`);
    return this;
  }

  getNumPartitions(): number {
    return this.node.partitions;
  }

  /** For type inference only: the element type. */
  declare readonly __element?: R;
}

/**
 * Heron's `KVStreamlet<K, V>`: here simply a streamlet of {@link KeyValue}s;
 * Heron's KV-only overloads (a join or reduce without key extractors) are
 * not there: pass `(kv) => kv.getKey()`.
 */
export type KVStreamlet<K, V> = Streamlet<KeyValue<K, V>>;

/**
 * Heron's `Streamlet<R>`: a stream of elements of type `R` and the
 * operations on it. Each returns a new streamlet (or, for sinks, a
 * {@link SinkStreamlet}); new streamlets have their parent's number of
 * partitions, as in Heron.
 *
 * @example
 * ```ts
 * import { Builder } from "./mod.ts";
 * const words = Builder.newBuilder().newSource(["a b", "b"]).flatMap((l) => l.split(" "));
 * words.countByKey((w) => w).consume((kv) => console.log(kv.getKey(), kv.getValue()));
 * ```
 */
export class Streamlet<R> extends SinkStreamlet<R> {
  /** @internal */
  constructor(node: Node, readonly stream: string = DEFAULT_STREAM) {
    super(node);
  }

  #child<T>(
    op: Op,
    prefix: string,
    inputs: readonly Edge[] = [{ from: this.node, stream: this.stream }],
  ): Streamlet<T> {
    return new Streamlet<T>(this.node.builder.addNode(op, inputs, this.node.partitions, prefix));
  }

  /** Each element mapped by `fn`. */
  map<T>(fn: (element: R) => T): Streamlet<T> {
    checkFunction(fn, "map: the mapping");
    return this.#child({ kind: "map", fn: fn as (e: unknown) => unknown }, "map");
  }

  /** Each element mapped to any number of elements. */
  flatMap<T>(fn: (element: R) => Iterable<T>): Streamlet<T> {
    checkFunction(fn, "flatMap: the mapping");
    return this.#child({ kind: "flatMap", fn: fn as (e: unknown) => Iterable<unknown> }, "flatMap");
  }

  /** The elements for which `fn` is true. */
  filter(fn: (element: R) => boolean): Streamlet<R> {
    checkFunction(fn, "filter: the predicate");
    return this.#child({ kind: "filter", fn: fn as (e: unknown) => boolean }, "filter");
  }

  /** The elements of this streamlet and of `other` (same builder). */
  union(other: Streamlet<R>): Streamlet<R> {
    if (!(other instanceof Streamlet)) throw new InvalidTopologyError("BAD_STREAMLET", "union: expected a Streamlet");
    if (other.node === this.node && other.stream === this.stream) {
      throw new InvalidTopologyError(
        "SELF_UNION",
        `union: "${this.node.name}" with itself; to get each element twice, union two of its clone(2)`,
      );
    }
    return this.#child({ kind: "union" }, "union", [
      { from: this.node, stream: this.stream },
      { from: other.node, stream: other.stream },
    ]);
  }

  /** `n` streamlets that each get every element. */
  clone(n: number): Streamlet<R>[] {
    checkPartitions(n, "clone: the number of clones");
    return Array.from({ length: n }, () => this.#child<R>({ kind: "map", fn: (e) => e }, "clone"));
  }

  /**
   * The same elements over `n` partitions: spread evenly (shuffle), or
   * where `fn` says (Heron's `repartition(n, partitionFunction)`; Ardea
   * also takes a single partition number from it).
   */
  repartition(n: number, fn?: PartitionFn<R>): Streamlet<R> {
    checkPartitions(n, "repartition");
    if (fn !== undefined) checkFunction(fn, "repartition: the partition function");
    const s = this.#child<R>({ kind: "repartition", fn: fn as PartitionFn<unknown> | undefined }, "repartition");
    s.node.partitions = n;
    return s;
  }

  /**
   * Splits into named streams, each with the elements its predicate
   * accepts (an element may go to several); pick one with
   * {@link Streamlet.withStream}.
   */
  split(predicates: Record<string, (element: R) => boolean>): Streamlet<R> {
    const entries = Object.entries(predicates ?? {});
    if (entries.length === 0) throw new InvalidTopologyError("BAD_STREAMLET", "split: give at least one stream");
    for (const [id, p] of entries) {
      if (id === "" || id === DEFAULT_STREAM) {
        throw new InvalidTopologyError("BAD_STREAMLET", `split: stream id ${JSON.stringify(id)} is reserved`);
      }
      checkFunction(p, `split: the predicate of stream "${id}"`);
    }
    return this.#child({ kind: "split", predicates: entries as [string, (e: unknown) => boolean][] }, "split");
  }

  /** One stream of a {@link Streamlet.split}. */
  withStream(streamId: string): Streamlet<R> {
    const op = this.node.op;
    if (op.kind !== "split" || !op.predicates.some(([id]) => id === streamId)) {
      const ids = op.kind === "split" ? op.predicates.map(([id]) => id).join(", ") : "none: it is not a split";
      throw new InvalidTopologyError(
        "NO_STREAM",
        `withStream: "${this.node.name}" has no stream "${streamId}" (streams: ${ids})`,
      );
    }
    return new Streamlet<R>(this.node, streamId);
  }

  /** Stream ids of a split (in Heron's `StreamletImpl` a protected method; public here). */
  getAvailableStreamIds(): string[] {
    const op = this.node.op;
    return op.kind === "split" ? op.predicates.map(([id]) => id) : [DEFAULT_STREAM];
  }

  /** Elements through a {@link Transformer} (each task gets its own copy, set up before the first element). */
  transform<T>(transformer: Transformer<R, T>): Streamlet<T> {
    if (typeof transformer?.transform !== "function") {
      throw new InvalidTopologyError("BAD_STREAMLET", "transform: the Transformer has no transform method");
    }
    return this.#child({ kind: "transform", transformer: transformer as Transformer<unknown, unknown> }, "transform");
  }

  /**
   * Elements through any Ardea bolt (Heron's `applyOperator` takes an
   * `IStreamletOperator`): it reads field 0 ("value") of its input and the
   * first field of what it emits on its default stream is the element.
   */
  applyOperator<T>(bolt: ComponentSource<IRichBolt | IBasicBolt>): Streamlet<T> {
    if (bolt === null || (typeof bolt !== "object" && typeof bolt !== "function")) {
      throw new InvalidTopologyError("BAD_STREAMLET", "applyOperator: expected a bolt (object, class or factory)");
    }
    return this.#child({ kind: "operator", bolt }, "operator");
  }

  /**
   * {@link KeyValue}s of each element's key and value (Heron's `keyBy`:
   * without a value extractor, the value is the element).
   */
  keyBy<K>(key: (element: R) => K): KVStreamlet<K, R>;
  keyBy<K, V>(key: (element: R) => K, value: (element: R) => V): KVStreamlet<K, V>;
  keyBy<K, V>(key: (element: R) => K, value?: (element: R) => V): KVStreamlet<K, V> {
    checkFunction(key, "keyBy: the key extractor");
    if (value !== undefined) checkFunction(value, "keyBy: the value extractor");
    const fn = value === undefined
      ? (e: unknown) => new KeyValue(key(e as R), e)
      : (e: unknown) => new KeyValue(key(e as R), value(e as R));
    return this.#child({ kind: "map", fn }, "keyBy");
  }

  /** A running count per key: a `KeyValue(key, count so far)` for each element (partitioned by key). */
  countByKey<K>(key: (element: R) => K): KVStreamlet<K, number> {
    checkFunction(key, "countByKey: the key extractor");
    return this.#child(
      { kind: "reduceByKey", key: key as (e: unknown) => unknown, reduce: COUNT },
      "countByKey",
    );
  }

  /**
   * A running reduction per key: a `KeyValue(key, result so far)` for each
   * element, partitioned by key. Heron's two forms: a value extractor and
   * a binary operator, or an identity and a fold `(acc, element) => acc`
   * (here told apart by the second argument being a function: an identity
   * cannot be a function). The identity is copied for each key with
   * `structuredClone` (Heron shares one object), so it must be plain data.
   */
  reduceByKey<K, T>(key: (element: R) => K, value: (element: R) => T, op: (a: T, b: T) => T): KVStreamlet<K, T>;
  reduceByKey<K, T>(key: (element: R) => K, identity: T, op: (acc: T, element: R) => T): KVStreamlet<K, T>;
  reduceByKey<K, T>(key: (element: R) => K, second: unknown, op: (a: T, b: never) => T): KVStreamlet<K, T> {
    checkFunction(key, "reduceByKey: the key extractor");
    checkFunction(op, "reduceByKey: the reduce function");
    if (typeof second !== "function") checkIdentity(second, "reduceByKey");
    return this.#child(
      { kind: "reduceByKey", key: key as (e: unknown) => unknown, reduce: reduceOf(second, op) },
      "reduceByKey",
    );
  }

  /**
   * Per key and window, the reduction of the window's elements: Heron's
   * two forms, `(key, value, window, op)` and `(key, window, identity, fold)`.
   */
  reduceByKeyAndWindow<K, T>(
    key: (element: R) => K,
    value: (element: R) => T,
    window: WindowConfig,
    op: (a: T, b: T) => T,
  ): KVStreamlet<KeyedWindow<K>, T>;
  reduceByKeyAndWindow<K, T>(
    key: (element: R) => K,
    window: WindowConfig,
    identity: T,
    op: (acc: T, element: R) => T,
  ): KVStreamlet<KeyedWindow<K>, T>;
  reduceByKeyAndWindow<K, T>(
    key: (element: R) => K,
    a: unknown,
    b: unknown,
    op: (x: T, y: never) => T,
  ): KVStreamlet<KeyedWindow<K>, T> {
    checkFunction(key, "reduceByKeyAndWindow: the key extractor");
    checkFunction(op, "reduceByKeyAndWindow: the reduce function");
    const [window, reduce] = typeof a === "function"
      ? [b as WindowConfig, reduceOf(a, op)]
      : [a as WindowConfig, reduceOf(b, op)];
    checkWindow(window, "reduceByKeyAndWindow");
    return this.#child(
      { kind: "reduceByKeyAndWindow", key: key as (e: unknown) => unknown, window, reduce },
      "reduceByKeyAndWindow",
    );
  }

  /** Per key and window, how many elements it held. */
  countByKeyAndWindow<K>(key: (element: R) => K, window: WindowConfig): KVStreamlet<KeyedWindow<K>, number> {
    checkFunction(key, "countByKeyAndWindow: the key extractor");
    checkWindow(window, "countByKeyAndWindow");
    return this.#child(
      { kind: "reduceByKeyAndWindow", key: key as (e: unknown) => unknown, window, reduce: COUNT },
      "countByKeyAndWindow",
    );
  }

  /**
   * Elements of this streamlet and `other` with equal keys in the same
   * window, joined by `join` (Heron's `join`; the type defaults to INNER;
   * in outer joins the missing side is `undefined`).
   */
  join<S, K, T>(
    other: Streamlet<S>,
    thisKey: (element: R) => K,
    otherKey: (element: S) => K,
    window: WindowConfig,
    join: (left: R, right: S) => T,
  ): KVStreamlet<KeyedWindow<K>, T>;
  join<S, K, T>(
    other: Streamlet<S>,
    thisKey: (element: R) => K,
    otherKey: (element: S) => K,
    window: WindowConfig,
    type: JoinType,
    join: (left: R | undefined, right: S | undefined) => T,
  ): KVStreamlet<KeyedWindow<K>, T>;
  join<S, K, T>(
    other: Streamlet<S>,
    thisKey: (element: R) => K,
    otherKey: (element: S) => K,
    window: WindowConfig,
    typeOrJoin: JoinType | ((l: R, r: S) => T),
    maybeJoin?: (l: R | undefined, r: S | undefined) => T,
  ): KVStreamlet<KeyedWindow<K>, T> {
    if (!(other instanceof Streamlet)) {
      throw new InvalidTopologyError("BAD_STREAMLET", "join: expected a Streamlet to join with");
    }
    checkFunction(thisKey, "join: this streamlet's key extractor");
    checkFunction(otherKey, "join: the other streamlet's key extractor");
    checkWindow(window, "join");
    const [type, join] = typeof typeOrJoin === "function" ? ["INNER" as JoinType, typeOrJoin] : [typeOrJoin, maybeJoin];
    checkFunction(join, "join: the join function");
    if (!["INNER", "OUTER_LEFT", "OUTER_RIGHT", "OUTER"].includes(type)) {
      throw new InvalidTopologyError("BAD_STREAMLET", `join: unknown JoinType ${JSON.stringify(type)}`);
    }
    return this.#child(
      {
        kind: "join",
        leftKey: thisKey as (e: unknown) => unknown,
        rightKey: otherKey as (e: unknown) => unknown,
        window,
        type,
        join: join as (l: unknown, r: unknown) => unknown,
      },
      "join",
      [{ from: this.node, stream: this.stream }, { from: other.node, stream: other.stream }],
    );
  }

  /** Prints each element, `String(element)`, with `console.log` (Heron's goes to its logger at INFO). */
  log(): SinkStreamlet<R> {
    return this.#sink({ setup() {}, put: (e) => console.log(String(e)), cleanup() {} }, "log");
  }

  /**
   * Calls `fn` with each element. It may return a Promise: the input tuple
   * is acked once the Promises of all the elements made from it resolve
   * (failed if one rejects), and the task takes its next input only then.
   */
  consume(fn: (element: R) => void | Promise<void>): SinkStreamlet<R> {
    checkFunction(fn, "consume: the consumer");
    return this.#sink({ setup() {}, put: fn, cleanup() {} }, "consume");
  }

  /** Sends each element to a {@link Sink} (each task gets its own copy, set up before the first element). */
  toSink(sink: Sink<R>): SinkStreamlet<R> {
    if (typeof sink?.put !== "function") {
      throw new InvalidTopologyError("BAD_SINK", "toSink: the Sink has no put method");
    }
    return this.#sink(sink, "sink");
  }

  #sink(sink: Sink<R>, prefix: string): SinkStreamlet<R> {
    const inputs = [{ from: this.node, stream: this.stream }];
    return new SinkStreamlet<R>(
      this.node.builder.addNode({ kind: "sink", sink: sink as Sink<unknown> }, inputs, this.node.partitions, prefix),
    );
  }
}

const COUNT: Reduce = { kind: "fold", identity: 0, op: (n) => (n as number) + 1 };

function reduceOf(second: unknown, op: (a: never, b: never) => unknown): Reduce {
  return typeof second === "function"
    ? { kind: "binary", value: second as (e: unknown) => unknown, op: op as (a: unknown, b: unknown) => unknown }
    : { kind: "fold", identity: second, op: op as (a: unknown, b: unknown) => unknown };
}

function checkWindow(w: unknown, what: string): void {
  const kind = (w as WindowConfig | null)?.kind;
  if (kind !== "time" && kind !== "count") {
    throw new InvalidTopologyError(
      "BAD_WINDOW",
      `${what}: expected a WindowConfig (WindowConfig.TumblingTimeWindow(…) and so on)`,
    );
  }
}
