/**
 * The control commands of distributed mode — `ardea list`, `activate`,
 * `deactivate`, `kill` (and, in status.ts, `status`): each connects to NATS
 * with the command's flags and reads the topology records in KV or steers
 * through the control client (cluster/control_client.ts, which the
 * tracker's buttons use too).
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { ControlClient, ControlError } from "../cluster/control_client.ts";
import { Records, RecordsError } from "../cluster/records.ts";
import { env, writeStderr, writeStdout } from "../runtime/mod.ts";
import {
  connectNats,
  NatsConnectError,
  type NatsFlags,
  NatsSettingsError,
  parseNatsFlags,
  redactUrl,
} from "../transport/nats_connect.ts";
import { isTerminal, type LeaseRecord, type TopologyRecord, WireError } from "../transport/wire/mod.ts";
import { UsageError } from "./args.ts";
import type { KillCommand, ListCommand, SteerCommand } from "./args.ts";

/** A control command that cannot do what was asked (unknown topology, wrong state). Exit status 1. */
export { ControlError };

/** What a control command works with. */
export interface ControlContext {
  readonly nc: NatsConnection;
  /** The records, or undefined when the cluster has no KV bucket yet (no topology was ever submitted). */
  readonly records: Records | undefined;
  /** The servers, for messages (credentials hidden). */
  readonly where: string;
  /** Steering, over the same connection and records. */
  readonly control: ControlClient;
}

/**
 * Connects with `nats` flags (and `ARDEA_NATS_*`), runs `fn`, closes, and
 * maps errors to exit statuses: bad NATS settings → {@link UsageError} (2);
 * unreachable NATS, refused credentials, unknown topology, unreadable
 * records → `ardea: …` on stderr and 1.
 */
export async function withControl(
  command: "list" | "status" | "activate" | "deactivate" | "kill" | "tap" | "logs" | "ui",
  nats: NatsFlags,
  fn: (ctx: ControlContext) => Promise<number>,
): Promise<number> {
  let settings;
  try {
    settings = parseNatsFlags(nats, env);
  } catch (e) {
    if (e instanceof NatsSettingsError) throw new UsageError(e.message, command);
    throw e;
  }
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(settings, { name: `ardea ${command}` });
    const records = await Records.bind(nc);
    const where = settings.servers.map(redactUrl).join(", ");
    return await fn({ nc, records, where, control: new ControlClient(nc, records, where) });
  } catch (e) {
    if (
      e instanceof NatsConnectError || e instanceof RecordsError || e instanceof ControlError || e instanceof WireError
    ) {
      writeStderr(`ardea: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await nc?.close().catch(() => {});
  }
}

/** The record of `name`, or a {@link ControlError} that says so. */
export function requireTopology(ctx: ControlContext, name: string): Promise<TopologyRecord> {
  return ctx.control.topology(name);
}

/**
 * A duration as its two largest units: `42s`, `5m 3s`, `2h 5m`, `3d 4h`.
 *
 * @example
 * ```ts
 * formatAge(125_000); // "2m 5s"
 * ```
 */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60, sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

/** Lines of left-aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
    .join("\n") + "\n";
}

/** A topology SUBMITTED this long ago whose master never took the lease has lost it (ms). */
export const NO_MASTER_MS = 60_000;
/** A pool master whose lease expired this long ago and that no worker replaced is lost for good (ms). */
export const POOL_TAKEOVER_MS = 30_000;

/**
 * How long the master of an active topology has been lost at time `now`
 * (ms), from its lease (`undefined`: none was ever taken): since the lease
 * expired, or since {@link NO_MASTER_MS} after the record's last update when
 * there is no lease. Zero or less: not lost (or the topology ended).
 * `ardea status` ends such a run after confirming; `ardea list` only says so.
 *
 * @example
 * ```ts
 * import type { Records } from "../cluster/records.ts";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const rec: TopologyRecord, records: Records;
 * if (masterLostFor(rec, await records.getLease(rec.name), Date.now()) > 0) console.log("master lost");
 * ```
 */
export function masterLostFor(rec: TopologyRecord, lease: LeaseRecord | undefined, now: number): number {
  if (isTerminal(rec.state)) return 0;
  return now - (lease?.expiresAt ?? rec.updatedAt + NO_MASTER_MS);
}

/**
 * What `ardea list` says of an active topology whose master is lost (read
 * only; `ardea status` records the end), or null.
 *
 * @example
 * ```ts
 * import type { LeaseRecord, TopologyRecord } from "../transport/wire/mod.ts";
 * declare const rec: TopologyRecord, lease: LeaseRecord;
 * listMasterNote(rec, lease, Date.now()); // "master lease expired 42s ago"
 * ```
 */
export function listMasterNote(rec: TopologyRecord, lease: LeaseRecord | undefined, now: number): string | null {
  const lostFor = masterLostFor(rec, lease, now);
  if (lostFor <= 0) return null;
  const note = lease === undefined ? "no master lease: master lost" : `master lease expired ${formatAge(lostFor)} ago`;
  return rec.scheduler === "pool" && lease !== undefined && lostFor < POOL_TAKEOVER_MS
    ? `${note} (a pool worker may take over)`
    : note;
}

/**
 * `ardea list`: one line per topology — name, state, containers, age, and
 * a note when an active topology's master lease has expired.
 */
export function runList(cmd: ListCommand): Promise<number> {
  return withControl("list", cmd.nats, async (ctx) => {
    const bad: string[] = [];
    const recs = ctx.records === undefined ? [] : await ctx.records.listTopologies((e) => bad.push(e.message));
    for (const message of bad) writeStderr(`ardea: skipping ${message}\n`);
    if (recs.length === 0) {
      writeStderr(`no topologies on NATS at ${ctx.where}\n`);
      return 0;
    }
    // One lease read per active topology, at once; a failed read says nothing.
    const leases = await Promise.all(
      recs.map((r) => (isTerminal(r.state) ? null : ctx.records!.getLease(r.name).catch(() => null))),
    );
    const now = Date.now();
    writeStdout(table(recs.map((r, i) => {
      const lease = leases[i];
      const note = lease === null ? null : listMasterNote(r, lease, now);
      return [
        r.name,
        r.state,
        `${r.containers} container${r.containers === 1 ? "" : "s"}`,
        formatAge(now - r.submittedAt),
        ...(note === null ? [] : [note]),
      ];
    })));
    return 0;
  });
}

/**
 * `ardea activate|deactivate`: marks the record RUNNING/PAUSED (compare-and-set)
 * and publishes the control message on the topology's `ctl` subject.
 */
export function runSteer(cmd: SteerCommand): Promise<number> {
  return withControl(cmd.type, cmd.nats, async (ctx) => {
    const rec = await ctx.control.steer(cmd.topology, cmd.type);
    writeStdout(`${cmd.topology} ${rec.state}\n`);
    return 0;
  });
}

/** Default drain time of `ardea kill`: the topology's message timeout, else 30 s. */
function defaultWaitSecs(rec: TopologyRecord): number {
  const t = rec.config["topology.message.timeout.secs"];
  return typeof t === "number" && Number.isFinite(t) && t >= 0 ? t : 30;
}

/**
 * `ardea kill`: publishes `kill` with the drain time and waits until the
 * record reaches an end state (the master marks it), for at most N+10 s.
 * When no master holds a live lease, nobody else will mark the record, so
 * after the drain time the command marks it KILLED itself.
 */
export function runKill(cmd: KillCommand, pollMs = 100): Promise<number> {
  return withControl("kill", cmd.nats, async (ctx) => {
    const rec = await ctx.control.topology(cmd.topology);
    if (isTerminal(rec.state)) {
      writeStdout(`${cmd.topology} already ${rec.state}\n`);
      return rec.state === "FAILED" ? 1 : 0;
    }
    const out = await ctx.control.kill(cmd.topology, {
      drainSecs: cmd.waitSecs ?? defaultWaitSecs(rec),
      pollMs,
      record: rec,
    });
    const state = out.record.state;
    if (out.markedKilled) writeStderr(`ardea: no topology master is running for "${cmd.topology}"; marked it KILLED\n`);
    writeStdout(`${cmd.topology} ${state}\n`);
    return state === "KILLED" || state === "FINISHED" ? 0 : 1;
  });
}
