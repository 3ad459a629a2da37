/**
 * The windowed and keyed parts of the Streamlet API, as pieces the
 * streamlet compiler places in a topology: {@link keyGrouping} (tuples to
 * tasks by a hash of an element's key, as Heron's
 * `ReduceByKeyAndWindowCustomGrouping` and `JoinCustomGrouping`),
 * {@link reduceByKeyAndWindowBolt} and {@link joinBolt}. Both bolts are
 * Ardea windowed bolts ({@link BaseWindowedBolt}): the windows, their acks,
 * event time, late tuples and their checkpoints under EFFECTIVELY_ONCE are
 * the windowed bolt executor's; these bolts only group a fired window's
 * elements by key.
 *
 * Every edge carries tuples of one field, `"value"` (the element); the bolts
 * emit `["value"] = KeyValue<KeyedWindow<K>, T>`, one tuple per key (reduce)
 * or per joined pair (join), anchored to the tuples of that key in the
 * window, so a failure downstream replays them under ATLEAST_ONCE.
 *
 * Keys are equal when they are the same primitive (`SameValueZero`: `NaN`
 * equals `NaN`, `-0` equals `0`) or structurally equal plain data (objects
 * with the same own keys and values, arrays, Maps and Sets with equal entries
 * in the same order, Dates, byte arrays), as
 * the fields grouping hashes them (`topology/fields_hash.ts`), so equal keys
 * meet in one task and one group whichever process made them.
 *
 * @module
 */
import type { OutputCollector } from "../topology/collectors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { InvalidTopologyError } from "../topology/errors.ts";
import { hashFields } from "../topology/fields_hash.ts";
import type { CustomStreamGrouping } from "../topology/grouping.ts";
import type { Tuple } from "../topology/tuple.ts";
import { Count, Duration } from "../topology/windowing/lengths.ts";
import type { TupleWindow } from "../topology/windowing/tuple_window.ts";
import { BaseWindowedBolt } from "../topology/windowing/windowed_bolt.ts";
import { canonicalKey, checkIdentity } from "./keys.ts";
import { type JoinType, KeyedWindow, KeyValue, Window, type WindowConfig } from "./types.ts";

/** The one field of every streamlet edge. */
const VALUE_FIELDS = ["value"];
const KEY_INDEX: readonly number[] = [0];

// ---------------------------------------------------------------- grouping

/** Chooses tasks by the hash of `key(values[0])`, as a fields grouping would hash that key. */
class KeyGrouping<R, K> implements CustomStreamGrouping {
  #targets: readonly number[] = [];
  /** One-element array the key is hashed in (no array per tuple). */
  readonly #box: unknown[] = [undefined];
  /** The chosen task (no array per tuple). */
  readonly #chosen: number[] = [0];

  constructor(readonly key: (element: R) => K) {}

  prepare(_context: TopologyContext, stream: { componentId: string; streamId: string }, targets: readonly number[]) {
    if (targets.length === 0) {
      throw new InvalidTopologyError(
        "BAD_GROUPING",
        `keyGrouping on stream "${stream.streamId}" of "${stream.componentId}": no target tasks`,
      );
    }
    const known = this.#targets;
    if (known.length > 0 && (known.length !== targets.length || known.some((t, i) => t !== targets[i]))) {
      throw new InvalidTopologyError(
        "BAD_GROUPING",
        `keyGrouping on stream "${stream.streamId}" of "${stream.componentId}": this grouping already sends to other tasks ([${known}], not [${targets}]); make one keyGrouping per subscribing bolt`,
      );
    }
    this.#targets = targets;
  }

  chooseTasks(_taskId: number, values: readonly unknown[]): readonly number[] {
    const box = this.#box;
    box[0] = this.key(values[0] as R);
    let h: number;
    try {
      h = hashFields(box, KEY_INDEX);
    } catch (e) {
      throw new TypeError(`keyGrouping: cannot hash the key ${describe(box[0])}: ${(e as Error).message}`);
    } finally {
      box[0] = undefined;
    }
    const n = this.#targets.length;
    // h mod n for an unsigned h in small-integer arithmetic (h = 2a + b), as
    // the fields grouping does. One array reused: the engine copies the
    // chosen tasks before the next call (engine/groupings.ts).
    this.#chosen[0] = this.#targets[(((h >>> 1) % n) * 2 + (h & 1)) % n]!;
    return this.#chosen;
  }
}

function describe(v: unknown): string {
  return typeof v === "function" ? "(a function)" : typeof v === "symbol" ? v.toString() : `of type ${typeof v}`;
}

/**
 * A custom grouping sending each element to the task chosen by a hash of
 * `key(element)`: equal keys (primitives by value, plain data by structure,
 * strings such as `"__proto__"` included) always go to the same task, and
 * two groupings with key functions returning equal keys (the two sides of
 * a join) choose the same task for them. A grouping keeps the tasks it
 * sends to: make one per subscribing bolt (both inputs of one join may share
 * one).
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "../topology/builder.ts";
 * declare const builder: TopologyBuilder;
 * declare const counts: import("../topology/components.ts").IRichBolt;
 * builder.setBolt("count", counts, 4).customGrouping("words", keyGrouping((w: string) => w.toLowerCase()));
 * ```
 */
export function keyGrouping<R, K>(key: (element: R) => K): CustomStreamGrouping {
  if (typeof key !== "function") throw new InvalidTopologyError("BAD_GROUPING", "keyGrouping needs a key function");
  return new KeyGrouping(key);
}

// ---------------------------------------------------------------- keys

/**
 * Groups by key with Map semantics for primitives and structural equality
 * for objects (never a plain object as a dictionary), in first-seen order.
 * An object key stands in the map as a token, one per canonical form.
 */
class KeyTable<K, G extends Grouped<K>> {
  /** Group by primitive key or token, in first-seen order. */
  readonly groups = new Map<unknown, G>();
  readonly #tokens = new Map<string, object>();

  /** What stands for `key` in {@link groups}. */
  id(key: K): unknown {
    if (typeof key !== "object" || key === null) return key;
    const c = canonicalKey(key);
    let token = this.#tokens.get(c);
    if (token === undefined) this.#tokens.set(c, token = {});
    return token;
  }
}

// ---------------------------------------------------------------- windows

/** Configures `bolt`'s window from a streamlet {@link WindowConfig}. */
function applyWindow<B extends BaseWindowedBolt>(bolt: B, config: WindowConfig, what: string): B {
  if (config === null || typeof config !== "object" || (config.kind !== "time" && config.kind !== "count")) {
    throw new InvalidTopologyError("BAD_WINDOW", `${what}: the window must be a WindowConfig`);
  }
  if (config.kind === "count") bolt.withWindow(Count.of(config.length), Count.of(config.slide));
  else bolt.withWindow(Duration.of(config.length), Duration.of(config.slide));
  const et = config.eventTime;
  if (et !== undefined) {
    const timestamp = et.timestamp as (element: unknown) => number;
    bolt.withTimestampExtractor((t: Tuple) => timestamp(t.getValue(0))).withLag(et.lagMs);
  }
  return bolt;
}

/** A key's group in a window: the key and its tuples, to anchor its output to. */
interface Grouped<K> {
  readonly key: K;
  readonly anchors: Tuple[];
}

// ---------------------------------------------------------------- reduce

/**
 * What {@link reduceByKeyAndWindowBolt} computes: per window and key, a
 * binary reduce of `value(element)` (Heron's `reduceByKeyAndWindow(key,
 * value, window, reduceFn)`) or a fold from `identity` (Heron's
 * `reduceByKeyAndWindow(key, window, identity, reduceFn)`).
 *
 * @example
 * ```ts
 * import { WindowConfig } from "./types.ts";
 * const wordCounts: ReduceByKeyAndWindowSpec<string, string, number> = {
 *   key: (w) => w,
 *   window: WindowConfig.TumblingCountWindow(100),
 *   reduce: { kind: "fold", identity: 0, op: (n) => n + 1 },
 * };
 * ```
 */
export interface ReduceByKeyAndWindowSpec<R, K, T> {
  key: (e: R) => K;
  window: WindowConfig;
  /**
   * `binary`: the first element's `value`, then `op(acc, value(e))`.
   * `fold`: `op(acc, e)` from a copy of `identity` per key and window
   * (copied with `structuredClone`, so it must be plain data).
   */
  reduce:
    | { kind: "binary"; value: (e: R) => T; op: (a: T, b: T) => T }
    | { kind: "fold"; identity: T; op: (acc: T, e: R) => T };
}

interface ReduceGroup<K, T> extends Grouped<K> {
  acc: T;
}

/** The spec without its window (a WindowConfig instance is not copied per task; the bolt holds the window). */
type Unwindowed<S> = Omit<S, "window">;

class ReduceByKeyAndWindowBolt<R, K, T> extends BaseWindowedBolt {
  collector: OutputCollector | null = null;

  constructor(readonly spec: Unwindowed<ReduceByKeyAndWindowSpec<R, K, T>>) {
    super();
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }

  execute(window: TupleWindow): void {
    const { key, reduce } = this.spec;
    const table = new KeyTable<K, ReduceGroup<K, T>>();
    const groups = table.groups;
    if (reduce.kind === "binary") {
      const { value, op } = reduce;
      for (const t of window.get()) {
        const e = t.getValue(0) as R;
        const k = key(e);
        const id = table.id(k);
        const g = groups.get(id);
        if (g === undefined) groups.set(id, { key: k, acc: value(e), anchors: [t] });
        else {
          g.acc = op(g.acc, value(e));
          g.anchors.push(t);
        }
      }
    } else {
      const { identity, op } = reduce;
      const copy = typeof identity === "object" && identity !== null;
      for (const t of window.get()) {
        const e = t.getValue(0) as R;
        const k = key(e);
        const id = table.id(k);
        let g = groups.get(id);
        if (g === undefined) {
          groups.set(id, g = { key: k, acc: copy ? structuredClone(identity) : identity, anchors: [] });
        }
        g.acc = op(g.acc, e);
        g.anchors.push(t);
      }
    }
    emitGroups(this.collector!, window, table, (g) => [g.acc]);
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(VALUE_FIELDS);
  }
}

/** Emits, per key, `results(group)` as KeyValue(KeyedWindow(key, window), result), anchored to the key's tuples. */
function emitGroups<K, G extends Grouped<K>, T>(
  collector: OutputCollector,
  window: TupleWindow,
  table: KeyTable<K, G>,
  results: (group: G) => readonly T[],
): void {
  const start = window.getStartTimestamp();
  const end = window.getEndTimestamp();
  for (const group of table.groups.values()) {
    const kw = new KeyedWindow(group.key, new Window(start, end, group.anchors.length));
    for (const r of results(group)) collector.emit(group.anchors, [new KeyValue(kw, r)]);
  }
}

/**
 * A windowed bolt reducing each window's elements by key: per window, for
 * each key seen in it, one tuple `["value"] = KeyValue<KeyedWindow<K>, T>`
 * whose window holds the window's start and end and the count of that
 * key's elements. Place it behind {@link keyGrouping} on the same key.
 * A fold's `identity`, when an object, is copied per key and window with
 * `structuredClone` (plain data only: a class instance loses its class).
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "../topology/builder.ts";
 * import { WindowConfig } from "./types.ts";
 * declare const builder: TopologyBuilder;
 * const countByWord = reduceByKeyAndWindowBolt<string, string, number>({
 *   key: (w) => w,
 *   window: WindowConfig.TumblingTimeWindow(10_000),
 *   reduce: { kind: "fold", identity: 0, op: (n) => n + 1 },
 * });
 * builder.setBolt("count", countByWord, 4).customGrouping("words", keyGrouping((w: string) => w));
 * ```
 */
export function reduceByKeyAndWindowBolt<R, K, T>(spec: ReduceByKeyAndWindowSpec<R, K, T>): BaseWindowedBolt {
  const what = "reduceByKeyAndWindow";
  if (typeof spec?.key !== "function") {
    throw new InvalidTopologyError("BAD_STREAMLET", `${what}: key must be a function`);
  }
  const r = spec.reduce;
  if (r?.kind === "binary") {
    if (typeof r.value !== "function" || typeof r.op !== "function") {
      throw new InvalidTopologyError("BAD_STREAMLET", `${what}: a binary reduce needs functions value and op`);
    }
  } else if (r?.kind === "fold") {
    if (typeof r.op !== "function") {
      throw new InvalidTopologyError("BAD_STREAMLET", `${what}: a fold needs a function op`);
    }
    checkIdentity(r.identity, what);
  } else {
    throw new InvalidTopologyError("BAD_STREAMLET", `${what}: reduce.kind must be "binary" or "fold"`);
  }
  const { key, reduce } = spec;
  return applyWindow(new ReduceByKeyAndWindowBolt<R, K, T>({ key, reduce }), spec.window, what);
}

// ---------------------------------------------------------------- join

/**
 * What {@link joinBolt} computes: the elements of components `left` and
 * `right` in one window, matched by key, joined by `join` as `type` says.
 *
 * @example
 * ```ts
 * import { JoinType, WindowConfig } from "./types.ts";
 * type Impression = { ad: string; user: string };
 * type Click = { ad: string; at: number };
 * const spec: JoinSpec<Impression, Click, string, string> = {
 *   left: "impressions",
 *   right: "clicks",
 *   leftKey: (i) => i.ad,
 *   rightKey: (c) => c.ad,
 *   window: WindowConfig.TumblingTimeWindow(10_000),
 *   type: JoinType.OUTER_LEFT,
 *   join: (i, c) => `${i?.user} ${c === undefined ? "did not click" : "clicked"}`,
 * };
 * ```
 */
export interface JoinSpec<L, R, K, T> {
  /** The component id of the left input. */
  left: string;
  /** The component id of the right input. */
  right: string;
  leftKey: (l: L) => K;
  rightKey: (r: R) => K;
  window: WindowConfig;
  type: JoinType;
  /** A matched pair, or an unmatched element with `undefined` for the other side (outer joins). */
  join: (l: L | undefined, r: R | undefined) => T;
}

interface JoinGroup<K, L, R> extends Grouped<K> {
  readonly lefts: L[];
  readonly rights: R[];
}

const JOIN_TYPES: ReadonlySet<string> = new Set(["INNER", "OUTER_LEFT", "OUTER_RIGHT", "OUTER"]);

class JoinBolt<L, R, K, T> extends BaseWindowedBolt {
  collector: OutputCollector | null = null;

  constructor(readonly spec: Unwindowed<JoinSpec<L, R, K, T>>) {
    super();
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }

  execute(window: TupleWindow): void {
    const { left, right, leftKey, rightKey, type, join } = this.spec;
    const table = new KeyTable<K, JoinGroup<K, L, R>>();
    const groups = table.groups;
    const group = (k: K): JoinGroup<K, L, R> => {
      const id = table.id(k);
      let g = groups.get(id);
      if (g === undefined) groups.set(id, g = { key: k, lefts: [], rights: [], anchors: [] });
      return g;
    };
    for (const t of window.get()) {
      const source = t.getSourceComponent();
      const e = t.getValue(0);
      let g: JoinGroup<K, L, R>;
      if (source === left) (g = group(leftKey(e as L))).lefts.push(e as L);
      else if (source === right) (g = group(rightKey(e as R))).rights.push(e as R);
      else {
        throw new TypeError(
          `join: a tuple from "${source}", which is neither the left "${left}" nor the right "${right}"`,
        );
      }
      g.anchors.push(t);
    }
    const keepLeft = type === "OUTER_LEFT" || type === "OUTER";
    const keepRight = type === "OUTER_RIGHT" || type === "OUTER";
    emitGroups(this.collector!, window, table, ({ lefts, rights }) => {
      const out: T[] = [];
      if (lefts.length > 0 && rights.length > 0) {
        for (const l of lefts) for (const r of rights) out.push(join(l, r));
      } else if (keepLeft && lefts.length > 0) { for (const l of lefts) out.push(join(l, undefined)); }
      else if (keepRight && rights.length > 0) { for (const r of rights) out.push(join(undefined, r)); }
      return out;
    });
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(VALUE_FIELDS);
  }
}

/**
 * A windowed bolt joining two inputs (told apart by their source
 * component, `spec.left` and `spec.right`) per window and key, as Heron's
 * `JoinOperator`: `join(l, r)` for every matched pair of a key; with
 * `OUTER_LEFT` also `join(l, undefined)` for each left element of a key
 * with no right one, with `OUTER_RIGHT` `join(undefined, r)` for the
 * converse, `OUTER` both. Output: `["value"] = KeyValue<KeyedWindow<K>,
 * T>`; the window's count is the number of that key's elements on both
 * sides (Heron's is the whole window's). Subscribe it to both inputs with
 * {@link keyGrouping} on their keys.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "../topology/builder.ts";
 * import { JoinType, WindowConfig } from "./types.ts";
 * declare const builder: TopologyBuilder;
 * type Impression = { ad: string; user: string };
 * type Click = { ad: string; at: number };
 * const bolt = joinBolt<Impression, Click, string, [string, number]>({
 *   left: "impressions",
 *   right: "clicks",
 *   leftKey: (i) => i.ad,
 *   rightKey: (c) => c.ad,
 *   window: WindowConfig.TumblingTimeWindow(10_000),
 *   type: JoinType.INNER,
 *   join: (i, c) => [i!.user, c!.at],
 * });
 * builder.setBolt("join", bolt, 2)
 *   .customGrouping("impressions", keyGrouping((i: Impression) => i.ad))
 *   .customGrouping("clicks", keyGrouping((c: Click) => c.ad));
 * ```
 */
export function joinBolt<L, R, K, T>(spec: JoinSpec<L, R, K, T>): BaseWindowedBolt {
  const what = "join";
  if (typeof spec?.left !== "string" || typeof spec.right !== "string" || spec.left === spec.right) {
    throw new InvalidTopologyError(
      "BAD_STREAMLET",
      `${what}: left and right must be two different component ids, got ${JSON.stringify(spec?.left)} and ${
        JSON.stringify(spec?.right)
      }`,
    );
  }
  for (const f of ["leftKey", "rightKey", "join"] as const) {
    if (typeof spec[f] !== "function") {
      throw new InvalidTopologyError("BAD_STREAMLET", `${what}: ${f} must be a function`);
    }
  }
  if (!JOIN_TYPES.has(spec.type)) {
    throw new InvalidTopologyError(
      "BAD_STREAMLET",
      `${what}: type must be one of ${[...JOIN_TYPES].join(", ")}, got ${String(spec.type)}`,
    );
  }
  const { left, right, leftKey, rightKey, type, join } = spec;
  return applyWindow(new JoinBolt<L, R, K, T>({ left, right, leftKey, rightKey, type, join }), spec.window, what);
}
