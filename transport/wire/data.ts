/**
 * Data frames: the tuples and markers one container sends another on
 * `data.<c>`, numbered per destination; a frame above the server's
 * `max_payload` travels as {@link DataChunk}s; and the stream table both
 * sides number streams by.
 *
 * @module
 */
import { createStrictPackr, findUnencodable } from "../codec.ts";
import type { EmitError } from "../../topology/errors.ts";
import { WIRE_VERSION, WireError } from "./names.ts";
import { packr } from "./_shared.ts";

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

