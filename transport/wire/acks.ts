/**
 * Ack frames: the XOR deltas, fails, timeout resets and flow-control
 * credits one container sends the ledger of another, as raw little-endian
 * int32 quads; and the epoch that tells one run's frames from another's.
 *
 * @module
 */
import { WireError } from "./names.ts";

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
 * import type { TopologyRecord } from "./mod.ts";
 * declare const record: TopologyRecord;
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
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection, subject: string;
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
 * declare const bytes: Uint8Array, apply: (op: number, root: number, hi: number, lo: number) => void;
 * const { deltas: q } = decodeAckFrame(bytes);
 * for (let i = 0; i < q.length; i += 4) apply(q[i]!, q[i + 1]!, q[i + 2]!, q[i + 3]!);
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
