/**
 * The `ardea` command: parses the command line and dispatches. Run directly
 * (`deno run -A cli/main.ts run x.ts`, where `import.meta.main` is set) it
 * is the whole command, like bin/ardea.mjs.
 *
 * @module
 */
import { ardeaRoot, args, cwd, env, exit, flushOutput, readTextFile, resolvePath, writeStderr, writeStdout } from "../runtime/mod.ts";
import { type Command, parseArgs, UsageError } from "./args.ts";
import { helpText, USAGE } from "./help.ts";

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
  let command;
  try {
    command = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeStderr(`ardea: ${e.message}\n${USAGE[e.command ?? "ardea"]}\n`);
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
      case "submit": {
        // With --wait on this machine the containers run under this process:
        // they start now, and load the engine while this process does.
        const standbys = command.wait && command.scheduler === "local" ? await startStandbysFor(command) : undefined;
        return await (await import("./cluster_commands.ts")).runCluster(command, standbys);
      }
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
    writeStderr(`ardea: ${e.message}\n${USAGE[e.command ?? "ardea"]}\n`);
    return 2;
  }
}

/** The standbys of `submit --wait` (none when its NATS flags are bad: submit says so). */
async function startStandbysFor(command: Extract<Command, { type: "submit" }>) {
  const [{ startStandbys }, { parseNatsFlags }] = await Promise.all([import("../engine/container_spawn.ts"), import("../transport/nats_connect.ts")]);
  let settings;
  try {
    settings = parseNatsFlags(command.nats, env);
  } catch {
    return undefined;
  }
  return startStandbys({ count: command.containers ?? 1, runtime: command.runtime, cwd: cwd(), settings });
}

if ((import.meta as { main?: boolean }).main === true) {
  const code = await main(args());
  await flushOutput();
  exit(code);
}
