/**
 * A container re-runs the topology script and rebuilds the topology (its
 * functions never travel); a script whose graph depends on something that
 * differs per process (an environment variable, a file, the clock) builds
 * another topology there than at submit. This compares the two logical
 * plans (metrics/plan.ts) and names the first difference.
 *
 * @module
 */
import type { TopologyRecord } from "../../transport/wire/mod.ts";

/** A logical plan as the record holds it (metrics/plan.ts `LogicalPlan` is one). */
type Plan = NonNullable<TopologyRecord["plan"]>;
type ComponentPlan = Plan["components"][number];
type GroupingJson = ComponentPlan["inputs"][number]["grouping"];

const grouping = (g: GroupingJson): string =>
  g.type + (g.fields !== undefined ? `(${g.fields.join(", ")})` : "") + (g.name !== undefined ? ` ${g.name}` : "");

const stream = (s: ComponentPlan["streams"][number]): string =>
  `${s.direct ? "direct " : ""}stream "${s.id}" [${s.fields.join(", ")}]`;

const input = (i: ComponentPlan["inputs"][number]): string =>
  `a subscription to "${i.component}" stream "${i.stream}" by ${grouping(i.grouping)}`;

/** "x here, y at submit", or "x missing here" / "x only here" for a list member. */
function listDifference<T>(
  what: string,
  here: readonly T[],
  atSubmit: readonly T[],
  show: (x: T) => string,
): string | null {
  const h = here.map(show);
  const s = atSubmit.map(show);
  const missing = s.find((x) => !h.includes(x));
  if (missing !== undefined) return `${what} has no ${missing} here (it had at submit)`;
  const extra = h.find((x) => !s.includes(x));
  if (extra !== undefined) return `${what} has ${extra} here, not at submit`;
  return null;
}

/** The first difference between one component here and at submit, or null. */
function componentDifference(here: ComponentPlan, atSubmit: ComponentPlan): string | null {
  const what = `${atSubmit.kind} "${atSubmit.id}"`;
  if (here.kind !== atSubmit.kind) return `"${here.id}" is a ${here.kind} here, a ${atSubmit.kind} at submit`;
  if (here.parallelism !== atSubmit.parallelism) {
    return `${what} has ${here.parallelism} tasks here, ${atSubmit.parallelism} at submit`;
  }
  return listDifference(what, here.streams, atSubmit.streams, stream) ??
    listDifference(what, here.inputs, atSubmit.inputs, input);
}

/**
 * The first difference between the plan a container's run of the script
 * built (`here`) and the one recorded at submit, in words, or null when
 * they are the same graph: components and their kinds, parallelism and
 * task ids, declared streams and their fields, subscriptions and their
 * groupings. Component configuration is not compared (it may hold paths
 * or times that legitimately differ).
 *
 * @example
 * ```ts
 * import type { LogicalPlan } from "../../metrics/plan.ts";
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * declare const here: LogicalPlan, rec: TopologyRecord;
 * const recorded = rec.plan!;
 * planDifference(here, recorded); // 'bolt "count" has 3 tasks here, 2 at submit', or null
 * ```
 */
export function planDifference(here: Plan, atSubmit: Plan): string | null {
  const mine = new Map(here.components.map((c) => [c.id, c]));
  const theirs = new Set(atSubmit.components.map((c) => c.id));
  const missing = atSubmit.components.find((c) => !mine.has(c.id));
  if (missing !== undefined) return `${missing.kind} "${missing.id}" missing here`;
  const extra = here.components.find((c) => !theirs.has(c.id));
  if (extra !== undefined) return `${extra.kind} "${extra.id}" is here but was not at submit`;
  for (const c of atSubmit.components) {
    const d = componentDifference(mine.get(c.id)!, c);
    if (d !== null) return d;
  }
  // Same components, kinds and parallelism: task ids differ only if numbered otherwise.
  for (const c of atSubmit.components) {
    const h = mine.get(c.id)!;
    if (h.tasks.join() !== c.tasks.join()) {
      return `${c.kind} "${c.id}" has tasks [${h.tasks}] here, [${c.tasks}] at submit`;
    }
  }
  return null;
}
