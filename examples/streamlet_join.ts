/**
 * Ad impressions joined with clicks in event-time windows, with the
 * Streamlet API (the idea of Heron's `ImpressionsAndClicksTopology`):
 * which clicks followed an impression of the same ad by the same user?
 *
 *   impressions ─┐
 *                ├→ join(by user, tumbling event-time window) → filter(same ad, click after) → map → report
 *   clicks ──────┘
 *
 * Both sources are finite, seeded lists (examples/streamlet_join_data.ts),
 * each in time order. The join is partitioned by user; per window and
 * user, every impression meets every click, and the filter keeps the pairs
 * of one ad where the click came at or after the impression. The report
 * sink collects the pairs and, when the run ends (its `cleanup`), prints a
 * summary and writes `--out` as one JSON object: per ad, its
 * `[userId, impressionTime, clickTime]` triples, sorted.
 *
 *   npx ardea run examples/streamlet_join.ts --impressions 5000 --out clicks.json
 *   deno run -A examples/streamlet_join.ts --seed 7 --mode atmost
 *
 * Flags: --seed S (default 1), --impressions N (default 2000), --out FILE,
 * --mode atmost|atleast (default atleast), --joiners N (partitions of the
 * join, default 2), --window-secs S (default 10). A bad flag prints one
 * line and exits with code 2.
 *
 * @module
 */
import { Builder, Runner, type Sink, StreamletConfig as Config, WindowConfig } from "../mod.ts";
import { args, exit, writeStderr, writeStdout, writeTextFile } from "../runtime/mod.ts";
import { adEvents, type Click, type Impression } from "./streamlet_join_data.ts";

function fail(message: string, code: number): never {
  writeStderr(`streamlet_join: ${message}\n`);
  return exit(code);
}

/** `--flag value` or `--flag=value` pairs, checked. */
function parseFlags(argv: readonly string[]): Record<string, string> {
  const known = new Set(["--seed", "--impressions", "--out", "--mode", "--joiners", "--window-secs"]);
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s) as [string, string | undefined];
    if (!known.has(flag)) fail(`unknown flag ${flag} (see the top of the file)`, 2);
    const value = inline ?? argv[++i];
    if (value === undefined) fail(`${flag} needs a value`, 2);
    flags[flag.slice(2)] = value;
  }
  if (flags.mode !== undefined && flags.mode !== "atmost" && flags.mode !== "atleast") {
    fail(`--mode must be "atmost" or "atleast" (got ${JSON.stringify(flags.mode)})`, 2);
  }
  for (const f of ["seed", "impressions", "joiners", "window-secs"]) {
    if (flags[f] !== undefined && !/^(0|[1-9][0-9]{0,6})$/.test(flags[f])) {
      fail(`--${f} must be a whole number from 0 to 9999999 (got ${JSON.stringify(flags[f])})`, 2);
    }
  }
  for (const f of ["joiners", "window-secs"]) if (flags[f] === "0") fail(`--${f} must be at least 1`, 2);
  return flags;
}

/** A click that followed an impression of the same ad by the same user, in one window. */
interface Followed {
  adId: string;
  userId: string;
  impressionTime: number;
  clickTime: number;
}

/** Collects the pairs; reports them and writes `out` when the run ends. */
function reportSink(out: string | undefined, impressions: number, clicks: number): Sink<Followed> {
  const byAd = new Map<string, [string, number, number][]>();
  let pairs = 0;
  return {
    setup() {},
    put(f) {
      let list = byAd.get(f.adId);
      if (list === undefined) byAd.set(f.adId, list = []);
      list.push([f.userId, f.impressionTime, f.clickTime]);
      pairs++;
    },
    async cleanup() {
      const ads = [...byAd.keys()].sort();
      const result: Record<string, [string, number, number][]> = {};
      for (const ad of ads) {
        result[ad] = byAd.get(ad)!.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2]));
      }
      const top = ads.map((ad) => [ad, result[ad]!.length] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
      writeStdout(
        `${impressions} impressions, ${clicks} clicks: ${pairs} clicks after an impression, over ${ads.length} ads\n` +
          top.map(([ad, n]) => `  ${String(n).padStart(6)}  ${ad}`).join("\n") + (top.length > 0 ? "\n" : ""),
      );
      if (out !== undefined) {
        await writeTextFile(out, `${JSON.stringify(result)}\n`);
        writeStdout(`wrote ${pairs} pairs of ${ads.length} ads to ${out}\n`);
      }
    },
  };
}

const flags = parseFlags(args());
const events = adEvents(Number(flags.seed ?? 1), Number(flags.impressions ?? 2000));
const window = WindowConfig.TumblingTimeWindow(Number(flags["window-secs"] ?? 10) * 1000)
  .withEventTime((e: Impression | Click) => e.time);

const builder = Builder.newBuilder();
const impressions = builder.newSource(events.impressions).setName("impressions");
const clicks = builder.newSource(events.clicks).setName("clicks");
impressions
  .join(clicks, (i) => i.userId, (c) => c.userId, window, (impression, click) => ({ impression, click }))
  .setName("join").setNumPartitions(Number(flags.joiners ?? 2))
  .filter(({ value: { impression, click } }) => impression.adId === click.adId && click.time >= impression.time)
  .setName("followed")
  .map(({ value: { impression, click } }): Followed => ({
    adId: impression.adId,
    userId: impression.userId,
    impressionTime: impression.time,
    clickTime: click.time,
  }))
  .setName("pairs")
  .toSink(reportSink(flags.out, events.impressions.length, events.clicks.length)).setName("report")
  .setNumPartitions(1);

const config = Config.newBuilder()
  .setDeliverySemantics(
    flags.mode === "atmost" ? Config.DeliverySemantics.ATMOST_ONCE : Config.DeliverySemantics.ATLEAST_ONCE,
  )
  .build();
const handle = await new Runner().run("streamlet-join", config, builder);
const summary = await handle.done.catch((e: Error) => fail(`the run failed: ${e.message}`, 1));
writeStdout(`${summary.name}: ${summary.state} in ${Math.round(summary.durationMs)} ms\n`);
if (summary.state !== "FINISHED") exit(1);
