/**
 * The `ardea` command: parses the command line and dispatches. Run directly
 * (`deno run -A cli/main.ts run x.ts`, where `import.meta.main` is set) it
 * is the whole command, like bin/ardea.mjs.
 *
 * @module
 */
// Only the runtime at first: `ardea submit --wait` starts its containers
// before this process loads the rest (the parser alone loads zod).
import {
  ardeaRoot,
  args,
  cwd,
  exit,
  flushOutput,
  readTextFile,
  resolvePath,
  type RuntimeName,
  writeStderr,
  writeStdout,
} from "../runtime/mod.ts";
import type { Standbys } from "../cluster/container_spawn.ts";

async function version(): Promise<string> {
  const text = await readTextFile(resolvePath(ardeaRoot(), "package.json"));
  const parsed = JSON.parse(text) as { version?: unknown };
  return typeof parsed.version === "string" ? parsed.version : "unknown";
}

/**
 * Runs the `ardea` command with `argv` (the arguments after `ardea`) and
 * returns the process exit code: 0 success, 1 a failed script or
 * topology, 2 a bad command line.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["--help"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  // `submit --wait` runs its containers on this machine: they start first,
  // and load the engine while this process does.
  const hint = standbyHint(argv);
  const standbys = hint === undefined
    ? undefined
    : (await import("../cluster/container_spawn.ts")).startStandbys({ ...hint, cwd: cwd() });
  try {
    return await dispatch(argv, standbys);
  } finally {
    standbys?.release();
  }
}

async function dispatch(argv: string[], standbys: Standbys | undefined): Promise<number> {
  const [{ parseArgs, UsageError }, { helpText, usageLine }] = await Promise.all([
    import("./args.ts"),
    import("./help.ts"),
  ]);
  let command;
  try {
    command = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeStderr(`ardea: ${e.message}\n${usageLine(e.command)}\n`);
    return 2;
  }
  try {
    switch (command.type) {
      case "help":
        writeStdout(helpText(command.topic));
        return 0;
      case "version":
        writeStdout(`ardea ${await version()}\n`);
        return 0;
      case "run":
        return await (await import("./run.ts")).runScript(command);
      case "init":
        return await (await import("./init.ts")).runInit(command);
      case "submit":
        return await (await import("./cluster_commands.ts")).runCluster(command, standbys);
      case "worker":
      case "restart":
      case "update":
      case "master":
      case "container":
        // Loaded on demand: `ardea run` starts without the NATS client.
        return await (await import("./cluster_commands.ts")).runCluster(command);
      case "list":
        return await (await import("./control.ts")).runList(command);
      case "status":
        return await (await import("./status.ts")).runStatus(command);
      case "activate":
      case "deactivate":
        return await (await import("./control.ts")).runSteer(command);
      case "kill":
        return await (await import("./control.ts")).runKill(command);
      case "tap":
        return await (await import("./observe.ts")).runTap(command);
      case "logs":
        return await (await import("./observe.ts")).runLogs(command);
      case "ui":
        return await (await import("./ui.ts")).runUi(command);
    }
  } catch (e) {
    // A usage error found while running (e.g. no --nats and no ARDEA_NATS_URL).
    if (!(e instanceof UsageError)) throw e;
    writeStderr(`ardea: ${e.message}\n${usageLine(e.command)}\n`);
    return 2;
  }
}

/**
 * `ardea submit … --wait` on the local scheduler, by a quick look at the
 * words before `--`: how many containers, on which runtime. Only a hint:
 * the parser decides, and submit releases the standbys it does not use.
 */
function standbyHint(argv: readonly string[]): { count: number; runtime: RuntimeName } | undefined {
  if (argv[0] !== "submit") return undefined;
  const cut = argv.indexOf("--");
  const own = argv.slice(1, cut < 0 ? undefined : cut);
  const value = (flag: string): string | undefined => {
    for (let i = 0; i < own.length; i++) {
      if (own[i] === flag) return own[i + 1];
      if (own[i]!.startsWith(`${flag}=`)) return own[i]!.slice(flag.length + 1);
    }
    return undefined;
  };
  if (!own.includes("--wait") || (value("--scheduler") ?? "local") !== "local") return undefined;
  const count = Number(value("--containers") ?? 1);
  const runtime = value("--runtime") ?? "node";
  if (!Number.isInteger(count) || count < 1 || (runtime !== "node" && runtime !== "deno")) return undefined;
  return { count, runtime };
}

if ((import.meta as { main?: boolean }).main === true) {
  const code = await main(args());
  await flushOutput();
  exit(code);
}
