/**
 * What a container process tells the master every second: its counters,
 * per component errors and stuck tasks, and its stream manager's frames.
 *
 * @module
 */
import type { ContainerStats } from "../../transport/wire/mod.ts";
import type { TopologyStats } from "../../engine/container.ts";
import type { FrameCounters } from "../metrics_report.ts";

/**
 * The heartbeat's counters of snapshot `s`, with the stream manager's
 * `frames` and the component holding the container back (`backpressureBy`).
 *
 * @example
 * ```ts
 * import type { Container } from "../../engine/container.ts";
 * import type { StreamManager } from "../stream_manager.ts";
 * import { hostname, pid as processId } from "../../runtime/mod.ts";
 * declare const container: Container;
 * declare const sm: StreamManager;
 * const pid = processId(), host = hostname();
 * sm.event({ type: "heartbeat", container: 0, pid, host, ts: Date.now(), stats: heartbeatStats(container.stats(), sm, container.pressureSource()) });
 * ```
 */
export function heartbeatStats(s: TopologyStats, frames: FrameCounters, backpressureBy: string): ContainerStats {
  return {
    emitted: s.emitted,
    executed: s.executed,
    acked: s.acked,
    failed: s.failed,
    timedOut: s.timedOut,
    pending: s.pending,
    restarts: s.restarts,
    backpressure: s.backpressure,
    backpressureMs: Math.round(s.backpressureMs),
    components: componentErrors(s),
    dropped: frames.dropped,
    backpressureBy,
    framesIn: frames.framesIn,
    framesOut: frames.framesOut,
    bytesIn: frames.bytesIn,
    bytesOut: frames.bytesOut,
  };
}

/**
 * Errors, restarts and stuck tasks per component, for the heartbeat
 * (`ardea status` shows them).
 *
 * @example
 * ```ts
 * import type { Container } from "../../engine/container.ts";
 * declare const container: Container;
 * componentErrors(container.stats()); // { count: { errors: 0, restarts: 0, lastError: null, lastErrorAt: null, stuckTasks: 1 } }
 * ```
 */
export function componentErrors(s: TopologyStats): NonNullable<ContainerStats["components"]> {
  const out: NonNullable<ContainerStats["components"]> = {};
  for (const [name, c] of Object.entries(s.components)) {
    out[name] = { errors: c.errors, restarts: c.restarts, lastError: c.lastError, lastErrorAt: c.lastErrorAt ?? null };
    if ((c.stuckTasks ?? 0) > 0) out[name]!.stuckTasks = c.stuckTasks;
  }
  return out;
}
