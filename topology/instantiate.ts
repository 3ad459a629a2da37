/**
 * Fresh component objects per task and per restart. A factory
 * (`() => new MyBolt(args)`) or a class is called per task; a component
 * given as an instance is copied per task (Storm serialises it), by the
 * copy contract of {@link ComponentSource}.
 *
 * @module
 */

/**
 * A component as given to `setSpout`/`setBolt`: an instance, a class or a
 * factory. A factory is the way to pass constructor arguments. An instance
 * is copied once per task, as follows (the copy contract):
 *
 * - An object with a `clone()` method (the component, or anything it holds)
 *   is copied by calling it: the explicit hook for whatever the rules below
 *   cannot copy, such as `#private` fields set from constructor arguments.
 * - Plain data (objects, arrays, Maps, Sets, Dates, RegExps, typed arrays,
 *   ArrayBuffers) is copied deeply; functions, Promises, WeakMaps, WeakSets
 *   and WeakRefs are shared.
 * - Any other class instance whose constructor declares no parameters is
 *   constructed anew (its field initialisers, `#private` ones included, run)
 *   and then gets deep copies of the original's own properties.
 * - The component itself, when its constructor takes arguments, gets deep
 *   copies of its own properties on an object of its class (its constructor
 *   does not run again: keep its state in properties, give it a `clone()`,
 *   or pass a factory).
 * - An object it holds whose constructor takes arguments and that has no
 *   `clone()` cannot be copied safely (nothing says what state it keeps out
 *   of sight): building the topology fails, naming it.
 *
 * @example
 * ```ts
 * import type { IRichBolt, TopologyBuilder } from "ardea";
 * declare const builder: TopologyBuilder;
 * declare const SplitBolt: new () => IRichBolt;
 * declare const CountBolt: new (o: { top: number }) => IRichBolt;
 * builder.setBolt("split", new SplitBolt(), 4);                    // copied per task
 * builder.setBolt("count", () => new CountBolt({ top: 10 }), 4);   // a factory: constructor arguments
 * class Limiter { #left: number; constructor(n: number) { this.#left = n; } clone() { return new Limiter(this.#left); } }
 * ```
 */
export type ComponentSource<T> = T | (() => T) | (new () => T);

/** What a `clone()` hook looks like. */
interface Cloneable {
  clone(): unknown;
}

function hasClone(v: object): v is Cloneable {
  return typeof (v as Partial<Cloneable>).clone === "function";
}

function viaClone(v: Cloneable): object {
  const copy = v.clone();
  if (typeof copy !== "object" || copy === null) {
    throw new TypeError(
      `${nameOf(v)}.clone() returned ${copy === null ? "null" : typeof copy}, not a copy of the object`,
    );
  }
  return copy;
}

function nameOf(v: object): string {
  const ctor = Object.getPrototypeOf(v)?.constructor;
  return typeof ctor === "function" && ctor.name !== "" ? ctor.name : "object";
}

function cloneValue(v: unknown, seen: Map<object, unknown>): unknown {
  if (typeof v !== "object" || v === null) return v;
  const known = seen.get(v);
  if (known !== undefined) return known;
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    seen.set(v, a);
    for (const x of v) a.push(cloneValue(x, seen));
    return a;
  }
  if (v instanceof Map) {
    const m = new Map();
    seen.set(v, m);
    for (const [k, x] of v) m.set(cloneValue(k, seen), cloneValue(x, seen));
    return m;
  }
  if (v instanceof Set) {
    const s = new Set();
    seen.set(v, s);
    for (const x of v) s.add(cloneValue(x, seen));
    return s;
  }
  const copy = copyLeaf(v);
  if (copy !== undefined) {
    seen.set(v, copy);
    return copy;
  }
  const ctor = Object.getPrototypeOf(v)?.constructor;
  if (typeof ctor === "function" && ctor !== Object && ctor.length > 0) {
    throw new TypeError(
      `it holds a ${ctor.name} whose constructor takes arguments and that has no clone() method, so it cannot be copied per task; ` +
        `give ${ctor.name} a clone() method, or pass a factory instead: () => new …`,
    );
  }
  return copyObject(v, seen);
}

/** The copy of an object copied as a whole (its `clone()`, a built-in value), the object itself if shared, else undefined. */
function copyLeaf(v: object): object | undefined {
  if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) return v;
  if (hasClone(v)) return viaClone(v);
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof RegExp) return new RegExp(v.source, v.flags);
  if (v instanceof ArrayBuffer) return v.slice(0);
  if (v instanceof DataView) return new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (ArrayBuffer.isView(v)) return (v as unknown as { slice(): object }).slice();
  return undefined;
}

/**
 * A copy of a class instance or plain object: constructed anew when its
 * constructor declares no parameters (so `#private` initialisers run), then
 * given deep copies of the original's own properties.
 */
function copyObject(src: object, seen: Map<object, unknown>): object {
  const proto = Object.getPrototypeOf(src);
  const ctor = proto?.constructor;
  let out: object | undefined;
  if (typeof ctor === "function" && ctor !== Object && ctor.length === 0) {
    try {
      out = Reflect.construct(ctor, []) as object;
    } catch {
      out = undefined;
    }
  }
  out ??= Object.create(proto) as object;
  seen.set(src, out);
  for (const key of Reflect.ownKeys(src)) {
    const d = Object.getOwnPropertyDescriptor(src, key)!;
    if ("value" in d) d.value = cloneValue(d.value, seen);
    Object.defineProperty(out, key, d);
  }
  return out;
}

/** Whether `f` is a class (its `prototype` is fixed, unlike a plain function's; an arrow function has none). */
function isClass(f: unknown): f is new () => unknown {
  return typeof f === "function" && Object.getOwnPropertyDescriptor(f, "prototype")?.writable === false;
}

/** Errors thrown while a component object was being made (its constructor or factory). */
const constructing = new WeakSet<object>();

/**
 * Whether `error` was thrown while a factory of {@link componentFactory}
 * made the component object (its constructor, or the user's factory), not
 * by one of the component's methods: error messages say "in its constructor".
 *
 * @example
 * ```ts
 * declare const make: () => unknown;
 * try { make(); } catch (e) { if (thrownByConstructor(e)) console.error("the constructor failed"); }
 * ```
 */
export function thrownByConstructor(error: unknown): boolean {
  return typeof error === "object" && error !== null && constructing.has(error);
}

/** `make` with what it throws marked as thrown by the constructor. */
function marking<T>(make: () => T): () => T {
  return () => {
    try {
      return make();
    } catch (e) {
      const error = typeof e === "object" && e !== null ? e : new Error(String(e));
      constructing.add(error);
      throw error;
    }
  };
}

/**
 * Turns a component source into a factory that makes a fresh object per
 * call (an instance is copied by the contract of {@link ComponentSource}).
 *
 * @example
 * ```ts
 * import { BaseBasicBolt } from "ardea";
 * class SplitBolt extends BaseBasicBolt { execute() {} declareOutputFields() {} }
 * const make = componentFactory(new SplitBolt());
 * make() !== make(); // true: each task gets its own copy
 * ```
 */
export function componentFactory<T extends object>(src: ComponentSource<T>): () => T {
  if (isClass(src)) return marking(() => new src() as T);
  if (typeof src === "function") return marking(src as () => T);
  if (typeof src !== "object" || src === null) {
    throw new TypeError(`expected a component object, class or factory, got ${src === null ? "null" : typeof src}`);
  }
  if (hasClone(src)) return marking(() => viaClone(src) as T);
  return marking(() => copyObject(src, new Map()) as T);
}
