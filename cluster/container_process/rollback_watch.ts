/**
 * The master's `rollback` messages, as a container process hears them
 * (EFFECTIVELY_ONCE): the newest generation asked for, and a wait for one
 * newer than the generation the process runs.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { type ControlMessage, decodeControl } from "../../transport/wire/mod.ts";
import { type Clock, systemClock } from "../clock.ts";

/** A rollback the master asked for: the generation to run and the checkpoint it restores. */
export interface RollbackAsked {
  generation: number;
  restoreFrom: number;
}

/** Hands each well-formed control message to `fn`; returns the stop. */
export type ControlListener = (fn: (m: ControlMessage) => void) => () => void;

/**
 * The control messages of `subject` on `nc`, as a {@link ControlListener}
 * (malformed ones are the stream manager's to count).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { subjects } from "../../transport/wire/mod.ts";
 * declare const nc: NatsConnection;
 * const watch = new RollbackWatch(controlListener(nc, subjects("wc").ctl), 0);
 * ```
 */
export function controlListener(nc: NatsConnection, subject: string): ControlListener {
  return (fn) => {
    const sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let m: ControlMessage;
        try {
          m = decodeControl(msg.data);
        } catch {
          return;
        }
        fn(m);
      },
    });
    return () => sub.unsubscribe();
  };
}

/**
 * The rollbacks the master asks for.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { subjects, type TopologyRecord } from "../../transport/wire/mod.ts";
 * declare const nc: NatsConnection;
 * declare const rec: TopologyRecord;
 * const subj = subjects("wc");
 * const watch = new RollbackWatch(controlListener(nc, subj.ctl), rec.generation ?? 0);
 * const asked = await watch.next(20_000); // null if none came
 * ```
 */
export class RollbackWatch {
  /** The generation this process runs (or is about to). */
  running: number;
  #asked: RollbackAsked | null = null;
  #waiters: Array<() => void> = [];
  readonly #stop: () => void;
  readonly #clock: Clock;

  constructor(listen: ControlListener, running: number, clock: Clock = systemClock) {
    this.running = running;
    this.#clock = clock;
    this.#stop = listen((m) => {
      if (m.type !== "rollback" || m.generation <= this.running) return;
      if (this.#asked === null || m.generation > this.#asked.generation) {
        this.#asked = { generation: m.generation, restoreFrom: m.restoreFrom };
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** A rollback to a generation newer than the running one, if asked for. */
  get pending(): RollbackAsked | null {
    return this.#asked !== null && this.#asked.generation > this.running ? this.#asked : null;
  }

  /** Resolves when a rollback newer than the running generation is asked for, or after `ms` if given (null). */
  next(ms?: number): Promise<RollbackAsked | null> {
    if (this.pending !== null) return Promise.resolve(this.pending);
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : this.#clock.setTimeout(() => resolve(this.pending), ms);
      this.#waiters.push(() => {
        if (timer !== undefined) this.#clock.clear(timer);
        resolve(this.pending);
      });
    });
  }

  /** Stops listening; every wait resolves. */
  close(): void {
    this.#stop();
    for (const w of this.#waiters.splice(0)) w();
  }
}
