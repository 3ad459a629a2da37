/**
 * The stream manager of a distributed container: batches cross-container
 * tuples and ack deltas per destination container, flushes them at a byte
 * budget or at the end of the event-loop turn (one encode per frame), and
 * turns frames from the network back into mailbox deliveries and ledger
 * operations. Everything received is checked against the wire contract and
 * the plan; a bad frame is dropped, counted and logged.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import { CheckpointMarker, EndOfInput, type Message } from "../actors/task_host.ts";
import type { StormTopology } from "../topology/topology.ts";
import { StreamInfo, TupleImpl } from "../topology/tuple.ts";
import {
  AckFrameWriter,
  AckOp,
  type ContainerEvent,
  type ControlMessage,
  type DataChunk,
  type DataFrame,
  DataFrameWriter,
  decodeAckFrame,
  decodeControl,
  decodeDataFrame,
  decodeDataMessage,
  encodeDataChunks,
  encodeMessage,
  type FrameMarker,
  MarkerKind,
  MAX_FRAME_BYTES,
  streamTable,
  subjects,
  unencodableField,
  WIRE_VERSION,
  WireError,
} from "../transport/wire/mod.ts";
import { EmitError } from "../topology/errors.ts";
import { onReconnect } from "../transport/nats_connect.ts";
import type { Pressure } from "../actors/mailbox.ts";
import { PRESSURE_LEASE_MS, type RemoteLink } from "../engine/container.ts";

/**
 * What a stream manager needs of the container it connects (engine/container.ts
 * `Container` is one): where frames from the network go, the ledger that
 * takes ack operations, and the pressure its credits and leases hold.
 */
export interface StreamHost {
  /** The local bolt task `task`, if it runs here: tuples from the network are checked against its inputs. */
  localBolt(task: number): { acceptsFrom(task: number): boolean } | undefined;
  /** Hands a tuple or marker from another container to local task `task`. */
  deliver(task: number, msg: Message): void;
  /** Applies an ack-frame operation ({@link AckOp}) from another container to this container's ledger. */
  applyAck(op: number, localRoot: number, hi: number, lo: number): void;
  /** Another container's backpressure lease: on (renewed for `leaseMs`) or off. */
  setRemotePressure(container: number, on: boolean, leaseMs: number): void;
  /** Holds the spouts while raised (once per destination out of credit: source "credit"). */
  readonly pressure: Pick<Pressure, "raise" | "lower">;
  /**
   * The hot path's clock: set once per frame, since a tuple handed over may
   * run its bolt (and end trees) at once, outside any scheduler turn.
   */
  readonly scheduler: { now: number };
  /** Whether this container's own queues are over their marks (then it withholds credit). */
  ownPressure(): boolean;
  /** This container cannot go on (a tuple that cannot cross). */
  fatal(error: Error): void;
  /** EFFECTIVELY_ONCE: frames lost in NATS roll every container back. */
  readonly effectivelyOnce: boolean;
  rollback(error: unknown): void;
}

/** Bytes of tuples (estimated) that trigger a flush before the end of the turn. */
const BYTE_BUDGET = 32 * 1024;
/**
 * Credit window: bytes of data frames to one container not credited yet past
 * which this container holds its spouts back (until half is credited).
 */
export const CREDIT_WINDOW_BYTES = 1024 * 1024;
/** A receiver credits a sender once this many bytes came since its last credit (or at the next tick). */
const CREDIT_EVERY_BYTES = CREDIT_WINDOW_BYTES / 8;
/** Credits still owed are sent at least this often (ms) while this container's queues are below their marks. */
const CREDIT_TICK_MS = 10;
/**
 * A destination out of credit that has credited nothing for this long (ms)
 * is trusted again: frames lost in NATS (a restart) are never credited, and
 * a receiver that is really behind still holds the spouts with its lease.
 */
const CREDIT_STALE_MS = 5000;

/** Frames sent to one container and not credited yet. */
interface Flight {
  /** Flat queue of [seq, bytes] pairs, oldest first, from `head`. */
  frames: number[];
  head: number;
  bytes: number;
  blocked: boolean;
  /** When it last ran out of credit or was credited (ms, performance clock). */
  heardAt: number;
}

interface Outbox {
  data: DataFrameWriter;
  /** The writer of the frame before, cleared, for the next (null while that frame is being published). */
  spare: DataFrameWriter | null;
  acks: AckFrameWriter;
  /** The destination's subjects, built once. */
  dataSubject: string;
  acksSubject: string;
}

/** Options of a {@link StreamManager}. */
export interface StreamManagerOptions {
  nc: NatsConnection;
  topologyName: string;
  topology: StormTopology;
  index: number;
  /** Called with each control message (start, stop, kill, …) other than backpressure. */
  onControl: (m: ControlMessage) => void;
  log: (line: string) => void;
  /** This run's epoch ({@link runEpoch}): frames and events of other runs are dropped. */
  epoch: number;
  /** Largest data frame carried (in chunks past the server's max_payload); default {@link MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
}

/** A data frame arriving in chunks from one sender. */
interface Assembly {
  seq: number;
  parts: number;
  next: number;
  bytes: number;
  slices: Uint8Array[];
}

/** A container event without its epoch (and, for `ready`, the wire version), which the stream manager stamps. */
export type EventBody = ContainerEvent extends infer E ? E extends unknown ? Omit<E, "epoch" | "wire"> : never : never;

/**
 * Connects one container to the others over NATS.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { Container, type ContainerOptions } from "../engine/container.ts";
 * import type { StormTopology } from "../topology/topology.ts";
 * declare const nc: NatsConnection, topology: StormTopology, epoch: number, options: ContainerOptions;
 * const onControl = () => {}, log = console.log, packing = new Map([[0, 0]]);
 * const sm = new StreamManager({ nc, topologyName: "wc", topology, index: 0, onControl, log, epoch });
 * const container = new Container({ ...options, remote: sm, containerIndex: 0, packing });
 * sm.attach(container);
 * ```
 */
export class StreamManager implements RemoteLink {
  /** Frames and messages dropped as malformed. */
  dropped = 0;
  framesOut = 0;
  framesIn = 0;
  bytesOut = 0;
  bytesIn = 0;
  readonly #o: StreamManagerOptions;
  readonly #subjects: ReturnType<typeof subjects>;
  readonly #out: Outbox[] = [];
  readonly #dirty: number[] = [];
  readonly #streams: StreamInfo[];
  readonly #byName = new Map<string, number>();
  readonly #streamIndex = new Map<StreamInfo, number>();
  /** The last stream looked up and its index (emits come in runs of one stream). */
  #lastInfo: StreamInfo | null = null;
  #lastStream = -1;
  /** Receive path: per destination task, the run whose source it was last checked against (see #onFrame). */
  readonly #checkedIn: Int32Array;
  #run = 0;
  readonly #subs: Subscription[] = [];
  #host: StreamHost | null = null;
  #flushQueued = false;
  readonly #flushNow = () => this.#flush();
  /** Sequence number of the last data frame sent to (out) or received from (in) each container. */
  readonly #seqOut: number[] = [];
  readonly #seqIn: number[] = [];
  /** Flow control: per destination, what is in flight; per sender, bytes taken in since the last credit. */
  readonly #flight: Flight[] = [];
  readonly #owed: number[] = [];
  readonly #owing: number[] = [];
  #creditQueued = false;
  readonly #creditNow = () => {
    this.#creditQueued = false;
    this.grantCredits(false);
  };
  #creditTimer: ReturnType<typeof setInterval> | null = null;
  #finishedTimer: ReturnType<typeof setInterval> | null = null;
  #offReconnect: () => void = () => {};
  /** Destinations out of credit (spouts held back for them). */
  creditBlocked = 0;
  /** Times a destination ran out of credit. */
  creditStalls = 0;
  #maxPayload: number;
  readonly #maxFrame: number;
  /** Per sender container, the chunked frame being reassembled (one at a time: a sender sends its chunks in a row). */
  readonly #assembly = new Map<number, Assembly>();
  #lastDropLog = 0;

  constructor(opts: StreamManagerOptions) {
    this.#o = opts;
    this.#subjects = subjects(opts.topologyName);
    const table = streamTable([...opts.topology.components].map(([id, c]) => [id, [...c.streams.keys()]]));
    this.#streams = table.map(([c, s], i) => {
      this.#byName.set(`${c}\u0000${s}`, i);
      const decl = opts.topology.components.get(c)!.streams.get(s)!;
      return new StreamInfo(c, s, decl.fields, decl.direct);
    });
    this.#maxPayload = opts.nc.info?.max_payload ?? 1024 * 1024;
    this.#maxFrame = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    let maxTask = 0;
    for (const t of opts.topology.taskToComponent.keys()) maxTask = Math.max(maxTask, t);
    this.#checkedIn = new Int32Array(maxTask + 1);
  }

  /** Subscribes to this container's subjects and starts delivering to `host`. */
  attach(host: StreamHost): void {
    this.#host = host;
    const nc = this.#o.nc;
    const s = this.#subjects;
    this.#subs.push(nc.subscribe(s.data(this.#o.index), { callback: (err, msg) => !err && this.#onData(msg.data) }));
    this.#subs.push(nc.subscribe(s.acks(this.#o.index), { callback: (err, msg) => !err && this.#onAcks(msg.data) }));
    this.#subs.push(nc.subscribe(s.ctl, { callback: (err, msg) => !err && this.#onControl(msg.data) }));
    this.#creditTimer = setInterval(() => {
      this.grantCredits();
      if (this.creditBlocked > 0) this.#expireCredits();
    }, CREDIT_TICK_MS);
    // Frames in flight when the connection dropped may be gone: trust every destination again.
    this.#offReconnect = onReconnect(nc, () => {
      for (let c = 0; c < this.#flight.length; c++) this.resetCredits(c);
    });
  }

  /** Destinations silent past {@link CREDIT_STALE_MS} while out of credit are trusted again. */
  #expireCredits(): void {
    const now = performance.now();
    for (let c = 0; c < this.#flight.length; c++) {
      const f = this.#flight[c];
      if (f === undefined || !f.blocked || now - f.heardAt < CREDIT_STALE_MS) continue;
      this.#o.log(
        `[ardea] container ${c} credited nothing for ${CREDIT_STALE_MS} ms; what was in flight to it is forgotten`,
      );
      this.resetCredits(c);
    }
  }

  /** Publishes a container event to the master (a `ready` names this container's wire version). */
  event(e: EventBody): void {
    const stamped = e.type === "ready"
      ? { ...e, epoch: this.#o.epoch, wire: WIRE_VERSION }
      : { ...e, epoch: this.#o.epoch };
    this.#o.nc.publish(this.#subjects.events, encodeMessage(stamped as ContainerEvent));
  }

  /** Flushes what is queued and unsubscribes. */
  async close(): Promise<void> {
    if (this.#creditTimer !== null) clearInterval(this.#creditTimer);
    if (this.#finishedTimer !== null) clearInterval(this.#finishedTimer);
    this.#creditTimer = this.#finishedTimer = null;
    this.#offReconnect();
    this.#flush();
    for (const s of this.#subs) s.unsubscribe();
    await this.#o.nc.flush().catch(() => {});
  }

  #outbox(c: number): Outbox {
    let o = this.#out[c];
    if (o === undefined) {
      this.#out[c] = o = {
        data: new DataFrameWriter(),
        spare: new DataFrameWriter(),
        acks: new AckFrameWriter(this.#o.epoch),
        dataSubject: this.#subjects.data(c),
        acksSubject: this.#subjects.acks(c),
      };
    }
    return o;
  }

  #touch(c: number, o: Outbox): void {
    if (o.data.empty && o.acks.size === 0) this.#dirty.push(c);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushNow);
    }
  }

  #streamOf(info: StreamInfo): number {
    if (info === this.#lastInfo) return this.#lastStream;
    let i = this.#streamIndex.get(info);
    if (i === undefined) {
      i = this.#byName.get(`${info.component}\u0000${info.stream}`);
      if (i === undefined) throw new Error(`stream "${info.stream}" of "${info.component}" is not in the plan`);
      this.#streamIndex.set(info, i);
    }
    this.#lastInfo = info;
    return (this.#lastStream = i);
  }

  sendTuple(container: number, dest: number, t: TupleImpl): void {
    const o = this.#outbox(container);
    this.#touch(container, o);
    const w = o.data;
    w.tuple(dest, t.sourceTask, this.#streamOf(t.src), t.values, t.root, t.eh, t.el, t.more);
    if (w.bytes >= BYTE_BUDGET) this.#flushData(container, o);
  }

  sendEnd(container: number, dest: number, from: number, final = true): void {
    const o = this.#outbox(container);
    this.#touch(container, o);
    o.data.marker(final ? MarkerKind.END : MarkerKind.DRAIN, dest, from, 0);
  }

  sendMarker(container: number, dest: number, from: number, id: number): void {
    const o = this.#outbox(container);
    this.#touch(container, o);
    o.data.marker(MarkerKind.CHECKPOINT, dest, from, id);
  }

  checkpointSaved(id: number, tasks: string[]): void {
    this.#flush();
    this.event({ type: "saved", container: this.#o.index, id, tasks });
  }

  requestRollback(error: Error): void {
    this.#flush();
    this.event({ type: "rollback", container: this.#o.index, error: `${error.name}: ${error.message}` });
  }

  sendAck(container: number, op: number, localRoot: number, hi: number, lo: number): void {
    const o = this.#outbox(container);
    this.#touch(container, o);
    o.acks.add(op, localRoot, hi, lo);
    if (o.acks.size >= 4096) this.#flushAcks(o);
  }

  announcePressure(on: boolean, component: string): void {
    this.#o.nc.publish(
      this.#subjects.ctl,
      encodeMessage({ type: "bp", container: this.#o.index, on, leaseMs: PRESSURE_LEASE_MS, component }),
    );
  }

  finished(): void {
    this.#flush();
    this.event({ type: "finished", container: this.#o.index });
    // The master may miss it (a NATS server restart): said again until the master stops this container.
    this.#finishedTimer ??= setInterval(() => this.event({ type: "finished", container: this.#o.index }), 2000);
  }

  failed(error: Error): void {
    this.#flush();
    this.event({ type: "failed", container: this.#o.index, error: `${error.name}: ${error.message}` });
  }

  #flush(): void {
    this.#flushQueued = false;
    for (const c of this.#dirty) {
      const o = this.#out[c]!;
      if (!o.data.empty) this.#flushData(c, o);
      if (o.acks.size > 0) this.#flushAcks(o);
    }
    this.#dirty.length = 0;
  }

  #flushData(c: number, o: Outbox): void {
    // What publishing may set off (a run that fails flushes again) writes to the next frame.
    const w = o.data;
    o.data = o.spare ?? new DataFrameWriter();
    o.spare = null;
    this.#publishData(c, o.dataSubject, w, 0, w.size);
    w.clear();
    o.spare = w;
  }

  /** Publishes tuples `first` to `last` of frame `w` (halves of it, or chunks of one tuple, above max_payload). */
  #publishData(c: number, subject: string, w: DataFrameWriter, first: number, last: number): void {
    const seq = (this.#seqOut[c] ?? 0) + 1;
    const id = { from: this.#o.index, epoch: this.#o.epoch, seq };
    let bytes: Uint8Array;
    try {
      bytes = w.encode(id, first, last);
    } catch (e) {
      this.#unencodable(w, first, last, e);
      return;
    }
    if (bytes.length > this.#maxPayload) {
      if (last - first > 1) {
        const half = (first + last) >> 1;
        this.#publishData(c, subject, w, first, half);
        this.#publishData(c, subject, w, half, last);
        return;
      }
      if (bytes.length > this.#maxFrame) {
        // Failing the tuple would only replay it: the run cannot go on.
        const info = last > first ? this.#streams[w.tupleAt(first).stream] : undefined;
        const who = info === undefined ? "a tuple" : `"${info.component}" emitting on stream "${info.stream}"`;
        this.#host?.fatal(
          new EmitError(
            "TUPLE_TOO_LARGE",
            `${who}: a tuple of ${bytes.length} bytes (encoded) to container ${c} exceeds the largest frame carried between containers (${this.#maxFrame} bytes; the NATS server's max_payload is ${this.#maxPayload})`,
          ),
        );
        return;
      }
      this.#seqOut[c] = seq;
      for (const m of encodeDataChunks(bytes, id, this.#maxPayload)) {
        this.framesOut++;
        this.bytesOut += m.length;
        this.#o.nc.publish(subject, m);
      }
      this.#inFlight(c, seq, bytes.length);
      return;
    }
    this.#seqOut[c] = seq;
    this.framesOut++;
    this.bytesOut += bytes.length;
    this.#o.nc.publish(subject, bytes);
    this.#inFlight(c, seq, bytes.length);
  }

  /** A frame went to `c`: past the window, hold the spouts back until `c` credits it. */
  #inFlight(c: number, seq: number, bytes: number): void {
    let f = this.#flight[c];
    if (f === undefined) this.#flight[c] = f = { frames: [], head: 0, bytes: 0, blocked: false, heardAt: 0 };
    f.frames.push(seq, bytes);
    f.bytes += bytes;
    if (!f.blocked && f.bytes > CREDIT_WINDOW_BYTES) {
      f.blocked = true;
      f.heardAt = performance.now();
      this.creditBlocked++;
      this.creditStalls++;
      this.#host?.pressure.raise("credit");
    }
  }

  /** `c` has taken in our frames up to `seq`. */
  #credited(c: number, seq: number): void {
    const f = this.#flight[c];
    if (f === undefined) return;
    f.heardAt = performance.now();
    const q = f.frames;
    let h = f.head;
    while (h < q.length && q[h]! <= seq) {
      f.bytes -= q[h + 1]!;
      h += 2;
    }
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (h > 1024) {
      q.splice(0, h);
      h = 0;
    }
    f.head = h;
    if (f.blocked && f.bytes <= CREDIT_WINDOW_BYTES / 2) this.#unblock(f);
  }

  #unblock(f: Flight): void {
    f.blocked = false;
    this.creditBlocked--;
    this.#host?.pressure.lower("credit");
  }

  resetCredits(c: number): void {
    const f = this.#flight[c];
    if (f !== undefined) {
      f.frames.length = 0;
      f.head = 0;
      f.bytes = 0;
      if (f.blocked) this.#unblock(f);
    }
  }

  /**
   * Credits the senders owed (all of them, or those past
   * {@link CREDIT_EVERY_BYTES} when `all` is false), unless this container's
   * own queues are over their marks.
   */
  grantCredits(all = true): void {
    const host = this.#host;
    if (host === null || this.#owing.length === 0 || host.ownPressure()) return;
    let kept = 0;
    for (const from of this.#owing) {
      if (!all && (this.#owed[from] ?? 0) < CREDIT_EVERY_BYTES) {
        this.#owing[kept++] = from;
        continue;
      }
      this.#owed[from] = 0;
      const o = this.#outbox(from);
      this.#touch(from, o);
      o.acks.add(AckOp.CREDIT, this.#o.index, this.#seqIn[from] ?? 0, 0);
    }
    this.#owing.length = kept;
  }

  /** Data came from `from`: it is owed credit, sent at the end of this turn when enough. */
  #owe(from: number, bytes: number): void {
    const owed = this.#owed[from] ?? 0;
    if (owed === 0) this.#owing.push(from);
    this.#owed[from] = owed + bytes;
    if (!this.#creditQueued && owed + bytes >= CREDIT_EVERY_BYTES) {
      this.#creditQueued = true;
      queueMicrotask(this.#creditNow);
    }
  }

  /**
   * A frame the encoder refused (a value it would change: a function, an
   * unregistered class): name the component, stream and field, and fail the
   * run, as an emit of it fails embedded under
   * `topology.testing.always.try.serialize`.
   */
  #unencodable(w: DataFrameWriter, first: number, last: number, e: unknown): void {
    for (let i = first; i < last; i++) {
      const { stream, values } = w.tupleAt(i);
      const info = this.#streams[stream]!;
      const err = unencodableField(
        values,
        (k) => info.fields.get(k),
        `"${info.component}" emitting on stream "${info.stream}"`,
      );
      if (err !== null) {
        this.#host?.fatal(err);
        return;
      }
    }
    this.#host?.fatal(e instanceof Error ? e : new Error(String(e)));
  }

  #flushAcks(o: Outbox): void {
    const bytes = o.acks.take();
    this.framesOut++;
    this.bytesOut += bytes.length;
    this.#o.nc.publish(o.acksSubject, bytes);
  }

  #drop(what: string, why: string): void {
    this.dropped++;
    const now = performance.now();
    if (now - this.#lastDropLog > 1000) {
      this.#lastDropLog = now;
      this.#o.log(`[ardea] dropped a malformed ${what} (${this.dropped} so far): ${why}`);
    }
  }

  #onData(bytes: Uint8Array): void {
    if (this.#host === null) return;
    this.framesIn++;
    this.bytesIn += bytes.length;
    let frame: DataFrame | DataChunk;
    try {
      frame = decodeDataMessage(bytes);
    } catch (e) {
      return this.#drop("data frame", (e as Error).message);
    }
    if (frame.epoch !== this.#o.epoch) {
      return this.#drop("data frame", `it belongs to another run (epoch ${frame.epoch}, not ${this.#o.epoch})`);
    }
    if ("part" in frame) return this.#onChunk(frame);
    // A sender's chunks come in a row: a frame after an incomplete set means one was lost.
    if (this.#assembly.size > 0) this.#assembly.delete(frame.from);
    this.#onFrame(frame, bytes.length);
  }

  /**
   * A slice of a frame too large for one message: kept until the last one
   * comes, then delivered as the frame. A slice out of order gives up the
   * frame (a lost slice loses the frame, as a lost message would, and the
   * sequence gap says so when the next frame comes).
   */
  #onChunk(ch: DataChunk): void {
    let a = this.#assembly.get(ch.from);
    if (ch.part === 0) {
      a = { seq: ch.seq, parts: ch.parts, next: 0, bytes: 0, slices: [] };
      this.#assembly.set(ch.from, a);
    } else if (a === undefined || a.seq !== ch.seq || a.parts !== ch.parts || a.next !== ch.part) {
      this.#assembly.delete(ch.from);
      return this.#drop(
        "data chunk",
        `part ${ch.part}/${ch.parts} of frame ${ch.seq} from container ${ch.from} came without the parts before it`,
      );
    }
    a.slices.push(ch.bytes);
    a.bytes += ch.bytes.length;
    a.next++;
    if (a.bytes > this.#maxFrame) {
      this.#assembly.delete(ch.from);
      return this.#drop(
        "data chunk",
        `frame ${ch.seq} from container ${ch.from} is larger than ${this.#maxFrame} bytes`,
      );
    }
    if (a.next < a.parts) return;
    this.#assembly.delete(ch.from);
    const whole = new Uint8Array(a.bytes);
    let at = 0;
    for (const s of a.slices) {
      whole.set(s, at);
      at += s.length;
    }
    let frame: DataFrame;
    try {
      frame = decodeDataFrame(whole);
    } catch (e) {
      return this.#drop("data frame", (e as Error).message);
    }
    if (frame.from !== ch.from || frame.epoch !== ch.epoch || frame.seq !== ch.seq) {
      return this.#drop(
        "data frame",
        `reassembled frame ${frame.seq} of container ${frame.from} came in chunks of frame ${ch.seq} of container ${ch.from}`,
      );
    }
    this.#onFrame(frame, whole.length);
  }

  #onFrame(frame: DataFrame, size: number): void {
    const host = this.#host!;
    host.scheduler.now = performance.now();
    const last = this.#seqIn[frame.from] ?? 0;
    this.#seqIn[frame.from] = frame.seq;
    this.#owe(frame.from, size);
    // Frame 1 again: the sender restarted (at-least-once restarts one container alone).
    if (frame.seq !== last + 1 && frame.seq !== 1) this.#gap(frame.from, last, frame.seq);
    const { dest, runs, trees, more, markers } = frame;
    const text = typeof frame.values === "string" ? frame.values : null;
    const values = text === null ? frame.values as readonly unknown[] : null;
    const lengths = frame.lengths!;
    const total = text === null ? values!.length : lengths.length;
    const taskOf = this.#o.topology.taskToComponent;
    const checked = this.#checkedIn;
    /** Tuple, value (index and text offset), marker and extra-root cursors. */
    let i = 0, k = 0, at = 0, m = 0, x = 0;
    for (let r = 0; r < runs.length; r += 3) {
      const count = runs[r]!, src = runs[r + 1]!, s = runs[r + 2]!;
      const info = this.#streams[s];
      const arity = info === undefined ? 0 : info.fields.size();
      if (info === undefined || info.component !== taskOf.get(src) || k + count * arity > total) {
        // Without the stream's arity the values of the rest cannot be told apart.
        this.#drop("data frame", `stream ${s} does not match source task ${src}, or its values run short`);
        this.#deliverMarkers(markers, m, Infinity);
        return;
      }
      // Destinations are checked once per run (a run has one source).
      const run = ++this.#run;
      for (const end = i + count; i < end; i++) {
        if (m < markers.length && markers[m]!.at === i) m = this.#deliverMarkers(markers, m, i);
        let vs: unknown[];
        if (text !== null) {
          vs = new Array(arity);
          for (let j = 0; j < arity; j++, k++) vs[j] = text.substring(at, at += lengths[k]!);
        } else {
          vs = values!.slice(k, k += arity);
        }
        const d = dest[i]!;
        if (checked[d] !== run) {
          if (!host.localBolt(d)?.acceptsFrom(src)) {
            this.#drop("tuple", `task ${d} is not a bolt of this container, or task ${src} is not one of its sources`);
            while (more !== null && x < more.length && more[x] === i) x += 4;
            continue;
          }
          if (d < checked.length) checked[d] = run;
        }
        const t = new TupleImpl(vs, info, src);
        if (trees !== null && trees[4 * i] !== -1) {
          const q = 4 * i;
          t.root = trees[q]! * 0x100000000 + (trees[q + 1]! >>> 0);
          t.eh = trees[q + 2]!;
          t.el = trees[q + 3]!;
        }
        if (more !== null && x < more.length && more[x] === i) {
          const roots: number[] = [];
          for (; x < more.length && more[x] === i; x += 4) roots.push(more[x + 1]!, more[x + 2]!, more[x + 3]!);
          t.more = roots;
        }
        host.deliver(d, t);
      }
    }
    if (k !== total) this.#drop("data frame", `${total - k} values are left over after its tuples`);
    this.#deliverMarkers(markers, m, Infinity);
  }

  /** Delivers markers from index `m` on while they come before tuple `before`; returns the next marker's index. */
  #deliverMarkers(markers: readonly FrameMarker[], m: number, before: number): number {
    const host = this.#host!;
    for (; m < markers.length && markers[m]!.at <= before; m++) {
      const { kind, dest, src, id } = markers[m]!;
      if (!host.localBolt(dest)?.acceptsFrom(src)) {
        this.#drop("marker", `task ${dest} is not a bolt of this container, or task ${src} is not one of its sources`);
        continue;
      }
      host.deliver(
        dest,
        kind === MarkerKind.CHECKPOINT ? new CheckpointMarker(id, src) : new EndOfInput(src, kind === MarkerKind.END),
      );
    }
    return m;
  }

  /** Frames from container `from` were lost between `last` and `seq`. */
  #gap(from: number, last: number, seq: number): void {
    const error = new Error(`data frames ${last + 1}…${seq - 1} from container ${from} were lost in NATS`);
    if (this.#host?.effectivelyOnce) return this.#host.rollback(error);
    // Nothing received yet: this container restarted alone (at least once), the sender did not.
    if (last === 0) return;
    this.#o.log(`[ardea] ${error.message} (at least once: their tuple trees time out and replay)`);
  }

  #onAcks(bytes: Uint8Array): void {
    const host = this.#host;
    if (host === null) return;
    this.framesIn++;
    this.bytesIn += bytes.length;
    let q: Int32Array;
    try {
      const frame = decodeAckFrame(bytes);
      if (frame.epoch !== this.#o.epoch) {
        return this.#drop("ack frame", `it belongs to another run (epoch ${frame.epoch}, not ${this.#o.epoch})`);
      }
      q = frame.deltas;
    } catch (e) {
      return this.#drop("ack frame", (e as Error).message);
    }
    for (let i = 0; i < q.length; i += 4) {
      if (q[i] === AckOp.CREDIT) this.#credited(q[i + 1]!, q[i + 2]!);
      else host.applyAck(q[i]!, q[i + 1]!, q[i + 2]!, q[i + 3]!);
    }
  }

  #onControl(bytes: Uint8Array): void {
    let m: ControlMessage;
    try {
      m = decodeControl(bytes);
    } catch (e) {
      if (e instanceof WireError) return this.#drop("control message", e.message);
      throw e;
    }
    if (m.type === "bp") this.#host?.setRemotePressure(m.container, m.on, m.leaseMs);
    else this.#o.onControl(m);
  }
}
