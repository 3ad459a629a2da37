/**
 * What the tracker shows beside the counters: the physical plan (containers
 * and the tasks each hosts), the exceptions of each component, and the
 * history of backpressure episodes. Plain JSON shapes, filled in by the
 * embedded tracker from one process, or by a NATS source from the
 * containers' reports (tracker/remote_tracking.ts).
 *
 * @module
 */

/** One task in a container. */
export interface PlacedTask {
  id: number;
  component: string;
  kind: "spout" | "bolt" | null;
}

/** One container of the physical plan, with its own figures. */
export interface ContainerInfo {
  id: number;
  host: string;
  pid: number;
  /**
   * `STARTING` (no report yet), `RUNNING`, `PAUSED`, `SILENT` (no report for
   * a while), or how it ended (`FINISHED`, `KILLED`, `FAILED`).
   */
  state: string;
  /** Ms since the epoch when the current process started, when known. */
  startedAt: number | null;
  /** Ms since its last report, or null (embedded: always 0). */
  reportAgeMs: number | null;
  /** Times the scheduler restarted the container's process. */
  restarts: number;
  tasks: PlacedTask[];
  /** Spouts here are held back. */
  backpressure: boolean;
  /** The component whose mailbox holds this container's own backpressure up ("" when none). */
  backpressureBy: string;
  backpressureMs: number;
  /** Tuples waiting per bolt task (mailbox depth). */
  mailboxes: Record<string, number>;
  /** Malformed frames and messages dropped. */
  dropped: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** The exceptions of one component. */
export interface ExceptionInfo {
  component: string;
  /** Errors reported and crashes, over every task. */
  count: number;
  restarts: number;
  lastError: string | null;
  /** Ms since the epoch of `lastError`, when known. */
  lastErrorAt: number | null;
  /** Its stack, when known. */
  stack: string | null;
  /** The container where it happened, when known. */
  container: number | null;
}

/** A stretch of time during which a container held the spouts back. */
export interface BackpressureEpisode {
  container: number;
  /** The component whose mailbox was over its high-water mark ("" when unknown). */
  component: string;
  /** Ms since the epoch. */
  start: number;
  /** Ms since the epoch; null while it lasts. */
  end: number | null;
  durationMs: number;
}

interface Open {
  component: string;
  start: number;
  /** When the episode ends unless renewed (a lease), or Infinity. */
  until: number;
}

/**
 * The backpressure episodes of one topology: raised and lowered by
 * container, kept up to `capacity` (oldest dropped first).
 *
 * @example
 * ```ts
 * const log = new BackpressureLog();
 * log.on(1, "count", Date.now(), 1500); // a lease of 1.5 s
 * log.off(1, Date.now());
 * log.episodes(); // [{ container: 1, component: "count", start, end, durationMs }]
 * ```
 */
export class BackpressureLog {
  readonly #open = new Map<number, Open>();
  readonly #closed: BackpressureEpisode[] = [];
  readonly capacity: number;

  constructor(capacity = 200) {
    this.capacity = Math.max(1, capacity);
  }

  /** Container `container` holds backpressure (renewed for `leaseMs`, or until `off`). */
  on(container: number, component: string, at: number, leaseMs = Infinity): void {
    this.expire(at);
    const open = this.#open.get(container);
    if (open === undefined) this.#open.set(container, { component, start: at, until: at + leaseMs });
    else {
      open.until = at + leaseMs;
      if (open.component === "" && component !== "") open.component = component;
    }
  }

  /** Container `container` released backpressure at `at`. */
  off(container: number, at: number): void {
    const open = this.#open.get(container);
    if (open === undefined) return;
    this.#open.delete(container);
    this.#close(container, open, Math.max(open.start, at));
  }

  /** Ends the episodes whose lease ran out before `now` (at the lease's end). */
  expire(now: number): void {
    for (const [c, open] of this.#open) {
      if (open.until < now) {
        this.#open.delete(c);
        this.#close(c, open, open.until);
      }
    }
  }

  /** Whether any episode is open. */
  get active(): boolean {
    return this.#open.size > 0;
  }

  /** Episodes, oldest first; open ones last (end null). */
  episodes(now: number = Date.now()): BackpressureEpisode[] {
    this.expire(now);
    const open = [...this.#open].map(([container, o]) => ({
      container,
      component: o.component,
      start: o.start,
      end: null,
      durationMs: now - o.start,
    }));
    return [...this.#closed, ...open];
  }

  #close(container: number, open: Open, end: number): void {
    this.#closed.push({ container, component: open.component, start: open.start, end, durationMs: end - open.start });
    if (this.#closed.length > this.capacity) this.#closed.shift();
  }
}
