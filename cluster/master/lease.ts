/**
 * The master lease: one live master per topology. A master takes the lease
 * of its topology in KV, renews it every third of its time, and learns when
 * another holder took it (it was cut off and presumed dead). Whoever notices
 * that a master is gone for good (its containers, `ardea status`) ends the
 * topology with {@link endLostMaster}.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { hostname, pid } from "../../runtime/mod.ts";
import { ArdeaError } from "../../topology/errors.ts";
import { encodeMessage, isTerminal, subjects, type TopologyRecord } from "../../transport/wire/mod.ts";
import type { Records } from "../records.ts";
import type { Clock, MasterRecords } from "./ports.ts";

/** How long a master's lease lasts without renewal (ms); it is renewed every third of that. */
export const MASTER_LEASE_MS = 6000;
/** Holder of a lease taken to end a topology whose master is gone ({@link endLostMaster}). */
export const LOST_HOLDER = "lost:";
/**
 * The start of the error of a topology that {@link endLostMaster} ended.
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * declare const rec: TopologyRecord;
 * rec.error?.startsWith(MASTER_LOST);
 * ```
 */
export const MASTER_LOST = "master lost";

/** A lease this master holds. */
export interface HeldLease {
  /** Resolves with the holder that took the lease over, if one does. */
  readonly lost: Promise<string>;
  /** Stops renewing and gives the lease up. */
  release(): Promise<void>;
}

/**
 * Takes the master lease of topology `name` and renews it until released;
 * throws `MASTER_EXISTS` when another live master holds it.
 *
 * @example
 * ```ts
 * import { type MasterRecords, systemClock } from "./ports.ts";
 * declare const records: MasterRecords;
 * declare const run: Promise<void>; // the master's work
 * const lease = await holdLease(records, "wc", systemClock, console.error);
 * try { await Promise.race([run, lease.lost]); } finally { await lease.release(); }
 * ```
 */
export async function holdLease(
  records: MasterRecords,
  name: string,
  clock: Clock,
  log: (line: string) => void,
): Promise<HeldLease> {
  const holder = `${hostname()}:${pid()}:${Math.random().toString(36).slice(2, 8)}`;
  if ((await records.acquireLease(name, holder, MASTER_LEASE_MS)) === undefined) {
    throw new ArdeaError("MASTER_EXISTS", `topology "${name}" already has a live master`);
  }
  let lostTo!: (holder: string) => void;
  const lost = new Promise<string>((r) => (lostTo = r));
  const renew = clock.setInterval(() => {
    records.renewLease(name, holder, MASTER_LEASE_MS).then(async (l) => {
      if (l !== undefined) return;
      // A renewal that landed while its reply was lost conflicts with itself: only another holder means lost.
      const now = await records.getLease(name);
      if (now === undefined || now.holder === holder) await records.acquireLease(name, holder, MASTER_LEASE_MS);
      else {
        log(`[ardea] master: lost the lease of "${name}" to ${now.holder}`);
        lostTo(now.holder);
      }
    }).catch(() => {});
  }, MASTER_LEASE_MS / 3);
  return {
    lost,
    async release() {
      clock.clear(renew);
      await records.releaseLease(name, holder).catch(() => false);
    },
  };
}

/** Options of {@link endLostMaster}. */
export interface EndLostMasterOptions {
  /** Who notices (in the record's error), e.g. `container 1` or `ardea status`. */
  who: string;
  /** Only a record of this run (its `submittedAt`); default any. */
  submittedAt?: number;
  /** How long to wait for a live lease to expire (a master known dead); default 0. */
  waitMs?: number;
  /**
   * How long an expired lease must stay expired before it counts (a master
   * back from a NATS outage renews within {@link MASTER_LEASE_MS}/3); default 0.
   */
  confirmMs?: number;
  /** Publishes `stop` (FAILED) on the topology's `ctl` so its containers end. */
  nc?: NatsConnection;
}

/**
 * Ends topology `name` FAILED "master lost" when its master's lease has
 * expired and nobody took it over: takes the lease itself (so no master
 * can go on or take over meanwhile), records FAILED, gives the lease up,
 * and with `nc` tells the containers to stop. Resolves true when it ended
 * the topology; false when a master holds the lease, the topology already
 * ended, or another caller won.
 *
 * @example
 * ```ts
 * import type { Records } from "../records.ts";
 * declare const records: Records;
 * if (await endLostMaster(records, "wc", { who: "ardea status", confirmMs: 4000 })) console.log("master lost");
 * ```
 */
export async function endLostMaster(records: Records, name: string, opts: EndLostMasterOptions): Promise<boolean> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const until = Date.now() + (opts.waitMs ?? 0);
  let lease = await records.getLease(name);
  while (lease !== undefined && lease.expiresAt > Date.now()) {
    if (Date.now() >= until) return false;
    await sleep(Math.min(500, Math.max(1, lease.expiresAt - Date.now() + 1)));
    lease = await records.getLease(name);
  }
  const seen = lease?.revision;
  if ((opts.confirmMs ?? 0) > 0) {
    await sleep(opts.confirmMs!);
    lease = await records.getLease(name);
    if (lease?.revision !== seen) return false;
  }
  const rec = await records.getTopology(name);
  const ours = (r: TopologyRecord) =>
    !isTerminal(r.state) && (opts.submittedAt === undefined || r.submittedAt === opts.submittedAt);
  if (rec === undefined || !ours(rec)) return false;
  const holder = `${LOST_HOLDER}${opts.who}`;
  if ((await records.acquireLease(name, holder, MASTER_LEASE_MS)) === undefined) return false;
  try {
    const expired = lease === undefined
      ? "it holds no lease"
      : `its lease expired ${new Date(lease.expiresAt).toISOString()}`;
    let wrote = false;
    await records.updateTopology(name, (r) => {
      wrote = ours(r);
      return wrote
        ? {
          ...r,
          state: "FAILED",
          error: `${MASTER_LOST}: ${expired} and no master took over (noticed by ${opts.who})`,
        }
        : undefined;
    });
    if (wrote && opts.nc !== undefined) {
      opts.nc.publish(subjects(name).ctl, encodeMessage({ type: "stop", state: "FAILED" }));
      await opts.nc.flush().catch(() => {});
    }
    return wrote;
  } finally {
    await records.releaseLease(name, holder).catch(() => false);
  }
}
