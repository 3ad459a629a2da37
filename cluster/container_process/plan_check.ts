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

// A custom grouping's class name is not compared: the containers run the
// bundle, where esbuild may have renamed the class (Foo2), not the source.
const grouping = (g: GroupingJson): string => g.type + (g.fields !== undefined ? `(${g.fields.join(", ")})` : "");

const fields = (s: ComponentPlan["streams"][number]): string => `${s.direct ? "direct, " : ""}fields [${s.fields}]`;

/**
 * The first member of `atSubmit` missing `here` or the other way round (by
 * `id`), or whose `show` differs: "x missing here", "x here only",
 * "x has a here, b at submit".
 */
function listDifference<T>(
  what: string,
  here: readonly T[],
  atSubmit: readonly T[],
  id: (x: T) => string,
  show: (x: T) => string,
): string | null {
  const mine = new Map(here.map((x) => [id(x), x]));
  for (const x of atSubmit) {
    const h = mine.get(id(x));
    if (h === undefined) return `${what}: ${id(x)} missing here`;
    if (show(h) !== show(x)) return `${what}: ${id(x)} has ${show(h)} here, ${show(x)} at submit`;
  }
  const theirs = new Set(atSubmit.map(id));
  const extra = here.find((x) => !theirs.has(id(x)));
  return extra === undefined ? null : `${what}: ${id(extra)} is here but was not at submit`;
}

/** The first difference between one component here and at submit, or null. */
function componentDifference(here: ComponentPlan, atSubmit: ComponentPlan): string | null {
  const what = `${atSubmit.kind} "${atSubmit.id}"`;
  if (here.kind !== atSubmit.kind) return `"${here.id}" is a ${here.kind} here, a ${atSubmit.kind} at submit`;
  if (here.parallelism !== atSubmit.parallelism) {
    return `${what} has ${here.parallelism} tasks here, ${atSubmit.parallelism} at submit`;
  }
  return listDifference(what, here.streams, atSubmit.streams, (s) => `stream "${s.id}"`, fields) ??
    listDifference(
      what,
      here.inputs,
      atSubmit.inputs,
      (i) => `its subscription to "${i.component}" stream "${i.stream}"`,
      (i) => `grouping ${grouping(i.grouping)}`,
    );
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
