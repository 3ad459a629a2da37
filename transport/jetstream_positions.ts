/**
 * Stream positions of the JetStream spout in EFFECTIVELY_ONCE mode: which
 * messages of a stream a spout task owns, how far it has read them, and how
 * that survives a change of the spout's parallelism.
 *
 * Every task reads the stream in order (its own ordered reader) and keeps
 * the messages of its partition: `partition(message, n) === index`, where
 * the partition is a hash of the stream sequence (the default: balanced
 * whatever the subjects) or of the subject (every message of a subject goes
 * to one task, in order): with these each task reads the whole stream. Or
 * the partition is written in the subject, as the decimal number in token
 * k (`token<k>`; publishers put partition p of n on e.g. `orders.<p>.…`):
 * then task i reads only its partition, through a consumer that filters
 * token k = i (nats-server 2.9 gives a consumer one filter subject, which is
 * why the hashed modes cannot be filtered on the server). The position saved at a checkpoint is one number per
 * task: the stream sequence up to which every message of its partition was
 * emitted. Its key names the partitioning, `"<mode>/<n>/<index>"`, so a key
 * says exactly which messages it covers: those `m` with
 * `partition(m, n) === index` and `m.seq <= value`.
 *
 * Rescaling (the spout's task count changed since the checkpoint): every new
 * task gets the union of the old tasks' keys ({@link mergePositions}); a
 * message is done when any key covers it. A new task starts reading after
 * the smallest saved value and skips the messages an old key covers; once
 * its own position passes an old key's value, that key can no longer cover
 * anything it will read and is dropped.
 *
 * @module
 */
import type { KeyValueState } from "../topology/stateful.ts";

/**
 * How messages are spread over the spout's tasks: a hash of the sequence or
 * of the subject, or the partition number in subject token k (`token<k>`).
 *
 * @example
 * ```ts
 * const mode: PartitionMode = "subject"; // all messages of a subject from one task
 * const written: PartitionMode = "token1"; // orders.<partition>.… (tokens count from 0)
 * ```
 */
export type PartitionMode = "sequence" | "subject" | `token${number}`;

/**
 * The state key that names the stream the positions belong to.
 *
 * @example
 * ```ts
 * import type { KeyValueState } from "ardea";
 * declare const state: KeyValueState;
 * if (state.get(STREAM_KEY) !== "ORDERS") throw new Error("positions of another stream");
 * ```
 */
export const STREAM_KEY = "stream";

/**
 * The partition (0…n-1) of stream sequence `seq`: a 32-bit mix of the
 * sequence, so that any pattern of subjects or filters spreads evenly.
 *
 * @example
 * ```ts
 * partitionOfSequence(42, 3); // 0, 1 or 2, the same every time
 * ```
 */
export function partitionOfSequence(seq: number, n: number): number {
  if (n === 1) return 0;
  let x = (seq >>> 0) ^ Math.floor(seq / 4294967296);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) % n;
}

/**
 * The partition (0…n-1) of a subject (FNV-1a of its UTF-16 code units).
 *
 * @example
 * ```ts
 * partitionOfSubject("orders.eu", 4);
 * ```
 */
export function partitionOfSubject(subject: string, n: number): number {
  if (n === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) h = Math.imul(h ^ subject.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

/**
 * The partition written in token `k` (from 0) of a subject: its decimal
 * number, or -1 (no task's) when the token is missing, not a canonical
 * decimal, or not below `n`.
 *
 * @example
 * ```ts
 * partitionOfToken("orders.2.eu", 1, 4); // 2
 * partitionOfToken("orders.7.eu", 1, 4); // -1
 * ```
 */
export function partitionOfToken(subject: string, k: number, n: number): number {
  let start = 0;
  for (let i = 0; i < k; i++) {
    const dot = subject.indexOf(".", start);
    if (dot < 0) return -1;
    start = dot + 1;
  }
  let end = subject.indexOf(".", start);
  if (end < 0) end = subject.length;
  if (end === start || end - start > 9 || (end - start > 1 && subject.charCodeAt(start) === 48)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = subject.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v < n ? v : -1;
}

/**
 * The subject token that `mode` reads the partition from, or -1 for the hashed modes.
 *
 * @example
 * ```ts
 * partitionToken("token2"); // 2
 * ```
 */
export function partitionToken(mode: PartitionMode): number {
  return mode.startsWith("token") ? Number(mode.slice(5)) : -1;
}

/**
 * The partition of a message under `mode`.
 *
 * @example
 * ```ts
 * partitionOf("subject", 7, "orders.eu", 2);
 * ```
 */
export function partitionOf(mode: PartitionMode, seq: number, subject: string, n: number): number {
  if (mode === "sequence") return partitionOfSequence(seq, n);
  if (mode === "subject") return partitionOfSubject(subject, n);
  return partitionOfToken(subject, partitionToken(mode), n);
}

/** A parsed position key: the messages `m` with `partition(m, n) === index` and `m.seq <= seq` are done. */
interface Cover {
  key: string;
  mode: PartitionMode;
  n: number;
  index: number;
  seq: number;
}

function parseKey(key: unknown, value: unknown): Cover | null {
  if (typeof key !== "string" || typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return null;
  const m = /^(sequence|subject|token\d+)\/(\d+)\/(\d+)$/.exec(key);
  if (m === null) return null;
  const n = Number(m[2]), index = Number(m[3]);
  if (n < 1 || index >= n) return null;
  return { key, mode: m[1] as PartitionMode, n, index, seq: value };
}

/**
 * The position keys of the old tasks' states, merged into the (empty)
 * states of the new tasks: each gets every key; where two old states hold
 * the same key (a rescale back to an earlier task count), the larger
 * sequence wins, since both describe the same partition.
 *
 * @example
 * ```ts
 * import { type KeyValueState, State } from "ardea";
 * declare const state0: KeyValueState, state1: KeyValueState;
 * mergePositions([state0, state1], [new State(), new State(), new State()]);
 * ```
 */
export function mergePositions(saved: readonly KeyValueState[], targets: readonly KeyValueState[]): void {
  const union = new Map<string, number>();
  let stream: unknown;
  for (const s of saved) {
    for (const [key, value] of s.entries()) {
      if (key === STREAM_KEY) {
        stream ??= value;
        continue;
      }
      const c = parseKey(key, value);
      if (c !== null) union.set(c.key, Math.max(union.get(c.key) ?? 0, c.seq));
    }
  }
  for (const s of targets) {
    if (stream !== undefined) s.put(STREAM_KEY, stream);
    for (const [k, v] of union) s.put(k, v);
  }
}

/**
 * One task's position, read from and written to its checkpointed state.
 *
 * @example
 * ```ts
 * import type { JsMsg } from "nats";
 * import type { KeyValueState } from "ardea";
 * declare const state: KeyValueState, msg: JsMsg, emit: (m: JsMsg) => void;
 * const p = new StreamPositions(state, "sequence", 2, 0);
 * const from = p.saved ? p.start : 1;
 * const seq = msg.seq, subject = msg.subject;
 * if (p.owns(seq, subject) && !p.covered(seq, subject)) emit(msg);
 * p.save(seq);
 * ```
 */
export class StreamPositions {
  /** This task's key. */
  readonly key: string;
  /** Whether the state held any position (false: a fresh start). */
  readonly saved: boolean;
  /** First sequence to read: every earlier message is done, whichever task owns it. */
  readonly start: number;
  /** Keys of earlier partitionings (and this one's earlier value) that still cover messages ahead. */
  #older: Cover[];

  constructor(
    readonly state: KeyValueState,
    readonly mode: PartitionMode,
    readonly n: number,
    readonly index: number,
  ) {
    this.key = `${mode}/${n}/${index}`;
    let min = Infinity;
    const covers: Cover[] = [];
    for (const [key, value] of state.entries()) {
      const c = parseKey(key, value);
      if (c === null) continue;
      min = Math.min(min, c.seq);
      // Other partitions of this very partitioning never cover a message this task owns.
      if (!(c.mode === mode && c.n === n && c.index !== index)) covers.push(c);
    }
    this.saved = min !== Infinity;
    this.start = this.saved ? min + 1 : 1;
    this.#older = covers.filter((c) => c.seq >= this.start);
  }

  /** Whether this task owns the message. */
  owns(seq: number, subject: string): boolean {
    return partitionOf(this.mode, seq, subject, this.n) === this.index;
  }

  /** Whether a saved key says the message was already emitted (only ever true just after a rescale or restore). */
  covered(seq: number, subject: string): boolean {
    const older = this.#older;
    for (let i = 0; i < older.length; i++) {
      const c = older[i]!;
      if (seq <= c.seq && partitionOf(c.mode, seq, subject, c.n) === c.index) return true;
    }
    return false;
  }

  /** Whether any older key is left (`covered` is always false otherwise). */
  get hasOlder(): boolean {
    return this.#older.length > 0;
  }

  /**
   * Writes the position into the state: every message of this task's
   * partition up to `handled` was emitted. Drops the older keys that cover
   * nothing beyond it.
   */
  save(handled: number): void {
    let own = handled;
    const keep: Cover[] = [];
    for (const c of this.#older) {
      if (c.key === this.key) own = Math.max(own, c.seq);
      if (c.seq > handled) keep.push(c);
      else if (c.key !== this.key) this.state.delete(c.key);
    }
    this.#older = keep;
    // Keys of earlier partitionings that no longer covered anything ahead at open.
    for (const [k] of [...this.state.entries()]) {
      if (k !== this.key && k !== STREAM_KEY && !keep.some((c) => c.key === k)) this.state.delete(k);
    }
    this.state.put(this.key, own);
  }
}
