/**
 * `Fields` (named tuple schema) and `Values` (a tuple's values), as in Storm.
 *
 * @module
 */

/**
 * The ordered field names of a stream.
 *
 * @example
 * ```ts
 * const f = new Fields("word", "count");
 * f.fieldIndex("count"); // 1
 * ```
 */
export class Fields implements Iterable<string> {
  readonly #names: readonly string[];
  readonly #index: ReadonlyMap<string, number>;

  constructor(...names: Array<string | readonly string[]>) {
    const flat: string[] = [];
    for (const n of names) {
      if (typeof n === "string") flat.push(n);
      else flat.push(...n);
    }
    const index = new Map<string, number>();
    flat.forEach((name, i) => {
      if (typeof name !== "string" || name.length === 0) {
        throw new TypeError(`Fields: field ${i} must be a non-empty string`);
      }
      if (index.has(name)) throw new TypeError(`Fields: duplicate field "${name}"`);
      index.set(name, i);
    });
    this.#names = Object.freeze(flat);
    this.#index = index;
  }

  /** Number of fields. */
  size(): number {
    return this.#names.length;
  }

  /** Name of field `i`. */
  get(i: number): string {
    const n = this.#names[i];
    if (n === undefined) throw new RangeError(`Fields: no field at index ${i} (size ${this.#names.length})`);
    return n;
  }

  /** Position of `field`; throws if it is not declared. */
  fieldIndex(field: string): number {
    const i = this.#index.get(field);
    if (i === undefined) {
      throw new RangeError(`field "${field}" is not one of [${this.#names.join(", ")}]`);
    }
    return i;
  }

  /** Position of `field`, or -1. */
  indexOf(field: string): number {
    return this.#index.get(field) ?? -1;
  }

  /** Whether `field` is declared. */
  contains(field: string): boolean {
    return this.#index.has(field);
  }

  /** The names as an array. */
  toList(): string[] {
    return [...this.#names];
  }

  /** Values of `selector`'s fields picked out of `values` (laid out as these fields). */
  select(selector: Fields, values: readonly unknown[]): unknown[] {
    return selector.toList().map((f) => values[this.fieldIndex(f)]);
  }

  [Symbol.iterator](): Iterator<string> {
    return this.#names[Symbol.iterator]();
  }

  toString(): string {
    return `[${this.#names.join(", ")}]`;
  }
}

/** A tuple's values: a plain array. */
export type Values = unknown[];

/**
 * Storm's `Values`: `new Values("a", 1)` is just the array `["a", 1]`, so
 * emitting it costs nothing more than a literal.
 *
 * @example
 * ```ts
 * import type { OutputCollector } from "ardea";
 * declare const collector: OutputCollector;
 * const word = "cow";
 * collector.emit(new Values(word, 1));
 * ```
 */
export const Values = function Values(...values: unknown[]): unknown[] {
  return values;
} as unknown as { new (...values: unknown[]): unknown[]; (...values: unknown[]): unknown[] };

/** Fields given as a `Fields` or a plain list of names. */
export type FieldsLike = Fields | readonly string[];

/**
 * Turns a list of names into `Fields`.
 *
 * @example
 * ```ts
 * toFields(["word"]).size(); // 1
 * ```
 */
export function toFields(f: FieldsLike): Fields {
  return f instanceof Fields ? f : new Fields(f);
}
