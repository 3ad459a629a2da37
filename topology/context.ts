/**
 * `TopologyContext`: what a task knows about itself and its topology.
 *
 * @module
 */
import { ArdeaError } from "./errors.ts";
import type { Fields } from "./fields.ts";
import type { Counter, Gauge, Histogram, IMetric, Meter, MetricRegistry } from "./metrics.ts";
import type { StormTopology } from "./topology.ts";

/**
 * Storm's `TopologyContext`, one per task.
 *
 * @example
 * ```ts
 * import type { Counter, TopologyConfig } from "ardea";
 * class Split {
 *   words!: Counter;
 *   prepare(_conf: TopologyConfig, ctx: TopologyContext) {
 *     console.log(ctx.getThisComponentId(), ctx.getThisTaskIndex(), "of", ctx.getComponentTasks(ctx.getThisComponentId()).length);
 *     this.words = ctx.registerCounter("words");
 *   }
 * }
 * ```
 */
export class TopologyContext {
  constructor(
    readonly topology: StormTopology,
    readonly topologyId: string,
    readonly taskId: number,
    readonly containerIndex = 0,
    readonly taskContainer: (task: number) => number = () => 0,
    /** Where this task's user metrics go (the engine gives one; without it, registering throws). */
    readonly metrics: MetricRegistry | null = null,
    readonly codeDir: string = "",
  ) {}

  #registry(name: string): MetricRegistry {
    if (this.metrics === null) {
      throw new ArdeaError(
        "NO_METRICS",
        `metric "${name}": this TopologyContext was made outside the engine and keeps no metrics`,
      );
    }
    return this.metrics;
  }

  /**
   * A counter of this task (Storm 2). Registering a name again returns the
   * same counter, so a restarted instance counts on.
   *
   * @example
   * ```ts
   * declare const ctx: TopologyContext;
   * const words = ctx.registerCounter("words"); words.inc();
   * ```
   */
  registerCounter(name: string): Counter {
    return this.#registry(name).counter(name);
  }

  /**
   * A gauge of this task: `gauge` is read when the metrics are sampled; a
   * value that is not a finite number is left out.
   *
   * @example
   * ```ts
   * declare const ctx: TopologyContext;
   * const cache = new Map<string, string>();
   * ctx.registerGauge("cache-size", () => cache.size);
   * ```
   */
  registerGauge<T>(name: string, gauge: Gauge<T> | (() => T)): Gauge<T> | (() => T) {
    this.#registry(name).gauge(name, gauge);
    return gauge;
  }

  /**
   * A histogram of this task's values (hdr-histogram, 2 significant digits):
   * percentiles over the last minute and over the run.
   *
   * @example
   * ```ts
   * declare const ctx: TopologyContext;
   * const sizes = ctx.registerHistogram("batch-size"); sizes.update(12);
   * ```
   */
  registerHistogram(name: string): Histogram {
    return this.#registry(name).histogram(name);
  }

  /**
   * A meter of this task: a count and its rate per second over the last minute.
   *
   * @example
   * ```ts
   * declare const ctx: TopologyContext;
   * const hits = ctx.registerMeter("hits"); hits.mark();
   * ```
   */
  registerMeter(name: string): Meter {
    return this.#registry(name).meter(name);
  }

  /**
   * Storm 1's metric: `metric.getValueAndReset()` runs every
   * `timeBucketSizeInSecs` and its value (a number or an object of numbers)
   * is reported until the next bucket.
   *
   * @example
   * ```ts
   * import { CountMetric } from "ardea";
   * declare const ctx: TopologyContext;
   * const n = ctx.registerMetric("emits", new CountMetric(), 10); n.incr();
   * ```
   */
  registerMetric<M extends IMetric>(name: string, metric: M, timeBucketSizeInSecs: number): M {
    return this.#registry(name).metric(name, metric, timeBucketSizeInSecs);
  }

  /** Topology id (its name when embedded). */
  getStormId(): string {
    return this.topologyId;
  }
  /** This task's id (unique in the topology, from 1). */
  getThisTaskId(): number {
    return this.taskId;
  }
  /** This task's component id. */
  getThisComponentId(): string {
    return this.getComponentId(this.taskId);
  }
  /** This task's index among its component's tasks, from 0. */
  getThisTaskIndex(): number {
    return this.getComponentTasks(this.getThisComponentId()).indexOf(this.taskId);
  }
  /** Component id of task `taskId`. */
  getComponentId(taskId: number): string {
    const c = this.topology.taskToComponent.get(taskId);
    if (c === undefined) throw new RangeError(`no task ${taskId} in topology`);
    return c;
  }
  /** Task ids of a component, ascending. */
  getComponentTasks(componentId: string): readonly number[] {
    return this.topology.componentTasks.get(componentId) ?? [];
  }
  /** All component ids. */
  getComponentIds(): string[] {
    return [...this.topology.components.keys()];
  }
  /** Task id → component id for every task. */
  getTaskToComponent(): ReadonlyMap<number, string> {
    return this.topology.taskToComponent;
  }
  /** Stream ids this task's component declares. */
  getThisStreams(): string[] {
    return [...(this.topology.components.get(this.getThisComponentId())?.streams.keys() ?? [])];
  }
  /** Declared fields of a component's stream. */
  getComponentOutputFields(componentId: string, streamId: string): Fields {
    const s = this.topology.components.get(componentId)?.streams.get(streamId);
    if (!s) throw new RangeError(`component "${componentId}" declares no stream "${streamId}"`);
    return s.fields;
  }
  /** Streams this component subscribes to: "component:stream" → grouping type. */
  getThisSources(): Map<string, string> {
    const c = this.topology.components.get(this.getThisComponentId());
    return new Map((c?.inputs ?? []).map((i) => [`${i.component}:${i.stream}`, i.grouping.type]));
  }
  /** Subscribers of this component: stream → component ids. */
  getThisTargets(): Map<string, string[]> {
    const me = this.getThisComponentId();
    const out = new Map<string, string[]>();
    for (const c of this.topology.components.values()) {
      for (const i of c.inputs) {
        if (i.component === me) out.set(i.stream, [...(out.get(i.stream) ?? []), c.id]);
      }
    }
    return out;
  }
  /**
   * Storm's code directory: the folder of the files that travel with the
   * topology (its `resources/`), where shell components run their commands
   * (engine/code_dir.ts `codeDirOf` gives the rule). An empty string when
   * the engine knows none (a context made by hand): the current directory.
   *
   * @example
   * ```ts
   * declare const context: TopologyContext;
   * const cwd = context.getCodeDir() || ".";
   * ```
   */
  getCodeDir(): string {
    return this.codeDir;
  }
  /** Index of the container (process) this task runs in. */
  getThisContainer(): number {
    return this.containerIndex;
  }
  /** Container index of any task. */
  getTaskContainer(taskId: number): number {
    return this.taskContainer(taskId);
  }
}
