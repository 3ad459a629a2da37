/**
 * One task's windows: tuples in, windows out, in order. Places each tuple
 * (arrival order, processing time, or event time behind the watermark),
 * keeps time moving (timers on the default clock, a manual clock's moves,
 * tick tuples), fires windows through the bolt's `execute(window)` and acks
 * each tuple once it has left every window it belongs to. What it holds can
 * be taken as a {@link WindowsSnapshot} and put back.
 *
 * Reliability: a tuple is acked as soon as it has left every window it
 * belongs to (at most window length + sliding interval after it arrived);
 * emits made while a window executes are anchored to that window's tuples;
 * a late tuple goes out on the late stream, anchored, and is acked.
 *
 * @module
 */
import type { OutputCollector } from "../collectors.ts";
import type { MaybePromise } from "../components.ts";
import type { TopologyConfig } from "../config.ts";
import type { TopologyContext } from "../context.ts";
import { InvalidTopologyError } from "../errors.ts";
import { isTick, type Tuple } from "../tuple.ts";
import type { ManualClock } from "./clock.ts";
import type { Extent } from "./lengths.ts";
import { type TupleWindow, TupleWindowImpl } from "./tuple_window.ts";
import { Watermarks } from "./watermarks.ts";
import { checkSpec, type WindowSpec } from "./windowed_bolt.ts";
import { WindowedCollector } from "./windowed_collector.ts";
import { type FiredWindow, WindowManager } from "./window_manager.ts";
import { encodeTuple, type SavedTuple, tupleDecoder, type WindowsSnapshot } from "./windows_state.ts";

type Task = { window: TupleWindowImpl } | { ack: Tuple[] };

/**
 * Whether a result is to be awaited (a Promise or another thenable).
 *
 * @example
 * ```ts
 * import type { BaseWindowedBolt, TupleWindow } from "ardea";
 * declare const bolt: BaseWindowedBolt;
 * declare const window: TupleWindow;
 * const r = bolt.execute(window);
 * if (isPromise(r)) await r;
 * ```
 */
export function isPromise(r: unknown): r is Promise<unknown> {
  return r !== null && typeof r === "object" && typeof (r as { then?: unknown }).then === "function";
}

/**
 * The windows of one task of a windowed bolt (internal to the executor).
 *
 * @example
 * ```ts
 * import type { BaseWindowedBolt, OutputCollector, TopologyConfig, TopologyContext, Tuple } from "ardea";
 * declare const bolt: BaseWindowedBolt;
 * declare const conf: TopologyConfig;
 * declare const context: TopologyContext;
 * declare const collector: OutputCollector;
 * declare const tuple: Tuple;
 * const spec = bolt.getWindowSpec();
 * const windows = new TaskWindows(spec, "sum", conf, context, collector, (w) => bolt.execute(w));
 * windows.accept(tuple); // may fire windows
 * await windows.flush(); // end of input: every window fires
 * ```
 */
export class TaskWindows {
  /** The collector the bolt emits with: anchors emits to the executing window's tuples. */
  readonly out: WindowedCollector;
  readonly #execute: (window: TupleWindow) => MaybePromise;
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
  readonly #context: TopologyContext;
  #unsubscribe: (() => void) | null = null;
  #seq = 0;
  #nextWatermarkAt = -Infinity;
  /** Wall time of the last watermark check: when a sending task was last heard from, to that precision. */
  #wallNow = 0;
  #queue: Task[] = [];
  #qHead = 0;
  #busy: Promise<unknown> | null = null;
  #failure: unknown = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerDue = Infinity;
  #stopped = false;
  /** Late tuples seen (emitted on the late stream, if any, and acked); kept in snapshots. */
  #late = 0;

  constructor(
    spec: Readonly<WindowSpec>,
    /** The component id, for messages. */
    id: string,
    conf: TopologyConfig,
    context: TopologyContext,
    collector: OutputCollector,
    /** The bolt's `execute(window)`. */
    execute: (window: TupleWindow) => MaybePromise,
  ) {
    checkSpec(spec, `"${id}"`);
    checkTimeout(spec, conf, id);
    const { length, slide } = spec;
    this.#execute = execute;
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
    this.#clock = spec.clock ?? Date.now;
    this.#wallNow = this.#clock();
    this.#watermarks = spec.timestamp === undefined ? null : new Watermarks<Tuple>(
      spec.lagMs,
      safe(() => [...context.getThisSources().keys()]) ?? null,
      safe(() => sendersOf(context)) ?? null,
      Math.max(IDLE_INTERVALS * this.#wmInterval, MIN_IDLE_MS),
      this.#wallNow,
    );
    this.#timers = spec.clock === undefined;
    this.#context = context;
    const sub = (spec.clock as Partial<ManualClock> | undefined)?.subscribe;
    if (typeof sub === "function") this.#unsubscribe = sub(() => this.#fromTimer());
  }

  /** A tuple arrives (or a tick): places it, fires what is due. */
  accept(t: Tuple): MaybePromise {
    // The usual case first, without a closure per tuple.
    return this.#busy === null && this.#failure === null ? this.#accept(t) : this.#whenIdle(() => this.#accept(t));
  }

  /**
   * Every input drained (trees still open): every window holding tuples
   * fires now and its tuples are acked.
   */
  drain(): MaybePromise {
    return this.#whenIdle(() => this.#drain());
  }

  /** End of input: stops the timers and fires every remaining window. */
  flush(): MaybePromise {
    return this.#whenIdle(() => {
      this.stop();
      const r = this.#drain(); // stopped: fires every window without arming a timer
      this.out.context = null;
      return r;
    });
  }

  /** Runs `step` once no window is executing; throws what a window executing on a timer threw. */
  #whenIdle(step: () => MaybePromise): MaybePromise {
    if (this.#failure !== null) throw this.#failure;
    return this.#busy === null ? step() : this.#busy.then(() => this.#whenIdle(step));
  }

  #accept(t: Tuple): MaybePromise {
    if (isTick(t)) {
      this.#onTime();
      return this.#runQueue();
    }
    const wm = this.#watermarks;
    if (wm !== null) {
      const ts = this.#extract!(t);
      if (typeof ts !== "number" || !Number.isFinite(ts)) {
        throw new TypeError(
          `windowed bolt: the timestamp of a tuple from "${t.getSourceComponent()}" is not a finite number: ${
            String(ts)
          }`,
        );
      }
      wm.track(`${t.getSourceComponent()}:${t.getSourceStreamId()}`, ts, t.getSourceTask(), this.#wallNow);
      if (wm.isLate(ts)) {
        this.#late++;
        if (this.#lateStream !== undefined) {
          this.#collector.emit(this.#lateStream, t, [t.getValues(), ts, t.getSourceComponent(), t.getSourceStreamId()]);
        }
        this.#collector.ack(t);
        return;
      }
      wm.hold(t, ts);
      this.#maybeWatermark(this.#wmInterval === 0);
    } else this.#settle(t, this.#clock());
    return this.#fire();
  }

  #drain(): MaybePromise {
    this.#watermarks?.advance((t, ts) => this.#settle(t, ts), Infinity);
    this.#manager.flush();
    return this.#fire();
  }

  /** Runs what fired, then sets the timer for what is next. */
  #fire(): MaybePromise {
    const r = this.#runQueue();
    this.#arm();
    return r;
  }

  /** Stops the timers and leaves the clock. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** What the windows hold, as plain data (for a checkpoint). */
  snapshot(): WindowsSnapshot {
    return {
      v: 1,
      seq: this.#seq,
      late: this.#late,
      manager: this.#manager.snapshot(encodeTuple),
      watermarks: this.#watermarks?.snapshot(encodeTuple) ?? null,
    };
  }

  /** Replaces what the windows hold with a {@link snapshot}'s contents (tuples of this topology's streams). */
  restore(snap: WindowsSnapshot): void {
    const decode: (saved: SavedTuple) => Tuple = tupleDecoder(this.#context.topology);
    this.#seq = snap.seq;
    this.#late = snap.late;
    this.#manager.restore(snap.manager, decode);
    if (snap.watermarks !== null && this.#watermarks !== null) {
      this.#watermarks.restore(snap.watermarks, decode, this.#clock());
    }
  }

  /** Adds a tuple at time `ts` (its arrival position, for count windows), firing the windows it closes. */
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
    const now = this.#clock();
    this.#wallNow = now;
    if (!force && now < this.#nextWatermarkAt) return;
    this.#nextWatermarkAt = now + this.#wmInterval;
    if (wm.advance((t, ts) => this.#settle(t, ts), wm.compute(now)) && this.#time) {
      this.#manager.advanceTo(wm.watermark);
    }
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
      const r = this.#execute(task.window);
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
    if (this.#stopped || !this.#timers) return;
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

/** Under ATLEAST_ONCE a tuple waits up to length + slide in a time window: that must fit in the message timeout. */
function checkTimeout(spec: { length: Extent; slide: Extent }, conf: TopologyConfig, id: string): void {
  const { length, slide } = spec;
  const mode = conf["topology.reliability.mode"] ?? "ATLEAST_ONCE";
  const timeoutMs = (conf["topology.message.timeout.secs"] ?? 30) * 1000;
  if (mode === "ATLEAST_ONCE" && length.kind === "time" && length.value + slide.value > timeoutMs) {
    throw new InvalidTopologyError(
      "BAD_WINDOW",
      `windowed bolt "${id}": window length + sliding interval (${
        length.value + slide.value
      } ms) exceeds topology.message.timeout.secs (${timeoutMs} ms); its tuples would time out`,
    );
  }
}

function toTupleWindow(w: FiredWindow<Tuple>, time: boolean): TupleWindowImpl {
  return new TupleWindowImpl(w.items, w.fresh, w.expired, time ? w.start : w.firstTs, time ? w.end : w.lastTs);
}

/**
 * `f()`, or undefined if it throws (a test's partial context).
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * const id = safe(() => context.getThisComponentId()) ?? "bolt";
 * ```
 */
/**
 * A sending task that has sent nothing for this many watermark intervals
 * (and at least {@link MIN_IDLE_MS}) is idle: it no longer holds the
 * watermark back (see watermarks.ts).
 */
const IDLE_INTERVALS = 5;
/** Least wall time before a silent sending task counts as idle, in ms. */
const MIN_IDLE_MS = 2000;

/** Each input stream ("component:stream") of this task's component → the tasks that send on it. */
function sendersOf(context: TopologyContext): Map<string, readonly number[]> {
  const c = context.topology.components.get(context.getThisComponentId());
  return new Map((c?.inputs ?? []).map((i) => [`${i.component}:${i.stream}`, context.getComponentTasks(i.component)]));
}

export function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
