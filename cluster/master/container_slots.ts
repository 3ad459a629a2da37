/**
 * What the master knows of each container of its topology (Heron's
 * tmanager keeps the same per stream manager): its process, whether it is
 * ready and finished, its last heartbeat and counters, its restarts, and
 * since when it is lost.
 *
 * @module
 */
import {
  type ContainerRecord,
  type ContainerStats,
  type TopologyRecord,
  WIRE_VERSION,
} from "../../transport/wire/mod.ts";
import type { ContainerProcess } from "./ports.ts";

/** One container of the topology. */
export interface Slot {
  /** Its process; null while it has none (dead, not yet started again). */
  child: ContainerProcess | null;
  ready: boolean;
  finished: boolean;
  /** Deaths that counted against the restart budget. */
  restarts: number;
  startedAt: number;
  heartbeatAt: number;
  pid: number;
  host: string;
  stats: ContainerStats | null;
  /** When the container was found dead (0: not lost). */
  lostAt: number;
  /** Stopped on request (restart, update): its end uses no restart budget. */
  requested: boolean;
}

/**
 * The task ids container `index` runs under `rec`'s packing plan.
 *
 * @example
 * ```ts
 * tasksOf({ packing: { "1": 0, "2": 1, "3": 0 } }, 0); // [1, 3]
 * ```
 */
export function tasksOf(rec: Pick<TopologyRecord, "packing">, index: number): number[] {
  return Object.entries(rec.packing).filter(([, c]) => c === index).map(([t]) => Number(t));
}

/**
 * The containers of one topology, by index.
 *
 * @example
 * ```ts
 * import type { ContainerProcess } from "./ports.ts";
 * declare const child: ContainerProcess;
 * const slots = new ContainerSlots(2);
 * slots.follow(0, child, false, Date.now());
 * slots.allReady(); // false
 * ```
 */
export class ContainerSlots {
  readonly #slots: Slot[];
  #followed = 0;

  constructor(count: number) {
    this.#slots = Array.from({ length: count }, () => ({
      child: null,
      ready: false,
      finished: false,
      restarts: 0,
      startedAt: 0,
      heartbeatAt: 0,
      pid: 0,
      host: "",
      stats: null,
      lostAt: 0,
      requested: false,
    }));
  }

  /** How many containers the topology has. */
  get count(): number {
    return this.#slots.length;
  }

  /** Container `index`'s slot, or undefined for an index out of range (an event from another plan). */
  at(index: number): Slot | undefined {
    return this.#slots[index];
  }

  /** Every slot, by index. */
  entries(): IterableIterator<[number, Slot]> {
    return this.#slots.entries();
  }

  allReady(): boolean {
    return this.#slots.every((s) => s.ready);
  }

  allFinished(): boolean {
    return this.#slots.every((s) => s.finished);
  }

  /** Whether any container still has a process. */
  anyAlive(): boolean {
    return this.#slots.some((s) => s.child !== null);
  }

  /** The processes there are now. */
  processes(): ContainerProcess[] {
    return this.#slots.map((s) => s.child).filter((c): c is ContainerProcess => c !== null);
  }

  /** Whether `child` is still the process of some slot (not replaced, not gone). */
  holds(child: ContainerProcess): boolean {
    return this.#slots.some((s) => s.child === child);
  }

  /** Whether any container was ever started (or adopted). */
  anyStarted(): boolean {
    return this.#followed > 0;
  }

  /** Whether some container has tuples in flight, by its last heartbeat. */
  anyPending(): boolean {
    return this.#slots.some((s) => (s.stats?.pending ?? 0) > 0);
  }

  /** Slot `index` now follows process `child` (just started; or adopted from a previous master, `ready`). */
  follow(index: number, child: ContainerProcess, ready: boolean, now: number): Slot {
    const s = this.#slots[index]!;
    this.#followed++;
    s.ready = ready;
    s.startedAt = now;
    s.heartbeatAt = now;
    s.child = child;
    return s;
  }

  /** Slot `index` starts afresh in a new generation: not finished, no counters. */
  renew(index: number): void {
    const s = this.#slots[index]!;
    s.finished = false;
    s.stats = null;
  }

  /** Every slot resets for an in-place rollback: not ready, not finished, not lost. */
  resetForRollback(): void {
    for (const s of this.#slots) {
      s.ready = false;
      s.finished = false;
      s.stats = null;
      s.lostAt = 0;
    }
  }

  /** Heartbeats count from `now` at the latest (the master was away: no container's fault). */
  forgiveSilence(now: number): void {
    for (const s of this.#slots) s.heartbeatAt = Math.max(s.heartbeatAt, now);
  }

  /** The KV record of container `index` under `rec`'s plan. */
  record(index: number, rec: TopologyRecord): ContainerRecord {
    const s = this.#slots[index]!;
    return {
      version: WIRE_VERSION,
      topology: rec.name,
      container: index,
      pid: s.pid,
      host: s.host,
      tasks: tasksOf(rec, index),
      startedAt: s.startedAt,
      heartbeatAt: s.heartbeatAt,
      restarts: s.restarts,
      backpressure: s.stats?.backpressure ?? false,
      stats: s.stats ?? undefined,
    };
  }
}
