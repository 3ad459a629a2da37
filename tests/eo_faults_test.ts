// timeout: 600
// EFFECTIVELY_ONCE under seeded random faults: word count on 2 containers
// over NATS with container kill -9, NATS server restarts (one server, or
// one of a 3-server cluster, restarted or lost), frames lost without a
// disconnect, a container frozen (SIGSTOP) and thawed, and bolt throws; embedded word count killed
// with SIGKILL and restarted from its state folder. Every run's counts must
// be exactly the truth. CI runs a few seeds; for hundreds:
//   ARDEA_EO_DIST_SEEDS=200 ARDEA_EO_EMB_SEEDS=200 ARDEA_TEST_TIMEOUT=20000 npm test -- eo_faults --node
// A failure prints its seed and schedule; rerun it alone with
//   ARDEA_EO_SEED_BASE=<seed> ARDEA_EO_DIST_SEEDS=1 ARDEA_EO_EMB_SEEDS=0 npm test -- eo_faults --node
// (same ARDEA_EO_FAULTS, which picks the kinds: kill,nats,gap,stall,point by default;
// point: a container kills itself at a named fault point of its state)
// (ARDEA_EO_VERBOSE=1 prints every run's logs.)
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { env } from "../runtime/mod.ts";
import {
  type DistFault,
  distSchedule,
  embeddedSchedule,
  runDistributed,
  runEmbedded,
  type RunResult,
  summarize,
} from "../testing/eo_faults.ts";

const base = Number(env("ARDEA_EO_SEED_BASE") ?? 1);
const distSeeds = Number(env("ARDEA_EO_DIST_SEEDS") ?? 3);
const embSeeds = Number(env("ARDEA_EO_EMB_SEEDS") ?? 2);
/** Fault kinds of the distributed runs (e.g. ARDEA_EO_FAULTS=nats for one kind). */
const kinds = (env("ARDEA_EO_FAULTS") ?? "kill,nats,gap,stall,point").split(",")
  .filter((k): k is DistFault["kind"] => ["kill", "nats", "gap", "stall", "point"].includes(k));

async function seeded(n: number, run: (seed: number) => Promise<RunResult>): Promise<void> {
  const results: RunResult[] = [];
  for (let seed = base; seed < base + n; seed++) {
    const r = await run(seed);
    results.push(r);
    console.log(`${r.exact ? "exact" : "WRONG"} in ${(r.durationMs / 1000).toFixed(1)} s — ${r.report}`);
    if (env("ARDEA_EO_VERBOSE")) console.log(r.logs.join("\n"));
  }
  console.log(summarize(results));
  const wrong = results.filter((r) => !r.exact);
  assert.equal(wrong.map((r) => r.seed), [], wrong.map((r) => r.report).join("\n\n"));
}

test(`distributed: seeded kill -9 / NATS restart / bolt-throw schedules are exact (ARDEA_EO_DIST_SEEDS=${distSeeds})`, () =>
  seeded(distSeeds, (seed) => runDistributed(distSchedule(seed, kinds))));

test(`embedded: seeded kill -9 and restart from the state folder are exact (ARDEA_EO_EMB_SEEDS=${embSeeds})`, () =>
  seeded(embSeeds, (seed) => runEmbedded(embeddedSchedule(seed))));

test.run();
