/**
 * The code directory (Storm's "code dir"): the folder of the files that
 * travel with a topology, where shell components run their commands
 * (`TopologyContext.getCodeDir()`). One rule, {@link codeDirOf}, for every
 * entry file (a topology script, a Flux YAML file): its folder's
 * `resources/` when there is one (Storm ships `resources/` in the jar),
 * else its folder.
 *
 * - Embedded (`ardea run x.ts`, `deno run -A x.ts`,
 *   `node --import ardea/register x.ts`): {@link processCodeDir}, the rule
 *   applied to the program's script, unless `ardea run --resources <dir>`
 *   named one ({@link setCodeDir}).
 * - `ardea submit`: the folder the rule gives, or `--resources <dir>`, is
 *   packed and shipped with the bundle when it is a `resources/` folder or
 *   named (cluster/resources.ts); each container extracts it and uses it.
 *
 * @module
 */
import { isDirectorySync, mainScript, resolvePath } from "../runtime/mod.ts";

/** The folder beside an entry file whose contents travel with the topology. */
export const RESOURCES_DIR = "resources";

/**
 * The code directory of the topology whose entry file (script or Flux
 * file) is `entryFile`: `<its folder>/resources` when that is a folder,
 * else its folder. Absolute.
 *
 * @example
 * ```ts
 * codeDirOf("/work/topo/wc.ts"); // "/work/topo/resources" if it exists, else "/work/topo"
 * ```
 */
export function codeDirOf(entryFile: string): string {
  const folder = resolvePath(entryFile, "..");
  const resources = resolvePath(folder, RESOURCES_DIR);
  return isDirectorySync(resources) ? resources : folder;
}

let chosen: string | undefined;

/**
 * Sets (or, with undefined, clears) the code directory of the topologies
 * this process runs embedded from now on, over {@link codeDirOf} of the
 * program's script: `ardea run --resources <dir>` and container processes
 * call it.
 *
 * @example
 * ```ts
 * setCodeDir("/srv/topology/scripts");
 * processCodeDir(); // "/srv/topology/scripts"
 * ```
 */
export function setCodeDir(dir: string | undefined): void {
  chosen = dir === undefined ? undefined : resolvePath(dir);
}

/**
 * The code directory of a topology submitted embedded in this process: the
 * one {@link setCodeDir} set, else {@link codeDirOf} the program's script,
 * else "" (no script file: the current directory).
 *
 * @example
 * ```ts
 * // deno run -A /work/topo/wc.ts, with /work/topo/resources/split.py:
 * processCodeDir(); // "/work/topo/resources"
 * ```
 */
export function processCodeDir(): string {
  if (chosen !== undefined) return chosen;
  const script = mainScript();
  return script === undefined ? "" : codeDirOf(script);
}
