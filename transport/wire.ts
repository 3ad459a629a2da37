/**
 * The wire contract: every message that crosses a process boundary, its
 * subject, its shape, and the sequence of each protocol. Both sides import
 * this module; nothing else invents a message shape. Anything read from the
 * network is parsed here and a malformed message is a `WireError` (the
 * receiver drops it, counts it and logs it; it never crashes a container).
 *
 * Subjects (all under `ardea.<topology>.`):
 *
 * | subject | direction | payload |
 * | --- | --- | --- |
 * | `data.<c>` | any container → container c | {@link DataFrame}: tuples and end-of-input markers, msgpack; or the {@link DataChunk}s of one frame above `max_payload` |
 * | `acks.<c>` | any container → container c (holder of the roots) | {@link AckFrame}: raw little-endian int32 quads |
 * | `ctl` | master/CLI → every container | {@link ControlMessage}, msgpack |
 * | `events` | container → master | {@link ContainerEvent}, msgpack |
 * | `tap.<id>` | container → `ardea tap` | {@link TapTuple}, msgpack |
 * | `logs.<c>` | `ardea logs` ⇄ container c (request/reply) | {@link LogsRequest} → {@link LogsReply}, msgpack |
 * | `metrics` | container → trackers (`ardea ui --nats`) | {@link ContainerMetrics}, msgpack |
 *
 * Control-plane records live in the JetStream KV bucket {@link KV_BUCKET}
 * (key `<topology>` → {@link TopologyRecord}, `<topology>.c<i>` →
 * {@link ContainerRecord}, `<topology>.master` → {@link LeaseRecord});
 * `<topology>` there and in subjects is the name through
 * {@link topologyKey} / {@link subjectToken}: as it is when it has only
 * letters, digits, `_` and `-`, else with each other byte as `=XX`;
 * topology bundles live in the object store
 * {@link CODE_BUCKET} under their sha256.
 *
 * Sequences:
 *
 * - **Start.** `ardea submit` stores the bundle and a `SUBMITTED` record, the
 *   scheduler starts containers 0…N-1; each loads the bundle, builds its
 *   tasks, subscribes to its `data` and `acks` subjects, writes its
 *   container record and sends `ready`. When all N are ready the master
 *   publishes `start` on `ctl`, marks the record `RUNNING`, and containers
 *   open spouts. (No tuple is published before every subscriber exists: core
 *   NATS does not buffer for absent subscribers.)
 * - **Data.** A container batches cross-container tuples per destination
 *   container and flushes a `DataFrame` at its byte budget or at the end of
 *   the scheduler slice. A finished task's end-of-input marker travels in the
 *   same frames, after its last tuple (per-publisher order is kept by NATS),
 *   and so does a drained task's drain marker. A frame of one tuple above
 *   the server's `max_payload` goes as {@link DataChunk}s in a row, up to
 *   {@link MAX_FRAME_BYTES}; past that the sender fails the run. A value the
 *   frame encoder would change (a function, an unregistered class) fails
 *   the run too, naming component, stream and field. Frames from one container to
 *   another are numbered; a gap means NATS lost some (a server restarted, a
 *   client reconnected): in EFFECTIVELY_ONCE the receiver asks for a
 *   rollback, and so does any container or master whose NATS connection
 *   was re-established (what it sent or was sent meanwhile may be lost).
 * - **Acks.** An ack, fail or timeout reset for a root held by container c is
 *   appended to the `AckFrame` for c (root's local slot id, 60-bit delta);
 *   c's ledger applies it exactly as in embedded mode.
 * - **Backpressure.** A container whose mailboxes pass the high-water mark
 *   sends `{type:"bp", on:true, leaseMs}` on `ctl`, renewing it every
 *   leaseMs/3 while it lasts; `on:false` when it drains. Every container
 *   throttles its spouts while any unexpired lease is on, so a container that
 *   dies while throttling stalls the topology for at most one lease.
 *   Beneath the leases, credits bound what is in flight between two
 *   containers: data frames are numbered per destination, the receiver
 *   sends `CREDIT` quads in its ack frames for the frames it has taken in
 *   (none while its own mailboxes are over the mark), and a sender with more
 *   than a window of uncredited bytes to one container holds its spouts back
 *   until half of it is credited. A lease that arrives late can no longer
 *   let a fast spout flood a slow container.
 * - **End.** A container whose tasks have all finished sends `finished`;
 *   when all have, the master marks the record `FINISHED` and publishes
 *   `stop`. A container that cannot go on sends `failed` with the error; the
 *   master marks `FAILED` and publishes `stop`.
 * - **Heartbeat.** Every container sends `heartbeat` on `events` each second
 *   with its counters; the master notes silence.
 * - **Recovery.** When a container dies (or falls silent and is killed) the
 *   master publishes `lost` and starts it again; every container holds its
 *   spouts (as under backpressure) while a container is lost. When the new
 *   process is ready the master publishes `rejoin` and then `start`: the
 *   others re-send the end-of-input markers of their finished tasks to it,
 *   fail every pending tuple tree so that spouts replay at once (a tree may
 *   have had a tuple in the dead process), and release their spouts.
 * - **Checkpoints (EFFECTIVELY_ONCE).** The master publishes \`checkpoint\`
 *   {id} every interval (one at a time); each container's spouts save their
 *   state to the NATS state backend and send markers, which cross containers
 *   in data frames (stream index {@link CHECKPOINT_MARKER}) behind the tuples
 *   before them; bolts align and save. A container whose tasks have all
 *   saved (or finished) sends \`saved\` {id, tasks}; when every container has,
 *   the master commits the checkpoint in the backend and publishes
 *   \`committed\` (two-phase sinks commit then). A container that fails sends
 *   \`rollback\` and waits. The master then picks the checkpoint (the last
 *   committed, once no commit is in flight), writes the next generation
 *   with it in the record (`generation`, `restoreFrom`) and publishes
 *   \`rollback\` {generation, restoreFrom} on `ctl` (again every 2 s until
 *   every container is ready): each live container resets in place (its
 *   tasks end, a new stream manager on the new epoch, its tasks restored
 *   from that checkpoint, spouts rewound) and says `ready`; a container
 *   whose process died is started again and reads the same from the record;
 *   once all are ready the master publishes \`start\`. A container that asked
 *   for a rollback and hears none within 20 s exits (and the master restarts
 *   it as after a death). Only a process that died pays a start-up.
 * - **Restart and update.** \`restart\` (one container or all) makes the master
 *   stop and start containers as after a death, without using the restart
 *   budget. \`update\` follows the plan `ardea update` wrote in the record's
 *   `nextPlan` (parallelism per component, tasks, packing): the master
 *   deactivates the spouts, lets pending trees drain (up to 10 s; in
 *   EFFECTIVELY_ONCE it then takes a checkpoint), stops every container, makes
 *   `nextPlan` the running plan in the write of the next generation, and
 *   starts them again on it.
 * - **Master lease.** The master holds {@link LeaseRecord} (renewed every
 *   third of its 6 s) and measures container silence only while it is itself
 *   connected. A lease that stays expired is a lost master: a pool worker
 *   running containers of the topology takes the lease and follows them
 *   (starting the missing ones as after a death); otherwise a container whose
 *   local master process is gone, a container that saw the lease expired for
 *   30 s, or `ardea status` takes the lease under holder `lost:<who>`, records
 *   FAILED "master lost", gives the lease up and publishes `stop`. A master
 *   that finds its lease held by another steps down (a `lost:` holder: it
 *   ends the run).
 * - **Steering.** `activate`, `deactivate`, `kill` (with `drainMs`) are
 *   published on `ctl` by the CLI.
 * - **Tap.** `ardea tap` picks a random id, subscribes to `tap.<id>`, and
 *   publishes `{type:"tap", id, component, stream, sample, limit, leaseMs}`
 *   on `ctl`, renewing it every leaseMs/3. While the lease holds, each
 *   container publishes one in `sample` of the emits of (component, stream)
 *   by its tasks as a {@link TapTuple} on `tap.<id>`, at most `limit` (0: no
 *   limit) and at most {@link TAP_MAX_PER_SECOND} a second; the emit is only
 *   read (acking is unchanged). The CLI sends `{type:"untap", id}` when it
 *   stops; a CLI that dies stops the tap when its lease expires.
 * - **Metrics.** Every container publishes a {@link ContainerMetrics} on
 *   `metrics` each second (and a last one when it stops): its counters per
 *   task and component, latency summaries with the recent window's
 *   histograms behind them (`latencyBuckets`, and `buckets` of the user
 *   histograms, so a tracker merges percentiles over containers exactly),
 *   user metrics, backpressure, mailbox depths and its stream manager's
 *   frame counters. Nobody needs to listen; a tracker
 *   subscribes to {@link METRICS_WILDCARD} and to the `bp` messages on `ctl`
 *   (backpressure episodes). Per-task and per-component objects pass unknown
 *   fields through, so counters added later reach the tracker unchanged.
 * - **Logs.** Each container keeps its last log lines (crash stacks
 *   included) in a ring and answers a {@link LogsRequest} on `logs.<c>` with
 *   a {@link LogsReply} (the newest `lines`).
 *
 * @module
 */
import { z } from "zod";
import { createPackr, createStrictPackr, findUnencodable } from "./codec.ts";
import { ArdeaError, type EmitError } from "../topology/errors.ts";

/** KV bucket of topology and container records. */
export const KV_BUCKET = "ardea";
/** Object store of topology bundles, named by sha256. */
export const CODE_BUCKET = "ardea_code";
/** Version of this contract; a frame or record of another version is refused. */
export const WIRE_VERSION = 1;

/**
 * A message from the network that does not follow the contract.
 *
 * @example
 * ```ts
 * try { decodeDataFrame(bytes); } catch (e) { if (e instanceof WireError) dropped++; }
 * ```
 */
export class WireError extends ArdeaError {
  constructor(message: string) {
    super("BAD_WIRE_MESSAGE", message);
  }
}

/** The topology-name rule (also that of worker ids): 1-128 letters, digits, `_`, `.` or `-`, not starting with a sign. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Checks a topology name against the one rule every part applies (submit,
 * records, subjects); throws `ArdeaError` `BAD_NAME` naming the rule.
 *
 * @example
 * ```ts
 * checkTopologyName("word-count.v2"); // ok
 * checkTopologyName("a b"); // throws BAD_NAME
 * ```
 */
export function checkTopologyName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ArdeaError(
      "BAD_NAME",
      `topology name ${JSON.stringify(name)} must be 1-128 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
}

/**
 * Subject names of one topology.
 *
 * @example
 * ```ts
 * subjects("wc").data(1); // "ardea.wc.data.1"
 * ```
 */
export function subjects(topology: string) {
  if (!NAME.test(topology)) throw new WireError(`bad topology name ${JSON.stringify(topology)}`);
  const p = `ardea.${subjectToken(topology)}`;
  return {
    data: (container: number) => `${p}.data.${container}`,
    acks: (container: number) => `${p}.acks.${container}`,
    ctl: `${p}.ctl`,
    events: `${p}.events`,
    tap: (id: string) => `${p}.tap.${id}`,
    logs: (container: number) => `${p}.logs.${container}`,
    metrics: `${p}.metrics`,
  } as const;
}

/** Subject that matches the `metrics` subject of every topology (for a tracker). */
export const METRICS_WILDCARD = "ardea.*.metrics";
/** Subject that matches the `ctl` subject of every topology (a tracker reads `bp` there). */
export const CONTROL_WILDCARD = "ardea.*.ctl";

const utf8 = new TextEncoder();

/**
 * A name as one NATS subject token or KV key part, one to one: ASCII
 * letters, digits, `_` and `-` stay as they are (so names of those keep
 * their keys and subjects), every other UTF-8 byte becomes `=XX` (`.` is
 * `=2E`). The same encoding as the state backends' keys.
 */
function nameToken(name: string): string {
  if (/^[A-Za-z0-9_-]*$/.test(name)) return name;
  let out = "";
  for (const b of utf8.encode(name)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The subject token of a topology name (`subjects(name)` uses it after
 * `ardea.`); two names never share one.
 *
 * @example
 * ```ts
 * subjectToken("wc.v2"); // "wc=2Ev2" (and "wc_v2" stays "wc_v2")
 * ```
 */
export function subjectToken(topology: string): string {
  return nameToken(topology);
}

// ---------------------------------------------------------------- data frames

/** Stream index of an end-of-input marker in a data frame. */
export const END_OF_INPUT = -1;
/** Stream index of a checkpoint marker in a data frame; its id rides in the `root` entry. */
export const CHECKPOINT_MARKER = -2;
/**
 * Stream index of a drain marker in a data frame: the source task has
 * emitted all of its new input while some of its trees are still open
 * (the first phase of end of input; see actors/task_host.ts `EndOfInput`).
 */
export const DRAIN_MARKER = -3;
/** Entries per tuple in {@link DataFrame.flat}. */
export const TUPLE_WIDTH = 8;

/**
 * Tuples and markers for one container, flattened: for each tuple
 * `destTask, srcTask, streamIndex, values, root, eh, el, more` (8 entries;
 * `streamIndex` indexes the topology's stream table, {@link streamTable};
 * `root` is -1 for untracked tuples; `more` is null or [root, hi, lo, …]).
 * An end-of-input marker is `destTask, srcTask, -1, null, -1, 0, 0, null`;
 * a drain marker the same with stream index -3.
 *
 * `seq` numbers the frames from one container to another within a run
 * (1, 2, 3, …): core NATS may lose messages when a server restarts or a
 * client reconnects, and a receiver that sees a gap knows tuples are missing
 * (in EFFECTIVELY_ONCE it rolls every container back).
 */
export interface DataFrame {
  readonly from: number;
  readonly epoch: number;
  readonly seq: number;
  readonly flat: unknown[];
}

/**
 * The stream table both sides build from the logical plan: index →
 * `[component, stream]`, sorted, so a tuple names its stream with one number.
 *
 * @example
 * ```ts
 * streamTable([["split", ["default"]], ["lines", ["default"]]]); // [["lines","default"],["split","default"]]
 * ```
 */
export function streamTable(components: Iterable<[string, Iterable<string>]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [c, streams] of components) for (const s of streams) out.push([c, s]);
  return out.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
}

const packr = createPackr();
/**
 * Data frames carry user values: this encoder throws on a value it would
 * change (a function, an unregistered class instance) instead of writing
 * `undefined` or a plain map; the stream manager names it
 * ({@link findUnencodable}).
 */
const framePackr = createStrictPackr();

/**
 * Encodes a data frame. Throws when a tuple holds a value that cannot cross
 * unchanged (see `createStrictPackr` in codec.ts).
 *
 * @example
 * ```ts
 * const bytes = encodeDataFrame({ from: 0, epoch: 0, seq: 1, flat: [5, 1, 0, ["the"], -1, 0, 0, null] });
 * ```
 */
export function encodeDataFrame(f: DataFrame): Uint8Array {
  return framePackr.pack([WIRE_VERSION, f.from, f.epoch, f.flat, f.seq]);
}

/**
 * The first field of `values` that {@link encodeDataFrame} refuses, as an
 * `EmitError` naming the field and what it holds (`where` names the emit),
 * or `null`. For the error path only.
 *
 * @example
 * ```ts
 * unencodableField([() => 1], (i) => "f", '"x" emitting on stream "default"'); // EmitError NOT_SERIALIZABLE
 * ```
 */
export function unencodableField(values: readonly unknown[], fieldName: (i: number) => string, where: string): EmitError | null {
  return findUnencodable(framePackr, values, fieldName, where);
}

/**
 * Largest data frame (bytes, encoded) sent between containers: a frame
 * (one large tuple) above the server's `max_payload` travels as
 * {@link DataChunk}s, and one above this ends the run FAILED; a receiver
 * holds at most this much per sender while it reassembles one. Kept below
 * nats-server's default `max_pending` (64 MB), past which it would cut off
 * a receiver that reads a burst of chunks too slowly.
 */
export const MAX_FRAME_BYTES = 56 * 1024 * 1024;
/** Bytes of a chunk message beyond its slice of the frame (version, ids, bin header), rounded up. */
export const CHUNK_OVERHEAD = 64;

/**
 * One slice of an encoded data frame too large for one NATS message, on
 * the same `data.<c>` subject: `[version, from, epoch, seq, part, parts,
 * bytes]` (7 entries; a frame has 5). A sender publishes the `parts` slices
 * of frame `seq` one after another; the receiver keeps one reassembly per
 * sender and gives it up at any message out of that order, so a lost
 * slice loses its frame and nothing else (the sequence gap is seen as for
 * any lost frame).
 */
export interface DataChunk {
  readonly from: number;
  readonly epoch: number;
  readonly seq: number;
  readonly part: number;
  readonly parts: number;
  readonly bytes: Uint8Array;
}

/**
 * Splits an encoded data frame into chunk messages of at most `maxPayload`
 * bytes each.
 *
 * @example
 * ```ts
 * for (const m of encodeDataChunks(frameBytes, { from: 0, epoch, seq }, 1024 * 1024)) nc.publish(subject, m);
 * ```
 */
export function encodeDataChunks(frame: Uint8Array, id: { from: number; epoch: number; seq: number }, maxPayload: number): Uint8Array[] {
  const size = Math.max(1, maxPayload - CHUNK_OVERHEAD);
  const parts = Math.ceil(frame.length / size);
  const out: Uint8Array[] = [];
  for (let p = 0; p < parts; p++) {
    out.push(packr.pack([WIRE_VERSION, id.from, id.epoch, id.seq, p, parts, frame.subarray(p * size, (p + 1) * size)]));
  }
  return out;
}

/**
 * Decodes and checks a message of a `data.<c>` subject: a data frame or a
 * chunk of one ({@link DataChunk}, told apart by `"part" in m`); throws
 * `WireError`.
 *
 * @example
 * ```ts
 * const m = decodeDataMessage(bytes);
 * if ("part" in m) reassemble(m); else deliver(m.flat);
 * ```
 */
export function decodeDataMessage(bytes: Uint8Array): DataFrame | DataChunk {
  let v: unknown;
  try {
    v = framePackr.unpack(bytes);
  } catch (e) {
    throw new WireError(`data frame is not msgpack: ${(e as Error).message}`);
  }
  if (Array.isArray(v) && v.length === 7) return checkChunk(v);
  return checkFrame(v);
}

function checkChunk(v: unknown[]): DataChunk {
  const [version, from, epoch, seq, part, parts, data] = v;
  if (version !== WIRE_VERSION) throw new WireError(`data chunk of wire version ${String(version)}, expected ${WIRE_VERSION}`);
  if (!Number.isInteger(from) || (from as number) < 0) throw new WireError("data chunk: bad sender container");
  if (!Number.isInteger(epoch)) throw new WireError("data chunk: bad epoch");
  if (!Number.isInteger(seq) || (seq as number) < 1) throw new WireError("data chunk: bad sequence number");
  if (!Number.isInteger(parts) || (parts as number) < 2 || !Number.isInteger(part) || (part as number) < 0 || (part as number) >= (parts as number)) {
    throw new WireError("data chunk: bad part number");
  }
  if (!(data instanceof Uint8Array)) throw new WireError("data chunk: no bytes");
  return { from: from as number, epoch: epoch as number, seq: seq as number, part: part as number, parts: parts as number, bytes: data };
}

/**
 * Decodes and checks a data frame; throws `WireError`. Per-tuple fields are
 * checked for type here so the engine can trust them (tasks and streams are
 * range-checked by the receiver, which knows the plan).
 *
 * @example
 * ```ts
 * const frame = decodeDataFrame(bytes);
 * ```
 */
export function decodeDataFrame(bytes: Uint8Array): DataFrame {
  let v: unknown;
  try {
    v = framePackr.unpack(bytes);
  } catch (e) {
    throw new WireError(`data frame is not msgpack: ${(e as Error).message}`);
  }
  return checkFrame(v);
}

function checkFrame(v: unknown): DataFrame {
  if (!Array.isArray(v) || v.length !== 5) throw new WireError("data frame is not [version, from, epoch, flat, seq]");
  const [version, from, epoch, flat, seq] = v;
  if (version !== WIRE_VERSION) throw new WireError(`data frame of wire version ${String(version)}, expected ${WIRE_VERSION}`);
  if (!Number.isInteger(from) || (from as number) < 0) throw new WireError("data frame: bad sender container");
  if (!Number.isInteger(epoch)) throw new WireError("data frame: bad epoch");
  if (!Number.isInteger(seq) || (seq as number) < 1) throw new WireError("data frame: bad sequence number");
  if (!Array.isArray(flat) || flat.length % TUPLE_WIDTH !== 0) throw new WireError("data frame: tuples are not a flat list of 8-entry records");
  for (let i = 0; i < flat.length; i += TUPLE_WIDTH) {
    const dest = flat[i], src = flat[i + 1], stream = flat[i + 2], values = flat[i + 3];
    const root = flat[i + 4], eh = flat[i + 5], el = flat[i + 6], more = flat[i + 7];
    if (!Number.isInteger(dest) || !Number.isInteger(src) || !Number.isInteger(stream)) {
      throw new WireError(`data frame: tuple ${i / TUPLE_WIDTH} has a non-integer task or stream`);
    }
    if (stream === END_OF_INPUT || stream === DRAIN_MARKER) continue;
    if (stream === CHECKPOINT_MARKER) {
      if (!Number.isInteger(root) || (root as number) < 1) throw new WireError(`data frame: checkpoint marker ${i / TUPLE_WIDTH} has no checkpoint id`);
      continue;
    }
    if (!Array.isArray(values)) throw new WireError(`data frame: tuple ${i / TUPLE_WIDTH} has no values array`);
    if (typeof root !== "number" || !Number.isInteger(eh) || !Number.isInteger(el)) {
      throw new WireError(`data frame: tuple ${i / TUPLE_WIDTH} has bad tree ids`);
    }
    if (more !== null && (!Array.isArray(more) || more.length % 3 !== 0 || !more.every(Number.isInteger))) {
      throw new WireError(`data frame: tuple ${i / TUPLE_WIDTH} has bad extra roots`);
    }
  }
  return { from: from as number, epoch: epoch as number, seq: seq as number, flat };
}

// ---------------------------------------------------------------- ack frames

/**
 * Ack-frame operations. `CREDIT` is flow control, not acking: the quad
 * `CREDIT, fromContainer, seq, 0` says "container `fromContainer` has taken in
 * your data frames up to `seq`": the sender may have at most a window of
 * bytes in frames not credited yet, and holds its spouts back past it. A
 * receiver whose mailboxes are over their high-water mark withholds credit.
 */
export const AckOp = { XOR: 0, FAIL: 1, TOUCH: 2, CREDIT: 3 } as const;
const ACK_MAGIC = 0x314b5241; // "ARK1" little-endian
/** Words before the deltas: magic, epoch. */
const ACK_HEADER = 2;

/**
 * The epoch of one run of a topology: every data and ack frame and every
 * container event carries it, and a receiver drops those of another run (a
 * container left over from an earlier submission of the same name) or of an
 * earlier generation of this run (the master relaunches every container
 * after an EFFECTIVELY_ONCE rollback or an update, and bumps the record's
 * `generation` first: a process of the previous generation still draining
 * cannot reach the new one).
 *
 * @example
 * ```ts
 * const epoch = runEpoch(record.submittedAt, record.generation);
 * ```
 */
export function runEpoch(submittedAt: number, generation = 0): number {
  const base = (submittedAt % 0x7fffffff) | 0;
  return generation === 0 ? base : (base ^ Math.imul(generation, 0x9e3779b1)) | 0;
}

/**
 * Ack deltas for the ledger of one container: quads `op, localRoot, hi, lo`
 * as little-endian int32 after a magic word and the run's epoch. Built in an `Int32Array` that
 * the sender reuses; sent as its bytes.
 *
 * @example
 * ```ts
 * const w = new AckFrameWriter();
 * w.add(AckOp.XOR, 17, 0x1234, 0x5678);
 * nc.publish(subject, w.take());
 * ```
 */
export class AckFrameWriter {
  #buf = new Int32Array(ACK_HEADER + 4 * 256);
  #n = 0;

  /** `epoch`: the run the deltas belong to (see {@link runEpoch}). */
  constructor(readonly epoch = 0) {}

  /** Number of deltas waiting. */
  get size(): number {
    return this.#n;
  }

  /** Appends one delta. */
  add(op: number, localRoot: number, hi: number, lo: number): void {
    let at = ACK_HEADER + this.#n * 4;
    if (at + 4 > this.#buf.length) {
      const b = new Int32Array(this.#buf.length * 2);
      b.set(this.#buf);
      this.#buf = b;
    }
    const buf = this.#buf;
    buf[at++] = op;
    buf[at++] = localRoot;
    buf[at++] = hi;
    buf[at] = lo;
    this.#n++;
  }

  /** The frame's bytes (a copy); the writer is empty afterwards. */
  take(): Uint8Array {
    this.#buf[0] = ACK_MAGIC;
    this.#buf[1] = this.epoch;
    const bytes = new Uint8Array(this.#buf.buffer.slice(0, (ACK_HEADER + this.#n * 4) * 4));
    this.#n = 0;
    return bytes;
  }
}

/**
 * Reads an ack frame; throws `WireError` when it is not one. Little-endian
 * hosts only (checked by the magic word).
 *
 * @example
 * ```ts
 * const { deltas: q } = decodeAckFrame(bytes);
 * for (let i = 0; i < q.length; i += 4) apply(q[i], q[i + 1], q[i + 2], q[i + 3]);
 * ```
 */
export function decodeAckFrame(bytes: Uint8Array): { epoch: number; deltas: Int32Array } {
  if (bytes.byteLength < ACK_HEADER * 4 || (bytes.byteLength - ACK_HEADER * 4) % 16 !== 0) {
    throw new WireError(`ack frame of ${bytes.byteLength} bytes is not a magic word, an epoch and 16-byte deltas`);
  }
  const copy = new Int32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  if (copy[0] !== ACK_MAGIC) throw new WireError("ack frame has a bad magic word");
  const q = copy.subarray(ACK_HEADER);
  for (let i = 0; i < q.length; i += 4) {
    if (q[i]! < 0 || q[i]! > 3) throw new WireError(`ack frame: unknown operation ${q[i]}`);
    if (q[i + 1]! < 0) throw new WireError("ack frame: negative root");
  }
  return { epoch: copy[1]!, deltas: q };
}

// ---------------------------------------------------------------- control plane

const controlSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("start") }),
  z.object({ type: z.literal("activate") }),
  z.object({ type: z.literal("deactivate") }),
  z.object({ type: z.literal("kill"), drainMs: z.number().nonnegative().default(0) }),
  z.object({ type: z.literal("stop"), state: z.enum(["FINISHED", "KILLED", "FAILED"]) }),
  z.object({ type: z.literal("lost"), container: z.number().int().nonnegative() }),
  z.object({ type: z.literal("rejoin"), container: z.number().int().nonnegative() }),
  z.object({ type: z.literal("restart"), container: z.number().int().nonnegative().optional() }),
  z.object({ type: z.literal("update") }),
  z.object({ type: z.literal("checkpoint"), id: z.number().int().positive() }),
  z.object({ type: z.literal("committed"), id: z.number().int().positive() }),
  z.object({ type: z.literal("rollback"), generation: z.number().int().positive(), restoreFrom: z.number().int().nonnegative() }),
  z.object({
    type: z.literal("tap"),
    id: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
    component: z.string(),
    stream: z.string(),
    sample: z.number().int().positive(),
    limit: z.number().int().nonnegative(),
    leaseMs: z.number().positive().max(60_000),
  }),
  z.object({ type: z.literal("untap"), id: z.string() }),
  z.object({
    type: z.literal("bp"),
    container: z.number().int().nonnegative(),
    on: z.boolean(),
    leaseMs: z.number().positive(),
    component: z.string(),
  }),
]);

/** A message on the `ctl` subject. */
export type ControlMessage = z.infer<typeof controlSchema>;

/** Errors of one component in a heartbeat. */
const componentErrorsSchema = z.object({
  errors: z.number(),
  restarts: z.number(),
  lastError: z.string().nullable(),
  /** When the last error happened (ms since the epoch), or null. */
  lastErrorAt: z.number().nullable(),
  /**
   * Tasks whose awaited call has not settled for `topology.task.stuck.warn.secs`
   * (absent when none, and from containers older than this field).
   */
  stuckTasks: z.number().int().nonnegative().optional(),
});

/** The tuple counters a heartbeat and a component's metrics share. */
const tupleCounters = {
  emitted: z.number(),
  executed: z.number(),
  acked: z.number(),
  failed: z.number(),
  timedOut: z.number(),
  pending: z.number(),
  restarts: z.number(),
};

const statsSchema = z.object({
  /** Per component, when the container hosts tasks of it. */
  components: z.record(z.string(), componentErrorsSchema).optional(),
  ...tupleCounters,
  dropped: z.number(),
  backpressure: z.boolean(),
}).passthrough();

/** Every container event names its container and its run ({@link runEpoch}). */
const from = { container: z.number().int().nonnegative(), epoch: z.number().int() };

const eventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready"), ...from, pid: z.number().int(), host: z.string() }),
  z.object({ type: z.literal("finished"), ...from }),
  z.object({ type: z.literal("failed"), ...from, error: z.string() }),
  z.object({ type: z.literal("saved"), ...from, id: z.number().int().positive(), tasks: z.array(z.string()) }),
  z.object({ type: z.literal("rollback"), ...from, error: z.string() }),
  z.object({
    type: z.literal("heartbeat"),
    ...from,
    pid: z.number().int(),
    host: z.string(),
    ts: z.number(),
    stats: statsSchema,
  }),
]);

/** A message on the `events` subject. */
export type ContainerEvent = z.infer<typeof eventSchema>;
/** Counters a container reports in its heartbeat. */
export type ContainerStats = z.infer<typeof statsSchema>;

function decodeWith<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch (e) {
    throw new WireError(`${what} is not msgpack: ${(e as Error).message}`);
  }
  const r = schema.safeParse(v);
  if (!r.success) throw new WireError(`${what}: ${r.error.issues[0]!.message} at ${r.error.issues[0]!.path.join(".") || "(root)"}`);
  return r.data;
}

/**
 * Encodes a control message or container event.
 *
 * @example
 * ```ts
 * nc.publish(subjects("wc").ctl, encodeMessage({ type: "start" }));
 * ```
 */
export function encodeMessage(m: ControlMessage | ContainerEvent): Uint8Array {
  return packr.pack(m);
}

/**
 * Decodes and checks a control message; throws `WireError`.
 *
 * @example
 * ```ts
 * const m = decodeControl(msg.data);
 * ```
 */
export function decodeControl(bytes: Uint8Array): ControlMessage {
  return decodeWith(controlSchema, bytes, "control message");
}

/**
 * Decodes and checks a container event; throws `WireError`.
 *
 * @example
 * ```ts
 * const e = decodeEvent(msg.data);
 * ```
 */
export function decodeEvent(bytes: Uint8Array): ContainerEvent {
  return decodeWith(eventSchema, bytes, "container event");
}

// ---------------------------------------------------------------- tap and logs

/** Most tuples a container publishes a second for one tap. */
export const TAP_MAX_PER_SECOND = 200;

const tapTupleSchema = z.object({
  id: z.string(),
  container: z.number().int().nonnegative(),
  task: z.number().int(),
  component: z.string(),
  stream: z.string(),
  /** Ms since the epoch at the emit. */
  ts: z.number(),
  /** The emitted values; each value msgpack cannot carry is replaced by its `String()`. */
  values: z.array(z.unknown()),
});

/** A sampled emit on `tap.<id>`. */
export type TapTuple = z.infer<typeof tapTupleSchema>;

const logsRequestSchema = z.object({ lines: z.number().int().positive().max(100_000) });
const logsReplySchema = z.object({
  container: z.number().int().nonnegative(),
  pid: z.number().int(),
  host: z.string(),
  /** Oldest first: ms since the epoch and the line. */
  lines: z.array(z.tuple([z.number(), z.string()])),
  /** Lines the ring let go since the container started. */
  dropped: z.number().int().nonnegative(),
});

/** A request for a container's recent log lines. */
export type LogsRequest = z.infer<typeof logsRequestSchema>;
/** A container's recent log lines. */
export type LogsReply = z.infer<typeof logsReplySchema>;

/**
 * Encodes a tap tuple, a logs request or a logs reply (msgpack). A tap
 * tuple whose values msgpack refuses is sent with each value as a string.
 *
 * @example
 * ```ts
 * nc.publish(subjects("wc").tap(id), encodeObservation({ id, container: 0, task: 3, component: "split", stream: "default", ts: Date.now(), values: ["a"] }));
 * ```
 */
export function encodeObservation(m: TapTuple | LogsRequest | LogsReply): Uint8Array {
  try {
    return packr.pack(m);
  } catch (e) {
    if (!("values" in m)) throw e;
    return packr.pack({ ...m, values: m.values.map((v) => String(v)) });
  }
}

/** Decoders of tap and logs messages; each throws `WireError`. */
export const decodeObservation = {
  tapTuple: (b: Uint8Array): TapTuple => decodeWith(tapTupleSchema, b, "tap tuple"),
  logsRequest: (b: Uint8Array): LogsRequest => decodeWith(logsRequestSchema, b, "logs request"),
  logsReply: (b: Uint8Array): LogsReply => decodeWith(logsReplySchema, b, "logs reply"),
};

// ---------------------------------------------------------------- metrics

const latencySummarySchema = z.object({
  count: z.number(),
  meanMs: z.number(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  p999Ms: z.number(),
  maxMs: z.number(),
}).passthrough();

/** Run totals of sampled latencies (`allTime`). */
const latencyTotalsSchema = z.object({ count: z.number(), sumMs: z.number(), meanMs: z.number(), maxMs: z.number() }).passthrough();

/**
 * A histogram's non-empty buckets (metrics/latency.ts `HistogramBuckets`):
 * `counts` holds pairs (gap from the previous bucket index, count).
 */
const bucketsSchema = z.object({
  sum: z.number(),
  max: z.number(),
  counts: z.array(z.number()).max(2 * 4096),
});

const userMetricsSchema = z.object({
  counters: z.record(z.string(), z.number()).optional(),
  gauges: z.record(z.string(), z.number()).optional(),
  histograms: z.record(
    z.string(),
    z.object({
      count: z.number(),
      sum: z.number(),
      window: z.object({
        count: z.number(),
        mean: z.number(),
        min: z.number(),
        p50: z.number(),
        p99: z.number(),
        p999: z.number(),
        max: z.number(),
      }).nullable(),
      /** The window's buckets (components only). */
      buckets: bucketsSchema.nullable().optional(),
    }),
  ).optional(),
  meters: z.record(z.string(), z.object({ count: z.number(), ratePerSec: z.number() })).optional(),
  metrics: z.record(z.string(), z.union([z.number(), z.record(z.string(), z.number())])).optional(),
});

const kindSchema = z.enum(["spout", "bolt"]);

/** Counters of one task (the engine's `TaskStats`); fields added later pass through. */
const taskMetricsSchema = z.object({
  component: z.string(),
  kind: kindSchema,
  emitted: z.number(),
  executed: z.number(),
  acked: z.number(),
  failed: z.number(),
  timedOut: z.number(),
  queued: z.number(),
  restarts: z.number(),
  errors: z.number(),
  capacity: z.number(),
  nextTupleCount: z.number().optional(),
  userMetrics: userMetricsSchema.optional(),
  /** How long the task's awaited call has not settled (ms), once past `topology.task.stuck.warn.secs`; else 0. */
  stuckMs: z.number().optional(),
}).passthrough();

/** Counters of one component over this container's tasks (the engine's `ComponentStats`). */
const componentMetricsSchema = z.object({
  kind: kindSchema,
  tasks: z.number(),
  ...tupleCounters,
  errors: z.number(),
  lastError: z.string().nullable(),
  lastErrorAt: z.number().nullable().optional(),
  /** Stack of the last error, when it had one. */
  lastErrorStack: z.string().nullable().optional(),
  completeLatencyMs: z.number(),
  queued: z.number(),
  capacity: z.number().optional(),
  nextTupleCount: z.number().optional(),
  executeLatency: latencySummarySchema.nullable().optional(),
  processLatency: latencySummarySchema.nullable().optional(),
  completeLatency: latencySummarySchema.nullable().optional(),
  allTime: z.object({
    executeLatency: latencyTotalsSchema.nullable().optional(),
    processLatency: latencyTotalsSchema.nullable().optional(),
    completeLatency: latencyTotalsSchema.nullable().optional(),
  }).optional(),
  /** The recent window's histograms behind the three latency summaries, for trackers to merge exactly. */
  latencyBuckets: z.object({
    executeLatency: bucketsSchema.nullable().optional(),
    processLatency: bucketsSchema.nullable().optional(),
    completeLatency: bucketsSchema.nullable().optional(),
  }).optional(),
  userMetrics: userMetricsSchema.optional(),
}).passthrough();

const containerMetricsSchema = z.object({
  version: z.literal(WIRE_VERSION),
  topology: z.string(),
  ...from,
  pid: z.number().int(),
  host: z.string(),
  /** Ms since the epoch when sent. */
  ts: z.number(),
  /** The container's run state (RUNNING, PAUSED, or how it ended). */
  state: z.string(),
  uptimeMs: z.number(),
  tasks: z.record(z.string(), taskMetricsSchema),
  components: z.record(z.string(), componentMetricsSchema),
  /** Spouts here are held back (by this container's queues, another's, or a lost container). */
  backpressure: z.boolean(),
  /** The component whose mailbox holds this container's own backpressure up ("" when none). */
  backpressureBy: z.string(),
  backpressureEpisodes: z.number(),
  backpressureMs: z.number(),
  /** Malformed frames and messages dropped. */
  dropped: z.number(),
  /** Frames (data and ack batches) and their bytes, in and out. */
  framesIn: z.number(),
  framesOut: z.number(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  /** Destinations out of credit now, and how many times one ran out (flow control). */
  creditBlocked: z.number().optional(),
  creditStalls: z.number().optional(),
}).passthrough();

/** What a container publishes on `metrics` each second. */
export type ContainerMetrics = z.infer<typeof containerMetricsSchema>;

/**
 * Encodes a {@link ContainerMetrics} (msgpack).
 *
 * @example
 * ```ts
 * nc.publish(subjects("wc").metrics, encodeMetrics(m));
 * ```
 */
export function encodeMetrics(m: ContainerMetrics): Uint8Array {
  return packr.pack(m);
}

/**
 * Decodes and checks a {@link ContainerMetrics}; throws `WireError`.
 *
 * @example
 * ```ts
 * const m = decodeMetrics(msg.data);
 * ```
 */
export function decodeMetrics(bytes: Uint8Array): ContainerMetrics {
  return decodeWith(containerMetricsSchema, bytes, "container metrics");
}

// ---------------------------------------------------------------- KV records

/** Topology states, as in Heron. */
export const TopologyStates = ["SUBMITTED", "RUNNING", "PAUSED", "FINISHED", "KILLED", "FAILED"] as const;

const groupingJsonSchema = z.object({ type: z.string(), fields: z.array(z.string()).optional(), name: z.string().optional() });
const logicalPlanSchema = z.object({
  spouts: z.array(z.string()),
  bolts: z.array(z.string()),
  components: z.array(z.object({
    id: z.string(),
    kind: kindSchema,
    parallelism: z.number().int(),
    tasks: z.array(z.number().int()),
    config: z.record(z.string(), z.unknown()),
    streams: z.array(z.object({ id: z.string(), fields: z.array(z.string()), direct: z.boolean() })),
    inputs: z.array(z.object({ component: z.string(), stream: z.string(), grouping: groupingJsonSchema })),
  })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), stream: z.string(), grouping: groupingJsonSchema })),
  taskCount: z.number().int(),
});

const topologyRecordSchema = z.object({
  version: z.literal(WIRE_VERSION),
  name: z.string().regex(NAME),
  state: z.enum(TopologyStates),
  /**
   * Parsed topology configuration (plain JSON-able values). Submission may
   * add `ardea.jetstream.start.sequences` (component → first stream
   * sequence): spout starts resolved once, at submit, for every container
   * and every rollback (transport/jetstream_spout.ts `resolveStartSequences`).
   */
  config: z.record(z.string(), z.unknown()),
  /** sha256 (hex) of the bundle in the code object store. */
  bundle: z.string().regex(/^[0-9a-f]{64}$/),
  /** Script arguments the containers pass to the script. */
  args: z.array(z.string()),
  /** Working directory of the submitter (local scheduler: the containers'). */
  cwd: z.string(),
  containers: z.number().int().positive(),
  /** Task id → container index (the packing plan). */
  packing: z.record(z.string(), z.number().int().nonnegative()),
  /** Component id → task ids (the logical plan's tasks). */
  components: z.record(z.string(), z.array(z.number().int().positive())),
  scheduler: z.enum(["local", "pool"]),
  /** Parallelism set by \`ardea update\` (component → tasks), over the script's. */
  parallelism: z.record(z.string(), z.number().int().positive()).optional(),
  runtime: z.enum(["node", "deno"]),
  /**
   * The logical plan as the tracker shows it (metrics/plan.ts `LogicalPlan`:
   * components with kind, streams, inputs; edges with groupings), written at
   * submission. Tasks follow `components` after an update.
   */
  plan: logicalPlanSchema.optional(),
  ardeaVersion: z.string(),
  submittedAt: z.number(),
  /** Relaunches of every container so far (rollbacks, updates); part of the epoch ({@link runEpoch}). */
  generation: z.number().int().nonnegative().optional(),
  /**
   * EFFECTIVELY_ONCE: the committed checkpoint every container of this
   * generation restores (0: none), chosen by the master once no commit is in
   * flight; absent, each container takes the last committed one.
   */
  restoreFrom: z.number().int().nonnegative().optional(),
  /**
   * A plan `ardea update` asked for, not yet running: the master takes it up
   * when it next relaunches every container, in the same write as the new
   * generation, so that all containers of a generation run one plan (a
   * container starting while the plan changed under it would not).
   */
  nextPlan: z.object({
    packing: z.record(z.string(), z.number().int().nonnegative()),
    components: z.record(z.string(), z.array(z.number().int().positive())),
    parallelism: z.record(z.string(), z.number().int().positive()),
  }).optional(),
  updatedAt: z.number(),
  error: z.string().optional(),
});

/** The KV record of one topology. */
export type TopologyRecord = z.infer<typeof topologyRecordSchema>;

const containerRecordSchema = z.object({
  version: z.literal(WIRE_VERSION),
  topology: z.string(),
  container: z.number().int().nonnegative(),
  pid: z.number().int(),
  host: z.string(),
  tasks: z.array(z.number().int().positive()),
  startedAt: z.number(),
  heartbeatAt: z.number(),
  restarts: z.number().int().nonnegative(),
  /** Whether the container's queues were above their high-water mark at the last heartbeat. */
  backpressure: z.boolean().optional(),
  /** Counters of the last heartbeat. */
  stats: statsSchema.optional(),
});

/** The KV record of one container of a topology. */
export type ContainerRecord = z.infer<typeof containerRecordSchema>;

/**
 * Parses a topology record read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * const rec = parseTopologyRecord(JSON.parse(new TextDecoder().decode(entry.value)));
 * ```
 */
export function parseTopologyRecord(v: unknown): TopologyRecord {
  const r = topologyRecordSchema.safeParse(v);
  if (!r.success) throw new WireError(`topology record: ${r.error.issues[0]!.message} at ${r.error.issues[0]!.path.join(".")}`);
  return r.data;
}

/**
 * Parses a container record read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * const c = parseContainerRecord(JSON.parse(text));
 * ```
 */
export function parseContainerRecord(v: unknown): ContainerRecord {
  const r = containerRecordSchema.safeParse(v);
  if (!r.success) throw new WireError(`container record: ${r.error.issues[0]!.message} at ${r.error.issues[0]!.path.join(".")}`);
  return r.data;
}

const leaseRecordSchema = z.object({
  /** Who holds the master lease (e.g. `host:pid`). */
  holder: z.string().min(1),
  /** Wall-clock ms after which anyone may take the lease over. */
  expiresAt: z.number(),
});

/**
 * The KV record of a topology's master lease (key {@link leaseKey}). The
 * holder renews it before `expiresAt`; every write is a revision
 * compare-and-set, since nats-server 2.9 has no per-key TTL.
 */
export type LeaseRecord = z.infer<typeof leaseRecordSchema>;

/**
 * Parses a master lease read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * const lease = parseLeaseRecord({ holder: "host:42", expiresAt: Date.now() + 5000 });
 * ```
 */
export function parseLeaseRecord(v: unknown): LeaseRecord {
  const r = leaseRecordSchema.safeParse(v);
  if (!r.success) throw new WireError(`lease record: ${r.error.issues[0]!.message} at ${r.error.issues[0]!.path.join(".")}`);
  return r.data;
}

/**
 * KV key of a topology's record: the name as it is when it has only
 * letters, digits, `_` and `-`; otherwise each other byte is `=XX` (a `.`
 * is `=2E`), so two names never share a record. (Before, `.` became `_`,
 * and `x.y` and `x_y` shared one.) Throws `ArdeaError` `BAD_NAME` for a
 * name outside the rule ({@link checkTopologyName}).
 *
 * @example
 * ```ts
 * topologyKey("word-count"); // "word-count"
 * topologyKey("wc.v2"); // "wc=2Ev2"
 * ```
 */
export function topologyKey(name: string): string {
  checkTopologyName(name);
  return nameToken(name);
}

/** KV key of a container's record. */
export function containerKey(name: string, container: number): string {
  return `${topologyKey(name)}.c${container}`;
}

/** KV key of a topology's master lease. */
export function leaseKey(name: string): string {
  return `${topologyKey(name)}.master`;
}

// ---------------------------------------------------------------- worker pool

/**
 * The pool scheduler's protocol. A worker (`ardea worker`) keeps its record
 * under `_w.<id>` in KV (slots, running containers, heartbeat every 2 s).
 * A master places container `index` of a topology on the worker with the
 * most free slots: request `{topology, index, runtime}` on
 * `ardea._workers.<id>.run`, reply `{ok, pid}` or `{ok: false, error}`;
 * the worker reports the container's end on `ardea._workers.exits`, and
 * stops one on request (`ardea._workers.<id>.kill`).
 */
export const workerSubjects = (id: string) => ({
  run: `ardea._workers.${id}.run`,
  kill: `ardea._workers.${id}.kill`,
  exits: "ardea._workers.exits",
}) as const;

const workerRecordSchema = z.object({
  version: z.literal(WIRE_VERSION),
  id: z.string().regex(NAME),
  host: z.string(),
  pid: z.number().int(),
  slots: z.number().int().positive(),
  running: z.array(z.object({ topology: z.string(), index: z.number().int().nonnegative(), pid: z.number().int() })),
  heartbeatAt: z.number(),
  ardeaVersion: z.string(),
});

/** The KV record of one pool worker. */
export type WorkerRecord = z.infer<typeof workerRecordSchema>;

const runRequestSchema = z.object({
  topology: z.string().regex(NAME),
  index: z.number().int().nonnegative(),
  runtime: z.enum(["node", "deno"]),
});
const runReplySchema = z.union([
  z.object({ ok: z.literal(true), pid: z.number().int() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
const killRequestSchema = z.object({
  topology: z.string(),
  index: z.number().int().nonnegative(),
  signal: z.enum(["SIGTERM", "SIGKILL"]),
});
const exitEventSchema = z.object({
  worker: z.string(),
  topology: z.string(),
  index: z.number().int().nonnegative(),
  pid: z.number().int(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
});

/** A master's request to run a container. */
export type RunRequest = z.infer<typeof runRequestSchema>;
/** A worker's answer to a {@link RunRequest}. */
export type RunReply = z.infer<typeof runReplySchema>;
/** A request to stop a container. */
export type KillRequest = z.infer<typeof killRequestSchema>;
/** A worker's report that a container ended. */
export type ExitEvent = z.infer<typeof exitEventSchema>;

/**
 * Encodes a pool message (msgpack).
 *
 * @example
 * ```ts
 * nc.request(workerSubjects("w1").run, encodePool({ topology: "wc", index: 0, runtime: "node" }));
 * ```
 */
export function encodePool(m: RunRequest | RunReply | KillRequest | ExitEvent): Uint8Array {
  return packr.pack(m);
}

/** Decoders of pool messages; each throws `WireError`. */
export const decodePool = {
  runRequest: (b: Uint8Array): RunRequest => decodeWith(runRequestSchema, b, "run request"),
  runReply: (b: Uint8Array): RunReply => decodeWith(runReplySchema, b, "run reply"),
  killRequest: (b: Uint8Array): KillRequest => decodeWith(killRequestSchema, b, "kill request"),
  exitEvent: (b: Uint8Array): ExitEvent => decodeWith(exitEventSchema, b, "exit event"),
};

/**
 * Parses a worker record read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * const w = parseWorkerRecord(JSON.parse(text));
 * ```
 */
export function parseWorkerRecord(v: unknown): WorkerRecord {
  const r = workerRecordSchema.safeParse(v);
  if (!r.success) throw new WireError(`worker record: ${r.error.issues[0]!.message} at ${r.error.issues[0]!.path.join(".")}`);
  return r.data;
}

/** KV key of a worker's record. */
export function workerKey(id: string): string {
  return `_w.${id}`;
}
