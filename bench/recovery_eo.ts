/**
 * `recovery-eo`: what a fault costs an EFFECTIVELY_ONCE run over NATS, now
 * that a rollback runs in place (live containers reset their tasks from the
 * checkpoint without exiting; only a dead process starts again).
 *
 * Each repetition is one `runDistributed()` of testing/eo_faults.ts: `ardea
 * submit examples/word_count.ts --containers 2 --wait -- --mode
 * effectively-once --checkpoint-secs 0.1` on {@link LINES} generated lines
 * of 10 words, with one fault {@link FAULT_AT_MS} after the first committed
 * checkpoint:
 * - `eo-dist-kill9`: container 1 gets SIGKILL. `commit-ms`: kill → the
 *   first commit of a checkpoint triggered after it.
 * - `eo-dist-nats-restart`: the one nats-server stopped (SIGTERM) and
 *   started again on its port with its JetStream store, down
 *   {@link NATS_DOWN_MS}. `commit-ms`: server back (ready) → first commit.
 * - `eo-cluster-lose`: 3 servers, records and state with 3 replicas
 *   (`--replicas 3`); the server leading the most JetStream streams gets
 *   SIGKILL and stays down. `leader-ms`: kill → every stream (records
 *   `KV_ardea`, state `KV_ardea_state`, …) has a leader among the servers
 *   left (stream info polled every 50 ms; nats-server 2.9 waits a random
 *   4-9 s before electing one: not ours); `leader-to-commit-ms`: that moment
 *   → first commit (ours); `commit-ms`: kill → first commit.
 *
 * Every variant also reports `resumed-ms`: fault (the kill, the server's
 * return) → the first heartbeat of a new generation with executed > 0
 * (heartbeats are 1 s apart, so this is coarse), and the run's `--out` must
 * equal the true counts exactly, or the variant FAILs.
 *
 * `ARDEA_BENCH_VARIANTS=eo-dist-kill9,…` runs only the named variants;
 * `ARDEA_BENCH_VERBOSE=1` prints every run's process logs.
 */
import { env } from "../runtime/mod.ts";
import {
  type DistFault,
  type DistSchedule,
  type FaultOutcome,
  runDistributed,
  type RunResult,
} from "../testing/eo_faults.ts";
import { type Benchmark, type BenchOptions, type Goal, measure, type Variant } from "./harness.ts";

/** Lines of 10 words per run (~3 M words: a run takes 15-30 s on a loaded 2-core machine). */
const LINES = 300_000;
/**
 * Lines of `eo-cluster-lose`: the run must still process after the new
 * leaders (4-9 s after the kill) to commit again (~30-40 s a run).
 */
const CLUSTER_LINES = 1_500_000;
/** The fault comes this long after the first committed checkpoint (ms). */
const FAULT_AT_MS = 500;
/** How long the single nats-server stays down (ms). */
const NATS_DOWN_MS = 1000;
const CHECKPOINT_SECS = 0.1;

interface Rep {
  result: RunResult;
  outcome?: FaultOutcome;
}

function schedule(seed: number, cluster: boolean, fault: DistFault): DistSchedule {
  return {
    seed,
    cluster,
    lines: cluster ? CLUSTER_LINES : LINES,
    chaos: 0,
    checkpointSecs: CHECKPOINT_SECS,
    faults: [fault],
  };
}

async function runOnce(s: DistSchedule): Promise<Rep> {
  const result = await runDistributed(s);
  // One line per fault: what fired, how long each step took (and on a failure the log tail).
  console.log(result.report.split("\n").slice(1).join("\n"));
  if (env("ARDEA_BENCH_VERBOSE")) console.log(result.logs.join("\n"));
  return { result, outcome: result.outcomes[0] };
}

/** FAILs a run whose counts are not exact or whose fault did not fire or was not measured. */
function check(r: Rep, need: Array<keyof FaultOutcome>): void {
  if (!r.result.exact) throw new Error(`counts not exact: ${r.result.report.split("\n").slice(0, 6).join(" | ")}`);
  const o = r.outcome;
  if (o === undefined || !o.fired) throw new Error(`the fault did not fire (${o?.note ?? "no outcome"})`);
  for (const k of need) {
    if (o[k] === undefined) {
      throw new Error(`${k} not measured: ${r.result.report.split("\n").slice(0, 4).join(" | ")}`);
    }
  }
}

/** `upAt − at`: how long the fault itself took (server down, or the stop of a lost server). */
const faultSpan = (o: FaultOutcome) => (o.upAt ?? o.at) - o.at;

const benchmark: Benchmark = {
  name: "recovery-eo",
  description:
    "EFFECTIVELY_ONCE word count over NATS (2 containers): container kill -9, nats-server restart, a cluster losing a server: fault → next commit",
  async run(opts: BenchOptions) {
    const seed = opts.seed;
    const variants: Variant<Rep>[] = [
      {
        name: "eo-dist-kill9",
        description:
          `container 1 SIGKILLed ${FAULT_AT_MS} ms after the first commit; the others roll back in place, the master starts it again`,
        run: () => runOnce(schedule(seed, false, { kind: "kill", atMs: FAULT_AT_MS, container: 1 })),
        verify: (r) => check(r, ["commitMs"]),
        metrics: ({ outcome: o }) => ({
          "commit-ms": o!.commitMs!,
          ...(o!.generationResumedMs !== undefined ? { "resumed-ms": o!.generationResumedMs } : {}),
          ...(o!.resumedMs !== undefined ? { "victim-resumed-ms": o!.resumedMs } : {}),
        }),
      },
      {
        name: "eo-dist-nats-restart",
        description:
          `the nats-server stopped ${FAULT_AT_MS} ms after the first commit and started again ${NATS_DOWN_MS} ms later, JetStream store kept`,
        run: () =>
          runOnce(
            schedule(seed, false, { kind: "nats", atMs: FAULT_AT_MS, server: 0, downMs: NATS_DOWN_MS, kill9: false }),
          ),
        verify: (r) => check(r, ["commitMs"]),
        metrics: ({ outcome: o }) => ({
          "commit-ms": o!.commitMs!,
          "down-ms": faultSpan(o!),
          ...(o!.generationResumedMs !== undefined ? { "resumed-ms": o!.generationResumedMs } : {}),
        }),
      },
      {
        name: "eo-cluster-lose",
        description:
          `3 servers, --replicas 3; ${FAULT_AT_MS} ms after the first commit the server leading the most streams gets SIGKILL for good`,
        run: () =>
          runOnce(
            schedule(seed, true, {
              kind: "nats",
              atMs: FAULT_AT_MS,
              server: 0,
              downMs: 0,
              kill9: true,
              lose: true,
              leader: true,
            }),
          ),
        verify: (r) => check(r, ["commitMs", "leaderMs"]),
        metrics: ({ outcome: o }) => {
          const commit = o!.commitMs! + faultSpan(o!);
          return {
            "commit-ms": commit,
            "leader-ms": o!.leaderMs!,
            "leader-to-commit-ms": commit - o!.leaderMs!,
            ...(o!.generationResumedMs !== undefined ? { "resumed-ms": o!.generationResumedMs + faultSpan(o!) } : {}),
          };
        },
      },
    ];
    const only = env("ARDEA_BENCH_VARIANTS")?.split(",").map((s) => s.trim()).filter(Boolean);
    if (only !== undefined && only.length > 0) {
      const unknown = only.filter((n) => !variants.some((v) => v.name === n));
      if (unknown.length) {
        throw new Error(
          `ARDEA_BENCH_VARIANTS: unknown variant ${unknown.join(", ")} (${variants.map((v) => v.name).join(", ")})`,
        );
      }
    }
    const selected = only !== undefined && only.length > 0 ? variants.filter((v) => only.includes(v.name)) : variants;
    const goals: Goal[] = [
      { variant: "eo-dist-kill9", metric: "commit-ms", atMost: 2000, label: "kill → commit ≤2 s" },
      { variant: "eo-dist-nats-restart", metric: "commit-ms", atMost: 1000, label: "server back → commit ≤1 s" },
      { variant: "eo-cluster-lose", metric: "leader-to-commit-ms", atMost: 1000, label: "new leader → commit ≤1 s" },
    ];
    return await measure({
      unit: "ms",
      primary: "ms",
      unitsPerRun: 1,
      baseline: selected[0]!.name,
      variants: selected,
      metrics: [
        { name: "commit-ms", unit: "ms", lowerIsBetter: true },
        { name: "resumed-ms", unit: "ms", lowerIsBetter: true },
        { name: "victim-resumed-ms", unit: "ms", lowerIsBetter: true },
        { name: "down-ms", unit: "ms", lowerIsBetter: true },
        { name: "leader-ms", unit: "ms", lowerIsBetter: true },
        { name: "leader-to-commit-ms", unit: "ms", lowerIsBetter: true },
      ],
      goals: goals.filter((g) => selected.some((v) => v.name === g.variant)),
      input: {
        lines: LINES,
        "cluster lines": CLUSTER_LINES,
        "corpus seed": seed,
        "checkpoint": `${CHECKPOINT_SECS} s`,
        "fault at": `${FAULT_AT_MS} ms after the first commit`,
        "nats down": `${NATS_DOWN_MS} ms`,
      },
    }, opts);
  },
};

export default benchmark;
