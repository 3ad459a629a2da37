// planDifference (cluster/container_process/plan_check.ts): the first
// difference between the topology a container's run of the script built
// and the plan recorded at submit, in words; none for the same graph.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { bolt, Fields, iterableSpout, TopologyBuilder } from "../mod.ts";
import { logicalPlan } from "../metrics/plan.ts";
import { planDifference } from "../cluster/container_process/plan_check.ts";

interface Shape {
  splitTasks?: number;
  splitFields?: string[];
  countGrouping?: "fields" | "shuffle";
  extraBolt?: boolean;
  countIsSpout?: boolean;
}

/** A word count whose shape `s` varies. */
function plan(s: Shape = {}) {
  const b = new TopologyBuilder();
  b.setSpout("lines", iterableSpout(() => ["a b"], { fields: ["line"] }));
  const split = () => b.setBolt("split", bolt(() => {}, { fields: s.splitFields ?? ["word"] }), s.splitTasks ?? 2);
  const count = () => {
    if (s.countIsSpout) return void b.setSpout("count", iterableSpout(() => [1], { fields: ["n"] }));
    const d = b.setBolt("count", bolt(() => {}), 2);
    if (s.countGrouping === "shuffle") d.shuffleGrouping("split");
    else d.fieldsGrouping("split", new Fields("word"));
  };
  split().shuffleGrouping("lines");
  count();
  if (s.extraBolt) b.setBolt("audit", bolt(() => {})).shuffleGrouping("split");
  return logicalPlan(b.createTopology());
}

test("the same graph: no difference", () => {
  assert.is(planDifference(plan(), plan()), null);
});

test("each kind of difference is named, here against at submit", () => {
  assert.is(planDifference(plan({ splitTasks: 3 }), plan()), 'bolt "split" has 3 tasks here, 2 at submit');
  assert.is(planDifference(plan(), plan({ extraBolt: true })), 'bolt "audit" missing here');
  assert.is(planDifference(plan({ extraBolt: true }), plan()), 'bolt "audit" is here but was not at submit');
  assert.is(planDifference(plan({ countIsSpout: true }), plan()), '"count" is a spout here, a bolt at submit');
  assert.is(
    planDifference(plan({ splitFields: ["word", "n"] }), plan()),
    'bolt "split": stream "default" has fields [word,n] here, fields [word] at submit',
  );
  assert.is(
    planDifference(plan({ countGrouping: "shuffle" }), plan()),
    'bolt "count": its subscription to "split" stream "default" has grouping shuffle here, grouping fields(word) at submit',
  );
  // Same components, kinds and parallelism, other task ids (the builder numbers by id; a record could differ).
  const renumbered = plan();
  renumbered.components.find((c) => c.id === "count")!.tasks.reverse();
  assert.is(planDifference(renumbered, plan()), 'bolt "count" has tasks [2,1] here, [1,2] at submit');
});

test.run();
