/**
 * `app-<name>`: the applications of `examples/apps/` end to end, one
 * benchmark each. Every run generates the same seeded events twice:
 *
 * - `offline` (the baseline): the application's own offline reference
 *   (`examples/apps/<name>/offline.ts`, `runOffline`), the same computation
 *   as a plain loop in this process, no engine;
 * - `embedded`: the application's one command as a child process
 *   (`node --import runtime/node_loader.mjs examples/apps/<name>.ts --events N
 *   --seed S --out FILE`), which runs its topology embedded and ends with a
 *   `summary {json}` line.
 *
 * The primary figure is events per second of wall time (the child's includes
 * its process start and the engine's start-up); `app-events/s` is the rate
 * the application measured itself (first event to last result), and the
 * quality figures of its summary (precision, recall, accuracy…) are metrics,
 * with the bounds as goals. `--words N` sets the events per run.
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNats } from "../testing/nats_server.ts";
import type { Benchmark, BenchOptions, Goal, MetricSpec, Variant } from "./harness.ts";
import { measure } from "./harness.ts";
import { runChild } from "./child.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** One application's benchmark. */
interface AppSpec {
  name: string;
  description: string;
  /** Events per run (`--words` overrides). */
  events: number;
  /** Extra flags of the application's command. */
  args?: string[];
  /** Quality figures of its summary, higher is better unless `lowerIsBetter`. */
  quality: MetricSpec[];
  /** The bounds on them. */
  goals: Goal[];
  /** The application needs a NATS server with JetStream (`--nats URL` is passed). */
  nats?: boolean;
}

/** What `examples/apps/<name>/offline.ts` exports. */
interface OfflineModule {
  runOffline(opts: { seed: number; events?: number }): { events: number } | Promise<{ events: number }>;
}

/** The application's `summary {json}` line. */
interface Summary {
  app: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  quality: Record<string, number | boolean>;
}

function parseSummary(lines: readonly string[]): Summary {
  const line = [...lines].reverse().find((l) => l.startsWith("summary {"));
  if (line === undefined) throw new Error(`no summary line in the output: ${lines.slice(-5).join(" | ")}`);
  return JSON.parse(line.slice("summary ".length)) as Summary;
}

/** The benchmark of one application. */
function appBenchmark(spec: AppSpec): Benchmark {
  return {
    name: `app-${spec.name}`,
    description: spec.description,
    defaultWords: spec.events,
    async run(opts: BenchOptions) {
      const events = opts.words;
      const dir = mkdtempSync(join(tmpdir(), `ardea-bench-app-${spec.name}-`));
      const nats = spec.nats ? await startNats() : null;
      try {
        const offline = (await import(`../examples/apps/${spec.name}/offline.ts`)) as OfflineModule;
        let run = 0;
        const embedded: Variant<Summary> = {
          name: "embedded",
          description: `npx ardea run examples/apps/${spec.name}.ts (child process, embedded engine)`,
          async run() {
            const args = [
              "--import",
              join(ROOT, "runtime", "node_loader.mjs"),
              join(ROOT, "examples", "apps", `${spec.name}.ts`),
              "--events",
              String(events),
              "--seed",
              String(opts.seed),
              "--out",
              join(dir, `out-${run++}.jsonl`),
              ...(nats !== null ? ["--nats", nats.urls[0]!] : []),
              ...(spec.args ?? []),
            ];
            const r = await runChild(process.execPath, args, ROOT, 600_000);
            if (r.code !== 0) {
              throw new Error(`exited ${r.code ?? r.signal}: ${[...r.stdout, ...r.stderr].slice(-6).join(" | ")}`);
            }
            return parseSummary(r.stdout);
          },
          verify(s) {
            if (s.events !== events) throw new Error(`the application saw ${s.events} events, not ${events}`);
          },
          metrics(s) {
            const m: Record<string, number> = { "app-events/s": s.eventsPerSec };
            for (const q of spec.quality) {
              const v = s.quality[q.name];
              if (v !== undefined) m[q.name] = typeof v === "boolean" ? Number(v) : v;
            }
            return m;
          },
        };
        const baseline: Variant<{ events: number }> = {
          name: "offline",
          description: `examples/apps/${spec.name}/offline.ts: the same computation, a plain loop, no engine`,
          run: () => offline.runOffline({ seed: opts.seed, events }),
          verify(r) {
            if (r.events !== events) throw new Error(`the offline run saw ${r.events} events, not ${events}`);
          },
        };
        return await measure({
          unit: "events/s",
          unitsPerRun: events,
          baseline: "offline",
          variants: [baseline as Variant<unknown>, embedded as Variant<unknown>],
          metrics: [{ name: "app-events/s", unit: "events/s" }, ...spec.quality],
          goals: spec.goals,
          input: { events, seed: opts.seed, args: spec.args ?? [] },
        }, opts);
      } finally {
        await nats?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The applications of issue 16 and the bounds. */
const APPS: AppSpec[] = [
  {
    name: "etl",
    description:
      "JetStream → validate (zod) → normalise (dayjs, units) → enrich (live KV) → JetStream + dead letters, EFFECTIVELY_ONCE",
    events: 50_000,
    nats: true,
    quality: ["lost", "duplicated", "deadMissing", "wrongValues"].map((name) => ({
      name,
      unit: "records",
      lowerIsBetter: true,
    })),
    goals: [
      { variant: "embedded", metric: "lost", atMost: 0, label: "0 lost" },
      { variant: "embedded", metric: "duplicated", atMost: 0, label: "0 duplicated" },
      { variant: "embedded", metric: "deadMissing", atMost: 0, label: "every invalid record dead-lettered" },
    ],
  },
  {
    name: "trending",
    description:
      "tweets → hashtags → sliding event-time windows → rolling counts → partial and total top 10 with velocity",
    events: 200_000,
    quality: [
      { name: "trends", unit: "planted" },
      { name: "risesInTime", unit: "trends" },
      { name: "fallsInTime", unit: "trends" },
      { name: "ok", unit: "bound met (1)" },
    ],
    goals: [{
      variant: "embedded",
      metric: "ok",
      atLeast: 1,
      label: "each planted trend in within a slide, out within a window",
    }],
  },
  {
    name: "classify",
    description:
      "posts → language (franc-min), sentiment (AFINN-165), topic (logistic regression trained at start) → per-minute counts",
    events: 200_000,
    quality: [
      { name: "topicAccuracy", unit: "" },
      { name: "sentimentAgreement", unit: "" },
      { name: "languageAccuracy", unit: "" },
    ],
    goals: [
      { variant: "embedded", metric: "topicAccuracy", atLeast: 0.85, label: "topic accuracy ≥ 0.85" },
      { variant: "embedded", metric: "sentimentAgreement", atLeast: 0.9, label: "sentiment sign agreement ≥ 0.9" },
    ],
  },
  {
    name: "fraud",
    description:
      "account activity → per-account window features → rules + isolation forest (retrained) → alerts with reasons",
    events: 200_000,
    quality: [
      { name: "precision", unit: "" },
      { name: "recall", unit: "" },
      { name: "medianDelaySec", unit: "s", lowerIsBetter: true },
    ],
    goals: [
      { variant: "embedded", metric: "precision", atLeast: 0.9, label: "precision ≥ 0.9" },
      { variant: "embedded", metric: "recall", atLeast: 0.9, label: "recall ≥ 0.9" },
      { variant: "embedded", metric: "medianDelaySec", atMost: 60, label: "median first post → alert ≤ 60 s" },
    ],
  },
  {
    name: "machines",
    description:
      "server metrics → per-host EWMA, z-scores, trends → p(failure in 30 min), time to memory full → alerts",
    events: 150_000,
    quality: [
      { name: "recall", unit: "" },
      { name: "falseAlarmsPerHostHour", unit: "/host-hour", lowerIsBetter: true },
      { name: "medianLeadMin", unit: "min" },
    ],
    goals: [
      { variant: "embedded", metric: "recall", atLeast: 0.9, label: "recall ≥ 0.9" },
      { variant: "embedded", metric: "falseAlarmsPerHostHour", atMost: 0.1, label: "≤ 0.1 false alarms per host-hour" },
      { variant: "embedded", metric: "medianLeadMin", atLeast: 5, label: "median lead ≥ 5 min" },
    ],
  },
  {
    name: "online_model",
    description:
      "impressions → click-through model retrained per window, broadcast to scorers (all grouping), drift halfway",
    events: 200_000,
    quality: [
      { name: "recoveryWindows", unit: "windows", lowerIsBetter: true },
      { name: "preDrift", unit: "accuracy" },
      { name: "justAfterDrift", unit: "accuracy" },
    ],
    goals: [{
      variant: "embedded",
      metric: "recoveryWindows",
      atMost: 2,
      label: "within 5 points of pre-drift accuracy within 2 retraining windows",
    }],
  },
];

/**
 * One benchmark per application in `examples/apps/`.
 *
 * @example
 * ```ts
 * import { APP_BENCHMARKS } from "./apps.ts";
 * APP_BENCHMARKS.map((b) => b.name); // ["app-etl", "app-trending", …]
 * ```
 */
export const APP_BENCHMARKS: Benchmark[] = APPS.map(appBenchmark);
