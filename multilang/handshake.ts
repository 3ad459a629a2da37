/**
 * The multilang handshake's setup message: the configuration, the pid
 * directory and the task's context, shaped as Storm sends it (Storm 0.10's
 * context: task→component, taskid, componentid, streams and groupings).
 *
 * @module
 */
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { Grouping } from "../topology/grouping.ts";

/** Storm's name of a grouping type, as its context shows it. */
const GROUPING_NAMES: Readonly<Record<Grouping["type"], string>> = {
  shuffle: "SHUFFLE",
  fields: "FIELDS",
  all: "ALL",
  global: "GLOBAL",
  direct: "DIRECT",
  none: "NONE",
  localOrShuffle: "LOCAL_OR_SHUFFLE",
  partialKey: "PARTIAL_KEY",
  custom: "CUSTOM_OBJECT",
};

function groupingOf(g: Grouping): Record<string, unknown> {
  const out: Record<string, unknown> = { type: GROUPING_NAMES[g.type] };
  if (g.type === "fields" || g.type === "partialKey") out.fields = g.fields.toList();
  return out;
}

/** Configuration values a subprocess can read: JSON-safe (functions and symbols left out, bigints as numbers). */
function plainConfig(conf: TopologyConfig): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(conf, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
  ) as Record<string, unknown>;
}

/**
 * The setup message of task `context.getThisTaskId()`.
 *
 * @example
 * ```ts
 * import type { TopologyConfig, TopologyContext } from "ardea";
 * declare const conf: TopologyConfig, context: TopologyContext;
 * const setup = setupMessage(conf, context, "/tmp/ardea-pids-x");
 * setup.context.taskid; // this task's id
 * ```
 */
export function setupMessage(
  conf: TopologyConfig,
  context: TopologyContext,
  pidDir: string,
): { conf: Record<string, unknown>; pidDir: string; context: Record<string, unknown> & { taskid: number } } {
  const me = context.getThisComponentId();
  const taskToComponent: Record<string, string> = {};
  for (const [task, component] of context.getTaskToComponent()) taskToComponent[String(task)] = component;
  const topology = context.topology;
  const streamTargets: Record<string, Record<string, unknown>> = {};
  const sources: Record<string, Record<string, unknown>> = {};
  const sourceFields: Record<string, Record<string, string[]>> = {};
  for (const c of topology.components.values()) {
    for (const input of c.inputs) {
      if (input.component === me) (streamTargets[input.stream] ??= {})[c.id] = groupingOf(input.grouping);
      if (c.id === me) {
        (sources[input.component] ??= {})[input.stream] = groupingOf(input.grouping);
        const decl = topology.components.get(input.component)?.streams.get(input.stream);
        if (decl !== undefined) (sourceFields[input.component] ??= {})[input.stream] = decl.fields.toList();
      }
    }
  }
  const outputFields: Record<string, string[]> = {};
  for (const [id, decl] of topology.components.get(me)?.streams ?? []) outputFields[id] = decl.fields.toList();
  return {
    conf: plainConfig(conf),
    pidDir,
    context: {
      "task->component": taskToComponent,
      taskid: context.getThisTaskId(),
      componentid: me,
      "stream->target->grouping": streamTargets,
      streams: Object.keys(outputFields),
      "stream->outputfields": outputFields,
      "source->stream->grouping": sources,
      "source->stream->fields": sourceFields,
    },
  };
}
