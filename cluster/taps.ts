/**
 * The taps of one container (`ardea tap`): leases that the CLI renews on the
 * `ctl` subject, each asking for one in N emits of a (component, stream).
 * While at least one lease holds, the container's tap function is set and
 * every emit passes through {@link Taps.onEmit}; when the last expires or is
 * cancelled it is unset again and emits take the fast path. The values are
 * only read: acking is unchanged. transport/wire/mod.ts describes the sequence.
 *
 * @module
 */
import { type ControlMessage, TAP_MAX_PER_SECOND, type TapTuple } from "../transport/wire/mod.ts";

/** A tap request as it arrives on `ctl` (the wire contract's `tap` message). */
export type TapLease = Omit<Extract<ControlMessage, { type: "tap" }>, "type">;

/** What the container calls on every emit while a tap is on. */
export type TapFn = (component: string, stream: string, task: number, values: readonly unknown[]) => void;

interface Tap extends TapLease {
  countdown: number;
  sent: number;
  windowStart: number;
  inWindow: number;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Keeps the taps of a container.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { Container } from "../engine/container.ts";
 * import { encodeObservation, subjects } from "../transport/wire/mod.ts";
 * declare const nc: NatsConnection, container: Container;
 * const name = "wc";
 * const taps = new Taps(0, (id, t) => nc.publish(subjects(name).tap(id), encodeObservation(t)), (fn) => (container.tap = fn));
 * taps.renew({ id: "a1", component: "split", stream: "default", sample: 10, limit: 100, leaseMs: 3000 });
 * ```
 */
export class Taps {
  readonly #taps = new Map<string, Tap>();

  constructor(
    readonly container: number,
    readonly publish: (id: string, t: TapTuple) => void,
    /** Sets (a function) or unsets (null) the container's tap. */
    readonly setTap: (fn: TapFn | null) => void,
  ) {}

  /** Number of taps on. */
  get size(): number {
    return this.#taps.size;
  }

  /** Starts a tap, or renews its lease (its sample and limit stay as first asked). */
  renew(lease: TapLease): void {
    const old = this.#taps.get(lease.id);
    if (old !== undefined) {
      clearTimeout(old.timer);
      old.timer = setTimeout(() => this.cancel(lease.id), lease.leaseMs);
      return;
    }
    this.#taps.set(lease.id, {
      ...lease,
      countdown: 1,
      sent: 0,
      windowStart: 0,
      inWindow: 0,
      timer: setTimeout(() => this.cancel(lease.id), lease.leaseMs),
    });
    if (this.#taps.size === 1) this.setTap(this.onEmit);
  }

  /** Stops a tap (untap, expired lease, limit reached). */
  cancel(id: string): void {
    const t = this.#taps.get(id);
    if (t === undefined) return;
    clearTimeout(t.timer);
    this.#taps.delete(id);
    if (this.#taps.size === 0) this.setTap(null);
  }

  /** Stops every tap. */
  close(): void {
    for (const id of [...this.#taps.keys()]) this.cancel(id);
  }

  /** Sees one emit. */
  onEmit = (component: string, stream: string, task: number, values: readonly unknown[]): void => {
    for (const t of this.#taps.values()) {
      if (t.component !== component || t.stream !== stream) continue;
      if (--t.countdown > 0) continue;
      t.countdown = t.sample;
      const now = Date.now();
      if (now - t.windowStart >= 1000) {
        t.windowStart = now;
        t.inWindow = 0;
      }
      if (t.inWindow >= TAP_MAX_PER_SECOND) continue;
      t.inWindow++;
      t.sent++;
      this.publish(t.id, {
        id: t.id,
        container: this.container,
        task,
        component,
        stream,
        ts: now,
        values: [...values],
      });
      if (t.limit > 0 && t.sent >= t.limit) this.cancel(t.id);
    }
  };
}
