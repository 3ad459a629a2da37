/**
 * Windowed bolts (Storm's `BaseWindowedBolt` and `WindowedBoltExecutor`).
 *
 * A `BaseWindowedBolt` is handed to `setBolt` as it is: its constructor puts
 * the executor in front of the class's own methods (the engine's `prepare`,
 * `execute(tuple)`, `finish`, `cleanup` and `declareOutputFields` reach the
 * executor, which calls the subclass's `prepare`, `execute(window)`, …), so
 * the engine sees a plain rich bolt and needs no change.
 *
 * Reliability: a tuple is acked as soon as it has left every window it
 * belongs to (at most window length + sliding interval after it arrived);
 * emits made while a window executes are anchored to that window's tuples;
 * a late tuple goes out on the late stream, anchored, and is acked.
 *
 * Bounded topologies: when every input has drained (the first phase of end
 * of input: spouts sent all their tuples, trees still open), every window
 * holding tuples fires and its tuples are acked, so the trees complete; a
 * replay arriving after that starts new windows, fired at the next drain.
 * `finish()` fires what is left, then the subclass's `finish`.
 *
 * EFFECTIVELY_ONCE: the windows (their tuples, positions, watermark) are
 * part of the task's checkpointed state, under the key {@link WINDOWS_STATE_KEY}
 * (a subclass that is stateful itself gets the same state without that key),
 * so a rollback resumes with exactly the windows of the last checkpoint.
 *
 * @module
 */
import type { Anchors, OutputCollector } from "../collectors.ts";
import type { IRichBolt, MaybePromise } from "../components.ts";
import type { TopologyConfig } from "../config.ts";
import type { TopologyContext } from "../context.ts";
import type { OutputFieldsDeclarer } from "../declarer.ts";
import { InvalidTopologyError } from "../errors.ts";
import { DEFAULT_STREAM, isTick, type Tuple, TupleImpl } from "../tuple.ts";
import { durationMs, type DurationLike, type Extent, toExtent, type WindowLength } from "./lengths.ts";
import type { KeyValueState } from "../stateful.ts";
import { StreamInfo } from "../tuple.ts";
import { TupleWindowImpl, type TupleWindow } from "./tuple_window.ts";
import { Watermarks, type WatermarksSnapshot } from "./watermarks.ts";
import { type FiredWindow, WindowManager, type WindowManagerSnapshot } from "./window_manager.ts";

/** Fields of the late-tuple stream: the late tuple's values, its timestamp, where it came from. */
export const LATE_TUPLE_FIELDS: readonly string[] = ["late_tuple", "timestamp", "source_component", "source_stream"];

/** Default watermark interval (ms), as in Storm. */
export const DEFAULT_WATERMARK_INTERVAL_MS = 1000;
/**
 * The state key under which a windowed bolt keeps its windows
 * (EFFECTIVELY_ONCE); a stateful subclass never sees it.
 *
 * @example
 * ```ts
 * import type { KeyValueState } from "ardea";
 * declare const state: KeyValueState<string, unknown>;
 * state.has(WINDOWS_STATE_KEY); // true after a windowed bolt's first checkpoint
 * ```
 */
export const WINDOWS_STATE_KEY = "\u0000ardea.windows";

/**
 * A clock that only moves when told to; windowed bolts using it re-check
 * their windows on every move, so tests are exact and fast.
 *
 * @example
 * ```ts
 * import { Duration, TopologyBuilder } from "ardea";
 * declare const Sum: new () => BaseWindowedBolt;
 * const builder = new TopologyBuilder();
 * const clock = manualClock(0);
 * builder.setBolt("w", new Sum().withTumblingWindow(Duration.seconds(5)).withClock(clock)).shuffleGrouping("n");
 * clock.advance(5000); // windows ending by 5 s fire now
 * ```
 */
export interface ManualClock {
  (): number;
  /** Moves the clock forward by `ms` and wakes the bolts; returns the new time. */
  advance(ms: number): number;
  /** Sets the time (never backwards) and wakes the bolts. */
  set(time: number): void;
  /** Calls `fn` after every move; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void;
}

/**
 * A {@link ManualClock} starting at `start` ms.
 *
 * @example
 * ```ts
 * const clock = manualClock(1_000);
 * clock(); // 1000
 * clock.advance(500); // 1500
 * ```
 */
export function manualClock(start = 0): ManualClock {
  let now = start;
  const subs = new Set<() => void>();
  const clock = (() => now) as ManualClock;
  clock.set = (t: number) => {
    if (t > now) now = t;
    for (const fn of [...subs]) fn();
  };
  clock.advance = (ms: number) => {
    clock.set(now + ms);
    return now;
  };
  clock.subscribe = (fn) => {
    subs.add(fn);
    return () => subs.delete(fn);
  };
  return clock;
}

/** How a windowed bolt windows; set through the `with…` methods. */
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

const SPEC: unique symbol = Symbol.for("ardea.windowing.spec");
const EXECUTOR: unique symbol = Symbol.for("ardea.windowing.executor");
const STATE: unique symbol = Symbol.for("ardea.windowing.state");

/**
 * Storm's `BaseWindowedBolt`: override `execute(window)`; configure the
 * window with the `with…` methods, which return the bolt typed as a rich
 * bolt, ready for `setBolt`.
 *
 * @example
 * ```ts
 * import { Count, type OutputCollector, type OutputFieldsDeclarer, type TopologyConfig, type TopologyContext, TopologyBuilder, type TupleWindow } from "ardea";
 * const builder = new TopologyBuilder();
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
  [EXECUTOR]?: WindowedExecutor;
  [STATE]?: KeyValueState;

  constructor() {
    for (const [name, fn] of ROUTES) {
      Object.defineProperty(this, name, { value: fn, writable: true, configurable: true, enumerable: false });
    }
  }

  /** A sliding window: `length` long, moving by `slide` (both counts or both durations; default slide: one tuple). */
  withWindow(length: WindowLength, slide?: WindowLength): this & IRichBolt {
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
    return this as this & IRichBolt;
  }

  /** A tumbling window: consecutive, non-overlapping windows of `length`. */
  withTumblingWindow(length: WindowLength): this & IRichBolt {
    return this.withWindow(length, length);
  }

  /** Event time: the timestamp (ms, or a Date) is the tuple's field `field`. */
  withTimestampField(field: string): this & IRichBolt {
    return this.withTimestampExtractor((t) => {
      const v = t.getValueByField(field);
      return v instanceof Date ? v.getTime() : (v as number);
    });
  }

  /** Event time: the timestamp (ms) is what `extract` returns for a tuple. */
  withTimestampExtractor(extract: (tuple: Tuple) => number): this & IRichBolt {
    if (typeof extract !== "function") throw new InvalidTopologyError("BAD_WINDOW", "withTimestampExtractor needs a function");
    this[SPEC].timestamp = extract;
    return this as this & IRichBolt;
  }

  /** Event time: how far behind the newest timestamp a tuple may be and still count (default 0). */
  withLag(lag: DurationLike): this & IRichBolt {
    this[SPEC].lagMs = durationMs(lag, "lag");
    return this as this & IRichBolt;
  }

  /** Event time: how often the watermark is recomputed (default 1 s; 0: on every tuple). */
  withWatermarkInterval(interval: DurationLike): this & IRichBolt {
    this[SPEC].watermarkIntervalMs = durationMs(interval, "watermark interval");
    return this as this & IRichBolt;
  }

  /** Event time: late tuples go out on `streamId` (declared for you) and are acked. */
  withLateTupleStream(streamId: string): this & IRichBolt {
    if (typeof streamId !== "string" || streamId.length === 0) {
      throw new InvalidTopologyError("BAD_WINDOW", "withLateTupleStream needs a stream id");
    }
    this[SPEC].lateStream = streamId;
    return this as this & IRichBolt;
  }

  /**
   * The clock of processing time and watermark intervals (default `Date.now`,
   * with timers). With another clock the windows are checked on every tuple
   * and, for a {@link ManualClock}, on every move of the clock.
   */
  withClock(clock: () => number): this & IRichBolt {
    if (typeof clock !== "function") throw new InvalidTopologyError("BAD_WINDOW", "withClock needs a function returning ms");
    this[SPEC].clock = clock;
    return this as this & IRichBolt;
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

// ---------------------------------------------------------------- routing

type Method = (...args: never[]) => unknown;

/** The subclass's own method `name` (the class's, behind the router). */
function own(bolt: BaseWindowedBolt, name: string): Method | undefined {
  const m = Reflect.get(Object.getPrototypeOf(bolt) as object, name, bolt);
  return typeof m === "function" ? (m as Method) : undefined;
}

function call(bolt: BaseWindowedBolt, name: string, ...args: unknown[]): MaybePromise {
  return (own(bolt, name) as ((...a: unknown[]) => MaybePromise) | undefined)?.apply(bolt, args);
}

function executorOf(bolt: BaseWindowedBolt): WindowedExecutor {
  const x = bolt[EXECUTOR];
  if (x === undefined) throw new Error("windowed bolt used before prepare()");
  return x;
}

function checkSpec(spec: WindowSpec, where: string): void {
  if (spec.length === undefined || spec.slide === undefined) {
    throw new InvalidTopologyError("BAD_WINDOW", `windowed bolt ${where} has no window: call withWindow() or withTumblingWindow()`);
  }
  if (spec.lateStream !== undefined && spec.timestamp === undefined) {
    throw new InvalidTopologyError(
      "BAD_WINDOW",
      `windowed bolt ${where}: a late tuple stream needs event time (withTimestampField or withTimestampExtractor)`,
    );
  }
}

const ROUTES: ReadonlyArray<[string, (this: BaseWindowedBolt, ...args: never[]) => unknown]> = [
  ["initState", function (this: BaseWindowedBolt, state: KeyValueState) {
    this[STATE] = state;
    if (own(this, "initState") !== undefined) call(this, "initState", new WithoutWindows(state));
  }],
  ["preSave", function (this: BaseWindowedBolt, checkpointId: number) {
    this[EXECUTOR]?.save();
    return call(this, "preSave", checkpointId);
  }],
  ["prepare", function (this: BaseWindowedBolt, conf: TopologyConfig, context: TopologyContext, collector: OutputCollector) {
    this[EXECUTOR]?.stop();
    const x = new WindowedExecutor(this, this[SPEC], conf, context, collector, this[STATE] ?? null);
    this[EXECUTOR] = x;
    return call(this, "prepare", conf, context, x.out);
  }],
  ["execute", function (this: BaseWindowedBolt, input: Tuple) {
    return executorOf(this).accept(input);
  }],
  ["drain", function (this: BaseWindowedBolt) {
    return executorOf(this).drain();
  }],
  ["finish", function (this: BaseWindowedBolt) {
    return executorOf(this).finish();
  }],
  ["cleanup", function (this: BaseWindowedBolt) {
    this[EXECUTOR]?.stop();
    return call(this, "cleanup");
  }],
  ["declareOutputFields", function (this: BaseWindowedBolt, declarer: OutputFieldsDeclarer) {
    checkSpec(this[SPEC], `(${this.constructor.name})`);
    call(this, "declareOutputFields", declarer);
    const late = this[SPEC].lateStream;
    if (late !== undefined) declarer.declareStream(late, [...LATE_TUPLE_FIELDS]);
  }],
];

// ---------------------------------------------------------------- collector

/**
 * Storm's `WindowedOutputCollector`: an emit without anchors, made while a
 * window executes, is anchored to that window's tuples (those not acked yet).
 */
class WindowedCollector implements OutputCollector {
  /** The tuples of the window executing, or null. */
  context: Tuple[] | null = null;
  constructor(readonly out: OutputCollector) {}

  #anchors(): Anchors {
    const c = this.context;
    if (c === null) return null;
    const a: Tuple[] = [];
    for (const t of c) if (!(t instanceof TupleImpl) || t.state !== 1) a.push(t);
    return a;
  }
  emit(a: unknown, b?: unknown, c?: unknown): void {
    if (c !== undefined) this.out.emit(a as string, b as Anchors, c as unknown[]);
    else if (b === undefined) this.out.emit(DEFAULT_STREAM, this.#anchors(), a as unknown[]);
    else if (typeof a === "string") this.out.emit(a, this.#anchors(), b as unknown[]);
    else this.out.emit(DEFAULT_STREAM, a as Anchors, b as unknown[]);
  }
  emitDirect(task: number, a: unknown, b?: unknown, c?: unknown): void {
    if (c !== undefined) this.out.emitDirect(task, a as string, b as Anchors, c as unknown[]);
    else if (b === undefined) this.out.emitDirect(task, DEFAULT_STREAM, this.#anchors(), a as unknown[]);
    else if (typeof a === "string") this.out.emitDirect(task, a, this.#anchors(), b as unknown[]);
    else this.out.emitDirect(task, DEFAULT_STREAM, a as Anchors, b as unknown[]);
  }
  ack(input: Tuple): void {
    this.out.ack(input);
  }
  fail(input: Tuple): void {
    this.out.fail(input);
  }
  resetTimeout(input: Tuple): void {
    this.out.resetTimeout(input);
  }
  reportError(error: unknown): void {
    this.out.reportError(error);
  }
}

// ---------------------------------------------------------------- executor

type Task = { window: TupleWindowImpl } | { ack: Tuple[] };

function isPromise(r: unknown): r is Promise<unknown> {
  return r !== null && typeof r === "object" && typeof (r as { then?: unknown }).then === "function";
}

/**
 * One task's windowing: what the engine's calls to a windowed bolt reach.
 * Internal; exported for tests.
 */
export class WindowedExecutor {
  readonly out: WindowedCollector;
  readonly #bolt: BaseWindowedBolt;
  readonly #collector: OutputCollector;
  readonly #manager: WindowManager<Tuple>;
  readonly #time: boolean;
  readonly #watermarks: Watermarks<Tuple> | null;
  readonly #wmInterval: number;
  readonly #lateStream: string | undefined;
  readonly #extract: ((t: Tuple) => number) | undefined;
  readonly #clock: () => number;
  /** Timers run on the default clock only. */
  readonly #timers: boolean;
  readonly #state: KeyValueState | null;
  readonly #context: TopologyContext;
  #unsubscribe: (() => void) | null = null;
  #seq = 0;
  #nextWatermarkAt = -Infinity;
  #queue: Task[] = [];
  #qHead = 0;
  #busy: Promise<unknown> | null = null;
  #failure: unknown = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerDue = Infinity;
  #stopped = false;
  /** Late tuples seen (emitted on the late stream, if any, and acked). */
  late = 0;

  constructor(
    bolt: BaseWindowedBolt,
    spec: WindowSpec,
    conf: TopologyConfig,
    context: TopologyContext,
    collector: OutputCollector,
    /** The task's checkpointed state (EFFECTIVELY_ONCE), or null. */
    state: KeyValueState | null = null,
  ) {
    const id = safe(() => context.getThisComponentId()) ?? bolt.constructor.name;
    checkSpec(spec, `"${id}"`);
    const length = spec.length!;
    const slide = spec.slide!;
    const mode = conf["topology.reliability.mode"] ?? "ATLEAST_ONCE";
    const timeoutMs = (conf["topology.message.timeout.secs"] ?? 30) * 1000;
    if (mode === "ATLEAST_ONCE" && length.kind === "time" && length.value + slide.value > timeoutMs) {
      throw new InvalidTopologyError(
        "BAD_WINDOW",
        `windowed bolt "${id}": window length + sliding interval (${length.value + slide.value} ms) exceeds topology.message.timeout.secs (${timeoutMs} ms); its tuples would time out`,
      );
    }
    this.#bolt = bolt;
    this.#collector = collector;
    this.out = new WindowedCollector(collector);
    this.#time = length.kind === "time";
    this.#manager = new WindowManager<Tuple>(length.value, slide.value, {
      onWindow: (w) => this.#queue.push({ window: toTupleWindow(w, this.#time) }),
      onRelease: (items) => this.#queue.push({ ack: items }),
    });
    this.#extract = spec.timestamp;
    this.#lateStream = spec.lateStream;
    this.#wmInterval = spec.watermarkIntervalMs;
    this.#watermarks = spec.timestamp === undefined ? null : new Watermarks<Tuple>(spec.lagMs, safe(() => [...context.getThisSources().keys()]) ?? null);
    this.#clock = spec.clock ?? Date.now;
    this.#timers = spec.clock === undefined;
    this.#state = state;
    this.#context = context;
    const saved = state?.get(WINDOWS_STATE_KEY) as WindowsSnapshot | undefined;
    if (saved !== undefined) this.#restore(saved);
    const sub = (spec.clock as Partial<ManualClock> | undefined)?.subscribe;
    if (typeof sub === "function") this.#unsubscribe = sub(() => this.#fromTimer());
  }

  /** The engine's `execute(tuple)`. */
  accept(t: Tuple): MaybePromise {
    if (this.#failure !== null) throw this.#failure;
    if (this.#busy !== null) return this.#busy.then(() => this.accept(t));
    if (isTick(t)) {
      this.#onTime();
      return this.#runQueue();
    }
    const wm = this.#watermarks;
    if (wm !== null) {
      const ts = this.#extract!(t);
      if (typeof ts !== "number" || !Number.isFinite(ts)) {
        throw new TypeError(`windowed bolt: the timestamp of a tuple from "${t.getSourceComponent()}" is not a finite number: ${String(ts)}`);
      }
      wm.track(`${t.getSourceComponent()}:${t.getSourceStreamId()}`, ts);
      if (wm.isLate(ts)) {
        this.late++;
        if (this.#lateStream !== undefined) {
          this.#collector.emit(this.#lateStream, t, [t.getValues(), ts, t.getSourceComponent(), t.getSourceStreamId()]);
        }
        this.#collector.ack(t);
        return;
      }
      wm.hold(t, ts);
      this.#maybeWatermark(this.#wmInterval === 0);
    } else {
      const now = this.#clock();
      if (this.#time) {
        this.#manager.advanceTo(now);
        this.#manager.add(t, now, now);
      } else {
        this.#manager.add(t, this.#seq, now);
        this.#manager.advanceTo(++this.#seq);
      }
    }
    const r = this.#runQueue();
    this.#arm();
    return r;
  }

  /**
   * The engine's `drain()` (every input drained, trees still open): every
   * window holding tuples fires now and its tuples are acked.
   */
  drain(): MaybePromise {
    if (this.#failure !== null) throw this.#failure;
    if (this.#busy !== null) return this.#busy.then(() => this.drain());
    this.#watermarks?.advance((t, ts) => this.#settle(t, ts), Infinity);
    this.#manager.flush();
    const r = this.#runQueue();
    this.#arm();
    return r;
  }

  /** Writes the windows into the task's state (before a checkpoint saves it). */
  save(): void {
    const state = this.#state;
    if (state === null) return;
    const snap: WindowsSnapshot = {
      v: 1,
      seq: this.#seq,
      late: this.late,
      manager: this.#manager.snapshot(encodeTuple),
      watermarks: this.#watermarks?.snapshot(encodeTuple) ?? null,
    };
    state.put(WINDOWS_STATE_KEY, snap);
  }

  #restore(snap: WindowsSnapshot): void {
    if (snap?.v !== 1 || snap.manager === undefined) {
      throw new TypeError(`windowed bolt: the saved windows under ${JSON.stringify(WINDOWS_STATE_KEY)} are not a version 1 snapshot`);
    }
    const infos = new Map<string, StreamInfo>();
    const topology = this.#context.topology;
    const decode = ([component, stream, task, values]: SavedTuple): Tuple => {
      const key = `${component}\u0000${stream}`;
      let info = infos.get(key);
      if (info === undefined) {
        const decl = topology.components.get(component)?.streams.get(stream);
        if (decl === undefined) throw new TypeError(`windowed bolt: a saved tuple names stream "${stream}" of "${component}", which the topology no longer has`);
        info = new StreamInfo(component, stream, decl.fields, decl.direct);
        infos.set(key, info);
      }
      return new TupleImpl(values, info, task);
    };
    this.#seq = snap.seq;
    this.late = snap.late;
    this.#manager.restore(snap.manager, decode);
    if (snap.watermarks !== null && this.#watermarks !== null) this.#watermarks.restore(snap.watermarks, decode);
  }

  /** The engine's `finish()`: every remaining window fires, then the subclass's `finish`. */
  finish(): MaybePromise {
    if (this.#failure !== null) throw this.#failure;
    if (this.#busy !== null) return this.#busy.then(() => this.finish());
    this.stop();
    const r = this.drain(); // stopped: fires every window without arming a timer
    this.out.context = null;
    return isPromise(r) ? r.then(() => call(this.#bolt, "finish")) : call(this.#bolt, "finish");
  }

  /** Stops the timers and leaves the clock. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** Tuples held: in windows, and (event time) waiting for the watermark. */
  get held(): number {
    return this.#manager.size + (this.#watermarks?.size ?? 0);
  }

  #settle(t: Tuple, ts: number): void {
    if (this.#time) {
      this.#manager.advanceTo(ts);
      this.#manager.add(t, ts, ts);
    } else {
      this.#manager.add(t, this.#seq, ts);
      this.#manager.advanceTo(++this.#seq);
    }
  }

  /** Recomputes the watermark if due (or `force`), settling what it passes. */
  #maybeWatermark(force: boolean): void {
    const wm = this.#watermarks!;
    const now = this.#wmInterval === 0 ? 0 : this.#clock();
    if (!force && now < this.#nextWatermarkAt) return;
    this.#nextWatermarkAt = now + this.#wmInterval;
    if (wm.advance((t, ts) => this.#settle(t, ts)) && this.#time) this.#manager.advanceTo(wm.watermark);
  }

  /** Time moved (a timer, a tick, a manual clock): fire what is due. */
  #onTime(): void {
    if (this.#watermarks !== null) this.#maybeWatermark(false);
    else if (this.#time) this.#manager.advanceTo(this.#clock());
  }

  #fromTimer(): void {
    if (this.#stopped || this.#failure !== null) return;
    if (this.#busy !== null) {
      this.#busy.then(() => this.#fromTimer(), () => {});
      return;
    }
    try {
      this.#onTime();
      const r = this.#runQueue();
      if (isPromise(r)) r.catch((e) => this.#fail(e));
    } catch (e) {
      this.#fail(e);
    }
    this.#arm();
  }

  #fail(e: unknown): void {
    if (this.#failure !== null) return;
    // Thrown at the next execute or finish, so the engine restarts the bolt and replays what it held.
    this.#failure = e;
    this.stop();
    try {
      this.#collector.reportError(e);
    } catch {
      // reporting is best effort
    }
  }

  /** Runs queued window executions and acks in order; a Promise from execute pauses the queue. */
  #runQueue(): MaybePromise {
    const q = this.#queue;
    while (this.#qHead < q.length) {
      const task = q[this.#qHead++]!;
      if ("ack" in task) {
        for (const t of task.ack) this.#collector.ack(t);
        continue;
      }
      this.out.context = task.window.tuples;
      const r = call(this.#bolt, "execute", task.window);
      if (isPromise(r)) {
        const p = r.then(() => {
          this.out.context = null;
          this.#busy = null;
          return this.#runQueue();
        });
        this.#busy = p;
        return p;
      }
      this.out.context = null;
    }
    this.#queue = [];
    this.#qHead = 0;
  }

  /** Sets the timer to the next deadline (default clock). */
  #arm(): void {
    if (this.#stopped) return;
    if (this.#timers) {
      let due = Infinity;
      if (this.#watermarks !== null) {
        if (this.#watermarks.size > 0) due = Math.max(this.#nextWatermarkAt, this.#clock());
      } else if (this.#time && this.#manager.nextEnd !== null) due = this.#manager.nextEnd;
      if (due === Infinity) {
        if (this.#timer !== null) clearTimeout(this.#timer);
        this.#timer = null;
        this.#timerDue = Infinity;
      } else if (this.#timer === null || due < this.#timerDue) {
        if (this.#timer !== null) clearTimeout(this.#timer);
        this.#timerDue = due;
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.#timerDue = Infinity;
          this.#fromTimer();
        }, Math.max(0, due - Date.now()));
      }
    }
  }
}

/** A tuple in a checkpoint: [component, stream, source task, values]. */
type SavedTuple = [string, string, number, unknown[]];

/** The windows of one task in its checkpointed state. */
interface WindowsSnapshot {
  v: 1;
  seq: number;
  late: number;
  manager: WindowManagerSnapshot<SavedTuple>;
  watermarks: WatermarksSnapshot<SavedTuple> | null;
}

function encodeTuple(t: Tuple): SavedTuple {
  return [t.getSourceComponent(), t.getSourceStreamId(), t.getSourceTask(), [...t.getValues()]];
}

/** A stateful windowed bolt's own view of its state: the windows' key hidden. */
class WithoutWindows implements KeyValueState {
  constructor(readonly inner: KeyValueState) {}
  get(key: unknown): unknown {
    return key === WINDOWS_STATE_KEY ? undefined : this.inner.get(key);
  }
  put(key: unknown, value: unknown): void {
    if (key === WINDOWS_STATE_KEY) throw new RangeError(`the state key ${JSON.stringify(WINDOWS_STATE_KEY)} is reserved for the windows`);
    this.inner.put(key, value);
  }
  delete(key: unknown): boolean {
    return key !== WINDOWS_STATE_KEY && this.inner.delete(key);
  }
  has(key: unknown): boolean {
    return key !== WINDOWS_STATE_KEY && this.inner.has(key);
  }
  *entries(): IterableIterator<[unknown, unknown]> {
    for (const e of this.inner.entries()) if (e[0] !== WINDOWS_STATE_KEY) yield e;
  }
  get size(): number {
    return this.inner.size - (this.inner.has(WINDOWS_STATE_KEY) ? 1 : 0);
  }
  clear(): void {
    const w = this.inner.get(WINDOWS_STATE_KEY);
    this.inner.clear();
    if (w !== undefined) this.inner.put(WINDOWS_STATE_KEY, w);
  }
}

function toTupleWindow(w: FiredWindow<Tuple>, time: boolean): TupleWindowImpl {
  return new TupleWindowImpl(w.items, w.fresh, w.expired, time ? w.start : w.firstTs, time ? w.end : w.lastTs);
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
