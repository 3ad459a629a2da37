/**
 * A fleet of servers reporting their metrics, some of them degrading towards
 * a failure: deterministic for a seed, with the failures planted at known
 * times (the ground truth of examples/apps/machines.ts).
 *
 * Each host reports one sample every `intervalMs` (10 s) of event time:
 * CPU %, memory %, disk %, error rate (share of failed requests) and p50
 * latency (ms), with its uptime. Hosts have their own baselines; samples
 * carry noise (Gaussian for CPU, memory and disk; log-normal for errors and
 * latency). Over the run, things happen to a host:
 *
 * - planted degradations, each ending in a failure at a known time: a
 *   memory leak (memory climbs linearly to 100 %: OOM), a disk filling up
 *   (to 100 %), an error-rate creep (errors grow exponentially to 25 %: the
 *   service crashes) or a latency creep (latency grows exponentially to
 *   2.5 s: health checks fail). They last 20 minutes to 3 hours. At the
 *   failure the host goes silent for 3-6 minutes, then reboots (uptime back
 *   to 0, memory, disk, errors and latency back to its baselines);
 * - benign events that look like trouble for a while and must not raise
 *   alarms: batch jobs (memory up by 10-25 % for a few minutes, then
 *   released), CPU spikes, and deploys (the service restarts: errors and latency
 *   jump, then settle within minutes);
 * - a slow benign disk growth (logs), a fraction of a percent per hour.
 *
 * @module
 */
import { EPOCH_MS, Random } from "../lib/mod.ts";

/** One metrics sample of one host. */
export interface MetricSample {
  host: string;
  /** Event time (epoch ms). */
  ts: number;
  /** Seconds since the host booted. */
  uptime: number;
  cpu: number;
  mem: number;
  disk: number;
  /** Share of failed requests, 0 to 1. */
  errRate: number;
  latencyMs: number;
}

/** The kinds of degradation that end in a failure. */
export type FailureKind = "memory-leak" | "disk-fill" | "error-creep" | "latency-creep";

/** A planted failure: the host degrades from `onset` and fails at `failAt` (epoch ms). */
export interface PlantedFailure {
  host: string;
  kind: FailureKind;
  onset: number;
  failAt: number;
}

/** What the generator makes. */
export interface MachinesOptions {
  seed: number;
  /** Number of hosts (default 40). */
  hosts?: number;
  /** Event time covered, ms (default 12 hours). */
  durationMs?: number;
  /** Stop after this many samples (default: all of `durationMs`). */
  events?: number;
  /** Time between two samples of a host, ms (default 10 s). */
  intervalMs?: number;
  /** Mean time between two planted degradations of a host, ms (default 10 hours). */
  meanTimeBetweenFailuresMs?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The levels at which a degradation has become a failure. */
export const CRITICAL = { mem: 100, disk: 100, errRate: 0.25, latencyMs: 2500 } as const;

/** How long each kind of degradation lasts before the failure, ms [min, max]. */
const DEGRADATION_MS: Record<FailureKind, [number, number]> = {
  "memory-leak": [30 * MINUTE, 2 * HOUR],
  "disk-fill": [30 * MINUTE, 3 * HOUR],
  "error-creep": [20 * MINUTE, 60 * MINUTE],
  "latency-creep": [20 * MINUTE, 60 * MINUTE],
};
const KINDS = Object.keys(DEGRADATION_MS) as FailureKind[];

/** A benign episode: [start, end) and what it does. */
interface Episode {
  kind: "batch" | "cpu-spike" | "deploy";
  start: number;
  end: number;
  /** Its size: memory % for a batch job, CPU % for a spike, the error and latency factor for a deploy. */
  size: number;
}

/** A host's baselines and everything that happens to it. */
interface HostPlan {
  name: string;
  cpu: number;
  mem: number;
  disk: number;
  errRate: number;
  latencyMs: number;
  /** Disk growth in % per hour (logs). */
  diskGrowth: number;
  failures: PlantedFailure[];
  /** Each failure's silence: the host reboots at failAt + downMs. */
  downMs: number[];
  episodes: Episode[];
}

function defaults(o: MachinesOptions): Required<MachinesOptions> {
  return {
    seed: o.seed,
    hosts: o.hosts ?? 40,
    durationMs: o.durationMs ?? 12 * HOUR,
    events: o.events ?? Number.POSITIVE_INFINITY,
    intervalMs: o.intervalMs ?? 10_000,
    meanTimeBetweenFailuresMs: o.meanTimeBetweenFailuresMs ?? 10 * HOUR,
  };
}

function hostName(i: number): string {
  return `host-${String(i + 1).padStart(3, "0")}`;
}

/** Plans host `i`: baselines, planted failures (none in the first 30 minutes, so the statistics warm up) and benign episodes. */
function planHost(o: Required<MachinesOptions>, i: number): HostPlan {
  const rnd = new Random(o.seed).fork(`plan:${i}`);
  const name = hostName(i);
  const end = EPOCH_MS + o.durationMs;
  const plan: HostPlan = {
    name,
    cpu: rnd.range(15, 45),
    mem: rnd.range(30, 55),
    disk: rnd.range(25, 60),
    errRate: rnd.range(0.002, 0.01),
    latencyMs: rnd.range(40, 120),
    diskGrowth: rnd.range(0.02, 0.2),
    failures: [],
    downMs: [],
    episodes: [],
  };
  // Each kind of event draws from a random stream of its own, in time order, so a shorter run is the start
  // of a longer one.
  const fails = rnd.fork("failures");
  let t = EPOCH_MS + 30 * MINUTE + fails.exponential(1 / o.meanTimeBetweenFailuresMs);
  for (;;) {
    const kind = fails.pick(KINDS);
    const [lo, hi] = DEGRADATION_MS[kind];
    const failAt = Math.round(t + fails.range(lo, hi));
    // A degradation under way when the run ends is planted too (its failure is after the end).
    if (t >= end) break;
    plan.failures.push({ host: name, kind, onset: Math.round(t), failAt });
    const down = fails.range(3 * MINUTE, 6 * MINUTE);
    plan.downMs.push(down);
    t = failAt + down + 30 * MINUTE + fails.exponential(1 / o.meanTimeBetweenFailuresMs);
  }
  const episodes: [Episode["kind"], number, [number, number], [number, number]][] = [
    ["batch", 2 * HOUR, [4 * MINUTE, 10 * MINUTE], [10, 25]],
    ["cpu-spike", 1 * HOUR, [2 * MINUTE, 6 * MINUTE], [85, 99]],
    ["deploy", 4 * HOUR, [3 * MINUTE, 6 * MINUTE], [2, 4]],
  ];
  for (const [kind, every, [dLo, dHi], [sLo, sHi]] of episodes) {
    const r = rnd.fork(kind);
    for (let s = EPOCH_MS + r.exponential(1 / every); s < end; s += r.exponential(1 / every)) {
      const e = s + r.range(dLo, dHi);
      plan.episodes.push({ kind, start: s, end: e, size: r.range(sLo, sHi) });
      s = e;
    }
  }
  return plan;
}

/**
 * The failures planted for `opts` (the ground truth), by host then time:
 * every degradation that starts before the end of the run (the last ones
 * may fail after it).
 *
 * @example
 * ```ts
 * plantedFailures({ seed: 1 }).length; // about one per host per 10 hours
 * ```
 */
export function plantedFailures(opts: MachinesOptions): PlantedFailure[] {
  const o = defaults(opts);
  const out: PlantedFailure[] = [];
  for (let i = 0; i < o.hosts; i++) out.push(...planHost(o, i).failures);
  return out;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Rounds to `d` decimals (samples look like what an agent reports, and JSON stays short). */
function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/**
 * The samples for `opts`, in event-time order: every host each
 * `intervalMs`, staggered within the interval, except while a host is down.
 *
 * @example
 * ```ts
 * for (const s of generateMetrics({ seed: 1, hosts: 2, durationMs: 60_000 })) console.log(s.host, s.mem);
 * ```
 */
export function* generateMetrics(opts: MachinesOptions): Generator<MetricSample> {
  const o = defaults(opts);
  const plans = Array.from({ length: o.hosts }, (_, i) => planHost(o, i));
  const noise = plans.map((_, i) => new Random(o.seed).fork(`noise:${i}`));
  const boot = plans.map((_, i) => EPOCH_MS - new Random(o.seed).fork(`boot:${i}`).range(1, 30) * 86_400_000);
  const next = plans.map(() => 0); // index of each host's next failure
  let emitted = 0;
  for (let tick = EPOCH_MS; tick < EPOCH_MS + o.durationMs; tick += o.intervalMs) {
    for (let h = 0; h < o.hosts; h++) {
      if (emitted >= o.events) return;
      const ts = tick + Math.floor((h * o.intervalMs) / o.hosts);
      const p = plans[h]!;
      const rnd = noise[h]!;
      // Past a failure and its silence: the host rebooted.
      while (next[h]! < p.failures.length && ts >= p.failures[next[h]!]!.failAt + p.downMs[next[h]!]!) {
        boot[h] = p.failures[next[h]!]!.failAt + p.downMs[next[h]!]!;
        next[h]!++;
      }
      const f = p.failures[next[h]!];
      if (f !== undefined && ts >= f.failAt) continue; // down
      let cpu = p.cpu + rnd.normal(0, 4);
      let mem = p.mem + rnd.normal(0, 0.8);
      let disk = p.disk + p.diskGrowth * ((ts - EPOCH_MS) / HOUR) + rnd.normal(0, 0.15);
      let errRate = p.errRate * Math.exp(rnd.normal(0, 0.25));
      let latencyMs = p.latencyMs * Math.exp(rnd.normal(0, 0.1));
      for (const e of p.episodes) {
        if (ts < e.start || ts >= e.end) continue;
        const u = (ts - e.start) / (e.end - e.start);
        if (e.kind === "batch") mem += e.size * Math.min(1, u * 3);
        else if (e.kind === "cpu-spike") cpu = e.size + rnd.normal(0, 2);
        else {
          // A deploy restarts the service, not the host: errors and latency jump, then settle.
          errRate *= 1 + (e.size - 1) * (1 - u);
          latencyMs *= 1 + (e.size - 1) * 0.5 * (1 - u);
        }
      }
      if (f !== undefined && ts >= f.onset) {
        const u = (ts - f.onset) / (f.failAt - f.onset);
        if (f.kind === "memory-leak") {
          mem += (CRITICAL.mem - p.mem) * u;
          latencyMs *= 1 + 2 * u ** 4; // swapping, near the end
        } else if (f.kind === "disk-fill") disk += (CRITICAL.disk - p.disk) * u;
        else if (f.kind === "error-creep") errRate *= (CRITICAL.errRate / p.errRate) ** u;
        else {
          latencyMs *= (CRITICAL.latencyMs / p.latencyMs) ** u;
          cpu += 30 * u;
        }
      }
      emitted++;
      yield {
        host: p.name,
        ts,
        uptime: Math.floor((ts - boot[h]!) / 1000),
        cpu: round(clamp(cpu, 0, 100), 1),
        mem: round(clamp(mem, 0, 100), 2),
        disk: round(clamp(disk, 0, 100), 2),
        errRate: round(clamp(errRate, 0, 1), 5),
        latencyMs: round(latencyMs, 1),
      };
    }
  }
}
