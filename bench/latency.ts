/**
 * `latency`: complete latency of ATLEAST_ONCE tuple trees, embedded (and over
 * NATS, see below), at about
 * half of the maximum throughput, against the round trip of a raw nats.js
 * request/reply (another process answers, through a local nats-server).
 *
 * Topology: spout ──shuffle──▶ a ──shuffle──▶ b, parallelism 1 each, both
 * bolts anchor and ack. The spout timestamps every tree with
 * performance.now() at emit and takes the difference in its own ack(): the
 * latency a user's spout sees. Latencies go into a histogram of 10 µs
 * buckets (last bucket: ≥ 1 s).
 *
 * Before measuring, an unpaced run of {@link CALIBRATION_TREES} trees (after a
 * warm-up one) finds the maximum rate; the paced variant then emits at half of it (a spout that
 * has nothing due emits nothing, so the engine sleeps it ~1 ms: trees leave
 * in 1 ms bursts, as with any Storm-style paced spout).
 *
 * Variant "ardea-atleast-nats-50%": the same paced chain (a and b with
 * parallelism 2, so about half of the hops cross NATS) submitted as
 * bench/fixtures/latency_topology.ts with `ardea submit … --containers 2
 * --wait` on the same nats-server, at a fixed {@link NATS_RATE} trees/s; the
 * spout's container prints one `LATENCY {json}` line (exact quantiles over the
 * trees after a half-second warm-up), parsed from submit's output.
 */
import { submit, TopologyBuilder } from "../mod.ts";
import { PacedSpout, type PaceSink, PassBolt } from "./latency_components.ts";
import { connect, type NatsConnection } from "nats";
import { ardeaRoot, type ChildHandle, scriptCommand, spawnProcess } from "../runtime/mod.ts";
import { join } from "node:path";
import process from "node:process";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { withinOrNull } from "../testing/wait.ts";
import { type Benchmark, type BenchOptions, measure, type Variant } from "./harness.ts";
import { submitRun } from "./dist.ts";
import { KV_BUCKET } from "../transport/wire/mod.ts";

/** Trees of the calibration (unpaced) run. */
export const CALIBRATION_TREES = 200_000;
/** Seconds a paced run lasts (its tree count is rate × this, within bounds). */
const PACED_SECONDS = 3;
const MIN_TREES = 20_000;
const MAX_TREES = 400_000;
/** Sequential request/reply round trips per baseline run. */
const ROUND_TRIPS = 10_000;
/** Fraction of the calibrated maximum rate the paced variant runs at. */
const LOAD = 0.5;
/** Trees/s of the NATS variant (fixed, modest: about half of what 2 containers sustain here). */
const NATS_RATE = 20_000;
/** Seconds of a NATS run (its tree count is NATS_RATE × this). */
const NATS_SECONDS = 3;
/** Topology script and name of the NATS variant. */
const NATS_SCRIPT = "bench/fixtures/latency_topology.ts";
const NATS_TOPOLOGY = "bench-latency-nats";
/** Upper bound of one NATS run (ms). */
const NATS_TIMEOUT_MS = 120_000;

const BUCKET_US = 10;
const BUCKETS = 100_000; // 10 µs × 100 000 = 1 s

/** A latency histogram: 10 µs buckets, the last one open-ended. */
export class Histogram {
  readonly counts = new Uint32Array(BUCKETS);
  n = 0;
  max = 0;
  sum = 0;
  record(ms: number): void {
    const b = Math.min(BUCKETS - 1, Math.floor((ms * 1000) / BUCKET_US));
    this.counts[b]!++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  /** Upper edge of the bucket holding quantile q (0 < q ≤ 1), in ms. */
  quantile(q: number): number {
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return b === BUCKETS - 1 ? this.max : ((b + 1) * BUCKET_US) / 1000;
    }
    return this.max;
  }
}

interface TreeRun {
  trees: number;
  acked: number;
  failed: number;
  /** First emit → last ack (ms). */
  activeMs: number;
  hist: Histogram;
  /** Trees/s asked for (0: unpaced). */
  target: number;
}

/** One embedded ATLEAST_ONCE run of `trees` trees at `rate` trees/s (0: as fast as it goes). */
export async function runTrees(trees: number, rate: number): Promise<TreeRun> {
  const run: TreeRun = { trees, acked: 0, failed: 0, activeMs: 0, hist: new Histogram(), target: rate };
  const b = new TopologyBuilder();
  const sink: PaceSink = {
    acked(_i, ms, at) {
      run.hist.record(ms);
      run.acked++;
      run.activeMs = at;
    },
    failed() {
      run.failed++;
    },
  };
  b.setSpout("spout", () => new PacedSpout(trees, rate, sink), 1);
  b.setBolt("a", () => new PassBolt(false), 1).shuffleGrouping("spout");
  b.setBolt("b", () => new PassBolt(true), 1).shuffleGrouping("a");
  const handle = await submit("bench-latency", { "topology.reliability.mode": "ATLEAST_ONCE" }, b.createTopology(), {
    handleSignals: false,
  });
  await handle.done;
  return run;
}

interface RoundTrips {
  hist: Histogram;
  activeMs: number;
}

async function roundTrips(nc: NatsConnection, subject: string, n: number): Promise<RoundTrips> {
  const hist = new Histogram();
  const payload = new Uint8Array(16);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await nc.request(subject, payload, { timeout: 5000 });
    hist.record(performance.now() - t);
  }
  return { hist, activeMs: performance.now() - t0 };
}

/** What the NATS fixture's spout prints as `LATENCY {json}` (ms). */
interface NatsLatency {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  count: number;
  failed: number;
  warmup: number;
  rate: number;
  achieved: number;
}

/** One `ardea submit bench/fixtures/latency_topology.ts --containers 2 --wait`; its LATENCY line. */
async function runNats(
  nc: NatsConnection,
  kv: Parameters<typeof submitRun>[0]["kv"],
  url: string,
  trees: number,
): Promise<NatsLatency> {
  const r = await submitRun({
    nc,
    kv,
    url,
    script: NATS_SCRIPT,
    topology: NATS_TOPOLOGY,
    containers: 2,
    scriptArgs: ["--rate", String(NATS_RATE), "--trees", String(trees)],
    timeoutMs: NATS_TIMEOUT_MS,
  });
  if (r.code !== 0) throw new Error(`submit exited ${r.code}: ${r.lines.slice(-8).join(" | ")}`);
  const line = r.lines.find((l) => l.startsWith("LATENCY "));
  if (line === undefined) throw new Error(`no LATENCY line: ${r.lines.slice(-8).join(" | ")}`);
  return JSON.parse(line.slice("LATENCY ".length)) as NatsLatency;
}

const percentiles = (h: Histogram, activeMs: number) => ({
  p50: h.quantile(0.5),
  p99: h.quantile(0.99),
  "p99.9": h.quantile(0.999),
  max: h.max,
  mean: h.sum / h.n,
  "achieved/s": h.n / (activeMs / 1000),
});

const benchmark: Benchmark = {
  name: "latency",
  description:
    "Complete latency of ATLEAST_ONCE trees (spout → 2 bolts, embedded and over NATS with 2 containers) at ~50% of max rate vs nats.js request/reply",
  async run(opts: BenchOptions) {
    let nats: NatsHandle | undefined;
    let nc: NatsConnection | undefined;
    let echo: ChildHandle | undefined;
    try {
      // Calibration: the maximum rate of this chain, unpaced (untimed; the
      // first run only warms the JIT up, the second one is the figure).
      await runTrees(CALIBRATION_TREES, 0);
      const cal = await runTrees(CALIBRATION_TREES, 0);
      if (cal.acked !== CALIBRATION_TREES) throw new Error(`calibration acked ${cal.acked} of ${CALIBRATION_TREES}`);
      const maxRate = cal.acked / (cal.activeMs / 1000);
      const rate = Math.round(maxRate * LOAD);
      const paced = Math.min(MAX_TREES, Math.max(MIN_TREES, Math.round(rate * PACED_SECONDS)));
      const unpaced = Math.min(MAX_TREES, Math.max(MIN_TREES, Math.round(maxRate * PACED_SECONDS / 2)));

      nats = await startNats({ servers: 1, jetstream: true }); // KV, for the NATS variant's submit
      const url = nats.urls[0]!;
      const subject = `bench.echo.${process.pid}`;
      const { cmd, args } = scriptCommand(join(ardeaRoot(), "bench", "nats_echo.ts"), [url, subject]);
      echo = spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe" });
      const out = echo.lines("stdout");
      const first = (await withinOrNull(out.next(), 30_000)) ?? { value: undefined };
      if (first.value !== "ready") throw new Error("nats echo process did not start");
      nc = await connect({ servers: url, name: "bench latency" });
      const conn = nc;
      const kv = await nc.jetstream().views.kv(KV_BUCKET);
      const natsTrees = NATS_RATE * NATS_SECONDS;

      const trees = (name: string, n: number, r: number, what: string): Variant<TreeRun> => ({
        name,
        description: `embedded ATLEAST_ONCE spout → a → b, ${n} trees, ${what}`,
        units: n,
        run: () => runTrees(n, r),
        verify: (x) => {
          if (x.failed > 0 || x.acked !== n) throw new Error(`${x.acked} acked, ${x.failed} failed of ${n}`);
        },
        metrics: (x) => percentiles(x.hist, x.activeMs),
      });
      // Each variant has its own result type; `any` lets each literal's verify/metrics see its own.
      // deno-lint-ignore no-explicit-any
      const variants: Variant<any>[] = [
        {
          name: "nats-request-reply",
          description: `raw nats.js request/reply, ${ROUND_TRIPS} sequential 16 B round trips to an echo process`,
          units: ROUND_TRIPS,
          run: () => roundTrips(conn, subject, ROUND_TRIPS),
          verify: (x: RoundTrips) => {
            if (x.hist.n !== ROUND_TRIPS) throw new Error(`${x.hist.n} round trips`);
          },
          metrics: (x: RoundTrips) => percentiles(x.hist, x.activeMs),
        } satisfies Variant<RoundTrips>,
        trees(
          "ardea-atleast-50%",
          paced,
          rate,
          `paced at ${rate} trees/s (${LOAD * 100}% of the calibrated ${Math.round(maxRate)}/s)`,
        ),
        trees("ardea-atleast-max", unpaced, 0, "unpaced (saturated; for reference)"),
        {
          name: "ardea-atleast-nats-50%",
          description:
            `${NATS_SCRIPT} via ardea submit --containers 2 --wait: spout → a(2) → b(2), shuffle (≈ half the hops over NATS), ` +
            `${natsTrees} trees paced at ${NATS_RATE}/s, quantiles after a ${NATS_RATE / 2}-tree warm-up`,
          units: natsTrees,
          run: () => runNats(conn, kv, url, natsTrees),
          verify: (x: NatsLatency) => {
            if (x.failed > 0 || x.count + x.warmup !== natsTrees) {
              throw new Error(`${x.count} + ${x.warmup} warm-up acked, ${x.failed} failed of ${natsTrees}`);
            }
          },
          metrics: (x: NatsLatency) => ({
            p50: x.p50,
            p99: x.p99,
            "p99.9": x.p999,
            max: x.max,
            mean: x.mean,
            "achieved/s": x.achieved,
          }),
        } satisfies Variant<NatsLatency>,
      ];
      return await measure({
        unit: "ops/s",
        unitsPerRun: ROUND_TRIPS,
        baseline: "nats-request-reply",
        variants,
        metrics: [
          { name: "p50", unit: "ms", lowerIsBetter: true },
          { name: "p99", unit: "ms", lowerIsBetter: true },
          { name: "p99.9", unit: "ms", lowerIsBetter: true },
          { name: "max", unit: "ms", lowerIsBetter: true },
          { name: "mean", unit: "ms", lowerIsBetter: true },
          { name: "achieved/s", unit: "ops/s" },
        ],
        goals: [
          { variant: "ardea-atleast-50%", metric: "p99", atMost: 5 },
          { variant: "ardea-atleast-nats-50%", metric: "p99", atMost: 20 },
        ],
        input: {
          calibrationTrees: CALIBRATION_TREES,
          calibratedMaxTreesPerSec: Math.round(maxRate),
          calibrationP99Ms: cal.hist.quantile(0.99),
          pacedRate: rate,
          pacedTrees: paced,
          unpacedTrees: unpaced,
          roundTrips: ROUND_TRIPS,
          natsRate: NATS_RATE,
          natsTrees,
          natsContainers: 2,
          histogramBucketUs: BUCKET_US,
        },
      }, opts);
    } finally {
      echo?.closeStdin();
      echo?.kill("SIGTERM");
      await echo?.exited.catch(() => {});
      await nc?.close().catch(() => {});
      await nats?.stop();
    }
  },
};

export default benchmark;
