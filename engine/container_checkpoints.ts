/**
 * A container's side of EFFECTIVELY_ONCE checkpoints: which tasks still owe
 * their part of checkpoint N, the state writes in flight, the commit
 * (embedded) or the report to the master (distributed), the final
 * checkpoint of a finished run, and the state each task starts from.
 *
 * @module
 */
import type { SpoutActor } from "../actors/spout_actor.ts";
import type { TaskActor } from "../actors/task_actor.ts";
import type { StateBackend } from "../state/state_backend.ts";
import { decodeState, encodeState, State } from "../state/keyed_state.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { KeyValueState } from "../topology/stateful.ts";
import type { StormTopology } from "../topology/topology.ts";

/** The checkpoint side of an EFFECTIVELY_ONCE container. */
export interface CheckpointSetup {
  backend: StateBackend;
  /** The last committed checkpoint (0: none); new ones count from it. */
  lastId: number;
  /** Task key → saved state of that checkpoint. */
  restore: ReadonlyMap<string, Uint8Array>;
  /**
   * Distributed: the master triggers checkpoints and commits them; this
   * container reports when its tasks have saved.
   */
  coordinated?: boolean;
}

/**
 * A failure in EFFECTIVELY_ONCE mode: the run is to be restarted from the
 * last committed checkpoint (the embedded runner does it).
 *
 * @example
 * ```ts
 * new RollbackRequest(new Error("disk full")).message; // "rolling back to the last checkpoint: disk full"
 * ```
 */
export class RollbackRequest extends Error {
  constructor(readonly reason: unknown) {
    super(`rolling back to the last checkpoint: ${reason instanceof Error ? reason.message : String(reason)}`, {
      cause: reason,
    });
    this.name = "RollbackRequest";
  }
}

/**
 * The key of a task's state in a checkpoint: component and index, so that it
 * survives a renumbering of tasks.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * stateKey(topology, 3); // "count#1"
 * ```
 */
export function stateKey(topology: StormTopology, task: number): string {
  const c = topology.taskToComponent.get(task)!;
  return `${c}#${topology.componentTasks.get(c)!.indexOf(task)}`;
}

/** What the checkpoints need from their container. */
export interface CheckpointHost {
  readonly name: string;
  readonly topology: StormTopology;
  readonly config: TopologyConfig;
  /** Every local task, spouts first or not. */
  readonly tasks: readonly TaskActor[];
  readonly spouts: readonly SpoutActor[];
  /** Whether the run has ended (late writes and commits are ignored). */
  readonly ended: boolean;
  /** A failure: every task rolls back to the last committed checkpoint. */
  rollback(error: unknown): void;
  /** Distributed: every local task saved its part of `id` (state keys saved). */
  reportSaved: ((id: number, keys: string[]) => void) | null;
  log(line: string): void;
}

/**
 * Checkpoint coordination of one container (Chandy-Lamport with aligned
 * markers; the markers themselves travel through the tasks).
 *
 * @example
 * ```ts
 * declare const host: CheckpointHost, setup: CheckpointSetup;
 * const ck = new ContainerCheckpoints(host, setup);
 * ck.begin(ck.id + 1); // spouts save and emit their markers at their next turn
 * ```
 */
export class ContainerCheckpoints {
  /** Id of the checkpoint in progress, or of the last one begun. */
  id: number;
  /** Checkpoints committed by this container. */
  committedCount = 0;
  /** The last checkpoint this (embedded) container committed. */
  #committedId = 0;
  #expected: Set<number> | null = null;
  #saves: Array<Promise<void>> = [];
  #keys: string[] = [];

  constructor(private readonly host: CheckpointHost, private readonly setup: CheckpointSetup | undefined) {
    this.id = setup?.lastId ?? 0;
  }

  /** Whether the master triggers and commits (distributed). */
  get coordinated(): boolean {
    return this.setup?.coordinated === true;
  }

  /** The state task `task` starts from: restored from the last committed checkpoint, or empty. */
  openState(task: number): KeyValueState {
    const bytes = this.setup?.restore.get(stateKey(this.host.topology, task));
    return bytes === undefined ? new State() : decodeState(bytes);
  }

  /**
   * Restored from checkpoint N: what two-phase sinks kept for N is committed
   * now (N was committed, but the run may have ended before they heard of it).
   */
  resumed(): void {
    const s = this.setup;
    if (s !== undefined && s.lastId > 0 && s.restore.size > 0) {
      for (const a of this.host.tasks) {
        a.postSave(s.lastId);
      }
    }
  }

  /** Begins checkpoint `id` unless one is in progress. */
  begin(id: number): void {
    const host = this.host;
    if (this.#expected !== null || host.ended) return;
    // Finished tasks take part too: their (final) state must stay in every checkpoint.
    const part = host.tasks.filter((a) => a.state !== "stopped");
    if (part.length === 0) {
      host.reportSaved?.(id, []);
      return;
    }
    this.id = id;
    this.#expected = new Set(part.map((a) => a.taskId));
    this.#saves = [];
    this.#keys = [];
    for (const a of part) if (a.state === "finished") a.snapshot(id);
    for (const s of host.spouts) if (s.state !== "finished") s.requestCheckpoint(id);
  }

  /** Task `task` has saved its part of checkpoint `id` (null: it keeps no state). */
  stateSaved(task: number, id: number, state: KeyValueState | null): void {
    const host = this.host;
    if (id > this.id && this.coordinated && !host.ended) {
      // A marker of a checkpoint whose trigger this container missed: join it.
      this.#expected = null;
      this.begin(id);
    }
    const expected = this.#expected;
    if (expected === null || id !== this.id || host.ended) return;
    if (state !== null) {
      const key = stateKey(host.topology, task);
      this.#keys.push(key);
      const saving = this.setup!.backend.save(host.name, id, key, encodeState(state as State<unknown, unknown>));
      // Handled at once: a save may fail before the last task has saved and
      // anything awaits it, and an unhandled rejection would end the process.
      saving.catch((e) => host.rollback(e));
      this.#saves.push(saving);
    }
    expected.delete(task);
    this.#maybeCommit();
  }

  /** Task `task` finished: during a checkpoint it saves its final state into it. */
  taskFinished(task: number): void {
    if (this.#expected?.has(task)) this.host.tasks.find((a) => a.taskId === task)?.snapshot(this.id);
  }

  /** The master committed checkpoint `id` (distributed): two-phase sinks commit now. */
  committed(id: number): void {
    if (this.host.ended) return;
    this.committedCount++;
    for (const a of this.host.tasks) a.postSave(id);
  }

  /** Settles once every checkpoint write this container started has ended (before a rollback restarts). */
  async writes(): Promise<void> {
    await Promise.allSettled(this.#saves);
  }

  /**
   * EFFECTIVELY_ONCE, embedded, every task finished: one last checkpoint of
   * the final states, committed before the run ends, so that two-phase
   * sinks publish what came after the previous one (their `postSave`).
   */
  async final(): Promise<void> {
    const host = this.host;
    // A checkpoint in progress completes (or fails into a rollback) first.
    while (!host.ended && this.#expected !== null) {
      await this.writes();
      if (this.#expected !== null) await new Promise((r) => setTimeout(r, 5));
    }
    if (host.ended) return;
    const id = this.id + 1;
    this.begin(id);
    while (!host.ended && this.#committedId < id && this.#expected !== null) {
      await this.writes();
      if (this.#committedId < id && this.#expected !== null) await new Promise((r) => setTimeout(r, 5));
    }
  }

  #maybeCommit(): void {
    if (this.#expected === null || this.#expected.size > 0) return;
    const host = this.host;
    const id = this.id;
    const saves = this.#saves;
    const keys = this.#keys;
    const report = host.reportSaved;
    if (report !== null) {
      this.#expected = null;
      this.#saves = [Promise.all(saves).then(() => report(id, keys), (e) => host.rollback(e))];
      return;
    }
    const backend = this.setup!.backend;
    const keep = host.config["topology.stateful.checkpoints.kept"];
    const committing = Promise.all(saves)
      .then(() => backend.commit(host.name, id, { tasks: keys }))
      .then(() => {
        if (host.ended) return;
        this.committedCount++;
        this.#committedId = id;
        this.#expected = null;
        for (const a of host.tasks) a.postSave(id);
        // Housekeeping: a failed prune is retried at the next commit.
        return backend.prune(host.name, keep).catch((e: Error) =>
          host.log(`[ardea] pruning old checkpoints failed: ${e.message}`)
        );
      }, (e) => host.rollback(e));
    this.#saves = [committing];
  }
}
