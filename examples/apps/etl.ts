/**
 * ETL: raw sensor events from a JetStream stream are validated, normalised,
 * enriched from a live reference table and loaded into a JetStream output
 * stream, effectively once end to end; records that fail go to a
 * dead-letter stream with the reason and their original bytes.
 *
 *   JetStream ETL_IN ──► events ──► etl ─────────────────────► out ──► JetStream ETL_OUT
 *   (raw JSON bytes)    JetStream   (validate: zod             NatsSinkBolt   etl.out.<tag>
 *                       Spout ×2     normalise: dayjs, units   two-phase ×2
 *                                    enrich: KV reference)
 *                                         │ "dead" stream
 *                                         └───────────────────► dead ─► JetStream ETL_DEAD
 *                                               ▲               NatsSinkBolt   etl.dead.<tag>
 *                       NATS KV etl_refs ───────┘ watched live  two-phase ×1
 *
 * - `events`: `JetStreamSpout` on the input stream. EFFECTIVELY_ONCE: each
 *   task reads its partition of the stream (by sequence) and its position
 *   is saved in every checkpoint; after a failure every task rewinds to it.
 * - `etl` (×`--workers`): parses the bytes as UTF-8 JSON, validates them
 *   with a zod schema, converts the timestamp (epoch s/ms, ISO 8601 with
 *   `Z` or an offset, `YYYY-MM-DD HH:mm:ss` UTC) to epoch ms and ISO with
 *   dayjs and the value to a canonical unit (°F/K → °C, ratio → %,
 *   psi/hPa/bar → kPa, lb/g/oz → kg), checks its range, and adds the
 *   device's site and owner from the reference table, which it keeps in
 *   memory from a watch of the NATS KV bucket (updates apply while it
 *   runs). A device's value holds its assignment history; an event gets
 *   the assignment in force at its event time, so a replay after a failure
 *   enriches it the same way. Good records go on the default stream, dead
 *   letters (`{reason, detail, seq, original}`: `original` is the bytes in
 *   base64) on stream `dead`. The pure functions are in `etl/model.ts`.
 * - `out`, `dead`: `NatsSinkBolt`s in their two-phase EFFECTIVELY_ONCE mode:
 *   what a checkpoint produced is kept in the checkpoint and published once
 *   the checkpoint is committed everywhere, with message ids that the
 *   stream's duplicate window uses to drop a batch published again after a
 *   failure. So each input is in the output (or the dead letters) exactly
 *   once, even when a container is killed with SIGKILL.
 *
 * The generator (`etl/generator.ts`): a seeded cold-chain sensor fleet
 * (120 devices at 8 sites of 4 owners; temperature, humidity, pressure,
 * weight) whose five firmware vendors write time and units their own way;
 * about one reading per device every 30 s of event time from 2026-01-01;
 * 8% of the events carry one planted fault each (not JSON, missing field,
 * wrong type, unknown unit, unreadable timestamp, out-of-range value,
 * unregistered device); halfway, one device moves to another site and
 * owner (a live update of the reference bucket, in force from a given
 * second of event time). It knows the truth of every event.
 *
 * Libraries: zod (the record schema: validation with a reason per field),
 * dayjs (timestamp formats: strict parsing, UTC, offsets), nats (JetStream
 * streams and the KV bucket).
 *
 * Needs a NATS server with JetStream (`nats-server -js`): its input, its
 * output, its dead letters and its reference table live there. Without
 * `--nats` (or `ARDEA_NATS_URL`) it says so and exits with code 2.
 *
 * Modes:
 * - generator (no `--from-stream`): makes the streams and the bucket when
 *   missing, writes the reference table, publishes the generated events on
 *   `etl.raw.s<seed>-e<events>` of ETL_IN with the update of the reference
 *   halfway (all before processing, or with `--rate R` at R events a second
 *   while the topology runs, so that the update arrives live), processes
 *   them, and stops once the input has been idle for `--idle-ms` (2000).
 *   Every run starts over: it purges the data set's subjects and runs as
 *   `etl-<tag>-<run id>` (see the setup below). Embedded, it then reads the
 *   output and the dead letters back and checks them against the
 *   generator's truth (exit code 1 when the bound is not met). Under
 *   `ardea submit`, the submitting process publishes and the containers
 *   process.
 * - `--from-stream S`: processes stream S (raw JSON events, any subject)
 *   and runs until stopped (Ctrl-C, `ardea kill etl-<s>`), or until idle for
 *   `--idle-ms`. The reference bucket is yours to fill: one key per device,
 *   `{"assignments":[{"from":"2025-01-01T00:00:00Z","site":"…","owner":"…"}]}`.
 *
 * Flags: --seed N (1), --events N (50000), --duration D (event time to
 * generate instead), --rate R (publish while running; 0: publish first),
 * --from-stream S, --idle-ms N, --nats URL (or ARDEA_NATS_URL), --out SPEC
 * (`nats:SUBJECT` for the output records, default `etl.out.<tag>`; or a
 * file: the output records as JSON lines, read back from the stream at the
 * end of an embedded run), --dead-letter SUBJECT (default
 * `etl.dead.<tag>`), --refs BUCKET (generator: `etl_refs_<tag>`, else
 * `etl_refs`), --workers N (2), --spouts N (2), --mode
 * atmost|atleast|effectively (effectively).
 *
 *   nats-server -js &
 *   npx ardea run examples/apps/etl.ts --nats nats://127.0.0.1:4222 --events 20000
 *   deno run -A examples/apps/etl.ts --nats nats://127.0.0.1:4222 --seed 7
 *   ARDEA_NATS_URL=nats://127.0.0.1:4222 npx ardea submit examples/apps/etl.ts --containers 2 --wait -- --events 20000
 *   npx ardea submit examples/apps/etl.ts --containers 2 --wait --nats nats://127.0.0.1:4222 -- \
 *     --nats nats://127.0.0.1:4222 --from-stream RAW_EVENTS --refs devices --out nats:clean.readings
 *
 * @module
 */
import { z } from "zod";
import { AckPolicy, DeliverPolicy, type KvEntry, nanos, type NatsConnection, type QueuedIterator } from "nats";
import {
  BaseRichBolt,
  closeNats,
  connectNats,
  FileStateBackend,
  JetStreamSpout,
  type NatsSettings,
  NatsSinkBolt,
  type OutputCollector,
  type OutputFieldsDeclarer,
  parseNatsFlags,
  submit,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../../mod.ts";
import { args, env, exit, mainScript, resolvePath, writeStderr, writeTextFile } from "../../runtime/mod.ts";
import { LiveView, parseAppFlags, printSummary, reliabilityMode } from "./lib/mod.ts";
import {
  type CleanReading,
  type DeadLetter,
  DeviceRef,
  fromBase64,
  processEvent,
  ReferenceTable,
  toBase64,
} from "./etl/model.ts";
import { type EtlDataset, generateEtl } from "./etl/generator.ts";
import { meetsBound, score } from "./etl/offline.ts";
import {
  datasetTag,
  ensureEtlResources,
  ensureStream,
  feedDataset,
  publishDataset,
  purgeSubjects,
  putReference,
  readSubject,
  REFS_BUCKET,
  RUNS_BUCKET,
  STREAMS,
} from "./etl/streams.ts";

const APP = "etl";

const flags = parseAppFlags(APP, args(), {
  refs: z.string().regex(/^[A-Za-z0-9_-]+$/, "a KV bucket name").optional(),
  deadLetter: z.string().regex(/^[^\s*>]+$/, "a subject without wildcards").optional(),
  workers: z.coerce.number().int().min(1).max(64).default(2),
  spouts: z.coerce.number().int().min(1).max(64).default(2),
}, { events: 50_000, mode: "effectively" });

function usage(message: string): never {
  writeStderr(`${APP}: ${message}\n`);
  return exit(2);
}

let settings: NatsSettings;
try {
  settings = parseNatsFlags(flags.nats !== undefined ? { nats: flags.nats } : {}, env);
} catch {
  usage(
    "ETL reads and writes JetStream streams and a KV bucket, so it needs a NATS server with JetStream: " +
      "pass --nats nats://127.0.0.1:4222 or set ARDEA_NATS_URL (start one with `nats-server -js`)",
  );
}
if (flags.out !== undefined && flags.out.startsWith("nats:") && !/^nats:[^\s*>]+$/.test(flags.out)) {
  usage(`--out ${flags.out}: write nats:SUBJECT, a subject without wildcards`);
}

/**
 * A container of `ardea submit` imports the script from the topology's
 * bundle; the `ardea submit` command and an embedded run import the file.
 */
const inContainer = /[\\/]\.ardea[\\/]bundles[\\/]/.test(mainScript() ?? "");

// ---------------------------------------------------------------- the components

const utf8 = new TextEncoder();

/** Per process: the live line of the etl tasks running here, and the reference updates they applied. */
let live: LiveView | null = null;
const applied = new Set<string>();

/**
 * Validates, normalises and enriches each raw event; keeps the reference
 * table from a watch of the KV bucket. Emits the output record (JSON bytes)
 * on the default stream and the dead letter on stream "dead".
 */
class EtlBolt extends BaseRichBolt {
  private refs = new ReferenceTable();
  private collector!: OutputCollector;
  private nc: NatsConnection | null = null;
  private watch: QueuedIterator<KvEntry> | null = null;
  private label = "";

  constructor(readonly bucket: string, readonly nats: NatsSettings | undefined) {
    super();
  }

  override async prepare(_conf: TopologyConfig, context: TopologyContext, collector: OutputCollector) {
    this.collector = collector;
    this.refs = new ReferenceTable();
    this.label = `etl task ${context.getThisTaskId()}`;
    if (live === null) {
      live = new LiveView(APP);
      live.count("valid", 0);
      live.count("dead", 0);
    }
    this.nc = await connectNats(this.nats ?? parseNatsFlags({}, env), {
      name: `ardea ${context.getStormId()} ${this.label} (reference watch)`,
      reconnectForever: true,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const kv = await this.nc.jetstream().views.kv(this.bucket, { bindOnly: true });
      // The watch delivers every key's value, calls initializedFn, then delivers each change as it happens.
      let loaded = false;
      let initialized!: () => void;
      const ready = new Promise<void>((r) => (initialized = r));
      this.watch = await kv.watch({
        initializedFn: () => {
          loaded = true;
          initialized();
        },
      });
      void (async () => {
        for await (const e of this.watch!) this.apply(e, loaded);
      })().catch((e) => collector.reportError(e as Error));
      // Every event is enriched against the whole table: load it before the first one.
      await Promise.race([
        ready,
        new Promise((_, reject) =>
          timer = setTimeout(
            () => reject(new Error(`${this.label}: the reference bucket ${this.bucket} did not load in 10 s`)),
            10_000,
          )
        ),
      ]);
    } catch (e) {
      await this.cleanup();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    live.set("reference", `${this.refs.size} devices, ${applied.size} live updates`);
  }

  /** A change of the reference bucket: applied at once (`loaded`: after the initial load, so a live update). */
  private apply(e: KvEntry, loaded: boolean): void {
    if (e.operation !== "PUT") {
      this.refs.delete(e.key);
      return;
    }
    try {
      const ref = DeviceRef.parse(JSON.parse(e.string()));
      this.refs.set(e.key, ref);
      if (loaded) {
        applied.add(`${e.key}@${e.revision}`);
        const last = ref.assignments[ref.assignments.length - 1]!;
        live?.line(`${this.label}: reference ${e.key} → ${last.site} / ${last.owner} from ${last.from}`);
        live?.set("reference", `${this.refs.size} devices, ${applied.size} live updates`);
      }
    } catch (err) {
      this.collector.reportError(new Error(`reference ${e.key} (revision ${e.revision}) is ignored: ${err}`));
    }
  }

  execute(t: Tuple): void {
    const seq = t.getInteger(0);
    const bytes = t.getValue(1) as Uint8Array;
    const r = processEvent(bytes, this.refs);
    if (r.ok) {
      this.collector.emit(t, [utf8.encode(JSON.stringify(r.record))]);
      live!.count("valid");
    } else {
      const letter: DeadLetter = { reason: r.reason, detail: r.detail, seq, original: toBase64(bytes) };
      this.collector.emit("dead", t, [utf8.encode(JSON.stringify(letter))]);
      live!.count("dead");
    }
    this.collector.ack(t);
  }

  override async cleanup() {
    this.watch?.stop();
    this.watch = null;
    if (this.nc !== null) await closeNats(this.nc);
    this.nc = null;
  }

  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["data"]);
    d.declareStream("dead", ["data"]);
  }
}

// ---------------------------------------------------------------- setup

const fromStream = flags.fromStream;
const generator = fromStream === undefined;
// A container needs only the data set's tag, known without generating it unless --duration decides the count.
const dataset: EtlDataset | null = generator && !(inContainer && flags.duration === undefined)
  ? generateEtl({
    seed: flags.seed,
    events: flags.duration !== undefined ? undefined : flags.events,
    duration: flags.duration,
  })
  : null;
const tag = dataset !== null
  ? datasetTag(dataset)
  : generator
  ? `s${flags.seed}-e${flags.events}`
  : fromStream!.toLowerCase();
const inputStream = fromStream ?? STREAMS.input.name;
const inputSubject = generator ? `etl.raw.${tag}` : undefined;
const outFile = flags.out !== undefined && !flags.out.startsWith("nats:") ? flags.out : undefined;
const outSubject = flags.out?.startsWith("nats:") ? flags.out.slice(5) : `etl.out.${tag}`;
const deadSubject = flags.deadLetter ?? `etl.dead.${tag}`;
// A generated data set has its own reference bucket: device ids of other seeds would clash.
const bucket = flags.refs ?? (generator ? `${REFS_BUCKET}_${tag}` : REFS_BUCKET);
const nc = await connectNats(settings, { name: `${APP} setup` }).catch((e: Error) =>
  usage(`${e.message} (ETL needs a NATS server with JetStream)`)
);
/** With --rate: publishes the data set while the topology runs. */
let feed: (() => Promise<void>) | null = null;
/**
 * Generator mode: every run is a run of its own. It publishes its own copy
 * of the data set (after purging the data set's subjects), with message ids
 * that name the run, under a topology named after the run, so that its
 * output has message ids of its own too (a stream's duplicate window
 * outlives a purge). The run's id goes to the runs bucket, where the
 * containers of a submitted run read it.
 */
let run: string | undefined;
try {
  const kv = await ensureEtlResources(nc, bucket, generator);
  const jsm = await nc.jetstreamManager();
  if (fromStream !== undefined && (await jsm.streams.info(fromStream).catch(() => null)) === null) {
    usage(`--from-stream ${fromStream}: there is no such stream at ${settings.servers.join(",")}`);
  }
  for (const [subject, what] of [[outSubject, "--out"], [deadSubject, "--dead-letter"]] as const) {
    if (!(await jsm.streams.find(subject).then(() => true, () => false))) {
      // A subject of the user's that no stream captures: one stream for it.
      const stream = `ETL_${subject.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}`;
      await ensureStream(jsm, stream, [subject]);
      console.log(`[${APP}] ${what}: made stream ${stream} for ${subject}`);
    }
  }
  if (generator) {
    const runs = await nc.jetstream().views.kv(RUNS_BUCKET);
    if (inContainer || dataset === null) {
      run = (await runs.get(tag))?.string();
      if (run === undefined) throw new Error(`no run of data set ${tag} in the KV bucket ${RUNS_BUCKET}`);
    } else {
      run = Date.now().toString(36);
      await purgeSubjects(jsm, [inputSubject!, outSubject, deadSubject]);
      await runs.put(tag, run);
      const what =
        `reference: ${dataset.reference.size} devices in ${bucket}, ${dataset.update.device} moves at event ${dataset.update.index}`;
      if (flags.rate > 0) {
        // Published while the topology runs (after submit), the reference update live halfway.
        await putReference(kv, dataset);
        feed = () => feedDataset(nc, kv, inputSubject!, dataset, flags.rate, run);
        console.log(
          `[${APP}] publishing ${dataset.events.length} events on ${inputSubject} at ${flags.rate}/s; ${what}`,
        );
      } else {
        await publishDataset(nc, kv, inputSubject!, dataset, run);
        console.log(
          `[${APP}] ${dataset.events.length} events published on ${inputSubject} (stream ${inputStream}); ${what}`,
        );
      }
    }
  }
} catch (e) {
  await closeNats(nc);
  throw e;
}
if (inContainer) await closeNats(nc);
const name = run !== undefined ? `${APP}-${tag}-${run}` : `${APP}-${tag}`;

// ---------------------------------------------------------------- the topology

const natsOption = flags.nats !== undefined ? settings : undefined;
// Generator mode ends once the input is idle (paced input has gaps of a burst, 1/20 s; slow rates longer).
const idleMs = flags.idleMs ?? (generator ? Math.max(2000, flags.rate > 0 ? 3000 / flags.rate : 0) : 0);
const builder = new TopologyBuilder();
builder.setSpout(
  "events",
  () =>
    new JetStreamSpout({
      stream: inputStream,
      durable: name,
      ...(inputSubject !== undefined ? { filterSubject: inputSubject } : {}),
      decode: (m) => [m.seq, m.data],
      fields: ["seq", "data"],
      ...(idleMs > 0 ? { finishWhenIdleMs: idleMs } : {}),
      ...(natsOption !== undefined ? { nats: natsOption } : {}),
    }),
  flags.spouts,
);
builder.setBolt("etl", () => new EtlBolt(bucket, natsOption), flags.workers).shuffleGrouping("events");
const sink = (subject: string) => () =>
  new NatsSinkBolt({ subject, jetstream: true, ...(natsOption !== undefined ? { nats: natsOption } : {}) });
builder.setBolt("out", sink(outSubject), 2).shuffleGrouping("etl");
builder.setBolt("dead", sink(deadSubject), 1).shuffleGrouping("etl", "dead");

const started = Date.now();
const handle = await submit(name, {
  "topology.reliability.mode": reliabilityMode(flags.mode),
  "topology.stateful.checkpoint.interval.seconds": 0.5,
  // Bounds the longest recovery, which the output streams' duplicate window must cover (270 s; they keep 15 min).
  "topology.supervisor.max.consecutive.failures": 5,
}, builder.createTopology());

// ---------------------------------------------------------------- the summary (embedded runs)

const feeding = feed?.().catch((e: Error) => {
  writeStderr(`${APP}: publishing the events failed: ${e.message}\n`);
  void handle.kill();
});
// Under `ardea submit` the handle ends with the run in the containers; the command's own never does.
if (!inContainer) {
  try {
    await handle.done;
    await feeding;
    if (run !== undefined) {
      // Nothing resumes a generator run: its checkpoints and its durable consumer (ATLEAST_ONCE) can go.
      await dropCheckpoints(handle.config?.["topology.state.dir"]);
      await (await nc.jetstreamManager()).consumers.delete(inputStream, name).catch(() => {});
    }
    await summarise();
  } finally {
    await closeNats(nc);
  }
}

async function dropCheckpoints(dir: string | undefined): Promise<void> {
  if (dir === undefined || flags.mode !== "effectively") return;
  const backend = new FileStateBackend(resolvePath(dir));
  try {
    await backend.drop(name);
  } finally {
    await backend.close();
  }
}

/**
 * Generator mode: reads the output and the dead letters back, checks them
 * against the generator's truth and prints the summary (events/s from the
 * submission to the last message stored). With `--from-stream`: the counts
 * of this process's etl tasks (and the records read back for `--out FILE`).
 */
async function summarise(): Promise<void> {
  const dec = new TextDecoder();
  const jsm = await nc.jetstreamManager();
  live?.flush();
  const read = (subject: string) =>
    dataset !== null || (subject === outSubject && outFile !== undefined)
      ? jsm.streams.find(subject).then((stream) => readSubject(nc, stream, subject))
      : Promise.resolve([]);
  const [outputs, dead] = [await read(outSubject), await read(deadSubject)];
  if (outFile !== undefined) await writeTextFile(outFile, outputs.map((m) => dec.decode(m.data) + "\n").join(""));
  if (dataset === null) {
    const valid = live?.get("valid") ?? 0, invalid = live?.get("dead") ?? 0;
    const seconds = Math.max(0, Date.now() - idleMs - started) / 1000;
    console.log(`[${APP}] ${valid + invalid} events → ${valid} records on ${outSubject}, ${invalid} dead letters`);
    const eventsPerSec = seconds > 0 ? (valid + invalid) / seconds : 0;
    printSummary({
      app: APP,
      events: valid + invalid,
      seconds,
      eventsPerSec,
      quality: { records: valid, dead: invalid },
    });
    return;
  }
  const last = Math.max(started, ...outputs.slice(-1).map((m) => m.time), ...dead.slice(-1).map((m) => m.time));
  const events = dataset.events.length;
  const seconds = (last - started) / 1000;
  const q = score(
    dataset,
    outputs.map((m) => JSON.parse(dec.decode(m.data)) as CleanReading),
    dead.map((m) => {
      const d = JSON.parse(dec.decode(m.data)) as DeadLetter;
      return { ...d, bytes: fromBase64(d.original) };
    }),
    (await firstSeq()) ?? 1,
  );
  const { examples, ...counts } = q;
  for (const e of examples) console.log(`[${APP}] ${e}`);
  console.log(
    `[${APP}] ${events} events → ${outputs.length} records on ${outSubject}, ${dead.length} dead letters on ${deadSubject}`,
  );
  const bound = meetsBound(q);
  printSummary({
    app: APP,
    events,
    seconds,
    eventsPerSec: seconds > 0 ? events / seconds : 0,
    quality: { ...counts, bound },
  });
  if (!bound) exit(1);
}

/** The stream sequence of the data set's first event (the first message of its subject). */
async function firstSeq(): Promise<number | undefined> {
  const jsm = await nc.jetstreamManager();
  const ci = await jsm.consumers.add(inputStream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: inputSubject,
    inactive_threshold: nanos(10_000),
    mem_storage: true,
  });
  try {
    return (await (await nc.jetstream().consumers.get(inputStream, ci.name)).next({ expires: 2000 }))?.seq;
  } finally {
    await jsm.consumers.delete(inputStream, ci.name).catch(() => {});
  }
}
