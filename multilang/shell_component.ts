/**
 * What `ShellBolt` and `ShellSpout` share: the settings they read from the
 * configuration, starting the subprocess in the code directory, the
 * once-a-second timer, and the `log`, `error` and `metrics` commands.
 *
 * @module
 */
import { CRASH_TASK, TASK_LOG } from "../actors/collectors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import { MultilangError, type ShellComponentOptions } from "./options.ts";
import { serializerFor } from "./serializer.ts";
import { ShellProcess } from "./shell_process.ts";

/**
 * The environment variable that tells a subprocess its wire format ("json"
 * or "msgpack") before the handshake.
 */
export const SERIALIZER_ENV = "ARDEA_MULTILANG_SERIALIZER";

/** Storm's log levels by number (`log` command's `level`; default 2, info). */
const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] as const;

/** The internal hooks of an engine collector (absent on a collector made by hand). */
export interface CollectorHooks {
  [CRASH_TASK]?(error: unknown, phase: string): void;
  [TASK_LOG]?(level: string, msg: string): void;
  reportError(error: unknown): void;
}

/** A subprocess of a shell component, with what the component needs around it. */
export interface ShellRun {
  readonly proc: ShellProcess;
  readonly timer: ReturnType<typeof setInterval>;
}

/**
 * Starts `command` for a task, with the handshake, and a timer that calls
 * `everySecond` (heartbeats, timeouts).
 *
 * @example
 * ```ts
 * import type { TopologyConfig, TopologyContext } from "ardea";
 * declare const conf: TopologyConfig, context: TopologyContext;
 * declare const collector: CollectorHooks;
 * const run = await startShell("bolt", ["node", "split.js"], {}, conf, context, {
 *   collector, onMessage: () => {}, onFault: () => {}, everySecond: () => {},
 * });
 * await stopShell(run);
 * ```
 */
export async function startShell(
  kind: "bolt" | "spout",
  command: readonly string[],
  options: ShellComponentOptions,
  conf: TopologyConfig,
  context: TopologyContext,
  handlers: {
    /** Where logs and stderr lines go (the engine's log through its hook). */
    collector: CollectorHooks;
    onMessage: (msg: Record<string, unknown> | unknown[], proc: ShellProcess) => void;
    onFault: (error: MultilangError) => void;
    everySecond: (proc: ShellProcess) => void;
  },
): Promise<ShellRun> {
  const serializer = options.serializer ?? conf["topology.multilang.serializer"] ?? "json";
  const proc = await ShellProcess.start(
    {
      command,
      cwd: options.cwd ?? context.getCodeDir(),
      // The subprocess must know the format before the first message: its library may read it here.
      env: { [SERIALIZER_ENV]: serializer, ...options.env },
      serializer: serializerFor(serializer),
      kind,
      timeoutMs: (conf["topology.subprocess.timeout.secs"] ?? 30) * 1000,
      stderrFloodChars: conf["topology.multilang.stderr.max.bytes.per.sec"] ?? 1024 * 1024,
      onMessage: handlers.onMessage,
      onFault: handlers.onFault,
      logStderr: (line) => logLine(handlers.collector, "STDERR", line),
    },
    conf,
    context,
  );
  const timer = setInterval(() => {
    proc.tick();
    handlers.everySecond(proc);
  }, 1000);
  return { proc, timer };
}

/**
 * Stops the timer and the subprocess of `run` (SIGTERM, then SIGKILL).
 *
 * @example
 * ```ts
 * declare const run: ShellRun;
 * await stopShell(run);
 * ```
 */
export function stopShell(run: ShellRun | null): Promise<void> {
  if (run === null) return Promise.resolve();
  clearInterval(run.timer);
  return run.proc.stop();
}

/**
 * Handles the commands bolts and spouts share: `log`, `error`, `metrics`
 * (checked, then handed to `updateMetric`); false for any other.
 *
 * @example
 * ```ts
 * import type { TopologyConfig } from "ardea";
 * import type { ShellProcess } from "./shell_process.ts";
 * declare const collector: CollectorHooks, conf: TopologyConfig, proc: ShellProcess;
 * sharedCommand({ command: "log", msg: "hi", level: 2 }, collector, conf, proc, (name, n) => console.log(name, n));
 * ```
 */
export function sharedCommand(
  msg: Record<string, unknown>,
  collector: CollectorHooks,
  conf: TopologyConfig,
  proc: ShellProcess,
  updateMetric: (name: string, params: unknown) => void,
): boolean {
  switch (msg.command) {
    case "log": {
      const level = typeof msg.level === "number" ? msg.level : 2;
      if (level < 2 && conf["topology.debug"] !== true) return true;
      const name = LEVELS[Math.max(0, Math.min(4, Math.trunc(level)))]!;
      logLine(collector, name, typeof msg.msg === "string" ? msg.msg : JSON.stringify(msg.msg));
      return true;
    }
    case "error": {
      const text = typeof msg.msg === "string" ? msg.msg : JSON.stringify(msg.msg);
      collector.reportError(new MultilangError("SUBPROCESS_ERROR", `${proc.label} reported: ${text}`));
      return true;
    }
    case "metrics": {
      const name = msg.name;
      if (typeof name !== "string" || name === "") {
        throw proc.protocolError(`sent a metrics command without a name: ${JSON.stringify(msg)}`);
      }
      checkMetricParams(proc, name, msg.params);
      updateMetric(name, msg.params);
      return true;
    }
    default:
      return false;
  }
}

/** Shell metrics take a number or an object of numbers. */
function checkMetricParams(proc: ShellProcess, name: string, params: unknown): void {
  const ok = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  if (ok(params)) return;
  if (params !== null && typeof params === "object" && !Array.isArray(params) && Object.values(params).every(ok)) {
    return;
  }
  throw proc.protocolError(
    `sent metric "${name}" with params ${JSON.stringify(params)}: expected a number or an object of numbers`,
  );
}

/**
 * Storm's shell metrics as counters of the task: a number adds to counter
 * `name`, an object of numbers adds each to counter `name.key`.
 *
 * @example
 * ```ts
 * import type { TopologyContext } from "ardea";
 * declare const context: TopologyContext;
 * countMetric(context, "words", 3);
 * countMetric(context, "by-length", { short: 2, long: 1 });
 * ```
 */
export function countMetric(context: TopologyContext, name: string, params: unknown): void {
  if (typeof params === "number") context.registerCounter(name).inc(params);
  else {
    for (const [k, v] of Object.entries(params as Record<string, number>)) {
      context.registerCounter(`${name}.${k}`).inc(v);
    }
  }
}

/** Writes a line of the subprocess to the engine's log (the console for a collector made by hand). */
function logLine(collector: CollectorHooks, level: string, text: string): void {
  if (collector[TASK_LOG] !== undefined) collector[TASK_LOG](level, text);
  else console.error(`[ardea] ${level}: ${text}`);
}
