/**
 * Steering a topology on a NATS cluster: activate, deactivate and kill,
 * over its record in KV ({@link Records}) and its `ctl` subject. The one
 * implementation behind the CLI's commands (cli/control.ts) and the
 * tracker's buttons (tracker/remote_topology.ts).
 *
 * - **activate / deactivate**: the record goes RUNNING / PAUSED
 *   (compare-and-set; only a RUNNING or PAUSED topology may be steered), then
 *   `activate` / `deactivate` is published on `ctl` for the containers.
 * - **kill**: `kill` with a drain time is published; the master drains,
 *   stops the containers and records the end. The client waits for an end
 *   state in the record; when no master holds a live lease nobody else will
 *   record it, so after the drain time the client marks the record KILLED.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { ArdeaError } from "../topology/errors.ts";
import {
  type ControlMessage,
  encodeMessage,
  isRunning,
  isTerminal,
  subjects,
  type TopologyRecord,
} from "../transport/wire/mod.ts";
import type { Records } from "./records.ts";

/**
 * A steering request that cannot be done: code `UNKNOWN_TOPOLOGY` (no
 * record), `ENDED` (the topology's state does not allow it),
 * `KILL_TIMEOUT` (a live master did not record the end in time), or
 * `CONTROL` (the CLI's other refusals). The CLI prints the message and
 * exits 1.
 *
 * @example
 * ```ts
 * declare const control: ControlClient;
 * try { await control.steer("wc", "activate"); } catch (e) { if (e instanceof ControlError) console.error(e.message); }
 * ```
 */
export class ControlError extends ArdeaError {
  constructor(message: string, code = "CONTROL") {
    super(code, message);
  }
}

/** The steering actions that flip a running topology's spouts. */
export type SteerAction = "activate" | "deactivate";

/** Options of {@link ControlClient.kill}. */
export interface KillOptions {
  /** How long the master lets pending tuple trees drain before it stops the containers (s; default 0). */
  drainSecs?: number;
  /** How long to wait for a live master to record the end (s; default `drainSecs` + 10). */
  timeoutSecs?: number;
  /** With no live master: how long to wait before marking the record KILLED (s; default `drainSecs`). */
  orphanSecs?: number;
  /** Record reads while waiting, every this many ms (default 100). */
  pollMs?: number;
  /** The record as the caller just read it (saves one read). */
  record?: TopologyRecord;
}

/** How a {@link ControlClient.kill} ended. */
export interface KillOutcome {
  /** The record at the end. */
  record: TopologyRecord;
  /** It had ended before the kill: nothing was sent. */
  alreadyEnded: boolean;
  /** No live master recorded the end: the client marked the record KILLED itself. */
  markedKilled: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Steers the topologies of one NATS cluster.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import { Records } from "./records.ts";
 * declare const nc: NatsConnection;
 * const control = new ControlClient(nc, await Records.bind(nc), "nats://127.0.0.1:4222");
 * await control.steer("wc", "deactivate"); // record PAUSED, spouts held
 * const { record } = await control.kill("wc", { drainSecs: 5 });
 * record.state; // "KILLED"
 * ```
 */
export class ControlClient {
  readonly #nc: NatsConnection;
  readonly #records: Records | undefined;
  readonly #where: string | undefined;

  /**
   * `records`: undefined when the cluster has no KV bucket yet (no topology
   * was ever submitted). `where`: the servers, for messages (credentials hidden).
   */
  constructor(nc: NatsConnection, records: Records | undefined, where?: string) {
    this.#nc = nc;
    this.#records = records;
    this.#where = where;
  }

  /** The record of `name`; throws {@link ControlError} `UNKNOWN_TOPOLOGY` naming where it looked. */
  async topology(name: string): Promise<TopologyRecord> {
    const rec = await this.#records?.getTopology(name);
    if (rec !== undefined) return rec;
    throw new ControlError(
      this.#where === undefined
        ? `no topology "${name}" on this NATS`
        : `no topology "${name}" on NATS at ${this.#where} (ardea list shows the topologies)`,
      "UNKNOWN_TOPOLOGY",
    );
  }

  /** Whether a master holds a live lease on `name`. */
  async masterAlive(name: string): Promise<boolean> {
    const lease = await this.#records?.getLease(name);
    return lease !== undefined && lease.expiresAt > Date.now();
  }

  /** Publishes `message` on `name`'s `ctl` subject and flushes. */
  async publish(name: string, message: ControlMessage): Promise<void> {
    this.#nc.publish(subjects(name).ctl, encodeMessage(message));
    await this.#nc.flush();
  }

  /**
   * Marks `name` RUNNING (`activate`) or PAUSED (`deactivate`) and tells its
   * containers; returns the record as written (unchanged if it already was).
   * Throws {@link ControlError} `ENDED` for a topology not RUNNING or PAUSED.
   */
  async steer(name: string, action: SteerAction): Promise<TopologyRecord> {
    await this.topology(name);
    const target = action === "activate" ? "RUNNING" : "PAUSED";
    let refused: string | undefined;
    const rec = await this.#records!.updateTopology(name, (r) => {
      refused = undefined;
      if (isRunning(r.state)) return r.state === target ? undefined : { ...r, state: target };
      refused = r.state;
      return undefined;
    });
    if (refused !== undefined) {
      throw new ControlError(
        `topology "${name}" is ${refused}; only a RUNNING or PAUSED topology can be ${action}d`,
        "ENDED",
      );
    }
    await this.publish(name, { type: action });
    return rec;
  }

  /**
   * Kills `name`: publishes `kill` with the drain time and waits for the
   * record to reach an end state. With no live master, marks it KILLED
   * after `orphanSecs`; with one that does not record the end within
   * `timeoutSecs`, throws {@link ControlError} `KILL_TIMEOUT`.
   */
  async kill(name: string, o: KillOptions = {}): Promise<KillOutcome> {
    let rec = o.record ?? await this.topology(name);
    if (isTerminal(rec.state)) return { record: rec, alreadyEnded: true, markedKilled: false };
    const drainSecs = o.drainSecs ?? 0;
    const timeoutSecs = o.timeoutSecs ?? drainSecs + 10;
    const alive = await this.masterAlive(name);
    await this.publish(name, { type: "kill", drainMs: Math.round(drainSecs * 1000) });
    const deadline = Date.now() + (alive ? timeoutSecs : o.orphanSecs ?? drainSecs) * 1000;
    while (!isTerminal(rec.state) && Date.now() < deadline) {
      await sleep(Math.min(o.pollMs ?? 100, Math.max(0, deadline - Date.now())));
      rec = await this.topology(name);
    }
    if (isTerminal(rec.state)) return { record: rec, alreadyEnded: false, markedKilled: false };
    if (await this.masterAlive(name)) {
      throw new ControlError(`topology "${name}" is still ${rec.state} ${timeoutSecs} s after kill`, "KILL_TIMEOUT");
    }
    const after = await this.#records!.updateTopology(
      name,
      (r) => (isTerminal(r.state) ? undefined : { ...r, state: "KILLED" }),
    );
    return { record: after, alreadyEnded: false, markedKilled: after.state === "KILLED" };
  }
}
