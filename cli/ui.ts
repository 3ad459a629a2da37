/**
 * `ardea ui --nats URL [--port P] [--host H]`: the tracker of a NATS
 * cluster. The same tracker as `ardea run --ui` (tracker/tracker.ts: web
 * page, REST API, Prometheus), fed by tracker/remote_tracking.ts with the
 * topologies in KV and what their containers publish.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { RemoteTracking } from "../tracker/remote_tracking.ts";
import { isLoopbackInterface, serveTracker, Tracker, type TrackerServer, uiAssets } from "../tracker/mod.ts";
import { onSignal, writeStderr } from "../runtime/mod.ts";
import type { UiCommand } from "./args.ts";
import { ControlError, withControl } from "./control.ts";
import { describeError } from "./run.ts";

/** Options of {@link startRemoteUi}. */
export interface RemoteUiOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 8889; 0 picks a free one). */
  port?: number;
  /** How often the topology records are read (default 1000 ms). */
  pollMs?: number;
  log?: (line: string) => void;
}

/** A running distributed tracker. */
export interface RemoteUi {
  readonly url: string;
  readonly tracker: Tracker;
  readonly remote: RemoteTracking;
  readonly server: TrackerServer;
  /** Stops serving and watching (the NATS connection stays open). */
  close(): Promise<void>;
}

/**
 * Serves the tracker of the topologies on `nc`'s cluster.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const ui = await startRemoteUi(nc, { port: 0 });
 * console.log(ui.url); // http://127.0.0.1:41234/
 * await ui.close();
 * ```
 */
export async function startRemoteUi(nc: NatsConnection, opts: RemoteUiOptions = {}): Promise<RemoteUi> {
  const host = opts.host ?? "127.0.0.1";
  const tracker = new Tracker({ assets: uiAssets(), loopbackOnly: isLoopbackInterface(host), labels: {} });
  const remote = await RemoteTracking.start(nc, tracker, { pollMs: opts.pollMs, log: opts.log });
  let server: TrackerServer;
  try {
    server = await serveTracker(tracker, { hostname: host, port: opts.port });
  } catch (e) {
    await remote.close();
    throw e;
  }
  return {
    url: server.url,
    tracker,
    remote,
    server,
    close: async () => {
      await server.close();
      await remote.close();
    },
  };
}

/**
 * `ardea ui`: serves until SIGINT or SIGTERM; exit 0 then, 1 when NATS is
 * unreachable or the port cannot be had, 2 for bad flags.
 *
 * @example
 * ```ts
 * const code = await runUi({ type: "ui", host: "127.0.0.1", port: 8889, nats: { nats: "nats://127.0.0.1:4222" } });
 * ```
 */
export function runUi(cmd: UiCommand): Promise<number> {
  return withControl("ui", cmd.nats, async (ctx) => {
    let offs: Array<() => void> = [];
    const stop = new Promise<void>((resolve) => {
      offs = [onSignal("SIGINT", resolve), onSignal("SIGTERM", resolve)];
    });
    let ui: RemoteUi;
    try {
      ui = await startRemoteUi(ctx.nc, { host: cmd.host, port: cmd.port, log: (l) => writeStderr(`${l}\n`) });
    } catch (e) {
      for (const off of offs) off();
      throw new ControlError(`cannot serve the UI on ${cmd.host}:${cmd.port}: ${describeError(e)}`);
    }
    const open = isLoopbackInterface(cmd.host)
      ? ""
      : ` (listening on ${cmd.host}: reachable from other machines, with no authentication)`;
    writeStderr(`ardea: UI of the topologies on NATS at ${ctx.where}: ${ui.url}${open}\n`);
    await stop;
    for (const off of offs) off();
    await ui.close();
    writeStderr("ardea: UI stopped\n");
    return 0;
  });
}
