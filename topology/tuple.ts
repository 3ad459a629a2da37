/**
 * The tuple a bolt receives. `TupleImpl` is on the hot path: one object per
 * delivered tuple, its values a plain array, its source a shared
 * {@link StreamInfo}, its tuple-tree ids in number fields (no per-tuple map).
 *
 * @module
 */
import type { Fields } from "./fields.ts";

/** The component and stream that tuples of one (component, stream) share. */
export class StreamInfo {
  constructor(
    /** Emitting component id. */
    readonly component: string,
    /** Stream id. */
    readonly stream: string,
    /** Declared fields. */
    readonly fields: Fields,
    /** Whether the stream is direct (emitDirect only). */
    readonly direct: boolean,
  ) {}
}

/** Stream id used when none is given, as in Storm. */
export const DEFAULT_STREAM = "default";
/** Component id of system tuples (ticks). */
export const SYSTEM_COMPONENT = "__system";
/** Stream id of tick tuples. */
export const TICK_STREAM = "__tick";

/**
 * The identity of a tuple in its tuple trees: root id → edge id (64-bit ids
 * written as 16 hex digits), as Storm's `MessageId.getAnchorsToIds()`.
 */
export interface MessageId {
  /** Root id → edge id. */
  readonly anchorsToIds: ReadonlyMap<number, string>;
}

/**
 * A tuple as a bolt sees it (Storm's `Tuple`).
 *
 * @example
 * ```ts
 * import type { OutputCollector } from "ardea";
 * class Count {
 *   collector!: OutputCollector; // set in prepare
 *   execute(t: Tuple) {
 *     const word = t.getStringByField("word");
 *     this.collector.emit(t, [word, 1]);
 *     this.collector.ack(t);
 *   }
 * }
 * ```
 */
export interface Tuple {
  size(): number;
  contains(field: string): boolean;
  getFields(): Fields;
  fieldIndex(field: string): number;
  select(fields: Fields): unknown[];
  getValue(i: number): unknown;
  getString(i: number): string;
  getInteger(i: number): number;
  getLong(i: number): number;
  getDouble(i: number): number;
  getFloat(i: number): number;
  getBoolean(i: number): boolean;
  getBinary(i: number): Uint8Array;
  getValueByField(field: string): unknown;
  getStringByField(field: string): string;
  getIntegerByField(field: string): number;
  getLongByField(field: string): number;
  getDoubleByField(field: string): number;
  getBooleanByField(field: string): boolean;
  getBinaryByField(field: string): Uint8Array;
  getValues(): unknown[];
  getSourceComponent(): string;
  getSourceStreamId(): string;
  getSourceTask(): number;
  getSourceGlobalStreamId(): { componentId: string; streamId: string };
  getMessageId(): MessageId;
}

function hex64(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}

function typed<T>(v: unknown, what: string, check: (v: unknown) => boolean, where: string): T {
  if (!check(v)) throw new TypeError(`tuple value ${where} is not ${what}: ${typeof v}`);
  return v as T;
}
const isStr = (v: unknown) => typeof v === "string";
const isNum = (v: unknown) => typeof v === "number";
const isInt = (v: unknown) => typeof v === "number" && Number.isInteger(v);
const isBool = (v: unknown) => typeof v === "boolean";
const isBin = (v: unknown) => v instanceof Uint8Array;

/**
 * The engine's tuple. Fields are public for the runtime; users see {@link Tuple}.
 *
 * @example
 * ```ts
 * import { Fields } from "ardea";
 * const info = new StreamInfo("words", "default", new Fields("word"), false);
 * const t = new TupleImpl(["hello"], info, 3);
 * t.getValue(0); // "hello"
 * ```
 */
export class TupleImpl implements Tuple {
  /** Root id of the (first) tuple tree, or -1 when untracked. */
  root = -1;
  /** Edge id (high, low 32 bits) of this tuple in `root`'s tree. */
  eh = 0;
  el = 0;
  /** Further roots when anchored to several trees: flat [root, hi, lo, …]. */
  more: number[] | null = null;
  /** XOR of the edge ids of the tuples anchored to this one (the ack value). */
  ah = 0;
  al = 0;
  /** 0 pending, 1 acked or failed, 2 held by a bolt after execute returned. */
  state = 0;

  constructor(
    /** The values, in the order of the stream's fields. */
    public values: unknown[],
    /** The emitting component and stream. */
    readonly src: StreamInfo,
    /** Task id of the emitting task (-1 for system tuples). */
    readonly sourceTask: number,
  ) {}

  /** Whether this tuple belongs to at least one tuple tree. */
  isTracked(): boolean {
    return this.root !== -1;
  }

  size(): number {
    return this.values.length;
  }
  contains(field: string): boolean {
    return this.src.fields.contains(field);
  }
  getFields(): Fields {
    return this.src.fields;
  }
  fieldIndex(field: string): number {
    return this.src.fields.fieldIndex(field);
  }
  select(fields: Fields): unknown[] {
    return this.src.fields.select(fields, this.values);
  }
  getValue(i: number): unknown {
    return this.values[i];
  }
  getString(i: number): string {
    return typed(this.values[i], "a string", isStr, `${i}`);
  }
  getInteger(i: number): number {
    return typed(this.values[i], "an integer", isInt, `${i}`);
  }
  getLong(i: number): number {
    return typed(this.values[i], "an integer", isInt, `${i}`);
  }
  getDouble(i: number): number {
    return typed(this.values[i], "a number", isNum, `${i}`);
  }
  getFloat(i: number): number {
    return typed(this.values[i], "a number", isNum, `${i}`);
  }
  getBoolean(i: number): boolean {
    return typed(this.values[i], "a boolean", isBool, `${i}`);
  }
  getBinary(i: number): Uint8Array {
    return typed(this.values[i], "a Uint8Array", isBin, `${i}`);
  }
  getValueByField(field: string): unknown {
    return this.values[this.src.fields.fieldIndex(field)];
  }
  getStringByField(field: string): string {
    return typed(this.getValueByField(field), "a string", isStr, `"${field}"`);
  }
  getIntegerByField(field: string): number {
    return typed(this.getValueByField(field), "an integer", isInt, `"${field}"`);
  }
  getLongByField(field: string): number {
    return this.getIntegerByField(field);
  }
  getDoubleByField(field: string): number {
    return typed(this.getValueByField(field), "a number", isNum, `"${field}"`);
  }
  getBooleanByField(field: string): boolean {
    return typed(this.getValueByField(field), "a boolean", isBool, `"${field}"`);
  }
  getBinaryByField(field: string): Uint8Array {
    return typed(this.getValueByField(field), "a Uint8Array", isBin, `"${field}"`);
  }
  getValues(): unknown[] {
    return this.values;
  }
  getSourceComponent(): string {
    return this.src.component;
  }
  getSourceStreamId(): string {
    return this.src.stream;
  }
  getSourceTask(): number {
    return this.sourceTask;
  }
  getSourceGlobalStreamId(): { componentId: string; streamId: string } {
    return { componentId: this.src.component, streamId: this.src.stream };
  }
  getMessageId(): MessageId {
    const m = new Map<number, string>();
    if (this.root !== -1) m.set(this.root, hex64(this.eh, this.el));
    const more = this.more;
    if (more) { for (let i = 0; i < more.length; i += 3) m.set(more[i]!, hex64(more[i + 1]!, more[i + 2]!)); }
    return { anchorsToIds: m };
  }
  toString(): string {
    return `source: ${this.src.component}:${this.sourceTask}, stream: ${this.src.stream}, values: ${
      JSON.stringify(this.values)
    }`;
  }
}

/**
 * Whether `t` is a tick tuple (Storm's `TupleUtils.isTick`).
 *
 * @example
 * ```ts
 * class Batch {
 *   flush() {}
 *   execute(t: Tuple) { if (isTick(t)) return this.flush(); }
 * }
 * ```
 */
export function isTick(t: Tuple): boolean {
  return t.getSourceComponent() === SYSTEM_COMPONENT && t.getSourceStreamId() === TICK_STREAM;
}
