/**
 * What a container process watches besides its work: that its master is
 * alive (its lease in KV), and (EFFECTIVELY_ONCE) that its own NATS
 * connection holds.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import type { Records } from "../records.ts";
import { type Clock, systemClock } from "../clock.ts";

/** How long a master may stay lost (lease expired, unrenewed) before its containers end the run (ms). */
export const MASTER_GRACE_MS = 30_000;
/** How often a container reads its master's lease (ms). */
export const LEASE_CHECK_MS = 5000;

/**
 * Reads the master lease of `name` every {@link LEASE_CHECK_MS} and calls
 * `onLost` once it has stayed expired at one revision for
 * {@link MASTER_GRACE_MS} of this container's own readings (a failed
 * reading, as while NATS is away, starts the clock again: a master back
 * from an outage renews within a third of its lease). Returns the stop.
 *
 * @example
 * ```ts
 * import type { Records } from "../records.ts";
 * import { endLostMaster } from "../master/lease.ts";
 * declare const records: Records;
 * const log = console.error;
 * const stop = watchMasterLease(records, "wc", log, async () => { await endLostMaster(records, "wc", { who: "container 1" }); });
 * ```
 */
export function watchMasterLease(
  records: Pick<Records, "getLease">,
  name: string,
  log: (line: string) => void,
  onLost: () => Promise<void>,
  clock: Clock = systemClock,
): () => void {
  let expired: { revision: number; since: number } | null = null;
  let busy = false;
  const check = async () => {
    const lease = await records.getLease(name);
    if (lease !== undefined && lease.expiresAt > clock.now()) {
      expired = null;
      return;
    }
    const revision = lease?.revision ?? 0;
    if (expired === null || expired.revision !== revision) {
      expired = { revision, since: clock.now() };
      log(
        `[ardea] ${name}: the master's lease expired${lease ? ` (${lease.holder})` : ""}; waiting up to ${
          MASTER_GRACE_MS / 1000
        } s for a master`,
      );
      return;
    }
    if (clock.now() - expired.since >= MASTER_GRACE_MS) {
      expired = null;
      await onLost();
    }
  };
  const timer = clock.setInterval(() => {
    if (busy) return;
    busy = true;
    check().catch(() => (expired = null)).finally(() => (busy = false));
  }, LEASE_CHECK_MS);
  return () => clock.clear(timer);
}

/**
 * Calls `onLost` once when `nc` disconnects before `until` settles.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { Container } from "../../engine/container.ts";
 * declare const nc: NatsConnection;
 * declare const container: Container;
 * void watchConnection(nc, (why) => container.rollback(new Error(why)), container.done);
 * ```
 */
export async function watchConnection(
  nc: Pick<NatsConnection, "status">,
  onLost: (why: string) => void,
  until: Promise<unknown>,
): Promise<void> {
  let over = false;
  until.then(() => (over = true), () => (over = true));
  for await (const s of nc.status()) {
    if (over) return;
    if (s.type === "disconnect") {
      onLost(`the NATS connection to ${String(s.data)} was lost`);
      return;
    }
  }
}
