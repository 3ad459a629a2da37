/**
 * Stream groupings as declared on a bolt's inputs. The engine turns each into
 * a chooser (`engine/groupings.ts`); here they are plain descriptions.
 *
 * @module
 */
import type { Fields } from "./fields.ts";
import type { TopologyContext } from "./context.ts";

/**
 * Storm's `CustomStreamGrouping`: chooses target tasks for each tuple.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * class FirstLetter implements CustomStreamGrouping {
 *   targets: readonly number[] = [];
 *   prepare(_ctx: TopologyContext, _stream: unknown, targets: readonly number[]) { this.targets = targets; }
 *   chooseTasks(_task: number, values: readonly unknown[]) { return [this.targets[String(values[0]).charCodeAt(0) % this.targets.length]!]; }
 * }
 * ```
 */
export interface CustomStreamGrouping {
  prepare(
    context: TopologyContext,
    stream: { componentId: string; streamId: string },
    targetTasks: readonly number[],
  ): void;
  chooseTasks(taskId: number, values: readonly unknown[]): readonly number[];
}

/** One grouping, as declared. */
export type Grouping =
  | { readonly type: "shuffle" }
  | { readonly type: "fields"; readonly fields: Fields }
  | { readonly type: "all" }
  | { readonly type: "global" }
  | { readonly type: "direct" }
  | { readonly type: "none" }
  | { readonly type: "localOrShuffle" }
  | { readonly type: "partialKey"; readonly fields: Fields }
  | { readonly type: "custom"; readonly grouping: CustomStreamGrouping };

/** A bolt's subscription to one stream of one component. */
export interface InputDecl {
  readonly component: string;
  readonly stream: string;
  readonly grouping: Grouping;
}
