/**
 * Checkpoint storage of the EFFECTIVELY_ONCE mode: one {@link StateBackend}
 * interface, implemented in memory (tests), on the local disk (the embedded
 * default) and on NATS JetStream (distributed mode).
 *
 * A checkpoint of a topology is a number (increasing with time) and, per
 * task, the bytes of its state. The sequence, driven by the checkpoint
 * coordinator:
 *
 * 1. Every task of the checkpoint calls {@link StateBackend.save} once it has
 *    aligned the checkpoint's markers (a task may save again; the last save
 *    wins until the commit).
 * 2. When every task has saved, the coordinator calls
 *    {@link StateBackend.commit} once with the list of tasks. The backend
 *    checks that each of them has saved, records each state's sha256 in the
 *    commit record and writes that record last: until it exists, the
 *    checkpoint is invisible.
 * 3. On recovery, {@link StateBackend.lastCommitted} names the checkpoint to
 *    roll back to and {@link StateBackend.load} returns each task's state,
 *    refusing (with {@link StateError} `CORRUPT_STATE`) bytes whose sha256
 *    differs from the one recorded.
 * 4. {@link StateBackend.prune} keeps the newest committed checkpoints and
 *    removes the older ones and the abandoned uncommitted ones.
 *
 * @module
 */
import { ArdeaError } from "../topology/errors.ts";

/**
 * What the coordinator records with a commit.
 *
 * @example
 * ```ts
 * const meta: CheckpointMeta = { tasks: ["count.3", "count.4", "lines.1"], data: { offsets: { "lines.1": 1200 } } };
 * ```
 */
export interface CheckpointMeta {
  /**
   * The key of every task whose state belongs to the checkpoint. The commit
   * is refused unless each has been saved; {@link StateBackend.load} of a
   * task not listed returns `undefined`.
   */
  readonly tasks: readonly string[];
  /** The coordinator's own data (spout offsets, plan version, …); must survive `JSON.stringify`. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A committed checkpoint, as {@link StateBackend.lastCommitted} returns it. */
export interface CommittedCheckpoint {
  readonly checkpointId: number;
  readonly meta: CheckpointMeta;
  /** Wall-clock time of the commit, ms since the epoch. */
  readonly committedAt: number;
}

/**
 * Where checkpoints are kept. Every method validates its arguments
 * (topology and task keys are non-empty strings of any characters; a
 * checkpoint id is a non-negative safe integer) and throws
 * {@link StateError} naming what is wrong.
 *
 * @example
 * ```ts
 * import { FileStateBackend, State } from "ardea";
 * import { encodeState } from "./keyed_state.ts";
 * const counts = new State<string, number>();
 * const backend: StateBackend = new FileStateBackend(".ardea/state");
 * await backend.save("wc", 7, "count.3", encodeState(counts));
 * await backend.commit("wc", 7, { tasks: ["count.3"] });
 * const last = await backend.lastCommitted("wc"); // { checkpointId: 7, meta, committedAt }
 * const bytes = await backend.load("wc", last!.checkpointId, "count.3");
 * await backend.prune("wc", 2);
 * ```
 */
export interface StateBackend {
  /** Which implementation this is. */
  readonly kind: "memory" | "file" | "nats";
  /**
   * Stores `state` as task `taskKey`'s part of checkpoint `checkpointId`,
   * with its sha256, replacing an earlier save of the same task. Throws
   * `CHECKPOINT_COMMITTED` when that checkpoint is already committed.
   */
  save(topology: string, checkpointId: number, taskKey: string, state: Uint8Array): Promise<void>;
  /**
   * Makes checkpoint `checkpointId` visible, once. Throws
   * `INCOMPLETE_CHECKPOINT` (naming the tasks) when a task of `meta.tasks`
   * has not saved, `STALE_CHECKPOINT` when a newer checkpoint is committed,
   * `ALREADY_COMMITTED` when it was committed with other tasks; committing
   * again with the same tasks does nothing.
   */
  commit(topology: string, checkpointId: number, meta: CheckpointMeta): Promise<void>;
  /** The newest committed checkpoint, or `undefined` when none is. Never an uncommitted one. */
  lastCommitted(topology: string): Promise<CommittedCheckpoint | undefined>;
  /** Every committed checkpoint still kept, oldest first. */
  committed(topology: string): Promise<CommittedCheckpoint[]>;
  /**
   * Task `taskKey`'s state in committed checkpoint `checkpointId`, or
   * `undefined` when the checkpoint does not list that task. Throws
   * `NOT_COMMITTED` when the checkpoint is not committed (or was pruned),
   * `CORRUPT_STATE` when the stored bytes do not hash to the recorded
   * sha256, `MISSING_STATE` when a listed task's state is gone.
   */
  load(topology: string, checkpointId: number, taskKey: string): Promise<Uint8Array | undefined>;
  /**
   * Keeps the `keep` (≥ 1) newest committed checkpoints and removes the
   * older ones and every uncommitted checkpoint older than the newest
   * committed one (abandoned). Newer uncommitted ones (in progress) stay.
   */
  prune(topology: string, keep: number): Promise<void>;
  /** Removes every checkpoint of `topology`, committed or not. */
  drop(topology: string): Promise<void>;
  /** Releases what the backend holds (not a NATS connection it was given); later calls throw `CLOSED`. */
  close(): Promise<void>;
}

/**
 * A checkpoint that cannot be saved, committed or loaded. Codes:
 * `BAD_ARGUMENT`, `CHECKPOINT_COMMITTED`, `INCOMPLETE_CHECKPOINT`,
 * `STALE_CHECKPOINT`, `ALREADY_COMMITTED`, `NOT_COMMITTED`,
 * `CORRUPT_STATE`, `MISSING_STATE`, `CORRUPT_COMMIT`, `BAD_STATE` (keyed
 * state that does not decode), `DUPLICATE_KEY` (the same key in two states
 * being repartitioned), `STORAGE_ERROR` (the file system or NATS failed),
 * `CLOSED`, `STATE_LOCKED` (another run holds the topology's state).
 *
 * @example
 * ```ts
 * declare const backend: StateBackend;
 * try { await backend.load("wc", 7, "count.3"); } catch (e) {
 *   if (e instanceof StateError && e.code === "CORRUPT_STATE") console.error(e.message);
 *   // state of task "count.3" in checkpoint 7 of topology "wc" is corrupt: …
 * }
 * ```
 */
export class StateError extends ArdeaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** File-system error codes that a retry or a rollback cannot cure. */
const PERMANENT_IO: Readonly<Record<string, string>> = {
  EACCES: "the state folder is not writable by this process: fix its permissions, or choose another state folder",
  EPERM: "the state folder is not writable by this process: fix its permissions, or choose another state folder",
  EROFS: "the state folder is on a read-only file system: choose another state folder",
  ENOSPC: "the disk holding the state folder is full: free some space, or choose another state folder",
  EDQUOT: "the disk quota of the state folder is used up: free some space, or choose another state folder",
  ENOTDIR: "a part of the state folder's path is a file, not a folder: choose another state folder",
  EISDIR: "the state folder holds a folder where a file belongs: choose another state folder",
  ENAMETOOLONG: "the state folder's path is too long: choose a shorter one",
  ELOOP: "the state folder's path loops through symbolic links: choose another state folder",
};

/**
 * What to do about a state error that retrying cannot cure (a state folder
 * that is read-only or locked by another run, checkpoints written by
 * another process), or `undefined` for a failure worth a rollback (a
 * timeout, a crash, a NATS outage). Runners end the run at once on the
 * former instead of rolling back until the restart budget is spent.
 *
 * @example
 * ```ts
 * declare const error: Error;
 * const advice = permanentStateFailure(error);
 * if (advice !== undefined) throw new Error(`${error.message}; ${advice}`);
 * ```
 */
export function permanentStateFailure(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (code === "STATE_LOCKED") return "one run at a time may use a topology's checkpoints";
    if (code === "CHECKPOINT_COMMITTED") {
      return "another process wrote checkpoints of this topology in the same state folder at the same time; " +
        "make sure one run at a time uses it (a run stops only when its own process ends: a SIGKILL sent to " +
        "`npx` or a shell does not reach it)";
    }
    const io = PERMANENT_IO[code];
    if (io !== undefined) return io;
  }
  return undefined;
}
