/**
 * Importing a topology script whose `submit()` the caller intercepts: at
 * submission (`ardea submit` learns the topology) and in each container
 * (which imports the bundle fetched with `loadBundle`). A script that throws,
 * never calls `submit()` or takes too long gets an error naming it.
 *
 * @module
 */
import { ardeaRoot, readTextFile, resolvePath, toFileUrl } from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { readBanner } from "./bundle.ts";

/**
 * A topology script that threw (or rejected) while it was being imported.
 * The message is one line: the script, the error's name and message, and
 * where in the script it was thrown when the stack says so.
 *
 * @example
 * ```ts
 * const url = "file:///abs/topo.ts";
 * try { await import(url); } catch (e) { throw new ScriptError("topo.ts", "/abs/topo.ts", e); }
 * // ScriptError: topo.ts failed while loading: TypeError: x is not a function (at topo.ts:12:5)
 * ```
 */
export class ScriptError extends ArdeaError {
  /**
   * @param script the script as the user named it
   * @param path its absolute path, to find its frames in the stack
   */
  constructor(script: string, path: string, error: unknown) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const at = scriptFrame(error, path);
    super(
      "SCRIPT_FAILED",
      `${script} failed while loading: ${what.replace(/\s*\n\s*/g, " ")}${at === null ? "" : ` (at ${script}${at})`}`,
      { cause: error },
    );
  }
}

/** How long a script that has finished loading may still take to call submit() (ms). */
export const NO_SUBMIT_GRACE_MS = 1000;

/** Options of {@link importScript}. */
export interface ScriptImportOptions {
  /** The script as the user named it (in messages). */
  script: string;
  /** Its absolute path, to find its frames in a stack. */
  path: string;
  /** The file to import (default `path`; a container imports the bundle file). */
  file?: string;
  /** How long the script may take to call submit() (ms, default 60 000). */
  timeoutMs?: number;
}

/**
 * Imports a topology script whose `submit()` the caller intercepts, and
 * waits for `submitted` (the captured request). A script that throws while
 * loading rejects with {@link ScriptError}; one that finishes loading without
 * calling submit() rejects with `NO_SUBMIT` after {@link NO_SUBMIT_GRACE_MS};
 * one that neither loads nor submits within `timeoutMs`, likewise. `loaded`
 * settles when the import does: a script that throws after its submit()
 * rejects it (with a `ScriptError`) for the caller to report.
 *
 * @example
 * ```ts
 * import { interceptSubmit, type SubmitRequest, type TopologyHandle } from "../engine/submit.ts";
 * declare const handle: TopologyHandle;
 * let captured!: (req: SubmitRequest) => void;
 * const requested = new Promise<SubmitRequest>((resolve) => { captured = resolve; });
 * const off = interceptSubmit((req) => { captured(req); return handle; });
 * const { request, loaded } = await importScript(requested, { script: "topo.ts", path: "/abs/topo.ts" });
 * off();
 * loaded.catch((e) => console.error(e.message));
 * ```
 */
export async function importScript<T>(
  submitted: Promise<T>,
  o: ScriptImportOptions,
): Promise<{ request: T; loaded: Promise<void> }> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const loaded = import(toFileUrl(o.file ?? o.path)).then(
    () => {},
    (e: unknown) => {
      throw e instanceof ArdeaError ? e : new ScriptError(o.script, o.path, e);
    },
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  try {
    const request = await Promise.race([
      submitted,
      // Loaded without submit(): a short grace (for a submit() a moment later) instead of the whole timeout.
      loaded.then(() =>
        new Promise<never>((_, reject) => {
          if (!settled) {
            grace = setTimeout(
              () => reject(new ArdeaError("NO_SUBMIT", `${o.script} finished loading without calling submit()`)),
              NO_SUBMIT_GRACE_MS,
            );
          }
        })
      ),
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new ArdeaError("NO_SUBMIT", `${o.script} did not call submit() within ${timeoutMs} ms`)),
          timeoutMs,
        )
      ),
    ]);
    return { request, loaded };
  } finally {
    settled = true;
    clearTimeout(timer);
    clearTimeout(grace);
  }
}

/**
 * Imports a bundle file written by `loadBundle` (bundle.ts) with
 * {@link importScript}: messages name the script the bundle was made from
 * (its banner's entry), and frames are found in that script through the
 * bundle's inline source map.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { SubmitRequest } from "../engine/submit.ts";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * import { loadBundle } from "./bundle.ts";
 * declare const nc: NatsConnection;
 * declare const rec: TopologyRecord;
 * declare const requested: Promise<SubmitRequest>;
 * const { request, loaded } = await importBundle(await loadBundle(nc, rec.bundle), requested);
 * ```
 */
export async function importBundle<T>(
  file: string,
  submitted: Promise<T>,
  timeoutMs?: number,
): Promise<{ request: T; loaded: Promise<void> }> {
  const entry = readBanner(await readTextFile(file))?.entry;
  const script = entry ?? file;
  // The source map's sources resolve next to the installation (see bundleScript's outfile).
  const path = entry === undefined ? file : resolvePath(ardeaRoot(), entry);
  return await importScript(submitted, { script, path, file, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

/** `:line:column` of the top frame of `error`'s stack that lies in the file at `path`, or null. */
function scriptFrame(error: unknown, path: string): string | null {
  const stack = error instanceof Error ? error.stack : undefined;
  if (stack === undefined) return null;
  const url = toFileUrl(path);
  for (const line of stack.split("\n")) {
    if (!/^\s+at /.test(line)) continue;
    for (const file of [url, path]) {
      const i = line.indexOf(`${file}:`);
      if (i < 0) continue;
      const m = /^:(\d+):(\d+)/.exec(line.slice(i + file.length));
      if (m !== null) return `:${m[1]}:${m[2]}`;
    }
  }
  return null;
}
