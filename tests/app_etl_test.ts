// timeout: 90
// The ETL application (examples/apps/etl.ts) against a real nats-server with
// JetStream: embedded in generator mode (publish, then process), and on two
// containers (`ardea submit --containers 2`) reading a stream the test fills,
// with a live update of the reference bucket mid-run and a SIGKILL of a
// container. Checks: the engine check (every output record and dead letter
// equals the offline computation over the same events, with the update in
// force from its event time), and the bound: 0 lost, 0 duplicated,
// every invalid record in the dead-letter stream with its reason and its
// original bytes.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import type { NatsConnection } from "nats";
import { parseNatsFlags } from "../mod.ts";
import { closeNats, connectNats } from "../transport/nats_connect.ts";
import { Records } from "../cluster/records.ts";
import { makeTempDir, readTextFile, removePath, resolvePath, runtimeName } from "../runtime/mod.ts";
import process from "node:process";
import { collect, runArdea, show, spawnArdea, submitOnContainers } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { sleep, until } from "../testing/wait.ts";
import { type EtlDataset, generateEtl } from "../examples/apps/etl/generator.ts";
import { type OfflineResult, runOffline, score } from "../examples/apps/etl/offline.ts";
import {
  type CleanReading,
  type DeadLetter,
  fromBase64,
  parseTimestamp,
  processEvent,
  ReferenceTable,
} from "../examples/apps/etl/model.ts";
import {
  datasetTag,
  ensureStream,
  publishEvents,
  putReference,
  putUpdate,
  readSubject,
  type StoredMessage,
} from "../examples/apps/etl/streams.ts";

const dec = new TextDecoder();
let nats: NatsHandle;
let nc: NatsConnection;

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connectNats(parseNatsFlags({ nats: nats.urls[0]! }, {}), { name: "app_etl_test" });
});

test.after(async () => {
  if (nc !== undefined) await closeNats(nc);
  await nats?.stop();
});

/**
 * The engine check and the bound, on what the streams hold: every output
 * record is the offline one of its id (as JSON text), every dead letter the
 * offline one of its event (reason, detail) with the event's bytes; each
 * once; nothing missing. Event i is input sequence `firstSeq` + i.
 */
function check(
  dataset: EtlDataset,
  offline: OfflineResult,
  out: StoredMessage[],
  dead: StoredMessage[],
  what: string,
  firstSeq = 1,
) {
  const records = out.map((m) => dec.decode(m.data));
  const letters = dead.map((m) => JSON.parse(dec.decode(m.data)) as DeadLetter);
  const ids = new Map<string, number>();
  const differ: string[] = [];
  for (const text of records) {
    const r = JSON.parse(text) as CleanReading;
    ids.set(r.id, (ids.get(r.id) ?? 0) + 1);
    if (offline.outputs.get(r.id) !== text) differ.push(`${text}\n  offline: ${offline.outputs.get(r.id)}`);
  }
  const twice = [...ids].filter(([, n]) => n > 1).map(([id]) => id);
  const lost = [...offline.outputs.keys()].filter((id) => !ids.has(id));
  assert.ok(
    twice.length === 0 && lost.length === 0 && differ.length === 0,
    `${what}: ${records.length} records for ${offline.outputs.size} valid events: ${twice.length} duplicated (${
      twice.slice(0, 3)
    }), ${lost.length} lost (${lost.slice(0, 3)}), ${differ.length} differ from offline:\n${
      differ.slice(0, 3).join("\n")
    }`,
  );
  const seqs = new Map<number, number>();
  const wrong: string[] = [];
  for (const d of letters) {
    seqs.set(d.seq, (seqs.get(d.seq) ?? 0) + 1);
    const want = offline.dead.get(d.seq - firstSeq);
    const bytes = fromBase64(d.original);
    const original = dataset.events[d.seq - firstSeq]?.bytes;
    if (
      want === undefined || want.reason !== d.reason || want.detail !== d.detail || original === undefined ||
      bytes.length !== original.length || bytes.some((b, i) => b !== original[i])
    ) wrong.push(`${JSON.stringify(d)}\n  offline: ${JSON.stringify(want)}`);
  }
  const deadTwice = [...seqs].filter(([, n]) => n > 1).length;
  const deadMissing = [...offline.dead.keys()].filter((i) => !seqs.has(i + firstSeq)).length;
  assert.ok(
    deadTwice === 0 && deadMissing === 0 && wrong.length === 0,
    `${what}: ${letters.length} dead letters for ${offline.dead.size} invalid events: ${deadTwice} duplicated, ` +
      `${deadMissing} missing, ${wrong.length} differ:\n${wrong.slice(0, 3).join("\n")}`,
  );
  // The quality check against the generator's truth (independent of model.ts): the bound.
  const q = score(
    dataset,
    records.map((t) => JSON.parse(t) as CleanReading),
    letters.map((d) => ({ ...d, bytes: fromBase64(d.original) })),
    firstSeq,
  );
  const { examples, ...counts } = q;
  for (
    const k of [
      "lost",
      "duplicated",
      "unexpected",
      "wrongValues",
      "deadMissing",
      "deadDuplicated",
      "deadWrong",
    ] as const
  ) assert.is(counts[k], 0, `${what}: quality ${k} ${JSON.stringify(counts)}\n${examples.join("\n")}`);
  assert.is(q.deadLetters, q.invalidExpected, `${what}: every invalid record is a dead letter`);
}

test("model: timestamp formats, units, reasons, and the reference as of the event's time", () => {
  const day = Date.UTC(2026, 0, 1);
  for (
    const [ts, want] of [
      [1767225600.25, day + 250],
      [1767225600250, day + 250],
      ["2026-01-01T00:00:00.250Z", day + 250],
      ["2026-01-01T01:00:00.250+01:00", day + 250],
      ["2025-12-31T19:00:00-05:00", day],
      ["2026-01-01 00:00:00", day],
    ] as const
  ) assert.is(parseTimestamp(ts), want, String(ts));
  for (const bad of [0, "2026-02-30 10:00:00", "2026-13-45T99:00:00Z", "01/01/2026 00:00", "yesterday"]) {
    assert.type(parseTimestamp(bad), "string", String(bad));
  }
  const refs = new ReferenceTable();
  refs.set("tm-0001", {
    assignments: [
      { from: "2026-01-01T00:00:10Z", site: "lyon-coldstore", owner: "medipharm" },
      { from: "2025-01-01T00:00:00Z", site: "berlin-dc", owner: "nordfrost" },
    ],
  });
  const run = (o: Record<string, unknown>) =>
    processEvent(new TextEncoder().encode(JSON.stringify({ id: "e1", device: "tm-0001", ...o })), refs);
  const t = { kind: "temperature", unit: "F", value: 212, ts: 1767225609.999 };
  const before = run(t), after = run({ ...t, ts: 1767225610 });
  assert.ok(before.ok && after.ok);
  if (before.ok && after.ok) {
    assert.equal([before.record.value, before.record.unit, before.record.site], [100, "°C", "berlin-dc"]);
    assert.equal([after.record.site, after.record.owner, after.record.time], [
      "lyon-coldstore",
      "medipharm",
      "2026-01-01T00:00:10.000Z",
    ]);
  }
  const weight = run({ device: "tm-0001", kind: "weight", unit: "lb", value: 100, ts: 1767225600 });
  assert.ok(weight.ok && Math.abs(weight.record.value - 45.3592) < 1e-9);
  for (
    const [o, reason] of [
      [{ ...t, unit: "furlong" }, "bad_unit"],
      [{ ...t, value: "212" }, "wrong_type"],
      [{ ...t, value: 1000 }, "out_of_range"],
      [{ ...t, ts: "yesterday" }, "bad_timestamp"],
      [{ ...t, device: "tm-0002" }, "unknown_device"],
      [{ ...t, ts: undefined }, "missing_field"],
    ] as const
  ) {
    const r = run(o);
    assert.ok(!r.ok && r.reason === reason, `${JSON.stringify(o)}: ${JSON.stringify(r)}`);
  }
  const notJson = processEvent(new Uint8Array([123, 34, 0xff, 34, 125]), refs);
  assert.ok(!notJson.ok && notJson.reason === "bad_json");
  // The generator is a function of its seed.
  const a = generateEtl({ seed: 3, events: 500 }), b = generateEtl({ seed: 3, events: 500 });
  assert.equal(a.events.map((e) => e.bytes), b.events.map((e) => e.bytes));
  assert.equal(a.update, b.update);
});

test("embedded, generator mode: publishes, processes, stops; the streams hold the offline result exactly once", async () => {
  const seed = 5, events = 6000;
  const dir = await makeTempDir("ardea-etl-");
  try {
    const file = resolvePath(dir, "out.jsonl");
    const started = performance.now();
    const r = await runArdea([
      "run",
      "--quiet",
      "examples/apps/etl.ts",
      "--nats",
      nats.urls[0]!,
      "--seed",
      String(seed),
      "--events",
      String(events),
      "--out",
      file,
    ]);
    const took = (performance.now() - started) / 1000;
    assert.is(r.code, 0, show(r));
    const line = r.stdout.find((l) => l.startsWith("summary "));
    assert.ok(line !== undefined, show(r));
    const summary = JSON.parse(line!.slice(8)) as { events: number; eventsPerSec: number; quality: { bound: boolean } };
    assert.is(summary.events, events);
    assert.ok(summary.quality.bound, show(r));

    const dataset = generateEtl({ seed, events });
    const tag = datasetTag(dataset);
    const offline = runOffline({ seed, events }, dataset);
    const out = await readSubject(nc, "ETL_OUT", `etl.out.${tag}`);
    const dead = await readSubject(nc, "ETL_DEAD", `etl.dead.${tag}`);
    // Event i is input sequence first + i (the run purged the subject and published the data set in order).
    const input = await readSubject(nc, "ETL_IN", `etl.raw.${tag}`);
    assert.is(input.length, events);
    check(dataset, offline, out, dead, "embedded", input[0]!.seq);
    // --out FILE: the output records as JSON lines.
    const lines = (await readTextFile(file)).split("\n").filter((l) => l !== "");
    assert.equal(lines, out.map((m) => dec.decode(m.data)));
    console.log(
      `etl embedded (${runtimeName()}): ${events} events, ${out.length} records, ${dead.length} dead letters, ` +
        `${Math.round(summary.eventsPerSec)} events/s end to end; run ${took.toFixed(1)} s`,
    );
  } finally {
    await removePath(dir);
  }
});

test("without a NATS server it says ETL needs one and exits with code 2", async () => {
  const r = await runArdea(["run", "--quiet", "examples/apps/etl.ts", "--events", "10"], { ARDEA_NATS_URL: "" });
  assert.is(r.code, 2, show(r));
  assert.match(r.stderr.join("\n"), /etl: .*needs a NATS server with JetStream.*--nats/);
});

test("2 containers, --from-stream: a live reference update mid-run and a SIGKILL of a container; each record exactly once", async () => {
  const seed = 11, events = 20_000;
  const dataset = generateEtl({ seed, events });
  const offline = runOffline({ seed, events }, dataset);
  const { index } = dataset.update;
  const more = Math.min(events, index + 4000);
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, "ETLT_IN", ["etlt.raw"]);
  await ensureStream(jsm, "ETLT_OUT", ["etlt.out"]);
  await ensureStream(jsm, "ETLT_DEAD", ["etlt.dead"]);
  const kv = await nc.jetstream().views.kv("etlt_refs");
  await putReference(kv, dataset);
  // Before the update: every event whose time is before it.
  await publishEvents(nc, "etlt.raw", dataset, 0, index);
  const child = spawnArdea([
    ...submitOnContainers("examples/apps/etl.ts"),
    "--from-stream",
    "ETLT_IN",
    "--refs",
    "etlt_refs",
    "--out",
    "nats:etlt.out",
    "--dead-letter",
    "etlt.dead",
  ], { ARDEA_NATS_URL: nats.urls[0]! });
  const logs: string[] = [];
  const reading = Promise.all([collect(child.lines("stderr"), logs), collect(child.lines("stdout"), logs)]);
  const count = async () =>
    (await jsm.streams.info("ETLT_OUT")).state.messages + (await jsm.streams.info("ETLT_DEAD")).state.messages;
  const name = "etl-etlt_in";
  try {
    const started = performance.now();
    await until(`the events before the update\n${logs.join("\n")}`, async () => (await count()) >= index, 60_000);
    // The live update: both etl tasks apply it while they run.
    await putUpdate(kv, dataset);
    const applied = () => logs.filter((l) => l.includes(`reference ${dataset.update.device} →`)).length;
    await until(`both etl tasks applied the update\n${logs.join("\n")}`, () => applied() >= 2, 20_000);
    await publishEvents(nc, "etlt.raw", dataset, index, more);
    await until(`some events after the update\n${logs.join("\n")}`, async () => (await count()) >= index + 500, 30_000);
    const victim = (await (await Records.bind(nc))?.listContainers(name))?.find((c) => c.container === 1);
    assert.ok(victim !== undefined && victim.pid > 0, `container 1 is not running\n${logs.join("\n")}`);
    const before = await count();
    process.kill(victim!.pid, "SIGKILL");
    // The rest of the input while the run recovers.
    await publishEvents(nc, "etlt.raw", dataset, more);
    await until(
      `the whole output (${events})\n${logs.slice(-30).join("\n")}`,
      async () => (await count()) >= events,
      70_000,
    );
    const took = (performance.now() - started) / 1000;
    // Anything published twice would land by now.
    await sleep(1500);
    const kill = spawnArdea(["kill", name, "--wait-secs", "1"], { ARDEA_NATS_URL: nats.urls[0]! });
    await kill.exited;
    await child.exited;
    await reading;
    assert.ok(logs.some((l) => l.includes("rolls back")), `the kill caused a rollback\n${logs.join("\n")}`);
    const out = await readSubject(nc, "ETLT_OUT", "etlt.out");
    const dead = await readSubject(nc, "ETLT_DEAD", "etlt.dead");
    check(dataset, offline, out, dead, `after SIGKILL of container 1 (${before} of ${events} were out at the kill)`);
    const moved = out.map((m) => JSON.parse(dec.decode(m.data)) as CleanReading).filter((r) =>
      r.device === dataset.update.device
    );
    const newSite = dataset.update.ref.assignments.at(-1)!.site;
    assert.ok(
      moved.some((r) => r.site === newSite) && moved.some((r) => r.site !== newSite),
      "the update split the mover's records",
    );
    console.log(
      `etl 2 containers (${runtimeName()}): ${events} events → ${out.length} records + ${dead.length} dead letters exactly once; ` +
        `${before} were out at the SIGKILL; ${took.toFixed(1)} s from submit to the last output`,
    );
  } finally {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already exited
      }
    }
  }
});

test.run();
