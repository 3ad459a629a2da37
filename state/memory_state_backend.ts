/**
 * A {@link StateBackend} in the memory of one process: for tests, and for
 * embedded topologies that only need to survive the crash of a task, not of
 * the process.
 *
 * @module
 */
import type { CheckpointMeta, CommittedCheckpoint, StateBackend } from "./state_backend.ts";
import {
  alreadyCommitted,
  checkCheckpoint,
  checkKeep,
  checkMeta,
  checkName,
  checkState,
  checkTask,
  closed,
  commitDecision,
  type CommitRecord,
  corrupt,
  incomplete,
  missing,
  notCommitted,
  pruneSelection,
  sha256Hex,
  STATE_FORMAT_VERSION,
  toCommitted,
} from "./_util.ts";

interface Saved {
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

interface Checkpoint {
  readonly states: Map<string, Saved>;
  commit?: CommitRecord;
}

/**
 * Checkpoints in a `Map`. Bytes are copied on the way in and out, and
 * checked against their sha256 on load like every backend.
 *
 * @example
 * ```ts
 * const backend = new MemoryStateBackend();
 * await backend.save("wc", 1, "count.1", new Uint8Array([1, 2, 3]));
 * await backend.commit("wc", 1, { tasks: ["count.1"] });
 * await backend.load("wc", 1, "count.1"); // Uint8Array [1, 2, 3]
 * ```
 */
export class MemoryStateBackend implements StateBackend {
  readonly kind = "memory" as const;
  readonly #topologies = new Map<string, Map<number, Checkpoint>>();
  #closed = false;

  #checkpoints(topology: string): Map<number, Checkpoint> {
    if (this.#closed) throw closed(this.kind);
    let m = this.#topologies.get(topology);
    if (m === undefined) this.#topologies.set(topology, m = new Map());
    return m;
  }

  #newest(topology: string): number | undefined {
    let newest: number | undefined;
    for (const [id, c] of this.#checkpoints(topology)) {
      if (c.commit !== undefined && (newest === undefined || id > newest)) newest = id;
    }
    return newest;
  }

  async save(topology: string, checkpointId: number, taskKey: string, state: Uint8Array): Promise<void> {
    checkTask(topology, checkpointId, taskKey);
    checkState(topology, checkpointId, taskKey, state);
    const bytes = state.slice();
    const sha256 = await sha256Hex(bytes);
    const checkpoints = this.#checkpoints(topology);
    let c = checkpoints.get(checkpointId);
    if (c === undefined) checkpoints.set(checkpointId, c = { states: new Map() });
    if (c.commit !== undefined) throw alreadyCommitted(topology, checkpointId, taskKey);
    c.states.set(taskKey, { bytes, sha256 });
  }

  async commit(topology: string, checkpointId: number, meta: CheckpointMeta): Promise<void> {
    checkCheckpoint(topology, checkpointId);
    const m = checkMeta(topology, checkpointId, meta);
    const c = this.#checkpoints(topology).get(checkpointId);
    if (commitDecision(topology, checkpointId, m, c?.commit, this.#newest(topology)) === "done") return;
    const absent = m.tasks.filter((t) => !c?.states.has(t));
    if (c === undefined || absent.length > 0) throw incomplete(topology, checkpointId, absent);
    const states: Record<string, string> = {};
    for (const t of m.tasks) states[t] = c.states.get(t)!.sha256;
    c.commit = { version: STATE_FORMAT_VERSION, topology, checkpointId, committedAt: Date.now(), meta: m, states };
  }

  async lastCommitted(topology: string): Promise<CommittedCheckpoint | undefined> {
    checkName("topology", topology);
    const newest = this.#newest(topology);
    return newest === undefined ? undefined : toCommitted(this.#checkpoints(topology).get(newest)!.commit!);
  }

  async committed(topology: string): Promise<CommittedCheckpoint[]> {
    checkName("topology", topology);
    const out: CommittedCheckpoint[] = [];
    for (const c of this.#checkpoints(topology).values()) if (c.commit !== undefined) out.push(toCommitted(c.commit));
    return out.sort((a, b) => a.checkpointId - b.checkpointId);
  }

  async load(topology: string, checkpointId: number, taskKey: string): Promise<Uint8Array | undefined> {
    checkTask(topology, checkpointId, taskKey);
    const c = this.#checkpoints(topology).get(checkpointId);
    if (c?.commit === undefined) throw notCommitted(topology, checkpointId);
    const expected = c.commit.states[taskKey];
    if (expected === undefined) return undefined;
    const saved = c.states.get(taskKey);
    if (saved === undefined) throw missing(topology, checkpointId, taskKey, "memory");
    const actual = await sha256Hex(saved.bytes);
    if (actual !== expected) {
      throw corrupt(topology, checkpointId, taskKey, `sha256 is ${actual}, the commit recorded ${expected}`, "memory");
    }
    return saved.bytes.slice();
  }

  async prune(topology: string, keep: number): Promise<void> {
    checkName("topology", topology);
    checkKeep(topology, keep);
    const checkpoints = this.#checkpoints(topology);
    const committed: number[] = [], uncommitted: number[] = [];
    for (const [id, c] of checkpoints) (c.commit !== undefined ? committed : uncommitted).push(id);
    for (const id of pruneSelection(committed, uncommitted, keep)) checkpoints.delete(id);
  }

  async drop(topology: string): Promise<void> {
    checkName("topology", topology);
    if (this.#closed) throw closed(this.kind);
    this.#topologies.delete(topology);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#topologies.clear();
  }
}
