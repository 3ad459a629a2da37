/**
 * `ardea run`: imports a topology script in this process, watches every
 * topology it submits, and turns how they ended into an exit code.
 *
 * The script and the CLI share one instance of the engine (on Node through
 * runtime/node_loader.mjs, on Deno natively), so `onSubmit` sees the
 * script's own `submit()` calls.
 *
 * @module
 */
import type { RunState, RunSummary } from "../engine/container.ts";
import type { StatsSnapshot as TopologyStats } from "../metrics/snapshot.ts";
import { onSubmit, type TopologyHandle } from "../engine/submit.ts";
import { setCodeDir } from "../engine/code_dir.ts";
import {
  cwd,
  env,
  exit,
  isDirectorySync,
  isTTY,
  onSignal,
  readTextFile,
  resolvePath,
  setScriptArgs,
  terminalColumns,
  toFileUrl,
  writeStderr,
  writeStdout,
} from "../runtime/mod.ts";
import { isLoopbackInterface, serveTracker, Tracker, type TrackerServer, uiAssets } from "../tracker/mod.ts";
import type { RunCommand } from "./args.ts";
import { dryRunFlux, isFluxCommand, readFluxFile } from "./flux_file.ts";
import { formatCount, LiveView } from "./live_view.ts";

/** How one submitted topology ended. */
export interface RunOutcome {
  name: string;
  state: RunState;
  durationMs: number;
  stats: TopologyStats;
  /** Why it failed (state FAILED). */
  error: unknown;
}

/** A topology being watched: its handle and, once settled, its outcome. */
interface Watched {
  handle: TopologyHandle;
  settled: Promise<RunOutcome>;
  outcome: RunOutcome | undefined;
}

function watch(handle: TopologyHandle): Watched {
  const w: Watched = { handle, settled: undefined as unknown as Promise<RunOutcome>, outcome: undefined };
  w.settled = handle.done.then(
    (s: RunSummary): RunOutcome => ({
      name: s.name,
      state: s.state,
      durationMs: s.durationMs,
      stats: s.stats,
      error: undefined,
    }),
    (error: unknown): RunOutcome => {
      const stats = handle.stats();
      return { name: handle.name, state: "FAILED", durationMs: stats.uptimeMs, stats, error };
    },
  ).then((o) => (w.outcome = o));
  return w;
}

/**
 * `Name: message` of a thrown value; the stack instead when `ARDEA_DEBUG=1`.
 *
 * @example
 * ```ts
 * describeError(new TypeError("x is not a function")); // "TypeError: x is not a function"
 * ```
 */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const head = `${e.name}: ${e.message}`;
  if (env("ARDEA_DEBUG") !== "1" || e.stack === undefined) return head;
  // V8 stacks start with "Name: message"; keep the head once.
  return e.stack.startsWith(head) ? e.stack : `${head}\n${e.stack}`;
}

function errorJson(e: unknown): { name: string; message: string; code?: string } | null {
  if (e === undefined) return null;
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === "string" ? { code } : {}) };
}

/**
 * One summary line of a finished run.
 *
 * @example
 * ```ts
 * declare const outcome: RunOutcome;
 * summaryLine(outcome);
 * // 'ardea: "wc" FINISHED in 1.52 s: emitted 1.20M, acked 100k, failed 0, timed out 0, restarts 0, 789k tuples/s'
 * ```
 */
export function summaryLine(o: RunOutcome): string {
  const secs = o.durationMs / 1000;
  const rate = secs > 0 ? o.stats.emitted / secs : 0;
  const verb = o.state === "FAILED" ? "after" : "in";
  const took = secs < 1 ? `${Math.round(o.durationMs)} ms` : `${secs.toFixed(2)} s`;
  return `ardea: "${o.name}" ${o.state} ${verb} ${took}: emitted ${formatCount(o.stats.emitted)}, ` +
    `acked ${formatCount(o.stats.acked)}, failed ${formatCount(o.stats.failed)}, ` +
    `timed out ${formatCount(o.stats.timedOut)}, restarts ${o.stats.restarts}, ${formatCount(rate)} tuples/s`;
}

/** Starts the tracker of `--ui`; null (reported) when it cannot listen. */
async function startUi(
  opts: { host: string; port: number },
): Promise<{ tracker: Tracker; server: TrackerServer } | null> {
  const loopback = isLoopbackInterface(opts.host);
  const tracker = new Tracker({ assets: uiAssets(), loopbackOnly: loopback });
  try {
    const server = await serveTracker(tracker, { hostname: opts.host, port: opts.port });
    writeStderr(
      `ardea: UI at ${server.url}${
        loopback ? "" : ` (listening on ${opts.host}: reachable from other machines, with no authentication)`
      }\n`,
    );
    return { tracker, server };
  } catch (e) {
    writeStderr(`ardea: cannot serve the UI on ${opts.host}:${opts.port}: ${describeError(e)}\n`);
    return null;
  }
}

/**
 * What is wrong with `script` (resolved to `path`) as a topology script to
 * import, as one line, or null when it is a readable file.
 *
 * @example
 * ```ts
 * import { resolvePath } from "../runtime/mod.ts";
 * await scriptPathProblem("examples", resolvePath("examples")); // "examples is a directory, not a topology script"
 * ```
 */
export async function scriptPathProblem(script: string, path: string): Promise<string | null> {
  try {
    await readTextFile(path);
    return null;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const shown = `${script}${path !== script ? ` (${path})` : ""}`;
    if (code === "ENOENT" || code === "ENOTDIR") return `no such topology script: ${shown}`;
    if (code === "EISDIR") return `${shown} is a directory, not a topology script`;
    return `cannot read the topology script ${shown}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Submits the topology of the command's Flux file in this process. */
async function runFluxFile(cmd: RunCommand): Promise<void> {
  const { importFluxModules, submitFlux } = await import("../flux/mod.ts");
  const doc = await readFluxFile(cmd);
  await submitFlux(doc, await importFluxModules(doc));
}

/**
 * Runs `ardea run` and returns the exit code. Does not return until every
 * submitted topology has ended (Ctrl-C drains them, a second Ctrl-C kills
 * them, a third exits at once with 130).
 *
 * @example
 * ```ts
 * const code = await runScript({ type: "run", script: "wc.ts", scriptArgs: [], quiet: false, json: false });
 * ```
 */
export async function runScript(cmd: RunCommand): Promise<number> {
  const path = resolvePath(cwd(), cmd.script);
  const flux = isFluxCommand(cmd, "run");
  const problem = await scriptPathProblem(cmd.script, path);
  if (problem !== null) {
    writeStderr(`ardea: ${problem}\n`);
    return 1;
  }
  if (flux && cmd.dryRun) return await dryRunFlux(cmd);

  if (cmd.resources !== undefined) {
    const dir = resolvePath(cwd(), cmd.resources);
    if (!isDirectorySync(dir)) {
      writeStderr(`ardea: --resources ${cmd.resources}: no such folder (${dir})\n`);
      return 2;
    }
    setCodeDir(dir);
  }

  const ui = cmd.ui === undefined ? undefined : await startUi(cmd.ui);
  if (ui === null) return 1;

  const watched: Watched[] = [];
  // A terminal gets the live table; a log (no terminal) a status line now and then.
  const tty = isTTY("stderr");
  const live = !cmd.quiet && (tty || !cmd.json)
    ? new LiveView({
      stats: () => watched.filter((w) => w.outcome === undefined).map((w) => w.handle.stats()),
      write: writeStderr,
      columns: () => (tty ? terminalColumns("stderr") : 200),
      mode: tty ? "table" : "plain",
    })
    : undefined;
  if (tty) live?.interceptConsole();
  const offSubmit = onSubmit((handle) => {
    watched.push(watch(handle));
    ui?.tracker.add(handle);
    live?.start();
  });

  let signals = 0;
  const stop = () => {
    const running = watched.filter((w) => w.outcome === undefined).map((w) => w.handle);
    signals++;
    live?.clear();
    if (running.length === 0 || signals >= 3) {
      writeStderr("ardea: interrupted; exiting without waiting\n");
      exit(130);
    }
    // The engine already drains/kills topologies submitted with signal
    // handling on; this also covers those submitted without (LocalCluster).
    if (signals === 1) {
      writeStderr(`ardea: draining ${running.map((h) => `"${h.name}"`).join(", ")} (Ctrl-C again to kill)\n`);
      for (const h of running) void h.drain().catch(() => {});
    } else {
      writeStderr(`ardea: killing ${running.map((h) => `"${h.name}"`).join(", ")} (Ctrl-C again to exit at once)\n`);
      for (const h of running) void h.kill().catch(() => {});
    }
  };
  const offSignals = [onSignal("SIGINT", stop), onSignal("SIGTERM", stop)];

  setScriptArgs(path, cmd.scriptArgs);
  let scriptError: { error: unknown } | undefined;
  try {
    if (flux) await runFluxFile(cmd);
    else await import(toFileUrl(path));
  } catch (error) {
    scriptError = { error };
  }
  // A topology may still be submitted while others run, so wait in rounds.
  for (let n = 0; n < watched.length;) {
    const batch = watched.slice(n);
    n = watched.length;
    await Promise.all(batch.map((w) => w.settled));
  }
  offSubmit();
  for (const off of offSignals) off();
  live?.stop();
  if (ui !== undefined && tty && watched.length > 0) {
    // Someone at a terminal asked to watch: a short run must not take the page away.
    writeStderr(`ardea: the run ended; the UI stays at ${ui.server.url} with its final figures (Ctrl-C to exit)\n`);
    await new Promise<void>((resolve) => {
      const offs = [onSignal("SIGINT", () => done()), onSignal("SIGTERM", () => done())];
      function done() {
        for (const off of offs) off();
        resolve();
      }
    });
  }
  await ui?.server.close();

  const outcomes = watched.map((w) => w.outcome!);
  const failed = outcomes.filter((o) => o.state === "FAILED");
  // A script that awaits `handle.done` rethrows the run's own error: report it once.
  const scriptOwn = scriptError !== undefined && !failed.some((o) => o.error === scriptError!.error);
  const code = scriptOwn || failed.length > 0 ? 1 : 0;

  if (!cmd.quiet && !cmd.json) { for (const o of outcomes) writeStderr(`${summaryLine(o)}\n`); }
  for (const o of failed) writeStderr(`ardea: topology "${o.name}" failed: ${describeError(o.error)}\n`);
  if (scriptOwn) writeStderr(`ardea: ${describeError(scriptError!.error)}\n`);
  if (cmd.json) {
    const report = {
      ok: code === 0,
      exitCode: code,
      script: path,
      error: scriptOwn ? errorJson(scriptError!.error) : null,
      topologies: outcomes.map((o) => ({
        name: o.name,
        state: o.state,
        durationMs: Math.round(o.durationMs * 1000) / 1000,
        error: errorJson(o.error),
        stats: o.stats,
      })),
    };
    writeStdout(`${JSON.stringify(report)}\n`);
  }
  return code;
}
