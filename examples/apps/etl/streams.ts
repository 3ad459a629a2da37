/**
 * The ETL's JetStream side: its streams and reference bucket, publishing a
 * generated data set into them, and reading a subject back. Used by the
 * application (generator mode, its summary) and by its test.
 *
 * | what | stream / bucket | subjects |
 * | --- | --- | --- |
 * | raw events | `ETL_IN` | `etl.raw.>` (a generated data set on `etl.raw.<tag>`) |
 * | output records | `ETL_OUT` | `etl.out.>` |
 * | dead letters | `ETL_DEAD` | `etl.dead.>` |
 * | reference table | KV bucket `etl_refs` (a generated data set: `etl_refs_<tag>`) | one key per device |
 * | generator runs | KV bucket `etl_runs` | data set tag → the current run's id |
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, headers, type JetStreamManager, type KV, nanos, type NatsConnection } from "nats";
import type { EtlDataset } from "./generator.ts";

/** The streams the application makes when they are missing. */
export const STREAMS = {
  input: { name: "ETL_IN", subjects: ["etl.raw.>"] },
  output: { name: "ETL_OUT", subjects: ["etl.out.>"] },
  dead: { name: "ETL_DEAD", subjects: ["etl.dead.>"] },
} as const;

/** The reference bucket's default name. */
export const REFS_BUCKET = "etl_refs";

/**
 * The duplicate window of the streams the application makes: at least the
 * longest effectively-once recovery (`effectivelyOnceRecoveryMs` of the
 * run's config: 270 s with the application's settings), so that a batch
 * published again after a failure is dropped.
 */
export const DUPLICATE_WINDOW_MS = 15 * 60_000;

/**
 * Makes stream `name` on `subjects` unless it exists; raises the duplicate
 * window of an existing one that is shorter.
 *
 * @example
 * ```ts
 * import type { JetStreamManager } from "nats";
 * declare const jsm: JetStreamManager;
 * await ensureStream(jsm, STREAMS.output.name, [...STREAMS.output.subjects]);
 * ```
 */
export async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subjects: string[],
  duplicateWindowMs = DUPLICATE_WINDOW_MS,
): Promise<void> {
  const info = await jsm.streams.info(name).catch(() => null);
  if (info === null) {
    await jsm.streams.add({ name, subjects, duplicate_window: nanos(duplicateWindowMs) });
  } else if ((info.config.duplicate_window ?? 0) < nanos(duplicateWindowMs)) {
    await jsm.streams.update(name, { ...info.config, duplicate_window: nanos(duplicateWindowMs) });
  }
}

/** The application's streams (the input one too with `input`) and its bucket, made when missing. */
export async function ensureEtlResources(nc: NatsConnection, bucket = REFS_BUCKET, input = true): Promise<KV> {
  const jsm = await nc.jetstreamManager();
  for (const s of input ? Object.values(STREAMS) : [STREAMS.output, STREAMS.dead]) {
    await ensureStream(jsm, s.name, [...s.subjects]);
  }
  return await nc.jetstream().views.kv(bucket, { history: 5 });
}

/**
 * The KV bucket of generator-mode runs: data set tag → the id of its
 * current run, which the containers of a submitted run read to name the
 * topology as the submitting process did.
 */
export const RUNS_BUCKET = "etl_runs";

/** A data set's tag in subjects and names: `s<seed>-e<events>`. */
export function datasetTag(dataset: EtlDataset): string {
  return `s${dataset.seed}-e${dataset.events.length}`;
}

/**
 * The message id of event `index` (`Nats-Msg-Id`: publishing it again is
 * dropped): `etl/<tag>/<index>`, or `etl/<tag>/<run>/<index>` for a run that
 * publishes its own copy.
 */
function msgId(tag: string, index: number, run?: string): string {
  return run === undefined ? `etl/${tag}/${index}` : `etl/${tag}/${run}/${index}`;
}

const json = new TextEncoder();

/** Writes the reference table (every device) into the bucket. */
export async function putReference(kv: KV, dataset: EtlDataset): Promise<void> {
  await Promise.all([...dataset.reference].map(([device, ref]) => kv.put(device, json.encode(JSON.stringify(ref)))));
}

/** Writes the planned update (the mover's new history) into the bucket. */
export async function putUpdate(kv: KV, dataset: EtlDataset): Promise<void> {
  await kv.put(dataset.update.device, json.encode(JSON.stringify(dataset.update.ref)));
}

/** Publishes sent as core NATS messages between two flushes. */
const FAST_CHUNK = 5000;
/** How long the stream may take to store what the server has received without storing more. */
const STORE_STALL_MS = 1000;

/**
 * Publishes events `from` to `to - 1` of the data set on `subject`, in
 * order, each with its message id, and returns once the stream has them
 * all. A JetStream publish waits for its acknowledgement (a request: about
 * 60 µs of client CPU each), so they go as core NATS messages with the
 * message id header, which the stream stores the same way, and then the
 * stream's count of the subject must grow by as many; if it does not (a
 * message was lost on the way), the range is published again with
 * acknowledgements, and the duplicate window drops what the stream has.
 */
export async function publishEvents(
  nc: NatsConnection,
  subject: string,
  dataset: EtlDataset,
  from = 0,
  to = dataset.events.length,
  run?: string,
): Promise<void> {
  if (to <= from) return;
  const jsm = await nc.jetstreamManager();
  const stream = await jsm.streams.find(subject);
  const count = async () =>
    (await jsm.streams.info(stream, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
  const tag = datasetTag(dataset);
  const want = (await count()) + (to - from);
  for (let k = from; k < to; k++) {
    const h = headers();
    h.set("Nats-Msg-Id", msgId(tag, k, run));
    nc.publish(subject, dataset.events[k]!.bytes, { headers: h });
    if ((k - from + 1) % FAST_CHUNK === 0) await nc.flush();
  }
  await nc.flush();
  // The server has them all; the stream stores them a moment later.
  for (let last = -1, since = Date.now(); Date.now() - since < STORE_STALL_MS;) {
    const n = await count();
    if (n >= want) return;
    if (n !== last) [last, since] = [n, Date.now()];
    await new Promise((r) => setTimeout(r, 20));
  }
  const js = nc.jetstream();
  for (let i = from; i < to; i += 1000) {
    const acks = [];
    for (let k = i; k < Math.min(to, i + 1000); k++) {
      acks.push(js.publish(subject, dataset.events[k]!.bytes, { msgID: msgId(tag, k, run) }));
    }
    await Promise.all(acks);
  }
}

/**
 * Generator mode: the reference table, the events before the planned
 * update, the update, then the rest. `run` names this run's copy (see
 * {@link publishEvents}).
 */
export async function publishDataset(nc: NatsConnection, kv: KV, subject: string, dataset: EtlDataset, run?: string) {
  await putReference(kv, dataset);
  await publishEvents(nc, subject, dataset, 0, dataset.update.index, run);
  await putUpdate(kv, dataset);
  await publishEvents(nc, subject, dataset, dataset.update.index, dataset.events.length, run);
}

/** Removes every message of `subjects` from the streams that capture them. */
export async function purgeSubjects(jsm: JetStreamManager, subjects: string[]): Promise<void> {
  for (const subject of subjects) {
    const stream = await jsm.streams.find(subject).catch(() => null);
    if (stream !== null) await jsm.streams.purge(stream, { filter: subject });
  }
}

/**
 * Generator mode with `--rate`: publishes the data set while the topology
 * runs, at `rate` events per wall-clock second (in bursts, 20 a second):
 * the events before the planned update, the update of the reference
 * bucket, a pause of `pauseMs` (so that it reaches the running tasks before
 * the first event it applies to), then the rest. Write the reference table
 * first ({@link putReference}).
 */
export async function feedDataset(
  nc: NatsConnection,
  kv: KV,
  subject: string,
  dataset: EtlDataset,
  rate: number,
  run?: string,
  pauseMs = 250,
): Promise<void> {
  const burst = Math.max(1, Math.round(rate / 20));
  let start = Date.now();
  let sent = 0;
  const feed = async (from: number, to: number) => {
    for (let i = from; i < to; i += burst) {
      const end = Math.min(to, i + burst);
      await publishEvents(nc, subject, dataset, i, end, run);
      sent += end - i;
      const ahead = (sent * 1000) / rate - (Date.now() - start);
      if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
    }
  };
  await feed(0, dataset.update.index);
  await putUpdate(kv, dataset);
  await new Promise((r) => setTimeout(r, pauseMs));
  start += pauseMs;
  await feed(dataset.update.index, dataset.events.length);
}

/** A message read back. */
export interface StoredMessage {
  seq: number;
  data: Uint8Array;
  /** When the server stored it (epoch ms). */
  time: number;
}

/**
 * Every message of `subject` in `stream`, in order, through a throwaway
 * consumer.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const out = await readSubject(nc, "ETL_OUT", "etl.out.s1-e50000");
 * ```
 */
export async function readSubject(nc: NatsConnection, stream: string, subject: string): Promise<StoredMessage[]> {
  const jsm = await nc.jetstreamManager();
  const ci = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subject,
    inactive_threshold: nanos(30_000),
    mem_storage: true,
  });
  const out: StoredMessage[] = [];
  try {
    const total = ci.num_pending;
    const c = await nc.jetstream().consumers.get(stream, ci.name);
    while (out.length < total) {
      const batch = await c.fetch({ max_messages: Math.min(5000, total - out.length), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push({ seq: m.seq, data: m.data, time: Math.floor(m.info.timestampNanos / 1e6) });
      }
      if (got === 0) break;
    }
  } finally {
    await jsm.consumers.delete(stream, ci.name).catch(() => {});
  }
  return out;
}
