/**
 * Storm's `BaseWindowedBolt`: the class a user extends. It holds the
 * window's configuration (set with the `with…` methods) and the user's
 * lifecycle methods, and nothing else: `execute(window)` receives one
 * window. `TopologyBuilder.setBolt` wraps every windowed bolt in a
 * {@link WindowedBoltExecutor} (`windowed_bolt_executor.ts`), which is what
 * the engine runs: it takes the tuples, keeps the windows and calls
 * `execute(window)` for each window that fires.
 *
 * @module
 */
import type { OutputCollector } from "../collectors.ts";
import type { MaybePromise } from "../components.ts";
import type { TopologyConfig } from "../config.ts";
import type { TopologyContext } from "../context.ts";
import type { OutputFieldsDeclarer } from "../declarer.ts";
import { InvalidTopologyError } from "../errors.ts";
import type { Tuple } from "../tuple.ts";
import { type DurationLike, durationMs, type Extent, toExtent, type WindowLength } from "./lengths.ts";
import type { TupleWindow } from "./tuple_window.ts";

/**
 * Fields of the late-tuple stream: the late tuple's values, its timestamp,
 * where it came from.
 *
 * @example
 * ```ts
 * import type { Tuple } from "../tuple.ts";
 * declare const t: Tuple; // a tuple of the late stream
 * const [values, ts, component] = LATE_TUPLE_FIELDS.map((f) => t.getValueByField(f));
 * ```
 */
export const LATE_TUPLE_FIELDS: readonly string[] = ["late_tuple", "timestamp", "source_component", "source_stream"];

/**
 * Default watermark interval (ms), as in Storm.
 *
 * @example
 * ```ts
 * declare const totals: BaseWindowedBolt;
 * totals.getWindowSpec().watermarkIntervalMs === DEFAULT_WATERMARK_INTERVAL_MS; // true until withWatermarkInterval
 * ```
 */
export const DEFAULT_WATERMARK_INTERVAL_MS = 1000;

/**
 * How a windowed bolt windows; set through the `with…` methods.
 *
 * @example
 * ```ts
 * declare const bolt: BaseWindowedBolt;
 * const spec: Readonly<WindowSpec> = bolt.getWindowSpec();
 * spec.length; // { kind: "count", value: 10 } after withTumblingWindow(Count.of(10))
 * ```
 */
export interface WindowSpec {
  length?: Extent;
  slide?: Extent;
  /** Event time: the timestamp of a tuple (ms). */
  timestamp?: (tuple: Tuple) => number;
  lagMs: number;
  watermarkIntervalMs: number;
  lateStream?: string;
  clock?: () => number;
}

/** Where a windowed bolt keeps its {@link WindowSpec} (shared by every copy of this module). */
const SPEC: unique symbol = Symbol.for("ardea.windowing.spec");

/**
 * Storm's `BaseWindowedBolt`: override `execute(window)`; configure the
 * window with the `with…` methods (each returns the bolt, ready for
 * `setBolt`, which runs it behind a windowed bolt executor). A subclass may
 * also implement `initState` (and `preSave`, …) to keep state of its own
 * beside the windows under EFFECTIVELY_ONCE.
 *
 * @example
 * ```ts
 * import { Count, type OutputCollector, type OutputFieldsDeclarer, type TopologyBuilder, type TopologyConfig, type TopologyContext, type TupleWindow } from "ardea";
 * declare const builder: TopologyBuilder;
 * class Sum extends BaseWindowedBolt {
 *   collector!: OutputCollector;
 *   override prepare(_c: TopologyConfig, _x: TopologyContext, collector: OutputCollector) { this.collector = collector; }
 *   execute(w: TupleWindow) { this.collector.emit([w.get().reduce((s, t) => s + t.getInteger(0), 0)]); }
 *   declareOutputFields(d: OutputFieldsDeclarer) { d.declare(["sum"]); }
 * }
 * builder.setBolt("sum", new Sum().withWindow(Count.of(10), Count.of(5))).shuffleGrouping("numbers");
 * ```
 */
export abstract class BaseWindowedBolt {
  [SPEC]: WindowSpec = { lagMs: 0, watermarkIntervalMs: DEFAULT_WATERMARK_INTERVAL_MS };

  /** A sliding window: `length` long, moving by `slide` (both counts or both durations; default slide: one tuple). */
  withWindow(length: WindowLength, slide?: WindowLength): this {
    const len = toExtent(length, "window length");
    let sl: Extent;
    if (slide !== undefined) sl = toExtent(slide, "sliding interval");
    else if (len.kind === "count") sl = { kind: "count", value: 1 };
    else {
      throw new InvalidTopologyError(
        "BAD_WINDOW",
        "a time window needs a sliding interval that is a duration (withWindow(length, slide)); sliding a time window by tuple counts is not supported",
      );
    }
    if (len.kind !== sl.kind) {
      throw new InvalidTopologyError(
        "BAD_WINDOW",
        `window length and sliding interval must both be counts or both durations (got a ${len.kind} length and a ${sl.kind} slide)`,
      );
    }
    this[SPEC].length = len;
    this[SPEC].slide = sl;
    return this;
  }

  /** A tumbling window: consecutive, non-overlapping windows of `length`. */
  withTumblingWindow(length: WindowLength): this {
    return this.withWindow(length, length);
  }

  /** Event time: the timestamp (ms, or a Date) is the tuple's field `field`. */
  withTimestampField(field: string): this {
    return this.withTimestampExtractor((t) => {
      const v = t.getValueByField(field);
      return v instanceof Date ? v.getTime() : (v as number);
    });
  }

  /** Event time: the timestamp (ms) is what `extract` returns for a tuple. */
  withTimestampExtractor(extract: (tuple: Tuple) => number): this {
    if (typeof extract !== "function") {
      throw new InvalidTopologyError("BAD_WINDOW", "withTimestampExtractor needs a function");
    }
    this[SPEC].timestamp = extract;
    return this;
  }

  /** Event time: how far behind the newest timestamp a tuple may be and still count (default 0). */
  withLag(lag: DurationLike): this {
    this[SPEC].lagMs = durationMs(lag, "lag");
    return this;
  }

  /** Event time: how often the watermark is recomputed (default 1 s; 0: on every tuple). */
  withWatermarkInterval(interval: DurationLike): this {
    this[SPEC].watermarkIntervalMs = durationMs(interval, "watermark interval");
    return this;
  }

  /** Event time: late tuples go out on `streamId` (declared for you) and are acked. */
  withLateTupleStream(streamId: string): this {
    if (typeof streamId !== "string" || streamId.length === 0) {
      throw new InvalidTopologyError("BAD_WINDOW", "withLateTupleStream needs a stream id");
    }
    this[SPEC].lateStream = streamId;
    return this;
  }

  /**
   * The clock of processing time and watermark intervals (default `Date.now`,
   * with timers). With another clock the windows are checked on every tuple
   * and, for a {@link ManualClock}, on every move of the clock.
   */
  withClock(clock: () => number): this {
    if (typeof clock !== "function") {
      throw new InvalidTopologyError("BAD_WINDOW", "withClock needs a function returning ms");
    }
    this[SPEC].clock = clock;
    return this;
  }

  /** The event-time extractor, if any. */
  getTimestampExtractor(): ((tuple: Tuple) => number) | undefined {
    return this[SPEC].timestamp;
  }

  /** The window configuration. */
  getWindowSpec(): Readonly<WindowSpec> {
    return this[SPEC];
  }

  /** Gets the collector; emits in `execute` are anchored to the window's tuples. */
  prepare(_conf: TopologyConfig, _context: TopologyContext, _collector: OutputCollector): MaybePromise {}
  /** Called for every window that fires. */
  abstract execute(window: TupleWindow): MaybePromise;
  /** Called at end of input, after the remaining windows fired. */
  finish(): MaybePromise {}
  cleanup(): MaybePromise {}
  abstract declareOutputFields(declarer: OutputFieldsDeclarer): void;
  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }
}

/**
 * Whether `c` is a windowed bolt (a {@link BaseWindowedBolt}, from this or
 * another copy of Ardea's modules), which `setBolt` wraps in an executor.
 *
 * @example
 * ```ts
 * import { Count } from "ardea";
 * declare const sum: BaseWindowedBolt;
 * isWindowedBolt(sum.withTumblingWindow(Count.of(10))); // true
 * ```
 */
export function isWindowedBolt(c: unknown): c is BaseWindowedBolt {
  return typeof c === "object" && c !== null && typeof (c as Partial<BaseWindowedBolt>)[SPEC] === "object";
}

/**
 * Throws unless `spec` describes a window: a length and a slide, and a late
 * stream only with event time. `where` names the bolt in the message.
 *
 * @example
 * ```ts
 * declare const bolt: BaseWindowedBolt;
 * checkSpec(bolt.getWindowSpec(), `"counter"`);
 * ```
 */
export function checkSpec(
  spec: Readonly<WindowSpec>,
  where: string,
): asserts spec is WindowSpec & { length: Extent; slide: Extent } {
  if (spec.length === undefined || spec.slide === undefined) {
    throw new InvalidTopologyError(
      "BAD_WINDOW",
      `windowed bolt ${where} has no window: call withWindow() or withTumblingWindow()`,
    );
  }
  if (spec.lateStream !== undefined && spec.timestamp === undefined) {
    throw new InvalidTopologyError(
      "BAD_WINDOW",
      `windowed bolt ${where}: a late tuple stream needs event time (withTimestampField or withTimestampExtractor)`,
    );
  }
}
