/**
 * The value types of the Streamlet API, with Heron's names
 * (`org.apache.heron.streamlet`): {@link KeyValue}, {@link Window},
 * {@link KeyedWindow}, {@link JoinType}, {@link WindowConfig}, and the user
 * interfaces {@link Source}, {@link Sink}, {@link Transformer} and the
 * {@link Context} they are set up with.
 *
 * @module
 */
import { InvalidTopologyError } from "../topology/errors.ts";
import { type DurationLike, durationMs } from "../topology/windowing/lengths.ts";
import { registerType } from "../transport/codec.ts";

/**
 * A key and a value: what keyed streamlets (`KVStreamlet<K, V>`) carry.
 *
 * @example
 * ```ts
 * const kv = KeyValue.create("heron", 3);
 * kv.getKey(); // "heron"
 * kv.getValue(); // 3
 * ```
 */
export class KeyValue<K, V> {
  constructor(public key: K, public value: V) {}

  /** Heron's factory. */
  static create<K, V>(key: K, value: V): KeyValue<K, V> {
    return new KeyValue(key, value);
  }

  getKey(): K {
    return this.key;
  }

  setKey(key: K): void {
    this.key = key;
  }

  getValue(): V {
    return this.value;
  }

  setValue(value: V): void {
    this.value = value;
  }

  toString(): string {
    return `{ ${String(this.key)} : ${String(this.value)} }`;
  }
}

/**
 * A window's span: its start and end (epoch milliseconds; for count
 * windows, the times of its first and last tuples) and how many tuples it
 * held.
 *
 * @example
 * ```ts
 * const w = new Window(0, 1000, 42);
 * w.getEndTime() - w.getStartTime(); // 1000
 * ```
 */
export class Window {
  constructor(readonly startTime: number, readonly endTime: number, readonly count: number) {}

  getStartTime(): number {
    return this.startTime;
  }

  getEndTime(): number {
    return this.endTime;
  }

  getCount(): number {
    return this.count;
  }

  toString(): string {
    return `{WindowStart: ${this.startTime} WindowEnd: ${this.endTime} Count: ${this.count} }`;
  }
}

/**
 * The key of a windowed result: the key and the {@link Window} it was
 * computed over.
 *
 * @example
 * ```ts
 * const kw = new KeyedWindow("heron", new Window(0, 1000, 3));
 * kw.getKey(); // "heron"
 * kw.getWindow().getCount(); // 3
 * ```
 */
export class KeyedWindow<K> {
  constructor(readonly key: K, readonly window: Window) {}

  getKey(): K {
    return this.key;
  }

  getWindow(): Window {
    return this.window;
  }

  toString(): string {
    return `{ Key: ${String(this.key)} Window: ${this.window.toString()} }`;
  }
}

/**
 * How a windowed join treats keys found on one side only: `INNER` emits
 * only matched pairs; `OUTER_LEFT` also each unmatched left element (with
 * `undefined` for the right), `OUTER_RIGHT` each unmatched right one,
 * `OUTER` both.
 *
 * @example
 * ```ts
 * const type: JoinType = JoinType.OUTER_LEFT;
 * ```
 */
export const JoinType = {
  INNER: "INNER",
  OUTER_LEFT: "OUTER_LEFT",
  OUTER_RIGHT: "OUTER_RIGHT",
  OUTER: "OUTER",
} as const;
/** One of {@link JoinType}'s values. */
export type JoinType = typeof JoinType[keyof typeof JoinType];

/** Ardea's extension of a {@link WindowConfig}: windows by event time. */
export interface EventTime<R = unknown> {
  /** The element's event time, epoch milliseconds. */
  readonly timestamp: (element: R) => number;
  /** How far behind the newest event time a late element may still arrive (ms); later ones are dropped. */
  readonly lagMs: number;
}

/**
 * A window over a streamlet, as Heron's `WindowConfig`: tumbling or
 * sliding, by time (processing time, or, an Ardea extension, event time
 * with {@link WindowConfig.withEventTime}) or by count. Durations are
 * milliseconds, a windowing `Duration`, or anything with
 * `asMilliseconds()` (a dayjs duration). A zero or negative length or slide
 * is an error here, when the window is made.
 *
 * @example
 * ```ts
 * const everyMinute = WindowConfig.TumblingTimeWindow(60_000);
 * const lastTen = WindowConfig.SlidingCountWindow(10, 2);
 * const byEventTime = WindowConfig.TumblingTimeWindow(1000).withEventTime((e: { at: number }) => e.at, 500);
 * ```
 */
export class WindowConfig {
  private constructor(
    /** "time" (milliseconds) or "count" (tuples). */
    readonly kind: "time" | "count",
    /** Window length, in ms or tuples. */
    readonly length: number,
    /** Sliding interval, in ms or tuples (equal to `length` when tumbling). */
    readonly slide: number,
    /** Event time (Ardea's extension); processing time when undefined. */
    readonly eventTime?: EventTime<never>,
  ) {}

  /** Tumbling windows of `duration`. */
  static TumblingTimeWindow(duration: DurationLike): WindowConfig {
    const ms = positiveMs(duration, "TumblingTimeWindow: the window duration");
    return new WindowConfig("time", ms, ms);
  }

  /** Windows of `duration` every `slide`. */
  static SlidingTimeWindow(duration: DurationLike, slide: DurationLike): WindowConfig {
    return new WindowConfig(
      "time",
      positiveMs(duration, "SlidingTimeWindow: the window duration"),
      positiveMs(slide, "SlidingTimeWindow: the slide interval"),
    );
  }

  /** Tumbling windows of `size` tuples. */
  static TumblingCountWindow(size: number): WindowConfig {
    const n = positiveCount(size, "TumblingCountWindow: the window size");
    return new WindowConfig("count", n, n);
  }

  /** Windows of `size` tuples every `slide` tuples. */
  static SlidingCountWindow(size: number, slide: number): WindowConfig {
    return new WindowConfig(
      "count",
      positiveCount(size, "SlidingCountWindow: the window size"),
      positiveCount(slide, "SlidingCountWindow: the slide size"),
    );
  }

  /**
   * Ardea's extension: the same windows by event time, read from each
   * element with `timestamp`; elements up to `lag` behind the newest event
   * time still count, later ones are dropped. Time windows only.
   */
  withEventTime<R>(timestamp: (element: R) => number, lag: DurationLike = 0): WindowConfig {
    if (this.kind !== "time") {
      throw new InvalidTopologyError(
        "BAD_WINDOW",
        "withEventTime: only time windows have an event time, not count windows",
      );
    }
    const lagMs = durationMs(lag, "withEventTime: the lag");
    if (lagMs < 0) {
      throw new InvalidTopologyError("BAD_WINDOW", `withEventTime: the lag must not be negative, got ${lagMs} ms`);
    }
    return new WindowConfig(this.kind, this.length, this.slide, { timestamp, lagMs } as EventTime<never>);
  }
}

function positiveMs(d: DurationLike, what: string): number {
  const ms = durationMs(d, what);
  if (!(ms > 0)) throw new InvalidTopologyError("BAD_WINDOW", `${what} must be positive, got ${ms} ms`);
  return ms;
}

function positiveCount(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidTopologyError("BAD_WINDOW", `${what} must be a whole number of tuples ≥ 1, got ${String(n)}`);
  }
  return n;
}

/**
 * What a {@link Source}, {@link Sink} or {@link Transformer} is set up with
 * (Heron's `Context`): its task, the topology's configuration, the stream
 * it reads and its partition.
 *
 * @example
 * ```ts
 * const sink: Sink<string> = {
 *   setup(context: Context) { console.log(`task ${context.getTaskId()} of ${context.getStreamName()}`); },
 *   put(line) { console.log(line); },
 *   cleanup() {},
 * };
 * ```
 */
export interface Context {
  getTaskId(): number;
  getConfig(): Readonly<Record<string, unknown>>;
  /** The streamlet (component) this runs in. */
  getStreamName(): string;
  /** Which partition of it (0-based). */
  getStreamPartition(): number;
  /** Registers a gauge-like metric read every `intervalSecs`. */
  registerMetric<T>(name: string, intervalSecs: number, read: () => T): void;
}

/**
 * A source of elements (Heron's `Source`): `get` returns the next batch
 * (an empty batch: nothing now, ask again). Ardea's extension: `get`
 * returning `null` ends the source (the run finishes once everything is
 * processed).
 *
 * @example
 * ```ts
 * let n = 0;
 * const numbers: Source<number> = {
 *   setup() {},
 *   get: () => (n < 100 ? [n++] : null),
 *   cleanup() {},
 * };
 * ```
 */
export interface Source<T> {
  setup(context: Context): void | Promise<void>;
  get(): Iterable<T> | null | Promise<Iterable<T> | null>;
  cleanup(): void | Promise<void>;
}

/**
 * Where a streamlet ends (Heron's `Sink`): `put` gets every element.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const collect: Sink<string> = { setup() {}, put: (l) => void lines.push(l), cleanup() {} };
 * ```
 */
export interface Sink<T> {
  setup(context: Context): void | Promise<void>;
  put(element: T): void | Promise<void>;
  cleanup(): void | Promise<void>;
}

/**
 * A stateful one-to-many step (Heron's `SerializableTransformer`):
 * `transform` calls `emit` for each output of an input, any number of times.
 *
 * @example
 * ```ts
 * const dedupe: Transformer<string, string> = {
 *   seen: new Set<string>(),
 *   setup() {},
 *   transform(word, emit) { if (!this.seen.has(word)) { this.seen.add(word); emit(word); } },
 *   cleanup() {},
 * } as Transformer<string, string> & { seen: Set<string> };
 * ```
 */
export interface Transformer<I, O> {
  setup(context: Context): void | Promise<void>;
  transform(input: I, emit: (output: O) => void): void;
  cleanup(): void | Promise<void>;
}

// Streamlet values cross processes (data frames over NATS, checkpoints) as
// themselves, not as plain maps: msgpack extension types 95–97 are the
// Streamlet API's (registerType's range is 1–100; 66 and 98 are msgpackr's own).
registerType(Window, {
  type: 95,
  write: (w) => [w.startTime, w.endTime, w.count],
  read: (d) => new Window(...(d as [number, number, number])),
});
registerType<KeyedWindow<unknown>>(KeyedWindow, {
  type: 96,
  write: (kw) => [kw.key, kw.window],
  read: (d) => new KeyedWindow(...(d as [unknown, Window])),
});
registerType<KeyValue<unknown, unknown>>(KeyValue, {
  type: 97,
  write: (kv) => [kv.key, kv.value],
  read: (d) => new KeyValue(...(d as [unknown, unknown])),
});
