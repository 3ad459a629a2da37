// timeout: 120
// examples/apps/machines.ts, machine failure prediction (issue 16, item 6).
// Engine check: the alerts the topology writes (embedded through `ardea run`,
// and on 2 containers over NATS) are exactly those of the same predictor run
// offline in a plain loop over the same samples (examples/apps/machines/
// offline.ts). Quality check, the bounds as written: recall ≥ 0.9,
// ≤ 0.1 false alarms per host-hour, median lead time ≥ 5 minutes before the
// planted failure.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { makeTempDir, readTextFile, removePath, resolvePath, runtimeName } from "../runtime/mod.ts";
import { appSummary, asText, runArdea, show, submitOnContainers } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { generateMetrics, type MachinesOptions } from "../examples/apps/machines/generator.ts";
import { type Alert, type AlertRecord, alertRecord } from "../examples/apps/machines/model.ts";
import { predict, scoreRun } from "../examples/apps/machines/offline.ts";

const SCRIPT = "examples/apps/machines.ts";
let dir: string;

test.before(async () => {
  dir = await makeTempDir("ardea-app-machines-");
});

test.after(async () => {
  await removePath(dir);
});

/** The alerts a run wrote to `path` (JSON lines), in a stable order. */
async function alertsIn(path: string): Promise<AlertRecord[]> {
  const text = await readTextFile(path);
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as AlertRecord).sort(byHostTime);
}

function byHostTime(a: { host: string; ts: number }, b: { host: string; ts: number }): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.ts - b.ts;
}

/** The offline predictor's alerts for `gen`, as the app writes them. */
function offlineAlerts(gen: MachinesOptions): AlertRecord[] {
  return predict(generateMetrics(gen)).alerts.map(alertRecord).sort(byHostTime);
}

/** The summary line's object. */
function summaryOf(stdout: string): { events: number; quality: Record<string, number> } {
  return appSummary<{ events: number; quality: Record<string, number> }>(stdout);
}

test("embedded (ardea run, seed 3: 40 hosts, 12 h, 39 planted failures): the alerts equal the offline predictor's; recall ≥ 0.9, ≤ 0.1 false alarms per host-hour, median lead ≥ 5 min", async () => {
  const out = resolvePath(dir, "alerts.jsonl");
  const t0 = Date.now();
  const r = asText(await runArdea(["run", "--quiet", SCRIPT, "--seed", "3", "--out", out]));
  const seconds = (Date.now() - t0) / 1000;
  assert.is(r.code, 0, show(r));
  const gen: MachinesOptions = { seed: 3 };
  // Engine check: the same alerts, to the bit.
  const got = await alertsIn(out);
  const want = offlineAlerts(gen);
  assert.ok(want.length >= 30, `the offline predictor raises alerts (${want.length})`);
  assert.equal(got, want);
  // Quality check on what the topology wrote.
  const samples = [...generateMetrics(gen)].length;
  const q = scoreRun(gen, got as unknown as Alert[], samples);
  const figures = `recall ${q.recall} (${q.detected}/${q.failures}), false alarms ${q.falseAlarms} ` +
    `(${q.falseAlarmsPerHostHour.toFixed(4)}/host-hour), median lead ${q.medianLeadMin.toFixed(1)} min; ` +
    `missed ${JSON.stringify(q.missed)}; run ${seconds.toFixed(1)} s`;
  assert.ok(q.failures >= 30, `enough planted failures to measure: ${figures}`);
  assert.ok(q.recall >= 0.9, `recall ≥ 0.9: ${figures}`);
  assert.ok(q.falseAlarmsPerHostHour <= 0.1, `≤ 0.1 false alarms per host-hour: ${figures}`);
  assert.ok(q.medianLeadMin >= 5, `median lead time ≥ 5 min: ${figures}`);
  // The summary line reports the same figures, for the whole run.
  const s = summaryOf(r.stdout);
  assert.is(s.events, samples);
  assert.equal(
    [s.quality.recall, s.quality.falseAlarmsPerHostHour, s.quality.medianLeadMin],
    [q.recall, q.falseAlarmsPerHostHour, q.medianLeadMin],
  );
  console.log(`  machines (${runtimeName()}): ${figures}`);
});

test("a bad flag names itself and exits 2", async () => {
  const r = asText(await runArdea(["run", "--quiet", SCRIPT, "--hosts", "0"]));
  assert.is(r.code, 2, show(r));
  assert.match(r.stderr, /machines: --hosts: /);
});

test("on 2 containers over NATS (ardea submit, 3 h, EFFECTIVELY_ONCE): the alerts equal the offline predictor's; a second submission of the same name starts clean (seed 5), not from the first one's checkpoints", async () => {
  let nats: NatsHandle | null = null;
  try {
    nats = await startNats({ servers: 1, jetstream: true });
    for (const seed of [2, 5]) {
      const out = resolvePath(dir, `dist-${seed}.jsonl`);
      const r = asText(
        await runArdea(
          [
            ...submitOnContainers(SCRIPT),
            "--seed",
            String(seed),
            "--duration",
            "3h",
            "--mode",
            "effectively",
            "--out",
            out,
          ],
          { ARDEA_NATS_URL: nats.urls[0]! },
        ),
      );
      assert.is(r.code, 0, show(r));
      const want = offlineAlerts({ seed, durationMs: 3 * 3_600_000 });
      assert.ok(want.length >= 2, `the offline predictor raises alerts (${want.length})`);
      assert.equal(await alertsIn(out), want, `seed ${seed}`);
    }
  } finally {
    await nats?.stop();
  }
});

test.run();
