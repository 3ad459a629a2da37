/**
 * Machine failure prediction: metrics from many servers → per-host
 * streaming statistics (EWMA baselines, z-scores, trends) → the probability
 * that the host fails within the next 30 minutes and the time until its
 * memory is full → alerts, before the failure happens.
 *
 *   metrics ──→ hosts ─────────────────────────────→ assess ─→ alerts
 *   (source)    (reduceByKey(host): the predictor's   (map:      (sink, 1 partition: live view,
 *                fold, per-host state in Ardea        slim       alerts to stdout and --out,
 *                state; N partitions)                 view)      summary line)
 *
 * The generator (examples/apps/machines/generator.ts) runs a fleet of 40
 * hosts, one sample every 10 s of event time each (CPU, memory, disk, error
 * rate, latency, uptime), for 12 hours from 2026-01-01T00:00Z (~172 000
 * samples). It plants degradations that end in failures at known times
 * (about one per host every 10 hours): memory leaks, disks filling up,
 * error-rate creeps and latency creeps lasting 20 minutes to 3 hours; a
 * failed host goes silent for 3-6 minutes and reboots. Benign episodes are
 * there to tempt false alarms: batch jobs that take memory for minutes,
 * CPU spikes, deploys that make errors and latency jump for a while.
 *
 * The predictor (examples/apps/machines/model.ts, one pure fold used here
 * and by the offline reference) keeps per host EWMA baselines and z-scores
 * of every metric and fits the trend of memory, disk (linear) and error
 * rate, latency (log-linear) over the last 10 minutes; from a trend, the
 * time until the metric reaches its critical level, and from that a
 * probability of failure within the horizon, gated by the trend's quality
 * and the z-score. An alert is raised when the probability stays ≥ 0.5 for
 * a minute; one per incident.
 *
 * Libraries: `simple-statistics` (linearRegression, rSquared) fits the
 * trends, a kept implementation of least squares rather than our own sums;
 * `zod` validates samples read with --from-stream.
 *
 * Output: one line per alert on stdout and, with --out, one JSON object per
 * alert (`{"host","ts","p","cause","ttfMin","memFullMin"}`; times to full
 * in minutes, null when not rising); a live line a second; at the end the
 * quality against the planted failures (recall, false alarms per host-hour,
 * median lead time) and `summary {json}`.
 *
 * Flags (examples/apps/lib/flags.ts for the standard ones): --seed N,
 * --rate R, --events N, --duration D (default 12h), --from-stream S,
 * --out FILE|nats:SUBJECT, --nats URL, --mode atmost|atleast|effectively
 * (default effectively: the per-host statistics are kept at each
 * checkpoint), and its own: --hosts N (default 40), --horizon-min M
 * (default 30), --partitions N (of the per-host step, default 2),
 * --state-dir DIR (EFFECTIVELY_ONCE checkpoints; a run started again on the
 * same DIR resumes; default: a fresh temporary directory).
 *
 *   npx ardea run examples/apps/machines.ts --out alerts.jsonl
 *   deno run -A examples/apps/machines.ts --hosts 100 --duration 6h
 *   npx ardea run examples/apps/machines.ts --rate 2000      (watch it live)
 *   npx ardea submit examples/apps/machines.ts --containers 2 --wait --nats nats://127.0.0.1:4222 -- --duration 2h
 *
 * @module
 */
import { z } from "zod";
import { Builder, type KeyValue, Runner, type Sink, StreamletConfig as Config } from "../../mod.ts";
import { exit, writeStderr } from "../../runtime/mod.ts";
import {
  appSource,
  formatDuration,
  formatTime,
  LiveView,
  openOutput,
  type Output,
  parseAppFlags,
  printSummary,
  reliabilityMode,
  runState,
} from "./lib/mod.ts";
import { generateMetrics, type MachinesOptions, type MetricSample } from "./machines/generator.ts";
import { type Alert, alertRecord, type Assessment, type HostState, initialHostState, step } from "./machines/model.ts";
import { scoreRun } from "./machines/offline.ts";

const flags = parseAppFlags("machines", undefined, {
  hosts: z.coerce.number().int().min(1).max(10_000).default(40),
  horizonMin: z.coerce.number().min(1).max(1440).default(30),
  partitions: z.coerce.number().int().min(1).max(64).default(2),
}, { duration: 12 * 3_600_000, mode: "effectively" });

/** A sample as JSON from --from-stream. */
const SampleSchema = z.object({
  host: z.string().min(1),
  ts: z.number(),
  uptime: z.number().min(0),
  cpu: z.number(),
  mem: z.number(),
  disk: z.number(),
  errRate: z.number().min(0),
  latencyMs: z.number().min(0),
});

const gen: MachinesOptions = { seed: flags.seed, hosts: flags.hosts };
if (flags.events !== undefined) gen.events = flags.events;
if (flags.duration !== undefined) gen.durationMs = flags.duration;
const predictor = { horizonMin: flags.horizonMin };

/** What the sink gets per sample: the assessment without the per-host window. */
type View = Omit<Assessment, "signals" | "z">;

/** Alerts to stdout and --out, the live view, and the quality and summary when the run ends. */
function alertSink(): Sink<View> {
  const live = new LiveView("machines");
  const alerts: Alert[] = [];
  const risk = new Map<string, View>();
  let out: Output | null = null;
  let samples = 0;
  let now = 0;
  let started = 0;
  return {
    async setup() {
      out = await openOutput(flags);
    },
    put(v) {
      if (samples++ === 0) started = performance.now();
      now = v.ts;
      if (v.p >= 0.2) risk.set(v.host, v);
      else risk.delete(v.host);
      if (v.alert !== null) {
        alerts.push(v.alert);
        out?.write(alertRecord(v.alert));
        const a = v.alert;
        live.line(
          `ALERT ${formatTime(a.ts)} ${a.host}: p(failure in ${flags.horizonMin} min) ${a.p.toFixed(2)}, ${a.cause} ` +
            `critical in ${formatDuration(a.ttfMin * 60_000)}` +
            (a.memFullMin < 24 * 60 ? `, memory full in ${formatDuration(a.memFullMin * 60_000)}` : ""),
        );
      }
      live.count("samples");
      if (samples % 1000 === 0) {
        const top = [...risk.values()].sort((a, b) => b.p - a.p).slice(0, 3);
        live.set("at", formatTime(now));
        live.set("alerts", String(alerts.length));
        live.set("at risk", top.length === 0 ? "none" : top.map((t) => `${t.host} ${t.p.toFixed(2)}`).join(", "));
      }
    },
    async cleanup() {
      const seconds = samples === 0 ? 0 : (performance.now() - started) / 1000;
      await out?.close();
      live.flush();
      if (out !== null) live.line(`wrote ${out.count} alerts to ${out.describe}`);
      const quality: Record<string, number> = { alerts: alerts.length };
      if (flags.fromStream === undefined) {
        const q = scoreRun(gen, alerts, samples);
        live.line(
          `${q.detected} of ${q.failures} planted failures predicted (recall ${q.recall.toFixed(3)}), ` +
            `${q.falseAlarms} false alarms in ${q.hostHours.toFixed(0)} host-hours ` +
            `(${q.falseAlarmsPerHostHour.toFixed(4)}/host-hour), median lead time ${
              q.detected === 0 ? "-" : `${q.medianLeadMin.toFixed(1)} min`
            }`,
        );
        Object.assign(quality, {
          recall: q.recall,
          falseAlarmsPerHostHour: q.falseAlarmsPerHostHour,
          medianLeadMin: q.medianLeadMin,
          failures: q.failures,
          falseAlarms: q.falseAlarms,
        });
      }
      printSummary({
        app: "machines",
        events: samples,
        seconds,
        eventsPerSec: seconds > 0 ? samples / seconds : 0,
        quality,
      });
    },
  };
}

const builder = Builder.newBuilder();
appSource(builder, flags, "metrics", () => generateMetrics(gen), (json) => SampleSchema.parse(json) as MetricSample)
  .reduceByKey((s) => s.host, initialHostState(), (acc: HostState, s) => step(acc, s, predictor))
  .setName("hosts").setNumPartitions(flags.partitions)
  .map((kv: KeyValue<string, HostState>): View => {
    const { signals: _s, z: _z, ...view } = kv.getValue().last;
    return view;
  }).setName("assess")
  .toSink(alertSink()).setName("alerts").setNumPartitions(1);

const state = runState(flags, "machines");
const config = Config.newBuilder()
  .setDeliverySemantics(Config.DeliverySemantics[reliabilityMode(flags.mode)])
  .setUserConfig("topology.state.dir", state.config["topology.state.dir"])
  .setUserConfig("topology.stateful.start.clean", state.config["topology.stateful.start.clean"])
  .build();
const handle = await new Runner().run("machines", config, builder);
const summary = await handle.done.catch((e: Error) => {
  writeStderr(`machines: the run failed: ${e.message}\n`);
  return exit(1);
});
await state.dispose();
if (summary.state !== "FINISHED") exit(1);
