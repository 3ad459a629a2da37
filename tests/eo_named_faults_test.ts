// timeout: 600
// EFFECTIVELY_ONCE killed at named fault points (runtime/fault_points.ts,
// ARDEA_FAULT_AT): embedded, a process killed at each point of its state
// folder (before a save, between saves, during a commit, right after it,
// during a prune, during the resume, twice in a row) and resumed; over NATS,
// a container killed between its saves and then during the resume; under
// the pool scheduler, the master killed during a commit and right after one
// and replaced by a worker. Each schedule checks that its point was
// reached, and every run's counts must be exactly the truth.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  type EmbeddedFault,
  runDistributed,
  runEmbedded,
  runPoolMasterKill,
  type RunResult,
} from "../testing/eo_faults.ts";

/**
 * Every named fault point of the state folder (runtime/fault_points.ts),
 * each process killed exactly there and the next resumed from what it left;
 * the harness fails a schedule whose point was not reached.
 */
const NAMED: Array<{ what: string; chaos?: number; faults: string[] }> = [
  { what: "before the first commit (a save of checkpoint 1)", faults: ["save:1"] },
  { what: "between the saves of a checkpoint", faults: ["saved:3"] },
  { what: "during a commit (every state saved, no commit record)", faults: ["commit:2"] },
  { what: "right after a commit (before the run hears of it)", faults: ["committed:2"] },
  { what: "during a prune of old checkpoints", faults: ["prune:1"] },
  { what: "during the resume itself (restoring the states)", faults: ["committed:1", "restore:1"] },
  { what: "twice in a row, with bolt throws", chaos: 0.002, faults: ["commit:3", "saved:2"] },
];

test("embedded: a kill at each named fault point, then a resume, is exact", async () => {
  const results: RunResult[] = [];
  for (const [i, n] of NAMED.entries()) {
    const faults: EmbeddedFault[] = n.faults.map((at) => ({ kind: "point", at }));
    const r = await runEmbedded({ seed: 9000 + i, lines: 300_000, chaos: n.chaos ?? 0, faults });
    console.log(`${r.exact ? "exact" : "WRONG"} in ${(r.durationMs / 1000).toFixed(1)} s — ${n.what}: ${r.report}`);
    results.push(r);
  }
  const wrong = results.filter((r) => !r.exact);
  assert.equal(wrong.map((r) => r.seed), [], wrong.map((r) => r.report).join("\n\n"));
  assert.ok(results.every((r) => r.outcomes.every((o) => o.fired)), "every fault point fired");
});

test("distributed: a container killed at named points (between its saves, then during the resume of every container) is exact", async () => {
  const r = await runDistributed({
    seed: 9100,
    cluster: false,
    lines: 300_000,
    chaos: 0,
    checkpointSecs: 0.1,
    faults: [{ kind: "point", atMs: 0, at: "saved:3" }, { kind: "point", atMs: 0, at: "restore:1" }],
  });
  console.log(`${r.exact ? "exact" : "WRONG"} in ${(r.durationMs / 1000).toFixed(1)} s — ${r.report}`);
  assert.ok(r.exact, r.report);
  assert.ok(r.outcomes.every((o) => o.fired), `every fault point fired: ${r.report}`);
});

test("distributed, pool scheduler: the master killed during a commit and right after one is replaced by a worker; counts exact", async () => {
  for (const [i, at] of ["commit:3", "committed:2"].entries()) {
    const r = await runPoolMasterKill(at, 9200 + i);
    console.log(`${r.exact ? "exact" : "WRONG"} in ${(r.durationMs / 1000).toFixed(1)} s — ${r.report}`);
    assert.ok(r.exact, r.report);
  }
});

test.run();
