/**
 * The components a streamlet graph compiles to: the source spout, the
 * fused chain bolt (stateless operators, a split or a sink, one component)
 * and the running keyed reduction.
 *
 * @module
 */
import type { OutputCollector, SpoutOutputCollector } from "../topology/collectors.ts";
import { BaseStatefulBolt, EFFECTIVELY_ONCE_REFUSAL, type KeyValueState } from "../topology/stateful.ts";
import { BaseRichBolt, type ISpout, type MaybePromise } from "../topology/components.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import type { Tuple } from "../topology/tuple.ts";
import { State } from "../state/keyed_state.ts";
import { InvalidTopologyError } from "../topology/errors.ts";
import { componentFactory } from "../topology/instantiate.ts";
import { canonicalKey } from "./keys.ts";
import { type Context, KeyValue, type Sink, type Source, type Transformer } from "./types.ts";
import type { Op, Reduce, SourceInput } from "./graph.ts";

/** The one field of every streamlet edge. */
export const VALUE_FIELDS: readonly string[] = ["value"];

/**
 * A Heron {@link Context} over a task's `TopologyContext`.
 *
 * @example
 * ```ts
 * import type { TopologyConfig, TopologyContext } from "../mod.ts";
 * declare const conf: TopologyConfig, ctx: TopologyContext;
 * streamletContext(conf, ctx).getStreamPartition(); // the task index
 * ```
 */
export function streamletContext(conf: TopologyConfig, context: TopologyContext): Context {
  return {
    getTaskId: () => context.taskId,
    getConfig: () => conf,
    getStreamName: () => context.getThisComponentId(),
    getStreamPartition: () => context.getThisTaskIndex(),
    registerMetric: (name, intervalSecs, read) =>
      void context.registerMetric(name, { getValueAndReset: read }, intervalSecs),
  };
}

/**
 * The spout of a streamlet source (supplier, {@link Source}, iterable or
 * async iterable). Reliable under ATLEAST_ONCE (failed elements are
 * emitted again); under EFFECTIVELY_ONCE an iterable source rewinds to its
 * checkpointed position, a supplier or `Source` refuses to run.
 *
 * @example
 * ```ts
 * const spout = new SourceSpout([1, 2, 3]);
 * ```
 */
export class SourceSpout implements ISpout {
  readonly #input: SourceInput<unknown>;
  #collector!: SpoutOutputCollector;
  #reliable = false;
  #source: Source<unknown> | null = null;
  #iter: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  /** An array source: read by index, its index is the message id (nothing kept per pending element). */
  #array: readonly unknown[] | null = null;
  #async = false;
  /** Partition i of n takes the iterable's elements i, i + n, … */
  #stride = 1;
  #offset = 0;
  /** Elements of the iterable this task has passed (its own and the others'). */
  #position = 0;
  #skipTo = 0;
  #state: KeyValueState<string, number> | null = null;
  #done = false;
  #nextId = 0;
  readonly #pending = new Map<number, unknown>();
  readonly #replay: number[] = [];

  constructor(input: SourceInput<unknown>) {
    this.#input = input;
  }

  [EFFECTIVELY_ONCE_REFUSAL](): string | null {
    const i = this.#input as object;
    return Symbol.iterator in i || Symbol.asyncIterator in i
      ? null
      : "a streamlet source made from a supplier or a Source cannot rewind (use an iterable, or a stateful spout)";
  }

  /** EFFECTIVELY_ONCE: resume after the elements of the last checkpoint. */
  initState(state: KeyValueState<string, number>): void {
    this.#state = state;
    this.#skipTo = state.get("position") ?? 0;
  }

  preSave(): void {
    this.#state?.put("position", this.#position);
  }

  open(conf: TopologyConfig, context: TopologyContext, collector: SpoutOutputCollector): MaybePromise {
    this.#collector = collector;
    this.#reliable = conf["topology.reliability.mode"] !== "ATMOST_ONCE";
    const input = this.#input;
    if (typeof input === "function") return;
    if (Symbol.iterator in input || Symbol.asyncIterator in input) {
      this.#stride = context.getComponentTasks(context.getThisComponentId()).length;
      this.#offset = context.getThisTaskIndex();
      this.#async = !(Symbol.iterator in input);
      if (Array.isArray(input)) {
        this.#array = input;
        return;
      }
      this.#iter = this.#async
        ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (input as Iterable<unknown>)[Symbol.iterator]();
      return;
    }
    this.#source = componentFactory(input as Source<unknown>)();
    return this.#source.setup(streamletContext(conf, context));
  }

  nextTuple(): MaybePromise {
    if (this.#replay.length > 0) {
      const id = this.#replay.shift()!;
      if (this.#array !== null) this.#collector.emit([this.#array[id]], id);
      else if (this.#pending.has(id)) this.#collector.emit([this.#pending.get(id)], id);
      return;
    }
    if (this.#done) return;
    const input = this.#input;
    const array = this.#array;
    if (array !== null) {
      // One element of this partition per call (as a hand-written spout: the engine checks back-pressure between calls).
      let at = this.#position;
      while (at < array.length && (at % this.#stride !== this.#offset || at < this.#skipTo)) at++;
      if (at >= array.length) {
        this.#position = at;
        return this.#end();
      }
      this.#position = at + 1;
      if (this.#reliable) this.#collector.emit([array[at]], at);
      else this.#collector.emit([array[at]]);
      return;
    }
    if (typeof input === "function") return this.#emit(input());
    if (this.#source !== null) {
      const batch = this.#source.get();
      return batch instanceof Promise ? batch.then((b) => this.#batch(b)) : this.#batch(batch);
    }
    if (this.#async) return this.#nextAsync();
    const iter = this.#iter as Iterator<unknown>;
    for (;;) {
      const r = iter.next();
      if (r.done) return this.#end();
      if (this.#take(r.value)) return;
    }
  }

  async #nextAsync(): Promise<void> {
    const r = await (this.#iter as AsyncIterator<unknown>).next();
    if (r.done) this.#end();
    else this.#take(r.value);
  }

  /** Emits `value` if it is this partition's; says whether it was. */
  #take(value: unknown): boolean {
    const at = this.#position++;
    if (at % this.#stride !== this.#offset || at < this.#skipTo) return false;
    this.#emit(value);
    return true;
  }

  #batch(batch: Iterable<unknown> | null): void {
    if (batch === null) return this.#end();
    for (const e of batch) this.#emit(e);
  }

  #end(): void {
    this.#done = true;
    this.#collector.finish();
  }

  #emit(value: unknown): void {
    if (!this.#reliable) return this.#collector.emit([value]);
    const id = this.#nextId++;
    this.#pending.set(id, value);
    this.#collector.emit([value], id);
  }

  ack(id: unknown): void {
    this.#pending.delete(id as number);
  }

  fail(id: unknown): void {
    if (this.#array !== null || this.#pending.has(id as number)) this.#replay.push(id as number);
  }

  close(): MaybePromise {
    return this.#source?.cleanup();
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare([...VALUE_FIELDS]);
  }
}

/** One fused operator: its name and what it does. */
export interface Stage {
  readonly name: string;
  readonly op: Op;
}

/** A bolt's `execute`. */
type Execute = (input: Tuple) => MaybePromise;

/**
 * A chain's generated code: given each stage's function (or transformer,
 * sink, predicates), the collector, the counts, the sinks' pending puts and
 * what acks a tuple after them, it returns the bolt's `execute`.
 */
type ChainCode = (
  fns: readonly unknown[],
  collector: OutputCollector,
  counts: Float64Array,
  waits: Promise<void>[],
  key: ((element: unknown) => unknown) | undefined,
  settle: Execute,
) => Execute;

/** Operators with one element out per element in: their out count is their in count. */
const ONE_TO_ONE: ReadonlySet<string> = new Set(["map", "union", "repartition"]);

/**
 * The counter of each position of a chain: `slots[i]` holds the elements
 * into stage i (`slots[n]`: out of the last one). After a one-to-one stage
 * the next position shares its counter, so only the head and the outputs of
 * filters, flatMaps, transforms and splits are counted.
 */
function counterSlots(stages: readonly Stage[]): number[] {
  const slots = [0];
  for (let i = 1; i <= stages.length; i++) slots.push(ONE_TO_ONE.has(stages[i - 1]!.op.kind) ? slots[i - 1]! : i);
  return slots;
}

/** Generated code of each fused component, by its stages: its tasks share it (and V8's type feedback). */
const CHAIN_CODE = new WeakMap<readonly Stage[], ChainCode>();
const KEYED_CHAIN_CODE = new WeakMap<readonly Stage[], ChainCode>();

/**
 * Generates a chain's code: one small function per stage calling the next
 * one directly. Code of its own per chain keeps every call site monomorphic
 * (a closure per operator kind, shared by all chains, would see every
 * chain's functions), so V8 inlines the stages into each other. The source
 * holds only stage indexes and our own identifiers, never user text.
 */
function chainCode(stages: readonly Stage[], keyed: boolean): ChainCode {
  const cache = keyed ? KEYED_CHAIN_CODE : CHAIN_CODE;
  const cached = cache.get(stages);
  if (cached !== undefined) return cached;
  const n = stages.length;
  const slots = counterSlots(stages);
  const count = (i: number) => (slots[i] === i ? `c[${i}]++;` : "");
  const lines = ['"use strict";', "let anchor = null;"];
  for (let i = 0; i < n; i++) {
    const op = stages[i]!.op;
    const next = `s${i + 1}`;
    lines.push(`const f${i} = F[${i}];`);
    let body: string;
    switch (op.kind) {
      case "map":
        body = `${next}(f${i}(v));`;
        break;
      case "filter":
        body = `if (f${i}(v)) ${next}(v);`;
        break;
      case "flatMap":
        body = `const r = f${i}(v);
  if (Array.isArray(r)) { for (let j = 0; j < r.length; j++) ${next}(r[j]); }
  else for (const x of r) ${next}(x);`;
        break;
      case "transform":
        body = `f${i}.transform(v, ${next});`;
        break;
      case "split":
        body = `for (let j = 0; j < f${i}.length; j++) {
    const p = f${i}[j];
    if (p[1](v)) { col.emit(p[0], anchor, [v]); ${next}(v); }
  }`;
        break;
      case "sink":
        // A put typed void may still return a value (`(x) => list.push(x)`): only a thenable is awaited.
        body = `const r = f${i}.put(v);
  if (r !== undefined && r !== null && typeof r.then === "function") waits.push(r);`;
        break;
      case "union":
      case "repartition":
        body = `${next}(v);`;
        break;
      default:
        throw new InvalidTopologyError("BAD_CHAIN", `operator "${op.kind}" cannot be fused`);
    }
    lines.push(`function s${i}(v) {\n  ${count(i)}${body}\n}`);
  }
  const last = stages[n - 1]!.op.kind;
  if (last === "split") lines.push(`function s${n}(v) { ${count(n)} }`);
  else if (last !== "sink") {
    lines.push(`function s${n}(v) { ${count(n)}col.emit(anchor, [v${keyed ? ", key(v)" : ""}]); }`);
  }
  lines.push(`return function execute(input) {
  anchor = input;
  s0(input.getValue(0));
  anchor = null;
  return waits.length === 0 ? col.ack(input) : settle(input);
};`);
  const code = new Function("F", "col", "c", "waits", "key", "settle", lines.join("\n")) as ChainCode;
  cache.set(stages, code);
  return code;
}

/**
 * A chain of fused operators in one bolt: `map`, `filter`, `flatMap`,
 * `transform` (and the identity heads `union`, `repartition`, `clone`),
 * ending optionally in a `split` or a sink. Elements pass between stages
 * as plain calls of code generated for the chain; only the last stage
 * emits a tuple. Each stage's elements in and out are the task's gauges
 * `<stage>.in` and `<stage>.out` (counted since the task's instance
 * started; a one-to-one stage shares the counter of its input).
 *
 * @example
 * ```ts
 * const bolt = new ChainBolt([{ name: "map-1", op: { kind: "map", fn: (x) => x } }]);
 * ```
 */
export class ChainBolt extends BaseRichBolt {
  readonly #stages: readonly Stage[];
  /** The chain's generated `execute` (set by `prepare`; the engine calls it directly). */
  execute: Execute = () => {
    throw new Error("ChainBolt: execute before prepare");
  };
  readonly #transformers: Transformer<unknown, unknown>[] = [];
  readonly #sinks: Sink<unknown>[] = [];
  readonly #waits: Promise<void>[] = [];

  readonly #key: ((element: unknown) => unknown) | undefined;

  /** `key`: emit `[element, key(element)]` (fields "value", "key"), for a keyed operator's fields grouping. */
  constructor(stages: readonly Stage[], key?: (element: unknown) => unknown) {
    super();
    this.#stages = stages;
    this.#key = key;
  }

  override prepare(conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): MaybePromise {
    const stages = this.#stages;
    const code = chainCode(stages, this.#key !== undefined);
    const slots = counterSlots(stages);
    const counts = new Float64Array(stages.length + 1);
    const setups: Promise<void>[] = [];
    const started = (r: void | Promise<void>) => {
      if (r instanceof Promise) setups.push(r);
    };
    const ctx = streamletContext(conf, context);
    const fns = stages.map(({ name, op }, i): unknown => {
      const into = slots[i]!, out = slots[op.kind === "sink" ? i : i + 1]!;
      context.registerGauge(`${name}.in`, () => counts[into]!);
      context.registerGauge(`${name}.out`, () => counts[out]!);
      switch (op.kind) {
        case "map":
        case "filter":
        case "flatMap":
          return op.fn;
        case "split":
          return op.predicates;
        case "transform": {
          const t = componentFactory(op.transformer)();
          this.#transformers.push(t);
          started(t.setup(ctx));
          return t;
        }
        case "sink": {
          const s = componentFactory(op.sink)();
          this.#sinks.push(s);
          started(s.setup(ctx));
          return s;
        }
        default:
          return undefined;
      }
    });
    this.execute = code(fns, collector, counts, this.#waits, this.#key, (input) => {
      const waits = this.#waits.splice(0);
      return Promise.all(waits).then(() => collector.ack(input), () => collector.fail(input));
    });
    if (setups.length > 0) return Promise.all(setups).then(() => {});
  }

  override async cleanup(): Promise<void> {
    for (const t of this.#transformers) await t.cleanup();
    for (const s of this.#sinks) await s.cleanup();
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    const last = this.#stages[this.#stages.length - 1]!.op;
    if (last.kind === "split") { for (const [id] of last.predicates) d.declareStream(id, [...VALUE_FIELDS]); }
    else if (last.kind !== "sink") d.declare(this.#key === undefined ? [...VALUE_FIELDS] : [...VALUE_FIELDS, "key"]);
  }
}

/**
 * A key of a keyed state map: primitives as themselves (a `Map` takes
 * "__proto__" and "constructor" as any string), objects and arrays by a
 * canonical JSON text (sorted object keys), so equal data meet.
 *
 * @example
 * ```ts
 * stateKey({ b: 1, a: [2] }) === stateKey({ a: [2], b: 1 }); // true
 * ```
 */
export function stateKey(key: unknown): unknown {
  return typeof key === "object" && key !== null ? `\u0000${canonicalKey(key)}` : key;
}

/** A new key's copy of a fold's identity (a primitive is its own copy: no structuredClone). */
function fresh(identity: unknown): unknown {
  return typeof identity === "object" && identity !== null ? structuredClone(identity) : identity;
}

/**
 * `countByKey` and `reduceByKey` (Heron's ReduceByKeyOperator and
 * GeneralReduceByKeyOperator): the running result of each key, emitted as
 * a `KeyValue(key, result)` for every element. The results are kept in the
 * task's `KeyValueState` (checkpointed and restored under
 * EFFECTIVELY_ONCE), as `[key, result]` under {@link stateKey}`(key)`.
 *
 * @example
 * ```ts
 * const counts = new ReduceByKeyBolt((w) => w, { kind: "fold", identity: 0, op: (n) => (n as number) + 1 });
 * ```
 */
export class ReduceByKeyBolt extends BaseStatefulBolt<unknown, [unknown, unknown]> {
  #collector!: OutputCollector;
  #state: KeyValueState<unknown, [unknown, unknown]> = new State();

  /** `keyed`: the input tuples carry the element's key as their second value (a chain's `[element, key]`). */
  constructor(readonly key: (e: unknown) => unknown, readonly reduce: Reduce, readonly keyed = false) {
    super();
  }

  initState(state: KeyValueState<unknown, [unknown, unknown]>): void {
    this.#state = state;
  }

  override prepare(_conf: TopologyConfig, _context: TopologyContext, collector: OutputCollector): void {
    this.#collector = collector;
  }

  execute(input: Tuple): void {
    const e = input.getValue(0);
    const key = this.keyed ? input.getValue(1) : this.key(e);
    const sk = stateKey(key);
    const entry = this.#state.get(sk);
    const r = this.reduce;
    let acc: unknown;
    if (r.kind === "binary") acc = entry === undefined ? r.value(e) : r.op(entry[1], r.value(e));
    else acc = r.op(entry === undefined ? fresh(r.identity) : entry[1], e);
    // An existing entry is updated in place (the state is snapshotted whole at a checkpoint).
    if (entry === undefined) this.#state.put(sk, [key, acc]);
    else entry[1] = acc;
    this.#collector.emit(input, [new KeyValue(key, acc)]);
    this.#collector.ack(input);
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare([...VALUE_FIELDS]);
  }
}
