/**
 * Fresh component objects per task and per restart. A component given as an
 * instance is copied (Storm serialises it per task): the copy is built with
 * the class's constructor when that needs no arguments, so `#private` field
 * initialisers run, and then receives deep copies of the instance's own
 * properties. A factory (`() => new MyBolt(args)`) or a class is called per task.
 *
 * @module
 */

/** A component as given to `setSpout`/`setBolt`: an instance, a class or a factory. */
export type ComponentSource<T> = T | (() => T) | (new () => T);

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
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof RegExp) return new RegExp(v.source, v.flags);
  if (ArrayBuffer.isView(v)) return (v as unknown as { slice(): unknown }).slice();
  if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) return v;
  const ctor = Object.getPrototypeOf(v)?.constructor;
  const privateNames = typeof ctor === "function" && ctor !== Object && usesPrivateNames(ctor);
  if (privateNames && ctor.length > 0) {
    throw new TypeError(
      `it holds a ${ctor.name} with #private fields whose constructor takes arguments, so it cannot be copied per task; ` +
        `pass a factory instead: () => new …`,
    );
  }
  return copyObject(v, seen, privateNames);
}

function copyObject(src: object, seen: Map<object, unknown>, construct: boolean): object {
  const proto = Object.getPrototypeOf(src);
  let out: object | undefined;
  if (construct && proto && typeof proto.constructor === "function" && proto.constructor.length === 0) {
    try {
      out = Reflect.construct(proto.constructor, []) as object;
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

/** Whether a class or one of its ancestors declares `#private` members. */
function usesPrivateNames(ctor: unknown): boolean {
  for (let c = ctor; typeof c === "function" && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (/#[A-Za-z_$]/.test(Function.prototype.toString.call(c))) return true;
  }
  return false;
}

function isClass(f: unknown): f is new () => unknown {
  return typeof f === "function" && /^class[\s{]/.test(Function.prototype.toString.call(f));
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
 * Turns a component source into a factory that makes a fresh object per call.
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
  if (isClass(src)) return marking(() => new (src as new () => T)());
  if (typeof src === "function") return marking(src as () => T);
  if (typeof src !== "object" || src === null) {
    throw new TypeError(`expected a component object, class or factory, got ${src === null ? "null" : typeof src}`);
  }
  const ctor = Object.getPrototypeOf(src)?.constructor;
  if (typeof ctor === "function" && ctor.length > 0 && usesPrivateNames(ctor)) {
    throw new TypeError(
      `${ctor.name} has #private fields and a constructor that takes arguments, so an instance cannot be copied per task; ` +
        `pass a factory instead: () => new ${ctor.name}(…)`,
    );
  }
  return marking(() => copyObject(src, new Map(), true) as T);
}
