/**
 * The topology master with the local or pool scheduler, on NATS: plugs the
 * topology's subjects, the KV records, the state store and real processes
 * into the master (cluster/master/, one part per file: phase and
 * transitions, containers, budgets, checkpoints, lease). The protocol is
 * the one written down in `transport/wire/`.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import type { ChildHandle } from "../runtime/mod.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import {
  type ContainerRecord,
  decodeControl,
  decodeEvent,
  encodeMessage,
  subjects,
  type TopologyRecord,
  WireError,
} from "../transport/wire/mod.ts";
import type { Records } from "./records.ts";
import { type ControlBus, effectivelyOnce, runMasterWith, systemClock, type Terminal } from "./master/mod.ts";

export { endLostMaster, type EndLostMasterOptions, MASTER_LEASE_MS, MASTER_LOST } from "./master/mod.ts";

/** Options of {@link runMaster}. */
export interface MasterOptions {
  nc: NatsConnection;
  records: Records;
  /** The submitted record (state SUBMITTED). */
  record: TopologyRecord;
  /** Starts container `index` as a child process. */
  spawn: (index: number) => ChildHandle;
  log?: (line: string) => void;
  /** Restarts allowed per container before the topology FAILS (default 3). */
  maxRestarts?: number;
  /** A running container silent this long is restarted (default 10 s). */
  silenceMs?: number;
  /** Called when the state changes. */
  onState?: (state: TopologyRecord["state"], error?: string) => void;
  /** Called with each container record the master writes (on ready, then every 2 s with the last heartbeat's counters). */
  onContainer?: (record: ContainerRecord) => void;
  /**
   * A takeover (the previous master is gone, the record RUNNING or PAUSED):
   * the containers still running, by index. The master follows them instead
   * of starting them, and starts the missing ones as after a death.
   */
  adopted?: ReadonlyMap<number, ChildHandle>;
}

/**
 * Runs the master of `record`'s topology until it ends; resolves with the
 * final state. Throws `MASTER_EXISTS` when another live master holds the
 * topology's lease.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * import type { Records } from "./records.ts";
 * import { scriptCommand, spawnProcess } from "../runtime/mod.ts";
 * declare const nc: NatsConnection;
 * declare const records: Records;
 * declare const record: TopologyRecord;
 * const { cmd, args } = scriptCommand("examples/word_count.ts", ["--container"]);
 * const state = await runMaster({ nc, records, record, spawn: (i) => spawnProcess(cmd, [...args, String(i)]) });
 * ```
 */
export function runMaster(o: MasterOptions): Promise<Terminal> {
  const log = o.log ?? ((l: string) => console.error(l));
  return runMasterWith({
    ...o,
    log,
    bus: natsControlBus(o.nc, o.record.name, log),
    clock: systemClock,
    checkpoints: effectivelyOnce(o.record) ? new NatsStateBackend(o.nc) : undefined,
  });
}

/**
 * Topology `name`'s `ctl` and `events` subjects on `nc`, as the master's
 * {@link ControlBus}: a malformed event is logged and dropped, a malformed
 * control message dropped (the containers count those).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const bus = natsControlBus(nc, "wc", console.error);
 * bus.say({ type: "start" });
 * ```
 */
export function natsControlBus(nc: NatsConnection, name: string, log: (line: string) => void): ControlBus {
  const subj = subjects(name);
  return {
    say: (m) => nc.publish(subj.ctl, encodeMessage(m)),
    flush: () => nc.flush(),
    listen(onEvent, onControl) {
      const subs = [
        nc.subscribe(subj.events, {
          callback: (err, msg) => {
            if (err) return;
            try {
              onEvent(decodeEvent(msg.data));
            } catch (e) {
              if (!(e instanceof WireError)) throw e;
              log(`[ardea] master: dropped a malformed event: ${e.message}`);
            }
          },
        }),
        nc.subscribe(subj.ctl, {
          callback: (err, msg) => {
            if (err) return;
            try {
              onControl(decodeControl(msg.data));
            } catch {
              // Malformed control messages are the containers' to count.
            }
          },
        }),
      ];
      return () => subs.forEach((s) => s.unsubscribe());
    },
    connected: () => !nc.isClosed(),
    onConnection(fn) {
      let stopped = false;
      void (async () => {
        for await (const st of nc.status()) {
          if (stopped) break;
          if (st.type === "disconnect") fn(false);
          else if (st.type === "reconnect") fn(true);
        }
      })().catch(() => {});
      return () => (stopped = true);
    },
    server: () => nc.getServer(),
  };
}
