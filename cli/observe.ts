/**
 * Watching a running distributed topology from the command line:
 * `ardea tap` (live sampled tuples of one component's stream) and
 * `ardea logs` (the containers' recent log lines). transport/wire/mod.ts describes both
 * exchanges.
 *
 * @module
 */
import { onSignal, writeStderr, writeStdout } from "../runtime/mod.ts";
import {
  decodeObservation,
  encodeMessage,
  encodeObservation,
  isTerminal,
  type LogsReply,
  subjects,
  type TapTuple,
  WireError,
} from "../transport/wire/mod.ts";
import type { LogsCommand, TapCommand } from "./args.ts";
import { ControlError, requireTopology, withControl } from "./control.ts";

/** JSON text of emitted values: bigints as strings, bytes as arrays of numbers. */
function valuesJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === "bigint") return x.toString();
    if (x instanceof Uint8Array) return [...x];
    return x;
  }) ?? "null";
}

/**
 * One line of `ardea tap` output.
 *
 * @example
 * ```ts
 * tapLine({ id: "x", container: 1, task: 4, component: "split", stream: "default", ts: 0, values: ["a"] }, false);
 * // '[c1 t4] split:default ["a"]\n'
 * ```
 */
export function tapLine(t: TapTuple, json: boolean): string {
  if (json) {
    return `${
      valuesJson({
        container: t.container,
        task: t.task,
        component: t.component,
        stream: t.stream,
        ts: t.ts,
        values: t.values,
      })
    }\n`;
  }
  return `[c${t.container} t${t.task}] ${t.component}:${t.stream} ${valuesJson(t.values)}\n`;
}

function randomId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * `ardea tap`: asks the containers for sampled emits of a component's stream
 * (a lease renewed every `leaseMs`/3), prints them until `--limit` tuples,
 * Ctrl-C, or the end of the topology, then cancels the tap.
 */
export function runTap(cmd: TapCommand, leaseMs = 3000): Promise<number> {
  return withControl("tap", cmd.nats, async (ctx) => {
    const rec = await requireTopology(ctx, cmd.topology);
    if (isTerminal(rec.state)) {
      throw new ControlError(
        `topology "${cmd.topology}" has ended (${rec.state}); only a running topology can be tapped`,
      );
    }
    if (!(cmd.component in rec.components)) {
      throw new ControlError(
        `topology "${cmd.topology}" has no component "${cmd.component}" (it has ${
          Object.keys(rec.components).sort().join(", ")
        })`,
      );
    }
    const id = randomId();
    const subj = subjects(cmd.topology);
    let shown = 0;
    let bad = 0;
    let ended: string | undefined;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const sub = ctx.nc.subscribe(subj.tap(id), {
      callback: (err, msg) => {
        if (err || (cmd.limit > 0 && shown >= cmd.limit)) return;
        let t: TapTuple;
        try {
          t = decodeObservation.tapTuple(msg.data);
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          bad++;
          return;
        }
        shown++;
        writeStdout(tapLine(t, cmd.json));
        if (cmd.limit > 0 && shown >= cmd.limit) finish();
      },
    });
    // The subscription exists on the server before any container may publish.
    await ctx.nc.flush();
    const request = () =>
      ctx.nc.publish(
        subj.ctl,
        encodeMessage({
          type: "tap",
          id,
          component: cmd.component,
          stream: cmd.stream,
          sample: cmd.sample,
          limit: cmd.limit,
          leaseMs,
        }),
      );
    request();
    const renew = setInterval(request, leaseMs / 3);
    const watch = setInterval(() => {
      ctx.records?.getTopology(cmd.topology).then((r) => {
        if (r !== undefined && isTerminal(r.state)) {
          ended = r.state;
          finish();
        }
      }, () => {});
    }, 2000);
    const offs = [onSignal("SIGINT", finish), onSignal("SIGTERM", finish)];
    try {
      await done;
    } finally {
      clearInterval(renew);
      clearInterval(watch);
      for (const off of offs) off();
      ctx.nc.publish(subj.ctl, encodeMessage({ type: "untap", id }));
      sub.unsubscribe();
      await ctx.nc.flush().catch(() => {});
    }
    if (bad > 0) writeStderr(`ardea: dropped ${bad} malformed tap message(s)\n`);
    if (ended !== undefined) {
      writeStderr(`ardea: topology "${cmd.topology}" ended (${ended}) after ${shown} tuple(s)\n`);
    }
    return 0;
  });
}

/** The lines of one container's reply, each prefixed with the container and the time (UTC). */
export function logLines(r: LogsReply): string {
  let out = "";
  for (const [ts, line] of r.lines) out += `[c${r.container} ${new Date(ts).toISOString().slice(11, 23)}] ${line}\n`;
  return out;
}

/**
 * `ardea logs`: asks each container (or one) for its newest `--lines` log
 * lines and prints them, container by container.
 */
export function runLogs(cmd: LogsCommand, timeoutMs = 3000): Promise<number> {
  return withControl("logs", cmd.nats, async (ctx) => {
    const rec = await requireTopology(ctx, cmd.topology);
    if (cmd.container !== undefined && cmd.container >= rec.containers) {
      throw new ControlError(
        `topology "${cmd.topology}" has ${rec.containers} container(s); there is no container ${cmd.container}`,
      );
    }
    const which = cmd.container === undefined ? Array.from({ length: rec.containers }, (_, i) => i) : [cmd.container];
    const subj = subjects(cmd.topology);
    const replies = await Promise.all(which.map(async (c) => {
      try {
        const m = await ctx.nc.request(subj.logs(c), encodeObservation({ lines: cmd.lines }), { timeout: timeoutMs });
        return decodeObservation.logsReply(m.data);
      } catch (e) {
        return new Error(`container ${c} did not answer (${(e as Error).message || String(e)})`);
      }
    }));
    let code = 0;
    for (const r of replies) {
      if (r instanceof Error) {
        writeStderr(`ardea: ${r.message}\n`);
        code = 1;
        continue;
      }
      if (which.length > 1) {
        writeStdout(
          `== container ${r.container} (pid ${r.pid} on ${r.host})${
            r.dropped > 0 ? `, ${r.dropped} older lines dropped` : ""
          }\n`,
        );
      }
      writeStdout(logLines(r));
    }
    return code;
  });
}
