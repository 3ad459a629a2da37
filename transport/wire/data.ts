/**
 * Data frames: the tuples and markers one container sends another on
 * `data.<c>`, numbered per destination, by column; a frame above the
 * server's `max_payload` travels as {@link DataChunk}s; and the stream table
 * both sides number streams by.
 *
 * @module
 */
import { createStrictPackr, findUnencodable } from "../codec.ts";
import type { EmitError } from "../../topology/errors.ts";
import { WIRE_VERSION, WireError } from "./names.ts";
import { otherVersion, packr } from "./_shared.ts";

/**
 * The kinds of marker a data frame carries between tuples: the end of a
 * source task's input (`END`), its drain (`DRAIN`: it has emitted all of
 * its new input while some of its trees are still open; the first phase of
 * end of input, see actors/task_host.ts `EndOfInput`), and a checkpoint
 * barrier (`CHECKPOINT`, EFFECTIVELY_ONCE).
 */
export const MarkerKind = { END: 0, DRAIN: 1, CHECKPOINT: 2 } as const;
/** One of {@link MarkerKind}. */
export type MarkerKind = (typeof MarkerKind)[keyof typeof MarkerKind];

/**
 * A marker from source task `src` to task `dest`, in its place among the
 * tuples of a frame: it comes before tuple `at` (`at` = the frame's tuple
 * count: after the last), so it stays behind every tuple `src` sent `dest`
 * before it. `id` is the checkpoint's id (`CHECKPOINT`), else 0.
 */
export interface FrameMarker {
  readonly at: number;
  readonly kind: MarkerKind;
  readonly dest: number;
  readonly src: number;
  readonly id: number;
}

/**
 * A column of non-negative integers as narrow as its largest entry allows
 * (bytes, 16-bit or 32-bit words).
 */
export type Column = Uint8Array | Uint16Array | Int32Array;

/**
 * Tuples and markers for one container, by column. Tuple `i` goes to task
 * `dest[i]`; `runs` holds, for each run of consecutive tuples from one
 * source task on one stream, `count, srcTask, streamIndex` (the index in
 * the topology's stream table, {@link streamTable}). Values are not boxed
 * per tuple: `values` is every tuple's values one after another (a tuple
 * has as many as its stream has fields), or, when they are all strings,
 * their concatenation, cut at `lengths` (UTF-16 units). `trees` is there
 * only when a tuple is tracked: per tuple `rootHigh, rootLow, edgeHigh,
 * edgeLow` (root = high × 2³² + low as unsigned; high -1: untracked); a
 * tuple anchored to more trees has `more` entries `tuple, root, hi, lo`.
 * `markers` keep their place among the tuples ({@link FrameMarker}).
 * Integer columns are typed arrays, `dest` and `lengths` as narrow as
 * their entries allow ({@link Column}); little-endian, as ack frames
 * assume too.
 *
 * `seq` numbers the frames from one container to another within a run
 * (1, 2, 3, …): core NATS may lose messages when a server restarts or a
 * client reconnects, and a receiver that sees a gap knows tuples are missing
 * (in EFFECTIVELY_ONCE it rolls every container back).
 *
 * On the wire (msgpack): `[version, from, epoch, seq, [dest, runs, values,
 * lengths, trees, more, markers]]` with `markers` flat (`at, kind, dest,
 * src, id` each) and absent columns `null`. Five entries, the version
 * first, as version 1 frames had: a receiver of either version names both
 * versions instead of misreading the other's frames.
 */
export interface DataFrame {
  readonly from: number;
  readonly epoch: number;
  readonly seq: number;
  readonly dest: Column;
  readonly runs: Int32Array;
  readonly values: readonly unknown[] | string;
  readonly lengths: Column | null;
  readonly trees: Int32Array | null;
  readonly more: readonly number[] | null;
  readonly markers: readonly FrameMarker[];
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

/**
 * Data frames carry user values: this encoder throws on a value it would
 * change (a function, an unregistered class instance) instead of writing
 * `undefined` or a plain map; the stream manager names it
 * ({@link unencodableField}).
 */
const framePackr = createStrictPackr();

/**
 * Encodes a data frame as it is (see {@link DataFrameWriter} for building
 * one from tuples). Throws when a value cannot cross unchanged (see
 * `createStrictPackr` in codec.ts).
 *
 * @example
 * ```ts
 * const bytes = encodeDataFrame({
 *   from: 0, epoch: 0, seq: 1, dest: Int32Array.of(5), runs: Int32Array.of(1, 3, 0),
 *   values: ["the"], lengths: null, trees: null, more: null, markers: [],
 * });
 * ```
 */
export function encodeDataFrame(f: DataFrame): Uint8Array {
  let markers: number[] | null = null;
  if (f.markers.length > 0) {
    markers = [];
    for (const m of f.markers) markers.push(m.at, m.kind, m.dest, m.src, m.id);
  }
  return framePackr.pack([WIRE_VERSION, f.from, f.epoch, f.seq, [
    f.dest,
    f.runs,
    f.values,
    f.lengths,
    f.trees,
    f.more,
    markers,
  ]]);
}

/** Which frame: its sender container, its run's epoch and its number from that sender to this destination. */
export interface FrameId {
  readonly from: number;
  readonly epoch: number;
  readonly seq: number;
}

/** `a` (entries from 0 to `max`) in the narrowest {@link Column} that holds them: a copy, or `a` itself. */
function narrow(a: Int32Array, max: number): Column {
  if (max >= 0x10000) return a;
  const b = max < 0x100 ? new Uint8Array(a.length) : new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) b[i] = a[i]!;
  return b;
}

/** A grown copy of `a` with room for at least `n` entries. */
function grow(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Builds the data frames to one container, tuple by tuple and marker by
 * marker, in columns it keeps from frame to frame (encoding allocates the
 * bytes and little else). Markers keep their place among the tuples.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection, subject: string, epoch: number;
 * const w = new DataFrameWriter();
 * w.tuple(5, 3, 0, ["the"], -1, 0, 0, null);
 * w.marker(MarkerKind.END, 5, 3, 0);
 * nc.publish(subject, w.encode({ from: 0, epoch, seq: 1 }));
 * w.clear();
 * ```
 */
export class DataFrameWriter {
  /** Estimated bytes of the encoded frame (strings by length, other values 9 each, 24 per tuple). */
  bytes = 0;
  #n = 0;
  #dest = new Int32Array(256);
  /** Largest destination task and value length written (negatives count as huge). */
  #destMax = 0;
  #lengthMax = 0;
  #src = new Int32Array(256);
  #stream = new Int32Array(256);
  /** Offset of each tuple's first value in `#values`. */
  #voff = new Int32Array(256);
  #trees = new Int32Array(4 * 256);
  #tracked = 0;
  readonly #values: unknown[] = [];
  /** Length of each value while every value is a string. */
  #lengths = new Int32Array(1024);
  #strings = true;
  readonly #more: number[] = [];
  readonly #markers: FrameMarker[] = [];
  #runs = new Int32Array(3 * 16);

  /** Tuples written since the last {@link clear}. */
  get size(): number {
    return this.#n;
  }

  /** Whether nothing (no tuple, no marker) was written since the last {@link clear}. */
  get empty(): boolean {
    return this.#n === 0 && this.#markers.length === 0;
  }

  /**
   * Appends a tuple for task `dest` from task `src` on stream `stream`
   * (index in the stream table); `root` -1 when untracked, `more` the
   * tuple's further roots (`root, hi, lo` each) or null.
   */
  tuple(
    dest: number,
    src: number,
    stream: number,
    values: readonly unknown[],
    root: number,
    eh: number,
    el: number,
    more: readonly number[] | null,
  ): void {
    const i = this.#n++;
    if (i === this.#dest.length) {
      this.#dest = grow(this.#dest, i + 1);
      this.#src = grow(this.#src, i + 1);
      this.#stream = grow(this.#stream, i + 1);
      this.#voff = grow(this.#voff, i + 1);
      this.#trees = grow(this.#trees, 4 * (i + 1));
    }
    this.#dest[i] = dest;
    if (dest >>> 0 > this.#destMax) this.#destMax = dest >>> 0;
    this.#src[i] = src;
    this.#stream[i] = stream;
    const vs = this.#values;
    let k = vs.length;
    this.#voff[i] = k;
    if (k + values.length > this.#lengths.length) this.#lengths = grow(this.#lengths, k + values.length);
    let bytes = 24;
    for (let j = 0; j < values.length; j++, k++) {
      const v = values[j];
      if (typeof v === "string") {
        this.#lengths[k] = v.length;
        if (v.length > this.#lengthMax) this.#lengthMax = v.length;
        bytes += v.length + 2;
      } else {
        this.#strings = false;
        bytes += 9;
      }
      vs.push(v);
    }
    this.bytes += bytes;
    const t = this.#trees, q = 4 * i;
    if (root === -1) {
      t[q] = -1;
    } else {
      this.#tracked++;
      t[q] = Math.floor(root / 0x100000000);
      t[q + 1] = root | 0;
      t[q + 2] = eh;
      t[q + 3] = el;
    }
    if (more !== null) {
      for (let j = 0; j < more.length; j += 3) this.#more.push(i, more[j]!, more[j + 1]!, more[j + 2]!);
    }
  }

  /** Appends a marker from task `src` to task `dest`, after the tuples written so far; `id`: the checkpoint's, else 0. */
  marker(kind: MarkerKind, dest: number, src: number, id: number): void {
    this.#markers.push({ at: this.#n, kind, dest, src, id });
    this.bytes += 16;
  }

  /** The stream index and values of tuple `i` (for error messages). */
  tupleAt(i: number): { stream: number; values: unknown[] } {
    const end = i + 1 < this.#n ? this.#voff[i + 1]! : this.#values.length;
    return { stream: this.#stream[i]!, values: this.#values.slice(this.#voff[i], end) };
  }

  /**
   * Encodes tuples `first` to `last` (exclusive; default: all) with the
   * markers among them (those after the last tuple go with the range that
   * ends the frame). Throws as {@link encodeDataFrame} does.
   */
  encode(id: FrameId, first = 0, last: number = this.#n): Uint8Array {
    const n = this.#n;
    const whole = first === 0 && last === n;
    let r = 0;
    if (this.#runs.length < 3 * (last - first)) this.#runs = grow(this.#runs, 3 * (last - first));
    const runs = this.#runs, src = this.#src, stream = this.#stream;
    for (let i = first; i < last; i++) {
      const s = src[i]!, st = stream[i]!;
      if (r > 0 && runs[r - 2] === s && runs[r - 1] === st) runs[r - 3]!++;
      else {
        runs[r++] = 1;
        runs[r++] = s;
        runs[r++] = st;
      }
    }
    const vs = this.#values;
    const v0 = first === n ? vs.length : this.#voff[first]!;
    const v1 = last === n ? vs.length : this.#voff[last]!;
    let values: readonly unknown[] | string;
    let lengths: Column | null = null;
    if (this.#strings && v1 > v0) {
      values = (whole ? vs : vs.slice(v0, v1)).join("");
      lengths = narrow(this.#lengths.subarray(v0, v1), this.#lengthMax);
    } else {
      values = whole ? vs : vs.slice(v0, v1);
    }
    let trees: Int32Array | null = null;
    if (this.#tracked > 0) {
      for (let i = first; i < last; i++) {
        if (this.#trees[4 * i] !== -1) {
          trees = this.#trees.subarray(4 * first, 4 * last);
          break;
        }
      }
    }
    let more: number[] | null = null;
    for (let j = 0; j < this.#more.length; j += 4) {
      const i = this.#more[j]!;
      if (i >= first && i < last) {
        (more ??= []).push(i - first, this.#more[j + 1]!, this.#more[j + 2]!, this.#more[j + 3]!);
      }
    }
    const markers = whole ? this.#markers : this.#markers
      .filter((m) => m.at >= first && (m.at < last || last === n))
      .map((m) => ({ ...m, at: m.at - first }));
    return encodeDataFrame({
      ...id,
      dest: narrow(this.#dest.subarray(first, last), this.#destMax),
      runs: runs.subarray(0, r),
      values,
      lengths,
      trees,
      more,
      markers,
    });
  }

  /** Forgets every tuple and marker, keeping the columns' room. */
  clear(): void {
    this.#n = 0;
    this.#destMax = this.#lengthMax = 0;
    this.bytes = 0;
    this.#tracked = 0;
    this.#values.length = 0;
    this.#strings = true;
    this.#more.length = 0;
    this.#markers.length = 0;
  }
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
export function unencodableField(
  values: readonly unknown[],
  fieldName: (i: number) => string,
  where: string,
): EmitError | null {
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
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection, subject: string, frameBytes: Uint8Array, epoch: number, seq: number;
 * for (const m of encodeDataChunks(frameBytes, { from: 0, epoch, seq }, 1024 * 1024)) nc.publish(subject, m);
 * ```
 */
export function encodeDataChunks(
  frame: Uint8Array,
  id: { from: number; epoch: number; seq: number },
  maxPayload: number,
): Uint8Array[] {
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
 * `WireError`, naming both versions for a message of another wire version.
 *
 * @example
 * ```ts
 * declare const bytes: Uint8Array, reassemble: (c: DataChunk) => void, deliver: (f: DataFrame) => void;
 * const m = decodeDataMessage(bytes);
 * if ("part" in m) reassemble(m); else deliver(m);
 * ```
 */
export function decodeDataMessage(bytes: Uint8Array): DataFrame | DataChunk {
  const v = unpackData(bytes);
  if (v.length === 7) return checkChunk(v);
  return checkFrame(v);
}

/** The message as a msgpack array of this wire version; throws `WireError`. */
function unpackData(bytes: Uint8Array): unknown[] {
  let v: unknown;
  try {
    v = framePackr.unpack(bytes);
  } catch (e) {
    throw new WireError(`data frame is not msgpack: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || !Number.isInteger(v[0])) {
    throw new WireError("data frame is not an array that starts with its wire version");
  }
  if (v[0] !== WIRE_VERSION) throw otherVersion("data frame", v[0]);
  return v;
}

function checkChunk(v: unknown[]): DataChunk {
  const [, from, epoch, seq, part, parts, data] = v;
  if (!Number.isInteger(from) || (from as number) < 0) throw new WireError("data chunk: bad sender container");
  if (!Number.isInteger(epoch)) throw new WireError("data chunk: bad epoch");
  if (!Number.isInteger(seq) || (seq as number) < 1) throw new WireError("data chunk: bad sequence number");
  if (
    !Number.isInteger(parts) || (parts as number) < 2 || !Number.isInteger(part) || (part as number) < 0 ||
    (part as number) >= (parts as number)
  ) {
    throw new WireError("data chunk: bad part number");
  }
  if (!(data instanceof Uint8Array)) throw new WireError("data chunk: no bytes");
  return {
    from: from as number,
    epoch: epoch as number,
    seq: seq as number,
    part: part as number,
    parts: parts as number,
    bytes: data,
  };
}

/**
 * Decodes and checks a data frame; throws `WireError`. The columns are
 * checked for shape here (types, lengths, runs that cover the tuples,
 * markers in order) so the engine can walk them without further checks;
 * tasks, streams and arities are checked by the receiver, which knows the
 * plan.
 *
 * @example
 * ```ts
 * declare const bytes: Uint8Array;
 * const frame = decodeDataFrame(bytes);
 * ```
 */
export function decodeDataFrame(bytes: Uint8Array): DataFrame {
  return checkFrame(unpackData(bytes));
}

const isInt = Number.isInteger as (v: unknown) => v is number;

function isColumn(v: unknown): v is Column {
  return v instanceof Uint8Array || v instanceof Uint16Array || v instanceof Int32Array;
}

function checkFrame(v: unknown[]): DataFrame {
  if (v.length !== 5) throw new WireError("data frame is not [version, from, epoch, seq, columns]");
  const [, from, epoch, seq, body] = v;
  if (!isInt(from) || from < 0) throw new WireError("data frame: bad sender container");
  if (!isInt(epoch)) throw new WireError("data frame: bad epoch");
  if (!isInt(seq) || seq < 1) throw new WireError("data frame: bad sequence number");
  if (!Array.isArray(body) || body.length !== 7) {
    throw new WireError("data frame: columns are not [dest, runs, values, lengths, trees, more, markers]");
  }
  const [dest, runs, values, lengths, trees, more, flatMarkers] = body;
  if (!isColumn(dest)) throw new WireError("data frame: dest is not a column of integers");
  const n = dest.length;
  if (!(runs instanceof Int32Array) || runs.length % 3 !== 0) {
    throw new WireError("data frame: runs are not an Int32Array of (count, source, stream) triples");
  }
  let covered = 0;
  for (let r = 0; r < runs.length; r += 3) {
    if (runs[r]! < 1) throw new WireError(`data frame: run ${r / 3} has ${runs[r]} tuples`);
    covered += runs[r]!;
  }
  if (covered !== n) throw new WireError(`data frame: runs cover ${covered} tuples, dest has ${n}`);
  if (typeof values === "string") {
    if (!isColumn(lengths)) throw new WireError("data frame: string values without lengths");
    let total = 0;
    for (let i = 0; i < lengths.length; i++) {
      if (lengths[i]! < 0) throw new WireError("data frame: negative value length");
      total += lengths[i]!;
    }
    if (total !== values.length) {
      throw new WireError(`data frame: value lengths add up to ${total}, the values to ${values.length}`);
    }
  } else if (!Array.isArray(values) || lengths !== null) {
    throw new WireError("data frame: values are neither a list nor a string with lengths");
  }
  if (trees !== null && (!(trees instanceof Int32Array) || trees.length !== 4 * n)) {
    throw new WireError("data frame: trees are not an Int32Array of 4 entries per tuple");
  }
  if (more !== null) {
    if (!Array.isArray(more) || more.length % 4 !== 0 || !more.every(isInt)) {
      throw new WireError("data frame: extra roots are not integer quads");
    }
    for (let j = 0; j < more.length; j += 4) {
      if (more[j] < 0 || more[j] >= n || (j > 0 && more[j] < more[j - 4])) {
        throw new WireError("data frame: extra roots of tuples out of order");
      }
    }
  }
  const markers: FrameMarker[] = [];
  if (flatMarkers !== null) {
    if (!Array.isArray(flatMarkers) || flatMarkers.length % 5 !== 0 || !flatMarkers.every(isInt)) {
      throw new WireError("data frame: markers are not integer (at, kind, dest, src, id) entries");
    }
    for (let j = 0; j < flatMarkers.length; j += 5) {
      const [at, kind, mdest, src, id] = flatMarkers.slice(j, j + 5) as number[];
      if (at! < (markers.length > 0 ? markers[markers.length - 1]!.at : 0) || at! > n) {
        throw new WireError(`data frame: marker ${j / 5} is out of place`);
      }
      if (kind !== MarkerKind.END && kind !== MarkerKind.DRAIN && kind !== MarkerKind.CHECKPOINT) {
        throw new WireError(`data frame: marker ${j / 5} is of unknown kind ${kind}`);
      }
      if (kind === MarkerKind.CHECKPOINT && id! < 1) {
        throw new WireError(`data frame: checkpoint marker ${j / 5} has no checkpoint id`);
      }
      markers.push({ at: at!, kind, dest: mdest!, src: src!, id: id! });
    }
  }
  return { from, epoch, seq, dest, runs, values: values as readonly unknown[] | string, lengths, trees, more, markers };
}
