/**
 * EFFECTIVELY_ONCE checkpoints across containers, the master's side (Heron's
 * stateful checkpointer and restorer): triggers a checkpoint every interval,
 * collects each container's `saved`, commits the checkpoint in the state
 * store once every container saved, says `committed`, abandons one that
 * does not complete, takes one on demand (before an update, at the end of
 * a finished run), and picks the checkpoint a new generation restores.
 *
 * ```text
 * master ── checkpoint {id} ──▶ every container (markers flow through the data frames)
 * master ◀── saved {id, tasks} ── each container, once its tasks saved
 * master: commit(id) in the state store ── committed {id} ──▶ every container
 * ```
 *
 * @module
 */
import type { ControlMessage } from "../../transport/wire/mod.ts";
import type { CheckpointStore, Clock, Timer } from "./ports.ts";
import { sleep } from "./ports.ts";

/** Options of {@link CheckpointCoordinator}. */
export interface CheckpointCoordinatorOptions {
  store: CheckpointStore;
  topology: string;
  /** The topology's configuration (interval, checkpoints kept). */
  config: Record<string, unknown>;
  containers: number;
  clock: Clock;
  /** Publishes on the topology's `ctl`. */
  say: (m: ControlMessage) => void;
  log: (line: string) => void;
  /** A checkpoint committed. */
  onCommitted: () => void;
}

interface InFlight {
  id: number;
  saved: Set<number>;
  tasks: string[];
  startedAt: number;
}

/**
 * The checkpoints of one topology.
 *
 * @example
 * ```ts
 * import { type CheckpointStore, systemClock } from "./ports.ts";
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * declare const store: CheckpointStore;
 * declare const rec: TopologyRecord;
 * const say = (m: unknown) => console.log(m), log = console.error, onCommitted = () => {};
 * const ck = new CheckpointCoordinator({ store, topology: "wc", config: rec.config, containers: 2, clock: systemClock, say, log, onCommitted });
 * await ck.learnNewest();
 * setInterval(() => ck.tick(true), ck.every);
 * ```
 */
export class CheckpointCoordinator {
  /** The trigger interval (ms). */
  readonly every: number;
  /** A checkpoint not complete within this is abandoned (a container missed its trigger) (ms). */
  readonly giveUpMs: number;
  readonly #o: CheckpointCoordinatorOptions;
  #lastId = 0;
  #current: InFlight | null = null;
  #committing: Promise<void> = Promise.resolve();
  #waiters: Array<() => void> = [];
  #closed = false;

  constructor(o: CheckpointCoordinatorOptions) {
    this.#o = o;
    this.every = Number(o.config["topology.stateful.checkpoint.interval.seconds"] ?? 1) * 1000;
    this.giveUpMs = Math.max(10 * this.every, 30_000);
  }

  /** The id of the newest checkpoint started or known committed. */
  get lastId(): number {
    return this.#lastId;
  }

  /** The id of the checkpoint in flight, if any. */
  get inFlight(): number | null {
    return this.#current?.id ?? null;
  }

  /** Learns the newest committed checkpoint, so that new ids follow it (a failed read counts from 0). */
  async learnNewest(): Promise<void> {
    const c = await this.#o.store.lastCommitted(this.#o.topology).catch(() => undefined);
    this.#lastId = Math.max(this.#lastId, c?.checkpointId ?? 0);
  }

  /** The trigger: abandons a checkpoint that is stuck, then starts the next one if `mayStart` and none is in flight. */
  tick(mayStart: boolean): void {
    const ck = this.#current;
    if (ck !== null && this.#o.clock.now() - ck.startedAt > this.giveUpMs) {
      this.#o.log(
        `[ardea] master: checkpoint ${ck.id} of "${this.#o.topology}" did not complete within ${this.giveUpMs} ms; abandoned`,
      );
      this.#set(null);
    }
    if (!mayStart || this.#current !== null) return;
    this.#begin();
  }

  /** Container `container` saved its tasks `tasks` of checkpoint `id`: commits once every container has. */
  saved(container: number, id: number, tasks: string[]): void {
    const ck = this.#current;
    if (ck === null || id !== ck.id) return;
    ck.saved.add(container);
    ck.tasks.push(...tasks);
    // The master passes only containers of the plan (0 … containers - 1).
    if (ck.saved.size === this.#o.containers) {
      this.#committing = this.#commit(ck);
    }
  }

  /** Forgets the checkpoint in flight (a rollback or update makes it moot). */
  abandon(): void {
    this.#set(null);
  }

  /** The run ended: waits end, and no new checkpoint starts. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  /**
   * Takes a checkpoint now (after the one in flight, if any) and waits for
   * its commit, until `until` (clock ms); false if it did not commit in
   * time (what follows `before` then starts from the last committed one).
   */
  async checkpointNow(until: number, before: string): Promise<boolean> {
    const { clock } = this.#o;
    while (this.#current !== null && clock.now() < until && !this.#closed) await this.#change(until);
    if (this.#current !== null || this.#closed) return false;
    const id = this.#begin();
    while (this.inFlight === id && clock.now() < until && !this.#closed) await this.#change(until);
    const done = (await this.#o.store.lastCommitted(this.#o.topology).catch(() => undefined))?.checkpointId === id;
    this.#o.log(
      `[ardea] master: "${this.#o.topology}": ${
        done
          ? `checkpoint ${id} committed before ${before}`
          : `checkpoint ${id} did not commit in time before ${before}; the last committed one stands`
      }`,
    );
    return done;
  }

  /** Resolves once the commit being written, if any, has settled. */
  committing(): Promise<void> {
    return this.#committing;
  }

  /**
   * The checkpoint the next generation restores, read once no commit is in
   * flight (a commit landing while containers start would let some restore
   * it and others the one before). Undefined when it cannot be read: the
   * record keeps its previous choice.
   */
  async restorePoint(): Promise<number | undefined> {
    const { clock, store, topology, log } = this.#o;
    let timer: Timer | undefined;
    await Promise.race([this.#committing, new Promise((r) => (timer = clock.setTimeout(() => r(undefined), 15_000)))]);
    clock.clear(timer);
    for (let attempt = 0; attempt < 10 && !this.#closed; attempt++) {
      try {
        const id = (await store.lastCommitted(topology))?.checkpointId ?? 0;
        this.#lastId = Math.max(this.#lastId, id);
        return id;
      } catch (e) {
        log(`[ardea] master: cannot read the last checkpoint of "${topology}" (${(e as Error).message}); retrying`);
        await sleep(clock, 500);
      }
    }
    return undefined;
  }

  #begin(): number {
    const id = ++this.#lastId;
    this.#set({ id, saved: new Set(), tasks: [], startedAt: this.#o.clock.now() });
    this.#o.say({ type: "checkpoint", id });
    return id;
  }

  async #commit(c: InFlight): Promise<void> {
    const { store, topology, config, log } = this.#o;
    try {
      await store.commit(topology, c.id, { tasks: c.tasks });
      if (this.#current?.id === c.id) this.#set(null);
      this.#o.onCommitted();
      this.#o.say({ type: "committed", id: c.id });
      await store.prune(topology, Number(config["topology.stateful.checkpoints.kept"] ?? 2)).catch(() => {});
    } catch (e) {
      log(`[ardea] master: checkpoint ${c.id} of "${topology}" could not be committed: ${(e as Error).message}`);
      if (this.#current?.id === c.id) this.#set(null);
      // A stale id (the store holds a newer commit): count from the newest.
      const newest = await store.lastCommitted(topology).catch(() => undefined);
      this.#lastId = Math.max(this.#lastId, newest?.checkpointId ?? 0);
    }
  }

  #set(ck: InFlight | null): void {
    this.#current = ck;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves when the checkpoint in flight changes, the coordinator closes, or at `until`. */
  #change(until: number): Promise<void> {
    const { clock } = this.#o;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(done, Math.max(0, until - clock.now()));
      const waiters = this.#waiters;
      function done() {
        clock.clear(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
}
