/**
 * Storm's `WindowedBoltExecutor`: the rich bolt the engine runs for a
 * windowed bolt. `TopologyBuilder.setBolt` wraps each task's windowed bolt
 * in one ({@link boltForTask}); the engine's `execute(tuple)` reaches the
 * executor, whose windows ({@link TaskWindows}) call the bolt's
 * `execute(window)`.
 *
 * Bounded topologies: when every input has drained (the first phase of end
 * of input: spouts sent all their tuples, trees still open), every window
 * holding tuples fires and its tuples are acked, so the trees complete; a
 * replay arriving after that starts new windows, fired at the next drain.
 * `finish()` fires what is left, then the bolt's `finish`.
 *
 * EFFECTIVELY_ONCE: the executor is a stateful component. The windows
 * (their tuples, positions, watermark) are part of the task's checkpointed
 * state under {@link WINDOWS_STATE_KEY}, written at `preSave` and read back
 * at `prepare`, so a rollback resumes with exactly the windows of the last
 * checkpoint; a bolt with an `initState` of its own gets the same state
 * without that key.
 *
 * @module
 */
import type { OutputCollector } from "../collectors.ts";
import type { IRichBolt, MaybePromise } from "../components.ts";
import type { TopologyConfig } from "../config.ts";
import type { TopologyContext } from "../context.ts";
import type { OutputFieldsDeclarer } from "../declarer.ts";
import type { IStatefulComponent, KeyValueState } from "../stateful.ts";
import type { Tuple } from "../tuple.ts";
import { isPromise, safe, TaskWindows } from "./task_windows.ts";
import { type BaseWindowedBolt, checkSpec, isWindowedBolt, LATE_TUPLE_FIELDS } from "./windowed_bolt.ts";
import { savedWindows, WINDOWS_STATE_KEY, type WindowsSnapshot, WithoutWindows } from "./windows_state.ts";

/** What a windowed bolt may implement beyond {@link BaseWindowedBolt}: state of its own (EFFECTIVELY_ONCE). */
type WindowedBolt = BaseWindowedBolt & Partial<IStatefulComponent>;

/**
 * Runs one task of a windowed bolt: what the engine calls (a rich bolt, and
 * a stateful component) on one side, the bolt's window lifecycle on the
 * other. The windows' state is the executor's; {@link snapshot} and
 * {@link restore} are its typed face.
 *
 * @example
 * ```ts
 * import { BaseWindowedBolt, Count, type OutputCollector, type OutputFieldsDeclarer, type TopologyConfig, type TopologyContext, type TupleWindow } from "ardea";
 * declare const conf: TopologyConfig;
 * declare const context: TopologyContext;
 * declare const collector: OutputCollector;
 * declare class Sum extends BaseWindowedBolt {
 *   execute(w: TupleWindow): void;
 *   declareOutputFields(d: OutputFieldsDeclarer): void;
 * }
 * const x = new WindowedBoltExecutor(new Sum().withTumblingWindow(Count.of(10)));
 * x.prepare(conf, context, collector); // then the engine calls x.execute(tuple) per tuple
 * ```
 */
export class WindowedBoltExecutor implements IRichBolt, IStatefulComponent {
  /** The user's bolt. */
  readonly bolt: WindowedBolt;
  #windows: TaskWindows | null = null;
  #state: KeyValueState | null = null;

  constructor(bolt: BaseWindowedBolt) {
    this.bolt = bolt;
  }

  /** EFFECTIVELY_ONCE, before `prepare`: the task's state (the windows' and the bolt's own). */
  initState(state: KeyValueState): void {
    this.#state = state;
    this.bolt.initState?.(new WithoutWindows(state));
  }

  /** Starts the windows (from the state's saved windows, if any), then the bolt's `prepare`. */
  prepare(conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): MaybePromise {
    this.#windows?.stop();
    const id = safe(() => context.getThisComponentId()) ?? this.bolt.constructor.name;
    const windows = new TaskWindows(
      this.bolt.getWindowSpec(),
      id,
      conf,
      context,
      collector,
      (w) => this.bolt.execute(w),
    );
    this.#windows = windows;
    const saved = this.#state === null ? undefined : savedWindows(this.#state);
    if (saved !== undefined) this.restore(saved);
    return this.bolt.prepare(conf, context, windows.out);
  }

  execute(input: Tuple): MaybePromise {
    return this.#started().accept(input);
  }

  /** Every input drained, trees still open: every window holding tuples fires. */
  drain(): MaybePromise {
    return this.#started().drain();
  }

  /** End of input: every remaining window fires, then the bolt's `finish`. */
  finish(): MaybePromise {
    const r = this.#started().flush();
    return isPromise(r) ? r.then(() => this.bolt.finish()) : this.bolt.finish();
  }

  cleanup(): MaybePromise {
    this.#windows?.stop();
    return this.bolt.cleanup();
  }

  /** The bolt's streams, and the late-tuple stream if it has one. */
  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    const spec = this.bolt.getWindowSpec();
    checkSpec(spec, `(${this.bolt.constructor.name})`);
    this.bolt.declareOutputFields(declarer);
    if (spec.lateStream !== undefined) declarer.declareStream(spec.lateStream, [...LATE_TUPLE_FIELDS]);
  }

  getComponentConfiguration(): Record<string, unknown> | null {
    return this.bolt.getComponentConfiguration();
  }

  /** Before a checkpoint saves the state: the windows go into it, then the bolt's `preSave`. */
  preSave(checkpointId: number): void {
    const snap = this.snapshot();
    if (snap !== null) this.#state?.put(WINDOWS_STATE_KEY, snap);
    this.bolt.preSave?.(checkpointId);
  }

  postSave(checkpointId: number): void {
    this.bolt.postSave?.(checkpointId);
  }

  preRestore(): void {
    this.bolt.preRestore?.();
  }

  /** What the windows hold now, as plain data; null before `prepare`. */
  snapshot(): WindowsSnapshot | null {
    return this.#windows?.snapshot() ?? null;
  }

  /** Replaces what the windows hold (after `prepare`) with a {@link snapshot}'s contents. */
  restore(snap: WindowsSnapshot): void {
    this.#started().restore(snap);
  }

  #started(): TaskWindows {
    const w = this.#windows;
    if (w === null) throw new Error("windowed bolt used before prepare()");
    return w;
  }
}

/**
 * The object the engine runs for one task of a bolt: a windowed bolt
 * wrapped in a {@link WindowedBoltExecutor}, any other bolt as it is.
 *
 * @example
 * ```ts
 * import { BaseWindowedBolt, Count, type OutputFieldsDeclarer, type TupleWindow } from "ardea";
 * import { componentFactory } from "../instantiate.ts";
 * declare class Sum extends BaseWindowedBolt {
 *   execute(w: TupleWindow): void;
 *   declareOutputFields(d: OutputFieldsDeclarer): void;
 * }
 * const make = () => boltForTask(componentFactory(new Sum().withTumblingWindow(Count.of(10)))());
 * ```
 */
export function boltForTask<B>(bolt: B): B | WindowedBoltExecutor {
  return isWindowedBolt(bolt) ? new WindowedBoltExecutor(bolt) : bolt;
}
