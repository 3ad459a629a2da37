/**
 * Keys and fold identities of the keyed operators, one rule for all of
 * them (`countByKey`/`reduceByKey` and the windowed ones): a key's
 * canonical form ({@link canonicalKey}: equal for structurally equal plain
 * data, Dates, Maps, Sets and byte arrays by their contents, `NaN`,
 * `Infinity` and `null` told apart), and the check that a fold's identity
 * can be copied per key ({@link checkIdentity}).
 *
 * @module
 */
import { InvalidTopologyError } from "../topology/errors.ts";

/**
 * A string equal for structurally equal keys and different otherwise:
 * primitives by value (`-0` as `0`; `1` and `"1"` differ), arrays and plain
 * objects by their contents (object keys sorted), Dates, byte arrays, Sets,
 * Maps and RegExps by theirs. Throws a TypeError for a function or symbol.
 *
 * @example
 * ```ts
 * canonicalKey({ b: 1, a: [2] }) === canonicalKey({ a: [2], b: 1 }); // true
 * canonicalKey([NaN]) === canonicalKey([null]); // false
 * canonicalKey(new Date(0)) === canonicalKey(new Date(1000)); // false
 * ```
 */
export function canonicalKey(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Object.is(v, -0) ? "0" : String(v);
    case "bigint":
      return `${v}n`;
    case "boolean":
    case "undefined":
      return String(v);
    case "object": {
      if (v === null) return "null";
      if (Array.isArray(v)) return `[${v.map(canonicalKey).join(",")}]`;
      if (v instanceof Date) return `Date(${v.getTime()})`;
      if (v instanceof Uint8Array) return `Bytes(${v.join(",")})`;
      if (v instanceof Set) return `Set(${[...v].map(canonicalKey).join(",")})`;
      if (v instanceof RegExp) return `RegExp(${String(v)})`;
      if (v instanceof Map) {
        return `Map(${[...v].map(([k, x]) => `${canonicalKey(k)}=>${canonicalKey(x)}`).join(",")})`;
      }
      const o = v as Record<string, unknown>;
      return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalKey(o[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(
        `a streamlet key must be plain data, got ${typeof v === "function" ? "a function" : String(v)}`,
      );
  }
}

/**
 * Checks, when the graph is built, that a fold's `identity` can be copied
 * per key with `structuredClone` as it is: plain data (a primitive, an
 * array, a plain object, a Date, Map, Set…), not a function, and not a
 * class instance (its copy would lose its class and methods). Throws an
 * InvalidTopologyError naming `what`.
 *
 * @example
 * ```ts
 * checkIdentity({ sum: 0, n: 0 }, "reduceByKey"); // fine
 * // checkIdentity(new Counter(), "reduceByKey") throws: an instance of Counter loses its class when copied
 * ```
 */
export function checkIdentity(identity: unknown, what: string): void {
  if (typeof identity !== "object" || identity === null) return;
  let copy: unknown;
  try {
    copy = structuredClone(identity);
  } catch (e) {
    throw new InvalidTopologyError(
      "BAD_STREAMLET",
      `${what}: the identity is copied per key with structuredClone and must be plain data: ${(e as Error).message}`,
    );
  }
  const proto = Object.getPrototypeOf(identity);
  if (Object.getPrototypeOf(copy) !== proto) {
    const name = (proto as { constructor?: { name?: string } } | null)?.constructor?.name ?? "a class";
    throw new InvalidTopologyError(
      "BAD_STREAMLET",
      `${what}: the identity is copied per key with structuredClone, and an instance of ${name} loses its class when copied; use plain data (numbers, strings, arrays, plain objects)`,
    );
  }
}
