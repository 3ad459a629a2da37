/**
 * Keyed state of a task: a typed map that a stateful bolt fills, that the
 * checkpoint stores as bytes ({@link encodeState} / {@link decodeState},
 * msgpack with Ardea's codec options), and that rescaling repartitions
 * ({@link partition}) with the hash of the fields grouping, so each key
 * lands on the task that will receive its tuples.
 *
 * @module
 */
import { createPackr } from "../transport/codec.ts";
import { hashFields } from "../topology/fields_hash.ts";
import { StateError } from "./state_backend.ts";

/**
 * A typed map of one task's keyed state. Keys compare as `Map` keys do
 * (SameValueZero), so keys should be strings, numbers or other primitives;
 * keys and values must be serialisable with the codec (plain data, or
 * classes registered with `registerType`).
 *
 * @example
 * ```ts
 * const counts = new State<string, number>();
 * counts.put("the", (counts.get("the") ?? 0) + 1);
 * counts.size; // 1
 * ```
 */
export class State<K, V> implements Iterable<[K, V]> {
  readonly #map: Map<K, V>;

  constructor(entries?: Iterable<readonly [K, V]>) {
    this.#map = new Map(entries);
  }

  /** The value of `key`, or `undefined`. */
  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Sets the value of `key`; returns the state. */
  put(key: K, value: V): this {
    this.#map.set(key, value);
    return this;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Whether `key` has a value. */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.#map.size;
  }

  /** Removes every key. */
  clear(): void {
    this.#map.clear();
  }

  /** `[key, value]` pairs in insertion order. */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  /** Keys in insertion order. */
  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  /** Values in insertion order. */
  values(): IterableIterator<V> {
    return this.#map.values();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}

const packr = createPackr();
const KEYED_STATE_TAG = "ardea.keyed";
const KEYED_STATE_VERSION = 1;

/**
 * The bytes of `state`: msgpack of `["ardea.keyed", 1, [k0, v0, k1, v1, …]]`
 * (a flat list, so number keys stay numbers and object values stay objects).
 *
 * @example
 * ```ts
 * const bytes = encodeState(new State([["the", 3]]));
 * decodeState<string, number>(bytes).get("the"); // 3
 * ```
 */
export function encodeState<K, V>(state: State<K, V>): Uint8Array {
  const flat: unknown[] = [];
  for (const [k, v] of state) flat.push(k, v);
  return packr.pack([KEYED_STATE_TAG, KEYED_STATE_VERSION, flat]);
}

/**
 * The state `bytes` encode. The key and value types are the caller's word;
 * throws {@link StateError} `BAD_STATE` when the bytes are not keyed state.
 *
 * @example
 * ```ts
 * import type { StateBackend } from "ardea";
 * declare const backend: StateBackend;
 * const counts = decodeState<string, number>(await backend.load("wc", 7, "count.3") ?? encodeState(new State()));
 * ```
 */
export function decodeState<K, V>(bytes: Uint8Array): State<K, V> {
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch (e) {
    throw new StateError("BAD_STATE", `keyed state is not msgpack: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== KEYED_STATE_TAG) {
    throw new StateError("BAD_STATE", 'bytes are not keyed state (no "ardea.keyed" tag)');
  }
  if (v[1] !== KEYED_STATE_VERSION) {
    throw new StateError("BAD_STATE", `keyed state of format ${String(v[1])}, expected ${KEYED_STATE_VERSION}`);
  }
  const flat = v[2];
  if (!Array.isArray(flat) || flat.length % 2 !== 0) {
    throw new StateError("BAD_STATE", "keyed state entries are not key/value pairs");
  }
  const state = new State<K, V>();
  for (let i = 0; i < flat.length; i += 2) state.put(flat[i] as K, flat[i + 1] as V);
  return state;
}

/**
 * The hash {@link partition} uses by default: the fields-grouping hash of a
 * tuple whose grouping field holds `key` (`hashFields([key], [0])`).
 */
export function defaultKeyHash(key: unknown): number {
  return hashFields([key], [0]);
}

/**
 * Which of `n` partitions `key` belongs to: `hash(key) mod n` for the
 * unsigned 32-bit hash, the task a fields grouping over `n` tasks picks.
 *
 * @example
 * ```ts
 * partitionOf("the", 3); // 0, 1 or 2, the same on every process and runtime
 * ```
 */
export function partitionOf<K>(key: K, n: number, hash: (key: K) => number = defaultKeyHash): number {
  return (hash(key) >>> 0) % n;
}

/**
 * Repartitions keyed state for a new parallelism: every key of `states`
 * goes to partition {@link partitionOf}`(key, n, hash)`. Partition `i`
 * belongs to the component's `i`-th task in ascending task id order, the
 * order a fields grouping picks from; so with the default hash, a key whose
 * tuples are grouped by a single field holding the key lands where its
 * tuples will go. Throws {@link StateError} `DUPLICATE_KEY` when two input
 * states hold the same key (state of one key lives in one task).
 *
 * @example
 * ```ts
 * declare const old0: State<string, number>, old1: State<string, number>;
 * const [a, b, c] = partition([old0, old1], 3); // 2 tasks → 3
 * ```
 */
export function partition<K, V>(
  states: Iterable<State<K, V>>,
  n: number,
  hash: (key: K) => number = defaultKeyHash,
): State<K, V>[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new StateError("BAD_ARGUMENT", `partition count must be an integer ≥ 1, got ${n}`);
  }
  const out = Array.from({ length: n }, () => new State<K, V>());
  let source = 0;
  const from = new Map<K, number>();
  for (const state of states) {
    for (const [k, v] of state) {
      const i = partitionOf(k, n, hash);
      const target = out[i]!;
      if (target.has(k)) {
        throw new StateError(
          "DUPLICATE_KEY",
          `key ${describeKey(k)} is in state ${
            from.get(k)
          } and in state ${source}; keyed state of one key must live in one task`,
        );
      }
      target.put(k, v);
      from.set(k, source);
    }
    source++;
  }
  return out;
}

function describeKey(k: unknown): string {
  try {
    return JSON.stringify(k) ?? String(k);
  } catch {
    return String(k);
  }
}
