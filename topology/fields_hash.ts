/**
 * A deterministic hash of tuple values, the same on every runtime and
 * process, for fields and partial-key groupings. Strings hash by UTF-16 code
 * units (FNV-1a), numbers by value, containers structurally; the result goes
 * through a final mix so that `hash % tasks` spreads keys evenly.
 *
 * @module
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

function mixInt(h: number, x: number): number {
  h ^= x & 0xff;
  h = Math.imul(h, FNV_PRIME);
  h ^= (x >>> 8) & 0xff;
  h = Math.imul(h, FNV_PRIME);
  h ^= (x >>> 16) & 0xff;
  h = Math.imul(h, FNV_PRIME);
  h ^= x >>> 24;
  return Math.imul(h, FNV_PRIME);
}

/** Mixes one value into hash state `h`. */
export function hashInto(h: number, v: unknown): number {
  switch (typeof v) {
    case "string":
      return mixString(mixInt(h, 1), v);
    case "number":
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return mixInt(mixInt(h, 2), v);
      return mixString(mixInt(h, 3), String(v));
    case "boolean":
      return mixInt(h, v ? 4 : 5);
    case "bigint":
      return mixString(mixInt(h, 6), v.toString());
    case "undefined":
      return mixInt(h, 7);
    case "object": {
      if (v === null) return mixInt(h, 8);
      if (v instanceof Uint8Array) {
        h = mixInt(h, 9);
        for (let i = 0; i < v.length; i++) {
          h ^= v[i]!;
          h = Math.imul(h, FNV_PRIME);
        }
        return h;
      }
      if (Array.isArray(v)) {
        h = mixInt(mixInt(h, 10), v.length);
        for (const x of v) h = hashInto(h, x);
        return h;
      }
      if (v instanceof Date) return mixString(mixInt(h, 11), String(v.getTime()));
      if (v instanceof Map) {
        h = mixInt(h, 12);
        for (const [k, x] of v) h = hashInto(hashInto(h, k), x);
        return h;
      }
      h = mixInt(h, 13);
      for (const k of Object.keys(v).sort()) h = hashInto(mixString(h, k), (v as Record<string, unknown>)[k]);
      return h;
    }
    default:
      throw new TypeError(`cannot hash a ${typeof v} for a fields grouping`);
  }
}

/** Final avalanche (MurmurHash3's fmix32). */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash state after the type tag of a string: a constant, hoisted off the hot path. */
const STRING_SEED = mixInt(FNV_OFFSET, 1);

/**
 * The hash of one string field: `hashFields([s], [0])`, without the lookups.
 *
 * @example
 * ```ts
 * hashString("the") === hashFields(["the"], [0]); // true
 * ```
 */
export function hashString(s: string): number {
  return fmix(mixString(STRING_SEED, s));
}

/**
 * Hash of the values at `indexes`, as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * hashFields(["the", 1], [0]) === hashFields(["the", 2], [0]); // true
 * ```
 */
export function hashFields(values: readonly unknown[], indexes: readonly number[]): number {
  if (indexes.length === 1) {
    const v = values[indexes[0]!];
    if (typeof v === "string") return fmix(mixString(STRING_SEED, v));
    return fmix(hashInto(FNV_OFFSET, v));
  }
  let h = FNV_OFFSET;
  for (let i = 0; i < indexes.length; i++) h = hashInto(h, values[indexes[i]!]);
  return fmix(h);
}
