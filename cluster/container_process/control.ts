/**
 * What the master's (and the CLI's) control messages do in a container
 * process: one handler from `ctl` messages to the generation's container.
 *
 * @module
 */
import { ArdeaError } from "../../topology/errors.ts";
import type { ControlMessage } from "../../transport/wire/mod.ts";
import type { Container } from "../../engine/container.ts";
import type { Taps } from "../taps.ts";

/** The part of a container that control messages steer. */
export type ControlTarget = Pick<
  Container,
  | "start"
  | "setActive"
  | "drain"
  | "beginCheckpoint"
  | "checkpointCommitted"
  | "containerLost"
  | "containerRejoined"
  | "stop"
>;

/** Options of {@link controlHandler}. */
export interface ControlHandlerOptions {
  topology: string;
  index: number;
  /** The container steered (made after the stream manager that calls the handler). */
  target: () => ControlTarget;
  taps: Pick<Taps, "renew" | "cancel">;
  /** Whether the script installed a tap of its own (a test's): it wins, it sees every emit already. */
  ownTap: boolean;
  /** The master's `start`: true if the generation was starting (it runs now), false if it runs already. */
  onStart: () => boolean;
}

/**
 * The handler of `ctl` messages for one generation of a container process.
 * Messages for the master alone (update, restart, rollback…) do nothing here.
 *
 * @example
 * ```ts
 * import type { Taps } from "../taps.ts";
 * declare const container: ControlTarget;
 * declare const taps: Taps;
 * const onControl = controlHandler({ topology: "wc", index: 0, target: () => container, taps, ownTap: false, onStart: () => true });
 * onControl({ type: "deactivate" }); // container.setActive(false)
 * ```
 */
export function controlHandler(o: ControlHandlerOptions): (m: ControlMessage) => void {
  return (m) => {
    const c = o.target();
    switch (m.type) {
      case "start":
        if (o.onStart()) c.start();
        break;
      case "activate":
        c.setActive(true);
        break;
      case "deactivate":
        c.setActive(false);
        break;
      case "kill":
        void c.drain(m.drainMs);
        break;
      case "checkpoint":
        c.beginCheckpoint(m.id);
        break;
      case "committed":
        c.checkpointCommitted(m.id);
        break;
      case "lost":
        c.containerLost(m.container);
        break;
      case "rejoin":
        c.containerRejoined(m.container);
        break;
      case "stop":
        void c.stop(
          m.state,
          m.state === "FAILED"
            ? new ArdeaError(
              "TOPOLOGY_FAILED",
              `topology "${o.topology}" failed in another container; container ${o.index} stops`,
            )
            : undefined,
        );
        break;
      case "tap":
        if (!o.ownTap) o.taps.renew(m);
        break;
      case "untap":
        o.taps.cancel(m.id);
        break;
    }
  };
}
