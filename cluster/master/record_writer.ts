/**
 * The master's writes to its topology's record: the run's state (retried
 * while NATS is away), PAUSED or RUNNING after a deactivate or activate
 * (unless a newer one came), the next generation (with the plan an
 * `ardea update` asked for), and its containers' records.
 *
 * @module
 */
import type { ContainerRecord, TopologyRecord } from "../../transport/wire/mod.ts";
import { type Clock, sleep } from "../clock.ts";
import type { MasterRecords } from "./ports.ts";

/** How long the master keeps trying to record a state while NATS is away (ms). */
export const STATE_WRITE_MS = 10 * 60_000;

/** Options of {@link RecordWriter}. */
export interface RecordWriterOptions {
  records: MasterRecords;
  topology: string;
  clock: Clock;
  log: (line: string) => void;
  /** Called with each state about to be recorded. */
  onState?: (state: TopologyRecord["state"], error?: string) => void;
  /** Called with each container record about to be written. */
  onContainer?: (record: ContainerRecord) => void;
}

/**
 * The writes of one topology's master.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import type { MasterRecords } from "./ports.ts";
 * declare const records: MasterRecords;
 * const log = console.error;
 * const writer = new RecordWriter({ records, topology: "wc", clock: systemClock, log });
 * await writer.state("FAILED", "container 1: boom", () => false);
 * ```
 */
export class RecordWriter {
  readonly #o: RecordWriterOptions;

  constructor(o: RecordWriterOptions) {
    this.#o = o;
  }

  /**
   * Records `state`, retrying while NATS is away (a final state must reach
   * the record once NATS is back) for up to {@link STATE_WRITE_MS}. A write
   * stops (and does not land) once `givesWay()` (a RUNNING write still
   * pending when the run ends gives way to the final one).
   */
  async state(state: TopologyRecord["state"], error: string | undefined, givesWay: () => boolean): Promise<void> {
    const { records, topology: name, clock, log } = this.#o;
    this.#o.onState?.(state, error);
    const until = clock.now() + STATE_WRITE_MS;
    for (let attempt = 1;; attempt++) {
      if (givesWay()) return;
      try {
        await records.updateTopology(
          name,
          (r) => givesWay() ? undefined : { ...r, state, updatedAt: clock.now(), ...(error ? { error } : {}) },
        );
        if (attempt > 1) log(`[ardea] master: recorded state ${state} of "${name}" after ${attempt} attempts`);
        return;
      } catch (e) {
        if (attempt === 1) {
          log(`[ardea] master: cannot record state ${state} of "${name}" (${(e as Error).message}); retrying`);
        }
        if (clock.now() >= until) {
          log(
            `[ardea] master: gave up recording state ${state}${error ? ` (${error})` : ""} of "${name}": ${
              (e as Error).message
            }`,
          );
          return;
        }
        await sleep(clock, 1000);
      }
    }
  }

  /**
   * Records PAUSED (`paused`) or RUNNING after a deactivate or activate,
   * unless `still()` says the other one came since (checked on the record
   * the write is made of: a slow write of an older request must not undo
   * a newer).
   */
  async paused(paused: boolean, still: () => boolean): Promise<void> {
    const state = paused ? "PAUSED" : "RUNNING";
    this.#o.onState?.(state);
    try {
      await this.#o.records.updateTopology(
        this.#o.topology,
        (r) =>
          still() && (r.state === "RUNNING" || r.state === "PAUSED") && r.state !== state
            ? { ...r, state, updatedAt: this.#o.clock.now() }
            : undefined,
      );
    } catch (e) {
      this.#o.log(`[ardea] master: cannot record state ${state}: ${(e as Error).message}`);
    }
  }

  /**
   * Records generation `generation` (and the checkpoint it restores) before
   * any of its containers starts; a plan `ardea update` wrote (`nextPlan`)
   * becomes the running plan in the same write, for every container of the
   * generation at once. Resolves with the record the containers will read:
   * the one written; after a failed write, the one the record holds (a
   * timed-out write may have landed: the whole record, its plan included,
   * as the containers will read it); undefined if it cannot be read
   * (until `over()`) either.
   */
  async generation(
    generation: number,
    restoreFrom: number | undefined,
    over: () => boolean,
  ): Promise<TopologyRecord | undefined> {
    const { records, topology: name, clock, log } = this.#o;
    try {
      const next = await records.updateTopology(name, ({ nextPlan, ...r }) => ({
        ...r,
        ...(nextPlan ?? {}),
        generation,
        ...(restoreFrom === undefined ? {} : { restoreFrom }),
        updatedAt: clock.now(),
      }));
      return { ...next, generation };
    } catch (e) {
      log(`[ardea] master: cannot record generation ${generation} of "${name}": ${(e as Error).message}`);
      for (let i = 0; i < 10 && !over(); i++) {
        const held = await records.getTopology(name).catch(() => null);
        if (held) return held;
        await sleep(clock, 500);
      }
      return undefined;
    }
  }

  /** Writes a container's record (a failure is logged: the next one follows in 2 s). */
  container(record: ContainerRecord): void {
    this.#o.onContainer?.(record);
    this.#o.records.putContainer(record).catch((e: Error) =>
      this.#o.log(`[ardea] master: cannot record container ${record.container}: ${e.message}`)
    );
  }
}
