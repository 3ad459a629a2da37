/**
 * Stateful components (EFFECTIVELY_ONCE): a component keeps what it must not
 * lose in a {@link KeyValueState}; the engine saves it at every checkpoint
 * and hands the last committed one back after a failure, while spouts rewind
 * to their saved position. Storm's `IStatefulComponent` names.
 *
 * @module
 */
import { BaseRichBolt, BaseRichSpout } from "./components.ts";

/**
 * A typed key → value map whose contents survive failures in
 * EFFECTIVELY_ONCE mode (keys and values must be serialisable).
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * class Count {
 *   counts!: KeyValueState<string, number>;
 *   initState(state: KeyValueState<string, number>) { this.counts = state; }
 *   execute(t: Tuple) { const w = t.getString(0); this.counts.put(w, (this.counts.get(w) ?? 0) + 1); }
 * }
 * ```
 */
export interface KeyValueState<K = unknown, V = unknown> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  delete(key: K): boolean;
  has(key: K): boolean;
  entries(): IterableIterator<[K, V]>;
  readonly size: number;
  clear(): void;
}

/**
 * What a stateful spout or bolt implements.
 *
 * - `initState` runs before `open`/`prepare`, with the state of the last
 *   committed checkpoint (empty on a clean start).
 * - `preSave(id)` runs just before the state is saved for checkpoint `id`:
 *   write what is not in the state yet (a spout: its source position).
 * - `postSave(id)` runs once checkpoint `id` is committed by every task: a
 *   sink commits its external side effects here (two-phase), and only here.
 * - `preRestore()` runs before the component is rolled back: a sink discards
 *   uncommitted side effects.
 * - `rescaleStates(saved, targets)` (spouts) runs on a spare instance when
 *   the spout's task count changed since the checkpoint: it fills the new
 *   tasks' empty states from the old tasks' (both by task index). A spout
 *   without it cannot be rescaled: a position usually cannot be split.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * class Counter implements IStatefulComponent<string, number> {
 *   counts!: KeyValueState<string, number>;
 *   initState(s: KeyValueState<string, number>) { this.counts = s; }
 *   execute(t: Tuple) { const w = t.getString(0); this.counts.put(w, (this.counts.get(w) ?? 0) + 1); }
 * }
 * ```
 */
export interface IStatefulComponent<K = unknown, V = unknown> {
  initState(state: KeyValueState<K, V>): void;
  preSave?(checkpointId: number): void;
  postSave?(checkpointId: number): void;
  preRestore?(): void;
  rescaleStates?(saved: readonly KeyValueState<K, V>[], targets: readonly KeyValueState<K, V>[]): void;
}

/**
 * Whether a component keeps state across failures.
 *
 * @example
 * ```ts
 * declare const bolt: unknown, state: KeyValueState;
 * if (isStateful(bolt)) bolt.initState(state);
 * ```
 */
export function isStateful(c: unknown): c is IStatefulComponent {
  return typeof (c as { initState?: unknown } | null)?.initState === "function";
}

/**
 * Key of a component's method that says why it cannot run under
 * EFFECTIVELY_ONCE (it cannot rewind or roll back), or returns null when it can.
 *
 * @example
 * ```ts
 * class Tail {
 *   [EFFECTIVELY_ONCE_REFUSAL](): string | null { return "a file tail cannot rewind"; }
 * }
 * effectivelyOnceRefusal(new Tail()); // "a file tail cannot rewind"
 * ```
 */
export const EFFECTIVELY_ONCE_REFUSAL: unique symbol = Symbol.for("ardea.effectivelyOnceRefusal");

/**
 * Why component `c` cannot run under EFFECTIVELY_ONCE, by its own account
 * ({@link EFFECTIVELY_ONCE_REFUSAL}); null when it does not object.
 *
 * @example
 * ```ts
 * effectivelyOnceRefusal({}); // null
 * ```
 */
export function effectivelyOnceRefusal(c: unknown): string | null {
  const says = (c as { [EFFECTIVELY_ONCE_REFUSAL]?: unknown } | null)?.[EFFECTIVELY_ONCE_REFUSAL];
  return typeof says === "function" ? (says.call(c) as string | null) : null;
}

/**
 * Storm's `BaseStatefulBolt`: a rich bolt with a `KeyValueState`.
 *
 * @example
 * ```ts
 * import { Fields, type OutputFieldsDeclarer, type Tuple } from "ardea";
 * class WordCount extends BaseStatefulBolt<string, number> {
 *   counts!: KeyValueState<string, number>;
 *   initState(s: KeyValueState<string, number>) { this.counts = s; }
 *   execute(t: Tuple) { const w = t.getString(0); this.counts.put(w, (this.counts.get(w) ?? 0) + 1); }
 *   declareOutputFields(d: OutputFieldsDeclarer) { d.declare(new Fields("word", "count")); }
 * }
 * ```
 */
export abstract class BaseStatefulBolt<K = unknown, V = unknown> extends BaseRichBolt
  implements IStatefulComponent<K, V> {
  abstract initState(state: KeyValueState<K, V>): void;
  preSave(_checkpointId: number): void {}
  postSave(_checkpointId: number): void {}
  preRestore(): void {}
}

/**
 * A spout with a `KeyValueState` (it keeps its source position there, so it
 * can rewind after a failure).
 *
 * @example
 * ```ts
 * import { Fields, type OutputFieldsDeclarer } from "ardea";
 * class FileSpout extends BaseStatefulSpout<string, number> {
 *   state!: KeyValueState<string, number>;
 *   offset = 0;
 *   initState(s: KeyValueState<string, number>) { this.state = s; this.offset = s.get("offset") ?? 0; }
 *   override preSave() { this.state.put("offset", this.offset); }
 *   nextTuple() { this.offset++; }
 *   declareOutputFields(d: OutputFieldsDeclarer) { d.declare(new Fields("line")); }
 * }
 * ```
 */
export abstract class BaseStatefulSpout<K = unknown, V = unknown> extends BaseRichSpout
  implements IStatefulComponent<K, V> {
  abstract initState(state: KeyValueState<K, V>): void;
  preSave(_checkpointId: number): void {}
  postSave(_checkpointId: number): void {}
  preRestore(): void {}
}
