/**
 * `TopologyContext`: what a task knows about itself and its topology.
 *
 * @module
 */
import type { Fields } from "./fields.ts";
import type { StormTopology } from "./topology.ts";

/**
 * Storm's `TopologyContext`, one per task.
 *
 * @example
 * ```ts
 * prepare(_conf, ctx: TopologyContext) {
 *   console.log(ctx.getThisComponentId(), ctx.getThisTaskIndex(), "of", ctx.getComponentTasks(ctx.getThisComponentId()).length);
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
  ) {}

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
  /** Index of the container (process) this task runs in. */
  getThisContainer(): number {
    return this.containerIndex;
  }
  /** Container index of any task. */
  getTaskContainer(taskId: number): number {
    return this.taskContainer(taskId);
  }
}
