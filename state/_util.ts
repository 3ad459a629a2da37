/**
 * Helpers shared by the state backends: argument checks, the commit record,
 * hashing, name encoding and the pruning rule. Not public API.
 *
 * @module
 */
import { z } from "zod";
import { type CheckpointMeta, type CommittedCheckpoint, StateError } from "./state_backend.ts";

/** Version of the stored formats (state files, envelopes, commit records). */
export const STATE_FORMAT_VERSION = 1;

/** `task "x" in checkpoint 7 of topology "wc"`, for messages. */
export function where(topology: string, checkpointId: number, taskKey?: string): string {
  const ckpt = `checkpoint ${checkpointId} of topology ${JSON.stringify(topology)}`;
  return taskKey === undefined ? ckpt : `task ${JSON.stringify(taskKey)} in ${ckpt}`;
}

export function checkName(what: "topology" | "task key", v: unknown): asserts v is string {
  if (typeof v !== "string" || v.length === 0) {
    throw new StateError("BAD_ARGUMENT", `${what} must be a non-empty string, got ${JSON.stringify(v)}`);
  }
}

export function checkId(topology: string, v: unknown): asserts v is number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new StateError(
      "BAD_ARGUMENT",
      `checkpoint id of topology ${JSON.stringify(topology)} must be a non-negative safe integer, got ${String(v)}`,
    );
  }
}

/** Checks a topology and a checkpoint id. */
export function checkCheckpoint(topology: unknown, checkpointId: unknown): void {
  checkName("topology", topology);
  checkId(topology, checkpointId);
}

/** Checks a topology, a checkpoint id and a task key. */
export function checkTask(topology: unknown, checkpointId: unknown, taskKey: unknown): void {
  checkCheckpoint(topology, checkpointId);
  checkName("task key", taskKey);
}

export function checkKeep(topology: string, keep: unknown): asserts keep is number {
  if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 1) {
    throw new StateError(
      "BAD_ARGUMENT",
      `prune of topology ${JSON.stringify(topology)}: keep must be an integer ≥ 1, got ${String(keep)}`,
    );
  }
}

export function checkState(
  topology: string,
  checkpointId: number,
  taskKey: string,
  state: unknown,
): asserts state is Uint8Array {
  if (!(state instanceof Uint8Array)) {
    throw new StateError("BAD_ARGUMENT", `state of ${where(topology, checkpointId, taskKey)} must be a Uint8Array`);
  }
}

/** Checks `meta` and returns a deep copy as it will be stored. */
export function checkMeta(topology: string, checkpointId: number, meta: unknown): CheckpointMeta {
  const bad = (why: string) => new StateError("BAD_ARGUMENT", `commit of ${where(topology, checkpointId)}: ${why}`);
  if (meta === null || typeof meta !== "object") throw bad("meta must be an object");
  const { tasks, data } = meta as { tasks?: unknown; data?: unknown };
  if (!Array.isArray(tasks)) throw bad("meta.tasks must be an array of task keys");
  const seen = new Set<string>();
  for (const t of tasks) {
    if (typeof t !== "string" || t.length === 0) throw bad(`meta.tasks holds ${JSON.stringify(t)}, not a task key`);
    if (seen.has(t)) throw bad(`meta.tasks lists task ${JSON.stringify(t)} twice`);
    seen.add(t);
  }
  if (data !== undefined && (data === null || typeof data !== "object" || Array.isArray(data))) {
    throw bad("meta.data must be an object");
  }
  let copy: CheckpointMeta;
  try {
    copy = JSON.parse(JSON.stringify(data === undefined ? { tasks } : { tasks, data })) as CheckpointMeta;
  } catch (e) {
    throw bad(`meta.data does not survive JSON: ${(e as Error).message}`);
  }
  return copy;
}

/** The stored commit record: the public part and the sha256 of each task's state. */
export interface CommitRecord extends CommittedCheckpoint {
  readonly version: number;
  readonly topology: string;
  /** Task key → sha256 (lowercase hex) of the state committed. */
  readonly states: Readonly<Record<string, string>>;
}

const SHA = /^[0-9a-f]{64}$/;

const commitRecordSchema = z.object({
  version: z.literal(STATE_FORMAT_VERSION),
  topology: z.string().min(1),
  checkpointId: z.number().int().nonnegative(),
  committedAt: z.number(),
  meta: z.object({ tasks: z.array(z.string().min(1)), data: z.record(z.string(), z.unknown()).optional() }),
  states: z.record(z.string(), z.string().regex(SHA)),
});

/**
 * Parses a commit record read from storage (`source` names where, for the
 * message); throws `CORRUPT_COMMIT`.
 */
export function parseCommitRecord(text: string, topology: string, checkpointId: number, source: string): CommitRecord {
  const bad = (why: string, cause?: unknown) =>
    new StateError(
      "CORRUPT_COMMIT",
      `commit record of ${where(topology, checkpointId)} (${source}) is unreadable: ${why}`,
      { cause },
    );
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad("not JSON", e);
  }
  const r = commitRecordSchema.safeParse(v);
  if (!r.success) throw bad(`${r.error.issues[0]!.message} at ${r.error.issues[0]!.path.join(".") || "top level"}`);
  const rec = r.data;
  if (rec.topology !== topology || rec.checkpointId !== checkpointId) {
    throw bad(`it names checkpoint ${rec.checkpointId} of topology ${JSON.stringify(rec.topology)}`);
  }
  for (const t of rec.meta.tasks) if (!(t in rec.states)) throw bad(`no sha256 for task ${JSON.stringify(t)}`);
  return rec as CommitRecord;
}

/** The public view of a commit record. */
export function toCommitted(rec: CommitRecord): CommittedCheckpoint {
  return { checkpointId: rec.checkpointId, meta: rec.meta, committedAt: rec.committedAt };
}

/**
 * What a commit must do, given the checkpoint's own record (if any) and the
 * newest committed id: `"write"`, `"done"` (same tasks already committed),
 * or a thrown `ALREADY_COMMITTED` / `STALE_CHECKPOINT`.
 */
export function commitDecision(
  topology: string,
  checkpointId: number,
  meta: CheckpointMeta,
  existing: CommitRecord | undefined,
  newest: number | undefined,
): "write" | "done" {
  if (existing !== undefined) {
    const a = [...existing.meta.tasks].sort(), b = [...meta.tasks].sort();
    if (a.length === b.length && a.every((t, i) => t === b[i])) return "done";
    throw new StateError("ALREADY_COMMITTED", `${where(topology, checkpointId)} is already committed with other tasks`);
  }
  if (newest !== undefined && newest > checkpointId) {
    throw new StateError(
      "STALE_CHECKPOINT",
      `cannot commit ${where(topology, checkpointId)}: checkpoint ${newest} is already committed`,
    );
  }
  return "write";
}

export function incomplete(topology: string, checkpointId: number, missing: readonly string[]): StateError {
  const list = missing.slice(0, 10).map((t) => JSON.stringify(t)).join(", ") +
    (missing.length > 10 ? `, … (${missing.length} in all)` : "");
  return new StateError(
    "INCOMPLETE_CHECKPOINT",
    `cannot commit ${where(topology, checkpointId)}: no state saved by task ${list}`,
  );
}

export function notCommitted(topology: string, checkpointId: number): StateError {
  return new StateError("NOT_COMMITTED", `${where(topology, checkpointId)} is not committed (or was pruned)`);
}

export function alreadyCommitted(topology: string, checkpointId: number, taskKey: string): StateError {
  return new StateError(
    "CHECKPOINT_COMMITTED",
    `cannot save ${where(topology, checkpointId, taskKey)}: the checkpoint is already committed`,
  );
}

export function corrupt(
  topology: string,
  checkpointId: number,
  taskKey: string,
  why: string,
  source: string,
): StateError {
  return new StateError(
    "CORRUPT_STATE",
    `state of ${where(topology, checkpointId, taskKey)} is corrupt (${source}): ${why}; refusing to load it`,
  );
}

export function missing(topology: string, checkpointId: number, taskKey: string, source: string): StateError {
  return new StateError(
    "MISSING_STATE",
    `state of ${where(topology, checkpointId, taskKey)} is committed but gone (${source})`,
  );
}

export function closed(kind: string): StateError {
  return new StateError("CLOSED", `the ${kind} state backend is closed`);
}

/**
 * Which checkpoints a prune removes: committed ones older than the `keep`
 * newest, and uncommitted ones older than the newest committed.
 */
export function pruneSelection(committed: readonly number[], uncommitted: readonly number[], keep: number): number[] {
  const sorted = [...committed].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const newest = sorted[sorted.length - 1]!;
  const drop = sorted.slice(0, Math.max(0, sorted.length - keep));
  for (const id of uncommitted) if (id < newest) drop.push(id);
  return drop.sort((a, b) => a - b);
}

/**
 * sha256 of `bytes`, lowercase hex (as cluster/bundle.ts `sha256Hex`, which
 * this layer cannot import: engine depends on state).
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Names as tokens safe in a file name and in a NATS subject or KV key: the
 * wire contract's one encoding (ASCII letters, digits, `_` and `-` stay;
 * every other UTF-8 byte becomes `=XX`), and its inverse.
 */
export { decodeName, encodeName } from "../transport/wire/names.ts";
