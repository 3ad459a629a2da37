/**
 * Backpressure between containers: the leases other containers announce
 * (each holds this container's spouts until it is renewed or released),
 * lost containers (held until they rejoin), and the announcements of this
 * container's own pressure (its mailboxes and parked tuples), renewed while
 * it lasts. Each cause is its own source of the shared {@link Pressure}.
 *
 * @module
 */
import type { Pressure } from "../actors/mailbox.ts";

/** How long another container's backpressure announcement holds without renewal. */
export const PRESSURE_LEASE_MS = 1500;

/** What the remote pressure needs from its container. */
export interface RemotePressureHost {
  /** This container's index. */
  readonly index: number;
  readonly pressure: Pressure;
  readonly ended: boolean;
  /** Tells the others this container's own pressure began (true) or ended, naming the component. */
  announce(on: boolean, component: string): void;
  /** The component whose mailbox holds the pressure up here ("" when none). */
  source(): string;
}

/**
 * The leases, lost containers and announcements of one container.
 *
 * @example
 * ```ts
 * declare const host: RemotePressureHost;
 * const rp = new RemotePressure(host);
 * rp.lease(2, true, PRESSURE_LEASE_MS); // container 2 is over its marks: hold the spouts
 * rp.lease(2, false, 0); // released
 * ```
 */
export class RemotePressure {
  readonly #leases = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #lost = new Set<number>();
  #announced = false;
  #announcedAt = 0;
  #pending = false;

  constructor(private readonly host: RemotePressureHost) {}

  /** Container `container`'s backpressure lease: on (renewed for `leaseMs`) or off. */
  lease(container: number, on: boolean, leaseMs: number): void {
    const host = this.host;
    if (container === host.index || host.ended) return;
    const timer = this.#leases.get(container);
    if (timer !== undefined) clearTimeout(timer);
    else if (on) host.pressure.raise("lease");
    if (on) {
      this.#leases.set(container, setTimeout(() => this.lease(container, false, 0), leaseMs));
    } else if (timer !== undefined) {
      this.#leases.delete(container);
      host.pressure.lower("lease");
    }
  }

  /** Container `c` died: hold the spouts until it rejoins. Returns false when it was known lost already. */
  lost(c: number): boolean {
    if (this.#lost.has(c)) return false;
    this.#lost.add(c);
    this.host.pressure.raise("lost");
    return true;
  }

  /** Container `c` runs again: its hold is released. */
  rejoined(c: number): void {
    if (this.#lost.delete(c)) this.host.pressure.lower("lost");
  }

  /** Announces a change of this container's own pressure after the current task (the tallies are settled then). */
  announceSoon(): void {
    if (this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      if (!this.host.ended) this.announce();
    });
  }

  /** Announces this container's own backpressure, renewing the lease while it lasts (called often). */
  announce(): void {
    const host = this.host;
    const on = host.pressure.own;
    const now = performance.now();
    if (on === this.#announced && (!on || now - this.#announcedAt < PRESSURE_LEASE_MS / 3)) return;
    this.#announced = on;
    this.#announcedAt = now;
    host.announce(on, host.source());
  }

  /** The run ended: lease timers stop. */
  close(): void {
    for (const t of this.#leases.values()) clearTimeout(t);
    this.#leases.clear();
  }
}
