/**
 * The windows of one task in its checkpointed state (EFFECTIVELY_ONCE): the
 * snapshot's shape, the tuples' encoding, and what the engine may ask of a
 * saved state without knowing the shape (is a snapshot there, how many
 * tuples does it hold, take it out).
 *
 * The windows live in the task's state under {@link WINDOWS_STATE_KEY},
 * beside the keys of a stateful windowed bolt, which never sees that key
 * ({@link WithoutWindows}).
 *
 * @module
 */
import type { KeyValueState } from "../stateful.ts";
import type { StormTopology } from "../topology.ts";
import { StreamInfo, type Tuple, TupleImpl } from "../tuple.ts";
import type { WatermarksSnapshot } from "./watermarks.ts";
import type { WindowManagerSnapshot } from "./window_manager.ts";

/**
 * The state key under which a windowed bolt keeps its windows
 * (EFFECTIVELY_ONCE); a stateful subclass never sees it.
 *
 * @example
 * ```ts
 * import type { KeyValueState } from "ardea";
 * declare const state: KeyValueState;
 * state.has(WINDOWS_STATE_KEY); // true after a windowed bolt's first checkpoint
 * ```
 */
export const WINDOWS_STATE_KEY = "\u0000ardea.windows";

/**
 * A tuple in a checkpoint: [component, stream, source task, values].
 *
 * @example
 * ```ts
 * const saved: SavedTuple = ["numbers", "default", 1, [42]];
 * ```
 */
export type SavedTuple = [component: string, stream: string, task: number, values: unknown[]];

/**
 * The windows of one task, as plain data (version 1): the tuples in windows
 * and those waiting for the watermark, with positions, the watermark and
 * counters.
 *
 * @example
 * ```ts
 * declare const executor: { snapshot(): WindowsSnapshot };
 * const snap: WindowsSnapshot = executor.snapshot();
 * snap.manager.entries.length; // tuples in windows
 * ```
 */
export interface WindowsSnapshot {
  v: 1;
  /** Count windows: the next arrival position. */
  seq: number;
  /** Late tuples seen so far. */
  late: number;
  manager: WindowManagerSnapshot<SavedTuple>;
  /** Event time only. */
  watermarks: WatermarksSnapshot<SavedTuple> | null;
}

/**
 * A tuple as a checkpoint keeps it.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * declare const t: Tuple;
 * encodeTuple(t); // ["numbers", "default", 1, [42, 1700000000000]]
 * ```
 */
export function encodeTuple(t: Tuple): SavedTuple {
  return [t.getSourceComponent(), t.getSourceStreamId(), t.getSourceTask(), [...t.getValues()]];
}

/**
 * Turns saved tuples back into tuples of `topology` (its streams give the
 * fields); throws naming a stream the topology no longer has.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const decode = tupleDecoder(context.topology);
 * const t = decode(["numbers", "default", 1, [42]]);
 * ```
 */
export function tupleDecoder(topology: StormTopology): (saved: SavedTuple) => Tuple {
  const infos = new Map<string, StreamInfo>();
  return ([component, stream, task, values]) => {
    const key = `${component}\u0000${stream}`;
    let info = infos.get(key);
    if (info === undefined) {
      const decl = topology.components.get(component)?.streams.get(stream);
      if (decl === undefined) {
        throw new TypeError(
          `windowed bolt: a saved tuple names stream "${stream}" of "${component}", which the topology no longer has`,
        );
      }
      info = new StreamInfo(component, stream, decl.fields, decl.direct);
      infos.set(key, info);
    }
    return new TupleImpl(values, info, task);
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/**
 * `value` checked to be a {@link WindowsSnapshot}; throws a TypeError
 * otherwise (a checkpoint from another version, or damaged).
 */
function parseWindowsSnapshot(value: unknown): WindowsSnapshot {
  const s = value as Partial<WindowsSnapshot> | null | undefined;
  const m = s?.manager;
  const w = s?.watermarks;
  const ok = isObject(s) && s.v === 1 && typeof s.seq === "number" && typeof s.late === "number" &&
    isObject(m) && Array.isArray(m.entries) && Array.isArray(m.expired) &&
    (w === null || (isObject(w) && Array.isArray(w.held) && Array.isArray(w.maxTs)));
  if (!ok) {
    throw new TypeError(
      `windowed bolt: the saved windows under ${JSON.stringify(WINDOWS_STATE_KEY)} are not a version 1 snapshot`,
    );
  }
  return s as WindowsSnapshot;
}

/**
 * The windows saved in a task's state, checked, or undefined when it holds
 * none (not a windowed bolt, or no checkpoint yet).
 *
 * @example
 * ```ts
 * import type { KeyValueState } from "ardea";
 * declare const state: KeyValueState;
 * const snap = savedWindows(state);
 * if (snap !== undefined && tuplesHeld(snap) > 0) throw new Error("windows hold tuples: cannot rescale");
 * ```
 */
export function savedWindows(state: KeyValueState): WindowsSnapshot | undefined {
  const v = state.get(WINDOWS_STATE_KEY);
  return v === undefined ? undefined : parseWindowsSnapshot(v);
}

/**
 * Removes the windows from a task's state and returns them (checked), or
 * undefined when it holds none.
 *
 * @example
 * ```ts
 * import type { KeyValueState } from "ardea";
 * declare const state: KeyValueState;
 * const snap = takeWindows(state); // the state keeps only the bolt's own keys now
 * ```
 */
export function takeWindows(state: KeyValueState): WindowsSnapshot | undefined {
  const snap = savedWindows(state);
  if (snap !== undefined) state.delete(WINDOWS_STATE_KEY);
  return snap;
}

/**
 * How many tuples a snapshot holds: in windows, and waiting for the
 * watermark.
 *
 * @example
 * ```ts
 * declare const executor: { snapshot(): WindowsSnapshot };
 * tuplesHeld(executor.snapshot()); // 0 once every window fired
 * ```
 */
export function tuplesHeld(snap: WindowsSnapshot): number {
  return snap.manager.entries.length + (snap.watermarks?.held.length ?? 0);
}

/**
 * A stateful windowed bolt's own view of its task's state: the windows' key
 * hidden, and reserved.
 *
 * @example
 * ```ts
 * import type { IStatefulComponent, KeyValueState } from "ardea";
 * declare const bolt: IStatefulComponent;
 * declare const state: KeyValueState;
 * bolt.initState(new WithoutWindows(state));
 * ```
 */
export class WithoutWindows implements KeyValueState {
  constructor(readonly inner: KeyValueState) {}
  get(key: unknown): unknown {
    return key === WINDOWS_STATE_KEY ? undefined : this.inner.get(key);
  }
  put(key: unknown, value: unknown): void {
    if (key === WINDOWS_STATE_KEY) {
      throw new RangeError(`the state key ${JSON.stringify(WINDOWS_STATE_KEY)} is reserved for the windows`);
    }
    this.inner.put(key, value);
  }
  delete(key: unknown): boolean {
    return key !== WINDOWS_STATE_KEY && this.inner.delete(key);
  }
  has(key: unknown): boolean {
    return key !== WINDOWS_STATE_KEY && this.inner.has(key);
  }
  *entries(): IterableIterator<[unknown, unknown]> {
    for (const e of this.inner.entries()) if (e[0] !== WINDOWS_STATE_KEY) yield e;
  }
  get size(): number {
    return this.inner.size - (this.inner.has(WINDOWS_STATE_KEY) ? 1 : 0);
  }
  clear(): void {
    const w = this.inner.get(WINDOWS_STATE_KEY);
    this.inner.clear();
    if (w !== undefined) this.inner.put(WINDOWS_STATE_KEY, w);
  }
}
