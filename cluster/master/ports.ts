/**
 * What the master needs from the world, as small interfaces: the records
 * store, the topology's control subjects, the container processes, the
 * checkpoint store, and a clock (../clock.ts). `cluster/master.ts` plugs NATS, KV and
 * real processes into them; the unit tests (tests/master_state_test.ts)
 * plug in-memory ones and a fake clock.
 *
 * @module
 */
import type { ChildHandle } from "../../runtime/mod.ts";
import type { StateBackend } from "../../state/state_backend.ts";
import type { ContainerEvent, ControlMessage } from "../../transport/wire/mod.ts";
import type { Records } from "../records.ts";

/** The records the master reads and writes: its topology's, its containers', its lease. */
export type MasterRecords = Pick<
  Records,
  "getTopology" | "updateTopology" | "putContainer" | "getLease" | "acquireLease" | "renewLease" | "releaseLease"
>;

/** A container process as the master sees it: it can be signalled and it ends. */
export type ContainerProcess = Pick<ChildHandle, "exited" | "kill">;

/** Starts container `index` as a process. */
export type Spawn = (index: number) => ContainerProcess;

/** The committed checkpoints of EFFECTIVELY_ONCE runs, as far as the master commits and reads them. */
export type CheckpointStore = Pick<StateBackend, "commit" | "prune" | "lastCommitted">;

/** The topology's control subjects and the master's connection to them. */
export interface ControlBus {
  /** Publishes `m` on the topology's `ctl` subject. */
  say(m: ControlMessage): void;
  /** Resolves once what was said reached the server. */
  flush(): Promise<void>;
  /**
   * Hands each well-formed container event and control message of the
   * topology to `onEvent` and `onControl`; returns the stop.
   */
  listen(onEvent: (e: ContainerEvent) => void, onControl: (m: ControlMessage) => void): () => void;
  /** Whether the master's connection is up now. */
  connected(): boolean;
  /** Calls `fn(false)` when the connection is lost and `fn(true)` when it is back; returns the stop. */
  onConnection(fn: (up: boolean) => void): () => void;
  /** The server the connection uses, for logs. */
  server(): string;
}

export { type Clock, sleep, systemClock, type Timer } from "../clock.ts";
