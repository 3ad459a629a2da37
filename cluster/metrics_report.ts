/**
 * What a container of a distributed topology tells trackers each second: its
 * counters (the same `TopologyStats` the embedded tracker reads), the last
 * error of each component with its stack, and its stream manager's frame
 * counters, as one {@link ContainerMetrics} on the topology's `metrics`
 * subject. Built from counters the engine keeps anyway, once a second: the
 * hot path pays nothing.
 *
 * @module
 */
import { type ContainerMetrics, WIRE_VERSION } from "../transport/wire/mod.ts";
import type { TopologyStats } from "../engine/container.ts";

/** The last error of a component, with its stack. */
interface LastError {
  at: number;
  message: string;
  stack: string | null;
}

/**
 * Remembers the latest error of each component (for its stack, which the
 * counters do not keep).
 *
 * @example
 * ```ts
 * import { Container, type ContainerOptions } from "../engine/container.ts";
 * declare const options: ContainerOptions;
 * const errors = new ErrorLog();
 * new Container({ ...options, onError: errors.record });
 * errors.stackOf("split"); // "Error: boom\n    at …"
 * ```
 */
export class ErrorLog {
  readonly #last = new Map<string, LastError>();

  /** Notes an error of `component` (a `ContainerOptions.onError`). */
  record = (component: string, _task: number, error: unknown, _crashed: boolean): void => {
    const message = error instanceof Error ? error.message : String(error);
    const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : null;
    this.#last.set(component, { at: Date.now(), message, stack });
  };

  /** The stack of `component`'s latest error, or null. */
  stackOf(component: string): string | null {
    return this.#last.get(component)?.stack ?? null;
  }
}

/** Frame counters of a stream manager. */
export interface FrameCounters {
  dropped: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Destinations out of credit now, and times one ran out (flow control). */
  creditBlocked?: number;
  creditStalls?: number;
}

/** Who sends the report. */
export interface ReportSource {
  topology: string;
  container: number;
  epoch: number;
  pid: number;
  host: string;
}

/**
 * The {@link ContainerMetrics} of one container from a stats snapshot.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { Container } from "../engine/container.ts";
 * import { encodeMetrics, subjects } from "../transport/wire/mod.ts";
 * import type { StreamManager } from "./stream_manager.ts";
 * declare const nc: NatsConnection, src: ReportSource, container: Container, sm: StreamManager, errors: ErrorLog;
 * const name = "wc";
 * nc.publish(subjects(name).metrics, encodeMetrics(metricsReport(src, container.stats(), sm, container.pressureSource(), errors)));
 * ```
 */
export function metricsReport(
  src: ReportSource,
  st: TopologyStats,
  frames: FrameCounters,
  backpressureBy: string,
  errors: ErrorLog,
): ContainerMetrics {
  const components: ContainerMetrics["components"] = {};
  for (const [name, c] of Object.entries(st.components)) {
    components[name] = {
      ...c,
      lastErrorStack: c.lastError === null ? null : errors.stackOf(name),
    } as ContainerMetrics["components"][string];
  }
  return {
    version: WIRE_VERSION,
    topology: src.topology,
    container: src.container,
    epoch: src.epoch,
    pid: src.pid,
    host: src.host,
    ts: Date.now(),
    state: st.state,
    uptimeMs: Math.round(st.uptimeMs),
    tasks: st.tasks as ContainerMetrics["tasks"],
    components,
    backpressure: st.backpressure,
    backpressureBy,
    backpressureEpisodes: st.backpressureEpisodes,
    backpressureMs: Math.round(st.backpressureMs),
    dropped: frames.dropped,
    framesIn: frames.framesIn,
    framesOut: frames.framesOut,
    bytesIn: frames.bytesIn,
    bytesOut: frames.bytesOut,
    creditBlocked: frames.creditBlocked ?? 0,
    creditStalls: frames.creditStalls ?? 0,
  };
}
