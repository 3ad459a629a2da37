/**
 * `ardea status <topology> [--json]`: the topology's record and its
 * containers' records, as a table or as one JSON object.
 *
 * @module
 */
import { writeStdout } from "../runtime/mod.ts";
import { endLostMaster } from "../cluster/master.ts";
import { type ContainerRecord, isTerminal, type LeaseRecord, type TopologyRecord } from "../transport/wire/mod.ts";
import type { StatusCommand } from "./args.ts";
import { formatAge, masterLostFor, POOL_TAKEOVER_MS, requireTopology, table, withControl } from "./control.ts";

/** One container in {@link TopologyStatus}. */
export interface ContainerStatus {
  id: number;
  pid: number;
  host: string;
  tasks: number[];
  heartbeatAgeMs: number;
  restarts: number;
  backpressure: boolean;
  /** The component whose queue holds backpressure up in this container, when on. */
  backpressureBy?: string;
  /** Milliseconds this container has spent under backpressure. */
  backpressureMs: number;
  /** Malformed messages this container dropped. */
  dropped: number;
}

/** Errors of one component over the containers (from their last heartbeats). */
export interface ComponentErrors {
  component: string;
  errors: number;
  restarts: number;
  /** The latest last error of the component's tasks, or null. */
  lastError: string | null;
  /** When it happened (ms since the epoch), and in which container. */
  lastErrorAt: number | null;
  lastErrorContainer: number | null;
  /**
   * Tasks whose awaited call has not settled for `topology.task.stuck.warn.secs`,
   * over the containers; present only when there are some.
   */
  stuckTasks?: number;
}

/** What `ardea status --json` prints. `pid` appears only in containers. */
export interface TopologyStatus {
  topology: string;
  state: TopologyRecord["state"];
  containers: ContainerStatus[];
  /** Per component, sorted by name (empty before the first heartbeats). */
  components: ComponentErrors[];
  backpressure: boolean;
  error?: string;
}

function containerBackpressure(c: ContainerRecord): boolean {
  return c.backpressure ?? c.stats?.backpressure ?? false;
}

/**
 * The status object of a topology from its records at time `now`. Container
 * records of another plan (index ≥ the topology's container count) are left
 * out.
 *
 * @example
 * ```ts
 * import type { Records } from "../cluster/records.ts";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const rec: TopologyRecord, records: Records;
 * const s = topologyStatus(rec, await records.listContainers(rec.name), Date.now());
 * console.log(JSON.stringify(s));
 * ```
 */
export function topologyStatus(
  rec: TopologyRecord,
  containers: readonly ContainerRecord[],
  now: number,
): TopologyStatus {
  const cs = containers
    .filter((c) => c.container < rec.containers)
    .map((c): ContainerStatus => ({
      id: c.container,
      pid: c.pid,
      host: c.host,
      tasks: [...c.tasks],
      heartbeatAgeMs: Math.max(0, now - c.heartbeatAt),
      restarts: c.restarts,
      backpressure: containerBackpressure(c),
      ...(c.stats?.backpressureBy ? { backpressureBy: String(c.stats.backpressureBy) } : {}),
      backpressureMs: Number(c.stats?.backpressureMs ?? 0),
      dropped: Number(c.stats?.dropped ?? 0),
    }));
  const byComponent = new Map<string, ComponentErrors>();
  for (const c of containers) {
    if (c.container >= rec.containers) continue;
    for (const [component, e] of Object.entries(c.stats?.components ?? {})) {
      let agg = byComponent.get(component);
      if (agg === undefined) {
        byComponent.set(
          component,
          agg = { component, errors: 0, restarts: 0, lastError: null, lastErrorAt: null, lastErrorContainer: null },
        );
      }
      agg.errors += e.errors;
      agg.restarts += e.restarts;
      if ((e.stuckTasks ?? 0) > 0) agg.stuckTasks = (agg.stuckTasks ?? 0) + e.stuckTasks!;
      if (e.lastError !== null && (agg.lastError === null || (e.lastErrorAt ?? 0) > (agg.lastErrorAt ?? 0))) {
        agg.lastError = e.lastError;
        agg.lastErrorAt = e.lastErrorAt;
        agg.lastErrorContainer = c.container;
      }
    }
  }
  const out: TopologyStatus = {
    topology: rec.name,
    state: rec.state,
    containers: cs,
    components: [...byComponent.values()].sort((a, b) => (a.component < b.component ? -1 : 1)),
    backpressure: cs.some((c) => c.backpressure),
  };
  if (rec.error !== undefined) out.error = rec.error;
  return out;
}

function tasks(ids: readonly number[]): string {
  // Runs of consecutive ids as ranges: 1-4,7.
  const parts: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j > i ? `${ids[i]}-${ids[j]}` : `${ids[i]}`);
    i = j + 1;
  }
  return parts.join(",") || "-";
}

/** A message on one line, cut at 160 characters. */
function oneLine(m: string): string {
  const line = m.replace(/\s*\n\s*/g, " ⏎ ");
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/**
 * What the master row says: its lease (`undefined`: none was ever taken) at
 * time `now`, for an active topology; null for one that ended.
 *
 * @example
 * ```ts
 * import type { Records } from "../cluster/records.ts";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const rec: TopologyRecord, records: Records;
 * masterText(rec, await records.getLease(rec.name), Date.now()); // "lease held by host:42:ab12cd (expires in 4.1 s)"
 * ```
 */
export function masterText(rec: TopologyRecord, lease: LeaseRecord | undefined, now: number): string | null {
  if (isTerminal(rec.state)) return null;
  if (lease === undefined) return rec.state === "SUBMITTED" ? "starting (no lease yet)" : "no lease: master lost";
  if (lease.expiresAt > now) {
    return `lease held by ${lease.holder} (expires in ${((lease.expiresAt - now) / 1000).toFixed(1)} s)`;
  }
  const ago = formatAge(now - lease.expiresAt);
  return rec.scheduler === "pool" && now - lease.expiresAt < POOL_TAKEOVER_MS
    ? `lease expired ${ago} ago: master lost; a pool worker running its containers takes over`
    : `lease expired ${ago} ago: master lost`;
}

/** The readable form of a status; `master`: what {@link masterText} says. */
export function statusText(rec: TopologyRecord, s: TopologyStatus, now: number, master: string | null = null): string {
  const head: string[][] = [
    ["topology", s.topology],
    ["state", s.state],
    ["submitted", `${formatAge(now - rec.submittedAt)} ago`],
    ["containers", `${s.containers.length} of ${rec.containers} reporting`],
    [
      "backpressure",
      s.backpressure
        ? `on (${
          s.containers.filter((c) => c.backpressure).map((c) =>
            `container ${c.id}${c.backpressureBy ? ` by ${c.backpressureBy}` : ""}`
          ).join(", ")
        })`
        : "off",
    ],
  ];
  if ((rec.generation ?? 0) > 0) {
    head.push(["relaunches", `${rec.generation} (rollbacks and updates that restarted every container)`]);
  }
  const asked = rec.nextPlan;
  if (asked !== undefined) {
    const changes = Object.entries(asked.components)
      .filter(([id, t]) => t.length !== (rec.components[id]?.length ?? 0))
      .map(([id, t]) => `${id} ${rec.components[id]?.length ?? 0}→${t.length}`);
    head.push(["update", `asked for, not running yet: ${changes.join(", ") || "same parallelism, new packing"}`]);
  }
  if (master !== null) head.push(["master", master]);
  if (s.error !== undefined) head.push(["error", s.error]);
  let text = table(head);
  if (s.containers.length > 0) {
    text += "\n" + table([
      ["CONTAINER", "PID", "HOST", "TASKS", "HEARTBEAT", "RESTARTS", "BACKPRESSURE"],
      ...s.containers.map((c) => [
        String(c.id),
        String(c.pid),
        c.host,
        tasks(c.tasks),
        `${(c.heartbeatAgeMs / 1000).toFixed(1)} s ago`,
        String(c.restarts),
        `${c.backpressure ? `on${c.backpressureBy ? ` (${c.backpressureBy})` : ""}` : "off"}, ${
          (c.backpressureMs / 1000).toFixed(1)
        } s total`,
      ]),
    ]);
  }
  if (s.components.length > 0) {
    // The STUCK column shows only while a task is stuck.
    const stuck = s.components.some((c) => (c.stuckTasks ?? 0) > 0);
    text += "\n" + table([
      ["COMPONENT", "ERRORS", "RESTARTS", ...(stuck ? ["STUCK"] : []), "LAST ERROR"],
      ...s.components.map((c) => [
        c.component,
        String(c.errors),
        String(c.restarts),
        ...(stuck ? [c.stuckTasks ? `${c.stuckTasks} task${c.stuckTasks === 1 ? "" : "s"}` : "-"] : []),
        c.lastError === null
          ? "-"
          : `${oneLine(c.lastError)}${
            c.lastErrorAt !== null ? ` (${formatAge(now - c.lastErrorAt)} ago, container ${c.lastErrorContainer})` : ""
          }`,
      ]),
    ]);
  }
  return text;
}

/** `ardea status`. */
export function runStatus(cmd: StatusCommand): Promise<number> {
  return withControl("status", cmd.nats, async (ctx) => {
    let rec = await requireTopology(ctx, cmd.topology);
    const records = ctx.records!;
    let master: string | null = null;
    if (!isTerminal(rec.state)) {
      const lease = await records.getLease(cmd.topology);
      const now = Date.now();
      master = masterText(rec, lease, now);
      // Nothing replaces a local master, and a pool master only for a while:
      // a lost one leaves the record active forever unless someone ends it.
      const lostFor = masterLostFor(rec, lease, now);
      if (lostFor > 0 && (rec.scheduler === "local" || lostFor > POOL_TAKEOVER_MS)) {
        // confirmMs: a master back from a NATS outage renews its lease within 2 s.
        if (await endLostMaster(records, cmd.topology, { who: "ardea status", confirmMs: 4000, nc: ctx.nc })) {
          rec = await requireTopology(ctx, cmd.topology);
          master = null;
        }
      }
    }
    const containers = await records.listContainers(cmd.topology);
    const now = Date.now();
    const s = topologyStatus(rec, containers, now);
    writeStdout(cmd.json ? `${JSON.stringify(s)}\n` : statusText(rec, s, now, master));
    return 0;
  });
}
