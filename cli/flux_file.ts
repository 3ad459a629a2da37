/**
 * A Flux file given to `ardea run` or `ardea submit`: the checks of its
 * command line, reading it with the `--filter`/`--env-filter` flags, and
 * `--dry-run`. Loaded only when a command names a Flux file or its flags.
 *
 * @module
 */
import type { FluxDocument } from "../flux/mod.ts";
import { isFluxFile } from "../flux/schema.ts";
import { writeStderr, writeStdout } from "../runtime/mod.ts";
import { UsageError } from "./command_table.ts";

/** What `run` and `submit` hold about a Flux file. */
export interface FluxWords {
  readonly script: string;
  readonly scriptArgs: readonly string[];
  readonly filter?: string;
  readonly envFilter?: boolean | undefined;
  readonly dryRun?: boolean | undefined;
}

/**
 * Whether the command names a Flux file (.yaml, .yml). Throws a
 * {@link UsageError} for Flux flags given with a script, or script
 * arguments given with a Flux file.
 *
 * @example
 * ```ts
 * isFluxCommand({ script: "wc.yaml", scriptArgs: [], envFilter: false, dryRun: true }, "run"); // true
 * ```
 */
export function isFluxCommand(cmd: FluxWords, command: "run" | "submit"): boolean {
  const flux = isFluxFile(cmd.script);
  const given = [
    ...(cmd.filter === undefined ? [] : ["--filter"]),
    ...(cmd.envFilter ? ["--env-filter"] : []),
    ...(cmd.dryRun ? ["--dry-run"] : []),
  ];
  if (!flux && given.length > 0) {
    throw new UsageError(`${given.join(", ")}: only for a Flux file (.yaml, .yml), not ${cmd.script}`, command);
  }
  if (flux && cmd.scriptArgs.length > 0) {
    throw new UsageError(
      `a Flux file takes no script arguments, got "${cmd.scriptArgs[0]}" (give ardea's flags before ${cmd.script})`,
      command,
    );
  }
  return flux;
}

/**
 * Reads the command's Flux file with its filters.
 *
 * @example
 * ```ts
 * const doc = await readFluxFile({ script: "wc.yaml", scriptArgs: [], filter: "dev.properties", envFilter: true, dryRun: false });
 * ```
 */
export async function readFluxFile(cmd: FluxWords): Promise<FluxDocument> {
  const { readFlux } = await import("../flux/mod.ts");
  return await readFlux(cmd.script, {
    ...(cmd.filter === undefined ? {} : { filter: cmd.filter }),
    envFilter: cmd.envFilter === true,
  });
}

/**
 * `--dry-run`: reads the Flux file, imports its classes and builds its
 * topology (so a wrong class or argument fails here too), prints what
 * would run on stdout and returns the exit code: 0, or 1 with the problem
 * on stderr.
 *
 * @example
 * ```ts
 * const code = await dryRunFlux({ script: "wc.yaml", scriptArgs: [], envFilter: false, dryRun: true });
 * ```
 */
export async function dryRunFlux(cmd: FluxWords): Promise<number> {
  const { buildFluxTopology, describeFlux, importFluxModules } = await import("../flux/mod.ts");
  try {
    const doc = await readFluxFile(cmd);
    const topology = buildFluxTopology(doc, await importFluxModules(doc));
    writeStdout(describeFlux(doc));
    writeStdout(`tasks: ${topology.taskCount} (dry run: nothing was started)\n`);
    return 0;
  } catch (e) {
    writeStderr(`ardea: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return 1;
  }
}
