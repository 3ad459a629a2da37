/**
 * The codec of values that cross a process boundary: msgpackr with Ardea's
 * options, a strict variant for data frames that throws (from msgpackr's own
 * hooks) where msgpackr would silently change a value, and the checks that
 * name a value that cannot cross (a function, a symbol, a class instance
 * without a registered extension).
 *
 * @module
 */
import { addExtension, Packr } from "msgpackr";
import { EmitError } from "../topology/errors.ts";

const registered = new Set<unknown>();

/**
 * msgpackr options shared by every encoder and decoder of Ardea. Records stay
 * on (defined inline in each message): they are what tells a plain object
 * from a `Map` on the way back.
 */
export const PACKR_OPTIONS = { moreTypes: true } as const;

/**
 * A msgpackr encoder/decoder with Ardea's options.
 *
 * @example
 * ```ts
 * const c = createPackr();
 * c.unpack(c.pack([["a", 1]])); // [["a", 1]]
 * ```
 */
export function createPackr(): Packr {
  return new Packr(PACKR_OPTIONS);
}

/** How a registered class is written and read. */
export interface TypeCodec<T> {
  /** Extension type code, 1-100 (msgpack extension types). */
  type: number;
  write(value: T): unknown;
  read(data: unknown): T;
}

/**
 * Registers a class whose instances may be emitted across processes.
 *
 * @example
 * ```ts
 * class Point { constructor(public x: number, public y: number) {} }
 * registerType(Point, { type: 40, write: (p) => [p.x, p.y], read: ([x, y]) => new Point(x, y) });
 * ```
 */
export function registerType<T>(cls: new (...args: never[]) => T, codec: TypeCodec<T>): void {
  if (!Number.isInteger(codec.type) || codec.type < 1 || codec.type > 100) {
    throw new RangeError(`registerType(${cls.name}): type must be an integer from 1 to 100, got ${codec.type}`);
  }
  addExtension(
    {
      Class: cls as unknown as new () => T,
      type: codec.type,
      write: codec.write as (v: unknown) => unknown,
      read: codec.read as (d: unknown) => unknown,
    } as Parameters<typeof addExtension>[0],
  );
  registered.add(cls);
}

const PLAIN_CLASSES: ReadonlySet<unknown> = new Set([
  Array,
  Map,
  Set,
  Date,
  RegExp,
  Uint8Array,
  Uint8ClampedArray,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  ArrayBuffer,
]);

function problem(v: unknown, seen: Set<object>): string | null {
  switch (typeof v) {
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "object": {
      if (v === null) return null;
      if (seen.has(v)) return "a circular reference";
      const proto = Object.getPrototypeOf(v);
      const ctor = proto?.constructor;
      if (proto !== null && proto !== Object.prototype && !PLAIN_CLASSES.has(ctor) && !registered.has(ctor)) {
        // Buffer subclasses Uint8Array and crosses as bytes.
        if (v instanceof Uint8Array) return null;
        return `an instance of ${ctor?.name || "an unnamed class"} (register it with registerType)`;
      }
      if (registered.has(ctor) || ArrayBuffer.isView(v) || v instanceof Date || v instanceof RegExp) return null;
      seen.add(v);
      let p: string | null = null;
      if (v instanceof Map) {
        for (const [k, x] of v) if ((p = problem(k, seen) ?? problem(x, seen)) !== null) break;
      } else if (v instanceof Set || Array.isArray(v)) {
        for (const x of v as Iterable<unknown>) if ((p = problem(x, seen)) !== null) break;
      } else {
        for (const k of Object.keys(v)) if ((p = problem((v as Record<string, unknown>)[k], seen)) !== null) break;
      }
      seen.delete(v);
      return p;
    }
    default:
      return null;
  }
}

/** Thrown from a strict encoder's hooks; `message` says what the value is. */
class Refused extends Error {}

function refuseFunction(): never {
  throw new Refused("a function");
}

/**
 * msgpackr asks this of every object it would write as a map: a plain
 * object, or an instance of a class that no extension claims (which it would
 * write as a plain map, losing its class). Arrays, primitives, `Map`, `Date`,
 * typed arrays and registered classes never get here, so the check costs
 * nothing for them.
 */
function plainOnly(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) return true;
  const ctor = (proto as { constructor?: { name?: string } }).constructor;
  throw new Refused(`an instance of ${ctor?.name || "an unnamed class"} (register it with registerType)`);
}

/**
 * A msgpackr encoder/decoder with Ardea's options that throws instead of
 * changing a value silently: a function (msgpackr would write `undefined`),
 * an instance of an unregistered class or a class with its own `toJSON`
 * (it would write a plain map or the `toJSON` result). The checks live in
 * msgpackr's own hooks, so values that need none (primitives, arrays, `Map`,
 * `Set`, `Date`, bytes) cost nothing more to encode. Data frames use it;
 * {@link findUnencodable} names the value when it throws.
 *
 * @example
 * ```ts
 * const c = createStrictPackr();
 * c.pack([new Date(0), new Map([[1, "a"]])]); // fine
 * c.pack([() => 1]); // throws
 * ```
 */
export function createStrictPackr(): Packr {
  return new Packr({
    ...PACKR_OPTIONS,
    useToJSON: false,
    useRecords: plainOnly,
    writeFunction: refuseFunction as () => never,
  });
}

/**
 * After `packr` refused to encode tuples: the `EmitError` naming the first
 * field of `values` it cannot encode, or `null` when every field encodes on
 * its own. `where` describes the emit (`"split" emitting on stream "default"`).
 *
 * @example
 * ```ts
 * findUnencodable(createStrictPackr(), ["ok", () => 1], (i) => ["a", "f"][i]!, '"x" emitting on stream "default"');
 * // EmitError NOT_SERIALIZABLE: … field "f" (index 1) holds a function …
 * ```
 */
export function findUnencodable(
  packr: Packr,
  values: readonly unknown[],
  fieldName: (i: number) => string,
  where: string,
): EmitError | null {
  for (let i = 0; i < values.length; i++) {
    try {
      packr.pack(values[i]);
    } catch (e) {
      const p = e instanceof Refused
        ? e.message
        : (problem(values[i], new Set()) ?? `a value msgpack cannot encode (${(e as Error).message})`);
      return new EmitError(
        "NOT_SERIALIZABLE",
        `${where}: field "${fieldName(i)}" (index ${i}) holds ${p}, which cannot cross a process boundary`,
      );
    }
  }
  return null;
}

/**
 * Throws an `EmitError` naming the first value of `values` that cannot be
 * serialised. `where` describes the emit (`bolt "split" on stream "default"`).
 *
 * @example
 * ```ts
 * import { Fields } from "ardea";
 * const fields = new Fields("a", "f");
 * assertSerializable(["ok", () => 1], (i) => fields.get(i), 'bolt "x" on stream "default"'); // throws: field "f" (index 1) holds a function
 * ```
 */
export function assertSerializable(
  values: readonly unknown[],
  fieldName: (i: number) => string,
  where: string,
): void {
  for (let i = 0; i < values.length; i++) {
    const p = problem(values[i], new Set());
    if (p !== null) {
      throw new EmitError(
        "NOT_SERIALIZABLE",
        `${where}: field "${fieldName(i)}" (index ${i}) holds ${p}, which cannot cross a process boundary`,
      );
    }
  }
}
